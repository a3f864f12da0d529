"""The generated dataset: determinism, sizes, time bounds, listings and the change helpers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from mercator_sandbox import Query, Sandbox, UnknownRecordError, Window
from mercator_sandbox.dataset import RecordState
from tests.sandbox.conftest import FLAVORS, SMALL, FakeClock, SandboxFactory

ANCHOR = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())


def states(sandbox: Sandbox, resource: str) -> list[RecordState]:
    table = sandbox.store.table(resource)
    return [table.records[i] for i in sorted(table.records)]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_same_seed_and_sizes_give_the_same_records(flavor: str, make_sandbox: SandboxFactory) -> None:
    first, second = make_sandbox(flavor, seed=5), make_sandbox(flavor, seed=5)
    for resource in first.store.resources:
        assert states(first, resource) == states(second, resource)
        record_id = sorted(first.store.ids(resource))[3]
        state = first.store.get(resource, record_id)
        for view in ("list", "details", "webhook"):
            assert first.flavor.render(resource, state, view, "http://a") == second.flavor.render(
                resource, second.store.get(resource, record_id), view, "http://a"
            )


def test_another_seed_gives_other_records(make_sandbox: SandboxFactory) -> None:
    first, second = make_sandbox("salla", seed=5), make_sandbox("salla", seed=6)
    assert [s.created for s in states(first, "orders")] != [s.created for s in states(second, "orders")]


def test_a_resource_does_not_change_when_another_grows(make_sandbox: SandboxFactory) -> None:
    small = make_sandbox("shopify", sizes={**SMALL, "products": 5})
    large = make_sandbox("shopify", sizes={**SMALL, "products": 50})
    assert states(small, "customers") == states(large, "customers")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_sizes_ids_and_times(flavor: str, make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(flavor, span_days=30)
    expected = dict(SMALL) if flavor != "woocommerce" else {k: v for k, v in SMALL.items() if k != "carts"}
    counts = {resource: sandbox.store.count(resource) for resource in sandbox.store.resources}
    # Salla's shipments are its own records, generated for the orders that have shipped: one each.
    shipments = counts.pop("shipments", None)
    assert counts == expected
    if shipments is not None:
        shipped = [view["order_id"] for view in sandbox.shipments()]
        assert 0 < shipments == len(shipped) == len(set(shipped)) <= counts["orders"]
        assert set(shipped) <= set(sandbox.store.ids("orders"))
    for resource in sandbox.store.resources:
        rows = states(sandbox, resource)
        # Ids grow with creation time and leave room between neighbours.
        assert [s.created for s in rows] == sorted(s.created for s in rows)
        assert all(b.id - a.id >= 2 for a, b in itertools.pairwise(rows))
        for state in rows:
            assert ANCHOR - 30 * 86400 <= state.created <= state.updated < ANCHOR


def test_one_hundred_thousand_orders_are_generated_compactly() -> None:
    sandbox = Sandbox("shopify", sizes={"orders": 100_000, "products": 0, "customers": 0, "carts": 0})
    assert sandbox.store.count("orders") == 100_000
    listing = sandbox.store.select("orders", Query(order="updated", descending=True))
    newest = sandbox.store.get("orders", listing[0])
    assert newest.updated == max(s.updated for s in sandbox.store.table("orders").records.values())


def test_unknown_resource_names_the_valid_ones(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    with pytest.raises(ValueError, match="no resource 'carts'; this store has: orders, products, customers"):
        sandbox.store.ids("carts")


def test_touch_moves_the_update_time_to_the_store_present(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    sandbox = make_sandbox("salla")
    oldest_update = sandbox.store.select("orders", Query(order="updated"))[0]
    clock.advance(90)
    state = sandbox.store.touch("orders", oldest_update)
    # The store's present is the anchor plus the 90 s the clock moved since the store was built.
    assert state.updated == ANCHOR + 90
    assert state.revision == 1
    assert sandbox.store.select("orders", Query(order="updated", descending=True))[0] == oldest_update
    # A second touch in the same second still moves it forward.
    assert sandbox.store.touch("orders", oldest_update).updated == ANCHOR + 91


def test_insert_takes_the_next_id_and_now(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    sandbox = make_sandbox("shopify")
    before = sandbox.store.ids("products")
    clock.advance(10)
    state = sandbox.store.insert("products")
    assert state.id > max(before)
    assert state.created == state.updated == ANCHOR + 10
    assert sandbox.store.ids("products") == before | {state.id}


def test_insert_refuses_a_taken_id(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    taken = min(sandbox.store.ids("orders"))
    with pytest.raises(ValueError, match=f"orders id {taken} is already taken"):
        sandbox.store.insert("orders", record_id=taken)


def test_delete_keeps_a_tombstone_and_refuses_twice(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    victim = sorted(sandbox.store.ids("customers"))[2]
    sandbox.store.delete("customers", victim)
    assert victim not in sandbox.store.ids("customers")
    assert sandbox.store.lookup("customers", victim) is not None
    with pytest.raises(UnknownRecordError, match=f"no live customers record with id {victim}"):
        sandbox.store.delete("customers", victim)
    assert victim not in sandbox.store.select("customers", Query(order="created"))


def test_windows_and_statuses_select_what_a_scan_would(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify", sizes={**SMALL, "orders": 300})
    rows = states(sandbox, "orders")
    lo, hi = rows[40].updated, rows[200].updated
    query = Query(order="id", windows=(Window("updated", lo, hi),), statuses=frozenset({0, 4}))
    expected = [s.id for s in rows if lo <= s.updated <= hi and s.status in (0, 4)]
    assert list(sandbox.store.select("orders", query)) == expected
    same_field = Query(
        order="created", descending=True, windows=(Window("created", rows[10].created, rows[20].created),)
    )
    assert list(sandbox.store.select("orders", same_field)) == [s.id for s in reversed(rows[10:21])]


@pytest.mark.parametrize(
    ("order", "descending", "before"),
    [
        ("id", False, True),
        ("id", False, False),
        ("created", True, True),
        ("updated", False, False),
        ("id", True, True),
    ],
)
def test_insert_near_lands_next_to_the_record(
    make_sandbox: SandboxFactory, order: str, descending: bool, before: bool
) -> None:
    sandbox = make_sandbox("woocommerce")
    query = Query(order=order, descending=descending)
    listing = list(sandbox.store.select("orders", query))
    anchor = listing[9]
    new = sandbox.store.insert_near("orders", query, 9, before=before)
    after = list(sandbox.store.select("orders", query))
    assert len(after) == len(listing) + 1
    if before:
        assert after[9:11] == [new.id, anchor]
    else:
        assert after[9:11] == [anchor, new.id]
    assert after[:9] == listing[:9]
