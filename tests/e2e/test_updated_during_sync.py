"""Records edited while a sync lists them are caught by the next sync.

The edits land between two requests of the listing: a hook in front of the store edits records
of the page it has just served (deterministic), or the store's own mutation knob edits random
records after each list page.
"""

from __future__ import annotations

from typing import Any

import pytest

from mercator_sandbox import Faults, MutationKind, Mutations
from mercator_sandbox.app import FlavorName
from tests.e2e.conftest import OpenStore
from tests.e2e.support import FLAVORS, change_counts

EDITED = 2


@pytest.mark.parametrize("flavor", FLAVORS)
def test_records_edited_behind_a_listing_are_caught_by_the_next_sync(
    open_store: OpenStore, flavor: FlavorName
) -> None:
    # Given a store that edits two records of the products page it has just served, once
    store = open_store(flavor)
    resource = store.resource("products")
    list_path = store.list_path(resource)
    edited_ids: list[str] = []

    def edit_what_was_just_listed(path: str, query: dict[str, str], body: Any) -> None:
        if path != list_path or edited_ids:
            return
        listed = body["data"] if flavor == "salla" else body["products"] if flavor == "shopify" else body
        for record in listed[:EDITED]:
            store.sandbox.store.touch("products", record["id"])
            edited_ids.append(str(record["id"]))

    store.tap.hooks.append(edit_what_was_just_listed)

    # When the products are synced while that happens
    store.sync("products")

    # Then that sync wrote the two records as they were listed, now behind the store...
    expected = store.expected("products")
    edited = expected.codes_of(edited_ids)
    assert len(edited) == EDITED
    records = store.records("products")
    assert set(records) == set(expected.records)
    assert {code for code in records if records[code] != expected.records[code]} == edited
    store.changes()

    # When the products schedule fires again
    store.sync("products")

    # Then the next sync caught both edits: the table equals the store, with one update each
    assert store.records("products") == store.expected("products").records
    rows = store.rows("products")
    assert {code for code, row in rows.items() if row.version == 2} == edited
    changes = store.changes()
    assert change_counts(changes) == {("core:product", "updated"): EDITED}
    assert sorted(change["code"] for change in changes) == sorted(edited)


@pytest.mark.parametrize(
    ("flavor", "family"), [("salla", "customers"), ("shopify", "orders"), ("woocommerce", "orders")]
)
def test_records_the_store_edits_while_serving_pages_are_caught_by_the_next_sync(
    open_store: OpenStore, flavor: FlavorName, family: str
) -> None:
    # Given a store that edits a random record of the resource after every list page it serves
    store = open_store(flavor)
    store.sandbox.set_faults(mutations=Mutations(touch=MutationKind(count=1)))

    # When the family is synced while the store changes under the listing, and then the store settles
    store.sync(family)
    store.sandbox.set_faults(Faults())
    edits = store.sandbox.counters.mutations["touch"]

    # Then, once the schedule fires again, the records table equals the store
    store.sync(family)
    assert edits >= 1
    expected = store.expected(family)
    assert len(expected.records) == len(store.store_ids(store.resource(family)))
    assert store.records(family) == expected.records
