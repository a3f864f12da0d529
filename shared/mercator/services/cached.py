"""Integration look-ups kept for a few seconds in a warm Lambda, off the hot path of every delivery.

A webhook burst for one store would otherwise read the same integration item once per delivery.
``ttl`` bounds how long a change (a disabled integration) takes to be seen. Credentials are kept by
the vault itself (mercator.state.secrets), for as long as the function's settings say.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from mercator.domain.entities import Integration
from mercator.services.ports import IntegrationLookup

T = TypeVar("T")
Monotonic = Callable[[], float]


class _Expiring(Generic[T]):
    def __init__(self, ttl: float, clock: Monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, T]] = {}

    def get(self, key: str, load: Callable[[], T]) -> T:
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        self._entries[key] = (now + self._ttl, value)
        return value


class CachedIntegrations:
    """IntegrationLookup remembering each answer for ``ttl`` seconds (absence too)."""

    def __init__(self, inner: IntegrationLookup, *, ttl: float, clock: Monotonic = time.monotonic) -> None:
        self._inner = inner
        self._cache: _Expiring[Integration | None] = _Expiring(ttl, clock)

    def get(self, integration_id: str) -> Integration | None:
        return self._cache.get(integration_id, lambda: self._inner.get(integration_id))
