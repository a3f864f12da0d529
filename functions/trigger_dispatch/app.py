"""TriggerDispatch: change events fire their connector's triggers, EventBridge events and workflows.

Each SQS record is one ChangeEvent and succeeds or fails on its own (partial batch response). A
change is dispatched once: Powertools idempotency, keyed on the change event's id and kept in the
state table for IDEMPOTENCY_TTL_SECONDS, answers a change announced again with the first outcome.
A workflow action that fails pauses its execution and its message still succeeds; a failure of the
event bus or of the state table fails the message, which SQS delivers again (workflows that already
succeeded for it do not run again).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.domain.messages import ChangeEvent
from mercator.observability import logger, metrics, tracer
from mercator.services.dispatch import DispatchService
from mercator.settings import DispatchSettings

DispatchOnce = Callable[..., dict[str, int]]

settings = DispatchSettings.from_environ()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
idempotency = IdempotencyConfig(
    event_key_jmespath="id",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=settings.idempotency_ttl_seconds,
)


def build_services(settings: DispatchSettings) -> DispatchService:
    """TriggerDispatch from the composition root, imported when first used so tests can inject a service."""
    from mercator.wiring.factories import trigger_dispatch  # noqa: PLC0415

    return trigger_dispatch(settings)


def build_idempotency(settings: DispatchSettings) -> DynamoDBPersistenceLayer:
    """Where dispatched change events are remembered: the state table, expiring through its TTL, read
    and written with the function's AWS call bounds."""
    from mercator.state.aws_clients import AwsClients  # noqa: PLC0415 - botocore only when first used

    return DynamoDBPersistenceLayer(
        table_name=settings.state_table,
        key_attr="pk",
        sort_key_attr="sk",
        expiry_attr="ttl",
        boto_config=AwsClients.of(settings).config(),
    )


@functools.cache
def dispatch_once() -> DispatchOnce:
    """The service's dispatch made idempotent per change: one per warm container, built on first use."""
    service = build_services(settings)

    def dispatch(*, change: dict[str, str], event: ChangeEvent) -> dict[str, int]:
        outcome = service.dispatch(event)
        # Counted here, inside the idempotent call, so a repeated change is not counted twice.
        metrics.add_metric(name="TriggersFired", unit=MetricUnit.Count, value=outcome.triggers_fired)
        metrics.add_metric(name="WorkflowActionsRun", unit=MetricUnit.Count, value=outcome.actions_succeeded)
        metrics.add_metric(
            name="WorkflowExecutionsPaused", unit=MetricUnit.Count, value=outcome.executions_paused
        )
        return asdict(outcome)

    return idempotent_function(
        dispatch,
        data_keyword_argument="change",
        persistence_store=build_idempotency(settings),
        config=idempotency,
        key_prefix="change-event",
    )


@tracer.capture_method
def handle_change(record: SQSRecord) -> dict[str, int]:
    event = ChangeEvent.parse(record.body)
    if event.first_import:
        # History fires nothing; skipping here also spares the idempotency record's two writes.
        return {}
    return dispatch_once()(change={"id": event.id}, event=event)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # In-progress records expire with the invocation, so a change whose Lambda timed out is retried.
    idempotency.register_lambda_context(context)
    response = process_partial_response(
        event=event, record_handler=handle_change, processor=processor, context=context
    )
    metrics.add_metric(
        name="ChangeMessagesFailed", unit=MetricUnit.Count, value=len(response["batchItemFailures"])
    )
    return response
