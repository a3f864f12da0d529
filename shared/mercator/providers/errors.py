"""What can go wrong when Mercator calls a provider.

Every message names the method, the URL and (where there is one) the status, and is built from
text that already went through the integration's Redactor: no credential ever reaches a message.
"""

from __future__ import annotations

from mercator.connector.placeholders import MissingCredentialError

__all__ = [
    "MissingCredentialError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderResponseError",
    "ProviderTimeoutError",
]


def _attempts(attempts: int) -> str:
    return f" (after {attempts} attempts)" if attempts > 1 else ""


class ProviderError(Exception):
    """A provider call that did not give Mercator what it asked for."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


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
    ) -> None:
        self.status = status
        self.excerpt = excerpt
        self.reason = reason
        self.attempts = attempts
        message = f"{method} {url} answered {status}{_attempts(attempts)}"
        if reason:
            message += f": {reason}"
        if excerpt:
            message += f"; body: {excerpt}"
        super().__init__(message, method=method, url=url)


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
