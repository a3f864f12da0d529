"""The WooCommerce flavor over plain httpx: bare arrays, X-WP headers, Link, orderings, filters, errors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import httpx
import pytest

from mercator_sandbox import RateLimitConfig
from tests.sandbox.conftest import SMALL, FakeClock, SandboxFactory


@pytest.mark.anyio
async def test_walk_orders_by_id(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    seen: list[int] = []
    async with sandbox.client() as client:
        for page in range(1, 10):
            response = await client.get(f"/orders?orderby=id&order=asc&per_page=7&page={page}")
            assert response.headers["X-WP-Total"] == "60"
            assert response.headers["X-WP-TotalPages"] == "9"
            rels = {rel: link["url"] for rel, link in response.links.items()}
            assert ("prev" in rels) == (page > 1)
            assert ("next" in rels) == (page < 9)
            if page < 9:
                assert rels["next"].endswith(f"page={page + 1}")
                assert "orderby=id" in rels["next"]
            body = response.json()
            assert isinstance(body, list)
            assert len(body) == (7 if page < 9 else 4)
            seen += [order["id"] for order in body]
        past = await client.get("/orders?per_page=7&page=10")
    assert seen == sorted(sandbox.store.ids("orders"))
    assert past.json() == []
    assert past.headers["X-WP-Total"] == "60"


@pytest.mark.anyio
async def test_default_orderings(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    async with sandbox.client() as client:
        orders = (await client.get("/orders?per_page=100")).json()
        customers = (await client.get("/customers?per_page=100")).json()
        modified = (await client.get("/products?per_page=100&orderby=modified&order=asc")).json()
    created = [order["date_created_gmt"] for order in orders]
    assert created == sorted(created, reverse=True)  # date, newest first
    names = [(c["first_name"] + " " + c["last_name"], c["id"]) for c in customers]
    assert names == sorted(names)  # name, ascending
    stamps = [product["date_modified_gmt"] for product in modified]
    assert stamps == sorted(stamps)


@pytest.mark.anyio
async def test_offset_skips_records(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox("woocommerce").client() as client:
        all_ids = [o["id"] for o in (await client.get("/orders?orderby=id&order=asc&per_page=20")).json()]
        offset = [
            o["id"] for o in (await client.get("/orders?orderby=id&order=asc&per_page=5&offset=12")).json()
        ]
    assert offset == all_ids[12:17]


@pytest.mark.anyio
async def test_modified_after_reads_gmt_or_site_time(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    # 2024-03-10 12:00 GMT is 09:00 in Sao Paulo (UTC-3).
    noon = int(datetime(2024, 3, 10, 12, 0, tzinfo=UTC).timestamp())
    early = sandbox.store.insert("orders", created=noon - 7200, updated=noon - 7200)  # 10:00 GMT
    late = sandbox.store.insert("orders", created=noon - 7200, updated=noon + 60)  # 12:01 GMT
    query = "/orders?orderby=id&order=asc&per_page=100&modified_after=2024-03-10T09:30:00"
    async with sandbox.client() as client:
        gmt = (await client.get(query + "&dates_are_gmt=true")).json()
        local = (await client.get(query)).json()
    new_ids = {early.id, late.id}
    # GMT 09:30: both new orders were modified later. Site time 09:30 is 12:30 GMT: neither was.
    assert {o["id"] for o in gmt} & new_ids == {early.id, late.id}
    assert {o["id"] for o in local} & new_ids == set()
    just_after = "/orders?per_page=100&modified_after=2024-03-10%2012:00:00&dates_are_gmt=1"
    async with sandbox.client() as client:
        after_noon = (await client.get(just_after)).json()
    assert {o["id"] for o in after_noon} & new_ids == {late.id}


@pytest.mark.anyio
async def test_status_filter(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    table = sandbox.store.table("orders")
    async with sandbox.client() as client:
        body = (await client.get("/orders?per_page=100&status=completed,processing")).json()
    assert {o["id"] for o in body} == {i for i, s in table.records.items() if s.status in (1, 3)}
    assert {o["status"] for o in body} == {"completed", "processing"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("orderby=title", "orderby"),
        ("order=up", "order"),
        ("modified_after=last-week", "modified_after"),
        ("status=shipped", "status"),
        ("dates_are_gmt=maybe", "dates_are_gmt"),
    ],
)
async def test_bad_params_are_rest_invalid_param(
    make_sandbox: SandboxFactory, query: str, param: str
) -> None:
    async with make_sandbox("woocommerce").client() as client:
        response = await client.get(f"/orders?{query}")
    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == f"Invalid parameter(s): {param}"
    assert list(body["data"]["params"]) == [param]


@pytest.mark.anyio
async def test_credentials_in_either_form(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    transport = httpx.ASGITransport(app=sandbox.app)
    empty_secret = "Basic " + base64.b64encode(b"ck_1:").decode()
    async with httpx.AsyncClient(transport=transport, base_url=sandbox.base_url()) as client:
        basic = await client.get("/products", auth=("ck_1", "cs_1"))
        query = await client.get("/products?consumer_key=ck_1&consumer_secret=cs_1")
        nothing = await client.get("/products")
        half = await client.get("/products", headers={"Authorization": empty_secret})
        details = await client.get(f"/products/{min(sandbox.store.ids('products'))}")
    assert basic.status_code == query.status_code == 200
    for refused, verb in (
        (nothing, "list resources"),
        (half, "list resources"),
        (details, "view this resource"),
    ):
        assert refused.status_code == 401
        assert refused.json() == {
            "code": "woocommerce_rest_cannot_view",
            "message": f"Sorry, you cannot {verb}.",
            "data": {"status": 401},
        }


@pytest.mark.anyio
async def test_unknown_ids_and_routes(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("woocommerce")
    async with sandbox.client() as client:
        order = await client.get("/orders/1")
        customer = await client.get("/customers/1")
        carts = await client.get("/carts")
        found = await client.get(f"/customers/{min(sandbox.store.ids('customers'))}")
    assert (order.status_code, order.json()["code"]) == (404, "woocommerce_rest_shop_order_invalid_id")
    assert (customer.status_code, customer.json()["code"]) == (404, "woocommerce_rest_invalid_id")
    assert (carts.status_code, carts.json()["code"]) == (404, "rest_no_route")
    assert found.json()["_links"]["self"][0]["href"].startswith("http://testserver/wp-json/wc/v3/customers/")


@pytest.mark.anyio
async def test_no_rate_limit_by_default_and_429_when_configured(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    unlimited = make_sandbox("woocommerce", rate_limit="platform", sizes={**SMALL, "orders": 3})
    async with unlimited.client() as client:
        statuses = {(await client.get("/orders")).status_code for _ in range(50)}
    assert statuses == {200}
    limited = make_sandbox(
        "woocommerce", rate_limit=RateLimitConfig(rate=0.5, burst=2), sizes={**SMALL, "orders": 3}
    )
    async with limited.client() as client:
        codes = [(await client.get("/orders")).status_code for _ in range(3)]
        refused = await client.get("/orders")
    assert codes == [200, 200, 429]
    assert refused.headers["Retry-After"] == "2"  # one call leaks out every 2 s
    assert refused.json()["data"]["status"] == 429
