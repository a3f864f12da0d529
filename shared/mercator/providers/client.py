"""The provider client: lists and fetches one integration's records the way its connector describes.

One ProviderClient serves one integration: its definition, its credentials, its rate limiter and one
httpx.AsyncClient reused for every call (injected, or created here under the egress guard of
mercator.providers.egress and closed on exit). Nothing is global, so a Lambda can hold one client per
integration for the length of an invocation. What it sends (URLs, params, headers, auth) is shaped
by mercator.providers.store_requests, which also owns the Redactor that masks the credentials.

Page-number and offset listings know how many pages follow as soon as the first page reports a total;
the client then keeps up to ``page_prefetch`` pages in flight while handing them out strictly in
order, because a one-page-at-a-time walk with 100 ms of latency can never use a 20 requests/s budget.

A request's query is the endpoint URL's own query string, then the endpoint's ``params``, then the
incremental filter, then the page's own parameters; a later one wins a name an earlier one gives (the
definition refuses a name given both in the URL and in ``params``, and a paging parameter given
either way). A list page that answers 204 or an empty body is an empty last page; a details call that
does is an error for its id.

A details endpoint with ``matchBy`` answers a list: the record is the item whose ``matchBy`` value is
the id asked for, and a list without it raises ProviderRecordNotFoundError (the record is gone, as a
404 says). Each of a resource's ``subResources`` is one more call per record, through the same
limiter, retries and counters, whose answer fills its field of the record; a failed one raises
SubResourceError for that id alone, so no record is returned without its sub-resources.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx

from mercator.connector.definition import ConnectorDefinition
from mercator.connector.endpoints import QueryValue, SubResource
from mercator.connector.sync import Resource
from mercator.domain.pages import ClientStats, DetailResult, Page, PageCheckpoint
from mercator.domain.provider_errors import (
    ProviderCredentialsError,
    ProviderError,
    ProviderHTTPError,
    ProviderRecordNotFoundError,
    ProviderResponseError,
    SubResourceError,
)
from mercator.domain.rate_limits import RateLimiter
from mercator.providers.egress import EgressPolicy
from mercator.providers.paginators import PageResponse, PaginationStuckError, Strategy, strategy_for
from mercator.providers.redaction import Redactor
from mercator.providers.retries import RetryPolicy
from mercator.providers.sender import Reply, RequestSender, store_message
from mercator.providers.store_clock import store_clock
from mercator.providers.store_requests import StoreRequests
from mercator.providers.token_refresh import ACCESS_TOKEN, SessionTokens

logger = logging.getLogger(__name__)

_UNAUTHORIZED = 401
_NO_CONTENT = 204


@dataclass(frozen=True)
class _Fetched:
    response: PageResponse
    method: str
    served_at: datetime | None = None
    empty: bool = False  # the page answered 204 or an empty body: the listing ends here


_CREDENTIALS_REFUSED = frozenset({401, 403})


def refusal_reason(excerpt: str) -> str | None:
    """The provider's own words in an error body: its message field when the body is JSON, else None."""
    return store_message(excerpt.strip())


class ProviderClient:
    """Lists and fetches records of one integration; use ``async with`` (or ``aclose``)."""

    def __init__(
        self,
        definition: ConnectorDefinition,
        credentials: Mapping[str, str],
        *,
        limiter: RateLimiter,
        http: httpx.AsyncClient | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        details_concurrency: int = 8,
        page_prefetch: int = 4,
        tokens: SessionTokens | None = None,
        egress: EgressPolicy | None = None,
        owns_http: bool = False,
    ) -> None:
        if details_concurrency < 1:
            raise ValueError(f"details_concurrency must be at least 1, not {details_concurrency}")
        if page_prefetch < 1:
            raise ValueError(f"page_prefetch must be at least 1, not {page_prefetch}")
        self._requests = StoreRequests(definition, credentials, base_url)
        self._details_concurrency = details_concurrency
        self._page_prefetch = page_prefetch
        timeout = definition.sync.syncConfiguration.timeout / 1000
        self._owns_http = http is None or owns_http
        # Made here, the client is always guarded: by ``egress``, else by the strictest policy.
        self._http = http or (egress or EgressPolicy()).async_client(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=details_concurrency + page_prefetch,
                max_keepalive_connections=details_concurrency + page_prefetch,
            ),
            headers={"User-Agent": "Mercator"},
        )
        self.stats = ClientStats()
        self._limiter = limiter
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._tokens = tokens
        self._sender = self._new_sender()
        self._strategies: dict[str, Strategy] = {}

    @property
    def definition(self) -> ConnectorDefinition:
        return self._requests.definition

    @property
    def redactor(self) -> Redactor:
        """Masks the integration's credentials, and those a renewal replaced, in any text."""
        return self._requests.redactor

    @property
    def base_url(self) -> str:
        return self._requests.base_url

    def resource(self, resource_key: str) -> Resource:
        """A resource of the definition, or a listing its ``deletions`` derive (``orders:deletions``,
        ``orders:sweep``); ValueError naming the valid keys when it has no such one."""
        return self._requests.resource(resource_key)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it or was given it to own; another stays open."""
        if self._owns_http:
            await self._http.aclose()

    # Listing

    async def pages(
        self,
        resource_key: str,
        *,
        since: datetime | None = None,
        resume: PageCheckpoint | None = None,
        page_size: int | None = None,
    ) -> AsyncGenerator[Page, None]:
        """The pages of a resource's list endpoint, in order, from the start or from ``resume``.

        Close the iterator (``contextlib.aclosing``) when stopping early, so prefetched requests end.
        """
        resource = self.resource(resource_key)
        strategy = self._strategy(resource)
        start = self._start(resource, strategy, since, resume, page_size)
        if strategy.positional and self._page_prefetch > 1:
            walk = self._prefetched(resource, strategy, start)
        else:
            walk = self._sequential(resource, strategy, start)
        async with aclosing(walk):
            async for page in walk:
                yield page

    async def _sequential(
        self, resource: Resource, strategy: Strategy, at: PageCheckpoint
    ) -> AsyncGenerator[Page, None]:
        while True:
            fetched = await self._fetch_page(resource, strategy, at)
            page = self._page(resource, strategy, at, fetched)
            yield page
            if page.next is None:
                return
            at = page.next

    async def _prefetched(
        self, resource: Resource, strategy: Strategy, start: PageCheckpoint
    ) -> AsyncGenerator[Page, None]:
        ahead: deque[tuple[PageCheckpoint, asyncio.Task[_Fetched]]] = deque()

        def schedule(at: PageCheckpoint) -> None:
            ahead.append((at, asyncio.create_task(self._fetch_page(resource, strategy, at))))

        try:
            schedule(start)
            while ahead:
                at, task = ahead.popleft()
                fetched = await task
                page = self._page(resource, strategy, at, fetched)
                if page.next is None or (ahead and ahead[0][0] != page.next):
                    await _cancel(task for _, task in ahead)
                    ahead.clear()
                if page.next is not None:
                    if not ahead:
                        schedule(page.next)
                    known = strategy.pages_after(at, fetched.response)
                    if known is not None:
                        while len(ahead) < self._page_prefetch and ahead[-1][0].number < at.number + known:
                            schedule(strategy.after(ahead[-1][0]))
                yield page
        finally:
            await _cancel(task for _, task in ahead)

    def _start(
        self,
        resource: Resource,
        strategy: Strategy,
        since: datetime | None,
        resume: PageCheckpoint | None,
        page_size: int | None,
    ) -> PageCheckpoint:
        if resume is not None:
            if since is not None or page_size is not None:
                raise ValueError(
                    "a resumed listing keeps the since and page size it started with; pass resume alone"
                )
            if resume.resource != resource.name:
                raise ValueError(
                    f"the checkpoint belongs to resource {resume.resource!r}, not {resource.name!r}"
                )
            if resume.pagination != strategy.kind:
                raise ValueError(
                    f"the checkpoint was made for {resume.pagination} pagination, but resource "
                    f"{resource.name!r} now uses {strategy.kind}; start the listing again"
                )
            return resume
        if page_size is not None and page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        query = {} if since is None else self._requests.since_query(resource, since)
        return strategy.first(query, page_size, since)

    async def _fetch_page(self, resource: Resource, strategy: Strategy, at: PageCheckpoint) -> _Fetched:
        request = strategy.request(at)
        endpoint = self._requests.list_endpoint(resource)
        url, params = self._requests.list_request(resource, request)
        reply = await self._send(endpoint.method, url, params=params)
        if reply.empty:
            # Platforms answer a page past the end with 204 or nothing at all: an empty last page.
            response = PageResponse(None, reply.headers, [], reply.url)
            return _Fetched(response, endpoint.method, store_clock(reply), empty=True)
        records = resource.responseMapping.listed_in(reply.body)
        if records is None:
            path = resource.responseMapping.dataProperty
            found = resource.responseMapping.data_in(reply.body)
            raise self._answer_error(
                endpoint.method,
                reply,
                f"expected a list of records at {path or 'the top level'!r}, found {_describe(found)}",
            )
        return _Fetched(
            PageResponse(reply.body, reply.headers, records, reply.url), endpoint.method, store_clock(reply)
        )

    def _page(self, resource: Resource, strategy: Strategy, at: PageCheckpoint, fetched: _Fetched) -> Page:
        response = fetched.response
        records = resource.responseMapping.records_of(response.records)
        try:
            # An answer with no content has no next link or cursor to follow, whatever stopOnEmptyPage says.
            following = None if fetched.empty else strategy.next(at, response)
        except PaginationStuckError as exc:
            raise ProviderResponseError(fetched.method, self.redactor.url(response.url), str(exc)) from None
        if at.since is not None and resource.incremental is not None and resource.incremental.stopWhenOlder:
            window = resource.incremental.window_start(at.since)
            kept = [record for record in records if not self._older(resource, record, window)]
            if len(kept) < len(records):
                records, following = kept, None
        if following is not None and following.url is not None:
            following = following.model_copy(
                update={"url": self._requests.url_to_stored(following.url, response.url, fetched.method)}
            )
        # A total counts what is listed, not the items ``each`` makes of it: no guard may compare them.
        total = None if resource.responseMapping.each is not None else strategy.total(response)
        return Page(records, at.number, total, following, fetched.served_at)

    # Details

    async def details(self, resource_key: str, record_id: str | int) -> dict[str, Any]:
        """One record from the resource's details endpoint, unwrapped from its ``dataProperty`` (or
        found by ``matchBy`` in the list it answers), with each sub-resource's answer in its field."""
        resource = self.resource(resource_key)
        endpoint = self._requests.details_endpoint(resource)
        text = str(record_id)
        if not text:
            raise ValueError("a record id must not be empty")
        url, params = self._requests.details_request(resource, text)
        reply = await self._send(endpoint.method, url, params=params)
        if reply.empty:
            raise self._answer_error(
                endpoint.method, reply, f"the answer is {_emptiness(reply)}, not the record of id {text!r}"
            )
        where = endpoint.dataProperty or "the top level"
        if endpoint.matchBy is not None:
            listed = endpoint.records_in(reply.body)
            if listed is None:
                found_there = _describe(endpoint.record_in(reply.body))
                raise self._answer_error(
                    endpoint.method, reply, f"expected a list of records at {where!r}, found {found_there}"
                )
            record = endpoint.match(listed, text)
            if record is None:
                raise ProviderRecordNotFoundError(
                    endpoint.method, self.redactor.url(reply.url), text, endpoint.matchBy
                )
            found = f"the item whose {endpoint.matchBy!r} is {text!r} in {where!r}"
        else:
            record = endpoint.record_in(reply.body)
            found = repr(where)
        if not isinstance(record, dict):
            raise self._answer_error(
                endpoint.method, reply, f"expected a record object at {found}, found {_describe(record)}"
            )
        for field_name, sub in resource.subResources.items():
            try:
                value = await self._sub_resource(resource, field_name, sub, text)
            except ProviderError as exc:
                raise SubResourceError(field_name, text, exc) from exc
            record = {**record, field_name: value}
        return record

    async def _sub_resource(
        self, resource: Resource, field_name: str, sub: SubResource, record_id: str
    ) -> Any:
        """The value a sub-resource's answer gives its field of the record ``record_id``."""
        url, params = self._requests.sub_resource_request(resource, field_name, sub, record_id)
        reply = await self._send(sub.method, url, params=params)
        if reply.empty:
            raise self._answer_error(
                sub.method,
                reply,
                f"the answer is {_emptiness(reply)}, not the {field_name} of id {record_id!r}",
            )
        value = sub.value_in(reply.body)
        if value is None:
            raise self._answer_error(
                sub.method,
                reply,
                f"expected the {field_name} at {sub.dataProperty or 'the top level'!r}, found nothing",
            )
        return value

    async def details_many(
        self, resource_key: str, ids: Iterable[str | int], *, concurrency: int | None = None
    ) -> AsyncIterator[DetailResult]:
        """Details of many ids, at most ``concurrency`` at a time, yielded as they complete.

        A ProviderError for one id is reported in its DetailResult and the others go on. Close the
        iterator (``contextlib.aclosing``) when stopping early, so the remaining calls are cancelled.
        """
        limit = self._details_concurrency if concurrency is None else concurrency
        if limit < 1:
            raise ValueError(f"concurrency must be at least 1, not {limit}")
        self._requests.details_endpoint(self.resource(resource_key))
        pending = iter(ids)
        # Bounded, so a slow consumer holds the workers back instead of piling up records.
        results: asyncio.Queue[DetailResult | BaseException | None] = asyncio.Queue(maxsize=limit)

        async def worker() -> None:
            try:
                for record_id in pending:  # shared: each worker takes the next id
                    try:
                        record = await self.details(resource_key, record_id)
                    except ProviderError as exc:
                        await results.put(DetailResult(str(record_id), None, exc))
                    else:
                        await results.put(DetailResult(str(record_id), record, None))
            except Exception as exc:  # not a provider's answer (a missing credential): stop everything
                await results.put(exc)
                return
            # Only on completion: a cancelled worker must not wait on a full queue nobody reads.
            await results.put(None)

        workers = [asyncio.create_task(worker()) for _ in range(limit)]
        try:
            finished = 0
            while finished < limit:
                item = await results.get()
                if item is None:
                    finished += 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            await _cancel(workers)

    # Checks

    async def probe(self) -> None:
        """One list request of the first enabled resource, at the smallest page size it allows.

        It proves the credentials and the store's address before an integration is stored: the
        provider refusing the credentials (401, 403) raises ProviderCredentialsError with its reason,
        any other failure its ProviderError. Nothing is prefetched and the records are not read.
        """
        resource = next(
            (found for found in self.definition.resources.values() if found.enabled and found.listed), None
        )
        if resource is None:
            raise ValueError(
                f"connector {self.definition.name!r} has no enabled resource with a list endpoint to check "
                "the credentials with"
            )
        strategy = self._strategy(resource)
        try:
            await self._fetch_page(resource, strategy, self._start(resource, strategy, None, None, 1))
        except ProviderHTTPError as exc:
            if exc.status in _CREDENTIALS_REFUSED:
                raise ProviderCredentialsError(
                    exc, exc.store_message or refusal_reason(exc.excerpt)
                ) from None
            raise

    # Writes

    async def update_status(self, record_id: str, status: str) -> None:
        """Set one record's status through the connector's ``sync.actions.updateStatus`` call."""
        method, url, body = self._requests.status_request(record_id, status)
        await self._send(method, url, json=body)

    async def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, QueryValue],
        body: Any = None,
        once: bool = False,
        where: str = "push",
    ) -> Any:
        """One push call's JSON answer (None when the store answers no content). ``once``: a create,
        never sent twice by the retries (see RequestSender.send)."""
        url, filled = self._requests.push_request(url, params, where)
        reply = await self._send(method, url, params=filled or None, json=body, once=once)
        return reply.body

    # Sending, with the session's current access token

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        once: bool = False,
    ) -> Reply:
        """One provider call; with renewable tokens, renewed before they expire and once after a 401."""
        tokens = self._tokens
        if tokens is None:
            return await self._send_once(method, url, params, json, once)
        url, params = self._use(await tokens.fresh(), url, params)
        sent_with = self._requests.credentials.get(ACCESS_TOKEN, "")
        try:
            return await self._send_once(method, url, params, json, once)
        except ProviderHTTPError as exc:
            if exc.status != _UNAUTHORIZED:
                raise
            renewed = await tokens.after_rejection(sent_with)
            if renewed is None:
                raise
        url, params = self._use(renewed, url, params)
        return await self._send_once(method, url, params, json, once)

    async def _send_once(
        self, method: str, url: str, params: Mapping[str, str] | None, json: Any, once: bool = False
    ) -> Reply:
        # Sender and headers are looked up per call: a renewal replaces both.
        return await self._sender.send(
            method, url, params=params, headers=self._requests.headers, json=json, once=once
        )

    def _use(
        self, credentials: Mapping[str, str], url: str, params: Mapping[str, str] | None
    ) -> tuple[str, Mapping[str, str] | None]:
        """Switch to renewed credentials; ``url`` and ``params``, built with the old ones, rebuilt."""
        rebuilt = self._requests.use(credentials, url, params)
        if rebuilt is None:
            return url, params
        # The sender masks its messages with the redactor, which the renewal replaced.
        self._sender = self._new_sender()
        return rebuilt

    def _answer_error(self, method: str, reply: Reply, problem: str) -> ProviderResponseError:
        return ProviderResponseError(method, self.redactor.url(reply.url), problem, status=reply.status)

    def _new_sender(self) -> RequestSender:
        return RequestSender(
            self._http,
            limiter=self._limiter,
            retry=self._retry,
            redactor=self.redactor,
            timeout=self._timeout,
            auth=self._requests.basic_auth,
            stats=self.stats,
        )

    def _strategy(self, resource: Resource) -> Strategy:
        strategy = self._strategies.get(resource.name)
        if strategy is None:
            strategy = self._strategies[resource.name] = strategy_for(resource)
        return strategy

    def _older(self, resource: Resource, record: Any, window: datetime) -> bool:
        updated = resource.updated_at(record)
        return updated is not None and updated < window  # an unreadable date does not end the listing


def _emptiness(reply: Reply) -> str:
    return "204 No Content" if reply.status == _NO_CONTENT else "an empty body"


async def _cancel(tasks: Iterable[asyncio.Task[Any]]) -> None:
    pending = list(tasks)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    names: dict[type, str] = {dict: "an object", list: "a list", str: "text"}
    return names.get(type(value), type(value).__name__)
