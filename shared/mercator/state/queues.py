"""An SQS queue that sends bodies in batches and retries the entries SQS fails."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from mercator.domain.errors import (
    MessagesNotSentError,
    MissingResourceError,
    RefusedMessage,
    StateAccessError,
)
from mercator.domain.messages import OrderedMessage
from mercator.state.aws_protocols import AwsClient
from mercator.state.aws_retry import Backoff, Retries
from mercator.state.dynamo import error_code

BATCH_ENTRIES = 10  # SendMessageBatch's maximum
# SendMessageBatch also caps the sum of the bodies; 256 KiB is the limit every SQS queue has had.
BATCH_BYTES = 256 * 1024
_MISSING_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_BACKOFF_BASE = 0.1
_BACKOFF_CAP = 2.0


class SqsClient(AwsClient, Protocol):
    """The part of a boto3 SQS client the queue uses."""

    def send_message_batch(self, **request: Any) -> dict[str, Any]: ...

    def change_message_visibility_batch(self, **request: Any) -> dict[str, Any]: ...


class SqsQueue:
    """MessageQueue over one SQS queue (the DLQs are queues like any other).

    Entries SQS fails on its side are sent again, up to ``max_attempts`` in all with exponential
    backoff; entries it refuses as the sender's fault (too large, invalid characters) are not, as
    they would fail the same way.
    """

    def __init__(
        self,
        client: SqsClient,
        queue_url: str,
        *,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        jitter: random.Random | None = None,
    ) -> None:
        if not queue_url:
            raise ValueError("queue_url must not be empty")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
        self._client = client
        self._queue_url = queue_url
        # Equal jitter: entries SQS failed always get a real pause (half the ceiling at least).
        self._retries = Retries(
            max_attempts=max_attempts,
            backoff=Backoff(
                base=_BACKOFF_BASE, cap=_BACKOFF_CAP, jitter="equal", rng=jitter or random.Random()
            ),
            sleep=sleep,
        )

    @property
    def url(self) -> str:
        return self._queue_url

    def send(self, bodies: Sequence[str]) -> None:
        self._send(bodies, [{} for _ in bodies])

    def hold(self, receipts: Sequence[tuple[str, int]]) -> None:
        """Keep each received message (by receipt handle) out of sight for its number of seconds, so
        SQS hands it over again then rather than after the queue's whole visibility timeout.
        Best effort: a message whose change failed is handed over at the usual time."""
        for start in range(0, len(receipts), BATCH_ENTRIES):
            entries = [
                {"Id": str(index), "ReceiptHandle": receipt, "VisibilityTimeout": seconds}
                for index, (receipt, seconds) in enumerate(receipts[start : start + BATCH_ENTRIES])
            ]
            try:
                self._client.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=entries)
            except self._client.exceptions.ClientError:
                continue

    def send_ordered(self, messages: Sequence[OrderedMessage]) -> None:
        """Send to a FIFO queue: each message in its group (applied in order within it), with the
        deduplication id that makes a copy sent within SQS's five minutes a no-op."""
        self._send(
            [message.body for message in messages],
            [
                {"MessageGroupId": message.group, "MessageDeduplicationId": message.dedup_id}
                for message in messages
            ],
        )

    def _send(self, bodies: Sequence[str], extras: Sequence[dict[str, str]]) -> None:
        pending = list(range(len(bodies)))
        refused: dict[int, RefusedMessage] = {}  # for good: the sender's fault
        last_failure: dict[int, RefusedMessage] = {}
        for _ in self._retries:
            retry: list[int] = []
            for batch in _batches(pending, bodies):
                for failure in self._send_batch(batch, bodies, extras):
                    if failure.sender_fault:
                        refused[failure.index] = failure
                    else:
                        last_failure[failure.index] = failure
                        retry.append(failure.index)
            pending = retry
            if not pending:
                break
        refused.update((index, last_failure[index]) for index in pending)
        failed = sorted(refused.values(), key=lambda failure: failure.index)
        if failed:
            first = failed[0]
            raise MessagesNotSentError(
                f"SQS queue {self._queue_url} refused {len(failed)} of {len(bodies)} messages "
                f"(first: message {first.index}: {first.code}: {first.message}); the others were sent",
                queue_url=self._queue_url,
                failed=failed,
            )

    def _send_batch(
        self, batch: list[int], bodies: Sequence[str], extras: Sequence[dict[str, str]]
    ) -> list[RefusedMessage]:
        entries = [{"Id": str(index), "MessageBody": bodies[index], **extras[index]} for index in batch]
        try:
            response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except self._client.exceptions.ClientError as e:
            code = error_code(e)
            if code in _MISSING_QUEUE:
                raise MissingResourceError(
                    f"SendMessageBatch: SQS queue {self._queue_url} does not exist",
                    resource=self._queue_url,
                    operation="SendMessageBatch",
                    code=code,
                ) from e
            raise StateAccessError(
                f"SendMessageBatch to SQS queue {self._queue_url} failed: {code or 'unknown error'}: {e}",
                resource=self._queue_url,
                operation="SendMessageBatch",
                code=code,
            ) from e
        return [
            RefusedMessage(
                index=int(failure["Id"]),
                code=str(failure.get("Code", "unknown")),
                message=str(failure.get("Message", "")),
                sender_fault=bool(failure.get("SenderFault", False)),
            )
            for failure in response.get("Failed", [])
        ]


def _batches(indexes: list[int], bodies: Sequence[str]) -> Iterator[list[int]]:
    """Runs of at most BATCH_ENTRIES bodies totalling at most BATCH_BYTES (a larger body goes alone)."""
    batch: list[int] = []
    size = 0
    for index in indexes:
        body_size = len(bodies[index].encode())
        if batch and (len(batch) == BATCH_ENTRIES or size + body_size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(index)
        size += body_size
    if batch:
        yield batch
