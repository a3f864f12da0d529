"""Fired triggers published to an EventBridge bus, for AWS-native consumers (rules, pipes, archives).

PutEvents takes at most 10 entries and 256 KiB per request, sizes counted the way EventBridge counts
them, so entries are sent in requests that fit both. EventBridge may refuse single entries of an
accepted request (``FailedEntryCount``): throttled or internally failed ones are sent again, alone,
a few times; what is still refused raises EventsNotPublishedError naming each entry's ErrorCode and
ErrorMessage, so the change event's message fails and is delivered again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mercator.domain.errors import MissingResourceError, StateAccessError
from mercator.domain.messages import BusEvent
from mercator.state.aws_protocols import AwsClient
from mercator.state.aws_retry import Backoff, Retries
from mercator.state.dynamo import error_code

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
_TIME_BYTES = 14  # what EventBridge counts for an entry's Time
# Entry errors that may pass when the entry is sent again; the others come from the entry itself.
RETRYABLE_CODES = frozenset({"ThrottlingException", "InternalFailure", "InternalException"})
# TriggerDispatch has 60 s for a whole batch of change events; a longer wait had better fail the
# message and let SQS deliver it again.
_BACKOFF_CAP = 2.0


@dataclass(frozen=True)
class RefusedEvent:
    """An event EventBridge did not accept: its index in the events given to ``publish``, and why."""

    index: int
    detail_type: str
    code: str
    message: str


class EventsNotPublishedError(StateAccessError):
    """EventBridge refused some events for good; ``failed`` says which and why."""

    def __init__(self, bus_name: str, failed: list[RefusedEvent]) -> None:
        reasons = "; ".join(
            f"#{entry.index} {entry.detail_type}: {entry.code}: {entry.message}" for entry in failed
        )
        super().__init__(
            f"EventBridge bus {bus_name!r} refused {len(failed)} event(s): {reasons}",
            resource=bus_name,
            operation="PutEvents",
            code=failed[0].code if failed else None,
        )
        self.failed = failed


class EventBridgeClient(AwsClient, Protocol):
    """The part of a boto3 EventBridge client the publisher uses."""

    def put_events(self, **request: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class _Entry:
    index: int
    detail_type: str
    request: dict[str, Any]
    size: int


class EventBridgePublisher:
    """Publishes events to one bus (mercator.services.dispatch.EventPublisher)."""

    def __init__(
        self,
        client: EventBridgeClient,
        bus_name: str,
        *,
        max_attempts: int = 3,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not bus_name:
            raise ValueError("an EventBridge bus name must not be empty")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
        self.client = client
        self.bus_name = bus_name
        # Exact waits (backoff_seconds, then twice that, ...), so a publish's longest run is known.
        self._retries = Retries(
            max_attempts=max_attempts,
            backoff=Backoff(base=backoff_seconds, cap=_BACKOFF_CAP, jitter="none"),
            sleep=sleep,
        )

    def publish(self, events: Sequence[BusEvent]) -> None:
        """Put every event on the bus; raises EventsNotPublishedError when some were refused."""
        pending = [self._entry(index, event) for index, event in enumerate(events)]
        refused: list[RefusedEvent] = []
        for attempt in self._retries:
            retry: list[_Entry] = []
            for request in _requests(pending):
                for entry, failure in self._put(request):
                    if failure.code in RETRYABLE_CODES and not self._retries.last(attempt):
                        retry.append(entry)
                    else:
                        refused.append(failure)
            if not retry:
                break
            pending = retry
        if refused:
            raise EventsNotPublishedError(self.bus_name, sorted(refused, key=lambda entry: entry.index))

    def _entry(self, index: int, event: BusEvent) -> _Entry:
        try:
            detail = json.dumps(event.detail, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ValueError(f"the detail of event {event.detail_type!r} is not plain JSON: {e}") from e
        request: dict[str, Any] = {
            "EventBusName": self.bus_name,
            "Source": event.source,
            "DetailType": event.detail_type,
            "Detail": detail,
        }
        size = sum(len(request[name].encode()) for name in ("Source", "DetailType", "Detail"))
        if event.time is not None:
            request["Time"] = event.time
            size += _TIME_BYTES
        if size > MAX_REQUEST_BYTES:
            raise ValueError(
                f"event {event.detail_type!r} from {event.source} is {size} bytes; "
                f"EventBridge takes at most {MAX_REQUEST_BYTES}"
            )
        return _Entry(index, event.detail_type, request, size)

    def _put(self, entries: list[_Entry]) -> Iterator[tuple[_Entry, RefusedEvent]]:
        """Send one request; yields the entries EventBridge refused, with why."""
        try:
            response = self.client.put_events(Entries=[entry.request for entry in entries])
        except self.client.exceptions.ClientError as e:
            code = error_code(e)
            error = MissingResourceError if code == "ResourceNotFoundException" else StateAccessError
            raise error(
                f"PutEvents on EventBridge bus {self.bus_name!r} failed: {code or 'unknown error'}: {e}",
                resource=self.bus_name,
                operation="PutEvents",
                code=code,
            ) from e
        if not response.get("FailedEntryCount"):
            return
        # Results come in the order of the entries sent; a refused entry has an ErrorCode.
        for entry, result in zip(entries, response.get("Entries", []), strict=False):
            if result.get("ErrorCode"):
                yield (
                    entry,
                    RefusedEvent(
                        entry.index,
                        entry.detail_type,
                        str(result["ErrorCode"]),
                        str(result.get("ErrorMessage", "")),
                    ),
                )


def _requests(entries: list[_Entry]) -> Iterator[list[_Entry]]:
    """The entries in order, in requests of at most MAX_ENTRIES entries and MAX_REQUEST_BYTES."""
    batch: list[_Entry] = []
    size = 0
    for entry in entries:
        if batch and (len(batch) >= MAX_ENTRIES or size + entry.size > MAX_REQUEST_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry.size
    if batch:
        yield batch
