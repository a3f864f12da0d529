"""What can go wrong when Mercator calls a provider.

Every message names the method, the URL and (where there is one) the status, and is built from
text that already went through the integration's Redactor: no credential ever reaches a message.
A message may quote the answer's body, for the operator's logs and run records; what a tenant is
shown is ``without_body()``: the store's own message field at most, never the rest of its body.
"""

from __future__ import annotations

from typing import Any

from mercator.domain.errors import MissingCredentialError

__all__ = [
    "MissingCredentialError",
    "ProviderConnectionError",
    "ProviderEgressError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderRecordNotFoundError",
    "ProviderResponseError",
    "ProviderTimeoutError",
    "StoreAddressError",
    "SubResourceError",
    "may_pass",
]


def _attempts(attempts: int) -> str:
    return f" (after {attempts} attempts)" if attempts > 1 else ""


class ProviderError(Exception):
    """A provider call that did not give Mercator what it asked for."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url

    def without_body(self) -> str:
        """The message as a tenant may see it: no text of the store's answer but its own message field."""
        return str(self)


class ProviderHTTPError(ProviderError):
    """A status Mercator does not retry (most 4xx), or a 429/5xx that retries did not get past."""

    def __init__(
        self,
        status: int,
        method: str,
        url: str,
        excerpt: str = "",
        *,
        reason: str | None = None,
        attempts: int = 1,
        store_message: str | None = None,
        answer: Any = None,
    ) -> None:
        self.status = status
        self.excerpt = excerpt
        # The store's whole JSON answer, redacted (a refused write's field errors); None when not JSON.
        self.answer = answer
        self.reason = reason
        self.attempts = attempts
        # The store's own message field of a JSON error body, shortened and redacted (see sender).
        self.store_message = store_message
        message = f"{method} {url} answered {status}{_attempts(attempts)}"
        if reason:
            message += f": {reason}"
        if excerpt:
            message += f"; body: {excerpt}"
        super().__init__(message, method=method, url=url)

    def without_body(self) -> str:
        message = f"{self.method} {self.url} answered {self.status}{_attempts(self.attempts)}"
        if self.reason:
            message += f": {self.reason}"
        if self.store_message and self.store_message != self.reason:
            message += f"; the store says: {self.store_message}"
        return message


class ProviderTimeoutError(ProviderError):
    """The provider did not answer within the connector's timeout."""

    def __init__(self, method: str, url: str, timeout: float, *, attempts: int = 1) -> None:
        self.timeout = timeout
        self.attempts = attempts
        super().__init__(
            f"{method} {url} did not answer within {timeout:g} s{_attempts(attempts)}", method=method, url=url
        )


class ProviderConnectionError(ProviderError):
    """The request never got an answer: connection refused or reset, DNS failure, broken stream."""

    def __init__(self, method: str, url: str, detail: str, *, attempts: int = 1) -> None:
        self.detail = detail
        self.attempts = attempts
        super().__init__(
            f"{method} {url} failed before an answer{_attempts(attempts)}: {detail}", method=method, url=url
        )


class StoreAddressError(Exception):
    """The store's URL, made from settings.baseUrl or the credentials, is no URL a request can go to
    (a host that is no valid internationalised domain name). Not quoted: credentials make it."""


class ProviderEgressError(ProviderError):
    """The request was not sent: the egress guard refused its address (mercator.providers.egress)."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{method} {url} was not sent: {reason}", method=method, url=url)


class ProviderResponseError(ProviderError):
    """An answer Mercator cannot use: not JSON, truncated, or not the shape the connector describes."""

    def __init__(
        self, method: str, url: str, problem: str, *, status: int | None = None, attempts: int = 1
    ) -> None:
        self.problem = problem
        self.status = status
        self.attempts = attempts
        shown = f" ({status})" if status is not None else ""
        super().__init__(f"{method} {url}{shown}: {problem}{_attempts(attempts)}", method=method, url=url)


class ProviderRecordNotFoundError(ProviderError):
    """A details endpoint that answers a list (``matchBy``) listed no record with the id asked for:
    the store no longer has it, as a details 404 would say."""

    def __init__(self, method: str, url: str, record_id: str, match_by: str) -> None:
        self.record_id = record_id
        super().__init__(
            f"{method} {url}: the answer lists no record whose {match_by!r} is {record_id!r}",
            method=method,
            url=url,
        )


class SubResourceError(ProviderError):
    """A record's sub-resource call failed (``cause``): the record cannot be written whole."""

    def __init__(self, sub_resource: str, record_id: str, cause: ProviderError) -> None:
        self.sub_resource = sub_resource
        self.record_id = record_id
        self.cause = cause
        super().__init__(
            f"sub-resource {sub_resource!r} of record {record_id!r}: {cause}",
            method=cause.method,
            url=cause.url,
        )

    def without_body(self) -> str:
        return f"sub-resource {self.sub_resource!r} of record {self.record_id!r}: {self.cause.without_body()}"


def may_pass(error: ProviderError) -> bool:
    """Whether asking again later may succeed: a timeout, a broken connection, or a 429/5xx that the
    client's own retries did not get past. Any other answer will be the same next time."""
    if isinstance(error, ProviderTimeoutError | ProviderConnectionError):
        return True
    return isinstance(error, ProviderHTTPError) and (error.status == 429 or error.status >= 500)


class ProviderCredentialsError(ProviderHTTPError):
    """The provider refused the integration's credentials (401 or 403).

    ``reason`` is the store's own message field in its JSON answer (redacted, shortened), and nothing
    else of the body: what the address a tenant gave answers is not echoed back to them.
    """

    def __init__(self, refused: ProviderHTTPError, reason: str | None) -> None:
        super().__init__(
            refused.status,
            refused.method,
            refused.url,
            refused.excerpt,
            reason=reason,
            attempts=refused.attempts,
            store_message=reason,
        )
