"""Checklist rule 6: a handler and the resource of its content type store the same values for one record."""

from __future__ import annotations

from typing import Any

import pytest

from mercator.connector import load_definition
from mercator.connector.checklist import Finding, check
from tests.unit.connector.conftest import ConnectorWriter

WHERE = 'sync.webhooks.handlers["product.updated"].mapping'


def with_product_handler(**rules: Any) -> Any:
    """The demo connector plus a product.updated handler whose mapping has ``rules`` over the basics."""

    def change(doc: dict[str, Any]) -> None:
        doc["sync"]["resources"]["products"]["apiMapping"]["attributes"] = {"stock": "stock"}
        doc["sync"]["webhooks"]["handlers"]["product.updated"] = {
            "recordType": "product",
            "operation": "upsert",
            "mapping": {
                "code": {"path": "data.id", "transform": "toString"},
                "name": "data.name",
                "unitPrice": {"path": "data.price", "transform": "toNumberOrNull"},
                "attributes": {"stock": "data.stock"},
                **rules,
            },
            "samples": ["samples/product_updated.json"],
        }
        doc["triggers"].append({"event": "product.updated", "entityType": "Product"})

    return change


def delivery(**data: Any) -> dict[str, Any]:
    return {"event": "product.updated", "data": {"id": 1, "name": "Mug", "price": 30, **data}}


PAGE = {"data": [{"id": 1, "name": "Mug", "price": {"amount": 30}, "stock": 5}], "pagination": {"total": 1}}


def test_mappings_that_agree_say_nothing(write_connector: ConnectorWriter) -> None:
    # Given product 1 listed at {amount: 30} and delivered at a bare 30, stock 5 both ways
    path = write_connector(with_product_handler(), products=PAGE, product_updated=delivery(stock=5))
    # Then both paths store 30.0 and 5: no finding
    assert check(load_definition(path)) == []


def test_a_value_that_differs_is_reported_with_both_sides(write_connector: ConnectorWriter) -> None:
    # Given the delivery of product 1 sends its price in cents
    path = write_connector(
        with_product_handler(), products=PAGE, product_updated=delivery(price=3000, stock=5)
    )
    # When
    result = check(load_definition(path))
    # Then the handler's rule is named, with what each side gave and where from
    assert (
        Finding(
            f"{WHERE}.unitPrice",
            "record 1, field unitPrice: this mapping gives 3000.0 (samples[0]) where "
            "sync.resources.products.apiMapping gives 30.0 (samples.list); "
            "both paths must store the same value",
        )
        in result
    )
    # and the details sample (the same product) disagrees the same way
    assert [f.path for f in result] == [f"{WHERE}.unitPrice", f"{WHERE}.unitPrice"]
    assert "(samples.details)" in result[1].message


def test_the_same_number_as_text_is_a_different_value(write_connector: ConnectorWriter) -> None:
    # Given the delivery writes the stock as text where the listing writes a number
    path = write_connector(with_product_handler(), products=PAGE, product_updated=delivery(stock="5"))
    # Then the content hashes would differ, so the rule says so, at the nested rule
    (finding,) = check(load_definition(path))
    assert finding.path == f"{WHERE}.attributes.stock"
    assert 'gives "5" (samples[0])' in finding.message
    assert "gives 5 (samples.list)" in finding.message


@pytest.mark.parametrize(
    "sample",
    [
        # another product: no record of the resource's samples shares its code
        {"event": "product.updated", "data": {"id": 3, "name": "Pot", "price": 99, "stock": 1}},
        # a field only one side gives: a path that knows part of a record is merged, not compared
        {"event": "product.updated", "data": {"id": 1, "name": "Mug"}},
    ],
)
def test_nothing_is_compared_that_the_samples_do_not_both_give(
    write_connector: ConnectorWriter, sample: dict[str, Any]
) -> None:
    path = write_connector(with_product_handler(), products=PAGE, product_updated=sample)
    assert check(load_definition(path)) == []


def test_updates_and_deletions_are_not_compared(write_connector: ConnectorWriter) -> None:
    # Given the same disagreeing delivery under an update handler, which carries part of a record
    def as_update(doc: dict[str, Any]) -> None:
        with_product_handler()(doc)
        doc["sync"]["webhooks"]["handlers"]["product.updated"]["operation"] = "update"

    path = write_connector(as_update, products=PAGE, product_updated=delivery(price=3000, stock=5))
    assert check(load_definition(path)) == []


def test_item_fields_are_located_at_the_item_mapping(write_connector: ConnectorWriter) -> None:
    # Given an order resource and order.created both mapping items, with a different quantity rule
    def with_orders(doc: dict[str, Any]) -> None:
        api = {
            "code": {"path": "id", "transform": "toString"},
            "status": "status",
            "totalAmount": {"path": "total", "transform": "toNumberOrNull"},
            "currency": {"path": "currency", "transform": "uppercase"},
            "createdAt": {"path": "created_at", "transform": "toIsoDatetime"},
            "items": {
                "path": "items",
                "transform": "mapItems",
                # qty counted in dozens on this path
                "mapping": {"name": "name", "quantity": {"path": "dozens", "transform": "toInteger"}},
            },
        }
        doc["sync"]["resources"]["orders"] = {
            "name": "orders",
            "displayName": "Orders",
            "contentType": "ecommerce:orders",
            "endpoints": {"list": {"url": "/orders"}},
            "responseMapping": {"dataProperty": "data"},
            "apiMapping": api,
            "samples": {"list": "samples/orders.json"},
        }

    order = {
        "id": 981,
        "status": "paid",
        "total": "120.50",
        "currency": "sar",
        "created_at": "2024-05-01T10:00:00+03:00",
        "items": [{"name": "Mug", "qty": "2", "dozens": "1"}],
    }
    path = write_connector(with_orders, orders={"data": [order]})
    (finding,) = check(load_definition(path))
    assert finding.path == 'sync.webhooks.handlers["order.created"].mapping.items.mapping.quantity'
    assert finding.message.startswith("record 981, field items[0].quantity: this mapping gives 2.0")
