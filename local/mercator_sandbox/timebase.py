"""The sandbox's notion of time: an injectable clock and sleep, and the store's wall time.

Every time-dependent part (rate limits, latency, hangs, record timestamps of changes) reads the one
injected clock, so a test that drives a fake clock gets the same answers on every run.

The store's wall time (:class:`StoreTime`) is the dataset anchor plus the time elapsed on that clock,
plus any jump made with :meth:`StoreTime.advance`. A jump moves only the wall time: every timestamp
the store stamps afterwards (record changes, inserts, deletions, webhook and event times, the
``Date`` header) is later by that much, while the rate budget, latency and OAuth token lifetimes keep
measuring elapsed time on the clock itself, as a real platform's counters do.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import formatdate

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
        self._jumped = 0.0

    @property
    def anchor(self) -> float:
        """The anchor in epoch seconds: every generated record is older than this."""
        return self._anchor

    @property
    def jumped(self) -> float:
        """Seconds the wall time was moved forward by :meth:`advance`, in total."""
        return self._jumped

    def now(self) -> float:
        """Epoch seconds, moving with the injected clock (and with every :meth:`advance`)."""
        return self._anchor + (self._clock() - self._start) + self._jumped

    def now_seconds(self) -> int:
        return int(self.now())

    def advance(self, seconds: float) -> float:
        """Jump the wall time forward by ``seconds`` at once, without waiting; the new ``now()``.

        Forward only: a store's records never get older than what it already stamped.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(
                f"the store's clock only jumps forward, by a finite number of seconds; got {seconds}"
            )
        self._jumped += seconds
        return self.now()

    def http_date(self) -> str:
        """The present as an HTTP ``Date`` value (RFC 9110 IMF-fixdate): ``Wed, 01 Jan 2025 00:00:00 GMT``."""
        return formatdate(self.now_seconds(), usegmt=True)
