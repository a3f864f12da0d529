"""WebhookIntake on moto: verified, deduplicated, archived, newer-only writes and their announcements."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from mercator.connector import load_shipped, validate_definition
from mercator.connector.mapper import map_delivery
from mercator.domain.deliveries import ArchivedDelivery, Headers, IncomingDelivery
from mercator.domain.messages import ChangeEvent, EnrichBatch
from mercator.services.connectors import ConnectorCatalog
from mercator.services.intake import (
    MalformedDeliveryError,
    Outcome,
    PayloadTooLargeError,
    UnknownIntegrationError,
    UnsupportedMediaTypeError,
)
from mercator.services.writer import ReadyRecord, record_updated_at
from mercator.signatures.verification import VerificationError
from mercator.state.archive import S3DeliveryArchive, archive_key
from mercator_local.webhook_signing import signed_headers
from tests.fake_aws import use_fake_aws
from tests.unit.services.intake_world import NOW, REGION, World, intake_world

SECRET = "shpss_intake_test_secret"
JSON = "application/json"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    use_fake_aws(monkeypatch, REGION)
    integrations = [("shopify", "shop-1"), ("salla", "salla-1"), ("woocommerce", "woo-1")]
    with intake_world({"webhookSecret": SECRET}, integrations) as built:
        yield built


def _sample(connector: str, name: str) -> bytes:
    definition = load_shipped(connector)
    return definition.resolve(f"samples/{connector}/{name}").read_bytes()


def _delivery(
    integration_id: str,
    body: bytes,
    connector: str,
    *,
    headers: dict[str, str] | None = None,
    secret: str = SECRET,
    at: datetime = NOW,
    delivery_id: str | None = None,
) -> IncomingDelivery:
    definition = load_shipped(connector)
    assert definition.webhook is not None
    signed = signed_headers(
        definition.webhook.verification, {"webhookSecret": secret}, body, now=at, delivery_id=delivery_id
    )
    return IncomingDelivery(
        integration_id=integration_id,
        headers=Headers({**signed, "Content-Type": JSON, **(headers or {})}),
        body=body,
        received_at=at,
    )


def _shopify(topic: str, body: bytes, *, event_id: str = "evt-1", **options: Any) -> IncomingDelivery:
    headers = {"X-Shopify-Topic": topic, "X-Shopify-Event-Id": event_id, **options.pop("headers", {})}
    return _delivery("shop-1", body, "shopify", headers=headers, **options)


def _salla(payload: dict[str, Any], **options: Any) -> IncomingDelivery:
    return _delivery("salla-1", json.dumps(payload).encode(), "salla", **options)


ORDER = _sample("shopify", "orders_create.json")


# --- accepted deliveries -------------------------------------------------------------------------


def test_a_verified_delivery_is_archived_written_tracked_and_announced(world: World) -> None:
    result = world.intake.receive(_shopify("orders/create", ORDER), JSON)

    assert (result.outcome, result.status, result.code) == (Outcome.ACCEPTED, 200, "820982911946154500")
    stored = world.records.get("tenant-shop-1", "ecommerce:orders", "820982911946154500")
    assert stored is not None and stored.version == 1 and not stored.deleted
    # The sample's own values: total_price "388.00", customer.email john@example.com.
    assert stored.record["totalAmount"] == 388.0
    assert stored.record["customer"]["email"] == "john@example.com"
    assert stored.source_updated_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)  # 2021-12-31T19:00:00-05:00
    tracked = world.tracking.get_many("shop-1", "orders", ["820982911946154500"])["820982911946154500"]
    assert (tracked.first_seen_via, tracked.last_seen_via) == ("webhook", "webhook")
    events = [ChangeEvent.model_validate_json(body) for body in world.messages("trigger")]
    [event] = [event for event in events if event.content_type == "ecommerce:orders"]
    assert (event.change, event.event, event.source, event.code) == (
        "created",
        "orders/create",
        "webhook",
        "820982911946154500",
    )
    assert event.record == stored.record
    [key] = world.archived()
    archived = ArchivedDelivery.model_validate_json(
        world.s3.get_object(Bucket="archive", Key=key)["Body"].read()
    )
    assert archived.incoming().body == ORDER
    assert archived.event == "orders/create"


def test_the_buyer_of_an_order_becomes_a_customer_record(world: World) -> None:
    payload = json.loads(_sample("salla", "order_created.json"))

    result = world.intake.receive(_salla(payload), JSON)

    assert result.outcome is Outcome.ACCEPTED
    customer = world.records.get("tenant-salla-1", "core:customer", "225167971")
    assert customer is not None
    kinds = sorted(ChangeEvent.model_validate_json(body).content_type for body in world.messages("trigger"))
    assert kinds == ["core:customer", "ecommerce:orders"]


def _stored_customer(world: World, **changes: Any) -> dict[str, Any]:
    """The order sample's buyer as a listing wrote it: fields an order never carries, under attributes."""
    record: dict[str, Any] = {
        "code": "225167971",
        "email": "old-address@example.com",
        "firstName": "Mohammed",
        "lastName": "Ali",
        "attributes": {"groupIds": [7, 9], "adminUrl": "https://s.salla.sa/customers/l7mY"},
        **changes,
    }
    integration = world.intake.integrations.get("salla-1")
    assert integration is not None
    world.intake.writer.write_ready(
        integration,
        resource="customers",
        content_type="core:customer",
        records=[ReadyRecord("225167971", record, None)],
        run_id="run-1",
        seen_via="sync",
    )
    return record


def test_the_buyer_is_laid_over_the_stored_customer_keeping_what_an_order_does_not_carry(
    world: World,
) -> None:
    # Given the buyer already stored by a customers listing, with groups and an older e-mail address
    _stored_customer(world)
    world.messages("trigger")

    # When one of their orders arrives
    world.intake.receive(_salla(json.loads(_sample("salla", "order_created.json"))), JSON)

    # Then the customer takes what the order knows and keeps what only the listing knew
    customer = world.records.get("tenant-salla-1", "core:customer", "225167971")
    assert customer is not None
    assert customer.record["email"] == "usertest@gmail.com"
    assert customer.record["gender"] == "female"
    assert customer.record["attributes"] == {
        "groupIds": [7, 9],
        "adminUrl": "https://s.salla.sa/customers/l7mY",
    }


def test_a_buyer_the_stored_customer_already_matches_is_no_change(world: World) -> None:
    # Given the order's buyer stored as a second order already left it
    payload = json.loads(_sample("salla", "order_created.json"))
    world.intake.receive(_salla(payload), JSON)
    world.messages("trigger")

    # When another order of theirs arrives, carrying the same buyer
    payload["data"]["id"] = 99_000_001
    world.intake.receive(_salla(payload), JSON)

    # Then only the order is announced: the customer did not change
    kinds = sorted(ChangeEvent.model_validate_json(body).content_type for body in world.messages("trigger"))
    assert kinds == ["ecommerce:orders"]


def test_a_delivery_of_the_version_a_sync_already_wrote_fills_in_what_it_knows_and_announces_nothing(
    world: World,
) -> None:
    # Given the order a listing already wrote at the delivery's version, without its address (Salla's
    # Order Details has none, its webhook does)
    payload = json.loads(_sample("salla", "order_created.json"))
    definition = load_shipped("salla")
    [mapped] = map_delivery(definition, "order.updated", payload).records
    listed = {key: value for key, value in mapped.items() if key != "shippingAddress"}
    integration = world.intake.integrations.get("salla-1")
    assert integration is not None
    world.intake.writer.write_ready(
        integration,
        resource="orders",
        content_type="ecommerce:orders",
        records=[ReadyRecord(listed["code"], listed, record_updated_at(listed))],
        run_id="run-1",
        seen_via="sync",
    )
    world.messages("trigger")

    # When its order.updated delivery arrives
    payload["event"] = "order.updated"
    result = world.intake.receive(_salla(payload), JSON)

    # Then the address is filled in, as the same version: no new version, no order announced
    assert result.outcome is Outcome.MERGED
    stored = world.records.get("tenant-salla-1", "ecommerce:orders", listed["code"])
    assert stored is not None
    assert stored.record["shippingAddress"] == mapped["shippingAddress"]
    assert stored.version == 1
    kinds = [ChangeEvent.model_validate_json(body).content_type for body in world.messages("trigger")]
    assert "ecommerce:orders" not in kinds
    # And a copy of the delivery is a duplicate
    assert world.intake.receive(_salla(payload), JSON).outcome is Outcome.DUPLICATE


# --- duplicates ----------------------------------------------------------------------------------


def test_a_retried_delivery_writes_and_announces_nothing(world: World) -> None:
    world.intake.receive(_shopify("orders/create", ORDER), JSON)
    world.messages("trigger")

    again = world.intake.receive(_shopify("orders/create", ORDER), JSON)

    assert again.outcome is Outcome.DUPLICATE and not again.resent
    stored = world.records.get("tenant-shop-1", "ecommerce:orders", "820982911946154500")
    assert stored is not None and stored.version == 1
    assert world.messages("trigger") == []


def test_ten_concurrent_copies_write_once(world: World) -> None:
    delivery = _shopify("orders/create", ORDER)

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda _: world.intake.receive(delivery, JSON).outcome, range(10)))

    assert sorted(outcomes) == sorted([Outcome.ACCEPTED] + [Outcome.DUPLICATE] * 9)
    stored = world.records.get("tenant-shop-1", "ecommerce:orders", "820982911946154500")
    assert stored is not None and stored.version == 1
    announced = [ChangeEvent.model_validate_json(body) for body in world.messages("trigger")]
    assert sorted(event.content_type for event in announced) == ["core:customer", "ecommerce:orders"]


def test_without_a_delivery_id_the_body_identifies_the_delivery(world: World) -> None:
    """WooCommerce sends no usable delivery id: the same body is the same delivery."""
    body = _sample("woocommerce", "order_details.json")
    headers = {"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Delivery-ID": "1"}
    first = world.intake.receive(_delivery("woo-1", body, "woocommerce", headers=headers), JSON)
    other_id = {**headers, "X-WC-Webhook-Delivery-ID": "2"}

    second = world.intake.receive(_delivery("woo-1", body, "woocommerce", headers=other_id), JSON)

    assert (first.outcome, second.outcome) == (Outcome.ACCEPTED, Outcome.DUPLICATE)


def test_a_copy_arriving_late_resends_what_a_crashed_first_copy_never_announced(world: World) -> None:
    real_send = world.intake.queues["trigger"].send

    def crash(bodies: Any) -> None:
        raise RuntimeError("the function stopped")

    world.intake.queues["trigger"].send = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        world.intake.receive(_shopify("orders/create", ORDER), JSON)
    world.intake.queues["trigger"].send = real_send  # type: ignore[method-assign]
    assert world.messages("trigger") == []

    soon = world.intake.receive(_shopify("orders/create", ORDER), JSON)
    world.clock.advance(seconds=31)
    late = world.intake.receive(_shopify("orders/create", ORDER), JSON)

    assert (soon.resent, late.resent) == (False, True)
    announced = [ChangeEvent.model_validate_json(body) for body in world.messages("trigger")]
    # The order's change, and its buyer, whom the crashed copy never reached.
    assert [(event.content_type, event.code) for event in announced] == [
        ("ecommerce:orders", "820982911946154500"),
        ("core:customer", "115310627314723950"),
    ]


# --- ordering ------------------------------------------------------------------------------------


def _order_at(payload: dict[str, Any], updated: str, status: str) -> dict[str, Any]:
    changed = json.loads(json.dumps(payload))
    changed["event"] = "order.updated"
    changed["data"]["updated_at"] = updated
    changed["data"]["status"]["slug"] = status
    return changed


def test_an_out_of_order_delivery_never_overwrites_a_newer_state(world: World) -> None:
    order = json.loads(_sample("salla", "order_created.json"))
    newer = _order_at(order, "2025-02-02T10:00:00+03:00", "completed")
    older = _order_at(order, "2025-02-01T10:00:00+03:00", "in_progress")

    results = [world.intake.receive(_salla(payload), JSON).outcome for payload in (newer, older)]

    assert results == [Outcome.ACCEPTED, Outcome.STALE]
    stored = world.records.get("tenant-salla-1", "ecommerce:orders", "2116149737")
    assert stored is not None and stored.record["status"] == "completed"
    # The stale copy is claimed too: sent again, it is a duplicate.
    assert world.intake.receive(_salla(older), JSON).outcome is Outcome.DUPLICATE


def test_a_partial_update_is_laid_over_the_stored_record(world: World) -> None:
    created = json.loads(_sample("salla", "product_created.json"))
    price = json.loads(_sample("salla", "product_price_updated.json"))
    price["data"]["id"] = created["data"]["id"]

    outcomes = [world.intake.receive(_salla(payload), JSON).outcome for payload in (created, price)]

    assert outcomes == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    stored = world.records.get("tenant-salla-1", "core:product", str(created["data"]["id"]))
    assert stored is not None
    assert stored.record["name"] == "Product-Booking-API-Date-and-Time"  # only in product.created
    assert (stored.record["unitPrice"], stored.record["salePrice"]) == (150.0, 85.0)  # the new prices


def test_a_delete_marks_the_record_deleted_and_a_late_older_version_stays_out(world: World) -> None:
    world.intake.receive(_shopify("orders/create", ORDER), JSON)
    deletion = json.dumps({"id": 820982911946154500}).encode()

    deleted = world.intake.receive(_shopify("orders/delete", deletion, event_id="evt-2"), JSON)
    late = world.intake.receive(_shopify("orders/updated", ORDER, event_id="evt-3"), JSON)

    assert (deleted.outcome, late.outcome) == (Outcome.ACCEPTED, Outcome.STALE)
    stored = world.records.get("tenant-shop-1", "ecommerce:orders", "820982911946154500")
    assert stored is not None and stored.deleted and stored.record["totalAmount"] == 388.0
    announced = [ChangeEvent.model_validate_json(body) for body in world.messages("trigger")]
    assert [e.change for e in announced if e.content_type == "ecommerce:orders"] == ["created", "deleted"]


# --- deliveries that write no record -------------------------------------------------------------


def _thin_catalog() -> ConnectorCatalog:
    """WooCommerce with a thin order event, the way BigCommerce sends every event: an id only."""
    source = load_shipped("woocommerce").source
    assert source is not None
    document = _yaml(source)
    document["sync"]["webhooks"]["handlers"]["order.thin"] = {
        "recordType": "order",
        "operation": "upsert",
        "enrich": {"resource": "orders", "idPath": "data.id"},
    }
    document["triggers"].append({"event": "order.thin", "entityType": "Order"})
    definition = validate_definition(document, str(source))
    return ConnectorCatalog({"woocommerce": definition})


def _yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def test_a_thin_delivery_is_claimed_and_sent_for_enrichment(world: World) -> None:
    world.intake.connectors = _thin_catalog()
    body = json.dumps({"scope": "order.thin", "data": {"type": "order", "id": 727}}).encode()
    headers = {"X-WC-Webhook-Topic": "order.thin"}

    first = world.intake.receive(_delivery("woo-1", body, "woocommerce", headers=headers), JSON)
    again = world.intake.receive(_delivery("woo-1", body, "woocommerce", headers=headers), JSON)

    assert (first.outcome, first.status, again.outcome) == (Outcome.QUEUED, 202, Outcome.DUPLICATE)
    [message] = world.messages("enrich")
    batch = EnrichBatch.parse(message)
    assert (batch.resource, batch.seen_via, batch.records) == ("orders", "webhook", [{"id": 727}])
    assert world.records.get("tenant-woo-1", "ecommerce:orders", "727") is None


def test_an_event_without_a_handler_is_acknowledged_and_ignored(world: World) -> None:
    result = world.intake.receive(_shopify("app/uninstalled", b'{"id": 1}'), JSON)

    assert (result.outcome, result.status) == (Outcome.IGNORED, 202)
    assert "no handler for 'app/uninstalled'" in (result.reason or "")
    assert world.messages("trigger") == []


def test_a_delivery_that_cannot_be_mapped_goes_to_the_dead_letter_queue(world: World) -> None:
    result = world.intake.receive(_shopify("orders/create", b'{"note": "no id"}'), JSON)

    assert (result.outcome, result.status) == (Outcome.DEAD_LETTERED, 202)
    [letter] = world.messages("dlq")
    assert json.loads(letter)["raw"] == {"note": "no id"}
    assert "code" in json.loads(letter)["reason"]


def test_a_woocommerce_creation_ping_is_answered_without_processing(world: World) -> None:
    ping = IncomingDelivery("woo-1", Headers({}), b"webhook_id=15", NOW)

    result = world.intake.receive(ping, "application/x-www-form-urlencoded")

    assert (result.outcome, result.status) == (Outcome.PING, 200)
    assert world.archived() == []


# --- refusals: nothing written -------------------------------------------------------------------


def _nothing_written(world: World) -> None:
    assert world.archived() == []
    assert all(world.messages(queue) == [] for queue in world.queues)
    assert world.records.get("tenant-shop-1", "ecommerce:orders", "820982911946154500") is None


@pytest.mark.parametrize(
    ("delivery", "content_type", "error"),
    [
        (_shopify("orders/create", ORDER, secret="another-secret"), JSON, VerificationError),
        (_shopify("orders/create", ORDER), "text/plain", UnsupportedMediaTypeError),
        (_shopify("orders/create", b"{not json"), JSON, MalformedDeliveryError),
        (IncomingDelivery("nobody", Headers({}), ORDER, NOW), JSON, UnknownIntegrationError),
        (IncomingDelivery("off-1", Headers({}), ORDER, NOW), JSON, UnknownIntegrationError),
    ],
    ids=["wrong-secret", "not-json-type", "malformed-json", "unknown-integration", "disabled-integration"],
)
def test_refused_deliveries_write_nothing(
    world: World, delivery: IncomingDelivery, content_type: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        world.intake.receive(delivery, content_type)

    _nothing_written(world)


def test_a_tampered_body_is_refused(world: World) -> None:
    signed = _shopify("orders/create", ORDER)
    tampered = IncomingDelivery("shop-1", signed.headers, ORDER.replace(b"388.00", b"3.88"), NOW)

    with pytest.raises(VerificationError):
        world.intake.receive(tampered, JSON)

    _nothing_written(world)


def test_an_oversize_delivery_is_refused_before_anything_else(world: World) -> None:
    world.intake.max_body_bytes = 1000
    with pytest.raises(PayloadTooLargeError, match="1000"):
        world.intake.receive(_shopify("orders/create", ORDER), JSON)

    _nothing_written(world)


def test_a_missing_event_name_is_malformed(world: World) -> None:
    delivery = _shopify("orders/create", ORDER)
    headers = Headers({name: value for name, value in delivery.headers.items() if name != "X-Shopify-Topic"})

    with pytest.raises(MalformedDeliveryError, match="header X-Shopify-Topic"):
        world.intake.receive(IncomingDelivery("shop-1", headers, ORDER, NOW), JSON)


# --- replay --------------------------------------------------------------------------------------


def test_replay_reproduces_the_same_record(world: World) -> None:
    world.intake.receive(_shopify("orders/create", ORDER), JSON)
    original = world.records.get("tenant-shop-1", "ecommerce:orders", "820982911946154500")
    assert original is not None
    world.s3.get_object(Bucket="archive", Key=world.archived()[0])
    client = boto3.client("dynamodb", region_name=REGION)
    client.delete_item(
        TableName="records",
        Key={
            "pk": {"S": "TENANT#tenant-shop-1#TYPE#ecommerce:orders"},
            "sk": {"S": "CODE#820982911946154500"},
        },
    )
    archive = S3DeliveryArchive(world.s3, "archive")
    world.clock.advance(hours=2)

    result = world.intake.replay(archive.get(world.archived()[0]))

    assert result.outcome is Outcome.ACCEPTED
    replayed = world.records.get("tenant-shop-1", "ecommerce:orders", "820982911946154500")
    assert replayed is not None
    assert (replayed.record, replayed.content_hash) == (original.record, original.content_hash)


def test_archive_keys_are_per_integration_and_delivery(world: World) -> None:
    world.intake.receive(_shopify("orders/create", ORDER), JSON)

    [key] = world.archived()

    assert key.startswith("deliveries/shop-1/id-") and key == archive_key("shop-1", key.split("/")[2][:-5])


def test_a_retried_delivery_that_cannot_be_mapped_leaves_one_dead_letter(world: World) -> None:
    first = world.intake.receive(_shopify("orders/create", b'{"note": "no id"}'), JSON)
    again = world.intake.receive(_shopify("orders/create", b'{"note": "no id"}'), JSON)

    assert (first.outcome, again.outcome) == (Outcome.DEAD_LETTERED, Outcome.DUPLICATE)
    assert len(world.messages("dlq")) == 1
