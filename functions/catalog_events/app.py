"""CatalogEvents: ``PUT /pim/{integrationId}/consume/{name}`` and ``POST /pim/{integrationId}/handshake``
from API Gateway; a PIM's catalog events, verified, validated and queued in order per entity.

Refusals map to HTTP statuses here, in one place: 404 not an active catalog-events source, 401 not
verified (only the reason is logged), 400 malformed (with the JSON path and the valid choices), 413
too large, 503 a copy being accepted right now. Anything else is a 500, which the PIM retries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.domain.deliveries import proxy_headers, raw_body
from mercator.observability import logger, metrics, tracer
from mercator.services.catalog_events import (
    CatalogEventIntake,
    CatalogIntakeResult,
    CatalogPayloadTooLargeError,
    CatalogRequest,
    CatalogRequestError,
    MalformedCatalogRequestError,
    NotACatalogSourceError,
    RequestInFlightError,
)
from mercator.settings import CatalogEventsSettings
from mercator.signatures.primitives import VerificationError

settings = CatalogEventsSettings.from_environ()
app = APIGatewayRestResolver()

_STATUSES: dict[type[CatalogRequestError], HTTPStatus] = {
    NotACatalogSourceError: HTTPStatus.NOT_FOUND,
    CatalogPayloadTooLargeError: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    RequestInFlightError: HTTPStatus.SERVICE_UNAVAILABLE,
}


def build_services(settings: CatalogEventsSettings) -> CatalogEventIntake:
    """CatalogEvents from the composition root, imported when first used so tests can inject a service."""
    from mercator.wiring.factories import catalog_events  # noqa: PLC0415

    return catalog_events(settings)


@functools.cache
def service() -> CatalogEventIntake:
    """One service per warm container, built on first use."""
    return build_services(settings)


@app.put("/pim/<integrationId>/consume/<name>")
@tracer.capture_method
def consume(integrationId: str, name: str) -> Response[dict[str, Any]]:
    logger.append_keys(integration_id=integrationId, catalog_event=name)
    result = service().receive(_request(integrationId, name))
    metrics.add_metric(name="CatalogRequestsAccepted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="CatalogEventsAccepted", unit=MetricUnit.Count, value=result.events)
    return _answer(result)


@app.post("/pim/<integrationId>/handshake")
@tracer.capture_method
def handshake(integrationId: str) -> Response[dict[str, Any]]:
    logger.append_keys(integration_id=integrationId)
    return _answer(service().handshake(_request(integrationId, "handshake")))


def _request(integration_id: str, name: str) -> CatalogRequest:
    event = app.current_event
    return CatalogRequest(
        integration_id=integration_id,
        name=name,
        headers=proxy_headers(event.raw_event),
        body=_raw_body(event.body, event.is_base64_encoded),
    )


def _answer(result: CatalogIntakeResult) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"status": result.outcome}
    if result.outcome in ("accepted", "duplicate"):
        body["events"] = result.events
    return Response(status_code=result.status.value, content_type=content_types.APPLICATION_JSON, body=body)


def _raw_body(body: str | None, encoded: bool | None) -> bytes:
    try:
        return raw_body(body, encoded)
    except ValueError as exc:
        raise MalformedCatalogRequestError(str(exc)) from None


def _refusal(status: HTTPStatus) -> Callable[[CatalogRequestError], Response[dict[str, Any]]]:
    def refused(error: CatalogRequestError) -> Response[dict[str, Any]]:
        logger.info("catalog request refused (%s): %s", status.value, error)
        metrics.add_metric(name="CatalogRequestsRefused", unit=MetricUnit.Count, value=1)
        return _error(status, {"message": str(error)})

    return refused


for _kind, _status in _STATUSES.items():
    app.exception_handler(_kind)(_refusal(_status))


@app.exception_handler(MalformedCatalogRequestError)
def malformed(error: MalformedCatalogRequestError) -> Response[dict[str, Any]]:
    logger.info("catalog request refused (400): %s", error)
    metrics.add_metric(name="CatalogRequestsRefused", unit=MetricUnit.Count, value=1)
    return _error(
        HTTPStatus.BAD_REQUEST, {"message": str(error), "path": error.path, "valid": list(error.valid)}
    )


@app.exception_handler(VerificationError)
def unverified(error: VerificationError) -> Response[dict[str, Any]]:
    # Only the reason: never the token or the body of an unverified request.
    logger.warning("catalog request not verified: %s", error.reason)
    metrics.add_metric(name="CatalogRequestsUnverified", unit=MetricUnit.Count, value=1)
    return _error(HTTPStatus.UNAUTHORIZED, {"message": "the request could not be verified"})


def _error(status: HTTPStatus, detail: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body={"status": "refused", **detail},
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
