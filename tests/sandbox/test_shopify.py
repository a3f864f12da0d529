"""The Shopify flavor over plain httpx: Link-header cursors, page_info rules, filters, errors, call limit."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mercator_sandbox import Sandbox
from tests.sandbox.conftest import SMALL, FakeClock, SandboxFactory

OPEN, CLOSED, CANCELLED = {0, 1, 2, 3}, {4}, {5, 6}


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: link["url"] for rel, link in response.links.items()}


async def walk(client: httpx.AsyncClient, first: str) -> tuple[list[int], list[httpx.Response]]:
    """Follow rel="next" from ``first``; the ids served and every response."""
    ids: list[int] = []
    responses: list[httpx.Response] = []
    url: str | None = first
    while url:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        responses.append(response)
        ids += [order["id"] for order in response.json()["orders"]]
        url = links(response).get("next")
    return ids, responses


def ids_with_status(sandbox: Sandbox, statuses: set[int]) -> list[int]:
    table = sandbox.store.table("orders")
    return sorted(i for i, state in table.records.items() if state.status in statuses)


@pytest.mark.anyio
async def test_walk_orders_through_link_headers(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        ids, responses = await walk(client, "/orders.json?status=any&limit=7")
    assert ids == sorted(sandbox.store.ids("orders"))  # every order once, by id
    assert len(responses) == 9  # 60 orders: eight pages of 7 and one of 4
    assert "previous" not in links(responses[0])
    assert all(set(links(r)) == {"previous", "next"} for r in responses[1:-1])
    assert set(links(responses[-1])) == {"previous"}
    next_url = urlsplit(links(responses[0])["next"])
    assert (next_url.scheme, next_url.netloc, next_url.path) == (
        "http",
        "testserver",
        "/admin/api/2025-01/orders.json",
    )
    assert set(parse_qs(next_url.query)) == {"limit", "page_info"}
    assert parse_qs(next_url.query)["limit"] == ["7"]
    header = responses[1].headers["link"]
    assert header.startswith("<http://testserver/admin/api/2025-01/orders.json?limit=7&page_info=")
    assert header.count('rel="previous"') == 1 and header.endswith('rel="next"')


@pytest.mark.anyio
async def test_previous_link_goes_back_one_page(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox("shopify").client() as client:
        first = await client.get("/orders.json?status=any&limit=5")
        second = await client.get(links(first)["next"])
        back = await client.get(links(second)["previous"])
    assert [o["id"] for o in back.json()["orders"]] == [o["id"] for o in first.json()["orders"]]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "expected"),
    [("", OPEN), ("&status=open", OPEN), ("&status=closed", CLOSED), ("&status=cancelled", CANCELLED)],
)
async def test_orders_status_filter(make_sandbox: SandboxFactory, status: str, expected: set[int]) -> None:
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        ids, _ = await walk(client, f"/orders.json?limit=9{status}")
    assert ids == ids_with_status(sandbox, expected)
    assert ids  # the seed gives orders in every state


@pytest.mark.anyio
async def test_updated_at_min_travels_in_the_cursor(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify", sizes={**SMALL, "orders": 120})
    table = sandbox.store.table("orders")
    cut = sorted(state.updated for state in table.records.values())[70]
    since = datetime.fromtimestamp(cut, UTC).isoformat()
    expected = sorted(i for i, state in table.records.items() if state.updated >= cut)
    async with sandbox.client() as client:
        ids, responses = await walk(
            client, "/orders.json?status=any&limit=8&updated_at_min=" + since.replace("+", "%2B")
        )
    assert ids == expected
    assert len(expected) == 50
    assert len(responses) == 7


@pytest.mark.anyio
async def test_updated_at_min_without_offset_is_shop_time(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    newest = max(sandbox.store.ids("customers"))
    # 2024-01-15 10:00 in New York (UTC-5 in winter) is 15:00 UTC.
    ten_am = int(datetime(2024, 1, 15, 15, 0, tzinfo=UTC).timestamp())
    before = sandbox.store.insert("customers", created=ten_am - 60, updated=ten_am - 1)
    at = sandbox.store.insert("customers", created=ten_am - 60, updated=ten_am)
    async with sandbox.client() as client:
        naive = await client.get(f"/customers.json?since_id={newest}&updated_at_min=2024-01-15T10:00:00")
        utc = await client.get(f"/customers.json?since_id={newest}&updated_at_min=2024-01-15T10:00:00Z")
    assert [c["id"] for c in naive.json()["customers"]] == [at.id]
    assert [c["id"] for c in utc.json()["customers"]] == [before.id, at.id]


@pytest.mark.anyio
@pytest.mark.parametrize("extra", ["status=any", "updated_at_min=2024-01-01T00:00:00Z", "since_id=5"])
async def test_page_info_allows_only_limit_and_fields(make_sandbox: SandboxFactory, extra: str) -> None:
    async with make_sandbox("shopify").client() as client:
        first = await client.get("/orders.json?status=any&limit=5")
        next_url = links(first)["next"]
        with_fields = await client.get(next_url + "&fields=id,name")
        refused = await client.get(f"{next_url}&{extra}")
    assert with_fields.status_code == 200
    assert all(set(order) == {"id", "name"} for order in with_fields.json()["orders"])
    assert refused.status_code == 400
    assert "page_info" in refused.json()["errors"]


@pytest.mark.anyio
@pytest.mark.parametrize("token", ["not-a-cursor", "eyJmb28iOiAxfQ", "W10"])
async def test_garbled_page_info_is_400(make_sandbox: SandboxFactory, token: str) -> None:
    async with make_sandbox("shopify").client() as client:
        response = await client.get(f"/orders.json?page_info={token}")
    assert response.status_code == 400
    assert response.json() == {"errors": {"page_info": "Invalid value."}}


@pytest.mark.anyio
async def test_limit_is_capped_at_250_and_defaults_to_50(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox("shopify", sizes={**SMALL, "products": 300}).client() as client:
        capped = await client.get("/products.json?limit=1000")
        default = await client.get("/products.json")
        bad = await client.get("/products.json?limit=0")
    assert len(capped.json()["products"]) == 250
    assert "limit=250&" in links(capped)["next"]
    assert len(default.json()["products"]) == 50
    assert bad.status_code == 400
    assert "limit" in bad.json()["errors"]


@pytest.mark.anyio
async def test_since_id_and_product_status(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    products = sandbox.store.table("products")
    pivot = sorted(products.records)[10]
    async with sandbox.client() as client:
        after = (await client.get(f"/products.json?since_id={pivot}")).json()["products"]
        drafts = (await client.get("/products.json?status=draft,archived")).json()["products"]
        invalid = await client.get("/products.json?status=sold")
    assert [p["id"] for p in after] == sorted(i for i in products.records if i > pivot)
    assert {p["id"] for p in drafts} == {i for i, s in products.records.items() if s.status in (1, 2)}
    assert {p["status"] for p in drafts} <= {"draft", "archived"}
    assert invalid.status_code == 400


@pytest.mark.anyio
async def test_details_404_401_and_no_checkout_details(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("shopify")
    order_id = min(sandbox.store.ids("orders"))
    checkout_id = min(sandbox.store.ids("carts"))
    async with sandbox.client() as client:
        details = await client.get(f"/orders/{order_id}.json")
        partial = await client.get(f"/orders/{order_id}.json?fields=id,email")
        missing = await client.get("/orders/12345.json")
        checkout = await client.get(f"/checkouts/{checkout_id}.json")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=sandbox.base_url()
    ) as bare:
        unauthorized = await bare.get("/orders.json")
    assert details.json()["order"]["id"] == order_id
    assert set(partial.json()["order"]) == {"id", "email"}
    assert (missing.status_code, missing.json()) == (404, {"errors": "Not Found"})
    assert checkout.status_code == 404
    assert unauthorized.status_code == 401
    assert unauthorized.json()["errors"].startswith("[API] Invalid API key or access token")


@pytest.mark.anyio
async def test_every_answer_carries_the_call_limit(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    sandbox = make_sandbox("shopify", rate_limit="platform")
    async with sandbox.client() as client:
        first = await client.get("/customers.json")
        missing = await client.get("/customers/1.json")
        clock.advance(0.25)  # half a call leaks out at 2 a second
        third = await client.get("/customers.json")
    assert first.headers["X-Shopify-Shop-Api-Call-Limit"] == "1/40"
    assert missing.headers["X-Shopify-Shop-Api-Call-Limit"] == "2/40"
    assert third.headers["X-Shopify-Shop-Api-Call-Limit"] == "3/40"  # 2.5 in the bucket, shown rounded up
