"""The sandbox's notion of time: an injectable clock and sleep, and the store's wall time.

Every time-dependent part (rate limits, latency, hangs, record timestamps of changes) reads the one
injected clock, so a test that drives a fake clock gets the same answers on every run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# The newest moment of a generated dataset unless configured otherwise: fixed, so that the same seed
# gives the same records whenever the sandbox is built.
DEFAULT_ANCHOR = datetime(2025, 1, 1, tzinfo=UTC)


class StoreTime:
    """The store's wall time: the dataset anchor plus the time elapsed on the clock since start."""

    def __init__(self, anchor: datetime, clock: Clock) -> None:
        if anchor.tzinfo is None:
            raise ValueError("the dataset anchor must be an aware datetime (give it a time zone)")
        self._anchor = anchor.timestamp()
        self._clock = clock
        self._start = clock()

    @property
    def anchor(self) -> float:
        """The anchor in epoch seconds: every generated record is older than this."""
        return self._anchor

    def now(self) -> float:
        """Epoch seconds, moving with the injected clock."""
        return self._anchor + (self._clock() - self._start)

    def now_seconds(self) -> int:
        return int(self.now())
