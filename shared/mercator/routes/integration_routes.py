"""The Integrations API (``seeds/004``): its routes, each one call into ManagementService.

Each route validates its request with the models of ``mercator.api.schemas``, reads the caller's
tenant from ``requestContext.authorizer.tenantId`` (never from the body, the path or a header) and
makes one call into the service. Besides the seed's routes, ``GET /api/integrations`` lists the
caller's integrations, and ``POST /api/shipments`` and ``GET /api/shipments/{shipmentId}`` send a
shipment into a store and show where its write stands (pushTracking). What a route raises is
answered by the resolver (mercator.routes.resolver): 404 NOT_FOUND, 400 CONFIGURATION_ERROR (an
invalid request names the field), 409 CONFLICT, 413 REQUEST_TOO_LARGE and 415
UNSUPPORTED_MEDIA_TYPE (a body past the limits of
``mercator.api.request_checks``, or not JSON: refused before it is parsed), 401 when no tenant came
through the authorizer, 500 INTERNAL_ERROR for anything unexpected, never for a request's own mistake.
Each route declares its answers (``documented``) for the OpenAPI document the resolver generates.

The configure request carries credentials: no request body is logged.
"""

# No ``from __future__ import annotations``: the resolver reads the routes' annotations as objects.

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from mercator.api.openapi import BODY_ERRORS, documented
from mercator.api.request_checks import MAX_ID_CHARS
from mercator.api.schemas import (
    ConfiguredWorkflow,
    ConfigureIntegrationRequest,
    ConfigureWorkflowRequest,
    DisabledIntegration,
    Done,
    Envelope,
    IntegrationSummary,
    IntegrationView,
    ResumedExecution,
    SavePushSubscriptionRequest,
    ShipmentRequest,
    ShipmentView,
    ToggledWorkflow,
    TriggerView,
    WorkflowSummary,
)
from mercator.observability import metrics, tracer
from mercator.routes.resolver import ServiceRouter, tenant_of
from mercator.services.management import ManagementService
from mercator.services.push_ports import PushedShipment

router: ServiceRouter[ManagementService] = ServiceRouter()
PathParameter = Annotated[str, Path(max_length=MAX_ID_CHARS)]  # an id or a name: as long as a key


def _tenant() -> str:
    return tenant_of(router.current_event.raw_event)


# Integrations


@router.get("/api/integrations", responses=documented(list[IntegrationSummary]))
@tracer.capture_method
def list_integrations() -> Envelope[list[IntegrationSummary]]:
    caller = _tenant()
    integrations = router.service().integrations(caller)
    return Envelope(success=True, data=[IntegrationSummary.of(integration) for integration in integrations])


@router.post(
    "/api/integrations/provider/configure", responses=documented(IntegrationView, 404, 409, *BODY_ERRORS)
)
@tracer.capture_method(capture_response=False)
def configure_integration(
    request: Annotated[ConfigureIntegrationRequest, Body()],
) -> Envelope[IntegrationView]:
    caller = _tenant()
    integration = router.service().configure(caller, request)
    metrics.add_metric(name="IntegrationsConfigured", unit=MetricUnit.Count, value=1)
    return Envelope(success=True, data=IntegrationView.of(integration))


@router.route(
    "/api/integrations/provider/disable/<id>",
    method=["GET", "POST"],
    responses=documented(DisabledIntegration, 400, 404),
)
@tracer.capture_method
def disable_integration(id: PathParameter) -> Envelope[DisabledIntegration]:
    caller = _tenant()
    integration = router.service().disable(caller, id)
    return Envelope(success=True, data=DisabledIntegration(guid=integration.id, status="disabled"))


@router.delete("/api/integrations/providers/ecommerce/remove/<id>", responses=documented(None, 400, 404))
@tracer.capture_method
def remove_integration(
    id: PathParameter,
    purge: Annotated[bool, Query(description="also delete the records the integration wrote")] = False,
) -> Done:
    caller = _tenant()
    router.service().remove(caller, id, purge=purge)
    metrics.add_metric(name="IntegrationsRemoved", unit=MetricUnit.Count, value=1)
    return Done(success=True)


@router.post("/api/integrations/save-vapid-subscription", responses=documented(None, *BODY_ERRORS))
@tracer.capture_method
def save_push_subscription(request: Annotated[SavePushSubscriptionRequest, Body()]) -> Done:
    caller = _tenant()
    router.service().save_push_subscription(caller, request)
    return Done(success=True)


# Workflows


@router.get("/api/workflows/triggers/<entityType>", responses=documented(list[TriggerView], 400, 404))
@tracer.capture_method
def workflow_triggers(entityType: PathParameter) -> Envelope[list[TriggerView]]:
    caller = _tenant()
    options = router.service().triggers(caller, entityType)
    return Envelope(
        success=True,
        data=[
            TriggerView(
                guid=option.guid,
                name=option.name,
                code=option.event,
                description=option.description,
                provider=option.connector,
            )
            for option in options
        ],
    )


@router.get("/api/workflows/<entityType>/configured", responses=documented(list[WorkflowSummary], 400, 404))
@tracer.capture_method
def configured_workflows(
    entityType: PathParameter,
    managed: Annotated[bool, Query(description="include managed workflows")] = False,
) -> Envelope[list[WorkflowSummary]]:
    caller = _tenant()
    workflows = router.service().workflows(caller, entityType, include_managed=managed)
    return Envelope(success=True, data=[WorkflowSummary.of(workflow) for workflow in workflows])


@router.post("/api/workflows/configure", responses=documented(ConfiguredWorkflow, 404, *BODY_ERRORS))
@tracer.capture_method
def configure_workflow(request: Annotated[ConfigureWorkflowRequest, Body()]) -> Envelope[ConfiguredWorkflow]:
    caller = _tenant()
    workflow = router.service().configure_workflow(caller, request)
    return Envelope(
        success=True,
        data=ConfiguredWorkflow(guid=workflow.guid, name=workflow.name, isActive=workflow.is_active),
    )


@router.get("/api/workflows/configured/<guid>/toggle", responses=documented(ToggledWorkflow, 400, 404))
@tracer.capture_method
def toggle_workflow(guid: PathParameter) -> Envelope[ToggledWorkflow]:
    caller = _tenant()
    workflow = router.service().toggle_workflow(caller, guid)
    return Envelope(success=True, data=ToggledWorkflow(guid=workflow.guid, isActive=workflow.is_active))


@router.delete("/api/workflows/configured/<guid>", responses=documented(None, 400, 404))
@tracer.capture_method
def delete_workflow(guid: PathParameter) -> Done:
    caller = _tenant()
    router.service().delete_workflow(caller, guid)
    return Done(success=True)


@router.get("/api/workflows/resume-workflow", responses=documented(ResumedExecution, 400, 404, 409))
@tracer.capture_method
def resume_workflow(
    workflowId: Annotated[
        str, Query(min_length=1, max_length=MAX_ID_CHARS, description="the paused execution's id")
    ],
) -> Envelope[ResumedExecution]:
    caller = _tenant()
    execution = router.service().resume(caller, workflowId)
    return Envelope(success=True, data=ResumedExecution.of(execution))


# Shipments (pushTracking)

QUEUED = (
    "the shipment is kept and its write into the store queued (new, changed, or asked again after a refusal)"
)


@router.post("/api/shipments", responses=documented(ShipmentView, 404, 409, *BODY_ERRORS, accepted=QUEUED))
@tracer.capture_method
def ship(request: Annotated[ShipmentRequest, Body()]) -> Response[Envelope[ShipmentView]]:
    """Write a shipment of a synced order into the integration's store; 200 when the store holds it
    as asked already (nothing queued)."""
    caller = _tenant()
    accepted = router.service().ship(caller, request)
    if accepted.queued:
        metrics.add_metric(name="ShipmentsQueued", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=(HTTPStatus.ACCEPTED if accepted.queued else HTTPStatus.OK).value,
        content_type=content_types.APPLICATION_JSON,
        body=Envelope(success=True, data=shipment_view(accepted.entry)),
    )


@router.get("/api/shipments/<shipmentId>", responses=documented(ShipmentView, 400, 404))
@tracer.capture_method
def shipment(
    shipmentId: PathParameter,
    integrationId: Annotated[
        str, Query(min_length=1, max_length=MAX_ID_CHARS, description="the store integration it was sent to")
    ],
) -> Envelope[ShipmentView]:
    caller = _tenant()
    entry = router.service().shipment(caller, integrationId, shipmentId)
    return Envelope(success=True, data=shipment_view(entry))


def shipment_view(entry: PushedShipment) -> ShipmentView:
    status = entry.shown_state()
    refused = status == "refused"
    return ShipmentView(
        shipmentId=entry.shipment,
        integrationId=entry.integration_id,
        orderCode=entry.order_code,
        status=status,
        storeId=entry.provider_id,
        # A refusal's reasons go with it: a request asked again since is not refused (yet).
        reason=entry.reason if refused else None,
        reasons=entry.reasons if refused else None,
        requestedAt=entry.requested_at,
        settledAt=entry.settled_at,
        shipment=entry.record,
    )
