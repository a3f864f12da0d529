"""DetailEnrichment: SQS batches of EnrichBatch messages become written, validated records.

Each SQS record is one EnrichBatch and succeeds or fails on its own (partial batch response):
records that cannot succeed on a retry go to the Enrich DLQ as dead letters and their message
succeeds; a provider failure that may pass fails only its message, which SQS delivers again.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.domain.messages import EnrichBatch
from mercator.observability import logger, metrics, tracer
from mercator.services.enrich import EnrichmentService
from mercator.settings import EnrichSettings

settings = EnrichSettings.from_environ()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def build_services(settings: EnrichSettings) -> EnrichmentService:
    """DetailEnrichment from the composition root, imported when first used so tests can inject a service."""
    from mercator.wiring.factories import detail_enrichment  # noqa: PLC0415

    return detail_enrichment(settings)


@functools.cache
def service() -> EnrichmentService:
    """One service per warm container, built on first use."""
    return build_services(settings)


@tracer.capture_method
def handle_enrich_batch(record: SQSRecord, lambda_context: LambdaContext) -> None:
    batch = EnrichBatch.parse(record.body)

    def seconds_left() -> float:
        return lambda_context.get_remaining_time_in_millis() / 1000

    # One event loop per message: its session, rate bucket and tasks end with it, so nothing a
    # failed message left behind can touch the next one.
    outcome = asyncio.run(service().enrich(batch, seconds_left))
    written = outcome.written
    metrics.add_metric(name="RecordsWritten", unit=MetricUnit.Count, value=written.new + written.changed)
    metrics.add_metric(
        name="RecordsUnchanged", unit=MetricUnit.Count, value=written.unchanged + written.stale
    )
    metrics.add_metric(name="DeadLetters", unit=MetricUnit.Count, value=outcome.dead_letters)
    metrics.add_metric(name="MissedByWebhook", unit=MetricUnit.Count, value=outcome.stats.missed_by_webhook)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    response = process_partial_response(
        event=event, record_handler=handle_enrich_batch, processor=processor, context=context
    )
    metrics.add_metric(
        name="EnrichMessagesFailed", unit=MetricUnit.Count, value=len(response["batchItemFailures"])
    )
    return response
