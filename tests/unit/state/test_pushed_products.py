"""The push ledger: what catalog push wrote into each store, its echoes and its runs; and the canonical
catalog read page by page from the records table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mercator.domain.entities import PushedProduct, PushStats
from mercator.state.pushed_products import DynamoPushedProducts
from mercator.state.record_store import DynamoRecords

NOW = datetime(2025, 6, 1, 8, 0, 0, tzinfo=UTC)


def entry(code: str, **fields: Any) -> PushedProduct:
    values: dict[str, Any] = {"integration_id": "acme-salla", "source_code": code, "key": f"SKU-{code}"}
    return PushedProduct.model_validate(values | fields)


def test_entries_are_read_back_by_a_range_of_source_codes(dynamodb: Any, state_table: str) -> None:
    # Given entries of three products of one store, one of another store, and a creating one
    ledger = DynamoPushedProducts(dynamodb, state_table, clock=lambda: NOW)
    ledger.save(entry("a1", provider_id="501", ids={"variantId": "9"}, pushed_hash="h1", pushed_at=NOW))
    ledger.save(entry("b2", provider_id="502", pushed_hash="h2"))
    ledger.save(entry("c3", state="creating"))
    ledger.save(entry("b2", integration_id="acme-shopify", provider_id="77"))

    # When the codes from a1 to b2 are read
    found = ledger.between("acme-salla", "a1", "b2")

    # Then both entries come back whole, and nothing of c3 or of the other store
    assert set(found) == {"a1", "b2"}
    assert found["a1"] == entry(
        "a1", provider_id="501", ids={"variantId": "9"}, pushed_hash="h1", pushed_at=NOW
    )
    assert found["b2"].provider_id == "502"
    # And a creating entry has no store id yet
    creating = ledger.get("acme-salla", "c3")
    assert creating is not None
    assert (creating.state, creating.provider_id, creating.pushed_hash) == ("creating", None, None)


def test_saving_an_entry_again_replaces_it(dynamodb: Any, state_table: str) -> None:
    # Given a creating entry
    ledger = DynamoPushedProducts(dynamodb, state_table)
    ledger.save(entry("a1", state="creating"))

    # When the create's answer is recorded
    ledger.save(entry("a1", provider_id="501", pushed_hash="h1"))

    # Then one entry holds the store's id
    found = ledger.between("acme-salla", "a1", "a1")
    assert [(e.provider_id, e.state) for e in found.values()] == [("501", "pushed")]


def test_an_echo_is_kept_by_the_stores_id(dynamodb: Any, state_table: str) -> None:
    ledger = DynamoPushedProducts(dynamodb, state_table)
    ledger.save_echo("acme-salla", "501", "a1", NOW)
    ledger.save_echo("acme-salla", "502", "b2", None)

    assert ledger.echo_until("acme-salla", "501") == NOW
    assert ledger.echo_until("acme-salla", "502") is None  # the store gave no time
    assert ledger.echo_until("acme-salla", "503") is None  # never written by Mercator
    assert ledger.echo_until("acme-shopify", "501") is None


def test_a_run_is_saved_continued_and_finished(dynamodb: Any, state_table: str) -> None:
    # Given a new run that finished two pages
    ledger = DynamoPushedProducts(dynamodb, state_table, clock=lambda: NOW)
    assert ledger.run("acme-salla") is None
    run = ledger.new_run("run-1", NOW)
    run.after, run.stats, run.continuation = "b2", PushStats(created=2, requests=4), 1
    ledger.save_run("acme-salla", run)

    # Then the next invocation reads it back as it was
    again = ledger.run("acme-salla")
    assert again is not None
    assert (again.run_id, again.after, again.stats, again.continuation) == ("run-1", "b2", run.stats, 1)

    # When it finishes, no run is in progress, and its counts are the last ones
    ledger.finish_run("acme-salla", again)
    assert ledger.run("acme-salla") is None
    assert ledger.last_stats("acme-salla") == PushStats(created=2, requests=4)


def test_the_canonical_catalog_is_read_page_by_page_from_one_integration(
    dynamodb: Any, records_table: str
) -> None:
    # Given products the catalog source wrote (one of them deleted), and one a store wrote
    records = DynamoRecords(dynamodb, records_table)
    for code, writer in (("p3", "crystal"), ("p1", "crystal"), ("p2", "acme-salla"), ("p4", "crystal")):
        records.write(
            tenant_id="acme",
            content_type="core:product",
            code=code,
            record={"code": code, "name": code},
            content_hash=f"h-{code}",
            source_updated_at=NOW,
            integration_id=writer,
        )
    records.mark_deleted(
        tenant_id="acme",
        content_type="core:product",
        code="p4",
        content_hash="gone",
        deleted_at=datetime(2025, 6, 2, tzinfo=UTC),
        integration_id="crystal",
    )

    # When they are read two at a time
    first = records.written_by("acme", "core:product", "crystal", after=None, limit=2)
    rest = records.written_by("acme", "core:product", "crystal", after=first[-1].code, limit=2)

    # Then the source's products come in code order, the store's left out, the tombstone included
    assert [r.code for r in first] == ["p1", "p3"]
    assert [(r.code, r.deleted) for r in rest] == [("p4", True)]
    assert records.written_by("acme", "core:product", "crystal", after="p4", limit=2) == []
