"""ManagementApi: the Integrations API (``seeds/004``) behind API Gateway and its API-key authorizer.

The routes are mercator.routes.integration_routes, answered through the resolver of
mercator.routes.resolver: request validation, the tenant from the authorizer only, the error envelope.
``GET /api/openapi.json`` serves the OpenAPI document the resolver generates from those routes.
The service is built on the first request that needs it, once per container.

The configure request carries credentials: the event is never logged, and neither are request bodies.
"""

# No ``from __future__ import annotations``: the resolver reads the routes' annotations as objects.

import functools
import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.api.openapi import OPENAPI_INFO, openapi_document
from mercator.observability import logger, metrics, tracer
from mercator.routes import integration_routes
from mercator.routes.resolver import api_resolver
from mercator.services.management import ManagementService
from mercator.settings import ManagementSettings

settings = ManagementSettings.from_environ()


def build_services(settings: ManagementSettings) -> ManagementService:
    """Wire the Integrations API to AWS; runs once per cold start, on the first request."""
    from mercator.wiring.factories import management_api  # noqa: PLC0415 - AWS clients only when first used

    return management_api(settings)


@functools.cache
def service() -> ManagementService:
    return build_services(settings)


app = api_resolver(service, metric_prefix="Management")
app.include_router(integration_routes.router)


@app.get("/api/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(openapi_document(app.get_openapi_json_schema(**OPENAPI_INFO))),
    )


@logger.inject_lambda_context(clear_state=True, log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="ManagementRequests", unit=MetricUnit.Count, value=1)
    return app.resolve(event, context)
