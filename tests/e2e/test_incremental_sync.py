"""An incremental sync after changes the platform's listing can see leaves the table equal to the store.

What a listing sees differs by platform: Shopify's updated_at_min and WooCommerce's modified_after
return edited and new records; WooCommerce's customers and Salla's products, customers and carts
have no such filter and are listed whole every run, so edits there are seen too; Salla's orders
are re-listed by creation date, which shows new orders but not edits of older ones (their
webhooks carry those). Deletions reach no listing (webhooks carry them), so nothing is deleted here.
"""

from __future__ import annotations

import pytest

from mercator_sandbox.app import FlavorName
from tests.e2e.conftest import OpenStore
from tests.e2e.support import CONTENT_TYPES, FAMILIES, FLAVORS, Storefront, change_counts, codes_of

# (edited, inserted) records per family: only the kinds of change each flavor's listing can see.
CHANGES: dict[FlavorName, dict[str, tuple[int, int]]] = {
    "salla": {"products": (3, 2), "customers": (2, 2), "orders": (0, 3), "carts": (2, 1)},
    "shopify": {"products": (3, 2), "customers": (2, 2), "orders": (2, 3), "carts": (2, 1)},
    "woocommerce": {"products": (3, 2), "customers": (2, 2), "orders": (2, 3)},
}


def _change_the_store(store: Storefront, family: str, edits: int, inserts: int) -> tuple[set[str], set[str]]:
    """Edit the first ``edits`` records by id and add ``inserts`` new ones; their ids."""
    name = store.store_resource(store.resource(family))
    records = store.sandbox.store
    edited = sorted(records.ids(name))[:edits]
    for record_id in edited:
        records.touch(name, record_id)
    inserted = {str(records.insert(name).id) for _ in range(inserts)}
    return {str(record_id) for record_id in edited}, inserted


@pytest.mark.parametrize("flavor", FLAVORS)
def test_an_incremental_sync_brings_the_records_table_level_with_the_store_again(
    open_store: OpenStore, flavor: FlavorName
) -> None:
    # Given a store synced once, whose records then changed the ways its listings can see
    store = open_store(flavor)
    store.sync(*FAMILIES)
    store.changes()
    before = {family: store.rows(family) for family in FAMILIES}
    counts_before = {family: len(before[family]) for family in FAMILIES}
    changed = {
        family: _change_the_store(store, family, edits, inserts)
        for family, (edits, inserts) in CHANGES[flavor].items()
    }

    # When every family's schedule fires again
    report = store.sync(*FAMILIES)

    # Then the records table equals the store again, family by family
    assert report.dead_letters == {
        "SyncJobsDLQ": 0,
        "EnrichDLQ": 0,
        "TriggerDLQ": 0,
        "PushDLQ": 0,
        "CatalogEventsDLQ": 0,
    }
    expected = {family: store.expected(family) for family in FAMILIES}
    for family in FAMILIES:
        assert expected[family].failures == {}
        assert store.records(family) == expected[family].records
    # ...through exactly one write per edited or new record: versions count the writes
    changes = store.changes()
    for family, (edited_ids, inserted_ids) in changed.items():
        content_type = CONTENT_TYPES[family]
        edited, inserted = expected[family].codes_of(edited_ids), expected[family].codes_of(inserted_ids)
        rows = store.rows(family)
        assert len(rows) == counts_before[family] + len(inserted)
        assert codes_of([c for c in changes if c["change"] == "created"], content_type) == sorted(inserted)
        assert codes_of([c for c in changes if c["change"] == "updated"], content_type) == sorted(edited)
        assert {code for code, row in rows.items() if row.version == 2} == edited
        assert {row.version for code, row in rows.items() if code not in edited} == {1}
        untouched = set(before[family]) - edited
        assert all(rows[code].written_at == before[family][code].written_at for code in untouched)
    # ...and where the platform filters by time, the run listed its window, not the whole resource
    for family, (edits, inserts) in CHANGES[flavor].items():
        resource = store.resource(family)
        stats = store.cursor(resource).last_run_stats
        assert stats is not None
        if resource.incremental is None:
            assert stats.records == counts_before[family] + inserts
        else:
            assert edits + inserts <= stats.records < counts_before[family]
    assert change_counts(changes) == {
        (CONTENT_TYPES[family], kind): count
        for family, (edits, inserts) in CHANGES[flavor].items()
        for kind, count in (("updated", edits), ("created", inserts))
        if count
    }
