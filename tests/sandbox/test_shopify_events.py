"""Shopify's Events API: destroy events for deletions, its filters, and its Link-header cursors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from mercator_sandbox import Faults, MutationKind, Mutations, Sandbox
from mercator_sandbox.flavors import Shopify
from tests.sandbox.conftest import SandboxFactory

ANCHOR = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
EVENT_KEYS = {
    "id",
    "subject_id",
    "created_at",
    "subject_type",
    "verb",
    "arguments",
    "body",
    "message",
    "author",
    "description",
    "path",
}


def shopify(make_sandbox: SandboxFactory, **options: object) -> tuple[Sandbox, Shopify]:
    sandbox = make_sandbox("shopify", **options)
    assert isinstance(sandbox.flavor, Shopify)
    return sandbox, sandbox.flavor


def iso(epoch: int) -> str:
    """A query-ready ISO 8601 time (the ``+`` escaped)."""
    return quote(datetime.fromtimestamp(epoch, UTC).isoformat())


async def events(client: httpx.AsyncClient, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/events.json{query}")
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()["events"]
    return listed


@pytest.mark.anyio
async def test_every_deletion_leaves_a_destroy_event(make_sandbox: SandboxFactory) -> None:
    # Given a Shopify store
    sandbox, flavor = shopify(make_sandbox)
    order, product, customer = (min(sandbox.store.ids(name)) for name in ("orders", "products", "customers"))
    title = flavor.catalog.product(product).title
    name = flavor.catalog.customer(customer).name

    # When an order, a product and a customer are deleted, a minute apart
    for resource, record_id in (("orders", order), ("products", product), ("customers", customer)):
        sandbox.advance_clock(60)
        sandbox.store.delete(resource, record_id)
    async with sandbox.client() as client:
        listed = await events(client, "?verb=destroy")
        gone = await client.get(f"/products/{product}.json")

    # Then the log holds three destroy events, in order, stamped with the store's time in the shop's zone
    assert [(e["subject_type"], e["subject_id"], e["verb"]) for e in listed] == [
        ("Order", order, "destroy"),
        ("Product", product, "destroy"),
        ("Customer", customer, "destroy"),
    ]
    assert all(set(event) == EVENT_KEYS for event in listed)
    assert [e["created_at"] for e in listed] == [
        "2024-12-31T19:01:00-05:00",
        "2024-12-31T19:02:00-05:00",
        "2024-12-31T19:03:00-05:00",
    ]
    ids = [e["id"] for e in listed]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert listed[1] | {"id": 0} == {
        "id": 0,
        "subject_id": product,
        "created_at": "2024-12-31T19:02:00-05:00",
        "subject_type": "Product",
        "verb": "destroy",
        "arguments": [title],
        "body": None,
        "message": f"Product was deleted: {title}.",
        "author": "Shopify",
        "description": f"Product was deleted: {title}.",
        "path": f"/admin/products/{product}",
    }
    assert listed[0]["arguments"] == [f"#{1000 + order % 10_000_000}"]
    assert listed[2]["message"] == f"Customer was deleted: {name}."
    # And the deleted product answers 404 in Shopify's shape
    assert (gone.status_code, gone.json()) == (404, {"errors": "Not Found"})


@pytest.mark.anyio
async def test_new_products_and_orders_are_logged_under_their_own_verbs(make_sandbox: SandboxFactory) -> None:
    # Given a store where a product and an order are created and another product deleted
    sandbox, _ = shopify(make_sandbox)
    product = sandbox.store.insert("products")
    order = sandbox.store.insert("orders")
    sandbox.store.delete("products", min(sandbox.store.ids("products")))

    # When the log is read whole, and by verb
    async with sandbox.client() as client:
        everything = await events(client)
        created = await events(client, "?verb=create")
        destroyed = await events(client, "?verb=destroy")

    # Then creation and deletion are told apart
    assert [(e["subject_id"], e["verb"]) for e in everything][:2] == [
        (product.id, "create"),
        (order.id, "confirmed"),
    ]
    assert [e["subject_id"] for e in created] == [product.id]
    assert [e["verb"] for e in destroyed] == ["destroy"]
    assert everything[1]["message"].startswith(
        f'Received new order <a href="https://mercator-sandbox.myshopify.com/admin/orders/{order.id}">'
    )


@pytest.mark.anyio
async def test_filter_by_subject_type_and_time(make_sandbox: SandboxFactory) -> None:
    # Given deletions of each kind, the last two an hour after the first
    sandbox, _ = shopify(make_sandbox)
    order, product, customer = (min(sandbox.store.ids(name)) for name in ("orders", "products", "customers"))
    sandbox.store.delete("orders", order)
    sandbox.advance_clock(3_600)
    sandbox.store.delete("products", product)
    sandbox.store.delete("customers", customer)
    late = ANCHOR + 3_600

    # When the log is filtered
    async with sandbox.client() as client:
        products = await events(client, "?filter=Product&verb=destroy")
        people_and_orders = await events(client, "?filter=Order,Customer")
        since = await events(client, f"?verb=destroy&created_at_min={iso(late)}")
        until = await events(client, f"?verb=destroy&created_at_max={iso(late - 1)}")
        local_time = await events(client, "?created_at_min=2024-12-31T19:30:00")  # shop time, no offset
        after_first = await events(client, f"?since_id={(await events(client))[0]['id']}")
        nothing = await events(client, "?filter=Checkout")

    # Then each filter narrows the log as Shopify's does
    assert [e["subject_id"] for e in products] == [product]
    assert [e["subject_type"] for e in people_and_orders] == ["Order", "Customer"]
    assert [e["subject_id"] for e in since] == [product, customer]
    assert [e["subject_id"] for e in until] == [order]
    assert [e["subject_id"] for e in local_time] == [product, customer]
    assert [e["subject_id"] for e in after_first] == [product, customer]
    assert nothing == []


@pytest.mark.anyio
async def test_pages_follow_link_headers_with_the_filters_in_the_cursor(make_sandbox: SandboxFactory) -> None:
    # Given seven products deleted, with a creation logged between each pair
    sandbox, _ = shopify(make_sandbox)
    doomed = sorted(sandbox.store.ids("products"))[:7]
    for product in doomed:
        sandbox.store.delete("products", product)
        sandbox.store.insert("products")

    # When destroy events are read three at a time, following rel="next", then back once
    async with sandbox.client() as client:
        responses = [await client.get("/events.json?verb=destroy&filter=Product&limit=3")]
        while "next" in responses[-1].links:
            responses.append(await client.get(responses[-1].links["next"]["url"]))
        back = await client.get(responses[1].links["previous"]["url"])
        mixed = await client.get(responses[0].links["next"]["url"] + "&verb=create")

    # Then three pages hold every destroy event once, in order, and no creation
    pages = [[e["subject_id"] for e in response.json()["events"]] for response in responses]
    assert pages == [doomed[:3], doomed[3:6], doomed[6:]]
    assert all(e["verb"] == "destroy" for r in responses for e in r.json()["events"])
    assert "previous" not in responses[0].links and "next" not in responses[-1].links
    following = urlsplit(responses[0].links["next"]["url"])
    assert following.path == "/admin/api/2025-01/events.json"
    assert set(parse_qs(following.query)) == {"limit", "page_info"}
    assert [e["subject_id"] for e in back.json()["events"]] == doomed[:3]
    # And a cursor may not be combined with filters, as on Shopify
    assert mixed.status_code == 400
    assert "page_info" in mixed.json()["errors"]


@pytest.mark.anyio
async def test_abandoned_checkouts_leave_no_events_but_mutation_deletes_do(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store whose listings delete an unserved order after every page
    faults = Faults(mutations=Mutations(delete_after=MutationKind(count=1)))
    sandbox, flavor = shopify(make_sandbox, faults=faults)

    # When a checkout is deleted and orders are listed page by page
    sandbox.store.delete("carts", min(sandbox.store.ids("carts")))
    async with sandbox.client() as client:
        url: str | None = "/orders.json?status=any&limit=20"
        while url:
            response = await client.get(url)
            url = response.links.get("next", {}).get("url")
        listed = await events(client, "?limit=250")

    # Then every order the faults deleted is in the log, and the checkout is not
    deleted = sandbox.counters.mutations["delete"]
    assert deleted > 0
    assert len(listed) == deleted == len(flavor.event_log.events)
    assert {e["subject_type"] for e in listed} == {"Order"}
    assert {e["subject_id"] for e in listed}.isdisjoint(sandbox.store.ids("orders"))


@pytest.mark.anyio
async def test_bad_event_filters_are_refused(make_sandbox: SandboxFactory) -> None:
    sandbox, _ = shopify(make_sandbox)
    async with sandbox.client() as client:
        since = await client.get("/events.json?since_id=yesterday")
        when = await client.get("/events.json?created_at_min=soon")
    assert (since.status_code, since.json()) == (
        400,
        {"errors": {"since_id": "since_id must be a whole number, got 'yesterday'"}},
    )
    assert when.status_code == 400 and "created_at_min" in when.json()["errors"]
