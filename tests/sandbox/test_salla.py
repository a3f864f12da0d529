"""The Salla flavor over plain httpx: envelope, page-number pagination, filters, errors, budget headers."""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.sandbox.conftest import SMALL, FakeClock, SandboxFactory

RIYADH = ZoneInfo("Asia/Riyadh")
ANCHOR = int(datetime(2025, 1, 1, tzinfo=ZoneInfo("UTC")).timestamp())


def local_day(epoch: int) -> date:
    return datetime.fromtimestamp(epoch, RIYADH).date()


@pytest.mark.anyio
async def test_walk_every_page_of_orders(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    seen: list[int] = []
    dates: list[str] = []
    async with sandbox.client() as client:
        url: str | None = "/orders?per_page=7"
        page = 0
        while url:
            page += 1
            response = await client.get(url)
            body = response.json()
            assert response.status_code == 200
            assert (body["status"], body["success"]) == (200, True)
            pagination = body["pagination"]
            # 60 orders in pages of 7: eight full pages and one of 4.
            assert pagination["total"] == 60
            assert pagination["perPage"] == 7
            assert pagination["totalPages"] == 9
            assert pagination["currentPage"] == page
            assert pagination["count"] == len(body["data"]) == (7 if page < 9 else 4)
            assert ("previous" in pagination["links"]) == (page > 1)
            seen += [order["id"] for order in body["data"]]
            dates += [order["date"]["date"] for order in body["data"]]
            url = pagination["links"].get("next")
            if url:
                assert url.startswith("http://testserver/admin/v2/orders?")
    assert page == 9
    assert sorted(seen) == sorted(sandbox.store.ids("orders"))
    assert len(seen) == len(set(seen))
    assert dates == sorted(dates, reverse=True)  # newest first


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "resource"),
    [("/products", "products"), ("/customers", "customers"), ("/carts/abandoned", "carts")],
)
async def test_other_lists_and_their_details(make_sandbox: SandboxFactory, path: str, resource: str) -> None:
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        body = (await client.get(f"{path}?per_page=60")).json()
        assert {record["id"] for record in body["data"]} == sandbox.store.ids(resource)
        record_id = body["data"][0]["id"]
        details = (await client.get(f"{path}/{record_id}")).json()
    assert details["status"] == 200
    assert details["data"]["id"] == record_id


@pytest.mark.anyio
async def test_order_details_carry_updated_at_and_the_list_does_not(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    record_id = min(sandbox.store.ids("orders"))
    state = sandbox.store.get("orders", record_id)
    async with sandbox.client() as client:
        listed = (await client.get("/orders?per_page=60")).json()["data"]
        details = (await client.get(f"/orders/{record_id}")).json()["data"]
    assert all("updated_at" not in order for order in listed)
    expected = datetime.fromtimestamp(state.updated, RIYADH).strftime("%Y-%m-%d %H:%M:%S.000000")
    assert details["updated_at"] == {"date": expected, "timezone_type": 3, "timezone": "Asia/Riyadh"}


@pytest.mark.anyio
async def test_date_filter_selects_creation_days_in_store_time(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla", sizes={**SMALL, "orders": 200})
    table = sandbox.store.table("orders")
    days = sorted({local_day(state.created) for state in table.records.values()})
    first, last = days[20], days[40]
    expected = {i for i, state in table.records.items() if first <= local_day(state.created) <= last}
    async with sandbox.client() as client:
        body = (await client.get(f"/orders?per_page=60&from_date={first}&to_date={last}")).json()
        pages = body["pagination"]["totalPages"]
        found = {order["id"] for order in body["data"]}
        for page in range(2, pages + 1):
            more = (
                await client.get(f"/orders?per_page=60&from_date={first}&to_date={last}&page={page}")
            ).json()
            found |= {order["id"] for order in more["data"]}
    assert body["pagination"]["total"] == len(expected)
    assert found == expected


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("from_date=2024-13-01", "from_date"),
        ("to_date=yesterday", "to_date"),
        ("per_page=0", "per_page"),
        ("page=two", "page"),
    ],
)
async def test_bad_params_are_400_naming_the_field(
    make_sandbox: SandboxFactory, query: str, param: str
) -> None:
    async with make_sandbox("salla").client() as client:
        response = await client.get(f"/orders?{query}")
    body = response.json()
    assert response.status_code == 400
    assert body["success"] is False
    assert list(body["error"]["fields"]) == [param]


@pytest.mark.anyio
async def test_per_page_is_capped(make_sandbox: SandboxFactory) -> None:
    sizes = {**SMALL, "orders": 130}
    async with make_sandbox("salla", sizes=sizes).client() as client:
        default_cap = (await client.get("/orders?per_page=500")).json()
    async with make_sandbox("salla", sizes=sizes, max_per_page=100).client() as client:
        wider_cap = (await client.get("/orders?per_page=500")).json()
        default_size = (await client.get("/orders")).json()
    assert (default_cap["pagination"]["perPage"], len(default_cap["data"])) == (60, 60)
    assert (wider_cap["pagination"]["perPage"], len(wider_cap["data"])) == (100, 100)
    assert wider_cap["pagination"]["totalPages"] == 2
    assert (default_size["pagination"]["perPage"], len(default_size["data"])) == (15, 15)


@pytest.mark.anyio
async def test_a_page_past_the_end_is_empty(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox("salla").client() as client:
        body = (await client.get("/orders?per_page=50&page=3")).json()
    assert body["data"] == []
    assert body["pagination"]["totalPages"] == 2
    assert body["pagination"]["links"]["previous"].endswith("page=2")


@pytest.mark.anyio
async def test_unknown_id_is_404_in_salla_shape(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        missing = await client.get("/orders/1")
        not_a_number = await client.get("/products/abc")
        no_route = await client.get("/reviews")
    for response in (missing, not_a_number, no_route):
        assert response.status_code == 404
        assert response.json()["success"] is False
        assert response.json()["status"] == 404


@pytest.mark.anyio
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}])
async def test_missing_credentials_are_401(make_sandbox: SandboxFactory, headers: dict[str, str]) -> None:
    sandbox = make_sandbox("salla")
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=sandbox.base_url()) as client:
        response = await client.get("/orders", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"


@pytest.mark.anyio
async def test_platform_budget_headers(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    sandbox = make_sandbox("salla", rate_limit="platform")
    async with sandbox.client() as client:
        first = await client.get("/orders")
        second = await client.get("/orders")
        clock.advance(0.5)  # one request leaks out at 2 a second
        third = await client.get("/orders")
    assert first.headers["X-RateLimit-Limit"] == "120"
    assert first.headers["X-RateLimit-Remaining"] == "119"
    assert second.headers["X-RateLimit-Remaining"] == "118"
    assert third.headers["X-RateLimit-Remaining"] == "118"
    # Two requests in the bucket drain in one second: the reset is an epoch about a second from now.
    assert 0 <= int(third.headers["X-RateLimit-Reset"]) - time.time() <= 2
