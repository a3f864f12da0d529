"""The shipped connectors' push blocks send each platform's own request shapes; broken blocks are refused.

The expected bodies are written from the platforms' references (Shopify Admin REST 2025-01, Salla
Merchant API v2, WooCommerce REST v3, Zid Merchant API), not from what the mappings give.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mercator.connector import DefinitionError, load_shipped, validate_definition
from mercator.connector.product_push import ProductPush
from tests.unit.connector.test_invalid_definitions import valid_definition

FRONT = "https://files.crystal.example/attachments/7f3c2a9e/front.jpg"
SIDE = "https://files.crystal.example/attachments/7f3c2a9e/side.jpg"

# A canonical core:product as the records table holds it (validated and dumped as JSON: money and
# quantities are floats, absent fields are left out).
PRODUCT: dict[str, Any] = {
    "code": "7f3c2a9e-4b1d-5e8f-9a2b-3c4d5e6f7a8b",
    "name": "Trail Runner 2",
    "sku": "CR-000123",
    "description": "<p>A light trail shoe with a grippy sole.</p>",
    "shortDescription": "Light trail shoe.",
    "unitPrice": 49.5,
    "salePrice": 39.9,
    "quantity": 12.0,
    "visible": True,
    "allowBackorder": False,
    "vendor": "Acme",
    "productType": "Shoes",
    "imageUrl": FRONT,
    "images": [FRONT, SIDE],
    "categories": [],
    "tags": ["Shoes", "Outdoor"],
    "createdAt": "2024-11-02T10:00:00Z",
    "updatedAt": "2024-12-01T08:30:00Z",
}
# The same product as a tombstone: the source no longer offers it, so it is pushed not visible.
HIDDEN = {**PRODUCT, "visible": False}
# No sale price, and a source that says nothing about visibility or backorders.
PLAIN = {
    key: value for key, value in PRODUCT.items() if key not in ("salePrice", "visible", "allowBackorder")
}


def push_of(connector: str) -> ProductPush:
    definition = load_shipped(connector)
    assert definition.push is not None, f"{connector} has no push block"
    return definition.push.products


def source(product: dict[str, Any], **store: str) -> dict[str, Any]:
    """What a push body reads: the product, and its store values under ``store``."""
    return {**product, "store": store}


def no_nulls(value: Any) -> bool:
    if isinstance(value, dict):
        return all(item is not None and no_nulls(item) for item in value.values())
    if isinstance(value, list):
        return all(item is not None and no_nulls(item) for item in value)
    return value is not None


# --- Shopify (Admin REST API 2025-01) --------------------------------------------------------------

SHOPIFY_IDS = {"id": "632910392", "variantId": "808950810", "inventoryItemId": "49148385"}


def shopify_variant(**changes: Any) -> dict[str, Any]:
    variant = {
        "sku": "CR-000123",
        "price": "39.9",
        "compare_at_price": "49.5",
        "inventory_management": "shopify",
        "inventory_policy": "deny",
    }
    return {key: value for key, value in {**variant, **changes}.items() if value is not None}


def test_shopify_finds_a_product_by_the_handle_made_from_its_sku() -> None:
    push = push_of("shopify")

    key = push.key_of(PRODUCT)
    assert key == "cr-000123"
    assert push.key_of({**PRODUCT, "sku": "  CR-000123 "}) == "cr-000123"
    assert push.key_of({key: value for key, value in PRODUCT.items() if key != "sku"}) is None
    assert push.find.endpoint.method == "GET"
    assert push.find.endpoint.filled({"key": key}) == (
        "/products.json",
        {"handle": "cr-000123", "fields": "id,handle,variants"},
    )
    answer = {
        "products": [
            {"id": 1, "handle": "cr-000123-1", "variants": [{"id": 2, "inventory_item_id": 3}]},
            {
                "id": 632910392,
                "handle": "cr-000123",
                "variants": [{"id": 808950810, "inventory_item_id": 49148385}],
            },
        ]
    }
    found = push.find.found(answer, key)
    assert found is answer["products"][1]
    assert push.ids_in(found) == SHOPIFY_IDS
    assert push.find.found({"products": []}, key) is None


def test_shopify_creates_the_product_with_its_handle_images_and_one_variant() -> None:
    push = push_of("shopify")

    assert (push.create.endpoint.method, push.create.endpoint.url) == ("POST", "/products.json")
    assert push.create.request_body(source(PRODUCT, key="cr-000123")) == {
        "product": {
            "title": "Trail Runner 2",
            "body_html": "<p>A light trail shoe with a grippy sole.</p>",
            "vendor": "Acme",
            "product_type": "Shoes",
            "handle": "cr-000123",
            "status": "active",
            "tags": "Shoes, Outdoor",
            "images": [{"src": FRONT}, {"src": SIDE}],
            "variants": [shopify_variant()],
        }
    }
    created = {
        "product": {
            "id": 632910392,
            "handle": "cr-000123",
            "variants": [{"id": 808950810, "inventory_item_id": 49148385, "sku": "CR-000123"}],
        }
    }
    assert push.ids_in(push.create.product_in(created)) == SHOPIFY_IDS


def test_shopify_updates_the_product_naming_its_variant_by_the_id_kept_in_ids() -> None:
    push = push_of("shopify")

    assert push.update.endpoint.method == "PUT"
    assert push.update.endpoint.filled({"key": "cr-000123", **SHOPIFY_IDS}) == (
        "/products/632910392.json",
        {},
    )
    assert push.update.request_body(source(PRODUCT, key="cr-000123", **SHOPIFY_IDS)) == {
        "product": {
            "id": 632910392,
            "title": "Trail Runner 2",
            "body_html": "<p>A light trail shoe with a grippy sole.</p>",
            "vendor": "Acme",
            "product_type": "Shoes",
            "handle": "cr-000123",
            "status": "active",
            "tags": "Shoes, Outdoor",
            # No images: a PUT with images replaces them all.
            "variants": [shopify_variant(id=808950810)],
        }
    }
    assert push.update.product_in({"product": {"id": 632910392}}) == {"id": 632910392}


def test_shopify_sets_the_stock_at_the_primary_location_after_every_write() -> None:
    push = push_of("shopify")
    location = push.context["locationId"]

    assert location.endpoint.filled({}) == ("/shop.json", {})
    assert location.value_in({"shop": {"id": 548380009, "primary_location_id": 655441491}}) == 655441491
    (then,) = push.then
    assert (then.endpoint.method, then.endpoint.url) == ("POST", "/inventory_levels/set.json")
    store = {"key": "cr-000123", **SHOPIFY_IDS, "locationId": "655441491"}
    assert then.request_body(source(PRODUCT, **store)) == {
        "location_id": 655441491,
        "inventory_item_id": 49148385,
        "available": 12,
    }


def test_shopify_sends_a_product_that_is_not_visible_as_a_draft() -> None:
    push = push_of("shopify")

    body = push.update.request_body(source(HIDDEN, key="cr-000123", **SHOPIFY_IDS))

    assert body["product"]["status"] == "draft"


def test_shopify_without_a_sale_price_sells_at_the_regular_price_and_clears_only_the_compared_price() -> None:
    push = push_of("shopify")

    created = push.create.request_body(source(PLAIN, key="cr-000123"))
    updated = push.update.request_body(
        source({**PLAIN, "allowBackorder": True}, key="cr-000123", **SHOPIFY_IDS)
    )

    assert created["product"]["status"] == "active"
    assert created["product"]["variants"] == [
        {"sku": "CR-000123", "price": "49.5", "inventory_management": "shopify"}
    ]
    # The update clears the price compared at (a sale that ended), and sends no other null
    assert updated["product"]["variants"] == [
        {
            "id": 808950810,
            "sku": "CR-000123",
            "price": "49.5",
            "compare_at_price": None,
            "inventory_management": "shopify",
            "inventory_policy": "continue",
        }
    ]
    assert no_nulls(created)
    del updated["product"]["variants"][0]["compare_at_price"]
    assert no_nulls(updated)


def test_shopify_update_without_store_ids_names_none_so_its_hash_does_not_depend_on_them() -> None:
    push = push_of("shopify")

    body = push.update.request_body(source(PRODUCT, key="cr-000123"))

    assert "id" not in body["product"]
    assert body["product"]["variants"] == [shopify_variant()]


def test_shopify_refusals_are_its_errors_object() -> None:
    push = push_of("shopify")
    answer = {"errors": {"title": ["can't be blank"]}}

    assert push.refusal_in(answer) == {"title": ["can't be blank"]}


# --- Salla (Merchant API v2) -----------------------------------------------------------------------


def test_salla_finds_a_product_by_its_sku() -> None:
    push = push_of("salla")

    assert push.key_of(PRODUCT) == "CR-000123"
    assert push.find.endpoint.method == "GET"
    assert push.find.endpoint.filled({"key": "CR-000123"}) == ("/products/sku/CR-000123", {})
    assert push.find.endpoint.filled({"key": "CR/12 3"}) == ("/products/sku/CR%2F12%203", {})
    assert push.find.notFound == [404]
    answer = {"status": 200, "success": True, "data": {"id": 1566449018, "sku": "CR-000123", "name": "x"}}
    assert push.find.found(answer, "CR-000123") == answer["data"]
    assert push.find.found(answer, "CR-000124") is None
    assert push.ids_in(push.find.found(answer, "CR-000123")) == {"id": "1566449018"}


def test_salla_creates_a_product_of_type_product_with_its_images() -> None:
    push = push_of("salla")

    assert (push.create.endpoint.method, push.create.endpoint.url) == ("POST", "/products")
    assert push.create.request_body(source(PRODUCT, key="CR-000123")) == {
        "name": "Trail Runner 2",
        "product_type": "product",
        "sku": "CR-000123",
        "price": 49.5,
        "sale_price": 39.9,
        "quantity": 12,
        "description": "<p>A light trail shoe with a grippy sole.</p>",
        "status": "sale",
        "images": [{"original": FRONT}, {"original": SIDE}],
    }
    created = {
        "status": 201,
        "success": True,
        "data": {"id": 207865447, "sku": "CR-000123", "status": "sale"},
    }
    assert push.ids_in(push.create.product_in(created)) == {"id": "207865447"}


def test_salla_updates_by_id_without_product_type_or_images() -> None:
    push = push_of("salla")

    assert push.update.endpoint.method == "PUT"
    assert push.update.endpoint.filled({"key": "CR-000123", "id": "207865447"}) == ("/products/207865447", {})
    assert push.update.request_body(source(PRODUCT, key="CR-000123", id="207865447")) == {
        "name": "Trail Runner 2",
        "sku": "CR-000123",
        "price": 49.5,
        "sale_price": 39.9,
        "quantity": 12,
        "description": "<p>A light trail shoe with a grippy sole.</p>",
        "status": "sale",
    }
    assert push.then == []


def test_salla_hides_a_product_that_is_not_visible_and_shows_one_whose_source_does_not_say() -> None:
    push = push_of("salla")

    hidden = push.update.request_body(source(HIDDEN, key="CR-000123", id="207865447"))
    plain = push.update.request_body(source(PLAIN, key="CR-000123", id="207865447"))

    assert hidden["status"] == "hidden"
    assert plain == {
        "name": "Trail Runner 2",
        "sku": "CR-000123",
        "price": 49.5,
        "sale_price": 0,  # Salla's "no sale": a sale that ended is cleared
        "quantity": 12,
        "description": "<p>A light trail shoe with a grippy sole.</p>",
        "status": "sale",
    }
    assert no_nulls(plain)


def test_salla_refusals_are_its_field_errors() -> None:
    push = push_of("salla")
    answer = {
        "status": 422,
        "success": False,
        "error": {
            "code": "error",
            "message": "alert.invalid_fields",
            "fields": {"sku": ["قيمة حقل رمز التخزين SKU مُستخدمة من قبل"]},
        },
    }

    assert push.refusal_in(answer) == {"sku": ["قيمة حقل رمز التخزين SKU مُستخدمة من قبل"]}


# --- WooCommerce (REST API v3) ---------------------------------------------------------------------


def test_woocommerce_finds_a_product_by_its_sku() -> None:
    push = push_of("woocommerce")

    assert push.key_of(PRODUCT) == "CR-000123"
    assert push.find.endpoint.filled({"key": "CR-000123"}) == ("/products", {"sku": "CR-000123"})
    answer = [{"id": 799, "sku": "CR-000123-B"}, {"id": 794, "sku": "CR-000123"}]
    assert push.find.found(answer, "CR-000123") == {"id": 794, "sku": "CR-000123"}
    assert push.find.found([], "CR-000123") is None
    assert push.ids_in({"id": 794, "sku": "CR-000123"}) == {"id": "794"}


def test_woocommerce_creates_a_published_simple_product_with_stock_images_and_tags() -> None:
    push = push_of("woocommerce")

    assert (push.create.endpoint.method, push.create.endpoint.url) == ("POST", "/products")
    assert push.create.record is None
    assert push.create.request_body(source(PRODUCT, key="CR-000123")) == {
        "name": "Trail Runner 2",
        "type": "simple",
        "status": "publish",
        "sku": "CR-000123",
        "regular_price": "49.5",
        "sale_price": "39.9",
        "description": "<p>A light trail shoe with a grippy sole.</p>",
        "short_description": "Light trail shoe.",
        "manage_stock": True,
        "stock_quantity": 12,
        "backorders": "no",
        "images": [{"src": FRONT}, {"src": SIDE}],
        "tags": [{"name": "Shoes"}, {"name": "Outdoor"}],
    }


def test_woocommerce_updates_by_id_without_type_or_images() -> None:
    push = push_of("woocommerce")

    assert push.update.endpoint.method == "PUT"
    assert push.update.endpoint.filled({"key": "CR-000123", "id": "794"}) == ("/products/794", {})
    assert push.update.request_body(
        source({**PRODUCT, "allowBackorder": True}, key="CR-000123", id="794")
    ) == {
        "name": "Trail Runner 2",
        "status": "publish",
        "sku": "CR-000123",
        "regular_price": "49.5",
        "sale_price": "39.9",
        "description": "<p>A light trail shoe with a grippy sole.</p>",
        "short_description": "Light trail shoe.",
        "manage_stock": True,
        "stock_quantity": 12,
        "backorders": "yes",
        "tags": [{"name": "Shoes"}, {"name": "Outdoor"}],
    }


def test_woocommerce_drafts_a_product_that_is_not_visible() -> None:
    push = push_of("woocommerce")

    body = push.update.request_body(source(HIDDEN, key="CR-000123", id="794"))

    assert body["status"] == "draft"
    assert "catalog_visibility" not in body


def test_woocommerce_without_a_sale_price_ends_any_sale_with_an_empty_sale_price() -> None:
    push = push_of("woocommerce")

    body = push.update.request_body(source(PLAIN, key="CR-000123", id="794"))

    assert body == {
        "name": "Trail Runner 2",
        "status": "publish",
        "sku": "CR-000123",
        "regular_price": "49.5",
        "sale_price": "",
        "description": "<p>A light trail shoe with a grippy sole.</p>",
        "short_description": "Light trail shoe.",
        "manage_stock": True,
        "stock_quantity": 12,
        "tags": [{"name": "Shoes"}, {"name": "Outdoor"}],
    }
    assert no_nulls(body)


def test_woocommerce_refusals_are_the_whole_error() -> None:
    push = push_of("woocommerce")
    answer = {
        "code": "product_invalid_sku",
        "message": "Invalid or duplicated SKU.",
        "data": {"status": 400, "resource_id": 794, "unique_sku": "CR-000123"},
    }

    assert push.refusal is None
    assert push.refusal_in(answer) == answer


# --- Zid (Merchant API v1) -------------------------------------------------------------------------


def test_zid_looks_a_product_up_by_search_and_keeps_only_the_exact_sku() -> None:
    push = push_of("zid")

    assert push.key_of(PRODUCT) == "CR-000123"
    assert push.find.endpoint.filled({"key": "CR-000123"}) == (
        "/products/",
        {"search": "CR-000123", "page_size": "50"},
    )
    answer: dict[str, Any] = {
        "count": 2,
        "next": None,
        "results": [
            {"id": "faa1de09-1e0a-4184-9573-9e639e6d0764", "sku": "CR-000123-B"},
            {"id": "a497974d-1755-423a-b06c-e0578ba8c318", "sku": "CR-000123"},
        ],
    }
    found = push.find.found(answer, "CR-000123")
    assert found == answer["results"][1]
    assert push.ids_in(found) == {"id": "a497974d-1755-423a-b06c-e0578ba8c318"}
    assert push.find.found({"count": 1, "results": [answer["results"][0]]}, "CR-000123") is None


def test_zid_creates_and_patches_the_same_published_product() -> None:
    push = push_of("zid")
    expected = {
        "name": "Trail Runner 2",
        "sku": "CR-000123",
        "price": 49.5,
        "sale_price": 39.9,
        "description": "<p>A light trail shoe with a grippy sole.</p>",
        "short_description": "Light trail shoe.",
        "quantity": 12,
        "is_infinite": False,
        "keywords": ["Shoes", "Outdoor"],
        "is_published": True,
    }

    assert (push.create.endpoint.method, push.create.endpoint.url) == ("POST", "/products/")
    assert push.create.request_body(source(PRODUCT, key="CR-000123")) == expected
    store = {"key": "CR-000123", "id": "a497974d-1755-423a-b06c-e0578ba8c318"}
    assert push.update.endpoint.method == "PATCH"
    assert push.update.endpoint.filled(store) == ("/products/a497974d-1755-423a-b06c-e0578ba8c318/", {})
    assert push.update.request_body(source(PRODUCT, **store)) == expected
    assert push.ids_in(
        push.create.product_in({"id": "a497974d-1755-423a-b06c-e0578ba8c318", "sku": "CR-000123"})
    ) == {"id": "a497974d-1755-423a-b06c-e0578ba8c318"}


def test_zid_unpublishes_a_product_that_is_not_visible_and_publishes_one_whose_source_does_not_say() -> None:
    push = push_of("zid")
    store = {"key": "CR-000123", "id": "a497974d-1755-423a-b06c-e0578ba8c318"}

    hidden = push.update.request_body(source(HIDDEN, **store))
    plain = push.update.request_body(source(PLAIN, **store))

    assert hidden["is_published"] is False
    assert plain == {
        "name": "Trail Runner 2",
        "sku": "CR-000123",
        "price": 49.5,
        "sale_price": None,  # cleared: a sale that ended
        "description": "<p>A light trail shoe with a grippy sole.</p>",
        "short_description": "Light trail shoe.",
        "quantity": 12,
        "is_infinite": False,
        "keywords": ["Shoes", "Outdoor"],
        "is_published": True,
    }
    del plain["sale_price"]
    assert no_nulls(plain)


# --- every shipped block -------------------------------------------------------------------------


@pytest.mark.parametrize("connector", ["salla", "shopify", "woocommerce", "zid"])
def test_a_product_without_quantity_or_texts_sends_no_null_field(connector: str) -> None:
    push = push_of(connector)
    bare = {
        "code": "9",
        "name": "Canvas Tote",
        "sku": "CR-9",
        "unitPrice": 18.0,
        "images": [],
        "categories": [],
        "tags": [],
    }
    store = {
        "key": push.key_of(bare) or "",
        "id": "1",
        "variantId": "2",
        "inventoryItemId": "3",
        "locationId": "4",
    }

    bodies = [
        push.create.request_body(source(bare, **store)),
        push.update.request_body(source(bare, **store)),
    ]

    # Nulls only where the block clears a field the product has no value for
    assert all(no_nulls(without_cleared(body, push.create.clear)) for body in bodies[:1])
    assert no_nulls(without_cleared(bodies[1], push.update.clear))
    assert all("quantity" not in body and "stock_quantity" not in body for body in bodies)


def without_cleared(body: Any, cleared: list[str]) -> Any:
    """``body`` less the null fields at the ``clear`` paths of its call."""
    paths = [path.split(".") for path in cleared]

    def walk(value: Any, at: list[str]) -> Any:
        if isinstance(value, dict):
            return {
                name: walk(item, [*at, name])
                for name, item in value.items()
                if not (item is None and [*at, name] in paths)
            }
        if isinstance(value, list):
            inside = [*at[:-1], f"{at[-1]}[]"] if at else at
            return [walk(item, inside) for item in value]
        return value

    return walk(body, [])


def test_crystal_is_a_source_and_pushes_nothing() -> None:
    assert load_shipped("crystal").push is None


# --- malformed push blocks -----------------------------------------------------------------------

BLOCK: dict[str, Any] = {
    "key": {"path": "sku", "transform": "trim"},
    "find": {"endpoint": {"url": "/products", "params": {"sku": "{key}"}}, "records": "data", "match": "sku"},
    "create": {
        "endpoint": {"url": "/products", "method": "POST"},
        "body": {"name": "name", "sku": "store.key"},
    },
    "update": {"endpoint": {"url": "/products/{id}", "method": "PUT"}, "body": {"name": "name"}},
    "ids": {"id": "id", "variantId": "variants[0].id"},
    "then": [
        {"endpoint": {"url": "/variants/{variantId}/stock", "method": "POST"}, "body": {"qty": "quantity"}}
    ],
    "context": {"locationId": {"endpoint": {"url": "/locations"}, "path": "data[0].id"}},
}


def with_push(change: Any = None) -> dict[str, Any]:
    doc = copy.deepcopy(valid_definition())
    block = copy.deepcopy(BLOCK)
    if change is not None:
        change(block)
    doc["push"] = {"products": block}
    return doc


def test_the_valid_block_loads_with_its_names() -> None:
    definition = validate_definition(with_push(), "demo.yaml")

    assert definition.push is not None
    push = definition.push.products
    assert sorted(push.ids) == ["id", "variantId"]
    assert sorted(push.context) == ["locationId"]
    assert push.then[0].endpoint.filled({"variantId": "7"}) == ("/variants/7/stock", {})


def _set(path: str, value: Any) -> Any:
    *parents, last = path.split(".")

    def apply(block: dict[str, Any]) -> None:
        node: Any = block
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value

    return apply


def _drop(path: str) -> Any:
    *parents, last = path.split(".")

    def apply(block: dict[str, Any]) -> None:
        node: Any = block
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return apply


CASES: list[tuple[str, Any, str, list[str]]] = [
    (
        "unknown placeholder in a url",
        _set("update.endpoint.url", "/products/{productId}"),
        "push.products.update.endpoint.url",
        ["unknown placeholder {productId}", "valid: {id}, {key}, {locationId}, {variantId}"],
    ),
    (
        "unknown placeholder in a param",
        _set("find.endpoint.params", {"sku": "{sku}"}),
        "push.products.find.endpoint.params.sku",
        ["unknown placeholder {sku}", "{key}"],
    ),
    (
        "unknown placeholder in a then url",
        _set("then.0.endpoint.url", "/variants/{inventoryItemId}"),
        "push.products.then[0].endpoint.url",
        ["unknown placeholder {inventoryItemId}", "{variantId}"],
    ),
    (
        "body path that is not a core:product field",
        _set("create.body", {"title": "title", "sku": "store.key"}),
        "push.products.create.body.title",
        ["'title' reads 'title', which a core:product does not have", "valid:", "name", "store"],
    ),
    (
        "nested body path that is not a core:product field",
        _set("update.body", {"product": {"price": {"path": "price", "transform": "toString"}}}),
        "push.products.update.body.product.price.path",
        ["'price' reads 'price'", "unitPrice"],
    ),
    (
        "store name the push does not have",
        _set("create.body", {"name": "name", "variant": "store.variant_id"}),
        "push.products.create.body.variant",
        ["store holds id, key, locationId, variantId"],
    ),
    (
        "key reading a field a product does not have",
        _set("key", "handle"),
        "push.products.key",
        ["'handle' reads 'handle'", "sku"],
    ),
    (
        "missing ids.id",
        _set("ids", {"variantId": "variants[0].id"}),
        "push.products.ids",
        ["ids needs id", "the store's id"],
    ),
    (
        "a find with POST",
        _set("find.endpoint.method", "POST"),
        "push.products.find.endpoint.method",
        ["a find is a GET"],
    ),
    (
        "a context read with POST",
        _set("context.locationId.endpoint.method", "POST"),
        "push.products.context.locationId.endpoint.method",
        ["a context value is read with a GET"],
    ),
    (
        "a context name that ids already has",
        _set("context", {"variantId": {"endpoint": {"url": "/v"}, "path": "id"}}),
        "push.products.context.variantId",
        ["'variantId' is already a name of store.*"],
    ),
    (
        "a method no write uses",
        _set("update.endpoint.method", "DELETE"),
        "push.products.update.endpoint.method",
        ["'GET', 'POST', 'PUT' or 'PATCH'"],
    ),
    (
        "a relative url",
        _set("create.endpoint.url", "products"),
        "push.products.create.endpoint.url",
        ["must start with '/'"],
    ),
    (
        "a missing update",
        _drop("update"),
        "push.products.update",
        ["required"],
    ),
    (
        "a misspelt key",
        _set("thenn", []),
        "push.products.thenn",
        ["unknown key 'thenn'", "did you mean 'then'?"],
    ),
    (
        "an unknown transform in a body",
        _set("create.body", {"name": {"path": "name", "transform": "slugify"}}),
        "push.products.create.body.name.transform",
        ["unknown transform 'slugify'", "valid:", "lowercase"],
    ),
]


@pytest.mark.parametrize(("change", "path", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_blocks_name_their_path_and_the_valid_choices(
    change: Any, path: str, fragments: list[str]
) -> None:
    with pytest.raises(DefinitionError) as caught:
        validate_definition(with_push(change), "demo.yaml")

    problem = caught.value.problems[0]
    assert problem.path == path, caught.value.render()
    for fragment in fragments:
        assert fragment in problem.message, problem.message


def test_an_unknown_push_target_is_refused() -> None:
    doc = with_push()
    doc["push"]["orders"] = doc["push"]["products"]

    with pytest.raises(DefinitionError) as caught:
        validate_definition(doc, "demo.yaml")

    assert caught.value.problems[0].path == "push.orders"
    assert "valid keys: products" in caught.value.problems[0].message
