"""The runner: the template's functions invoked the way their triggers invoke them on AWS.

``invoke_schedule`` delivers what an EventBridge schedule delivers; ``poll_once``, ``drain`` and
``run_until_idle`` play the SQS event source mappings (see :mod:`mercator_local.event_source` for
what is emulated and what differs: failed messages come back after ``retry_after_seconds``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mercator_local.event_source import BatchOutcome, SqsEventSource
from mercator_local.events import scheduled_event
from mercator_local.handlers import WarmFunction

_DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class RunReport:
    """What a drain did: every batch, the dead-letter queues' depths after it, and whether it finished.

    ``idle`` is False when the round cap or the wait for in-flight messages ran out first.
    """

    batches: tuple[BatchOutcome, ...]
    dead_letters: Mapping[str, int]
    idle: bool

    @property
    def invocations(self) -> dict[str, int]:
        """Invocations per function logical id."""
        return dict(Counter(batch.function for batch in self.batches))

    @property
    def succeeded(self) -> dict[str, int]:
        """Messages handled and deleted, per queue logical id."""
        return _per_queue(self.batches, lambda batch: batch.succeeded)

    @property
    def failed(self) -> dict[str, int]:
        """Failed deliveries per queue logical id (a message failing three times counts three)."""
        return _per_queue(self.batches, lambda batch: batch.failed)


def _per_queue(batches: Sequence[BatchOutcome], count: Callable[[BatchOutcome], int]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for batch in batches:
        totals[batch.queue] += count(batch)
    return dict(totals)


class Runner:
    """Invokes the stack's functions: on demand, on schedule, and from their SQS queues."""

    def __init__(
        self,
        *,
        functions: Mapping[str, WarmFunction],
        sources: Sequence[SqsEventSource],
        queue_urls: Mapping[str, str],
        dead_letter_queues: Sequence[str],
        sqs: Any,
        stack_name: str,
        region: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 0.02,
        max_wait_seconds: float = 30.0,
    ) -> None:
        self.functions = dict(functions)
        self.sources = tuple(sources)
        self._queue_urls = dict(queue_urls)
        self._dead_letter_queues = tuple(dead_letter_queues)
        self._sqs = sqs
        self._stack_name = stack_name
        self._region = region
        self._clock = clock
        self._sleep = sleep
        self._poll_interval = poll_interval
        self._max_wait = max_wait_seconds

    def invoke(self, function: str, event: Any) -> Any:
        """Invoke ``function`` (logical id) with ``event`` directly, as ``sam local invoke`` does."""
        return self._function(function).invoke(event)

    def invoke_schedule(self, function: str, schedule: str) -> Any:
        """Invoke ``function`` with what one of its schedules delivers: the schedule's constant Input
        (parsed JSON, e.g. ``{"resource": "products"}``), or EventBridge's scheduled event when it has none.

        ``schedule`` is the event's name in the template (``ProductsSchedule``) or its Input's resource
        (``products``).
        """
        warm = self._function(function)
        source = warm.spec.schedule(schedule)
        if source.input is not None:
            event = source.input
        else:
            event = scheduled_event(
                rule_name=f"{self._stack_name}-{function}{source.name}", region=self._region
            )
        return warm.invoke(event)

    def poll_once(self, queue: str) -> BatchOutcome | None:
        """One batch from ``queue`` (logical id) to the function subscribed to it; None if none is visible."""
        return self._source(queue).poll_once()

    def drain(self, queue: str, *, max_rounds: int = 1_000) -> RunReport:
        """Batches from ``queue`` until it holds no message at all (visible, in flight or delayed)."""
        return self._run([self._source(queue)], max_rounds)

    def run_until_idle(self, *, max_rounds: int = 1_000, skip: Collection[str] = ()) -> RunReport:
        """Every subscribed queue in turn, one batch each per round, until all of them are empty.

        Messages the functions send to each other's queues are picked up in later rounds, so one call
        runs a whole pipeline (SyncJobs → Enrich) to its end. ``max_rounds`` caps runaway loops.
        ``skip`` names queues (logical ids) left as they are, e.g. to read the change events in them.
        """
        unknown = set(skip) - {source.queue for source in self.sources}
        if unknown:
            raise KeyError(f"no function consumes {', '.join(sorted(unknown))}")
        return self._run([source for source in self.sources if source.queue not in skip], max_rounds)

    def depth(self, queue: str) -> int:
        """Messages in ``queue`` (logical id): visible, in flight and delayed."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url(queue), AttributeNames=list(_DEPTH_ATTRIBUTES)
        )["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in _DEPTH_ATTRIBUTES)

    def _run(self, sources: Sequence[SqsEventSource], max_rounds: int) -> RunReport:
        if max_rounds < 1:
            raise ValueError("max_rounds must be at least 1")
        batches: list[BatchOutcome] = []
        rounds = 0
        waiting_since: float | None = None
        while True:
            outcomes = [outcome for source in sources if (outcome := source.poll_once()) is not None]
            if outcomes:
                batches.extend(outcomes)
                waiting_since = None
                rounds += 1
                if rounds >= max_rounds:
                    return self._report(batches, idle=False)
                continue
            if not any(self.depth(source.queue) for source in sources):
                return self._report(batches, idle=True)
            # Only in-flight or delayed messages are left: wait for them to become visible.
            now = self._clock()
            waiting_since = now if waiting_since is None else waiting_since
            if now - waiting_since >= self._max_wait:
                return self._report(batches, idle=False)
            self._sleep(self._poll_interval)

    def _report(self, batches: Sequence[BatchOutcome], *, idle: bool) -> RunReport:
        dead_letters = {queue: self.depth(queue) for queue in self._dead_letter_queues}
        return RunReport(batches=tuple(batches), dead_letters=dead_letters, idle=idle)

    def _function(self, function: str) -> WarmFunction:
        if function not in self.functions:
            raise KeyError(f"no function {function!r} (functions: {', '.join(self.functions) or 'none'})")
        return self.functions[function]

    def _source(self, queue: str) -> SqsEventSource:
        for source in self.sources:
            if source.queue == queue:
                return source
        subscribed = ", ".join(source.queue for source in self.sources) or "none"
        raise KeyError(f"no function is subscribed to queue {queue!r} (subscribed queues: {subscribed})")

    def _queue_url(self, queue: str) -> str:
        if queue not in self._queue_urls:
            raise KeyError(f"no queue {queue!r} (queues: {', '.join(self._queue_urls) or 'none'})")
        return self._queue_urls[queue]
