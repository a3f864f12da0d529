"""Checklist rules 2 (nested fields) and 7 (paths that must find something in the samples)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mercator.connector import load_definition
from mercator.connector.checklist import check
from tests.unit.connector.conftest import ORDER_DELIVERY, PRODUCTS_PAGE, ConnectorWriter

Doc = dict[str, Any]
HANDLER = 'sync.webhooks.handlers["order.created"]'
PRODUCTS = "sync.resources.products"


def handler(doc: Doc) -> Doc:
    result: Doc = doc["sync"]["webhooks"]["handlers"]["order.created"]
    return result


def products(doc: Doc) -> Doc:
    result: Doc = doc["sync"]["resources"]["products"]
    return result


def enriched_product_handler(id_path: str) -> Callable[[Doc], None]:
    """A thin product.updated delivery fetched through the products details endpoint."""

    def change(doc: Doc) -> None:
        doc["sync"]["webhooks"]["handlers"]["product.updated"] = {
            "recordType": "product",
            "operation": "upsert",
            "enrich": {"resource": "products", "idPath": id_path},
            "samples": ["samples/product_updated.json"],
        }
        doc["triggers"].append({"event": "product.updated", "entityType": "Product"})

    return change


def incremental(path: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        products(doc)["incremental"] = {"param": "updated_since", "recordUpdatedAt": path}

    return change


def set_in(get: Callable[[Doc], Doc], key: str, value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        get(doc)[key] = value

    return change


def set_field(key: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: handler(doc)["mapping"].__setitem__(key, value)


def set_item_field(key: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: handler(doc)["mapping"]["items"]["mapping"].__setitem__(key, value)


DATED_PAGE = {
    "data": [{**item, "updated_at": "2024-05-01T10:00:00Z"} for item in PRODUCTS_PAGE["data"]],
    "pagination": {"total": 2},
}
THIN_DELIVERY = {"event": "product.updated", "data": {"id": 1}}

# name, change, samples written instead of the defaults, the path, text the message must hold
CASES: list[tuple[str, Callable[[Doc], None], dict[str, Any], str, list[str]]] = [
    (
        "event name path finds nothing",
        lambda doc: doc["webhook"]["eventName"].__setitem__("path", "topic"),
        {},
        "webhook.eventName.path",
        [
            "'topic' finds nothing in handler 'order.created''s samples[0] (samples/order_created.json)",
            "(its keys: event, data)",
            "the path must give 'order.created'",
        ],
    ),
    (
        "event name path finds a value no handler handles",
        lambda doc: doc["webhook"]["eventName"].__setitem__("path", "data.status"),
        {},
        "webhook.eventName.path",
        ["'data.status' finds 'paid' in handler 'order.created''s samples[0]", "which no handler handles"],
    ),
    (
        "enrich idPath finds no id",
        enriched_product_handler("data.product_id"),
        {"product_updated": THIN_DELIVERY},
        'sync.webhooks.handlers["product.updated"].enrich.idPath',
        [
            "'data.product_id' finds no id in samples[0] (samples/product_updated.json)",
            "its keys: event, data",
        ],
    ),
    (
        "enrich idPath finds an object, not an id",
        enriched_product_handler("data"),
        {"product_updated": THIN_DELIVERY},
        'sync.webhooks.handlers["product.updated"].enrich.idPath',
        ["'data' finds no id in samples[0]", "dead-lettered"],
    ),
    (
        "resource idPath finds no id in a listed item",
        set_in(products, "idPath", "product_id"),
        {},
        f"{PRODUCTS}.idPath",
        ["'product_id' finds no id in item 0 of the list sample (its keys: id, name, price)"],
    ),
    (
        "recordUpdatedAt finds nothing",
        incremental("updated_at"),
        {},
        f"{PRODUCTS}.incremental.recordUpdatedAt",
        ["'updated_at' finds nothing in item 0 of the list sample (its keys: id, name, price)", "never move"],
    ),
    (
        "recordUpdatedAt finds something that is not a date",
        incremental("name"),
        {"products": DATED_PAGE},
        f"{PRODUCTS}.incremental.recordUpdatedAt",
        ["'name' finds 'Mug', which is not a date, in item 0 of the list sample"],
    ),
    (
        "a literal written as a handler path",
        set_field("currency", "SAR"),
        {},
        f"{HANDLER}.mapping.currency",
        ["'SAR' is read as a path, and no sample has a key 'SAR'", "write {value: SAR}"],
    ),
    (
        "a literal written as a rule's path in an item mapping",
        set_item_field("sku", {"path": "NOSKU"}),
        {},
        f"{HANDLER}.mapping.items.mapping.sku.path",
        ["'NOSKU' is read as a path", "write {value: NOSKU}"],
    ),
    (
        "a literal written as a resource path",
        set_in(lambda doc: products(doc)["apiMapping"], "currency", "USD"),
        {},
        f"{PRODUCTS}.apiMapping.currency",
        ["'USD' is read as a path, and no sample has a key 'USD'"],
    ),
    (
        "an unknown field in an item mapping",
        set_item_field("price", "price"),
        {},
        f"{HANDLER}.mapping.items.mapping.price",
        [
            "ecommerce:orders has no field 'price' in items[] (did you mean 'unitPrice'?)",
            "(free-form data goes under attributes)",
            "its fields: code, status,",
            "items[].unitPrice",
            "shippingAddress.line1",
        ],
    ),
    (
        "an unknown field in a nested object",
        set_field("shippingAddress", {"street": "data.street", "city": "data.city"}),
        {},
        f"{HANDLER}.mapping.shippingAddress.street",
        ["ecommerce:orders has no field 'street' in shippingAddress", "shippingAddress.line1"],
    ),
    (
        "an unknown field in a nested object written with object",
        set_field("shippingAddress", {"object": {"road": "data.street"}}),
        {},
        f"{HANDLER}.mapping.shippingAddress.object.road",
        ["has no field 'road' in shippingAddress"],
    ),
    (
        "a required field of each item left out",
        lambda doc: handler(doc)["mapping"]["items"]["mapping"].pop("quantity"),
        {},
        f"{HANDLER}.mapping.items.mapping",
        ["ecommerce:orders requires items[].quantity; this mapping does not produce it"],
    ),
]


@pytest.mark.parametrize(
    ("change", "samples", "path", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_checklist_finds(
    write_connector: ConnectorWriter,
    change: Callable[[Doc], None],
    samples: dict[str, Any],
    path: str,
    expected: list[str],
) -> None:
    found = check(load_definition(write_connector(change, **samples)))
    messages = [f.message for f in found if f.path == path]
    assert messages, f"nothing at {path}; found {[(f.path, f.message) for f in found]}"
    for text in expected:
        assert text in messages[0]


@pytest.mark.parametrize(
    ("change", "samples"),
    [
        (enriched_product_handler("data.id"), {"product_updated": THIN_DELIVERY}),
        (incremental("updated_at"), {"products": DATED_PAGE}),
        # A key written in capitals that the samples do have is a path, not a literal.
        (set_field("currency", "CUR"), {"order_created": {**ORDER_DELIVERY, "CUR": "SAR"}}),
        (set_field("shippingAddress", {"line1": "data.street", "city": "data.city"}), {}),
    ],
    ids=["enriched handler", "dated listing", "capitals that are a key", "known nested fields"],
)
def test_checklist_passes(
    write_connector: ConnectorWriter, change: Callable[[Doc], None], samples: dict[str, Any]
) -> None:
    found = check(load_definition(write_connector(change, **samples)))
    assert [(f.path, f.message) for f in found] == []
