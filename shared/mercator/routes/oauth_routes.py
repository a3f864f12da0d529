"""OAuth installs: ``GET /oauth/{connector}/install``, ``/start`` and ``/callback``, calls into OAuthService.

Install is guarded by the API authorizer: the tenant comes from ``requestContext.authorizer.tenantId``
and nowhere else. It prepares the install and answers Mercator's start address, as 302 and in the JSON
body (``data.url``): the tenant's application sends the merchant's browser there. Start is public:
the browser that opens it gets the install cookie (a random session value; HttpOnly, Secure,
SameSite=Lax, on the callback's path only, for the state's remaining lifetime) and a 302 to the
platform's consent page. The callback is public, as the platform sends the merchant's browser there;
the signed state says which tenant it is for, and the cookie must be the one start set in that
browser. It answers 200 with the new integration, or the Integrations API's error envelope from the
resolver (mercator.routes.resolver): 400 CONFIGURATION_ERROR (refused state, declined consent, a token
endpoint's refusal, OAuth not configured), 403 FORBIDDEN (the callback's browser is not the one that
started the install, or a second browser opened the start address), 404 NOT_FOUND (no such
connector), 409 CONFLICT (the tenant has this connector already), 401 UNAUTHORIZED (install without
the authorizer's tenant), 500 INTERNAL_ERROR for anything unexpected. Every answer is sent
``Cache-Control: no-store``.

Every address (the start address, the callback's ``redirect_uri`` and the cookie's path) comes from
the service's configured base (``OAUTH_BASE_URL``); no request header (Host, X-Forwarded-*) is read
for it.
"""

# No ``from __future__ import annotations``: the resolver reads the routes' annotations as objects.

import asyncio
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from mercator.observability import logger, metrics, tracer
from mercator.routes.resolver import ServiceRouter, integration_view, tenant_of
from mercator.services.oauth import OAuthService

router: ServiceRouter[OAuthService] = ServiceRouter()

# The install cookie: the __Secure- prefix makes browsers keep it only when set Secure over https.
SESSION_COOKIE = "__Secure-mercator-oauth"
# OAuth has always worded a missing tenant so; its clients may match on it.
NO_AUTHORIZED_TENANT = "the request carries no authorized tenant"


@router.get("/oauth/<connector>/install")
@tracer.capture_method
def install(connector: str) -> Response[dict[str, Any]]:
    tenant_id = tenant_of(router.current_event.raw_event, message=NO_AUTHORIZED_TENANT)
    logger.append_keys(connector=connector)
    params = dict(router.current_event.query_string_parameters or {})
    url = router.service().install_url(tenant_id, connector, params)
    metrics.add_metric(name="OAuthInstallsStarted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.FOUND.value,
        content_type=content_types.APPLICATION_JSON,
        headers={"Location": url, "Cache-Control": "no-store"},
        body={"success": True, "data": {"url": url}},
    )


@router.get("/oauth/<connector>/start")
@tracer.capture_method(capture_response=False)  # the answer sets the install cookie
def start(connector: str) -> Response[str]:
    logger.append_keys(connector=connector)
    query = router.current_event.query_string_parameters or {}
    started = router.service().start(connector, query.get("state", ""))
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


@router.get("/oauth/<connector>/callback")
@tracer.capture_method(capture_response=False)
def callback(connector: str) -> Response[dict[str, Any]]:
    logger.append_keys(connector=connector)
    query = dict(router.current_event.query_string_parameters or {})
    sessions = cookie_values(router.current_event.raw_event, SESSION_COOKIE)
    integration = asyncio.run(router.service().callback(connector, query, sessions))
    metrics.add_metric(name="OAuthInstallsCompleted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        headers={"Cache-Control": "no-store"},
        body={"success": True, "data": integration_view(integration)},
    )


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
