"""The WebhookIntake handler against hostile or unlucky deliveries: the answer each gets, and that a
platform retrying it would change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from mercator.connector import load_shipped
from mercator.domain.clock import utc_now
from mercator_local.webhook_events import SAMPLE_CREDENTIALS, delivery_event
from mercator_local.webhook_signing import signed_headers
from tests.fake_aws import use_fake_aws
from tests.unit.functions.conftest import Loader
from tests.unit.functions.test_webhook_intake import INTEGRATIONS, WEBHOOK_ENV, Context
from tests.unit.services.intake_world import World, intake_world

ORDER = load_shipped("shopify").resolve("samples/shopify/orders_create.json").read_bytes()
SIGNATURE = "x-shopify-hmac-sha256"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    use_fake_aws(monkeypatch, "eu-west-1")
    with intake_world(dict(SAMPLE_CREDENTIALS), INTEGRATIONS) as built:
        yield built


@pytest.fixture
def app(load_app: Loader, world: World) -> ModuleType:
    module = load_app("webhook_intake", WEBHOOK_ENV)
    module.build_services = lambda settings: world.intake
    return module


def _call(app: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = app.lambda_handler(event, Context())
    return response["statusCode"], json.loads(response["body"])


def _shopify(body: bytes) -> dict[str, Any]:
    """A signed orders/create delivery as API Gateway hands it over."""
    definition = load_shipped("shopify")
    assert definition.webhook is not None
    signed = signed_headers(definition.webhook.verification, SAMPLE_CREDENTIALS, body, now=utc_now())
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Event-Id": "evt-1", **signed}
    return delivery_event("shopify-demo", body, headers)


def _with_copies(event: dict[str, Any], header: str, copies: list[str]) -> dict[str, Any]:
    """``event`` with ``header`` sent as ``copies``: all of them in multiValueHeaders, the last in headers."""
    multi = {name: values for name, values in event["multiValueHeaders"].items() if name.lower() != header}
    single = {name: value for name, value in event["headers"].items() if name.lower() != header}
    return dict(event, multiValueHeaders={**multi, header: copies}, headers={**single, header: copies[-1]})


def _signature(event: dict[str, Any]) -> str:
    [value] = [value for name, value in event["headers"].items() if name.lower() == SIGNATURE]
    assert isinstance(value, str)
    return value


def _nothing_written(world: World) -> None:
    assert world.archived() == []
    assert all(world.messages(queue) == [] for queue in world.queues)
    assert world.records.get("tenant-shopify-demo", "ecommerce:orders", "820982911946154500") is None


def test_a_signed_body_nested_20000_deep_gets_400_and_nothing_is_written(
    app: ModuleType, world: World
) -> None:
    status, body = _call(app, _shopify(b"[" * 20_000 + b"]" * 20_000))

    assert (status, body["status"]) == (400, "refused")
    assert "nested deeper than 100" in body["message"]
    _nothing_written(world)


@pytest.mark.parametrize("forged_first", [True, False], ids=["forged-first", "forged-last"])
def test_a_signature_header_sent_twice_gets_401_and_nothing_is_written(
    app: ModuleType, world: World, forged_first: bool
) -> None:
    event = _shopify(ORDER)
    good = _signature(event)
    copies = ["AAAA", good] if forged_first else [good, "AAAA"]

    status, body = _call(app, _with_copies(event, "X-Shopify-Hmac-Sha256", copies))

    assert (status, body) == (401, {"status": "refused", "message": "the delivery could not be verified"})
    _nothing_written(world)


def test_a_signature_header_in_two_spellings_gets_401(app: ModuleType, world: World) -> None:
    event = _shopify(ORDER)
    good = _signature(event)
    event["multiValueHeaders"]["x-shopify-hmac-sha256"] = ["AAAA"]
    event["headers"]["x-shopify-hmac-sha256"] = "AAAA"
    assert good in [value for name, value in event["headers"].items() if name.lower() == SIGNATURE]

    assert _call(app, event)[0] == 401
    _nothing_written(world)


def test_a_delivery_with_every_header_once_is_accepted(app: ModuleType) -> None:
    status, body = _call(app, _shopify(ORDER))

    assert (status, body["status"]) == (200, "accepted")


def test_an_event_without_multi_value_headers_is_read_from_its_headers(app: ModuleType) -> None:
    event = dict(_shopify(ORDER), multiValueHeaders=None)

    assert _call(app, event)[0] == 200


def test_a_record_over_dynamodbs_item_limit_gets_202_and_a_dead_letter(app: ModuleType, world: World) -> None:
    payload = json.loads(ORDER)
    payload["line_items"][0]["name"] = "x" * 450_000

    status, body = _call(app, _shopify(json.dumps(payload).encode()))

    assert (status, body["status"], body["event"]) == (202, "dead_lettered", "orders/create")
    assert "too large to store" in body["reason"]
    [letter] = world.messages("dlq")
    assert json.loads(letter)["reason"] == body["reason"]
    assert world.records.get("tenant-shopify-demo", "ecommerce:orders", "820982911946154500") is None
