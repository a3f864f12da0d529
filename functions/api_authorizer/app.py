"""ApiAuthorizer: the Integrations API's REQUEST authorizer; a tenant's API key in, an IAM policy out.

``Authorization: Bearer mk_<key id>.<secret>`` names the tenant: a valid key gets an Allow policy on
every method of the API's stage, so API Gateway's authorizer cache serves the tenant's other routes
too, with context ``{"tenantId": ...}``, the only place the API functions read the tenant from. A
well-formed key that is unknown, revoked or has the wrong secret gets a Deny policy (403). A missing
header, another scheme, or a token that is no Mercator key raises ``Unauthorized``, API Gateway's
convention for 401. Log lines name the key id, never the key or its secret.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.observability import logger
from mercator.settings import AuthorizerSettings
from mercator.state.api_keys import DynamoApiKeys, key_id_of

settings = AuthorizerSettings.from_environ()

_SCHEME = "bearer"
UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway turns into 401


def build_services(settings: AuthorizerSettings) -> DynamoApiKeys:
    """Wire the key store to AWS; runs once per cold start, on the first request."""
    from mercator.wiring.factories import api_keys  # noqa: PLC0415 - AWS clients only when first used

    return api_keys(settings)


@functools.cache
def keys() -> DynamoApiKeys:
    return build_services(settings)


def bearer_key(request: APIGatewayAuthorizerRequestEvent) -> str | None:
    """The Mercator API key in an ``Authorization: Bearer`` header (any spelling of the name), or None."""
    # Headers are read case-insensitively; of two spellings of the name, the last one sent counts.
    value = request.headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != _SCHEME or key_id_of(token) is None:
        return None
    return token


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayAuthorizerRequestEvent(event)
    presented = bearer_key(request)
    if presented is None:
        logger.info("request without a Mercator API key", path=request.path, method=request.http_method)
        raise Exception(UNAUTHORIZED)  # API Gateway matches the message, whatever the type
    key_id = key_id_of(presented)
    tenant_id = keys().verify(presented)
    arn = request.parsed_arn
    response = APIGatewayAuthorizerResponse(
        principal_id=str(key_id),
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=None if tenant_id is None else {"tenantId": tenant_id},
        partition=arn.partition,
    )
    if tenant_id is None:
        logger.warning("API key refused: unknown, revoked or a wrong secret", key_id=key_id)
        response.deny_all_routes()
    else:
        logger.info("API key accepted", key_id=key_id, tenant_id=tenant_id)
        response.allow_all_routes()
    return response.asdict()
