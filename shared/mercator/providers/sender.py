"""One provider call as Mercator makes it: paced, retried, counted, and redacted wherever it is told.

Every attempt first takes a token from the integration's RateLimiter; every answer's rate signal goes
back to the limiter, so what one caller learns (a 429, a spent budget) holds back all the others.
A 2xx answer with nothing in it (204, or an empty body) is a Reply with ``empty`` set, never retried:
whether nothing is an answer (the end of a listing) or a failure (a missing record) is the caller's call.
A request the egress guard refuses (mercator.providers.egress) fails at once, never retried.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote_plus, urlencode

import httpx

from mercator.domain.pages import ClientStats
from mercator.domain.provider_errors import (
    ProviderConnectionError,
    ProviderEgressError,
    ProviderError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
)
from mercator.domain.rate_limits import RateLimiter, RateSignal
from mercator.providers.egress import EgressRefusedError
from mercator.providers.redaction import Redactor, install_http_log_redaction, redacting
from mercator.providers.retries import RetryPolicy, retryable_status
from mercator.providers.signals import rate_signal

logger = logging.getLogger(__name__)
install_http_log_redaction()

_EXCERPT = 300
_TOO_MANY_REQUESTS = 429
_NO_CONTENT = 204
# Where stores put their own words in an error body, by preference; what of it is kept.
_MESSAGE_KEYS = ("error_description", "message", "error", "errors", "detail", "title")
_MESSAGE_LENGTH = 200
_MESSAGE_BODY_LIMIT = 64 * 1024  # an error body larger than this is not read for a message


@dataclass(frozen=True)
class Reply:
    """A successful answer: its JSON body, headers and the URL that answered."""

    body: Any
    headers: httpx.Headers
    url: str
    status: int
    elapsed: float = 0.0  # seconds from sending the request to its answer
    empty: bool = False  # a 2xx with no content (204, or a blank body): ``body`` is None


class RequestSender:
    """Sends requests of one integration through its limiter and retry policy."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        limiter: RateLimiter,
        retry: RetryPolicy,
        redactor: Redactor,
        timeout: float,
        auth: httpx.Auth | None = None,
        stats: ClientStats | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._limiter = limiter
        self._retry = retry
        self._redactor = redactor
        self._timeout = timeout
        self._auth = auth
        self.stats = stats if stats is not None else ClientStats()
        self._wall_clock = wall_clock

    @property
    def redactor(self) -> Redactor:
        return self._redactor

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        once: bool = False,
    ) -> Reply:
        """The JSON answer to ``method url``; a ProviderError once retries cannot help.

        With a ``json`` body (a write), any 2xx answer is a success even without a JSON body: the
        store took the write, and sending it again would not change what it answers.

        ``once``: a write that must not be sent twice (a create): a timeout, lost connection or 5xx
        is raised at once, since the store may have taken it; only a 429, which it did not, is retried.
        """
        request = self._http.build_request(
            method, with_params(url, params), headers=headers, json=json, timeout=self._timeout
        )
        shown = self._redactor.url(request.url)
        attempt = 0
        while True:
            with redacting(self._redactor):
                outcome, wait = await self._attempt(request, shown, attempt)
            if isinstance(outcome, Reply):
                return outcome
            if json is not None and isinstance(outcome, ProviderResponseError) and _accepted(outcome.status):
                return Reply(None, httpx.Headers(), shown, outcome.status or 0)
            if self._retry.gives_up(attempt) or (once and not _throttled(outcome)):
                raise outcome
            self.stats.retries += 1
            logger.warning(
                "retrying %s %s in %.2f s (attempt %d of %d failed: %s)",
                method,
                shown,
                wait,
                attempt + 1,
                self._retry.max_attempts,
                self._redactor.text(str(outcome)),
            )
            await self._retry.sleep(wait)
            attempt += 1

    async def _attempt(
        self, request: httpx.Request, shown: str, attempt: int
    ) -> tuple[Reply | ProviderError, float]:
        """One try: the reply, or the failure to retry with how long to wait first."""
        method = request.method
        attempts = attempt + 1
        await self._limiter.acquire()
        self.stats.requests += 1
        logger.debug("%s %s (attempt %d)", method, shown, attempts)
        try:
            # httpx times each phase (connect, every read) and only where the transport enforces it,
            # so a trickling answer or an in-process transport could outlast the connector's timeout.
            sent = time.monotonic()
            async with asyncio.timeout(self._timeout):
                response = await self._http.send(request, auth=self._auth or httpx.USE_CLIENT_DEFAULT)
            elapsed = time.monotonic() - sent
        except EgressRefusedError as exc:
            raise ProviderEgressError(method, shown, self._redactor.text(exc.reason)) from None
        except (httpx.TimeoutException, TimeoutError):
            self.stats.timeouts += 1
            return ProviderTimeoutError(method, shown, self._timeout, attempts=attempts), self._retry.backoff(
                attempt
            )
        except httpx.TransportError as exc:
            detail = self._redactor.text(f"{type(exc).__name__}: {exc}")
            return ProviderConnectionError(method, shown, detail, attempts=attempts), self._retry.backoff(
                attempt
            )

        status = response.status_code
        self.stats.bytes_received += len(response.content)
        signal = rate_signal(response.headers, now=self._wall_clock())
        if status == _TOO_MANY_REQUESTS:
            self.stats.throttled += 1
        if status >= 500:
            self.stats.server_errors += 1

        if retryable_status(status):
            return await self._refused(response, shown, signal, attempt)
        if not signal.empty:
            await self._limiter.observe(signal)
        if not 200 <= status < 300:
            raise ProviderHTTPError(
                status,
                method,
                shown,
                self._excerpt(response),
                reason=_reason(response, self._redactor),
                attempts=attempts,
                store_message=self._store_message(response),
                answer=self._answer(response),
            )
        if status == _NO_CONTENT or not response.content.strip():
            # Nothing arrived whole (a body cut short of its Content-Length is a transport error,
            # retried above), so asking again would only get the same nothing.
            return Reply(None, response.headers, str(response.url), status, elapsed, empty=True), 0.0
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            problem = f"the body is not complete JSON ({exc.__class__.__name__}: {exc})"
            return ProviderResponseError(
                method, shown, problem, status=status, attempts=attempts
            ), self._retry.backoff(attempt)
        return Reply(body, response.headers, str(response.url), status, elapsed), 0.0

    async def _refused(
        self, response: httpx.Response, shown: str, signal: RateSignal, attempt: int
    ) -> tuple[ProviderError, float]:
        status = response.status_code
        method = response.request.method
        hint = signal.retry_after
        if hint is None and status == _TOO_MANY_REQUESTS and signal.remaining == 0:
            hint = signal.reset_after
        if self._retry.too_long(hint):
            if not signal.empty:
                await self._limiter.observe(signal)
            raise ProviderHTTPError(
                status,
                method,
                shown,
                self._excerpt(response),
                reason=(
                    f"the provider asks to wait {hint:g} s before trying again, longer than the "
                    f"{self._retry.max_retry_after:g} s Mercator waits within one call"
                ),
                attempts=attempt + 1,
                store_message=self._store_message(response),
            )
        wait = self._retry.delay(attempt, hint)
        if status == _TOO_MANY_REQUESTS:
            # Every caller sharing the limiter pauses, not only the one that was refused.
            signal = replace(signal, retry_after=wait)
        if not signal.empty:
            await self._limiter.observe(signal)
        failure = ProviderHTTPError(
            status,
            method,
            shown,
            self._excerpt(response),
            attempts=attempt + 1,
            store_message=self._store_message(response),
        )
        return failure, wait

    def _answer(self, response: httpx.Response) -> Any:
        """A refusal's JSON body, redacted (a store's field errors); None when it is not JSON."""
        try:
            return json.loads(self._redactor.text(json.dumps(json.loads(response.content))))
        except ValueError:
            return None

    def _store_message(self, response: httpx.Response) -> str | None:
        found = store_message(response.content)
        return None if found is None else self._redactor.text(found)

    def _excerpt(self, response: httpx.Response) -> str:
        text = response.content[: _EXCERPT * 4].decode("utf-8", errors="replace")
        text = " ".join(text.split())
        if len(text) > _EXCERPT:
            text = text[:_EXCERPT] + "..."
        return self._redactor.text(text)


def with_params(url: str, params: Mapping[str, str] | None) -> str:
    """``url`` with ``params`` added to the query string it already has.

    httpx's ``params=`` replaces a URL's query outright, and a connector may write part of its query
    in the endpoint URL (``/customers?include=addresses``). A name ``params`` also gives takes the
    value from ``params``; the rest of the URL's query is kept exactly as written.
    """
    if not params:
        return url
    base, hash_mark, fragment = url.partition("#")
    path, _, query = base.partition("?")
    kept = [part for part in query.split("&") if part and unquote_plus(part.partition("=")[0]) not in params]
    return f"{path}?{'&'.join([*kept, urlencode(params)])}{hash_mark}{fragment}"


def store_message(body: bytes | str) -> str | None:
    """The store's own words in an error body: its message field when the body is JSON, shortened.

    Nothing else of a body is ever taken: an HTML page or any other text says nothing here, as what
    a tenant is shown must not be whatever the address they gave answered.
    """
    if len(body) > _MESSAGE_BODY_LIMIT:
        return None
    try:
        found = _message_in(json.loads(body))
    except (ValueError, RecursionError):
        return None
    if not found:
        return None
    found = " ".join(found.split())
    return found if len(found) <= _MESSAGE_LENGTH else found[:_MESSAGE_LENGTH] + "..."


def _message_in(body: Any) -> str | None:
    if isinstance(body, str):
        return body.strip() or None
    if isinstance(body, list):
        messages = [message for item in body[:20] if (message := _message_in(item))]
        return "; ".join(messages) or None
    if isinstance(body, dict):
        for name in _MESSAGE_KEYS:
            message = _message_in(body.get(name))
            if message:
                return message
    return None


def _reason(response: httpx.Response, redactor: Redactor) -> str | None:
    if 300 <= response.status_code < 400:
        location = response.headers.get("Location")
        target = redactor.url(location) if location else "nowhere"
        return f"redirected to {target}; point the connector's baseUrl at the final address"
    return None


def _accepted(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _throttled(outcome: ProviderError) -> bool:
    return isinstance(outcome, ProviderHTTPError) and outcome.status == _TOO_MANY_REQUESTS
