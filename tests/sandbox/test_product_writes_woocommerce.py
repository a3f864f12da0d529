"""WooCommerce product writes (wc/v3): products created and updated, found by SKU and slug, their
stock rules, tags and images, and WordPress's and WooCommerce's refusals."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from mercator_sandbox import RateLimitConfig, Sandbox, WebhookConfig
from tests.sandbox.conftest import FakeClock, Receiver, SandboxFactory

MUG: dict[str, Any] = {
    "name": "Blue Mug",
    "type": "simple",
    "regular_price": "12.50",
    "sale_price": "10.00",
    "description": "<p>A blue mug.</p>",
    "short_description": "<p>Blue.</p>",
    "sku": "MUG-1",
    "manage_stock": True,
    "stock_quantity": 7,
    "images": [{"src": "https://img.test/front.jpg"}, {"src": "https://img.test/back.jpg"}],
    "tags": [{"name": "Kitchen"}, {"name": "Blue"}],
}

STATUS_REFUSAL = "status is not one of draft, pending, private, publish, future, auto-draft, and trash."


def hooked(make_sandbox: SandboxFactory, receiver: Receiver, **options: Any) -> Sandbox:
    config = WebhookConfig(url="http://receiver.test/hooks", secret="s")
    return make_sandbox("woocommerce", webhooks=config, webhook_client=receiver.client(), **options)


async def create(client: httpx.AsyncClient, product: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/products", json=product)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


@pytest.mark.anyio
async def test_a_created_product_shows_in_details_list_webhook_and_products(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    # Given a store a minute after its anchor (2024-12-31 21:00 in São Paulo, midnight GMT)
    sandbox = hooked(make_sandbox, receiver)
    generated = sandbox.store.ids("products")
    clock.advance(60)
    async with sandbox.client() as client:
        # When a simple product is created on sale, with managed stock, two images and two new tags
        answer = await client.post("/products", json=MUG)
        product = answer.json()
        details = (await client.get(f"/products/{product['id']}")).json()
        newest = (await client.get("/products")).json()
        by_sku = (await client.get("/products", params={"sku": "MUG-1"})).json()

    # Then the answer is a 201 pointing at the new product, which is as written
    assert answer.status_code == 201
    assert answer.headers["Location"] == f"http://testserver/wp-json/wc/v3/products/{product['id']}"
    assert product["id"] > max(generated)
    assert (product["name"], product["slug"], product["status"]) == ("Blue Mug", "blue-mug", "publish")
    assert (product["type"], product["catalog_visibility"]) == ("simple", "visible")
    assert (product["description"], product["short_description"]) == ("<p>A blue mug.</p>", "<p>Blue.</p>")
    assert product["sku"] == "MUG-1"
    assert (product["price"], product["regular_price"], product["sale_price"]) == ("10.00", "12.50", "10.00")
    assert product["on_sale"] is True
    assert (product["manage_stock"], product["stock_quantity"], product["stock_status"]) == (
        True,
        7,
        "instock",
    )
    assert product["backorders"] == "no"
    assert [image["src"] for image in product["images"]] == [
        "https://img.test/front.jpg",
        "https://img.test/back.jpg",
    ]
    assert [(tag["name"], tag["slug"]) for tag in product["tags"]] == [
        ("Kitchen", "kitchen"),
        ("Blue", "blue"),
    ]
    assert (product["date_created"], product["date_created_gmt"]) == (
        "2024-12-31T21:01:00",
        "2025-01-01T00:01:00",
    )
    assert product["date_modified_gmt"] == "2025-01-01T00:01:00"
    # And details, the newest-first list and the SKU filter answer it
    assert details == product
    assert newest[0]["id"] == product["id"]
    assert [found["id"] for found in by_sku] == [product["id"]]
    # And product.created carries it
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()
    ((headers, body),) = receiver.received
    assert headers["x-wc-webhook-topic"] == "product.created"
    assert json.loads(body)["name"] == "Blue Mug"
    # And the neutral view reads the regular price and the managed stock
    (view,) = [view for view in sandbox.products() if view["id"] == product["id"]]
    assert view == {
        "id": product["id"],
        "sku": "MUG-1",
        "handle": "blue-mug",
        "name": "Blue Mug",
        "description": "<p>A blue mug.</p>",
        "price": Decimal("12.50"),
        "quantity": 7,
        "visible": True,
        "images": ["https://img.test/front.jpg", "https://img.test/back.jpg"],
        "tags": ["Kitchen", "Blue"],
    }


@pytest.mark.anyio
async def test_an_update_changes_only_what_was_written_by_any_edit_method(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    # Given a product created through the API
    sandbox = hooked(make_sandbox, receiver)
    async with sandbox.client() as client:
        mug = await create(client, MUG)
        clock.advance(3600)

        # When its regular price is written with PUT, its name with POST and its SKU with PATCH
        priced = (await client.put(f"/products/{mug['id']}", json={"regular_price": "15.00"})).json()
        named = (await client.post(f"/products/{mug['id']}", json={"name": "Red Mug"})).json()
        coded = (await client.patch(f"/products/{mug['id']}", json={"sku": "MUG-9"})).json()

    # Then each changed only its field; the sale price still applies
    assert (priced["regular_price"], priced["price"], priced["name"]) == ("15.00", "10.00", "Blue Mug")
    assert (named["name"], named["regular_price"], named["sku"]) == ("Red Mug", "15.00", "MUG-1")
    assert (coded["sku"], coded["name"], coded["slug"]) == ("MUG-9", "Red Mug", "blue-mug")
    assert coded["stock_quantity"] == 7
    assert [image["id"] for image in coded["images"]] == [image["id"] for image in mug["images"]]
    assert [tag["name"] for tag in coded["tags"]] == ["Kitchen", "Blue"]
    # And the first write moved the record to the store's present, an hour on; the two later writes
    # in that same second still moved it forward, one second each
    assert priced["date_modified_gmt"] == "2025-01-01T01:00:00"
    assert coded["date_modified_gmt"] == "2025-01-01T01:00:02"
    # And each write fired product.updated
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()
    topics = [headers["x-wc-webhook-topic"] for headers, _ in receiver.received]
    assert topics == ["product.created", "product.updated", "product.updated", "product.updated"]
    requests = sandbox.counters.snapshot()["requests"]
    assert (
        requests["PUT /products/{id}"],
        requests["POST /products/{id}"],
        requests["PATCH /products/{id}"],
    ) == (
        1,
        1,
        1,
    )


@pytest.mark.anyio
async def test_managed_stock_decides_the_stock_status(make_sandbox: SandboxFactory) -> None:
    # Given a product with 7 in stock
    sandbox = make_sandbox("woocommerce")
    async with sandbox.client() as client:
        mug = await create(client, MUG)
        path = f"/products/{mug['id']}"

        # When its stock drops to 0, then backorders are allowed, then stock is no longer managed
        empty = (await client.put(path, json={"stock_quantity": 0})).json()
        backordered = (await client.put(path, json={"backorders": "notify"})).json()
        unmanaged = (await client.put(path, json={"manage_stock": False})).json()

    # Then it goes out of stock, then on backorder, then has no quantity and is in stock
    assert (empty["stock_quantity"], empty["stock_status"]) == (0, "outofstock")
    assert (backordered["stock_status"], backordered["backordered"], backordered["backorders_allowed"]) == (
        "onbackorder",
        True,
        True,
    )
    assert (unmanaged["manage_stock"], unmanaged["stock_quantity"], unmanaged["stock_status"]) == (
        False,
        None,
        "instock",
    )
    assert {view["id"]: view["quantity"] for view in sandbox.products()}[mug["id"]] is None


@pytest.mark.anyio
async def test_products_are_found_by_sku_and_slug_and_slugs_are_unique(make_sandbox: SandboxFactory) -> None:
    # Given two products named alike and one more
    sandbox = make_sandbox("woocommerce")
    async with sandbox.client() as client:
        first = await create(client, {"name": "Blue Mug", "sku": "A-1"})
        second = await create(client, {"name": "Blue Mug", "sku": "A-2"})
        third = await create(client, {"name": "Cup", "sku": "A-3"})

        # When they are looked up by one SKU, by a list of SKUs and by a slug
        one = (await client.get("/products", params={"sku": "A-2"})).json()
        several = (await client.get("/products", params={"sku": "A-1,A-3"})).json()
        slugged = (await client.get("/products", params={"slug": "blue-mug-2"})).json()

    # Then the second Blue Mug got the next free slug, and each filter finds exactly its products
    assert (first["slug"], second["slug"]) == ("blue-mug", "blue-mug-2")
    assert [product["id"] for product in one] == [second["id"]]
    assert sorted(product["id"] for product in several) == sorted([first["id"], third["id"]])
    assert [product["id"] for product in slugged] == [second["id"]]


@pytest.mark.anyio
async def test_invalid_parameters_and_a_taken_sku_are_refused_as_woocommerce_does(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store with a product whose SKU is MUG-1
    sandbox = make_sandbox("woocommerce")
    async with sandbox.client() as client:
        mug = await create(client, MUG)
        count = sandbox.store.count("products")

        # When a product is created with a number for a price, an unknown status, a word for a
        # quantity and a non-boolean; another with the taken SKU; and an unknown product is updated
        invalid = await client.post(
            "/products",
            json={
                "name": "Mug",
                "regular_price": 12.5,
                "status": "live",
                "stock_quantity": "many",
                "manage_stock": "maybe",
            },
        )
        taken = await client.post("/products", json={"name": "Other Mug", "sku": "MUG-1"})
        unknown = await client.put("/products/3", json={"name": "Ghost"})

    # Then the first names every invalid parameter, in the schema's order, as WordPress does
    assert invalid.status_code == 400
    assert invalid.json() == {
        "code": "rest_invalid_param",
        "message": "Invalid parameter(s): status, regular_price, manage_stock, stock_quantity",
        "data": {
            "status": 400,
            "params": {
                "status": STATUS_REFUSAL,
                "regular_price": "regular_price is not of type string.",
                "manage_stock": "manage_stock is not of type boolean.",
                "stock_quantity": "stock_quantity is not of type integer.",
            },
            "details": {
                "status": {
                    "code": "rest_not_in_enum",
                    "message": STATUS_REFUSAL,
                    "data": None,
                },
                "regular_price": {
                    "code": "rest_invalid_type",
                    "message": "regular_price is not of type string.",
                    "data": None,
                },
                "manage_stock": {
                    "code": "rest_invalid_type",
                    "message": "manage_stock is not of type boolean.",
                    "data": None,
                },
                "stock_quantity": {
                    "code": "rest_invalid_type",
                    "message": "stock_quantity is not of type integer.",
                    "data": None,
                },
            },
        },
    }
    # And the taken SKU names the product that has it
    assert taken.status_code == 400
    assert taken.json() == {
        "code": "product_invalid_sku",
        "message": "Invalid or duplicated SKU.",
        "data": {"status": 400, "resource_id": mug["id"], "unique_sku": "MUG-1-1"},
    }
    # And an update of an unknown product is a 400
    assert unknown.status_code == 400
    assert unknown.json() == {
        "code": "woocommerce_rest_product_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 400},
    }
    assert sandbox.store.count("products") == count


@pytest.mark.anyio
async def test_tags_and_images_can_be_reused_by_id(make_sandbox: SandboxFactory) -> None:
    # Given a product that created the tag Kitchen and uploaded an image
    sandbox = make_sandbox("woocommerce")
    async with sandbox.client() as client:
        first = await create(
            client,
            {"name": "First", "tags": [{"name": "Kitchen"}], "images": [{"src": "https://img.test/a.jpg"}]},
        )
        kitchen, image = first["tags"][0], first["images"][0]

        # When another product takes the tag and the image by id (and an unknown tag id), and a
        # third asks for an image id that was never uploaded
        second = await create(
            client,
            {
                "name": "Second",
                "tags": [{"id": kitchen["id"]}, {"id": 99_999}],
                "images": [{"id": image["id"]}],
            },
        )
        refused = await client.post("/products", json={"name": "Third", "images": [{"id": 4242}]})

    # Then the second has the same tag and image, the unknown tag dropped
    assert second["tags"] == [kitchen]
    assert [(i["id"], i["src"]) for i in second["images"]] == [(image["id"], "https://img.test/a.jpg")]
    # And the unknown image is WooCommerce's 400
    assert refused.status_code == 400
    assert refused.json() == {
        "code": "woocommerce_product_invalid_image_id",
        "message": "#4242 is an invalid image ID.",
        "data": {"status": 400},
    }


@pytest.mark.anyio
async def test_visibility_follows_status_and_catalog_visibility(make_sandbox: SandboxFactory) -> None:
    # Given a store
    sandbox = make_sandbox("woocommerce")
    async with sandbox.client() as client:
        # When a draft, a hidden published product and a plain one are created
        draft = await create(client, {"name": "Draft", "status": "draft"})
        hidden = await create(client, {"name": "Hidden", "catalog_visibility": "hidden"})
        shown = await create(client, {"name": "Shown"})
        drafts = (await client.get("/products", params={"status": "draft"})).json()

    # Then only the plain one is visible, and the status filter sees the draft
    visible = {view["id"]: view["visible"] for view in sandbox.products()}
    assert (visible[draft["id"]], visible[hidden["id"]], visible[shown["id"]]) == (False, False, True)
    assert draft["id"] in {product["id"] for product in drafts}
    assert shown["regular_price"] == ""  # no price was written
    assert shown["price"] == ""


@pytest.mark.anyio
async def test_writes_spend_the_rate_budget(make_sandbox: SandboxFactory) -> None:
    # Given a host that limits the store to two requests, leaking one every four seconds
    sandbox = make_sandbox("woocommerce", rate_limit=RateLimitConfig(rate=0.25, burst=2))
    async with sandbox.client() as client:
        # When three products are created at once
        answers = [await client.post("/products", json={"name": f"P{n}"}) for n in range(3)]

    # Then the third is refused with a 429 that says when to come back
    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert answers[2].json() == {
        "code": "too_many_requests",
        "message": "Too many requests. Please slow down.",
        "data": {"status": 429},
    }
    assert answers[2].headers["Retry-After"] == "4"


@pytest.mark.anyio
async def test_retrying_a_create_whose_answer_was_lost_meets_its_own_sku(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store that loses the answer of the next write
    sandbox = make_sandbox("woocommerce")
    sandbox.set_faults(lost_write_answers={"count": 1})
    async with sandbox.client() as client:
        # When a product is created, and the client, seeing a 502, creates it again
        lost = await client.post("/products", json=MUG)
        retried = await client.post("/products", json=MUG)
        found = (await client.get("/products", params={"sku": "MUG-1"})).json()

    # Then the first write landed behind its 502, so the retry meets the SKU it wrote
    assert lost.status_code == 502
    assert lost.json() == {"code": "internal_server_error", "message": "Bad Gateway", "data": {"status": 502}}
    (landed,) = found
    assert retried.status_code == 400
    assert retried.json()["code"] == "product_invalid_sku"
    assert retried.json()["data"]["resource_id"] == landed["id"]
    assert sandbox.counters.snapshot()["lost_answers"] == 1


@pytest.mark.anyio
async def test_a_product_write_needs_credentials(make_sandbox: SandboxFactory) -> None:
    # Given a store
    sandbox = make_sandbox("woocommerce")
    async with sandbox.client(headers={"Authorization": ""}) as client:
        # When a product is created without credentials
        answer = await client.post("/products", json=MUG)

    # Then it is WooCommerce's refusal to create
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "woocommerce_rest_cannot_create",
        "message": "Sorry, you are not allowed to create resources.",
        "data": {"status": 401},
    }


@pytest.mark.anyio
async def test_prices_are_cleaned_as_wc_format_decimal_does(make_sandbox: SandboxFactory) -> None:
    # Given a store
    sandbox = make_sandbox("woocommerce")
    async with sandbox.client() as client:
        # When products are priced with a currency sign and a thousands comma, and with no number at all
        formatted = await create(client, {"name": "Formatted", "regular_price": "$1,299.50"})
        wordy = await create(client, {"name": "Wordy", "regular_price": "call us"})

    # Then the first keeps the number, the second has no price
    assert (formatted["regular_price"], formatted["price"]) == ("1299.50", "1299.50")
    assert (wordy["regular_price"], wordy["price"], wordy["purchasable"]) == ("", "", False)
    prices = {view["name"]: view["price"] for view in sandbox.products()}
    assert (prices["Formatted"], prices["Wordy"]) == (Decimal("1299.50"), Decimal("0.00"))
