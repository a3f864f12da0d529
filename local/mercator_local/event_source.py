"""Lambda's SQS event source mapping, emulated: receive a batch, invoke, delete what succeeded.

What Lambda does and this does too: up to BatchSize messages per invocation (several ReceiveMessage
calls of at most 10), the queue's own visibility timeout while a batch runs, the real SQS event shape,
deletion of the messages that succeeded, and with ReportBatchItemFailures only the listed messages
failed (an unknown or empty itemIdentifier fails the whole batch); without it, or when the handler
raises, the whole batch fails. SQS itself (moto) moves a message to the dead-letter queue once it has
been received maxReceiveCount times.

What differs, on purpose: a failed message is not left invisible for the queue's visibility timeout
(6 x the function's timeout, minutes of idle waiting locally) but made visible again after
``retry_after_seconds`` with ChangeMessageVisibility. MaximumBatchingWindowInSeconds is not waited
for: a batch is whatever is visible now, up to BatchSize. Batches run one at a time, so
MaximumConcurrency has nothing to cap.

On a FIFO queue, a failed message waits until no other message of the queue is visible before it is
released: Lambda leaves it invisible for the visibility timeout its handler sets (CatalogApply holds
a request that waits for another entity for seconds to minutes), long enough for the other message
groups to go on; released at once, it would be received again first, ahead of the very messages it
waits for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mercator_local.events import sqs_event
from mercator_local.functions import SqsSource
from mercator_local.handlers import WarmFunction

_RECEIVE_MAX = 10  # SQS returns at most 10 messages per ReceiveMessage
_BATCH_MAX = 10  # DeleteMessageBatch and ChangeMessageVisibilityBatch take at most 10 entries

logger = logging.getLogger(__name__)


class QueueOperationError(RuntimeError):
    """SQS refused to delete or release messages of a batch the runner had handled."""


@dataclass(frozen=True)
class BatchOutcome:
    """One invocation for one batch: who ran, from which queue, and how its messages ended."""

    function: str
    queue: str
    message_ids: tuple[str, ...]
    failed_ids: tuple[str, ...]
    error: str | None = None

    @property
    def succeeded(self) -> int:
        return len(self.message_ids) - len(self.failed_ids)

    @property
    def failed(self) -> int:
        return len(self.failed_ids)


class SqsEventSource:
    """The event source mapping of one function on one queue."""

    def __init__(
        self,
        *,
        function: WarmFunction,
        source: SqsSource,
        queue_url: str,
        queue_arn: str,
        region: str,
        sqs: Any,
        retry_after_seconds: int,
    ) -> None:
        if retry_after_seconds < 0:
            raise ValueError("retry_after_seconds cannot be negative")
        self.function = function
        self.source = source
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = region
        self._sqs = sqs
        self._retry_after = retry_after_seconds
        self._fifo = queue_url.endswith(".fifo")
        self._held: list[Mapping[str, Any]] = []

    @property
    def queue(self) -> str:
        return self.source.queue

    def poll_once(self) -> BatchOutcome | None:
        """Receive one batch and invoke the function with it; None when no message is visible."""
        messages = self._receive()
        if not messages and self._held:
            held, self._held = self._held, []
            self._release(held)
            messages = self._receive()
        if not messages:
            return None
        ids = tuple(str(message["MessageId"]) for message in messages)
        error: str | None = None
        try:
            response = self.function.invoke(
                sqs_event(messages, queue_arn=self._queue_arn, region=self._region)
            )
        except Exception as exc:  # a raising handler is a failed batch, as it is for Lambda
            logger.exception(
                "%s failed a batch of %d from %s", self.function.spec.logical_id, len(ids), self.queue
            )
            error = f"{type(exc).__name__}: {exc}"
            failed = set(ids)
        else:
            failed = self._failed_ids(response, ids)
        succeeded = [message for message in messages if message["MessageId"] not in failed]
        self._delete(succeeded)
        retried = [message for message in messages if message["MessageId"] in failed]
        if self._fifo:
            self._held.extend(retried)
        else:
            self._release(retried)
        return BatchOutcome(
            function=self.function.spec.logical_id,
            queue=self.queue,
            message_ids=ids,
            failed_ids=tuple(message_id for message_id in ids if message_id in failed),
            error=error,
        )

    def _receive(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        while len(batch) < self.source.batch_size:
            response = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(_RECEIVE_MAX, self.source.batch_size - len(batch)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            received: list[dict[str, Any]] = response.get("Messages", [])
            if not received:
                break
            batch.extend(received)
        return batch

    def _failed_ids(self, response: Any, ids: Sequence[str]) -> set[str]:
        if not self.source.report_batch_item_failures:
            return set()  # Lambda ignores the response of a function that does not report failures
        failures = response.get("batchItemFailures") if isinstance(response, Mapping) else None
        if not failures:
            return set()
        listed = {item.get("itemIdentifier") if isinstance(item, Mapping) else None for item in failures}
        if not listed <= set(ids):
            logger.error(
                "%s reported failures %s that are not message ids of its batch; the whole batch fails",
                self.function.spec.logical_id,
                sorted(str(item) for item in listed - set(ids)),
            )
            return set(ids)
        return {str(item) for item in listed}

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(messages), _BATCH_MAX):
            chunk = messages[start : start + _BATCH_MAX]
            response = self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(chunk)
                ],
            )
            self._check(response, "delete")

    def _release(self, messages: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(messages), _BATCH_MAX):
            chunk = messages[start : start + _BATCH_MAX]
            response = self._sqs.change_message_visibility_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {
                        "Id": str(index),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self._retry_after,
                    }
                    for index, m in enumerate(chunk)
                ],
            )
            self._check(response, "release")

    def _check(self, response: Mapping[str, Any], action: str) -> None:
        failed = response.get("Failed") or []
        if failed:
            reasons = "; ".join(f"{entry.get('Code')}: {entry.get('Message')}" for entry in failed)
            raise QueueOperationError(
                f"could not {action} {len(failed)} message(s) of {self.queue}: {reasons}"
            )
