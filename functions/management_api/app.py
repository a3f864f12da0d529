"""ManagementApi: the Integrations API (``seeds/004``) behind API Gateway and its API-key authorizer.

Each route validates its request with the models of ``mercator.api.schemas``, reads the caller's
tenant from ``requestContext.authorizer.tenantId`` (never from the body, the path or a header) and
makes one call into ManagementService. Besides the seed's routes, ``GET /api/integrations`` lists
the caller's integrations. Refusals become the error envelope here, in one place: 404 NOT_FOUND, 400
CONFIGURATION_ERROR (an invalid request names the field), 409 CONFLICT, 413 REQUEST_TOO_LARGE and 415
UNSUPPORTED_MEDIA_TYPE (a body past the limits of ``mercator.api.request_checks``, or not JSON: refused before
it is parsed), 401 when no tenant came through the authorizer, 500 INTERNAL_ERROR for anything
unexpected, never for a request's own mistake. ``GET /api/openapi.json`` serves the OpenAPI document
the resolver generates from these routes.

The configure request carries credentials: the event is never logged, and neither are request bodies.
"""

# The adapters are imported inside build_services: importing this module stays cheap, and the
# handler can be tested with the service injected before any AWS client exists.
# ruff: noqa: PLC0415
# No ``from __future__ import annotations``: the resolver reads the routes' annotations as objects.

import json
from http import HTTPStatus
from typing import Annotated, Any

import httpx
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as NoRouteError
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.api.openapi import (
    BODY_ERRORS,
    OPENAPI_INFO,
    documented,
    openapi_document,
    validation_message,
)
from mercator.api.request_checks import (
    JSON_MEDIA_TYPE,
    MAX_ID_CHARS,
    BodyTooLargeError,
    MalformedBodyError,
    UnsupportedMediaTypeError,
    check_body,
    read_json_body,
)
from mercator.api.schemas import (
    ConfiguredWorkflow,
    ConfigureIntegrationRequest,
    ConfigureWorkflowRequest,
    DisabledIntegration,
    Done,
    Envelope,
    ErrorCode,
    IntegrationSummary,
    IntegrationView,
    ResumedExecution,
    SavePushSubscriptionRequest,
    ToggledWorkflow,
    TriggerView,
    WorkflowSummary,
)
from mercator.observability import logger, metrics, tracer
from mercator.services.management import (
    ConfigurationError,
    ConflictError,
    ManagementService,
    NotFoundError,
)
from mercator.settings import ManagementSettings
from mercator.wiring import keep_secrets_out_of_aws_logs


class JsonBodies(OpenAPIRequestValidationMiddleware):
    """The resolver's request validation, reading a body as JSON only and within the limits.

    The body is checked (content type, size) before it is decoded or parsed, then read by the
    bounded JSON reader; form and multipart bodies are refused like any other non-JSON body.
    """

    def _get_body(self, app: Any) -> Any:
        event = app.current_event
        check_body(event.headers.get("content-type"), event.body, base64_encoded=event.is_base64_encoded)
        return event.json_body  # decoded, then read by read_json_body


settings = ManagementSettings.from_environ()
keep_secrets_out_of_aws_logs()  # configure requests carry credentials into Secrets Manager
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=read_json_body)
# The resolver runs its request validation first, before any middleware of ours: replaced here.
app._request_validation_middleware = JsonBodies()
_service: ManagementService | None = None
PathParameter = Annotated[str, Path(max_length=MAX_ID_CHARS)]  # an id or a name: as long as a key


class MissingTenantError(Exception):
    """The request reached the function without a tenant from the authorizer."""


def build_services(settings: ManagementSettings) -> ManagementService:
    """Wire the Integrations API to AWS; runs once per cold start, on the first request."""
    from mercator.wiring import management_service

    return management_service(settings)


def service() -> ManagementService:
    global _service  # noqa: PLW0603 - one service per warm container, built on first use
    if _service is None:
        _service = build_services(settings)
    return _service


def tenant() -> str:
    """The caller's tenant, as the authorizer put it in the request context; nowhere else."""
    authorizer = app.current_event.raw_event.get("requestContext", {}).get("authorizer") or {}
    found = authorizer.get("tenantId") if isinstance(authorizer, dict) else None
    if not isinstance(found, str) or not found:
        raise MissingTenantError
    logger.append_keys(tenant_id=found)
    return found


# Integrations


@app.get("/api/integrations", responses=documented(list[IntegrationSummary]))
@tracer.capture_method
def list_integrations() -> Envelope[list[IntegrationSummary]]:
    caller = tenant()
    integrations = service().integrations(caller)
    return Envelope(success=True, data=[IntegrationSummary.of(integration) for integration in integrations])


@app.post(
    "/api/integrations/provider/configure", responses=documented(IntegrationView, 404, 409, *BODY_ERRORS)
)
@tracer.capture_method(capture_response=False)
def configure_integration(
    request: Annotated[ConfigureIntegrationRequest, Body()],
) -> Envelope[IntegrationView]:
    caller = tenant()
    integration = service().configure(caller, request)
    metrics.add_metric(name="IntegrationsConfigured", unit=MetricUnit.Count, value=1)
    return Envelope(success=True, data=IntegrationView.of(integration))


@app.route(
    "/api/integrations/provider/disable/<id>",
    method=["GET", "POST"],
    responses=documented(DisabledIntegration, 400, 404),
)
@tracer.capture_method
def disable_integration(id: PathParameter) -> Envelope[DisabledIntegration]:
    caller = tenant()
    integration = service().disable(caller, id)
    return Envelope(success=True, data=DisabledIntegration(guid=integration.id, status="disabled"))


@app.delete("/api/integrations/providers/ecommerce/remove/<id>", responses=documented(None, 400, 404))
@tracer.capture_method
def remove_integration(
    id: PathParameter,
    purge: Annotated[bool, Query(description="also delete the records the integration wrote")] = False,
) -> Done:
    caller = tenant()
    service().remove(caller, id, purge=purge)
    metrics.add_metric(name="IntegrationsRemoved", unit=MetricUnit.Count, value=1)
    return Done(success=True)


@app.post("/api/integrations/save-vapid-subscription", responses=documented(None, *BODY_ERRORS))
@tracer.capture_method
def save_push_subscription(request: Annotated[SavePushSubscriptionRequest, Body()]) -> Done:
    caller = tenant()
    service().save_push_subscription(caller, request)
    return Done(success=True)


# Workflows


@app.get("/api/workflows/triggers/<entityType>", responses=documented(list[TriggerView], 400, 404))
@tracer.capture_method
def workflow_triggers(entityType: PathParameter) -> Envelope[list[TriggerView]]:
    caller = tenant()
    options = service().triggers(caller, entityType)
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


@app.get("/api/workflows/<entityType>/configured", responses=documented(list[WorkflowSummary], 400, 404))
@tracer.capture_method
def configured_workflows(
    entityType: PathParameter,
    managed: Annotated[bool, Query(description="include managed workflows")] = False,
) -> Envelope[list[WorkflowSummary]]:
    caller = tenant()
    workflows = service().workflows(caller, entityType, include_managed=managed)
    return Envelope(success=True, data=[WorkflowSummary.of(workflow) for workflow in workflows])


@app.post("/api/workflows/configure", responses=documented(ConfiguredWorkflow, 404, *BODY_ERRORS))
@tracer.capture_method
def configure_workflow(request: Annotated[ConfigureWorkflowRequest, Body()]) -> Envelope[ConfiguredWorkflow]:
    caller = tenant()
    workflow = service().configure_workflow(caller, request)
    return Envelope(
        success=True,
        data=ConfiguredWorkflow(guid=workflow.guid, name=workflow.name, isActive=workflow.is_active),
    )


@app.get("/api/workflows/configured/<guid>/toggle", responses=documented(ToggledWorkflow, 400, 404))
@tracer.capture_method
def toggle_workflow(guid: PathParameter) -> Envelope[ToggledWorkflow]:
    caller = tenant()
    workflow = service().toggle_workflow(caller, guid)
    return Envelope(success=True, data=ToggledWorkflow(guid=workflow.guid, isActive=workflow.is_active))


@app.delete("/api/workflows/configured/<guid>", responses=documented(None, 400, 404))
@tracer.capture_method
def delete_workflow(guid: PathParameter) -> Done:
    caller = tenant()
    service().delete_workflow(caller, guid)
    return Done(success=True)


@app.get("/api/workflows/resume-workflow", responses=documented(ResumedExecution, 400, 404, 409))
@tracer.capture_method
def resume_workflow(
    workflowId: Annotated[
        str, Query(min_length=1, max_length=MAX_ID_CHARS, description="the paused execution's id")
    ],
) -> Envelope[ResumedExecution]:
    caller = tenant()
    execution = service().resume(caller, workflowId)
    return Envelope(success=True, data=ResumedExecution.of(execution))


@app.get("/api/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(openapi_document(app.get_openapi_json_schema(**OPENAPI_INFO))),
    )


# Refusals: the error envelope, in one place


def _error(status: HTTPStatus, code: ErrorCode, message: str) -> Response[dict[str, Any]]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body={"success": False, "error": {"code": code, "message": message}},
    )


@app.exception_handler(NotFoundError)
def not_found(error: NotFoundError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.NOT_FOUND, "NOT_FOUND", str(error))


@app.not_found
def no_route(error: NoRouteError) -> Response[dict[str, Any]]:
    # API Gateway matched the resource, but a path parameter holds characters the resolver's routes
    # never match (a symbol such as "¤"): nothing is there, which is a 404, not the catch-all's 500.
    return _error(HTTPStatus.NOT_FOUND, "NOT_FOUND", "Not found")


@app.exception_handler(ConfigurationError)
def misconfigured(error: ConfigurationError) -> Response[dict[str, Any]]:
    logger.info("request refused: %s", error)
    return _error(HTTPStatus.BAD_REQUEST, "CONFIGURATION_ERROR", str(error))


@app.exception_handler(RequestValidationError)
def invalid(error: RequestValidationError) -> Response[dict[str, Any]]:
    # Built from where and what, never from the values sent: they may be credentials.
    return _error(HTTPStatus.BAD_REQUEST, "CONFIGURATION_ERROR", validation_message(error.errors()))


@app.exception_handler(MalformedBodyError)
def malformed(error: MalformedBodyError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.BAD_REQUEST, "CONFIGURATION_ERROR", f"invalid request: {error}")


@app.exception_handler(BodyTooLargeError)
def too_large(error: BodyTooLargeError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "REQUEST_TOO_LARGE", str(error))


@app.exception_handler(UnsupportedMediaTypeError)
def not_json(error: UnsupportedMediaTypeError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", str(error))


@app.exception_handler(RequestUnsupportedContentType)
def unsupported(error: RequestUnsupportedContentType) -> Response[dict[str, Any]]:
    # The resolver's own refusal of a content type, should its validation read a body after all.
    return _error(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        f"send the body as JSON with Content-Type: {JSON_MEDIA_TYPE}",
    )


@app.exception_handler(UnicodeDecodeError)
def undecodable(error: UnicodeDecodeError) -> Response[dict[str, Any]]:
    # A body API Gateway passed on base64-encoded that is not UTF-8 text cannot be JSON.
    return _error(
        HTTPStatus.BAD_REQUEST, "CONFIGURATION_ERROR", validation_message([{"type": "json_invalid"}])
    )


@app.exception_handler(httpx.InvalidURL)
def unusable_url(error: httpx.InvalidURL) -> Response[dict[str, Any]]:
    # Configuring builds the store's URL from settings.baseUrl or the credentials (storeUrl,
    # shopDomain); the provider client refuses one it cannot request (a host that is no valid
    # internationalised domain name). Not quoted: it is made from the credentials.
    return _error(
        HTTPStatus.BAD_REQUEST,
        "CONFIGURATION_ERROR",
        "the store's URL, made from settings.baseUrl or the credentials, is not a URL that can be requested",
    )


@app.exception_handler(ConflictError)
def conflict(error: ConflictError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.CONFLICT, "CONFLICT", str(error))


@app.exception_handler(MissingTenantError)
def no_tenant(error: MissingTenantError) -> Response[dict[str, Any]]:
    logger.error("a request reached the Integrations API without a tenant from the authorizer")
    return _error(HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "the request carries no tenant")


@app.exception_handler(Exception)
def failed(error: Exception) -> Response[dict[str, Any]]:
    logger.exception("the request failed: %s", type(error).__name__)
    metrics.add_metric(name="ManagementRequestsFailed", unit=MetricUnit.Count, value=1)
    return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "the request could not be completed")


@logger.inject_lambda_context(clear_state=True, log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="ManagementRequests", unit=MetricUnit.Count, value=1)
    return app.resolve(event, context)
