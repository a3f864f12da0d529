"""Errors Mercator's state adapters raise in place of AWS client errors."""

from __future__ import annotations


class StateError(Exception):
    """Mercator's state in AWS could not be read or written."""


class RateBucketUnavailable(StateError):  # noqa: N818 - names the condition, like HTTP 503
    """An integration's shared rate bucket could not be read or updated.

    Callers must not send the provider request: without the bucket, the integration's rate cannot be
    kept across its concurrent workers. ``code`` is the AWS error code when there was one.
    """

    def __init__(self, message: str, *, integration_id: str, code: str | None = None) -> None:
        super().__init__(message)
        self.integration_id = integration_id
        self.code = code
