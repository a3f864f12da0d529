"""The resolver both Mercator API functions answer through, and the one table of their refusals.

``api_resolver`` makes the API Gateway (REST) resolver of the Integrations API and of OAuth installs;
their routes are ``ServiceRouter``s (mercator.routes.integration_routes and oauth_routes) that a
handler includes, and ``ServiceRouter.service()`` is the service the handler gave the resolver.
Requests are validated against the routes' annotations; a body is checked (content type, size)
before it is decoded, then read by the bounded JSON reader of ``mercator.api.request_checks``.

Every failure answers ``{"success": false, "error": {"code", "message"}}`` with ``Cache-Control:
no-store``. ``REFUSALS`` maps each exception a request can meet, once, to its status and code: the
nearest class in the exception's MRO decides. A path no route matches is 404 NOT_FOUND; an exception
the table does not name is 500 INTERNAL_ERROR, its traceback logged. Each refusal is logged at
INFO (a missing tenant at ERROR: a route was left unguarded) with the message it answers, which never
quotes what a request sent as a secret, and counted as ``<prefix>RequestsRefused``; failures as
``<prefix>RequestsFailed``.

The caller's tenant is read from ``requestContext.authorizer.tenantId`` only (``tenant_of``): never
from the body, the path, the query or a header.
"""

# No ``from __future__ import annotations``: Powertools reads route annotations as objects.

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from http import HTTPStatus
from typing import Any, Generic, TypeVar, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as NoRouteError
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from mercator.api.openapi import validation_message
from mercator.api.request_checks import (
    JSON_MEDIA_TYPE,
    BodyTooLargeError,
    MalformedBodyError,
    UnsupportedMediaTypeError,
    check_body,
    read_json_body,
)
from mercator.api.schemas import ErrorCode, IntegrationView
from mercator.domain.entities import Integration
from mercator.domain.oauth_installs import OAuthConfigurationError, TokenEndpointError
from mercator.domain.provider_errors import StoreAddressError
from mercator.observability import logger, metrics
from mercator.services.management import ConfigurationError, ConflictError, NotFoundError
from mercator.services.oauth import (
    AuthorizationDeniedError,
    InstallRequestError,
    InstallSessionError,
    UnknownConnectorError,
)
from mercator.services.oauth_state import StateRejectedError
from mercator.services.registration import IntegrationConflictError, RegistrationError

Service = TypeVar("Service")

NO_TENANT = "the request carries no tenant"


class MissingTenantError(Exception):
    """The request reached an API function without a tenant from the authorizer."""


class JsonBodies(OpenAPIRequestValidationMiddleware):
    """The resolver's request validation, reading a body as JSON only and within the limits.

    The body is checked (content type, size) before it is decoded or parsed, then read by the
    bounded JSON reader; form and multipart bodies are refused like any other non-JSON body.
    """

    def _get_body(self, app: Any) -> Any:
        event = app.current_event
        check_body(event.headers.get("content-type"), event.body, base64_encoded=event.is_base64_encoded)
        return event.json_body  # decoded, then read by read_json_body


class ApiResolver(APIGatewayRestResolver):
    """The resolver of one API function, holding what builds that function's service."""

    def __init__(self, service: Callable[[], object]) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=read_json_body)
        # The resolver runs its request validation before any middleware of ours: replaced, not added.
        self._request_validation_middleware = JsonBodies()  # type: ignore[no-untyped-call]
        self.service = service


class ServiceRouter(APIGatewayRouter, Generic[Service]):
    """Routes that call one service: the one of the ApiResolver that includes them."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated

    def service(self) -> Service:
        resolver = self.api_resolver
        if not isinstance(resolver, ApiResolver):
            raise TypeError("these routes answer only through a resolver made by api_resolver()")
        # The handler pairs each router with the service its routes were written for.
        return cast(Service, resolver.service())


def tenant_of(event: Mapping[str, Any], *, message: str = NO_TENANT) -> str:
    """The caller's tenant, as the authorizer put it in the request context; nowhere else.

    ``message`` is what the 401 says when there is none.
    """
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    found = authorizer.get("tenantId") if isinstance(authorizer, Mapping) else None
    if not isinstance(found, str) or not found:
        raise MissingTenantError(message)
    logger.append_keys(tenant_id=found)
    return found


def integration_view(integration: Integration) -> dict[str, Any]:
    """The integration as a completed OAuth install answers it: IntegrationView's fields, in JSON.

    ``connectedAt`` is given to the second, in UTC, as OAuth has always answered it.
    """
    connected = integration.created_at.astimezone(UTC).replace(microsecond=0)
    view = IntegrationView(
        guid=integration.id, provider=integration.connector, status=integration.status, connectedAt=connected
    )
    return view.model_dump(mode="json")


# Refusals


def _said(message: str) -> Callable[[Exception], str]:
    return lambda _error: message


def _invalid_request(error: Exception) -> str:
    # Built from where and what, never from the values sent: they may be credentials.
    return validation_message(cast(RequestValidationError, error).errors())


@dataclass(frozen=True)
class Refusal:
    """How the API answers an exception: status, error code, and the message made from it."""

    status: HTTPStatus
    code: ErrorCode
    message: Callable[[Exception], str] = str
    alarming: bool = False  # logged at ERROR: the deployment, not the caller, is at fault


_BAD = HTTPStatus.BAD_REQUEST
_CONFIGURATION: ErrorCode = "CONFIGURATION_ERROR"

REFUSALS: Mapping[type[Exception], Refusal] = {
    # The request itself, refused before any service is called
    NoRouteError: Refusal(
        # Also a path parameter holding characters no route matches (a symbol such as "¤") where API
        # Gateway matched the resource: nothing is there, which is a 404, not the catch-all's 500.
        HTTPStatus.NOT_FOUND,
        "NOT_FOUND",
        _said("Not found"),
    ),
    RequestValidationError: Refusal(_BAD, _CONFIGURATION, _invalid_request),
    MalformedBodyError: Refusal(_BAD, _CONFIGURATION, lambda error: f"invalid request: {error}"),
    UnicodeDecodeError: Refusal(
        # A body API Gateway passed on base64-encoded that is not UTF-8 text cannot be JSON.
        _BAD,
        _CONFIGURATION,
        _said(validation_message([{"type": "json_invalid"}])),
    ),
    BodyTooLargeError: Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "REQUEST_TOO_LARGE"),
    UnsupportedMediaTypeError: Refusal(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE"),
    RequestUnsupportedContentType: Refusal(
        # The resolver's own refusal of a content type, should its validation read a body after all.
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        _said(f"send the body as JSON with Content-Type: {JSON_MEDIA_TYPE}"),
    ),
    MissingTenantError: Refusal(HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", alarming=True),
    # The Integrations API's service
    NotFoundError: Refusal(HTTPStatus.NOT_FOUND, "NOT_FOUND"),
    ConfigurationError: Refusal(_BAD, _CONFIGURATION),
    ConflictError: Refusal(HTTPStatus.CONFLICT, "CONFLICT"),
    StoreAddressError: Refusal(
        # Configuring builds the store's URL from settings.baseUrl or the credentials. Not quoted: it
        # is made from the credentials.
        _BAD,
        _CONFIGURATION,
        _said(
            "the store's URL, made from settings.baseUrl or the credentials, is not a URL that can be "
            "requested"
        ),
    ),
    # OAuth installs
    UnknownConnectorError: Refusal(HTTPStatus.NOT_FOUND, "NOT_FOUND"),
    StateRejectedError: Refusal(_BAD, _CONFIGURATION),
    InstallSessionError: Refusal(HTTPStatus.FORBIDDEN, "FORBIDDEN"),  # a StateRejectedError
    InstallRequestError: Refusal(_BAD, _CONFIGURATION),
    AuthorizationDeniedError: Refusal(_BAD, _CONFIGURATION),
    OAuthConfigurationError: Refusal(_BAD, _CONFIGURATION),
    RegistrationError: Refusal(_BAD, _CONFIGURATION),
    TokenEndpointError: Refusal(_BAD, _CONFIGURATION),
    IntegrationConflictError: Refusal(HTTPStatus.CONFLICT, "CONFLICT"),  # a RegistrationError
}


def envelope(status: HTTPStatus, code: ErrorCode, message: str) -> Response[dict[str, Any]]:
    """The error envelope every refusal and failure answers."""
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        headers={"Cache-Control": "no-store"},
        body={"success": False, "error": {"code": code, "message": message}},
    )


def _answering(refusal: Refusal, metric: str) -> Callable[[Exception], Response[dict[str, Any]]]:
    def refused(error: Exception) -> Response[dict[str, Any]]:
        message = refusal.message(error)
        log = logger.error if refusal.alarming else logger.info
        log("request refused (%s %s): %s", refusal.status.value, refusal.code, message)
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        return envelope(refusal.status, refusal.code, message)

    return refused


def _failing(metric: str) -> Callable[[Exception], Response[dict[str, Any]]]:
    def failed(error: Exception) -> Response[dict[str, Any]]:
        logger.exception("the request failed: %s", type(error).__name__)
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        return envelope(
            HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "the request could not be completed"
        )

    return failed


def api_resolver(service: Callable[[], object], *, metric_prefix: str) -> ApiResolver:
    """A resolver answering every exception from ``REFUSALS``; ``service`` is called whenever a route
    needs the service (the handler caches what it builds), ``metric_prefix`` names the function's metrics
    (``ManagementRequestsFailed``)."""
    app = ApiResolver(service)
    for kind, refusal in REFUSALS.items():
        app.exception_handler(kind)(_answering(refusal, f"{metric_prefix}RequestsRefused"))
    app.exception_handler(Exception)(_failing(f"{metric_prefix}RequestsFailed"))
    return app
