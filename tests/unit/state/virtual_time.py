"""Virtual time for concurrent asyncio callers: deterministic, and no test ever waits for real."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class VirtualClock:
    """A shared fake clock whose ``sleep`` advances it.

    Time moves only while every caller is asleep, and then straight to the earliest wake-up, so a
    caller woken for its slot reads exactly that slot's time. Callers run together through ``run``;
    a single caller may use ``time`` and ``sleep`` directly.
    """

    def __init__(self, start: float) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._callers = 1
        self._finished = 0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake_up = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._order), wake_up))
        self._advance()
        await wake_up

    async def run(self, *callers: Awaitable[T]) -> list[T]:
        """Run callers concurrently on this clock; return their results in order."""
        self._callers, self._finished = len(callers), 0
        tasks = [asyncio.ensure_future(caller) for caller in callers]
        for task in tasks:
            task.add_done_callback(self._on_finished)
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            self._callers, self._finished = 1, 0

    def _on_finished(self, _task: asyncio.Future[T]) -> None:
        self._finished += 1
        self._advance()

    def _advance(self) -> None:
        if self._sleepers and len(self._sleepers) + self._finished >= self._callers:
            wake, _, wake_up = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            wake_up.set_result(None)
