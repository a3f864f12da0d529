"""Changes after each list page: boundary inserts, deletions on both sides, touches; what a listing sees."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from mercator_sandbox import Faults, MutationKind, Mutations, Query, Sandbox
from tests.sandbox.conftest import SandboxFactory

ANCHOR = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
ONCE = MutationKind(count=1)


def mutating(**kinds: object) -> Faults:
    return Faults(mutations=Mutations.model_validate(kinds))


async def salla_pages(client: httpx.AsyncClient, per_page: int) -> list[list[int]]:
    pages = []
    url: str | None = f"/orders?per_page={per_page}"
    while url:
        body = (await client.get(url)).json()
        pages.append([order["id"] for order in body["data"]])
        url = body["pagination"]["links"].get("next")
    return pages


async def shopify_pages(client: httpx.AsyncClient, first: str) -> list[list[int]]:
    pages = []
    url: str | None = first
    while url:
        response = await client.get(url)
        pages.append([order["id"] for order in response.json()["orders"]])
        url = response.links.get("next", {}).get("url")
    return pages


@pytest.mark.anyio
async def test_insert_before_the_boundary_shifts_a_page_number_listing(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla", faults=mutating(insert=ONCE))
    start = sandbox.store.ids("orders")
    newest_first = Query(order="created", descending=True)
    async with sandbox.client() as client:
        first = (await client.get("/orders?per_page=5")).json()["data"]
        (inserted,) = sandbox.store.ids("orders") - start
        listing = list(sandbox.store.select("orders", newest_first))
        second = (await client.get("/orders?per_page=5&page=2")).json()["data"]
    # Newest first: the new order sorts just ahead of page 1's last order, which slides onto page 2.
    assert list(listing[3:6]) == [first[3]["id"], inserted, first[4]["id"]]
    assert (
        sandbox.store.get("orders", inserted).created == sandbox.store.get("orders", first[4]["id"]).created
    )
    assert second[0]["id"] == first[-1]["id"]
    assert inserted not in {o["id"] for o in first + second}
    assert sandbox.counters.mutations["insert"] == 2


@pytest.mark.anyio
async def test_insert_after_the_boundary_is_the_next_keyset_record(make_sandbox: SandboxFactory) -> None:
    faults = Faults(mutations=Mutations(insert=ONCE, insert_before_boundary=False))
    sandbox = make_sandbox("shopify", faults=faults)
    start = sorted(sandbox.store.ids("orders"))
    async with sandbox.client() as client:
        first = await client.get("/orders.json?status=any&limit=5")
        second = await client.get(first.links["next"]["url"])
    page_one = [o["id"] for o in first.json()["orders"]]
    page_two = [o["id"] for o in second.json()["orders"]]
    assert page_one == start[:5]
    # The record inserted after page 1 has an id between page 1's last and the next old order.
    assert page_two[0] not in start
    assert start[4] < page_two[0] < start[5]
    assert page_two[1:] == start[5:9]


@pytest.mark.anyio
async def test_deleting_served_records_makes_a_page_number_listing_miss_records(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = make_sandbox("salla", faults=mutating(delete_before=ONCE))
    start = sandbox.store.ids("orders")
    async with sandbox.client() as client:
        pages = await salla_pages(client, per_page=10)
    served = {i for page in pages for i in page}
    missed = (start & sandbox.store.ids("orders")) - served
    # 60 orders in pages of 10: each of the first five deletions pulls one unseen order back onto a
    # page already read; the sixth page is the last one, so its deletion hides nothing.
    assert [len(page) for page in pages] == [10, 10, 10, 10, 10, 5]
    assert len(missed) == 5
    assert sandbox.counters.mutations["delete"] == 6


@pytest.mark.anyio
async def test_a_keyset_listing_misses_nothing_that_survives(make_sandbox: SandboxFactory) -> None:
    faults = mutating(
        insert=MutationKind(count=2),
        delete_before=MutationKind(count=2),
        delete_after=MutationKind(count=1),
        touch=MutationKind(count=3),
    )
    sandbox = make_sandbox("shopify", faults=faults)
    start = sandbox.store.ids("orders")
    async with sandbox.client() as client:
        pages = await shopify_pages(client, "/orders.json?status=any&limit=6")
    served = [i for page in pages for i in page]
    survivors = start & sandbox.store.ids("orders")
    assert len(served) == len(set(served))
    assert survivors <= set(served)
    deleted_unserved = start - sandbox.store.ids("orders") - set(served)
    assert deleted_unserved  # delete_after removed records the listing never reached
    changes = sandbox.counters.mutations
    assert changes["insert"] == 2 * len(pages)
    # Inserted records may be deleted later in the walk too; the books balance either way.
    assert len(start) + changes["insert"] - changes["delete"] == len(sandbox.store.ids("orders"))


@pytest.mark.anyio
async def test_touched_records_enter_the_incremental_window(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify", faults=mutating(touch=MutationKind(count=2)))
    async with sandbox.client() as client:
        await shopify_pages(client, "/orders.json?status=any&limit=20")
        sandbox.set_faults(Faults())
        since = datetime.fromtimestamp(ANCHOR, UTC).isoformat().replace("+", "%2B")
        recent = await shopify_pages(client, f"/orders.json?status=any&updated_at_min={since}")
    table = sandbox.store.table("orders")
    touched = {i for i, state in table.records.items() if state.revision}
    assert touched
    assert sorted(touched) == [i for page in recent for i in page]
    assert all(table.records[i].updated >= ANCHOR for i in touched)
    assert sandbox.counters.mutations["touch"] == sum(table.records[i].revision for i in touched)


@pytest.mark.anyio
async def test_rates_per_kind(make_sandbox: SandboxFactory) -> None:
    never = make_sandbox("salla", faults=mutating(delete_after=MutationKind(count=3, rate=0.0)))
    sometimes = make_sandbox("salla", faults=mutating(delete_after=MutationKind(count=1, rate=0.5)))
    for sandbox in (never, sometimes):
        async with sandbox.client() as client:
            for page in range(1, 13):
                await client.get(f"/orders?per_page=2&page={page}")
    assert never.counters.mutations["delete"] == 0
    assert 0 < sometimes.counters.mutations["delete"] < 12


@pytest.mark.anyio
async def test_mutations_are_reproducible(make_sandbox: SandboxFactory) -> None:
    async def run() -> tuple[frozenset[int], list[list[int]]]:
        sandbox: Sandbox = make_sandbox(
            "woocommerce", faults=mutating(insert=ONCE, delete_before=ONCE, delete_after=ONCE, touch=ONCE)
        )
        pages = []
        async with sandbox.client() as client:
            for page in range(1, 6):
                body = (
                    await client.get(f"/orders?orderby=modified&order=desc&per_page=8&page={page}")
                ).json()
                pages.append([order["id"] for order in body])
        return sandbox.store.ids("orders"), pages

    assert await run() == await run()
