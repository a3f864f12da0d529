"""Salla product writes: Create Product, Update Product, Product Details By SKU and Create Product Tag
change the store, show everywhere (details, list, webhooks, ``Sandbox.products()``) and refuse bad
bodies with Salla's own 422."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from mercator_sandbox import RateLimitConfig, Sandbox, WebhookConfig
from tests.sandbox.conftest import FakeClock, FakeSleep, Receiver, SandboxFactory

MUG: dict[str, Any] = {
    "name": "Blue Mug",
    "price": 12.5,
    "sale_price": 10,
    "product_type": "product",
    "quantity": 7,
    "sku": "MUG-1",
    "description": "<p>A blue mug.</p>",
    "images": [
        {"original": "https://img.test/mug-front.jpg"},
        {"original": "https://img.test/mug-back.jpg", "default": True},
    ],
}


def hooked(make_sandbox: SandboxFactory, receiver: Receiver, **options: Any) -> Sandbox:
    config = WebhookConfig(url="http://receiver.test/hooks", secret="s")
    return make_sandbox("salla", webhooks=config, webhook_client=receiver.client(), **options)


async def delivered(sandbox: Sandbox, receiver: Receiver) -> list[dict[str, Any]]:
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()
    return [json.loads(body) for _, body in receiver.received]


@pytest.mark.anyio
async def test_a_created_product_shows_in_details_list_webhook_and_products(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    # Given a store a minute after its anchor (2025-01-01 03:00 in Riyadh), with a product tag
    sandbox = hooked(make_sandbox, receiver)
    generated = sandbox.store.ids("products")
    clock.advance(60)
    async with sandbox.client() as client:
        tag = (await client.post("/products/tags", params={"tag_name": "Summer"})).json()["data"][0]

        # When a product is created with a sale price, stock, two images (the second the main one) and the tag
        created = await client.post("/products", json={**MUG, "tags": [tag["id"]]})
        product_id = created.json()["data"]["id"]
        details = (await client.get(f"/products/{product_id}")).json()["data"]
        listed = (await client.get("/products", params={"per_page": 60})).json()["data"]

    # Then the answer is Salla's 201 envelope around the product as written
    assert created.status_code == 201
    body = created.json()
    assert (body["status"], body["success"]) == (201, True)
    data = body["data"]
    assert product_id not in generated and product_id > max(generated)
    assert data["name"] == "Blue Mug"
    assert data["sku"] == "MUG-1"
    assert data["description"] == "<p>A blue mug.</p>"
    assert data["price"] == {"amount": 10, "currency": "SAR"}  # it sells at its sale price
    assert data["regular_price"] == {"amount": 12.5, "currency": "SAR"}
    assert data["sale_price"] == {"amount": 10, "currency": "SAR"}
    assert data["quantity"] == 7
    assert data["unlimited_quantity"] is False
    assert data["status"] == "sale"
    assert [image["url"] for image in data["images"]] == [
        "https://img.test/mug-front.jpg",
        "https://img.test/mug-back.jpg",
    ]
    assert [image["main"] for image in data["images"]] == [False, True]
    assert data["main_image"] == "https://img.test/mug-back.jpg"
    assert data["tags"] == [{"id": tag["id"], "name": "Summer"}]
    assert data["updated_at"] == "2025-01-01 03:01:00"
    # And details answer the same product
    assert details == data
    # And the list, newest first, starts with it (the list shape writes quantity as text)
    assert listed[0]["id"] == product_id
    assert listed[0]["name"] == "Blue Mug"
    assert listed[0]["quantity"] == "7"
    # And a product.created webhook carries it
    (delivery,) = await delivered(sandbox, receiver)
    assert delivery["event"] == "product.created"
    assert delivery["data"]["id"] == product_id
    assert delivery["data"]["name"] == "Blue Mug"
    assert delivery["data"]["quantity"] == 7
    # And the platform-neutral view has it, Salla having no handle
    (view,) = [view for view in sandbox.products() if view["id"] == product_id]
    assert view == {
        "id": product_id,
        "sku": "MUG-1",
        "handle": None,
        "name": "Blue Mug",
        "description": "<p>A blue mug.</p>",
        "price": Decimal("12.50"),
        "quantity": 7,
        "visible": True,
        "images": ["https://img.test/mug-front.jpg", "https://img.test/mug-back.jpg"],
        "tags": ["Summer"],
    }
    assert sandbox.counters.snapshot()["requests"]["POST /products"] == 1


@pytest.mark.anyio
async def test_an_update_changes_only_what_was_written_and_moves_the_record_forward(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    # Given a product created through the API, and a generated product
    sandbox = hooked(make_sandbox, receiver)
    async with sandbox.client() as client:
        product_id = (await client.post("/products", json=MUG)).json()["data"]["id"]
        generated_id = min(sandbox.store.generated_ids("products"))
        generated_before = (await client.get(f"/products/{generated_id}")).json()["data"]
        revision = sandbox.store.get("products", product_id).revision
        await delivered(sandbox, receiver)
        receiver.received.clear()
        clock.advance(3600)

        # When only the price of one and only the name of the other are written
        updated = await client.put(f"/products/{product_id}", json={"price": 15})
        renamed = await client.put(f"/products/{generated_id}", json={"name": "Renamed Thing"})

    # Then the price changed and nothing else did
    assert updated.status_code == 201
    data = updated.json()["data"]
    assert data["regular_price"] == {"amount": 15, "currency": "SAR"}
    assert data["price"] == {"amount": 10, "currency": "SAR"}  # the sale price still applies
    assert (data["name"], data["sku"], data["quantity"]) == ("Blue Mug", "MUG-1", 7)
    assert len(data["images"]) == 2
    # And the record moved to the store's present, one revision on
    assert data["updated_at"] == "2025-01-01 04:00:00"
    assert sandbox.store.get("products", product_id).revision == revision + 1
    # And the generated product kept everything but its name
    other = renamed.json()["data"]
    assert other["name"] == "Renamed Thing"
    for key in ("sku", "price", "regular_price", "quantity", "status", "images", "description"):
        assert other[key] == generated_before[key], key
    # And each update fired product.updated with the new content
    deliveries = await delivered(sandbox, receiver)
    assert [(d["event"], d["data"]["id"]) for d in deliveries] == [
        ("product.updated", product_id),
        ("product.updated", generated_id),
    ]
    assert deliveries[0]["data"]["regular_price"] == {"amount": 15, "currency": "SAR"}


@pytest.mark.anyio
async def test_products_are_found_and_updated_by_sku(make_sandbox: SandboxFactory) -> None:
    # Given a product with SKU MUG-1
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        product_id = (await client.post("/products", json=MUG)).json()["data"]["id"]

        # When it is looked up and updated by its SKU, and an unknown SKU is looked up
        found = await client.get("/products/sku/MUG-1")
        updated = await client.put("/products/sku/MUG-1", json={"quantity": 3})
        missing = await client.get("/products/sku/NO-SUCH-SKU")

    # Then the lookup answers Product Details, the update writes it, the unknown SKU is Salla's 404
    assert found.status_code == 200
    assert found.json()["data"]["id"] == product_id
    assert updated.status_code == 201
    assert updated.json()["data"]["quantity"] == 3
    assert missing.status_code == 404
    assert missing.json() == {
        "status": 404,
        "success": False,
        "error": {
            "code": "NotFound",
            "message": "The content you are trying to access is no longer available",
        },
    }


@pytest.mark.anyio
async def test_invalid_bodies_are_refused_with_salla_422_naming_every_field(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store with a product whose SKU is MUG-1
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        await client.post("/products", json=MUG)
        count = sandbox.store.count("products")

        # When a product is created with nothing, and one with bad values in English
        empty = await client.post("/products", json={})
        bad = await client.post(
            "/products",
            json={
                "name": "Mug",
                "price": "cheap",
                "product_type": "gadget",
                "status": "live",
                "sku": "MUG-1",
                "images": [{"alt": "no url"}],
                "tags": [999],
            },
            headers={"Accept-Language": "en"},
        )

    # Then both are 422 in Salla's validation shape, in Arabic by default, in English on request
    assert empty.status_code == 422
    assert empty.json() == {
        "status": 422,
        "success": False,
        "error": {
            "code": "error",
            "message": "alert.invalid_fields",
            "fields": {
                "name": ["حقل اسم المنتج مطلوب."],
                "price": ["سعر المنتج مطلوب"],
                "product_type": ["حقل نوع المنتج مطلوب."],
            },
        },
    }
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {
        "price": ["The price must be a number."],
        "product_type": ["The selected product type is invalid."],
        "status": ["The selected status is invalid."],
        "sku": ["The sku has already been taken."],
        "images.0.original": ["The images.0.original field is required."],
        "tags.0": ["The selected tags.0 is invalid."],
    }
    # And nothing was created
    assert sandbox.store.count("products") == count


@pytest.mark.anyio
async def test_a_negative_price_and_a_blank_name_on_update_are_refused(make_sandbox: SandboxFactory) -> None:
    # Given a product
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        product_id = (await client.post("/products", json=MUG)).json()["data"]["id"]

        # When an update blanks its name and makes its price negative
        refused = await client.put(
            f"/products/{product_id}", json={"name": " ", "price": -1}, headers={"Accept-Language": "en"}
        )
        after = (await client.get(f"/products/{product_id}")).json()["data"]

    # Then both fields are named and the product is unchanged
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {
        "name": ["The name field is required."],
        "price": ["The price must be at least 0."],
    }
    assert (after["name"], after["regular_price"]["amount"]) == ("Blue Mug", 12.5)


@pytest.mark.anyio
async def test_a_created_product_is_hidden_without_an_image_and_out_without_stock(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        # When a product is created without images, and another with an image but no quantity
        no_image = await client.post(
            "/products", json={"name": "Plain", "price": 5, "product_type": "product"}
        )
        no_stock = await client.post(
            "/products",
            json={
                "name": "Empty",
                "price": 5,
                "product_type": "product",
                "images": [{"original": "https://i/1"}],
            },
        )
        # And the first then gets an image and stock
        shown = await client.put(
            f"/products/{no_image.json()['data']['id']}",
            json={"images": [{"original": "https://i/2"}], "quantity": 4},
        )

    # Then the first was hidden until it had an image, the second is out of stock
    assert no_image.json()["data"]["status"] == "hidden"
    assert no_stock.json()["data"]["status"] == "out"
    assert no_stock.json()["data"]["quantity"] == 0
    assert shown.json()["data"]["status"] == "sale"
    views = {view["name"]: view for view in sandbox.products()}
    assert views["Empty"]["visible"] is True  # sold out, still shown in the store
    assert views["Plain"]["visible"] is True


@pytest.mark.anyio
async def test_a_product_without_an_image_stays_hidden_when_an_update_asks_for_it_on_sale(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a product created without images (hidden)
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        created = await client.post(
            "/products", json={"name": "Plain", "price": 5, "product_type": "product"}
        )
        product_id = created.json()["data"]["id"]

        # When an update asks for it on sale, still without an image
        asked = await client.put(f"/products/{product_id}", json={"status": "sale", "quantity": 3})
        # And then another gives it an image, asking for sale again
        shown = await client.put(
            f"/products/{product_id}", json={"status": "sale", "images": [{"original": "https://i/3"}]}
        )

    # Then it stayed hidden until it had an image
    assert asked.json()["data"]["status"] == "hidden"
    assert shown.json()["data"]["status"] == "sale"


@pytest.mark.anyio
async def test_unlimited_quantity_counts_no_stock(make_sandbox: SandboxFactory) -> None:
    # Given a store
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        # When a product is created with unlimited quantity
        created = await client.post("/products", json={**MUG, "sku": "U-1", "unlimited_quantity": True})

    # Then it shows no quantity and is on sale, and the neutral view counts no stock for it
    data = created.json()["data"]
    assert (data["quantity"], data["unlimited_quantity"], data["status"]) == (None, True, "sale")
    (view,) = [view for view in sandbox.products() if view["id"] == data["id"]]
    assert view["quantity"] is None


@pytest.mark.anyio
async def test_product_tags_are_created_once_per_name(make_sandbox: SandboxFactory) -> None:
    # Given a store
    sandbox = make_sandbox("salla")
    async with sandbox.client() as client:
        # When a tag is created twice under one name, and once without a name
        first = await client.post("/products/tags", params={"tag_name": "Summer"})
        again = await client.post("/products/tags", params={"tag_name": "summer"})
        nameless = await client.post("/products/tags", headers={"Accept-Language": "en"})

    # Then the second answers the first tag, and the nameless one is refused
    assert first.status_code == 200
    assert again.json()["data"] == first.json()["data"]
    assert first.json()["data"][0]["name"] == "Summer"
    assert nameless.status_code == 422
    assert nameless.json()["error"]["fields"] == {"tag_name": ["The tag name field is required."]}


@pytest.mark.anyio
async def test_writes_spend_the_rate_budget(make_sandbox: SandboxFactory) -> None:
    # Given a store whose budget holds two requests and leaks one every four seconds
    sandbox = make_sandbox("salla", rate_limit=RateLimitConfig(rate=0.25, burst=2))
    count = sandbox.store.count("products")
    async with sandbox.client() as client:
        # When three products are created at once
        answers = [await client.post("/products", json={**MUG, "sku": f"MUG-{n}"}) for n in range(3)]

    # Then the third is refused with Salla's 429, and only two were created
    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert answers[2].json() == {
        "status": 429,
        "success": False,
        "error": {"code": "TooManyRequests", "message": "Too Many Attempts."},
    }
    assert answers[2].headers["Retry-After"] == "4"
    assert sandbox.store.count("products") == count + 2


@pytest.mark.anyio
async def test_a_lost_answer_hides_a_write_that_landed(make_sandbox: SandboxFactory) -> None:
    # Given a store that loses the answer of the next write
    sandbox = make_sandbox("salla")
    sandbox.set_faults(lost_write_answers={"count": 1})
    async with sandbox.client() as client:
        # When a product is created, then another
        lost = await client.post("/products", json=MUG)
        landed = await client.get("/products/sku/MUG-1")
        next_write = await client.post("/products", json={**MUG, "sku": "MUG-2"})

    # Then the first answer is a 502 in Salla's shape although the product was created
    assert lost.status_code == 502
    assert lost.json() == {
        "status": 502,
        "success": False,
        "error": {"code": "ServerError", "message": "Bad Gateway"},
    }
    assert landed.status_code == 200
    assert landed.json()["data"]["name"] == "Blue Mug"
    # And only one answer was lost
    assert next_write.status_code == 201
    assert sandbox.counters.snapshot()["lost_answers"] == 1


@pytest.mark.anyio
async def test_a_hung_lost_answer_stalls_then_times_out(
    make_sandbox: SandboxFactory, sleep: FakeSleep
) -> None:
    # Given a store whose next write answer hangs for 45 seconds
    sandbox = make_sandbox("salla")
    sandbox.set_faults(lost_write_answers={"count": 1, "mode": "hang"}, hang_seconds=45)
    async with sandbox.client() as client:
        # When a product is created
        answer = await client.post("/products", json=MUG)
        landed = await client.get("/products/sku/MUG-1")

    # Then the answer came after the hang as a 504, and the product exists
    assert answer.status_code == 504
    assert sleep.calls == [45]
    assert landed.status_code == 200


@pytest.mark.anyio
async def test_a_product_write_needs_credentials(make_sandbox: SandboxFactory) -> None:
    # Given a store
    sandbox = make_sandbox("salla")
    count = sandbox.store.count("products")
    async with sandbox.client(headers={"Authorization": ""}) as client:
        # When a product is created without a token
        answer = await client.post("/products", json=MUG)

    # Then it is refused and nothing is created
    assert answer.status_code == 401
    assert sandbox.store.count("products") == count
