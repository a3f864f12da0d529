"""Mapping a details response that is a list (``matchBy``), and one with sub-resource answers merged."""

from __future__ import annotations

from typing import Any

import pytest

from mercator.connector import ConnectorDefinition, validate_definition
from mercator.connector.mapper import PayloadShapeError, RecordNotListedError, map_details_response
from tests.unit.connector.test_details_shapes import changed, with_cart_resource, with_categories

LISTED = {
    "data": [
        {"cart_id": 54, "total": "7.00", "currency": "sar"},
        {"cart_id": 55, "total": "19.00", "currency": "usd"},
    ]
}


def carts(**details: Any) -> ConnectorDefinition:
    def tweak(doc: dict[str, Any]) -> None:
        doc["sync"]["resources"]["carts"]["endpoints"]["details"].update(details)

    return validate_definition(changed(with_cart_resource, tweak), "demo.yaml")


def test_the_record_of_a_list_shaped_details_response_is_the_item_with_the_id() -> None:
    outcome = map_details_response(carts(), "carts", LISTED, record_id="55")

    assert outcome.failures == []
    assert outcome.records == [{"code": "55", "totalAmount": 19.0, "currency": "USD", "items": []}]


def test_a_list_shaped_details_response_without_the_id_says_the_record_is_not_listed() -> None:
    with pytest.raises(RecordNotListedError) as caught:
        map_details_response(carts(), "carts", LISTED, record_id="56")

    assert str(caught.value) == (
        "demo resource carts: the details response lists no record whose cart_id is '56'"
    )
    # And an empty list holds no record of any id
    with pytest.raises(RecordNotListedError):
        map_details_response(carts(), "carts", {"data": []}, record_id="55")


def test_a_bare_array_details_response_is_the_list_itself() -> None:
    # Given details with no dataProperty: the body is the list
    definition = carts(dataProperty=None)

    one = map_details_response(definition, "carts", LISTED["data"], record_id="54")
    every = map_details_response(definition, "carts", LISTED["data"])

    assert [record["code"] for record in one.records] == ["54"]
    # Without an id (a sample, a preview) each listed item is a record
    assert [record["code"] for record in every.records] == ["54", "55"]


def test_a_list_shaped_details_response_that_holds_no_list_is_a_shape_error() -> None:
    with pytest.raises(PayloadShapeError, match="no list at data in the details response"):
        map_details_response(carts(), "carts", {"data": {"cart_id": 55}}, record_id="55")


def test_a_sub_resource_answer_fills_its_field_before_the_mapping() -> None:
    definition = validate_definition(changed(with_categories), "demo.yaml")
    details = {"data": {"id": 1, "name": "Mug", "categories": ["stale"]}}

    outcome = map_details_response(
        definition, "products", details, sub_resources={"categories": {"data": ["Mugs", "Kitchen"]}}
    )

    # The answer replaces what the details body had under that field
    assert [record["categories"] for record in outcome.records] == [["Mugs", "Kitchen"]]
