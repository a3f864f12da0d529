"""A record's own last-updated time, read the way its resource's ``incremental`` block says."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from mercator.connector import Resource
from mercator.mapping import CompiledPath, compile_path
from mercator.mapping.dates import parse_datetime, zone


class SourceUpdatedAt:
    """Reads ``incremental.recordUpdatedAt`` from raw records of one resource (None without one)."""

    def __init__(self, resource: Resource) -> None:
        incremental = resource.incremental
        self._path: CompiledPath | None = compile_path(incremental.recordUpdatedAt) if incremental else None
        self._zone: tzinfo = zone(incremental.timezone) if incremental else UTC

    @property
    def known(self) -> bool:
        """Whether the resource says where its records keep their updated-at at all."""
        return self._path is not None

    def __call__(self, raw: Any) -> datetime | None:
        """The record's updated-at in UTC; None when the resource has none or the value is unreadable."""
        if self._path is None:
            return None
        value = self._path.get(raw)
        if value is None:
            return None
        try:
            return parse_datetime(value, self._zone)
        except ValueError:
            return None


def latest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    """The later of two optional moments."""
    if candidate is None:
        return current
    if current is None:
        return candidate
    return max(current, candidate)
