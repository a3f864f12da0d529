"""boto3 clients for Mercator's functions: adaptive retries, and timeouts well inside the function's own.

botocore waits up to 60 s to connect and 60 s for every read, longer than most Mercator functions may
run (template.yaml: 10 s to 300 s), so a call to an endpoint that stopped answering would end as a
Lambda timeout, with nothing handled or reported. A client made here gives up on one call within
``worst_case_seconds`` and raises, and the function deals with that like any other AWS error. It
retries in botocore's adaptive mode: the standard mode's retries of throttling and transient errors,
plus a client-side rate limiter that slows the client down while AWS throttles it.

Each function's settings carry its own bounds (mercator.settings, ``BOTO_*``), chosen so that one call
at its worst leaves room in the function's timeout; ``AwsClients.of(settings)`` makes clients with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

RETRY_MODE = "adaptive"
# Bounds for a function with a minute or more (TriggerDispatch, ScheduledSync, DetailEnrichment): one
# call takes at most 3 x (2 + 5) s plus 3 s of backoff = 24 s, under ScheduledSync's 30 s deadline
# margin, so a run that hands over in time is never overtaken by a call it started.
DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_READ_TIMEOUT = 5.0
DEFAULT_MAX_ATTEMPTS = 3
# botocore's standard backoff, which adaptive mode keeps: before retry n (0 for the first), a draw up
# to min(2**n, 20) s after throttling, and less after any other error.
_THROTTLED_BACKOFF_BASE = 1.0
_MAX_BACKOFF = 20.0


class ClientBudget(Protocol):
    """What a function's settings say about its AWS calls (mercator.settings)."""

    @property
    def boto_connect_timeout_seconds(self) -> float: ...

    @property
    def boto_read_timeout_seconds(self) -> float: ...

    @property
    def boto_max_attempts(self) -> int: ...


@dataclass(frozen=True)
class AwsClients:
    """Makes boto3 clients that give up within a bound: ``max_attempts`` counts the first try."""

    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        for name, value in (("connect_timeout", self.connect_timeout), ("read_timeout", self.read_timeout)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number of seconds above 0, got {value!r}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts!r}")

    @classmethod
    def of(cls, settings: ClientBudget) -> AwsClients:
        """Clients with the bounds of a function's settings."""
        return cls(
            connect_timeout=settings.boto_connect_timeout_seconds,
            read_timeout=settings.boto_read_timeout_seconds,
            max_attempts=settings.boto_max_attempts,
        )

    def config(self) -> Config:
        """The botocore Config of these clients, for whatever takes one (Powertools' idempotency
        layer takes ``boto_config``)."""
        # total_max_attempts counts the first try; botocore's max_attempts would count retries only.
        return Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": RETRY_MODE, "total_max_attempts": self.max_attempts},
        )

    def client(self, service: str) -> Any:
        """A boto3 low-level client of ``service`` ("dynamodb", "sqs", ...), in the default session's
        region and credentials."""
        return boto3.client(service, config=self.config())

    def worst_case_seconds(self) -> float:
        """About the longest one call takes before it raises: every attempt timing out, with the
        longest throttling backoff between them. Only AWS can stretch it: by asking for a longer wait
        (``x-amz-retry-after``, at most 5 s more a retry), or by throttling the client until the
        adaptive rate limiter holds requests back (down to half a request a second)."""
        backoff = sum(
            min(_THROTTLED_BACKOFF_BASE * 2.0**retry, _MAX_BACKOFF) for retry in range(self.max_attempts - 1)
        )
        return self.max_attempts * (self.connect_timeout + self.read_timeout) + backoff


def aws_client(
    service: str,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Any:
    """One boto3 client of ``service`` with these bounds (``AwsClients(...).client(service)``)."""
    return AwsClients(connect_timeout, read_timeout, max_attempts).client(service)
