"""CatalogPush: the tenant's canonical products pushed into every store that asks for them.

Events: an EventBridge schedule (any input; a full EventBridge event alike) fans out one PushJob per
store integration with ``settings.syncProducts`` true; SQS batches from the PushJobs queue run them
(new runs, and continuations of runs that neared the deadline). A job whose store is being pushed by
another invocation fails, and SQS delivers it again once the visibility timeout has passed.
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

from mercator.domain.messages import PushJob
from mercator.observability import logger, metrics, tracer
from mercator.services.catalog_push import CatalogPushService, PushOutcome
from mercator.settings import PushSettings

settings = PushSettings.from_environ()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def build_services(settings: PushSettings) -> CatalogPushService:
    """CatalogPush from the composition root, imported when first used so tests can inject a service."""
    from mercator.wiring.factories import catalog_push  # noqa: PLC0415

    return catalog_push(settings)


@functools.cache
def service() -> CatalogPushService:
    """One service per warm container, built on first use."""
    return build_services(settings)


@tracer.capture_method
def handle_push_job(record: SQSRecord, lambda_context: LambdaContext) -> None:
    job = PushJob.parse(record.body)
    logger.append_keys(integration_id=job.integration_id, run_id=job.run_id)

    def seconds_left() -> float:
        return lambda_context.get_remaining_time_in_millis() / 1000

    _count(asyncio.run(service().run_push_job(job, seconds_left)))


def _count(outcome: PushOutcome) -> None:
    metrics.add_metric(name=f"PushRun{outcome.status.capitalize()}", unit=MetricUnit.Count, value=1)
    stats = outcome.stats
    metrics.add_metric(name="ProductsCreated", unit=MetricUnit.Count, value=stats.created)
    metrics.add_metric(name="ProductsUpdated", unit=MetricUnit.Count, value=stats.updated)
    metrics.add_metric(name="ProductsUnpublished", unit=MetricUnit.Count, value=stats.unpublished)
    metrics.add_metric(name="ProductsRefused", unit=MetricUnit.Count, value=stats.refused)
    metrics.add_metric(name="ProviderThrottled", unit=MetricUnit.Count, value=stats.throttled)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse | dict[str, Any]:
    if "Records" in event:
        response = process_partial_response(
            event=event, record_handler=handle_push_job, processor=processor, context=context
        )
        metrics.add_metric(
            name="PushJobsFailed", unit=MetricUnit.Count, value=len(response["batchItemFailures"])
        )
        return response
    jobs = service().fan_out()
    metrics.add_metric(name="PushJobsScheduled", unit=MetricUnit.Count, value=jobs)
    return {"jobs": jobs}
