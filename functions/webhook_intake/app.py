"""WebhookIntake: ``POST /webhooks/{integrationId}`` from API Gateway; providers' deliveries become records.

The route hands the raw request to WebhookIntake, every copy of every header included, and answers
with what it did. Refusals map to HTTP statuses here, in one place: 413 too large, 404 unknown or
disabled integration, 415 not JSON, 401 not verified (a verification header sent twice with
different values included; only the reason is logged), 400 malformed (not JSON, or nested past the
limit). Anything else is a 500, which every provider retries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mercator.domain.clock import utc_now
from mercator.domain.deliveries import IncomingDelivery, proxy_headers, raw_body
from mercator.observability import logger, metrics, tracer
from mercator.services.intake import (
    IntakeError,
    IntakeResult,
    MalformedDeliveryError,
    PayloadTooLargeError,
    UnknownIntegrationError,
    UnsupportedMediaTypeError,
    WebhookIntake,
)
from mercator.settings import WebhookSettings
from mercator.signatures.verification import VerificationError

settings = WebhookSettings.from_environ()
app = APIGatewayRestResolver()

_STATUSES: dict[type[IntakeError], HTTPStatus] = {
    PayloadTooLargeError: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnknownIntegrationError: HTTPStatus.NOT_FOUND,
    UnsupportedMediaTypeError: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    MalformedDeliveryError: HTTPStatus.BAD_REQUEST,
}


def build_services(settings: WebhookSettings) -> WebhookIntake:
    """WebhookIntake from the composition root, imported when first used so tests can inject a service."""
    from mercator.wiring.factories import webhook_intake  # noqa: PLC0415

    return webhook_intake(settings)


@functools.cache
def service() -> WebhookIntake:
    """One service per warm container, built on first use."""
    return build_services(settings)


@app.post("/webhooks/<integrationId>")
@tracer.capture_method
def receive(integrationId: str) -> Response[dict[str, Any]]:
    event = app.current_event
    delivery = IncomingDelivery(
        integration_id=integrationId,
        headers=proxy_headers(event.raw_event),
        body=_raw_body(event.body, event.is_base64_encoded),
        received_at=utc_now(),
        query=dict(event.query_string_parameters or {}),
    )
    logger.append_keys(integration_id=integrationId)
    result = service().receive(delivery, delivery.headers.get("content-type"))
    _count(result)
    body: dict[str, Any] = {"status": result.outcome.value}
    body.update({key: value for key in ("event", "code", "reason") if (value := getattr(result, key))})
    return Response(status_code=result.status, content_type=content_types.APPLICATION_JSON, body=body)


def _raw_body(body: str | None, encoded: bool | None) -> bytes:
    try:
        return raw_body(body, encoded)
    except ValueError as exc:
        raise MalformedDeliveryError(str(exc)) from None


def _count(result: IntakeResult) -> None:
    metrics.add_metric(name="WebhooksReceived", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"Webhook_{result.outcome.value}", unit=MetricUnit.Count, value=1)
    if result.resent:
        metrics.add_metric(name="WebhookAnnouncementsResent", unit=MetricUnit.Count, value=1)


def _refusal(status: HTTPStatus) -> Callable[[IntakeError], Response[dict[str, Any]]]:
    def refused(error: IntakeError) -> Response[dict[str, Any]]:
        logger.info("delivery refused (%s): %s", status.value, error)
        metrics.add_metric(name="WebhooksRefused", unit=MetricUnit.Count, value=1)
        return _error(status, str(error))

    return refused


for _kind, _status in _STATUSES.items():
    app.exception_handler(_kind)(_refusal(_status))


@app.exception_handler(VerificationError)
def unverified(error: VerificationError) -> Response[dict[str, Any]]:
    # Only the reason: never the headers or the body of an unverified request.
    logger.warning("delivery not verified: %s", error.reason)
    metrics.add_metric(name="WebhooksUnverified", unit=MetricUnit.Count, value=1)
    return _error(HTTPStatus.UNAUTHORIZED, "the delivery could not be verified")


def _error(status: HTTPStatus, message: str) -> Response[dict[str, Any]]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body={"status": "refused", "message": message},
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
