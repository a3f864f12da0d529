"""What every verification strategy is built from: its errors, and reading credentials, headers and times.

A refusal is a VerificationError whose reason is safe to log: it names headers, credentials and
timestamps, never a secret, an expected digest or the body. Comparisons of presented and expected
values run in constant time. Nothing here knows a strategy, so every strategy module can import it.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import datetime

from mercator.domain.deliveries import Headers

__all__ = [
    "CredentialError",
    "MissingCredentialError",
    "VerificationError",
    "credential",
    "epoch_seconds",
    "header_value",
    "require_equal",
    "signed_timestamp",
]

_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class VerificationError(Exception):
    """Why a delivery was refused. `reason` is safe to log: never a secret, a signature or a body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CredentialError(VerificationError):
    """The integration's credentials cannot verify deliveries: a configuration fault, not the sender's."""


class MissingCredentialError(CredentialError):
    """The integration lacks the credential the strategy names."""

    def __init__(self, name: str) -> None:
        super().__init__(f"credential {name} is not set for this integration")
        self.name = name


def credential(credentials: Mapping[str, str], name: str) -> str:
    """The integration's credential ``name``; an empty value counts as unset (it would sign nothing)."""
    value = credentials.get(name)
    if not value:
        raise MissingCredentialError(name)
    return value


def header_value(headers: Mapping[str, str], name: str) -> str:
    """The value of header ``name``, found whatever its case; absent or blank is an error.

    A header sent twice (two copies kept by ``Headers``, or ``X-Sig`` and ``x-sig`` in a plain
    mapping) with different values is refused rather than picking one: which one a proxy would have
    kept, or which one a sender meant, is unknowable.
    """
    wanted = name.lower()
    if isinstance(headers, Headers):
        copies: tuple[str, ...] | list[str] = headers.copies(name)
    else:
        copies = [value for key, value in headers.items() if key.lower() == wanted]
    values = {value.strip() for value in copies}
    values.discard("")
    if not values:
        raise VerificationError(f"missing header {name}")
    if len(values) > 1:
        raise VerificationError(f"header {name} is sent more than once with different values")
    return values.pop()


def authorization(headers: Mapping[str, str], scheme: str, carrying: str) -> str:
    """What the ``Authorization`` header carries after ``scheme`` (any case); refused, saying the
    header does not carry ``carrying``, under another scheme or with nothing after it."""
    named, _, value = header_value(headers, "Authorization").partition(" ")
    value = value.strip()
    if named.lower() != scheme.lower() or not value:
        raise VerificationError(f"header Authorization does not carry {carrying}")
    return value


def epoch_seconds(now: datetime) -> int:
    """Whole Unix seconds of ``now``, which must carry a time zone (a naive time would be read as local)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return int(now.timestamp())


def signed_timestamp(
    headers: Mapping[str, str],
    name: str,
    *,
    now: datetime,
    tolerance_seconds: int,
    check_timestamp: bool = True,
) -> int:
    """The Unix timestamp in header ``name``, refused when further than ``tolerance_seconds`` from now.

    Checking both directions stops replays of old deliveries and deliveries signed ahead of time.
    """
    raw = header_value(headers, name)
    if not _UNIX_SECONDS.fullmatch(raw):
        raise VerificationError(f"header {name} is not a Unix time in seconds")
    timestamp = int(raw)
    if check_timestamp:
        skew = abs(epoch_seconds(now) - timestamp)
        if skew > tolerance_seconds:
            raise VerificationError(
                f"timestamp {timestamp} is {skew} s away from now (tolerance {tolerance_seconds} s)"
            )
    return timestamp


def require_equal(presented: str, expected: str, reason: str) -> None:
    """Raise VerificationError(``reason``) unless the two are equal, compared in constant time."""
    if not hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        raise VerificationError(reason)
