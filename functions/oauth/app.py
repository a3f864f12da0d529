"""OAuth: ``GET /oauth/{connector}/install``, ``/start`` and ``/callback`` from API Gateway.

Install is guarded by the API authorizer: the tenant comes from ``requestContext.authorizer.tenantId``
and nowhere else. It prepares the install and answers Mercator's start address, as 302 and in the JSON
body (``data.url``): the tenant's application sends the merchant's browser there. Start is public:
the browser that opens it gets the install cookie (a random session value; HttpOnly, Secure,
SameSite=Lax, on the callback's path only, for the state's remaining lifetime) and a 302 to the
platform's consent page. The callback is public, as the platform sends the merchant's browser there;
the signed state says which tenant it is for, and the cookie must be the one start set in that
browser. It answers 200 with the new integration, or the Integrations API's error envelope: 400
CONFIGURATION_ERROR (refused state, declined consent, a token endpoint's refusal, OAuth not
configured), 403 FORBIDDEN (the callback's browser is not the one that started the install, or a
second browser opened the start address), 404 NOT_FOUND (no such connector), 409 CONFLICT (the tenant
has this connector already). Errors map to statuses here, in one place.

Every address (the start address, the callback's ``redirect_uri`` and the cookie's path) comes from
``OAUTH_BASE_URL``; no request header (Host, X-Forwarded-*) is read for it.
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
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.domain.entities import Integration
from mercator.domain.oauth_apps import OAuthConfigurationError
from mercator.observability import logger, metrics, tracer
from mercator.providers.oauth_tokens import TokenEndpointError
from mercator.services.oauth import (
    AuthorizationDeniedError,
    InstallRequestError,
    InstallSessionError,
    OAuthService,
    UnknownConnectorError,
)
from mercator.services.oauth_state import StateRejectedError
from mercator.services.registration import IntegrationConflictError, RegistrationError
from mercator.settings import OAuthSettings

settings = OAuthSettings.from_environ()
app = APIGatewayRestResolver()
_service: OAuthService | None = None

# The install cookie: the __Secure- prefix makes browsers keep it only when set Secure over https.
SESSION_COOKIE = "__Secure-mercator-oauth"


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
        base_url=settings.base_url,
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
    url = service().install_url(tenant_id, connector, params)
    metrics.add_metric(name="OAuthInstallsStarted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.FOUND.value,
        content_type=content_types.APPLICATION_JSON,
        headers={"Location": url, "Cache-Control": "no-store"},
        body={"success": True, "data": {"url": url}},
    )


@app.get("/oauth/<connector>/start")
@tracer.capture_method(capture_response=False)  # the answer sets the install cookie
def start(connector: str) -> Response[str]:
    logger.append_keys(connector=connector)
    query = app.current_event.query_string_parameters or {}
    started = service().start(connector, query.get("state", ""))
    cookie = Cookie(
        name=SESSION_COOKIE,
        value=started.session,
        path=urlsplit(started.redirect_uri).path,
        secure=True,
        http_only=True,
        max_age=started.max_age,
        same_site=SameSite.LAX_MODE,
    )
    metrics.add_metric(name="OAuthInstallsOpened", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.FOUND.value,
        content_type=content_types.TEXT_PLAIN,
        headers={"Location": started.authorize_url, "Cache-Control": "no-store"},
        cookies=[cookie],
        body="",
    )


@app.get("/oauth/<connector>/callback")
@tracer.capture_method(capture_response=False)
def callback(connector: str) -> Response[dict[str, Any]]:
    logger.append_keys(connector=connector)
    query = dict(app.current_event.query_string_parameters or {})
    sessions = cookie_values(app.current_event.raw_event, SESSION_COOKIE)
    integration = asyncio.run(service().callback(connector, query, sessions))
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


def cookie_values(event: Mapping[str, Any], name: str) -> list[str]:
    """The values of every cookie named ``name`` in the request's Cookie header(s), in order."""
    multi = event.get("multiValueHeaders") or {}
    headers = [value for key, values in multi.items() if key.lower() == "cookie" for value in values or []]
    if not headers:
        single = event.get("headers") or {}
        headers = [value for key, value in single.items() if key.lower() == "cookie" and value]
    found = []
    for header in headers:
        for pair in str(header).split(";"):
            key, sep, value = pair.strip().partition("=")
            if sep and key.strip() == name:
                found.append(value.strip())
    return found


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
    InstallSessionError: (HTTPStatus.FORBIDDEN, "FORBIDDEN"),
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
@tracer.capture_lambda_handler(capture_response=False)  # start's answer sets the install cookie
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
