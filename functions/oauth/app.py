"""OAuth: ``GET /oauth/{connector}/install``, ``/start`` and ``/callback`` from API Gateway.

The routes are mercator.routes.oauth_routes, answered through the resolver of
mercator.routes.resolver, the Integrations API's: the same tenant reading, exception table and error
envelope. The service is built on the first request that needs it, once per container; every address
it answers comes from ``OAUTH_BASE_URL``.
"""

import functools
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.observability import logger, metrics, tracer
from mercator.routes import oauth_routes
from mercator.routes.resolver import api_resolver
from mercator.services.oauth import OAuthService
from mercator.settings import OAuthSettings

settings = OAuthSettings.from_environ()


def build_services(settings: OAuthSettings) -> OAuthService:
    """Wire the OAuth service to AWS; runs once per cold start, on the first request."""
    from mercator.wiring.factories import oauth  # noqa: PLC0415 - AWS clients only when first used

    return oauth(settings)


@functools.cache
def service() -> OAuthService:
    return build_services(settings)


app = api_resolver(service, metric_prefix="OAuth")
app.include_router(oauth_routes.router)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)  # start's answer sets the install cookie
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
