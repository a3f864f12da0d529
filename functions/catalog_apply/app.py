"""CatalogApply: batches of the CatalogEvents FIFO queue; each PIM request applied in order.

The queue hands over the requests of one entity (one message group) one at a time, in order. A
request that waits for an entity the catalog does not know yet fails, and so do the requests after
it in its group (SqsFifoPartialProcessor), so order holds; it is held out of sight for a delay
that doubles with each attempt (CATALOG_RETRY_BASE_SECONDS, at most 15 minutes), and at the last of
CATALOG_MAX_ATTEMPTS it is dead-lettered to the Catalog DLQ with its reason and its group goes on.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.domain.messages import CatalogEventsMessage
from mercator.observability import logger, metrics, tracer
from mercator.services.catalog_apply import CatalogApply
from mercator.settings import CatalogApplySettings

settings = CatalogApplySettings.from_environ()
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
MAX_HOLD_SECONDS = 900


def build_services(settings: CatalogApplySettings) -> CatalogApply:
    """CatalogApply from the composition root, imported when first used so tests can inject a service."""
    from mercator.wiring.factories import catalog_apply  # noqa: PLC0415

    return catalog_apply(settings)


@functools.cache
def service() -> CatalogApply:
    """One service per warm container, built on first use."""
    return build_services(settings)


def build_hold() -> Any:
    """What holds failed requests back: the service, on its own clients (tests inject another)."""
    return service()


@functools.cache
def hold() -> Any:
    return build_hold()


@tracer.capture_method
def handle_request(record: SQSRecord) -> None:
    message = CatalogEventsMessage.parse(record.body)
    attempt = record.attributes.approximate_receive_count
    result = service().apply(message, last_attempt=int(attempt or 1) >= settings.max_attempts)
    metrics.add_metric(name=f"CatalogRequests_{result.outcome}", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="CatalogProductsWritten", unit=MetricUnit.Count, value=result.written)


def delay_seconds(attempt: int) -> int:
    """How long a failed request stays out of sight before its next attempt."""
    return int(min(settings.retry_base_seconds * 2 ** max(attempt - 1, 0), MAX_HOLD_SECONDS))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    response = process_partial_response(
        event=event, record_handler=handle_request, processor=processor, context=context
    )
    failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    if failed:
        receipts = [
            (
                record["receiptHandle"],
                delay_seconds(int(record["attributes"].get("ApproximateReceiveCount", 1))),
            )
            for record in event.get("Records", [])
            if record["messageId"] in failed
        ]
        hold().hold(receipts)
    metrics.add_metric(name="CatalogRequestsRetried", unit=MetricUnit.Count, value=len(failed))
    return response
