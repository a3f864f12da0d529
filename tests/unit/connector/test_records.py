"""Content types: required fields, normalisation, partial updates, and located problems."""

from __future__ import annotations

from typing import Any

import pytest

from mercator.domain.content_types import (
    CONTENT_TYPES,
    RecordValidationError,
    known_fields,
    required_fields,
    validate_record,
)

ORDER = {
    "code": "981",
    "status": "paid",
    "totalAmount": 120.5,
    "currency": "SAR",
    "createdAt": "2024-05-01T07:00:00Z",
    "items": [{"name": "Mug", "quantity": 2}],
}


def test_registered_content_types() -> None:
    assert set(CONTENT_TYPES) == {
        "core:product",
        "core:customer",
        "ecommerce:orders",
        "ecommerce:carts",
        "ecommerce:shipments",
    }


@pytest.mark.parametrize(
    ("content_type", "required"),
    [
        ("core:product", ["code", "name"]),
        ("core:customer", ["code"]),
        ("ecommerce:orders", ["code", "status", "totalAmount", "currency", "createdAt"]),
        ("ecommerce:carts", ["code"]),
        ("ecommerce:shipments", ["code", "orderCode", "status"]),
    ],
)
def test_required_fields(content_type: str, required: list[str]) -> None:
    assert required_fields(content_type) == required
    assert set(required) <= set(known_fields(content_type))


def test_valid_order_is_normalised_to_json() -> None:
    record = validate_record("ecommerce:orders", {**ORDER, "createdAt": "2024-05-01T10:00:00+03:00"})
    assert record["createdAt"] == "2024-05-01T10:00:00+03:00"
    assert record["items"] == [{"name": "Mug", "quantity": 2.0}]
    assert "customer" not in record  # absent optional fields are left out


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"code": ""}, "code", "at least 1 character"),
        ({"code": 981}, "code", "valid string"),
        ({"totalAmount": "lots"}, "totalAmount", "valid number"),
        ({"currency": "RIYAL"}, "currency", "at most 3 characters"),
        ({"createdAt": "yesterday"}, "createdAt", "datetime"),
        ({"items": [{"quantity": 1}]}, "items.0.name", "missing"),
        ({"status": None}, "status", "missing (null)"),
        ({"items": [{"name": "Mug", "quantity": -1}]}, "items.0.quantity", "greater than or equal to 0"),
        ({"totals": 3}, "totals", "Extra inputs are not permitted"),
    ],
)
def test_invalid_order_names_field(change: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(RecordValidationError) as caught:
        validate_record("ecommerce:orders", {**ORDER, **change})
    fields = dict(caught.value.problems)
    assert field in fields
    assert fragment in fields[field]
    assert str(caught.value).startswith("not a valid ecommerce:orders: ")


def test_customer_needs_email_or_phone() -> None:
    with pytest.raises(RecordValidationError, match="a customer needs an email or a phone"):
        validate_record("core:customer", {"code": "7", "firstName": "Sara"})
    assert (
        validate_record("core:customer", {"code": "7", "phone": "+966500000000"})["phone"] == "+966500000000"
    )


def test_partial_update_validates_only_present_fields() -> None:
    assert validate_record("ecommerce:orders", {"code": "981", "status": "shipped"}, partial=True) == {
        "code": "981",
        "status": "shipped",
    }
    with pytest.raises(RecordValidationError) as caught:
        validate_record("ecommerce:orders", {"code": "981", "totalAmount": "x"}, partial=True)
    assert [field for field, _ in caught.value.problems] == ["totalAmount"]


def test_partial_update_leaves_out_what_the_delivery_lacks() -> None:
    # The mapping gives null for every field whose path the delivery does not carry.
    record = {"code": "981", "status": None, "paymentStatus": "paid", "totalAmount": None}
    assert validate_record("ecommerce:orders", record, partial=True) == {
        "code": "981",
        "paymentStatus": "paid",
    }


def test_partial_update_still_needs_code() -> None:
    with pytest.raises(RecordValidationError) as caught:
        validate_record("core:customer", {"email": "a@example.com"}, partial=True)
    assert [field for field, _ in caught.value.problems] == ["code"]
