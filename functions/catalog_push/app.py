"""CatalogPush: the tenant's canonical products, and its shipments (pushTracking), written into its stores.

Events: an EventBridge schedule (any input; a full EventBridge event alike) fans out one PushJob per
store integration with ``settings.syncProducts`` true; SQS batches from the PushJobs queue run them
(new runs, and continuations of runs that neared the deadline), and the ShipmentPushJobs the
Integrations API sends there (``POST /api/shipments``), told apart by their ``kind``. A job whose
store (or shipment) is being written by another invocation fails, and SQS delivers it again once the
visibility timeout has passed.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, TypeAdapter

from mercator.domain.messages import PushJob, ShipmentPushJob
from mercator.observability import logger, metrics, tracer
from mercator.services.catalog_push import CatalogPushService, PushOutcome
from mercator.services.tracking_push import ShipmentOutcome, ShipmentPushService
from mercator.settings import PushSettings

settings = PushSettings.from_environ()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# The PushJobs queue's bodies: a catalog push or one tenant shipment, by their kind.
PUSH_MESSAGES: TypeAdapter[PushJob | ShipmentPushJob] = TypeAdapter(
    Annotated[PushJob | ShipmentPushJob, Field(discriminator="kind")]
)


def build_services(settings: PushSettings) -> CatalogPushService:
    """CatalogPush from the composition root, imported when first used so tests can inject a service."""
    from mercator.wiring.factories import catalog_push  # noqa: PLC0415

    return catalog_push(settings)


def build_shipment_service(settings: PushSettings) -> ShipmentPushService:
    """pushTracking's worker from the composition root, imported when first used (tests inject one)."""
    from mercator.wiring.factories import shipment_push  # noqa: PLC0415

    return shipment_push(settings)


@functools.cache
def service() -> CatalogPushService:
    """One service per warm container, built on first use."""
    return build_services(settings)


@functools.cache
def shipment_service() -> ShipmentPushService:
    return build_shipment_service(settings)


@tracer.capture_method
def handle_push_job(record: SQSRecord, lambda_context: LambdaContext) -> None:
    job = PUSH_MESSAGES.validate_json(record.body)

    def seconds_left() -> float:
        return lambda_context.get_remaining_time_in_millis() / 1000

    if isinstance(job, ShipmentPushJob):
        logger.append_keys(integration_id=job.integration_id, shipment=job.shipment)
        _count_shipment(asyncio.run(shipment_service().run_shipment_job(job, seconds_left)))
        return
    logger.append_keys(integration_id=job.integration_id, run_id=job.run_id)
    _count(asyncio.run(service().run_push_job(job, seconds_left)))


def _count_shipment(outcome: ShipmentOutcome) -> None:
    names = {"pushed": "ShipmentsPushed", "refused": "ShipmentsRefused"}
    metrics.add_metric(name=names.get(outcome.status, "ShipmentsSettled"), unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ProviderThrottled", unit=MetricUnit.Count, value=outcome.throttled)


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
