"""The Zid flavor: ``/v1/products/`` listed, searched, read, created and updated in Zid's shapes, with
DRF's refusals, the store's rate limit, the shared faults, and the shipped Zid connector mapping what
it serves."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.connector.mapper import map_delivery, map_details_response, map_list_response
from mercator.connector.pagination import NextUrlPagination
from mercator_sandbox import Sandbox, WebhookConfig
from mercator_sandbox.flavors import Zid
from mercator_sandbox.flavors.zid import product_uuid
from tests.sandbox.conftest import FakeClock, Receiver, SandboxFactory

# 2024-06-01 00:00:00 UTC: the moment the hand-made catalogs below are laid out around.
T = int(datetime(2024, 6, 1, tzinfo=UTC).timestamp())
DAY = 86_400
LIST = "/products/"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")
ENVELOPE = [
    "total_products_count",
    "normal_products_count",
    "voucher_products_count",
    "grouped_products_count",
    "downloadable_products_count",
    "dynamic_bundle_products_count",
    "donation_item_count",
    "crowd_funding_count",
    "next",
    "previous",
    "count",
    "results",
]
UNAUTHENTICATED = {"message": "Unauthenticated", "error_code": "ERROR_SESSION_INVALID"}
MUG: dict[str, Any] = {
    "name": {"ar": "كوب أزرق", "en": "Blue Mug"},
    "sku": "MUG-1",
    "price": 12.5,
    "sale_price": 10,
    "description": "<p>A blue mug.</p>",
    "short_description": "Blue.",
    "quantity": 7,
    "is_infinite": False,
    "keywords": ["Kitchen", " Blue ", "Kitchen", ""],
    "is_published": True,
}


def zid(sandbox: Sandbox) -> Zid:
    assert isinstance(sandbox.flavor, Zid)
    return sandbox.flavor


def catalog(make_sandbox: SandboxFactory, rows: list[tuple[int, int]], **options: Any) -> Sandbox:
    """A Zid store holding exactly ``rows``: (record id, days before T it was created), all published."""
    sandbox = make_sandbox("zid", sizes={"products": 0}, **options)
    for record_id, days in rows:
        created = T - days * DAY
        sandbox.store.insert("products", record_id=record_id, created=created, updated=created, status=0)
    return sandbox


def ids(body: dict[str, Any]) -> list[str]:
    return [record["id"] for record in body["results"]]


def bare_client(sandbox: Sandbox, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app),
        base_url=sandbox.base_url("http://testserver"),
        headers=headers,
    )


async def create(client: httpx.AsyncClient, product: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(LIST, json=product)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


# --- credentials ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_every_credential_header_is_needed_and_either_store_token_header_does(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store and the headers the Zid connector sends
    sandbox = make_sandbox("zid", sizes={"products": 3})
    full = {
        "Authorization": "Bearer partner-token",
        "X-Manager-Token": "store-token",
        "Access-Token": "store-token",
        "Store-Id": "42",
        "Role": "Manager",
    }
    refused: dict[str, tuple[int, Any]] = {}
    accepted: dict[str, int] = {}

    # When the list is asked for without each credential in turn, with only one store-token header,
    # and without Role
    for missing in ("Authorization", "Store-Id"):
        async with bare_client(sandbox, {k: v for k, v in full.items() if k != missing}) as client:
            answer = await client.get(LIST)
            refused[missing] = (answer.status_code, answer.json())
    no_token = {k: v for k, v in full.items() if k not in ("X-Manager-Token", "Access-Token")}
    async with bare_client(sandbox, no_token) as client:
        answer = await client.get(LIST)
        refused["store token"] = (answer.status_code, answer.json())
    async with bare_client(sandbox, {**full, "Authorization": "Basic partner-token"}) as client:
        answer = await client.get(LIST)
        refused["Basic scheme"] = (answer.status_code, answer.json())
    for only in ("X-Manager-Token", "Access-Token"):
        other = "Access-Token" if only == "X-Manager-Token" else "X-Manager-Token"
        async with bare_client(sandbox, {k: v for k, v in full.items() if k != other}) as client:
            accepted[only] = (await client.get(LIST)).status_code
    async with bare_client(sandbox, {k: v for k, v in full.items() if k != "Role"}) as client:
        accepted["no Role"] = (await client.get(LIST)).status_code
    async with bare_client(sandbox, {}) as client:
        write = await client.post(LIST, json=MUG)

    # Then every refusal is a 401 in the one shape, a write too (and nothing was created)
    assert refused == {
        "Authorization": (401, UNAUTHENTICATED),
        "Store-Id": (401, UNAUTHENTICATED),
        "store token": (401, UNAUTHENTICATED),
        "Basic scheme": (401, UNAUTHENTICATED),
    }
    assert (write.status_code, write.json()) == (401, UNAUTHENTICATED)
    assert sandbox.store.count("products") == 3
    # And either store-token header is enough, Role is not needed
    assert accepted == {"X-Manager-Token": 200, "Access-Token": 200, "no Role": 200}


# --- listing --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_list_pages_newest_first_with_next_and_previous_links(make_sandbox: SandboxFactory) -> None:
    # Given seven products created 1 to 7 days before T, ids not in creation order
    rows = [(1010, 3), (1020, 1), (1030, 7), (1040, 2), (1050, 6), (1060, 4), (1070, 5)]
    sandbox = catalog(make_sandbox, rows)
    newest_first = [product_uuid(i) for i in (1020, 1040, 1010, 1060, 1070, 1050, 1030)]

    # When the three pages of three are walked, and a page past the last is asked for
    async with sandbox.client() as client:
        first = (await client.get(LIST, params={"page_size": 3})).json()
        second = (await client.get(LIST, params={"page_size": 3, "page": 2})).json()
        third = (await client.get(LIST, params={"page_size": 3, "page": 3})).json()
        past = await client.get(LIST, params={"page_size": 3, "page": 4})
        zeroth = await client.get(LIST, params={"page_size": 3, "page": 0})

    # Then the envelope is Zid's, with the counts and DRF's links (page 1's link carries no page)
    assert list(first) == ENVELOPE
    assert (first["count"], first["total_products_count"], first["normal_products_count"]) == (7, 7, 7)
    assert first["voucher_products_count"] == first["crowd_funding_count"] == 0
    assert (first["next"], first["previous"]) == ("http://testserver/v1/products/?page_size=3&page=2", None)
    assert (second["next"], second["previous"]) == (
        "http://testserver/v1/products/?page_size=3&page=3",
        "http://testserver/v1/products/?page_size=3",
    )
    assert (third["next"], third["previous"]) == (
        None,
        "http://testserver/v1/products/?page_size=3&page=2",
    )
    # And the pages hold the products newest first, without gaps or overlaps
    assert ids(first) + ids(second) + ids(third) == newest_first
    assert [len(ids(page)) for page in (first, second, third)] == [3, 3, 1]
    # And a page outside the listing is DRF's 404
    assert (past.status_code, past.json()) == (404, {"detail": "Invalid page."})
    assert (zeroth.status_code, zeroth.json()) == (404, {"detail": "Invalid page."})


@pytest.mark.anyio
async def test_page_size_defaults_to_10_is_capped_at_50_and_ordering_is_honoured(
    make_sandbox: SandboxFactory,
) -> None:
    # Given 55 products created one a day (record id 1001 the oldest, 1055 the newest)
    sandbox = catalog(make_sandbox, [(1000 + n, 56 - n) for n in range(1, 56)])

    # When the list is asked for with no page size, 80, a page size that is no number, and oldest first
    async with sandbox.client() as client:
        default = (await client.get(LIST)).json()
        capped = (await client.get(LIST, params={"page_size": 80})).json()
        junk = (await client.get(LIST, params={"page_size": "many"})).json()
        oldest = (await client.get(LIST, params={"ordering": "created_at", "page_size": 2})).json()
        ignored = (await client.get(LIST, params={"ordering": "price", "page_size": 2})).json()
        empty_store = catalog(make_sandbox, [])
        async with empty_store.client() as empty_client:
            empty = await empty_client.get(LIST)

    # Then 10 is the default and 50 the most a page holds; a page size that is no number is ignored
    assert (len(default["results"]), default["next"]) == (10, "http://testserver/v1/products/?page=2")
    assert (len(capped["results"]), capped["count"]) == (50, 55)
    assert capped["next"] == "http://testserver/v1/products/?page_size=80&page=2"
    assert len(junk["results"]) == 10
    # And ordering=created_at lists the oldest first; an ordering Zid does not offer is ignored
    assert ids(oldest) == [product_uuid(1001), product_uuid(1002)]
    assert ids(ignored) == [product_uuid(1055), product_uuid(1054)]
    # And page 1 of an empty listing is an empty page, not a 404
    assert empty.status_code == 200
    assert (empty.json()["count"], empty.json()["results"], empty.json()["next"]) == (0, [], None)


@pytest.mark.anyio
async def test_search_finds_the_exact_sku_and_names_in_either_language(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    # Given a store of generated products and three created ones
    sandbox = make_sandbox("zid", sizes={"products": 6})
    async with sandbox.client() as client:
        mug = await create(client, MUG)
        clock.advance(1)
        tens = await create(client, {**MUG, "sku": "MUG-10", "name": "Red Cup"})
        clock.advance(1)
        plate = await create(client, {**MUG, "sku": "PLT-1", "name": {"ar": "صحن", "en": "Plate"}})

        # When the list is searched by a SKU, by part of an English name, by an Arabic name, by part
        # of a SKU, and for nothing
        by_sku = (await client.get(LIST, params={"search": "MUG-1", "page_size": 50})).json()
        by_name = (await client.get(LIST, params={"search": "blue mug", "page_size": 50})).json()
        by_arabic = (await client.get(LIST, params={"search": "صحن"})).json()
        by_part = (await client.get(LIST, params={"search": "MUG-"})).json()
        nothing = (await client.get(LIST, params={"search": "no such thing"})).json()

    # Then a SKU finds its product only (not the one whose SKU starts with it)
    assert ids(by_sku) == [mug["id"]]
    assert by_sku["count"] == 1
    # And names are searched case-insensitively in both languages; part of a SKU finds nothing
    assert ids(by_name) == [mug["id"]]
    assert ids(by_arabic) == [plate["id"]]
    assert tens["id"] not in ids(by_part) and ids(by_part) == []
    # And the counts of the envelope stay the store's while count is the search's
    assert (nothing["count"], nothing["results"], nothing["total_products_count"]) == (0, [], 9)


# --- writes ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_created_product_reads_back_in_its_answer_details_list_and_neutral_view(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    # Given a store a minute after its anchor (2025-01-01 00:00 UTC)
    sandbox = make_sandbox("zid", sizes={"products": 4})
    generated = sandbox.store.ids("products")
    clock.advance(60)

    # When a product is created with a localized name, a plain description, a sale price and stock
    async with sandbox.client() as client:
        answer = await client.post(LIST, json=MUG)
        product = answer.json()
        details = (await client.get(f"/products/{product['id']}/")).json()
        newest = (await client.get(LIST)).json()

    # Then the answer is a 201 with the product itself, as written and rendered the Zid way
    assert answer.status_code == 201
    assert UUID.match(product["id"])
    record_id = zid(sandbox).record_id(product["id"])
    assert record_id is not None and record_id not in generated
    assert product["name"] == {"ar": "كوب أزرق", "en": "Blue Mug"}
    assert product["description"] == {"ar": "<p>A blue mug.</p>", "en": "<p>A blue mug.</p>"}
    assert product["short_description"] == {"ar": "Blue.", "en": "Blue."}
    assert (product["sku"], product["slug"]) == ("MUG-1", "blue-mug")
    assert (product["price"], product["sale_price"]) == (12.5, 10)
    assert (product["formatted_price"], product["formatted_sale_price"]) == (" SAR 12.50", " SAR 10.00")
    assert (product["currency"], product["quantity"], product["is_infinite"]) == ("SAR", 7, False)
    assert [(s["available_quantity"], s["is_infinite"]) for s in product["stocks"]] == [(7, False)]
    assert product["keywords"] == ["Kitchen", "Blue"]
    assert (product["is_published"], product["is_draft"], product["images"]) == (True, False, [])
    assert product["created_at"] == product["updated_at"] == "2025-01-01T00:01:00.000000Z"
    assert product["html_url"] == "https://mercator-sandbox.zid.store/products/blue-mug"
    # And details and the newest-first list answer the same product
    assert details == product
    assert newest["results"][0] == product
    # And the neutral view reads English, the regular price and the stock
    (view,) = [view for view in sandbox.products() if view["id"] == record_id]
    assert view == {
        "id": record_id,
        "sku": "MUG-1",
        "handle": None,
        "name": "Blue Mug",
        "description": "<p>A blue mug.</p>",
        "price": Decimal("12.50"),
        "quantity": 7,
        "visible": True,
        "images": [],
        "tags": ["Kitchen", "Blue"],
    }


@pytest.mark.anyio
async def test_a_patch_writes_only_what_it_gives_and_moves_the_update_time(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    # Given a product created at the store's anchor
    sandbox = make_sandbox("zid", sizes={"products": 0})
    async with sandbox.client() as client:
        mug = await create(client, MUG)
        clock.advance(3_600)

        # When it is made infinite, unpublished, repriced with text and stripped of keywords; then
        # given an Arabic-only name; then a product that does not exist is patched
        patched = await client.patch(
            f"/products/{mug['id']}/",
            json={"is_infinite": True, "is_published": False, "price": "15", "keywords": []},
        )
        renamed = (await client.patch(f"/products/{mug['id']}/", json={"name": {"ar": "كوب"}})).json()
        unknown = await client.patch(f"/products/{product_uuid(999_999)}/", json={"price": 1})
        listed = (await client.get(LIST)).json()

    # Then the answer is a 200 with the product, only the given fields changed
    assert patched.status_code == 200
    first = patched.json()
    assert (first["price"], first["sale_price"], first["formatted_price"]) == (15, 10, " SAR 15.00")
    assert (first["quantity"], first["is_infinite"], first["stocks"][0]["available_quantity"]) == (
        None,
        True,
        None,
    )
    assert (first["is_published"], first["keywords"]) == (False, [])
    assert (first["name"], first["sku"], first["description"]) == (
        mug["name"],
        "MUG-1",
        mug["description"],
    )
    # And the write moved the update time to the store's present, the creation time stayed
    assert (first["created_at"], first["updated_at"]) == (
        "2025-01-01T00:00:00.000000Z",
        "2025-01-01T01:00:00.000000Z",
    )
    # And an object name replaces the name, with the languages it gives
    assert renamed["name"] == {"ar": "كوب"}
    assert renamed["updated_at"] == "2025-01-01T01:00:01.000000Z"
    # And an unknown product is DRF's 404
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not found."})
    # And the list and the neutral view show the written product
    assert listed["results"] == [renamed]
    assert sandbox.products() == [
        {
            "id": zid(sandbox).record_id(mug["id"]),
            "sku": "MUG-1",
            "handle": None,
            "name": "كوب",
            "description": "<p>A blue mug.</p>",
            "price": Decimal("15.00"),
            "quantity": None,
            "visible": False,
            "images": [],
            "tags": [],
        }
    ]


@pytest.mark.anyio
async def test_invalid_bodies_are_refused_field_by_field_and_change_nothing(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store holding one product with the SKU MUG-1
    sandbox = make_sandbox("zid", sizes={"products": 0})
    answers: dict[str, httpx.Response] = {}
    async with sandbox.client() as client:
        mug = await create(client, MUG)

        # When bodies with missing, blank, mistyped, inconsistent and taken values are sent
        answers["empty"] = await client.post(LIST, json={})
        answers["mistyped"] = await client.post(
            LIST,
            json={
                "name": "  ",
                "price": "twelve",
                "quantity": 1.5,
                "keywords": "a,b",
                "is_published": "maybe",
                "sku": None,
            },
        )
        answers["negative"] = await client.post(LIST, json={"name": "A", "price": -1, "quantity": 1})
        answers["no stock"] = await client.post(LIST, json={"name": "A", "price": 5, "is_infinite": False})
        answers["sale"] = await client.post(
            LIST, json={"name": "A", "price": 5, "sale_price": 5, "quantity": 1}
        )
        answers["taken"] = await client.post(LIST, json={**MUG, "name": "Another"})
        answers["not json"] = await client.post(
            LIST, content=b"not json", headers={"Content-Type": "application/json"}
        )
        answers["a list"] = await client.post(LIST, json=[MUG])
        answers["patch sale"] = await client.patch(f"/products/{mug['id']}/", json={"sale_price": 20})
        answers["patch stock"] = await client.patch(f"/products/{mug['id']}/", json={"quantity": None})
        after = (await client.get(f"/products/{mug['id']}/")).json()

    # Then each is a 400 whose whole body names every failed field with DRF's messages, in the
    # serializer's field order
    refusals = {name: (answer.status_code, answer.json()) for name, answer in answers.items()}
    assert refusals == {
        "empty": (400, {"name": ["This field is required."], "price": ["This field is required."]}),
        "mistyped": (
            400,
            {
                "name": ["This field may not be blank."],
                "sku": ["This field may not be null."],
                "price": ["A valid number is required."],
                "quantity": ["A valid integer is required."],
                "keywords": ['Expected a list of items but got type "str".'],
                "is_published": ["Must be a valid boolean."],
            },
        ),
        "negative": (400, {"price": ["Ensure this value is greater than or equal to 0."]}),
        "no stock": (400, {"quantity": ["This field is required when is_infinite is false."]}),
        "sale": (400, {"sale_price": ["Sale price must be less than the price."]}),
        "taken": (400, {"sku": ["product with this sku already exists."]}),
        "not json": (400, {"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}),
        "a list": (400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        "patch sale": (400, {"sale_price": ["Sale price must be less than the price."]}),
        "patch stock": (400, {"quantity": ["This field may not be null."]}),
    }
    assert list(answers["mistyped"].json()) == [
        "name",
        "sku",
        "price",
        "quantity",
        "keywords",
        "is_published",
    ]
    # And nothing was created or changed
    assert sandbox.store.count("products") == 1
    assert after == mug


@pytest.mark.anyio
async def test_a_create_without_sku_gets_zids_generated_one_and_an_infinite_one_needs_no_stock(
    make_sandbox: SandboxFactory,
) -> None:
    # Given an empty store at its anchor, 2025-01-01 00:00:00 UTC (epoch 1735689600)
    sandbox = make_sandbox("zid", sizes={"products": 0})

    # When two products are created without a SKU in the same second, one of them infinite
    async with sandbox.client() as client:
        first = await create(client, {"name": "Gift", "price": 0, "is_infinite": True})
        second = await create(client, {"name": "Gift", "price": "3.999", "quantity": "4"})

    # Then each gets Z. and the creation time in microseconds, distinct within the second
    assert (first["sku"], second["sku"]) == ("Z.1735689600000000", "Z.1735689600000001")
    # And the slug of the second is made unique, the price is kept to the cent, the stock read as a number
    assert (first["slug"], second["slug"]) == ("gift", "gift-2")
    assert (second["price"], second["quantity"]) == (4, 4)
    # And the infinite product answers no quantity, and is published by default
    assert (first["quantity"], first["is_infinite"], first["is_published"]) == (None, True, True)


@pytest.mark.anyio
async def test_writes_fire_the_product_webhooks_with_the_product_and_basic_credentials(
    make_sandbox: SandboxFactory, receiver: Receiver
) -> None:
    # Given a store that sends its webhooks to a receiver
    config = WebhookConfig(url="http://receiver.test/hooks", secret="hook-pass")
    sandbox = make_sandbox("zid", sizes={"products": 0}, webhooks=config, webhook_client=receiver.client())

    # When a product is created, updated and then deleted in the store
    async with sandbox.client() as client:
        mug = await create(client, MUG)
        await client.patch(f"/products/{mug['id']}/", json={"price": 14})
    record_id = zid(sandbox).record_id(mug["id"])
    assert record_id is not None
    sandbox.store.delete("products", record_id)
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()

    # Then product.create, product.update and product.delete went out, with the product (or its id)
    bodies = [json.loads(body) for _, body in receiver.received]
    assert [body["id"] for body in bodies] == [mug["id"]] * 3
    assert (bodies[0]["price"], bodies[1]["price"]) == (12.5, 14)
    assert bodies[2] == {"id": mug["id"]}
    # And every delivery carries the HTTP Basic credentials of the subscription, no signature
    expected = "Basic " + base64.b64encode(b"zid-webhooks:hook-pass").decode()
    assert [headers["authorization"] for headers, _ in receiver.received] == [expected] * 3
    # And the events are those the connector handles
    assert [sandbox.flavor.event_for("products", change) for change in ("created", "updated", "deleted")] == [
        "product.create",
        "product.update",
        "product.delete",
    ]


# --- the pipeline ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_platform_rate_limit_refuses_the_61st_write_in_a_second(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    # Given a store with Zid's own budget: a bucket of 60 requests draining one a second
    sandbox = make_sandbox("zid", sizes={"products": 0}, rate_limit="platform")
    statuses = []

    # When 61 products are created at once, and one more a second later
    async with sandbox.client() as client:
        for n in range(61):
            answer = await client.post(LIST, json={"name": f"P{n}", "price": 1, "quantity": 1})
            statuses.append(answer.status_code)
        refused = answer
        clock.advance(1)
        later = await client.post(LIST, json={"name": "Later", "price": 1, "quantity": 1})

    # Then the first 60 land and the 61st is a 429 with Retry-After and DRF's throttle text
    assert statuses == [201] * 60 + [429]
    assert refused.headers["Retry-After"] == "1"
    assert refused.json() == {"detail": "Request was throttled. Expected available in 1 second."}
    assert sandbox.store.count("products") == 61
    # And a second later one more fits
    assert later.status_code == 201
    assert sandbox.counters.snapshot()["throttled"] == 1


@pytest.mark.anyio
async def test_a_lost_create_answer_leaves_the_product_findable_by_its_sku(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store that loses the answer of the next write that lands
    sandbox = make_sandbox("zid", sizes={"products": 5})
    sandbox.set_faults(lost_write_answers={"count": 1})

    # When a product is created, its answer lost, and the client looks for it and creates it again
    async with sandbox.client() as client:
        lost = await client.post(LIST, json=MUG)
        found = (await client.get(LIST, params={"search": "MUG-1", "page_size": 50})).json()
        again = await client.post(LIST, json=MUG)

    # Then the client got a 502 in Zid's shape though the product landed
    assert (lost.status_code, lost.json()) == (502, {"detail": "Bad Gateway"})
    assert [record["sku"] for record in found["results"]] == ["MUG-1"]
    assert sandbox.counters.snapshot()["lost_answers"] == 1
    # And a second create of the same SKU is refused instead of making a duplicate
    assert (again.status_code, again.json()) == (400, {"sku": ["product with this sku already exists."]})
    assert sandbox.store.count("products") == 6


@pytest.mark.anyio
async def test_server_error_and_burst_faults_answer_in_zids_shapes(make_sandbox: SandboxFactory) -> None:
    # Given a store whose every request fails with a 5xx, and one throttling every other request
    failing = make_sandbox("zid", sizes={"products": 2}, faults={"error_rate": 1.0})
    bursting = make_sandbox(
        "zid", sizes={"products": 2}, faults={"burst_429_every": 1, "burst_429_length": 1}
    )

    # When each is asked for the list a few times
    async with failing.client() as client:
        failed = [await client.get(LIST) for _ in range(12)]
    async with bursting.client() as client:
        burst = [await client.get(LIST) for _ in range(2)]

    # Then every 5xx carries DRF's detail for its status
    details = {answer.status_code: answer.json() for answer in failed}
    assert details == {
        500: {"detail": "A server error occurred."},
        502: {"detail": "Bad Gateway"},
        503: {"detail": "Service Unavailable"},
    }
    # And the burst's 429 is the throttle refusal with the fault's Retry-After (2 seconds)
    assert [answer.status_code for answer in burst] == [200, 429]
    assert burst[1].headers["Retry-After"] == "2"
    assert burst[1].json() == {"detail": "Request was throttled. Expected available in 2 seconds."}


# --- ids, views and the connector -----------------------------------------------------------------


def test_uuids_map_back_to_record_ids_only_for_live_products(make_sandbox: SandboxFactory) -> None:
    # Given a store of three products, one then deleted
    sandbox = make_sandbox("zid", sizes={"products": 3})
    first, second, third = sorted(sandbox.store.ids("products"))
    sandbox.store.delete("products", third)
    flavor = zid(sandbox)

    # Then each live product's uuid leads back to it, upper case too
    assert flavor.record_id(product_uuid(first)) == first
    assert flavor.record_id(product_uuid(second).upper()) == second
    assert UUID.match(product_uuid(first)) and product_uuid(first) != product_uuid(second)
    # And a deleted product's uuid, a uuid the store never made and text that is no uuid lead nowhere
    assert flavor.record_id(product_uuid(third)) is None
    made = product_uuid(first)
    assert flavor.record_id(made[:-1] + ("0" if made[-1] != "0" else "1")) is None
    assert flavor.record_id("not-a-uuid") is None


@pytest.mark.anyio
async def test_the_neutral_view_agrees_with_what_the_list_shows(make_sandbox: SandboxFactory) -> None:
    # Given a store of 40 generated products (some infinite, some unpublished, some with images)
    sandbox = make_sandbox("zid", sizes={"products": 40})

    # When the whole list is read
    async with sandbox.client() as client:
        records = (await client.get(LIST, params={"page_size": 50})).json()["results"]

    # Then every product's neutral view is what its record says
    by_uuid = {record["id"]: record for record in records}
    views = sandbox.products()
    assert len(views) == len(records) == 40
    for view in views:
        record = by_uuid[product_uuid(view["id"])]
        assert view["sku"] == record["sku"]
        assert view["name"] == record["name"]["en"]
        assert view["description"] == record["description"]["en"]
        assert view["price"] == Decimal(str(record["price"])).quantize(Decimal("0.01"))
        assert view["quantity"] == record["quantity"]
        assert view["visible"] is record["is_published"]
        assert view["images"] == [image["image"]["full_size"] for image in record["images"]]
        assert view["tags"] == record["keywords"]
    # And the generated store has each kind of product the view must tell apart
    assert {view["quantity"] is None for view in views} == {True, False}
    assert {view["visible"] for view in views} == {True, False}
    assert any(view["images"] for view in views)


@pytest.mark.anyio
async def test_the_shipped_zid_connector_maps_every_listed_and_detailed_product(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store of 23 products and the shipped Zid connector
    sandbox = make_sandbox("zid", sizes={"products": 23})
    definition = load_shipped("zid")
    resource = definition.resources["products"]
    pagination = resource.pagination
    listing = resource.endpoints.list
    assert isinstance(pagination, NextUrlPagination) and listing is not None
    size_param = pagination.paramName
    assert size_param is not None
    assert (size_param, pagination.nextUrlPath) == ("page_size", "next")

    # When the list is walked the connector's way (its page size, then each answer's next URL) and
    # each product is read by the details URL
    mapped: list[dict[str, Any]] = []
    pages = 0
    async with sandbox.client() as client:
        answer = await client.get(listing.url, params={size_param: 10})
        while True:
            assert answer.status_code == 200, answer.text
            body = answer.json()
            outcome = map_list_response(definition, "products", body)
            assert outcome.failures == [], outcome.failures[0].reason
            mapped += outcome.records
            pages += 1
            if body[pagination.nextUrlPath] is None:
                break
            answer = await client.get(body[pagination.nextUrlPath])
        details = resource.endpoints.details
        assert details is not None
        detailed = []
        for record_id in sorted(sandbox.store.ids("products")):
            response = await client.get(details.url.format(id=product_uuid(record_id)))
            outcome = map_details_response(definition, "products", response.json())
            assert outcome.failures == [], outcome.failures[0].reason
            detailed.append(outcome.records[0])

    # Then every product mapped once, coded by its uuid, over three pages
    expected = sorted(product_uuid(i) for i in sandbox.store.ids("products"))
    assert pages == 3
    assert sorted(record["code"] for record in mapped) == expected
    assert sorted(record["code"] for record in detailed) == expected
    # And the mapped fields are the product's: its neutral view in the connector's terms
    views = {product_uuid(view["id"]): view for view in sandbox.products()}
    for record in mapped:
        view = views[record["code"]]
        assert (record["sku"], record["name"], record["tags"]) == (view["sku"], view["name"], view["tags"])
        assert record["status"] == ("published" if view["visible"] else "unpublished")
        assert Decimal(str(record["unitPrice"])).quantize(Decimal("0.01")) == view["price"]


def test_the_shipped_zid_connector_maps_every_product_webhook_the_store_sends(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store with webhooks on and the shipped Zid connector
    sandbox = make_sandbox(
        "zid", sizes={"products": 4}, webhooks=WebhookConfig(url="http://r.test/h", secret="s")
    )
    definition = load_shipped("zid")
    emitter = sandbox.emitter
    assert emitter is not None

    # When each product event the store sends is built for each product
    covered = set()
    for event in sandbox.flavor.events("products"):
        for record_id in sorted(sandbox.store.ids("products")):
            delivery = emitter.emit("products", record_id, event)
            outcome = map_delivery(definition, event, json.loads(delivery.body))

            # Then it maps without failures to the product's uuid
            assert outcome.failures == [], outcome.failures[0].reason
            assert outcome.records[0]["code"] == product_uuid(record_id)
        covered.add(event)
    # And every product handler of the connector is exercised (orders: test_zid_shipments.py); the
    # store serves no customers or carts
    product_handlers = {
        name for name, handler in definition.handlers.items() if handler.recordType == "product"
    }
    assert covered == product_handlers
    assert sandbox.store.resources == ("products", "orders")
