"""Messages of records that fail their content type: they name the field, the path read and what was there.

A required field that is absent or null is *missing*, and the message says which path the rule read and
whether the payload has null or nothing there, or which transform turned its value into null; a value of
the wrong type keeps pydantic's reason with the path and the value found.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from mercator.connector.mapper import map_records
from mercator.mapping import CompiledMapping, compile_mapping

ORDER_MAPPING: dict[str, Any] = {
    "code": {"path": "data.id", "transform": "toString"},
    "status": "data.status",
    "totalAmount": {"path": "data.total.amount", "transform": "toNumberOrNull"},
    "currency": "data.total.currency",
    "createdAt": {"path": "data.created_at", "transform": "toIsoDatetime"},
    "customer": {"email": "data.customer.email"},
    "items": {
        "path": "data.items",
        "transform": "mapItems",
        "mapping": {"name": "name", "quantity": {"path": "quantity", "transform": "toNumberOrNull"}},
    },
}
DELIVERY: dict[str, Any] = {
    "event": "order.created",
    "data": {
        "id": 5,
        "status": "paid",
        "total": {"amount": "12.50", "currency": "SAR"},
        "created_at": "2024-01-01T00:00:00Z",
        "customer": {"email": "buyer@example.com"},
        "items": [{"name": "Mug", "quantity": 2}],
    },
}

Change = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Change:
    """Set (or, with ``...``, delete) ``value`` at a dotted ``path`` of a copy's dict."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for part in parents:
            doc = doc[part]
        if value is ...:
            del doc[last]
        else:
            doc[last] = value

    return change


@dataclass(frozen=True)
class Case:
    name: str
    payload: list[Change] = field(default_factory=list)
    mapping: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    content_type: str = "ecommerce:orders"
    base_mapping: dict[str, Any] = field(default_factory=lambda: ORDER_MAPPING)

    def param(self) -> Any:
        return pytest.param(self, id=self.name)


CASES = [
    Case(
        "required field null",
        payload=[_set("data.status", None)],
        problems=["status: missing (the mapping gives null: data.status is null in this payload)"],
    ),
    Case(
        "required field absent",
        payload=[_set("data.status", ...)],
        problems=["status: missing (the mapping gives null: data.status is not in this payload)"],
    ),
    Case(
        "a transform turns a value into null",
        payload=[_set("data.total.amount", "abc")],
        problems=["totalAmount: missing: toNumberOrNull turned data.total.amount = 'abc' into null"],
    ),
    Case(
        "the parent of the path is absent",
        payload=[_set("data.total", ...)],
        problems=[
            "totalAmount: missing (the mapping gives null: data.total.amount is not in this payload)",
            "currency: missing (the mapping gives null: data.total.currency is not in this payload)",
        ],
    ),
    Case(
        "a parent of the path is null",
        payload=[_set("data.total", None)],
        problems=[
            "totalAmount: missing "
            "(the mapping gives null: data.total.amount is not in this payload; data.total is null)",
            "currency: missing "
            "(the mapping gives null: data.total.currency is not in this payload; data.total is null)",
        ],
    ),
    Case(
        "a parent of an item's path is text",
        payload=[_set("data.items", [{"name": {"en": "Mug"}, "quantity": 1}, "Tea"])],
        mapping=[_set("items.mapping.name", "name.en")],
        problems=[
            "items.1.name: missing "
            "(the mapping gives null: data.items[1].name.en is not in this payload; data.items[1] is 'Tea')",
            "items.1.quantity: missing "
            "(the mapping gives null: data.items[1].quantity is not in this payload; data.items[1] is 'Tea')",
        ],
    ),
    Case(
        "wrong type keeps pydantic's reason, with the path and value",
        payload=[_set("data.total.currency", 12)],
        problems=["currency: Input should be a valid string (data.total.currency is 12 in this payload)"],
    ),
    Case(
        "a transformed value shows what the mapping gives and what was there",
        payload=[_set("data.total.currency", "riyal")],
        mapping=[_set("currency", {"path": "data.total.currency", "transform": "uppercase"})],
        problems=[
            "currency: String should have at most 3 characters "
            "(the mapping gives 'RIYAL'; data.total.currency is 'riyal' in this payload)"
        ],
    ),
    Case(
        "a long value is cut to 60 characters",
        payload=[_set("data.status", {"text": "x" * 100})],
        problems=[
            "status: Input should be a valid string "
            "(data.status is {'text': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... in this payload)"
        ],
    ),
    Case(
        "an item field nulled by a transform",
        payload=[_set("data.items", [{"name": "Mug", "quantity": "two"}])],
        problems=[
            "items.0.quantity: missing: toNumberOrNull turned data.items[0].quantity = 'two' into null"
        ],
    ),
    Case(
        "an item field absent",
        payload=[_set("data.items", [{"name": "Mug", "quantity": 1}, {"quantity": 1}])],
        problems=[
            "items.1.name: missing (the mapping gives null: data.items[1].name is not in this payload)"
        ],
    ),
    Case(
        "none of the coalesced paths has a value",
        payload=[_set("data.total.currency", None)],
        mapping=[
            _set("currency", {"paths": ["data.currency", "data.total.currency"], "transform": "coalesce"})
        ],
        problems=[
            "currency: missing "
            "(the mapping gives null: data.total.currency is null and data.currency is not in this payload)"
        ],
    ),
    Case(
        "a compute function over paths turns values into null",
        payload=[_set("data.qty", 2), _set("data.price", "n/a")],
        mapping=[
            _set(
                "totalAmount", {"paths": ["data.qty", "data.price"], "transform": "compute", "fn": "multiply"}
            )
        ],
        problems=[
            "totalAmount: missing: multiply turned [2, 'n/a'] into null "
            "(data.qty is 2 and data.price is 'n/a' in this payload)"
        ],
    ),
    Case(
        "no rule for a required field",
        mapping=[_set("createdAt", ...)],
        problems=["createdAt: missing (the mapping has no rule for it)"],
    ),
    Case(
        "a literal null",
        mapping=[_set("status", {"value": None})],
        problems=["status: missing (the mapping gives the literal null)"],
    ),
    Case(
        "a JSONPath that matches nothing",
        payload=[_set("data.status", ...)],
        mapping=[_set("status", "$.data.status")],
        problems=["status: missing (the mapping gives null: $.data.status is not in this payload)"],
    ),
    Case(
        "a field of a nested object",
        payload=[_set("data.customer.email", 5)],
        problems=[
            "customer.email: Input should be a valid string (data.customer.email is 5 in this payload)"
        ],
    ),
    Case(
        "a field of an object a plain path copies",
        payload=[_set("data.customer.email", 5)],
        mapping=[_set("customer", "data.customer")],
        problems=[
            "customer.email: Input should be a valid string (data.customer.email is 5 in this payload)"
        ],
    ),
    Case(
        "a field that may be left out but not null",
        payload=[_set("data.images", None)],
        base_mapping={"code": "data.sku", "name": "data.title", "images": "data.images"},
        content_type="core:product",
        mapping=[],
        problems=[
            "code: missing (the mapping gives null: data.sku is not in this payload)",
            "name: missing (the mapping gives null: data.title is not in this payload)",
            "images: Input should be a valid list, not null (data.images is null in this payload)",
        ],
    ),
    Case(
        "a cart line the model refuses as a whole",
        payload=[_set("data.items", [{"quantity": 1}])],
        base_mapping={
            "code": {"path": "data.id", "transform": "toString"},
            "items": {"path": "data.items", "transform": "mapItems", "mapping": {"quantity": "quantity"}},
        },
        content_type="ecommerce:carts",
        problems=[
            "items.0: a cart line needs a name, productCode, sku or code "
            "(data.items[0] is {'quantity': 1} in this payload)"
        ],
    ),
    Case(
        "a cart line the mapping reshapes",
        payload=[_set("data.items", [{"qty": 1, "name": " "}])],
        base_mapping={
            "code": {"path": "data.id", "transform": "toString"},
            "items": {
                "path": "data.items",
                "transform": "mapItems",
                "mapping": {"quantity": "qty", "name": {"path": "name", "transform": "trim"}},
            },
        },
        content_type="ecommerce:carts",
        problems=[
            "items.0: a cart line needs a name, productCode, sku or code "
            "(the mapping gives {'quantity': 1, 'name': None}; data.items[0] is {'qty': 1, 'name': ' '} "
            "in this payload)"
        ],
    ),
    Case(
        "a record-level rule has no one path",
        base_mapping={"code": {"path": "data.id", "transform": "toString"}, "email": "data.email"},
        content_type="core:customer",
        problems=["(record): a customer needs an email or a phone"],
    ),
]


def _mapping(case: Case) -> CompiledMapping:
    spec = copy.deepcopy(case.base_mapping)
    for change in case.mapping:
        change(spec)
    return compile_mapping(spec, connector="demo", scope="event order.created")


@pytest.mark.parametrize("case", [case.param() for case in CASES])
def test_a_failing_record_says_where_its_field_came_from(case: Case) -> None:
    # Given a delivery changed as the case says, and the mapping the case gives
    payload = copy.deepcopy(DELIVERY)
    for change in case.payload:
        change(payload)

    # When it is mapped and validated
    outcome = map_records(_mapping(case), case.content_type, [payload])

    # Then it fails with one message per field, each naming the path read and what was there
    assert outcome.records == []
    [failure] = outcome.failures
    assert failure.reason == f"demo, event order.created: not a valid {case.content_type}: " + "; ".join(
        case.problems
    )
    assert [
        f"{field or '(record)'}: {message}" for field, message in failure.detail["problems"]
    ] == case.problems
    assert failure.raw == payload


def test_the_delivery_of_the_brief_names_both_fields() -> None:
    # Given the delivery of the report: status null, total.amount "abc" (which toNumberOrNull nulls)
    payload = copy.deepcopy(DELIVERY)
    payload["data"]["status"] = None
    payload["data"]["total"]["amount"] = "abc"

    # When it is mapped
    [failure] = map_records(_mapping(Case("brief")), "ecommerce:orders", [payload]).failures

    # Then the reason names both fields, the paths, the value and the transform
    assert failure.reason == (
        "demo, event order.created: not a valid ecommerce:orders: "
        "status: missing (the mapping gives null: data.status is null in this payload); "
        "totalAmount: missing: toNumberOrNull turned data.total.amount = 'abc' into null"
    )


def test_a_record_that_fits_is_never_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a mapping whose explaining would fail the test
    def refuse(*_: Any) -> None:
        raise AssertionError("explain ran for a record that fits")

    monkeypatch.setattr(CompiledMapping, "explain", refuse)

    # When records that fit are mapped
    outcome = map_records(_mapping(Case("fits")), "ecommerce:orders", [DELIVERY] * 3)

    # Then they are written and nothing was explained
    assert (len(outcome.records), outcome.failures) == (3, [])


def test_explaining_never_fails_a_batch() -> None:
    # Given a compute function that fails when called a second time (explaining calls it again)
    calls: list[Any] = []
    mapping = _mapping(Case("flaky"))
    explainer = mapping._explainers["status"]

    def flaky(value: Any) -> Any:
        calls.append(value)
        raise RuntimeError("flaky")

    object.__setattr__(explainer, "steps", (("flaky", flaky),))
    payload = copy.deepcopy(DELIVERY)
    payload["data"]["status"] = None

    # When the record that fails its content type is explained
    [failure] = map_records(mapping, "ecommerce:orders", [payload]).failures

    # Then the field keeps the message its content type gives
    assert calls == [None]
    assert failure.detail["problems"] == [("status", "missing (null)")]
