"""WebhookIntake on moto against hostile or unlucky deliveries: credentials never kept, bodies read
within bounds, records too large to store set aside, headers sent twice refused, pings only where a
connector declares one."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any

import boto3
import pytest
import yaml

from mercator.connector import ConnectorDefinition, load_shipped, validate_definition
from mercator.connector.webhook import WebhookPing
from mercator.domain.deliveries import ArchivedDelivery, Headers, IncomingDelivery
from mercator.services.connectors import ConnectorCatalog
from mercator.services.intake import MalformedDeliveryError, Outcome, UnsupportedMediaTypeError
from mercator.signatures.verification import VerificationError, secret_headers
from mercator_local.webhook_signing import signed_headers
from tests.fake_aws import use_fake_aws
from tests.unit.services.intake_world import NOW, REGION, World, intake_world

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
SIGNING_KEY = b"mercator-archive-signing-key-01"
CREDENTIALS = {
    # A Standard Webhooks key (base64, whsec_); the HMAC strategies sign with the whole text.
    "webhookSecret": "whsec_" + base64.b64encode(SIGNING_KEY).decode(),
    "webhookToken": "tok-mercator-never-archived-7f3a",
    "webhookUsername": "merchant-7731",
    "webhookPassword": "pw-mercator-never-archived-9c2e",
    "accessToken": "shpat_mercator_never_archived_55d1",
}
STRATEGIES: dict[str, dict[str, Any] | None] = {
    "hmac": None,  # Shopify's own: X-Shopify-Hmac-SHA256, base64 of the body's HMAC
    "hmac-timestamped": {
        "strategy": "hmac",
        "header": "X-Mercator-Signature",
        "encoding": "hex",
        "signedContent": "timestamp.body",
        "timestampHeader": "X-Mercator-Timestamp",
        "prefix": "sha256=",
    },
    "token": {"strategy": "token", "header": "X-Webhook-Token", "prefix": "Token "},
    "bearer": {"strategy": "bearer"},
    "basic": {"strategy": "basic"},
    "standard-webhooks": {"strategy": "standard_webhooks"},
    "none": {"strategy": "none"},
}
ORDER = load_shipped("shopify").resolve("samples/shopify/orders_create.json").read_bytes()
ORDER_CODE = "820982911946154500"


def _shopify_document() -> dict[str, Any]:
    source = load_shipped("shopify").source
    assert source is not None
    loaded: dict[str, Any] = yaml.safe_load(source.read_text())
    return loaded


@cache
def _definition(strategy: str) -> ConnectorDefinition:
    """Shopify's definition, verified by ``strategy``."""
    source = load_shipped("shopify").source
    document = _shopify_document()
    document["name"] = f"shop-{strategy}"
    document["auth"]["credentials"] = ["shopDomain", *CREDENTIALS]
    if STRATEGIES[strategy] is not None:
        document["webhook"]["verification"] = STRATEGIES[strategy]
    return validate_definition(document, str(source))


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    use_fake_aws(monkeypatch, REGION)
    integrations = [(f"shop-{strategy}", f"{strategy}-1") for strategy in STRATEGIES]
    with intake_world(CREDENTIALS, [*integrations, ("woocommerce", "woo-1")]) as built:
        built.intake.connectors = ConnectorCatalog(
            {f"shop-{strategy}": _definition(strategy) for strategy in STRATEGIES}
        )
        yield built


def _signed(
    strategy: str,
    body: bytes = ORDER,
    *,
    extra: dict[str, str] | None = None,
    event_id: str = "evt-1",
    at: datetime = NOW,
    query: dict[str, str] | None = None,
) -> IncomingDelivery:
    definition = _definition(strategy)
    assert definition.webhook is not None
    signed = signed_headers(definition.webhook.verification, CREDENTIALS, body, now=at)
    headers = {
        "Content-Type": JSON,
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Event-Id": event_id,
        **signed,
        **(extra or {}),
    }
    return IncomingDelivery(f"{strategy}-1", Headers(headers), body, at, query or {})


def _archived(world: World) -> list[ArchivedDelivery]:
    return [
        ArchivedDelivery.model_validate_json(world.s3.get_object(Bucket="archive", Key=key)["Body"].read())
        for key in world.archived()
    ]


def _nothing_written(world: World) -> None:
    assert world.archived() == []
    assert all(world.messages(queue) == [] for queue in world.queues)
    client = boto3.client("dynamodb", region_name=REGION)
    assert client.scan(TableName="records")["Items"] == []
    assert client.scan(TableName="state")["Items"] == []


# --- credentials are never kept -------------------------------------------------------------------


def _needles() -> dict[str, str]:
    """Every credential, and the forms it travels in: HTTP Basic's pair, the bare signing key."""
    pair = f"{CREDENTIALS['webhookUsername']}:{CREDENTIALS['webhookPassword']}"
    return {
        **CREDENTIALS,
        "basic pair": base64.b64encode(pair.encode()).decode(),
        "bare signing key": CREDENTIALS["webhookSecret"].removeprefix("whsec_"),
    }


def _everything_stored(world: World) -> dict[str, str]:
    """What intake left behind, by where: archive objects (their bodies decoded too), table items,
    queue messages."""
    found: dict[str, str] = {}
    for key in world.archived():
        text = world.s3.get_object(Bucket="archive", Key=key)["Body"].read().decode()
        body = base64.b64decode(json.loads(text)["body_base64"]).decode()
        found[f"s3://archive/{key}"] = text + body
    client = boto3.client("dynamodb", region_name=REGION)
    for table in ("state", "records"):
        found[f"table {table}"] = json.dumps(client.scan(TableName=table)["Items"])
    for queue in world.queues:
        found[f"queue {queue}"] = "\n".join(world.messages(queue))
    return found


def test_no_credential_of_any_strategy_reaches_the_archive_the_tables_the_queues_or_the_logs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Given signed deliveries for every verification strategy, some also carrying a credential in
    another header or in the query (a platform or proxy echoing it), when intake takes them all,
    then no credential, in any of its forms, is anywhere intake writes or logs."""
    caplog.set_level("DEBUG", logger="mercator")  # the service's loggers, the Powertools one among them
    token, access = CREDENTIALS["webhookToken"], CREDENTIALS["accessToken"]
    echoed = {
        "X-Api-Key": access,
        "X-Forwarded-Authorization": f"Bearer {token}",
        "X-Original-Auth": "Basic " + _needles()["basic pair"],
    }

    for number, strategy in enumerate(STRATEGIES):
        plain = world.intake.receive(_signed(strategy, event_id=f"evt-{number}"), JSON)
        noisy = world.intake.receive(
            _signed(
                strategy, event_id=f"evt-{number}-echo", extra=echoed, query={"key": access, "shop": "demo"}
            ),
            JSON,
        )
        # Another delivery of the same order: archived too, and the record is already stored.
        assert (plain.outcome, noisy.outcome) == (Outcome.ACCEPTED, Outcome.UNCHANGED), strategy

    archived = _archived(world)
    assert len(archived) == 2 * len(STRATEGIES)
    for delivery in archived:
        names = {name.lower() for name in delivery.headers}
        definition = _definition(delivery.integration_id.removesuffix("-1"))
        assert definition.webhook is not None
        assert not names & secret_headers(definition.webhook.verification)
        assert not names & {"authorization", "x-api-key", "x-forwarded-authorization", "x-original-auth"}
        # What replay and operators need stays: the event name, the delivery id, the harmless query.
        assert {"x-shopify-topic", "x-shopify-event-id", "content-type"} <= names
        assert delivery.query in ({}, {"shop": "demo"})
    stored = _everything_stored(world)
    stored["logs"] = caplog.text + " ".join(repr(record.__dict__) for record in caplog.records)
    leaks = [
        f"{what} in {where}"
        for what, needle in _needles().items()
        for where, text in stored.items()
        if needle in text
    ]
    assert leaks == []


def test_the_timestamp_and_id_headers_of_a_signature_are_kept() -> None:
    verification = _definition("standard-webhooks").webhook
    assert verification is not None
    assert secret_headers(verification.verification) == {"webhook-signature"}
    timestamped = _definition("hmac-timestamped").webhook
    assert timestamped is not None
    assert secret_headers(timestamped.verification) == {"x-mercator-signature"}


# --- bodies are read within bounds ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 20_000 + b"]" * 20_000, "nested deeper than 100"),
        (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "nested deeper than 100"),
        (b'{"id": 1, "deep": ' + b"[" * 150 + b"]" * 150 + b"}", "nested deeper than 100"),
        (b'{"id": ' + b"9" * 5000 + b"}", "digits"),
    ],
    ids=["deep-list", "deep-object", "past-the-limit", "long-integer"],
)
def test_a_signed_body_nested_too_deep_or_with_a_huge_integer_is_refused_and_nothing_written(
    world: World, body: bytes, reason: str
) -> None:
    with pytest.raises(MalformedDeliveryError, match=reason):
        world.intake.receive(_signed("hmac", body), JSON)

    _nothing_written(world)


def test_a_body_nested_within_the_limit_is_read(world: World) -> None:
    payload = json.loads(ORDER)
    payload["note_attributes"] = json.loads("[" * 90 + "]" * 90)

    result = world.intake.receive(_signed("hmac", json.dumps(payload).encode()), JSON)

    assert result.outcome is Outcome.ACCEPTED


def test_a_utf8_bom_is_still_read(world: World) -> None:
    result = world.intake.receive(_signed("hmac", b"\xef\xbb\xbf" + ORDER), JSON)

    assert result.outcome is Outcome.ACCEPTED


# --- a record over DynamoDB's item limit ----------------------------------------------------------


def _huge_order() -> bytes:
    payload = json.loads(ORDER)
    payload["line_items"][0]["name"] = "x" * 450_000  # mapped into items[0].name
    return json.dumps(payload).encode()


def test_a_record_over_the_item_limit_is_dead_lettered_with_its_reason_and_answered_202(world: World) -> None:
    result = world.intake.receive(_signed("hmac", _huge_order()), JSON)

    assert (result.outcome, result.status) == (Outcome.DEAD_LETTERED, 202)
    assert "too large to store" in (result.reason or "")
    [letter] = [json.loads(body) for body in world.messages("dlq")]
    assert letter["integration_id"] == "hmac-1" and letter["event"] == "orders/create"
    assert letter["reason"] == result.reason and "400 KB" in letter["reason"]
    assert letter["run_id"].startswith("webhook-id-")
    # The raw delivery is too large for a message: the archive keeps it, byte for byte.
    [archived] = _archived(world)
    assert archived.incoming().body == _huge_order()
    assert world.records.get("tenant-hmac-1", "ecommerce:orders", ORDER_CODE) is None
    assert world.messages("trigger") == []


def test_a_retried_oversize_delivery_leaves_one_dead_letter(world: World) -> None:
    first = world.intake.receive(_signed("hmac", _huge_order()), JSON)
    again = world.intake.receive(_signed("hmac", _huge_order()), JSON)

    assert (first.outcome, again.outcome) == (Outcome.DEAD_LETTERED, Outcome.DUPLICATE)
    assert len(world.messages("dlq")) == 1


# --- a header sent twice --------------------------------------------------------------------------


def test_a_signature_header_sent_twice_with_different_values_is_refused(world: World) -> None:
    good = _signed("hmac")
    signature = good.headers["X-Shopify-Hmac-SHA256"]
    for copies in ([signature, "AAAA"], ["AAAA", signature]):
        twice = Headers({**dict(good.headers), "X-Shopify-Hmac-SHA256": copies})
        with pytest.raises(VerificationError, match="sent more than once"):
            world.intake.receive(IncomingDelivery("hmac-1", twice, ORDER, NOW), JSON)

    _nothing_written(world)


def test_a_token_header_spelled_in_two_cases_with_different_values_is_refused(world: World) -> None:
    good = _signed("token")
    token = good.headers["X-Webhook-Token"]
    twice = Headers({**dict(good.headers), "x-webhook-token": "Token guessed"})
    assert twice.copies("X-Webhook-Token") == (token, "Token guessed")

    with pytest.raises(VerificationError, match="sent more than once"):
        world.intake.receive(IncomingDelivery("token-1", twice, ORDER, NOW), JSON)


def test_a_header_repeated_with_the_same_value_is_taken(world: World) -> None:
    good = _signed("hmac")
    signature = good.headers["X-Shopify-Hmac-SHA256"]
    twice = Headers({**dict(good.headers), "X-Shopify-Hmac-SHA256": [signature, signature]})

    assert (
        world.intake.receive(IncomingDelivery("hmac-1", twice, ORDER, NOW), JSON).outcome is Outcome.ACCEPTED
    )


# --- pings ----------------------------------------------------------------------------------------


def _with_ping(definition: ConnectorDefinition, ping: WebhookPing | None) -> ConnectorDefinition:
    assert definition.webhook is not None
    webhook = definition.webhook.model_copy(update={"ping": ping})
    return definition.model_copy(update={"webhook": webhook})


WOO_PING = IncomingDelivery("woo-1", Headers({}), b"webhook_id=15", NOW)


def test_a_ping_is_answered_only_for_a_connector_that_declares_it(world: World) -> None:
    woocommerce = load_shipped("woocommerce")
    declared = WebhookPing(contentType=FORM, bodyPattern=r"webhook_id=\d+")
    world.intake.connectors = ConnectorCatalog({"woocommerce": _with_ping(woocommerce, declared)})
    assert world.intake.receive(WOO_PING, FORM).outcome is Outcome.PING
    # Not the body it declares: verified like any delivery, and form-encoded is not JSON.
    with pytest.raises(UnsupportedMediaTypeError):
        world.intake.receive(IncomingDelivery("woo-1", Headers({}), b"webhook_id=x", NOW), FORM)

    world.intake.connectors = ConnectorCatalog({"woocommerce": _with_ping(woocommerce, None)})
    with pytest.raises(UnsupportedMediaTypeError):
        world.intake.receive(WOO_PING, FORM)

    _nothing_written(world)


def test_the_shipped_woocommerce_answers_its_creation_ping(world: World) -> None:
    assert world.intake.receive(WOO_PING, FORM).outcome is Outcome.PING


def test_a_connector_that_declares_no_ping_verifies_a_ping_shaped_request(world: World) -> None:
    ping_shaped = IncomingDelivery("hmac-1", Headers({}), b"webhook_id=15", NOW)
    with pytest.raises(UnsupportedMediaTypeError):
        world.intake.receive(ping_shaped, FORM)
    _nothing_written(world)
