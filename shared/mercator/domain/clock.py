"""The clock every service and adapter reads unless a test gives it another."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The present as an aware UTC datetime: the default clock of every service and adapter."""
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Canonical form of every mapped timestamp: UTC, ``Z`` suffix, microseconds only when present."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
