"""Transitions: every path announces which plain fields moved from the stored version, once, and a
transition trigger fires on exactly those changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mercator.connector import load_shipped
from mercator.connector.definition import Trigger
from mercator.domain.changes import FieldChange, field_changes
from mercator.domain.deliveries import Headers, IncomingDelivery
from mercator.domain.entities import Integration
from mercator.domain.hashing import content_hash
from mercator.domain.messages import ChangeEvent
from mercator.services.dispatch import condition_view, fired_triggers
from mercator.services.intake import Outcome
from mercator.services.writer import ReadyRecord, RecordWriter
from mercator_local.webhook_signing import signed_headers
from tests.fake_aws import use_fake_aws
from tests.unit.services.fakes import FakeQueue, FakeRecords, FakeTracking
from tests.unit.services.intake_world import NOW, REGION, World, intake_world

SECRET = "shpss_transition_secret"
ORDER = json.loads(load_shipped("shopify").resolve("samples/shopify/orders_create.json").read_text())


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    use_fake_aws(monkeypatch, REGION)
    with intake_world({"webhookSecret": SECRET}, [("shopify", "shop-1")]) as built:
        yield built


def _delivery(topic: str, order: dict[str, Any], event_id: str) -> IncomingDelivery:
    body = json.dumps(order).encode()
    definition = load_shipped("shopify")
    assert definition.webhook is not None
    signed = signed_headers(definition.webhook.verification, {"webhookSecret": SECRET}, body, now=NOW)
    headers = {**signed, "X-Shopify-Topic": topic, "X-Shopify-Event-Id": event_id}
    return IncomingDelivery(integration_id="shop-1", headers=Headers(headers), body=body, received_at=NOW)


def _version(status: str | None, minutes: int) -> dict[str, Any]:
    at = datetime(2022, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    return {**ORDER, "fulfillment_status": status, "updated_at": at.isoformat()}


def _changes(world: World) -> list[ChangeEvent]:
    """The order's change events (an order's buyer is announced as a customer of its own)."""
    events = [ChangeEvent.parse(body) for body in world.messages("trigger")]
    return [event for event in events if event.content_type == "ecommerce:orders"]


# --- webhook intake ---------------------------------------------------------------------------


def test_a_delivery_over_a_stored_order_carries_the_status_it_moved_from(world: World) -> None:
    world.intake.receive(_delivery("orders/create", _version(None, 0), "e1"), "application/json")
    world.intake.receive(_delivery("orders/updated", _version("fulfilled", 5), "e2"), "application/json")

    created, updated = _changes(world)

    # Nothing was stored before the first: it moved from nowhere, and says so with no changes at all.
    assert created.changes is None
    assert updated.changes is not None
    # The order mapping defaults Shopify's null fulfillment_status to "unfulfilled".
    assert updated.changes["status"] == FieldChange(before="unfulfilled", after="fulfilled")
    assert updated.changes["updatedAt"].after is not None
    # A field that did not move is not listed.
    assert "totalAmount" not in updated.changes


def test_a_copy_or_a_replay_of_the_delivery_announces_nothing_again(world: World) -> None:
    world.intake.receive(_delivery("orders/create", _version(None, 0), "e1"), "application/json")
    world.intake.receive(_delivery("orders/updated", _version("fulfilled", 5), "e2"), "application/json")
    _changes(world)

    again = world.intake.receive(
        _delivery("orders/updated", _version("fulfilled", 5), "e2"), "application/json"
    )
    other_id = world.intake.receive(
        _delivery("orders/updated", _version("fulfilled", 5), "e3"), "application/json"
    )

    assert again.outcome is Outcome.DUPLICATE
    assert other_id.outcome is Outcome.UNCHANGED
    assert _changes(world) == []


def test_a_write_that_lands_between_the_read_and_the_commit_is_read_again(world: World) -> None:
    """Two deliveries racing for one order: the later one must not announce the move the other made."""
    world.intake.receive(_delivery("orders/create", _version(None, 0), "e1"), "application/json")
    _changes(world)
    records = world.records
    real_get = records.get
    raced = {"done": False}

    def get_then_race(tenant_id: str, content_type: str, code: str) -> Any:
        found = real_get(tenant_id, content_type, code)
        if not raced["done"]:
            raced["done"] = True
            # Another delivery writes "partial" right after this read.
            record = {**found.record, "status": "partial", "updatedAt": "2022-01-01T00:03:00+00:00"}
            records.write(
                tenant_id=tenant_id,
                content_type=content_type,
                code=code,
                record=record,
                content_hash=content_hash(record),
                source_updated_at=datetime(2022, 1, 1, 0, 3, tzinfo=UTC),
                integration_id="shop-1",
            )
        return found

    records.get = get_then_race  # type: ignore[method-assign]

    result = world.intake.receive(
        _delivery("orders/updated", _version("fulfilled", 5), "e2"), "application/json"
    )

    assert result.outcome is Outcome.ACCEPTED
    [updated] = _changes(world)
    assert updated.changes is not None
    # Worked out again from the version that raced in, not the one first read.
    assert updated.changes["status"] == FieldChange(before="partial", after="fulfilled")


# --- the writer (sync and enrichment) ---------------------------------------------------------

INTEGRATION = Integration.model_validate(
    {
        "id": "shop-1",
        "tenant_id": "tenant-1",
        "connector": "shopify",
        "status": "active",
        "credentials_arn": "arn",
        "created_at": NOW,
    }
)


def _ready(status: str, minutes: int) -> ReadyRecord:
    at = datetime(2022, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    record = {"code": "7", "orderCode": "1", "status": status, "updatedAt": at.isoformat()}
    return ReadyRecord("7", record, at)


def _write(writer: RecordWriter, item: ReadyRecord) -> None:
    writer.write_ready(
        INTEGRATION,
        resource="shipments",
        content_type="ecommerce:shipments",
        records=[item],
        run_id="run-1",
        seen_via="sync",
    )


def test_a_sync_announces_what_moved_and_a_retry_after_a_stop_announces_it_still() -> None:
    records, tracking, queue = FakeRecords(), FakeTracking(), FakeQueue("trigger")
    writer = RecordWriter(records, tracking, queue)
    _write(writer, _ready("in_transit", 0))

    # The invocation stops after the write, before its change is announced; SQS retries the batch.
    queue.refuse = True
    with pytest.raises(RuntimeError):
        _write(writer, _ready("delivered", 5))
    queue.refuse = False
    _write(writer, _ready("delivered", 5))

    first, retried = (ChangeEvent.parse(body) for body in queue.bodies)
    assert first.changes is None
    assert retried.change == "updated"
    assert retried.changes is not None
    assert retried.changes["status"] == FieldChange(before="in_transit", after="delivered")


# --- dispatch ---------------------------------------------------------------------------------

DELIVERED = Trigger.model_validate(
    {
        "event": "shipment_delivered",
        "entityType": "Shipment",
        "transition": {"field": "status", "to": "delivered"},
    }
)
MOVED = Trigger.model_validate(
    {"event": "order_status_changed", "entityType": "Order", "transition": {"field": "status"}}
)
FROM_TRANSIT = Trigger.model_validate(
    {
        "event": "left_transit",
        "entityType": "Shipment",
        "transition": {"field": "status", "from": "in_transit"},
    }
)


def _event(
    content_type: str, record: dict[str, Any], before: dict[str, Any] | None, **extra: Any
) -> ChangeEvent:
    return ChangeEvent(
        change=extra.pop("change", "updated"),
        integration_id="shop-1",
        tenant_id="tenant-1",
        connector="shopify",
        content_type=content_type,
        code=record["code"],
        record=record,
        content_hash=content_hash(record),
        source=extra.pop("source", "sync"),
        changes=None if before is None else field_changes(before, record),
        occurred_at=NOW,
        **extra,
    )


def _fired(event: ChangeEvent) -> list[str]:
    definition = load_shipped("shopify")
    extended = definition.model_copy(update={"triggers": [DELIVERED, MOVED, FROM_TRANSIT]})
    return [trigger.event for trigger in fired_triggers(extended, event)]


SHIPPED = {"code": "7", "orderCode": "1", "status": "in_transit"}
DONE = {**SHIPPED, "status": "delivered"}


@pytest.mark.parametrize(
    ("event", "fired"),
    [
        (_event("ecommerce:shipments", DONE, SHIPPED), ["shipment_delivered", "left_transit"]),
        # The same status with other fields moved: no transition.
        (_event("ecommerce:shipments", {**DONE, "carrier": "DHL"}, DONE), []),
        # First seen already delivered: it reached "delivered" unseen, and fires the "to" trigger only.
        (_event("ecommerce:shipments", DONE, None, change="created"), ["shipment_delivered"]),
        (_event("ecommerce:shipments", SHIPPED, None, change="created"), []),
        # The store's history (first import) fires nothing.
        (_event("ecommerce:shipments", DONE, None, change="created", first_import=True), []),
        # A deletion is no transition, whatever its record says.
        (_event("ecommerce:shipments", DONE, SHIPPED, change="deleted"), []),
        # Another content type's status moving fires that type's trigger only.
        (
            _event("ecommerce:orders", {"code": "1", "status": "paid"}, {"code": "1", "status": "pending"}),
            ["order_status_changed"],
        ),
        (_event("ecommerce:orders", {"code": "1", "status": "paid"}, None, change="created"), []),
    ],
)
def test_transition_triggers_fire_on_the_moves_they_name(event: ChangeEvent, fired: list[str]) -> None:
    assert _fired(event) == fired


def test_a_webhook_change_fires_its_events_trigger_and_the_transitions_it_makes() -> None:
    order = {"code": "1", "status": "fulfilled"}
    event = _event(
        "ecommerce:orders",
        order,
        {"code": "1", "status": "unfulfilled"},
        source="webhook",
        event="orders/updated",
    )

    definition = load_shipped("shopify")
    plain = [trigger for trigger in definition.triggers if trigger.transition is None]
    extended = definition.model_copy(update={"triggers": [*plain, MOVED]})
    assert [trigger.event for trigger in fired_triggers(extended, event)] == [
        "orders/updated",
        "order_status_changed",
    ]


def test_conditions_read_the_old_value_under_changes() -> None:
    event = _event("ecommerce:shipments", DONE, SHIPPED)

    view = condition_view(event)

    assert view["status"] == "delivered"
    assert view["changes"]["status"] == {"from": "in_transit", "to": "delivered"}


def test_a_status_moved_without_a_new_update_time_is_announced_and_a_field_only_now_known_is_not() -> None:
    records, tracking, queue = FakeRecords(), FakeTracking(), FakeQueue("trigger")
    writer = RecordWriter(records, tracking, queue)
    _write(writer, _ready("in_transit", 0))

    # Another path brings the same version (same update time) knowing one field more: merged quietly.
    known_more = _ready("in_transit", 0)
    _write(writer, ReadyRecord("7", {**known_more.record, "carrier": "DHL"}, known_more.source_updated_at))
    # A carrier's report that moved the status but kept the shipment's update time: announced.
    _write(writer, _ready("delivered", 0))

    first, moved = (ChangeEvent.parse(body) for body in queue.bodies)
    assert first.change == "created"
    assert moved.change == "updated"
    assert moved.changes is not None
    assert moved.changes["status"] == FieldChange(before="in_transit", after="delivered")
    assert records.get("tenant-1", "ecommerce:shipments", "7").record["carrier"] == "DHL"
