"""Shopify product writes (REST Admin 2025-01): products created and updated with their variants and
images, found by handle, stock set through inventory levels, and Shopify's refusals."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from mercator_sandbox import RateLimitConfig, Sandbox, WebhookConfig
from tests.sandbox.conftest import FakeClock, Receiver, SandboxFactory

MUG: dict[str, Any] = {
    "title": "Blue Mug",
    "body_html": "<p>A blue mug.</p>",
    "vendor": "Acme",
    "product_type": "Kitchen",
    "tags": "kitchen, blue, kitchen",
    "images": [{"src": "https://img.test/front.jpg"}, {"src": "https://img.test/back.jpg"}],
    "variants": [
        {
            "sku": "MUG-1",
            "price": "10.00",
            "compare_at_price": "12.50",
            "inventory_management": "shopify",
            "inventory_policy": "deny",
        }
    ],
}
SIZED: dict[str, Any] = {
    "title": "Tee",
    "options": [{"name": "Size"}],
    "images": [{"src": "https://img.test/tee-front.jpg"}, {"src": "https://img.test/tee-back.jpg"}],
    "variants": [
        {"option1": "Small", "sku": "TEE-S", "price": "10.00"},
        {"option1": "Large", "sku": "TEE-L", "price": "12.00"},
    ],
}


def hooked(make_sandbox: SandboxFactory, receiver: Receiver, **options: Any) -> Sandbox:
    config = WebhookConfig(url="http://receiver.test/hooks", secret="s")
    return make_sandbox("shopify", webhooks=config, webhook_client=receiver.client(), **options)


async def create(client: httpx.AsyncClient, product: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/products.json", json={"product": product})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()["product"]
    return created


@pytest.mark.anyio
async def test_a_created_product_shows_in_details_list_webhook_and_products(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    # Given a store a minute after its anchor (2024-12-31 19:00 in the shop's New York time)
    sandbox = hooked(make_sandbox, receiver)
    clock.advance(60)
    async with sandbox.client() as client:
        # When a product is created with one tracked variant on sale, two images and tags
        answer = await client.post("/products.json", json={"product": MUG})
        product = answer.json()["product"]
        details = (await client.get(f"/products/{product['id']}.json")).json()["product"]
        by_handle = (await client.get("/products.json", params={"handle": "blue-mug"})).json()["products"]

    # Then the answer is a 201 with the product as written, published now, handle from the title
    assert answer.status_code == 201
    assert product["title"] == "Blue Mug"
    assert product["body_html"] == "<p>A blue mug.</p>"
    assert (product["vendor"], product["product_type"]) == ("Acme", "Kitchen")
    assert product["handle"] == "blue-mug"
    assert product["status"] == "active"
    assert product["published_at"] == "2024-12-31T19:01:00-05:00"
    assert product["updated_at"] == "2024-12-31T19:01:00-05:00"
    assert product["tags"] == "kitchen, blue"  # trimmed, the repeated tag kept once
    (variant,) = product["variants"]
    assert variant["title"] == "Default Title"
    assert (variant["sku"], variant["price"], variant["compare_at_price"]) == ("MUG-1", "10.00", "12.50")
    assert (variant["inventory_management"], variant["inventory_policy"]) == ("shopify", "deny")
    assert variant["inventory_quantity"] == 0
    assert isinstance(variant["inventory_item_id"], int)
    assert [(image["position"], image["src"]) for image in product["images"]] == [
        (1, "https://img.test/front.jpg"),
        (2, "https://img.test/back.jpg"),
    ]
    # And details and the handle filter answer it
    assert details == product
    assert [listed["id"] for listed in by_handle] == [product["id"]]
    # And products/create carries it
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()
    ((headers, body),) = receiver.received
    assert headers["x-shopify-topic"] == "products/create"
    assert json.loads(body)["title"] == "Blue Mug"
    # And the neutral view reads the first variant: its regular price is the compare-at price
    (view,) = [view for view in sandbox.products() if view["id"] == product["id"]]
    assert view == {
        "id": product["id"],
        "sku": "MUG-1",
        "handle": "blue-mug",
        "name": "Blue Mug",
        "description": "<p>A blue mug.</p>",
        "price": Decimal("12.50"),
        "quantity": 0,
        "visible": True,
        "images": ["https://img.test/front.jpg", "https://img.test/back.jpg"],
        "tags": ["kitchen", "blue"],
    }


@pytest.mark.anyio
async def test_defaults_and_handles_follow_shopify(make_sandbox: SandboxFactory) -> None:
    # Given a store
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        # When a product is created with a title only, then another with the same title, then a
        # draft, then one asking for the first one's handle
        plain = await create(client, {"title": "Plain Thing"})
        twin = await create(client, {"title": "Plain Thing"})
        draft = await create(client, {"title": "Draft Thing", "status": "draft"})
        taken = await client.post(
            "/products.json", json={"product": {"title": "Other", "handle": "plain-thing"}}
        )

    # Then the first has one untracked Default Title variant at 0.00, the second a numbered handle
    (variant,) = plain["variants"]
    assert (variant["title"], variant["price"], variant["sku"]) == ("Default Title", "0.00", "")
    assert (variant["inventory_management"], variant["inventory_policy"]) == (None, "deny")
    assert plain["handle"] == "plain-thing"
    assert twin["handle"] == "plain-thing-1"
    # And the draft is not published, and the taken handle is refused
    assert (draft["status"], draft["published_at"]) == ("draft", None)
    assert taken.status_code == 422
    assert taken.json() == {"errors": {"handle": ["has already been taken"]}}
    assert {view["name"]: view["visible"] for view in sandbox.products()}["Draft Thing"] is False


@pytest.mark.anyio
async def test_an_update_changes_only_what_was_written(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    # Given a product with two sized variants and two images
    sandbox = hooked(make_sandbox, receiver)
    async with sandbox.client() as client:
        tee = await create(client, SIZED)
        small, large = tee["variants"]
        clock.advance(3600)

        # When only its title is written
        retitled = (
            await client.put(f"/products/{tee['id']}.json", json={"product": {"title": "Tee 2"}})
        ).json()

    # Then the title changed, and its handle, variants and images did not
    product = retitled["product"]
    assert product["title"] == "Tee 2"
    assert product["handle"] == "tee"
    assert [(v["id"], v["sku"], v["price"]) for v in product["variants"]] == [
        (small["id"], "TEE-S", "10.00"),
        (large["id"], "TEE-L", "12.00"),
    ]
    assert [image["id"] for image in product["images"]] == [image["id"] for image in tee["images"]]
    assert product["updated_at"] == "2024-12-31T20:00:00-05:00"
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()
    assert [headers["x-shopify-topic"] for headers, _ in receiver.received] == [
        "products/create",
        "products/update",
    ]


@pytest.mark.anyio
async def test_variants_are_updated_in_place_matched_added_and_dropped(make_sandbox: SandboxFactory) -> None:
    # Given a product with Small and Large variants
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        tee = await create(client, SIZED)
        small, large = tee["variants"]

        # When Small is updated by id, Large matched by its option, and a Medium added
        changed = (
            await client.put(
                f"/products/{tee['id']}.json",
                json={
                    "product": {
                        "variants": [
                            {"id": small["id"], "price": "11.00"},
                            {"option1": "Large", "sku": "TEE-L2"},
                            {"option1": "Medium", "price": "10.50"},
                        ]
                    }
                },
            )
        ).json()["product"]["variants"]
        # And then only Small is given
        kept = (
            await client.put(
                f"/products/{tee['id']}.json", json={"product": {"variants": [{"id": small["id"]}]}}
            )
        ).json()["product"]["variants"]

    # Then Small and Large kept their ids with the changes written, Medium is new
    assert [(v["id"], v["title"], v["sku"], v["price"]) for v in changed[:2]] == [
        (small["id"], "Small", "TEE-S", "11.00"),
        (large["id"], "Large", "TEE-L2", "12.00"),
    ]
    assert changed[2]["title"] == "Medium"
    assert changed[2]["id"] not in (small["id"], large["id"])
    assert [v["position"] for v in changed] == [1, 2, 3]
    # And variants left out of an update are deleted
    assert [(v["id"], v["price"]) for v in kept] == [(small["id"], "11.00")]


@pytest.mark.anyio
async def test_images_given_in_an_update_replace_the_images(make_sandbox: SandboxFactory) -> None:
    # Given a product with a front and a back image
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        tee = await create(client, SIZED)
        front, back = tee["images"]

        # When the back is kept first and a side image added, then all images are cleared
        replaced = (
            await client.put(
                f"/products/{tee['id']}.json",
                json={
                    "product": {
                        "images": [{"src": "https://img.test/side.jpg"}, {"id": back["id"], "position": 1}]
                    }
                },
            )
        ).json()["product"]["images"]
        cleared = (await client.put(f"/products/{tee['id']}.json", json={"product": {"images": []}})).json()[
            "product"
        ]["images"]

    # Then the back comes first, the side second, the front is gone; then nothing is left
    assert [(image["id"], image["position"]) for image in replaced[:1]] == [(back["id"], 1)]
    assert [image["src"] for image in replaced] == [
        "https://img.test/tee-back.jpg",
        "https://img.test/side.jpg",
    ]
    assert front["id"] not in [image["id"] for image in replaced]
    assert cleared == []


@pytest.mark.anyio
async def test_invalid_bodies_are_refused_the_shopify_way(make_sandbox: SandboxFactory) -> None:
    # Given a store
    sandbox = make_sandbox("shopify")
    count = sandbox.store.count("products")
    async with sandbox.client() as client:
        # When products are created with a blank title, without the product object, with a bad
        # status and price, and with two variants of one title
        blank = await client.post("/products.json", json={"product": {"title": "  "}})
        bare = await client.post("/products.json", json={"title": "Mug"})
        bad = await client.post(
            "/products.json",
            json={"product": {"title": "Mug", "status": "live", "variants": [{"price": "cheap"}]}},
        )
        twins = await client.post(
            "/products.json", json={"product": {"title": "Mug", "variants": [{"sku": "A"}, {"sku": "B"}]}}
        )

    # Then each is refused with Shopify's status and errors object, and nothing is created
    assert (blank.status_code, blank.json()) == (422, {"errors": {"title": ["can't be blank"]}})
    assert (bare.status_code, bare.json()) == (
        400,
        {"errors": {"product": "Required parameter missing or invalid"}},
    )
    assert bad.status_code == 422
    assert bad.json() == {
        "errors": {"status": ["is not included in the list"], "variants.price": ["is not a number"]}
    }
    assert twins.status_code == 422
    assert twins.json() == {"errors": {"base": ["The variant 'Default Title' already exists."]}}
    assert sandbox.store.count("products") == count


@pytest.mark.anyio
async def test_inventory_set_at_the_location_shows_in_every_view(
    make_sandbox: SandboxFactory, receiver: Receiver, clock: FakeClock
) -> None:
    # Given a tracked product created with an inventory_quantity (which apps can no longer set)
    sandbox = hooked(make_sandbox, receiver)
    async with sandbox.client() as client:
        mug_variant = {**MUG["variants"][0], "inventory_quantity": 99}
        mug = await create(client, {**MUG, "variants": [mug_variant]})
        (variant,) = mug["variants"]
        locations = (await client.get("/locations.json")).json()["locations"]
        clock.advance(60)

        # When its stock is set to 42 at the shop's location
        answer = await client.post(
            "/inventory_levels/set.json",
            json={
                "location_id": locations[0]["id"],
                "inventory_item_id": variant["inventory_item_id"],
                "available": 42,
            },
        )
        details = (await client.get(f"/products/{mug['id']}.json")).json()["product"]
        listed = (await client.get("/products.json", params={"ids": str(mug["id"])})).json()["products"]

    # Then the body's inventory_quantity was ignored, the shop has one active location
    assert variant["inventory_quantity"] == 0
    assert len(locations) == 1
    assert locations[0]["active"] is True
    # And the level answer is Shopify's
    location_id = locations[0]["id"]
    assert answer.status_code == 200
    assert answer.json() == {
        "inventory_level": {
            "inventory_item_id": variant["inventory_item_id"],
            "location_id": location_id,
            "available": 42,
            "updated_at": "2024-12-31T19:01:00-05:00",
            "admin_graphql_api_id": (
                f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={variant['inventory_item_id']}"
            ),
        }
    }
    # And details, the list, products/update and the neutral view show the stock
    assert details["variants"][0]["inventory_quantity"] == 42
    assert listed[0]["variants"][0]["inventory_quantity"] == 42
    assert sandbox.emitter is not None
    await sandbox.emitter.flush()
    topic, delivered = receiver.received[-1]
    assert topic["x-shopify-topic"] == "products/update"
    assert json.loads(delivered)["variants"][0]["inventory_quantity"] == 42
    assert {view["id"]: view["quantity"] for view in sandbox.products()}[mug["id"]] == 42


@pytest.mark.anyio
async def test_inventory_sets_are_refused_for_untracked_unknown_and_incomplete_items(
    make_sandbox: SandboxFactory,
) -> None:
    # Given an untracked product and the shop's location
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        plain = await create(client, {"title": "Plain"})
        item = plain["variants"][0]["inventory_item_id"]
        location = (await client.get("/locations.json")).json()["locations"][0]["id"]

        # When its stock is set, an unknown item's stock is set, and a set misses "available"
        untracked = await client.post(
            "/inventory_levels/set.json",
            json={"location_id": location, "inventory_item_id": item, "available": 5},
        )
        unknown = await client.post(
            "/inventory_levels/set.json",
            json={"location_id": location, "inventory_item_id": 1, "available": 5},
        )
        incomplete = await client.post(
            "/inventory_levels/set.json", json={"location_id": location, "inventory_item_id": item}
        )

    # Then each is refused and the stock is unchanged
    assert untracked.status_code == 422
    assert untracked.json() == {"errors": ["Inventory item does not have inventory tracking enabled"]}
    assert (unknown.status_code, unknown.json()) == (404, {"errors": "Not Found"})
    assert incomplete.status_code == 400
    assert incomplete.json() == {"errors": {"available": "Required parameter missing or invalid"}}
    assert {view["id"]: view["quantity"] for view in sandbox.products()}[plain["id"]] is None


@pytest.mark.anyio
async def test_the_stock_of_a_generated_product_can_be_set(make_sandbox: SandboxFactory) -> None:
    # Given a generated product
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        product = (await client.get("/products.json", params={"limit": 1})).json()["products"][0]
        variant = product["variants"][0]
        location = (await client.get("/locations.json")).json()["locations"][0]["id"]

        # When its first variant's stock is set to 7
        answer = await client.post(
            "/inventory_levels/set.json",
            json={"location_id": location, "inventory_item_id": variant["inventory_item_id"], "available": 7},
        )
        after = (await client.get(f"/products/{product['id']}.json")).json()["product"]

    # Then that variant shows 7 and everything else is as generated
    assert answer.status_code == 200
    assert after["variants"][0]["inventory_quantity"] == 7
    assert after["title"] == product["title"]
    assert [v["sku"] for v in after["variants"]] == [v["sku"] for v in product["variants"]]


@pytest.mark.anyio
async def test_writes_spend_the_rate_budget(make_sandbox: SandboxFactory) -> None:
    # Given a store whose budget holds two requests and leaks one every four seconds
    sandbox = make_sandbox("shopify", rate_limit=RateLimitConfig(rate=0.25, burst=2))
    async with sandbox.client() as client:
        # When three products are created at once
        answers = [
            await client.post("/products.json", json={"product": {"title": f"P{n}"}}) for n in range(3)
        ]

    # Then the third is Shopify's 429, asking to wait the four seconds the leak needs
    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert answers[2].json() == {
        "errors": "Exceeded 0.25 calls per second for api client. "
        "Reduce request rates to resume uninterrupted service."
    }
    assert answers[2].headers["Retry-After"] == "4.0"
    assert answers[1].headers["X-Shopify-Shop-Api-Call-Limit"] == "2/2"


@pytest.mark.anyio
async def test_a_lost_answer_hides_an_update_that_landed(make_sandbox: SandboxFactory) -> None:
    # Given a product, and a store that then loses the answer of the next write
    sandbox = make_sandbox("shopify")
    async with sandbox.client() as client:
        mug = await create(client, MUG)
        sandbox.set_faults(lost_write_answers={"count": 1})

        # When its title is updated
        lost = await client.put(f"/products/{mug['id']}.json", json={"product": {"title": "Red Mug"}})
        after = (await client.get(f"/products/{mug['id']}.json")).json()["product"]

    # Then the client got a 502 but the update landed
    assert (lost.status_code, lost.json()) == (502, {"errors": "Bad Gateway"})
    assert after["title"] == "Red Mug"
    assert sandbox.counters.lost_answers == 1
    assert sandbox.counters.snapshot()["requests"]["PUT /products/{id}.json"] == 1
