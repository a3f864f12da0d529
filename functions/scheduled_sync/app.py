"""ScheduledSync: a schedule fans out SyncJobs; each SyncJob from the SyncJobs queue lists one resource.

Events: an EventBridge schedule's constant input ``{"resource": "orders"}`` (or a full EventBridge
event whose ``detail`` is that), and SQS batches from the SyncJobs queue whose bodies are SyncJob
messages (new runs from the fan-out, and continuations of runs that neared the deadline).
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

from mercator.domain.messages import SyncJob
from mercator.observability import logger, metrics, tracer
from mercator.services.run_walk import SyncOutcome
from mercator.services.sync_runs import SyncService
from mercator.settings import SyncSettings

settings = SyncSettings.from_environ()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def build_services(settings: SyncSettings) -> SyncService:
    """ScheduledSync from the composition root, imported when first used so tests can inject a service."""
    from mercator.wiring.factories import scheduled_sync  # noqa: PLC0415

    return scheduled_sync(settings)


@functools.cache
def service() -> SyncService:
    """One service per warm container, built on first use."""
    return build_services(settings)


def scheduled_family(event: dict[str, Any]) -> str:
    """The family a schedule names: its constant input, or a full EventBridge event's detail."""
    detail = event.get("detail")
    source = detail if isinstance(detail, dict) else event
    family = source.get("resource")
    if not isinstance(family, str) or not family:
        raise ValueError(
            'a ScheduledSync event is an SQS batch of SyncJobs or a schedule input {"resource": "<family>"}; '
            f"got keys {sorted(event)}"
        )
    return family


@tracer.capture_method
def handle_sync_job(record: SQSRecord, lambda_context: LambdaContext) -> None:
    job = SyncJob.parse(record.body)
    logger.append_keys(integration_id=job.integration_id, resource=job.resource)

    def seconds_left() -> float:
        return lambda_context.get_remaining_time_in_millis() / 1000

    # The message id is the same on every delivery: a job retried after a failure resumes its run.
    outcome = asyncio.run(service().run_sync_job(job, seconds_left, delivery_id=record.message_id))
    _count(outcome)


def _count(outcome: SyncOutcome) -> None:
    metrics.add_metric(name=f"SyncRun{outcome.status.capitalize()}", unit=MetricUnit.Count, value=1)
    if outcome.status == "finished":
        stats = outcome.stats
        metrics.add_metric(name="SyncRecords", unit=MetricUnit.Count, value=stats.records)
        metrics.add_metric(name="SyncRecordsWritten", unit=MetricUnit.Count, value=stats.new + stats.changed)
        metrics.add_metric(name="SyncErrors", unit=MetricUnit.Count, value=stats.errors)
        metrics.add_metric(name="ProviderThrottled", unit=MetricUnit.Count, value=stats.throttled)
        metrics.add_metric(name="MissedByWebhook", unit=MetricUnit.Count, value=stats.missed_by_webhook)
        metrics.add_metric(name="SyncRecordsDeleted", unit=MetricUnit.Count, value=stats.deleted)
        metrics.add_metric(name="DeletionsHeld", unit=MetricUnit.Count, value=stats.deletions_held)
        metrics.add_metric(name="SyncRunsUnsettled", unit=MetricUnit.Count, value=stats.unsettled)
        metrics.add_metric(name="SyncRunDuration", unit=MetricUnit.Milliseconds, value=stats.duration_ms)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse | dict[str, Any]:
    if "Records" in event:
        response = process_partial_response(
            event=event, record_handler=handle_sync_job, processor=processor, context=context
        )
        metrics.add_metric(
            name="SyncJobsFailed", unit=MetricUnit.Count, value=len(response["batchItemFailures"])
        )
        return response
    family = scheduled_family(event)
    jobs = service().fan_out(family)
    metrics.add_metric(name="SyncJobsScheduled", unit=MetricUnit.Count, value=jobs)
    return {"resource": family, "jobs": jobs}
