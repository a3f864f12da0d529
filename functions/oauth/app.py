"""OAuth: ``GET /oauth/{connector}/install`` and ``GET /oauth/{connector}/callback`` from API Gateway.

Install is guarded by the API authorizer: the tenant comes from ``requestContext.authorizer.tenantId``
and nowhere else. It answers 302 to the platform's consent page (the URL is also in the JSON body,
for clients that cannot follow a cross-site redirect). The callback is public, as the platform sends
the merchant's browser there; the signed state says which tenant it is for. It answers 200 with the
new integration, or the Integrations API's error envelope: 400 CONFIGURATION_ERROR (refused state,
declined consent, a token endpoint's refusal), 404 NOT_FOUND (no such connector), 409 CONFLICT (the
tenant has this connector already). Errors map to statuses here, in one place.

The callback's address (the ``redirect_uri``) is built from the request: scheme and host as the
client called them, plus the stage when the host is the API's own execute-api domain (a custom
domain maps the stage away).
"""

# The adapters are imported inside build_services: importing this module stays cheap, and the
# handler can be tested with the service injected before any AWS client exists.
# ruff: noqa: PLC0415

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.observability import logger, metrics, tracer
from mercator.providers.oauth_tokens import OAuthConfigurationError, TokenEndpointError
from mercator.services.oauth import (
    AuthorizationDeniedError,
    InstallRequestError,
    OAuthService,
    UnknownConnectorError,
)
from mercator.services.oauth_state import StateRejectedError
from mercator.settings import OAuthSettings
from mercator.state.models import Integration
from mercator.state.registration import IntegrationConflictError, RegistrationError

settings = OAuthSettings.from_environ()
app = APIGatewayRestResolver()
_service: OAuthService | None = None

_INSTALL = "/install"
_CALLBACK = "/callback"


def build_services(settings: OAuthSettings) -> OAuthService:
    """Wire the OAuth service to AWS; runs once per cold start, on the first request."""
    import boto3  # type: ignore[import-untyped]

    from mercator.providers.oauth_tokens import OAuthTokenClient
    from mercator.services.connectors import ConnectorCatalog
    from mercator.state.integrations import DynamoIntegrations
    from mercator.state.oauth_apps import SecretsOAuthApps
    from mercator.state.oauth_nonces import DynamoOAuthNonces
    from mercator.state.secrets import SecretsVault
    from mercator.wiring import keep_secrets_out_of_aws_logs

    # The callback writes tokens to Secrets Manager: botocore must never log those requests.
    keep_secrets_out_of_aws_logs()
    dynamodb = boto3.client("dynamodb")
    vault = SecretsVault(boto3.client("secretsmanager"))
    return OAuthService(
        connectors=ConnectorCatalog.of_deployment(settings.connectors_dir),
        apps=SecretsOAuthApps(vault),
        nonces=DynamoOAuthNonces(dynamodb, settings.state_table),
        exchange=OAuthTokenClient(),
        integrations=DynamoIntegrations(dynamodb, settings.state_table),
        vault=vault,
        signing_key=lambda: vault.secret_string(settings.state_key_secret).encode("utf-8"),
        state_ttl_seconds=settings.state_ttl_seconds,
    )


def service() -> OAuthService:
    global _service  # noqa: PLW0603 - one service per warm container, built on first use
    if _service is None:
        _service = build_services(settings)
    return _service


class MissingTenantError(Exception):
    """The request reached the function without the authorizer's tenant (a route left unguarded)."""


@app.get("/oauth/<connector>/install")
@tracer.capture_method
def install(connector: str) -> Response[dict[str, Any]]:
    event = app.current_event.raw_event
    tenant_id = _tenant(event)
    logger.append_keys(tenant_id=tenant_id, connector=connector)
    params = dict(app.current_event.query_string_parameters or {})
    url = service().install_url(tenant_id, connector, callback_uri(event), params)
    metrics.add_metric(name="OAuthInstallsStarted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.FOUND.value,
        content_type=content_types.APPLICATION_JSON,
        headers={"Location": url, "Cache-Control": "no-store"},
        body={"success": True, "data": {"url": url}},
    )


@app.get("/oauth/<connector>/callback")
@tracer.capture_method
def callback(connector: str) -> Response[dict[str, Any]]:
    logger.append_keys(connector=connector)
    query = dict(app.current_event.query_string_parameters or {})
    integration = asyncio.run(service().callback(connector, query))
    metrics.add_metric(name="OAuthInstallsCompleted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        headers={"Cache-Control": "no-store"},
        body={"success": True, "data": integration_view(integration)},
    )


def integration_view(integration: Integration) -> dict[str, str]:
    """The integration as the Integrations API shows it."""
    connected = integration.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "guid": integration.id,
        "provider": integration.connector,
        "status": integration.status,
        "connectedAt": connected,
    }


def callback_uri(event: Mapping[str, Any]) -> str:
    """The callback's absolute URL for the install ``event`` (where the platform sends the merchant)."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    context = event.get("requestContext") or {}
    host = headers.get("host") or context.get("domainName")
    if not host:
        raise InstallRequestError("the request names no host, so the callback address cannot be built")
    scheme = (headers.get("x-forwarded-proto") or "https").split(",")[0].strip().lower()
    stage = context.get("stage")
    prefix = f"/{stage}" if stage and host == context.get("domainName") else ""
    path = str(event.get("path") or "")
    if not path.endswith(_INSTALL):
        raise InstallRequestError(f"the install path {path!r} does not end in {_INSTALL}")
    return f"{scheme}://{host}{prefix}{path.removesuffix(_INSTALL)}{_CALLBACK}"


def _tenant(event: Mapping[str, Any]) -> str:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    tenant = authorizer.get("tenantId")
    if not isinstance(tenant, str) or not tenant:
        raise MissingTenantError("the request carries no authorized tenant")
    return tenant


def _error(status: HTTPStatus, code: str, message: str) -> Response[dict[str, Any]]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        headers={"Cache-Control": "no-store"},
        body={"success": False, "error": {"code": code, "message": message}},
    )


def _refusal(status: HTTPStatus, code: str) -> Callable[[Exception], Response[dict[str, Any]]]:
    def refused(error: Exception) -> Response[dict[str, Any]]:
        # The messages name tenants, connectors and hosts, never a code, token or secret.
        logger.info("OAuth request refused (%s %s): %s", status.value, code, error)
        metrics.add_metric(name="OAuthRequestsRefused", unit=MetricUnit.Count, value=1)
        return _error(status, code, str(error))

    return refused


_REFUSALS: dict[type[Exception], tuple[HTTPStatus, str]] = {
    StateRejectedError: (HTTPStatus.BAD_REQUEST, "CONFIGURATION_ERROR"),
    InstallRequestError: (HTTPStatus.BAD_REQUEST, "CONFIGURATION_ERROR"),
    AuthorizationDeniedError: (HTTPStatus.BAD_REQUEST, "CONFIGURATION_ERROR"),
    OAuthConfigurationError: (HTTPStatus.BAD_REQUEST, "CONFIGURATION_ERROR"),
    TokenEndpointError: (HTTPStatus.BAD_REQUEST, "CONFIGURATION_ERROR"),
    RegistrationError: (HTTPStatus.BAD_REQUEST, "CONFIGURATION_ERROR"),
    IntegrationConflictError: (HTTPStatus.CONFLICT, "CONFLICT"),
    UnknownConnectorError: (HTTPStatus.NOT_FOUND, "NOT_FOUND"),
    MissingTenantError: (HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED"),
}

for _kind, (_status, _code) in _REFUSALS.items():
    app.exception_handler(_kind)(_refusal(_status, _code))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
