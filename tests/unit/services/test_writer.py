"""RecordWriter: hash, compare with tracking, write, announce; unchanged records cost nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from mercator.connector import load_shipped
from mercator.domain.entities import WriteOutcome
from mercator.domain.messages import ChangeEvent
from mercator.services.writer import MappedRecord, ReadyRecord, RecordWriter, WriteSummary
from tests.unit.services.fakes import FakeClock, FakeQueue, FakeRecords, FakeTracking
from tests.unit.services.support import TENANT, make_integration

WOO = load_shipped("woocommerce")
PRODUCTS = WOO.resources["products"]  # incremental: date_modified_gmt, read as UTC
SALLA_PRODUCTS = load_shipped("salla").resources["products"]  # no incremental block
INTEGRATION = make_integration("woocommerce")


def product(code: str, name: str, modified: str = "2024-12-01T10:00:00") -> MappedRecord:
    raw = {"id": int(code), "name": name, "date_modified_gmt": modified}
    return MappedRecord(raw, {"code": code, "name": name})


class Parts:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.records = FakeRecords()
        self.tracking = FakeTracking()
        self.triggers = FakeQueue("trigger")
        self.writer = RecordWriter(self.records, self.tracking, self.triggers, clock=self.clock)

    def write(self, *items: MappedRecord, resource: Any = PRODUCTS, via: Any = "sync") -> Any:
        return self.writer.write(INTEGRATION, resource, list(items), run_id="run-1", seen_via=via)

    def events(self) -> list[tuple[str, str]]:
        return [
            (ChangeEvent.parse(body).change, ChangeEvent.parse(body).code) for body in self.triggers.bodies
        ]


def test_a_new_record_is_written_tracked_and_announced_with_its_hash_and_source_time() -> None:
    parts = Parts()

    summary = parts.write(product("799", "Ship Your Idea"))

    assert (summary.new, summary.changed, summary.unchanged, summary.stale) == (1, 0, 0, 0)
    canonical = json.dumps({"code": "799", "name": "Ship Your Idea"}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    stored = parts.records.of_type(TENANT, "core:product")["799"]
    assert stored.content_hash == digest
    assert stored.source_updated_at == datetime(2024, 12, 1, 10, 0, tzinfo=UTC)
    tracked = parts.tracking.entries[(INTEGRATION.id, "products", "799")]
    assert (tracked.content_hash, tracked.first_seen_via, tracked.last_seen_run) == (digest, "sync", "run-1")
    [body] = parts.triggers.bodies
    event = ChangeEvent.parse(body)
    assert (event.change, event.code, event.content_type, event.tenant_id) == (
        "created",
        "799",
        "core:product",
        TENANT,
    )
    assert event.record == {"code": "799", "name": "Ship Your Idea"}
    assert event.occurred_at == parts.clock.now


def test_the_same_content_again_costs_no_write_and_no_event_and_new_content_is_an_update() -> None:
    parts = Parts()
    parts.write(product("799", "Ship Your Idea"))

    same = parts.write(product("799", "Ship Your Idea", modified="2024-12-02T10:00:00"))
    renamed = parts.write(product("799", "Ship Your Idea, v2", modified="2024-12-03T10:00:00"))

    assert (same.unchanged, same.new, same.changed) == (1, 0, 0)
    assert (renamed.changed, renamed.new) == (1, 0)
    assert [write.outcome for write in parts.records.writes] == [WriteOutcome.CREATED, WriteOutcome.UPDATED]
    assert parts.events() == [("created", "799"), ("updated", "799")]
    assert parts.records.of_type(TENANT, "core:product")["799"].version == 2


def test_a_record_older_than_the_stored_one_is_stale_and_not_announced() -> None:
    # Given a newer version already stored (a webhook delivered it) but not tracked by this writer
    parts = Parts()
    parts.records.write(
        tenant_id=TENANT,
        content_type="core:product",
        code="799",
        record={"code": "799", "name": "Newer"},
        content_hash="0" * 64,
        source_updated_at=datetime(2024, 12, 5, tzinfo=UTC),
        integration_id=INTEGRATION.id,
    )

    # When the sync brings an older version
    summary = parts.write(product("799", "Older", modified="2024-12-01T10:00:00"))

    # Then nothing is written, announced or tracked; as run counters it is unchanged
    assert (summary.stale, summary.new, summary.changed) == (1, 0, 0)
    assert summary.stats().unchanged == 1
    assert parts.records.of_type(TENANT, "core:product")["799"].record["name"] == "Newer"
    assert parts.triggers.bodies == []
    assert parts.tracking.entries == {}


def test_a_write_whose_event_was_lost_is_announced_on_the_retry_without_writing_again() -> None:
    # Given a first attempt that wrote the record but could not send its change event
    parts = Parts()
    parts.triggers.refuse = True
    with pytest.raises(RuntimeError):
        parts.write(product("799", "Ship Your Idea"))
    assert parts.tracking.entries == {}, "tracking moves only after the event is sent"

    # When the batch is retried with the queue back
    parts.triggers.refuse = False
    summary = parts.write(product("799", "Ship Your Idea"))

    # Then the record is not written again, but its creation is announced and tracked
    assert [write.outcome for write in parts.records.writes] == [WriteOutcome.CREATED, WriteOutcome.UNCHANGED]
    assert parts.records.of_type(TENANT, "core:product")["799"].version == 1
    assert parts.events() == [("created", "799")]
    assert summary.new == 1
    assert (INTEGRATION.id, "products", "799") in parts.tracking.entries


def test_a_code_twice_in_one_batch_is_written_once() -> None:
    parts = Parts()

    summary = parts.write(product("799", "Ship Your Idea"), product("799", "Ship Your Idea"))

    assert (summary.new, summary.unchanged) == (1, 1)
    assert parts.records.written() == ["799"]
    assert parts.events() == [("created", "799")]
    assert parts.tracking.lookups == [["799"]], "tracking is read once for the batch"


def test_a_resource_without_incremental_stores_no_source_time_and_keeps_the_first_channel() -> None:
    parts = Parts()
    raw = {"id": 1, "name": "Dates", "updated_at": "2024-12-01 10:00:00"}

    parts.write(MappedRecord(raw, {"code": "1", "name": "Dates"}), resource=SALLA_PRODUCTS, via="webhook")
    parts.write(MappedRecord(raw, {"code": "1", "name": "Dates box"}), resource=SALLA_PRODUCTS, via="sync")

    assert parts.records.of_type(TENANT, "core:product")["1"].source_updated_at is None
    tracked = parts.tracking.entries[(INTEGRATION.id, "products", "1")]
    assert tracked.first_seen_via == "webhook"
    assert tracked.source_updated_at is None
    assert parts.events() == [("created", "1"), ("updated", "1")]


def test_tracking_says_which_channel_brought_the_latest_version() -> None:
    # Given a product a webhook delivered
    parts = Parts()
    parts.write(product("799", "Ship Your Idea"), via="webhook")
    first = parts.tracking.entries[(INTEGRATION.id, "products", "799")]
    assert (first.first_seen_via, first.last_seen_via) == ("webhook", "webhook")

    # When a sync brings the same content, and later a changed version
    parts.write(product("799", "Ship Your Idea", modified="2024-12-02T10:00:00"), via="sync")
    unchanged = parts.tracking.entries[(INTEGRATION.id, "products", "799")]
    parts.write(product("799", "Ship Your Idea, v2", modified="2024-12-03T10:00:00"), via="sync")

    # Then the unchanged one left tracking as the webhook set it; the change moved it to the sync
    assert unchanged.last_seen_via == "webhook"
    latest = parts.tracking.entries[(INTEGRATION.id, "products", "799")]
    assert (latest.first_seen_via, latest.last_seen_via) == ("webhook", "sync")
    assert latest.source_updated_at == datetime(2024, 12, 3, 10, 0, tzinfo=UTC)


def test_the_tracked_entries_are_read_through_the_writer() -> None:
    parts = Parts()
    parts.write(product("799", "Ship Your Idea"), via="webhook")

    found = parts.writer.tracked(INTEGRATION.id, "products", ["799", "800"])

    assert list(found) == ["799"]
    assert found["799"].last_seen_via == "webhook"


@pytest.mark.parametrize(
    ("reconciling", "missed"),
    [(True, 5), (False, 0)],  # written: 2 new + 3 changed; unchanged and stale ones never count
)
def test_a_reconciling_summary_counts_what_it_wrote_as_missed_by_webhooks(
    reconciling: bool, missed: int
) -> None:
    summary = WriteSummary(new=2, changed=3, unchanged=4, stale=1)

    stats = summary.stats(reconciling=reconciling)

    assert (stats.new, stats.changed, stats.unchanged, stats.missed_by_webhook) == (2, 3, 5, missed)


def test_the_same_version_through_another_path_is_merged_not_replaced() -> None:
    # Given an order a webhook wrote at 10:00 with its shipping address
    parts = Parts()
    orders = load_shipped("salla").resources["orders"]
    at = "2024-12-01T10:00:00Z"
    full = {"code": "5", "status": "paid", "updatedAt": at, "shippingAddress": {"city": "Jeddah"}}
    parts.writer.write_ready(
        INTEGRATION,
        resource="orders",
        content_type="ecommerce:orders",
        records=[ReadyRecord("5", full, datetime(2024, 12, 1, 10, tzinfo=UTC))],
        run_id=None,
        seen_via="webhook",
    )
    parts.triggers.take()

    # When its details (same version, no address: Salla's Order Details has none) are written
    details = {"code": "5", "status": "paid", "updatedAt": at, "shippingAddress": {"city": None}}
    summary = parts.write(MappedRecord({"id": 5}, details), resource=orders)

    # Then nothing changed: the address stays, no write, no event
    assert (summary.new, summary.changed, summary.unchanged) == (0, 0, 1)
    assert parts.records.of_type(TENANT, "ecommerce:orders")["5"].record == full
    assert parts.triggers.bodies == []

    # When the same version's details differ in what they do know
    summary = parts.write(MappedRecord({"id": 5}, {**details, "status": "shipped"}), resource=orders)

    # Then that is laid over what is stored, the address kept, as the same version (no new version);
    # but the status the stored version had moved: a change the source did not re-date, announced
    # with where it moved from
    assert (summary.changed, summary.unchanged) == (1, 0)
    stored = parts.records.of_type(TENANT, "ecommerce:orders")["5"]
    assert stored.record == {**full, "status": "shipped"}
    assert stored.version == 1
    [announced] = [ChangeEvent.parse(body) for body in parts.triggers.bodies]
    assert announced.change == "updated"
    assert announced.changes is not None
    assert announced.changes["status"].before == "paid"
    assert announced.changes["status"].after == "shipped"
    tracked = parts.tracking.entries[(INTEGRATION.id, "orders", "5")]
    assert tracked.content_hash == stored.content_hash


def test_a_version_another_path_stored_since_tracking_was_read_is_merged_not_counted_twice() -> None:
    # Given an order stored at 10:00 with its address by another path (a webhook whose tracking entry
    # this writer has not seen yet): the records table has it, tracking does not
    parts = Parts()
    orders = load_shipped("salla").resources["orders"]
    at = datetime(2024, 12, 1, 10, tzinfo=UTC)
    full = {
        "code": "6",
        "status": "paid",
        "updatedAt": "2024-12-01T10:00:00Z",
        "shippingAddress": {"city": "Jeddah"},
    }
    parts.records.write(
        tenant_id=TENANT,
        content_type="ecommerce:orders",
        code="6",
        record=full,
        content_hash="webhook-hash",
        source_updated_at=at,
        integration_id=INTEGRATION.id,
    )

    # When the details of the same version are written
    details = {"code": "6", "status": "paid", "updatedAt": "2024-12-01T10:00:00Z"}
    summary = parts.write(MappedRecord({"id": 6}, details), resource=orders)

    # Then they are merged into that version: nothing new counted or announced, the address kept
    assert (summary.new, summary.changed, summary.unchanged) == (0, 0, 1)
    stored = parts.records.of_type(TENANT, "ecommerce:orders")["6"]
    assert (stored.record, stored.version) == (full, 1)
    assert parts.triggers.bodies == []
