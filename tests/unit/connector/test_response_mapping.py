"""responseMapping as docs/connector-format.md states it: the records are the array at dataProperty,
or the body itself when there is none (a list endpoint that answers a bare JSON array)."""

from __future__ import annotations

from typing import Any

import pytest

from mercator.connector.endpoints import ResponseMapping

ORDERS = [{"id": 727}, {"id": 728}]


@pytest.mark.parametrize(
    ("mapping", "body", "records"),
    [
        # A bare array: no dataProperty (or no responseMapping at all), or $, which says the same
        ({}, ORDERS, ORDERS),
        ({"dataProperty": "$"}, ORDERS, ORDERS),
        ({}, [], []),
        # A wrapped array
        ({"dataProperty": "data"}, {"data": ORDERS}, ORDERS),
        ({"dataProperty": "data"}, {"data": []}, []),
        # No array where one is expected: the page fails
        ({}, {"data": ORDERS}, None),
        ({"dataProperty": "data"}, ORDERS, None),
        ({"dataProperty": "data"}, {"data": {"id": 727}}, None),
    ],
    ids=[
        "bare",
        "bare-dollar",
        "bare-empty",
        "wrapped",
        "wrapped-empty",
        "object-without-dataProperty",
        "bare-with-dataProperty",
        "object-at-dataProperty",
    ],
)
def test_records_are_the_array_at_dataProperty_or_the_body(
    mapping: dict[str, Any], body: Any, records: list[Any] | None
) -> None:
    assert ResponseMapping.model_validate(mapping).records_in(body) == records


def test_a_bare_array_has_no_total_in_the_body() -> None:
    mapping = ResponseMapping(totalProperty="total")

    assert mapping.total_in(ORDERS) is None
