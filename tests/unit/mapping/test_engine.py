"""Unit tests for mercator.mapping.engine: rule forms, compile and run-time errors, a property test."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercator.mapping.engine import (
    BatchResult,
    MappingDefinitionError,
    MappingError,
    RecordFailure,
    compile_mapping,
)
from mercator.mapping.functions import FUNCTIONS
from mercator.mapping.transforms import TRANSFORMS

ORDER: dict[str, Any] = {
    "id": 2116149737,
    "data": {"id": "d-1", "status": "paid"},
    "email": "  Ali@Example.COM ",
    "currency": " sar ",
    "first_name": "Mohammed",
    "last_name": " Ali ",
    "mobile_code": "+966",
    "mobile": 566156838,
    "nickname": "",
    "display": "  ",
    "created_at": "2017-03-22T16:28:02",
    "title": {"ar": "طلب", "en": "Order"},
    "customer": {"name": "Mohammed Ali", "email": "ali@example.com"},
    "headers": {"user-agent": "Salla/1.0"},
    "items": [
        {"sku": "A-1", "quantity": "1", "price": "10.50", "options": [{"code": "red"}, {"code": "xl"}]},
        {"sku": "B-2", "quantity": 3, "price": 4, "options": []},
    ],
}


# --- rule forms -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param("data.id", "d-1", id="dot-path"),
        pytest.param("items[1].sku", "B-2", id="dot-path-with-index"),
        pytest.param("items[-1].quantity", 3, id="dot-path-negative-index"),
        pytest.param("headers['user-agent']", "Salla/1.0", id="dot-path-quoted-key"),
        pytest.param("$.data.id", "d-1", id="simple-jsonpath"),
        pytest.param("$.items[*].sku", ["A-1", "B-2"], id="jsonpath-wildcard-list"),
        pytest.param("$.items[?(@.quantity > 1)].sku", ["B-2"], id="jsonpath-filter-list"),
        pytest.param("missing.field", None, id="missing-path-is-none"),
        pytest.param("$.missing[*].sku", [], id="missing-jsonpath-is-empty-list"),
    ],
)
def test_given_a_bare_path_rule_when_mapped_then_the_value_at_the_path(rule: str, expected: Any) -> None:
    mapping = compile_mapping({"out": rule})

    assert mapping(ORDER) == {"out": expected}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param(12, 12, id="int"),
        pytest.param(1.5, 1.5, id="float"),
        pytest.param(True, True, id="true"),
        pytest.param(False, False, id="false"),
        pytest.param(None, None, id="null"),
        pytest.param({"value": "data.id"}, "data.id", id="value-text-is-not-a-path"),
        pytest.param({"value": ""}, "", id="value-empty-string"),
        pytest.param({"value": ["a", 1]}, ["a", 1], id="value-list"),
        pytest.param({"value": {"k": [1]}}, {"k": [1]}, id="value-object"),
        pytest.param({"value": None}, None, id="value-null"),
        pytest.param({"value": " x ", "transform": "trim"}, "x", id="value-through-a-transform"),
    ],
)
def test_given_a_literal_rule_when_mapped_then_the_literal(rule: Any, expected: Any) -> None:
    mapping = compile_mapping({"out": rule})

    assert mapping(ORDER) == {"out": expected}
    assert mapping({}) == {"out": expected}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param({"path": "email", "transform": "trim"}, "Ali@Example.COM", id="one-transform"),
        pytest.param({"path": "email", "transform": ["trim"]}, "Ali@Example.COM", id="one-transform-as-list"),
        pytest.param(
            {"path": "email", "transform": ["trim", "lowercase"]}, "ali@example.com", id="two-transforms"
        ),
        pytest.param(
            {"path": "currency", "transform": ["trim", "lowercase", "uppercase"]},
            "SAR",
            id="three-transforms",
        ),
        pytest.param(
            {"path": "mobile", "transform": ["toString", "trim", "uppercase", "toNumberOrNull"]},
            566156838,
            id="four-transforms",
        ),
        pytest.param({"path": "items[0].quantity", "transform": "toInteger"}, 1, id="to-integer"),
        pytest.param({"path": "items[0].price", "transform": "toNumberOrNull"}, 10.5, id="to-number"),
        pytest.param({"path": "id", "transform": "toString"}, "2116149737", id="to-string"),
        pytest.param(
            {"path": "$.items[*].sku", "transform": "joinCodes"}, "A-1,B-2", id="jsonpath-into-join"
        ),
        pytest.param(
            {"path": "items[0].options", "transform": "joinCodes", "args": {"separator": "/"}},
            "red/xl",
            id="transform-args",
        ),
        pytest.param(
            {"path": "created_at", "transform": "toIsoDatetime", "args": {"assumeTimezone": "Asia/Riyadh"}},
            "2017-03-22T13:28:02Z",
            id="assume-timezone-riyadh",
        ),
        pytest.param(
            {"path": "created_at", "transform": "toIsoDatetime"}, "2017-03-22T16:28:02Z", id="default-utc"
        ),
        pytest.param({"path": "missing", "transform": ["trim", "toInteger"]}, None, id="none-passes-through"),
        pytest.param({"path": "title", "transform": "toJson"}, '{"ar":"طلب","en":"Order"}', id="to-json"),
        pytest.param({"path": "email", "transform": []}, "  Ali@Example.COM ", id="empty-chain"),
    ],
)
def test_given_a_path_with_a_transform_chain_when_mapped_then_each_transform_applies_in_order(
    rule: dict[str, Any], expected: Any
) -> None:
    assert compile_mapping({"out": rule})(ORDER) == {"out": expected}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param(
            {"paths": ["nickname", "first_name"], "transform": "coalesce"}, "Mohammed", id="skips-empty"
        ),
        pytest.param(
            {"paths": ["missing", "display", "$.missing[*]", "last_name"], "transform": "coalesce"},
            " Ali ",
            id="skips-none-blank-and-empty-list",
        ),
        pytest.param(
            {"paths": ["display", "last_name"], "transform": ["coalesce", "trim", "uppercase"]},
            "ALI",
            id="coalesce-then-chain",
        ),
        pytest.param(
            {"paths": ["$.items[*].sku", "id"], "transform": "coalesce"}, ["A-1", "B-2"], id="jsonpath-list"
        ),
        pytest.param({"paths": ["missing", "nickname"], "transform": "coalesce"}, None, id="all-empty"),
    ],
)
def test_given_several_paths_with_coalesce_when_mapped_then_first_non_empty(rule: Any, expected: Any) -> None:
    assert compile_mapping({"out": rule})(ORDER) == {"out": expected}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param(
            {"path": "customer.name", "transform": "compute", "fn": "splitName", "args": {"part": "last"}},
            "Ali",
            id="over-path",
        ),
        pytest.param(
            {"paths": ["first_name", "last_name"], "transform": "compute", "fn": "concat"},
            "Mohammed Ali",
            id="over-paths",
        ),
        pytest.param(
            {
                "paths": ["first_name", "last_name"],
                "transform": "compute",
                "fn": "concat",
                "args": {"separator": "_"},
            },
            "Mohammed_Ali",
            id="over-paths-with-args",
        ),
        pytest.param(
            {"paths": ["mobile_code", "mobile"], "transform": "compute", "fn": "phoneNumber"},
            "+966566156838",
            id="phone-number",
        ),
        pytest.param(
            {"paths": ["items[1].quantity", "items[1].price"], "transform": "compute", "fn": "multiply"},
            12,
            id="multiply",
        ),
        pytest.param(
            {"path": "$.items[*].price", "transform": "compute", "fn": "sum"},
            14.5,
            id="sum-over-jsonpath-list",
        ),
        pytest.param({"path": "items", "transform": "compute", "fn": "count"}, 2, id="count"),
        pytest.param(
            {"path": "items", "transform": "compute", "fn": "pluck", "args": {"key": "sku"}},
            ["A-1", "B-2"],
            id="pluck",
        ),
        pytest.param({"path": "title", "transform": "compute", "fn": "localized"}, "Order", id="localized"),
        pytest.param(
            {
                "path": "data.status",
                "transform": "compute",
                "fn": "lookup",
                "args": {"table": {"paid": "PAID"}},
            },
            "PAID",
            id="lookup",
        ),
        pytest.param(
            {
                "path": "data.status",
                "transform": ["compute", "lowercase"],
                "fn": "lookup",
                "args": {"table": {"paid": "COMPLETE"}},
            },
            "complete",
            id="compute-then-transform",
        ),
        pytest.param(
            {
                "path": "currency",
                "transform": ["trim", "compute"],
                "fn": "lookup",
                "args": {"table": {"sar": "SAR"}},
            },
            "SAR",
            id="transform-then-compute",
        ),
        pytest.param(
            {
                "paths": ["nickname", "first_name"],
                "transform": ["coalesce", "compute"],
                "fn": "splitName",
                "args": {"part": "first"},
            },
            "Mohammed",
            id="coalesce-then-compute",
        ),
        pytest.param({"transform": "compute", "fn": "count"}, len(ORDER), id="over-whole-record"),
        pytest.param(
            {"transform": "compute", "fn": "multiply", "default": ["none"]},
            ["none"],
            id="over-whole-record-with-default",
        ),
    ],
)
def test_given_a_compute_rule_when_mapped_then_the_function_gets_path_paths_or_record(
    rule: dict[str, Any], expected: Any
) -> None:
    assert compile_mapping({"out": rule})(ORDER) == {"out": expected}


def test_given_compute_over_the_whole_record_when_mapped_then_the_function_sees_the_record() -> None:
    mapping = compile_mapping(
        {"name": {"transform": "compute", "fn": "localized", "args": {"prefer": ["ar"]}}}
    )

    assert mapping({"en": "Shirt", "ar": "قميص"}) == {"name": "قميص"}


LINES = {
    "path": "items",
    "transform": "mapItems",
    "mapping": {
        "sku": "sku",
        "qty": {"path": "quantity", "transform": "toInteger"},
        "total": {"paths": ["quantity", "price"], "transform": "compute", "fn": "multiply"},
        "options": {"path": "$.options[*].code", "transform": "joinCodes"},
    },
}


def test_given_map_items_when_mapped_then_each_element_goes_through_the_item_mapping() -> None:
    mapping = compile_mapping({"lines": LINES})

    assert mapping(ORDER) == {
        "lines": [
            {"sku": "A-1", "qty": 1, "total": 10.5, "options": "red,xl"},
            {"sku": "B-2", "qty": 3, "total": 12, "options": None},
        ]
    }


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param(None, [], id="missing-list-is-empty"),
        pytest.param([], [], id="empty-list"),
        pytest.param({}, [], id="empty-object"),
        pytest.param(
            {"p1": {"sku": "A", "quantity": 2}, "p2": {"sku": "B"}},
            [{"sku": "A", "qty": 2}, {"sku": "B", "qty": None}],
            id="object-keyed-by-id-maps-its-values",
        ),
        pytest.param(
            ["x", None], [{"sku": None, "qty": None}, {"sku": None, "qty": None}], id="non-object-items"
        ),
    ],
)
def test_given_map_items_over_edge_values_when_mapped_then_a_list(items: Any, expected: list[Any]) -> None:
    mapping = compile_mapping(
        {
            "lines": {
                "path": "items",
                "transform": "mapItems",
                "mapping": {"sku": "sku", "qty": {"path": "quantity", "transform": "toInteger"}},
            }
        }
    )

    assert mapping({"items": items}) == {"lines": expected}


def test_given_nested_map_items_when_mapped_then_inner_lists_are_mapped_too() -> None:
    mapping = compile_mapping(
        {
            "orders": {
                "path": "orders",
                "transform": "mapItems",
                "mapping": {"lines": {"path": "lines", "transform": "mapItems", "mapping": {"sku": "s"}}},
            }
        }
    )

    result = mapping({"orders": [{"lines": [{"s": 1}, {"s": 2}]}, {"lines": None}]})

    assert result == {"orders": [{"lines": [{"sku": 1}, {"sku": 2}]}, {"lines": []}]}


def test_given_a_nested_object_when_mapped_then_a_nested_dict() -> None:
    mapping = compile_mapping(
        {
            "customer": {
                "name": "customer.name",
                "email": {"path": "email", "transform": ["trim", "lowercase"]},
                "address": {"city": "customer.city", "kind": {"value": "home"}},
            }
        }
    )

    assert mapping(ORDER) == {
        "customer": {
            "name": "Mohammed Ali",
            "email": "ali@example.com",
            "address": {"city": None, "kind": "home"},
        }
    }


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param({}, None, id="no-field-found-is-null"),
        pytest.param({"c": {"name": None, "email": None}}, None, id="all-fields-null-is-null"),
        pytest.param({"c": {"name": "Ali"}}, {"name": "Ali", "email": None}, id="one-field-found"),
        pytest.param({"c": {"email": ""}}, {"name": None, "email": ""}, id="empty-string-counts-as-found"),
    ],
)
def test_given_a_nested_object_when_none_of_its_fields_is_found_then_null(record: Any, expected: Any) -> None:
    mapping = compile_mapping({"customer": {"name": "c.name", "email": "c.email"}})

    assert mapping(record) == {"customer": expected}


def test_given_nested_objects_two_deep_when_nothing_found_then_the_outer_is_null_too() -> None:
    mapping = compile_mapping({"a": {"b": {"c": "x.y"}}})

    assert mapping({}) == {"a": None}
    assert mapping({"x": {"y": 1}}) == {"a": {"b": {"c": 1}}}


def test_given_object_rule_when_fields_are_named_like_rule_keys_then_they_are_fields() -> None:
    mapping = compile_mapping(
        {"meta": {"object": {"path": "source.path", "value": "source.value", "default": {"value": "d"}}}}
    )

    assert mapping({"source": {"path": "/orders", "value": 7}}) == {
        "meta": {"path": "/orders", "value": 7, "default": "d"}
    }


@pytest.mark.parametrize(
    ("rule", "record", "expected"),
    [
        pytest.param({"path": "x", "default": "n/a"}, {}, "n/a", id="missing"),
        pytest.param({"path": "x", "default": "n/a"}, {"x": None}, "n/a", id="null"),
        pytest.param({"path": "x", "default": "n/a"}, {"x": ""}, "n/a", id="empty-string"),
        pytest.param({"path": "x", "default": "n/a"}, {"x": 0}, 0, id="zero-kept"),
        pytest.param({"path": "x", "default": "n/a"}, {"x": False}, False, id="false-kept"),
        pytest.param({"path": "x", "default": "n/a"}, {"x": []}, [], id="empty-list-kept"),
        pytest.param({"path": "x", "default": "n/a"}, {"x": "v"}, "v", id="present"),
        pytest.param(
            {"path": "x", "transform": "trim", "default": "n/a"}, {"x": "   "}, "n/a", id="after-transform"
        ),
        pytest.param(
            {"paths": ["a", "b"], "transform": "coalesce", "default": 0},
            {"a": "", "b": None},
            0,
            id="after-coalesce",
        ),
        pytest.param({"value": None, "default": 5}, {}, 5, id="null-literal"),
        pytest.param({"path": "x", "default": None}, {}, None, id="null-default"),
        pytest.param({"path": "x", "default": {"k": []}}, {}, {"k": []}, id="object-default"),
    ],
)
def test_given_a_default_when_the_value_is_missing_or_empty_text_then_the_default(
    rule: dict[str, Any], record: Any, expected: Any
) -> None:
    assert compile_mapping({"out": rule})(record) == {"out": expected}


def test_given_a_mapping_when_compiled_then_field_names_keep_definition_order() -> None:
    mapping = compile_mapping({"z": "a", "a": 1, "m": {"n": "b"}}, connector="salla", scope="orders")

    assert mapping.field_names == ("z", "a", "m")
    assert mapping.connector == "salla"
    assert mapping.scope == "orders"


def test_given_literal_objects_when_two_records_are_mapped_then_outputs_do_not_share_them() -> None:
    """Given literal/default/lookup objects, When one output is mutated, Then the next is unaffected."""
    mapping = compile_mapping(
        {
            "tags": {"value": ["new"]},
            "meta": {"value": {"source": "salla", "flags": []}},
            "note": {"path": "missing", "default": {"lines": []}},
            "status": {
                "path": "s",
                "transform": "compute",
                "fn": "lookup",
                "args": {"table": {"paid": {"code": "PAID", "tags": []}}},
            },
        }
    )

    first = mapping({"s": "paid"})
    first["tags"].append("mutated")
    first["meta"]["flags"].append("mutated")
    first["meta"]["source"] = "mutated"
    first["note"]["lines"].append("mutated")
    first["status"]["tags"].append("mutated")
    second = mapping({"s": "paid"})

    assert second == {
        "tags": ["new"],
        "meta": {"source": "salla", "flags": []},
        "note": {"lines": []},
        "status": {"code": "PAID", "tags": []},
    }


# --- compile-time errors --------------------------------------------------------------------------

TRANSFORM_NAMES = ", ".join(TRANSFORMS.names())
FUNCTION_NAMES = ", ".join(FUNCTIONS.names())


@pytest.mark.parametrize(
    ("spec", "location", "message"),
    [
        pytest.param(
            {"x": {"path": "a", "transform": "toUpper"}},
            ("x", "transform"),
            f"unknown transform 'toUpper'; valid: {TRANSFORM_NAMES}",
            id="unknown-transform",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": ["trim", "toUpper"]}},
            ("x", "transform", 1),
            f"unknown transform 'toUpper'; valid: {TRANSFORM_NAMES}",
            id="unknown-transform-in-list",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": [None]}},
            ("x", "transform", 0),
            "unknown transform None",
            id="non-text-transform-name",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": 5}},
            ("x", "transform"),
            "transform must be a name or a list of names",
            id="transform-not-name-or-list",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "compute", "fn": "nope"}},
            ("x", "fn"),
            f"unknown compute function 'nope'; valid: {FUNCTION_NAMES}",
            id="unknown-fn",
        ),
        pytest.param(
            {"x": {"transform": "compute"}},
            ("x", "fn"),
            "unknown compute function None; valid: concat",
            id="compute-without-fn",
        ),
        pytest.param(
            {"x": {"path": "a", "fn": "concat"}},
            ("x", "fn"),
            "fn is only used with transform: compute",
            id="fn-without-compute",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "trim", "mapping": {"b": "c"}}},
            ("x", "mapping"),
            "mapping (an item mapping) is only used with transform: mapItems",
            id="mapping-without-map-items",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "mapItems"}},
            ("x", "transform"),
            "mapItems needs mapping: {...} to map each item",
            id="map-items-without-mapping",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "mapItems", "mapping": {}}},
            ("x", "mapping"),
            "a mapping needs at least one field",
            id="map-items-with-empty-mapping",
        ),
        pytest.param(
            {"x": {"paths": ["a", "b"]}},
            ("x", "transform"),
            "paths needs transform: coalesce (first non-empty) or compute (to combine them)",
            id="paths-without-transform",
        ),
        pytest.param(
            {"x": {"paths": ["a", "b"], "transform": ["trim", "coalesce"]}},
            ("x", "transform"),
            "paths needs transform: coalesce",
            id="paths-with-other-transform-first",
        ),
        pytest.param(
            {"x": {"paths": ["a", "b"], "transform": ["compute", "coalesce"], "fn": "concat"}},
            ("x", "transform"),
            "coalesce must come first and needs paths: [...]",
            id="coalesce-not-first",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "coalesce"}},
            ("x", "transform"),
            "coalesce must come first and needs paths: [...]",
            id="coalesce-without-paths",
        ),
        pytest.param(
            {"x": {"paths": ["a"], "transform": "compute", "fn": "concat", "args": {"sep": "-"}}},
            ("x", "args"),
            "compute function 'concat' takes no argument 'sep'; valid: separator",
            id="bad-fn-args-name",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "compute", "fn": "count", "args": {"of": "a"}}},
            ("x", "args"),
            "compute function 'count' takes no argument 'of'; valid: none",
            id="args-for-fn-without-params",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "toIsoDatetime", "args": {"tz": "UTC"}}},
            ("x", "args"),
            "transform 'toIsoDatetime' takes no argument 'tz'; valid: assumeTimezone, format",
            id="bad-transform-args-name",
        ),
        # Argument values are checked when the mapping compiles, not when a record meets them.
        pytest.param(
            {"x": {"path": "a", "transform": "toIsoDatetime", "args": {"assumeTimezone": "Asia/Riyad"}}},
            ("x", "args", "assumeTimezone"),
            "transform 'toIsoDatetime' argument 'assumeTimezone': unknown time zone 'Asia/Riyad'; "
            "did you mean 'Asia/Riyadh'",
            id="zone-typo-names-the-close-match",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "toIsoDatetime", "args": {"assumeTimezone": "Mars/Olympus"}}},
            ("x", "args", "assumeTimezone"),
            "unknown time zone 'Mars/Olympus' (valid: an IANA name such as 'Asia/Riyadh', 'UTC', or an "
            "offset such as '+03:00')",
            id="unknown-zone-names-the-valid-forms",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "toIsoDatetime", "args": {"assumeTimezone": 3}}},
            ("x", "args", "assumeTimezone"),
            "a time zone must be text",
            id="zone-not-text",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "toIsoDatetime", "args": {"format": "%d/%m/%Y %H:%q"}}},
            ("x", "args", "format"),
            "transform 'toIsoDatetime' argument 'format': %q in '%d/%m/%Y %H:%q' is not a directive "
            "Mercator reads; valid: %Y %y %m %b %B %d %j %H %I %p %M %S %f %z %a %A %%",
            id="format-unknown-directive",
        ),
        pytest.param(
            {
                "x": {
                    "path": "a",
                    "transform": ["trim", "toIsoDatetime"],
                    "args": {"assumeTimezone": "UTC", "format": "%H:%M"},
                }
            },
            ("x", "args", "format"),
            "'%H:%M' does not give a full date",
            id="format-without-a-date-in-a-chain",
        ),
        pytest.param(
            {
                "order": {
                    "lines": {
                        "path": "items",
                        "transform": "mapItems",
                        "mapping": {
                            "at": {
                                "path": "t",
                                "transform": "toIsoDatetime",
                                "args": {"format": "%Y-%m-%d %Z"},
                            }
                        },
                    }
                }
            },
            ("order", "lines", "mapping", "at", "args", "format"),
            "%Z cannot be read reliably",
            id="format-inside-map-items-located",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "compute", "fn": "lookup"}},
            ("x", "args"),
            "compute function 'lookup' needs argument(s) 'table'",
            id="lookup-missing-table",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "compute", "fn": "splitName", "args": {}}},
            ("x", "args"),
            "compute function 'splitName' needs argument(s) 'part'",
            id="split-name-missing-part",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "trim", "args": {"k": 1}}},
            ("x", "args"),
            "args given but no transform or fn of this rule takes any",
            id="args-nobody-takes",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": "joinCodes", "args": ["|"]}},
            ("x", "args"),
            "args must be an object, got list",
            id="args-not-an-object",
        ),
        pytest.param(
            {"x": {"path": "a", "transform": ["joinCodes", "toIsoDatetime"], "args": {"separator": "|"}}},
            ("x", "transform"),
            "args is ambiguous: joinCodes, toIsoDatetime all take arguments",
            id="ambiguous-args",
        ),
        pytest.param(
            {"x": {"path": "a", "value": 1}},
            ("x",),
            "use one of path, paths or value, not path and value",
            id="path-and-value",
        ),
        pytest.param(
            {"x": {"path": "a", "paths": ["b"], "transform": "coalesce"}},
            ("x",),
            "use one of path, paths or value, not path and paths",
            id="path-and-paths",
        ),
        pytest.param(
            {"x": {"default": 1}},
            ("x",),
            "a rule needs path, paths or value (or transform: compute with fn)",
            id="no-source",
        ),
        pytest.param(
            {"x": {"path": "a", "trasnform": "trim"}},
            ("x", "trasnform"),
            "unknown rule key 'trasnform'; valid: args, default, fn, mapping, path, paths, transform, value",
            id="misspelt-rule-key",
        ),
        pytest.param(
            {"x": ["a", "b"]},
            ("x",),
            "a list is not a rule; write {value: [...]} for a literal list",
            id="list-rule",
        ),
        pytest.param({"x": []}, ("x",), "a list is not a rule", id="empty-list-rule"),
        pytest.param({"x": ("a",)}, ("x",), "unsupported rule of type tuple", id="tuple-rule"),
        pytest.param({"x": {"path": 5}}, ("x", "path"), "a path must be text, got int", id="int-path"),
        pytest.param({"x": {"path": None}}, ("x", "path"), "a path must be text, got null", id="null-path"),
        pytest.param(
            {"x": {"paths": ["a", ["b"]], "transform": "coalesce"}},
            ("x", "paths", 1),
            "a path must be text, got list",
            id="list-inside-paths",
        ),
        pytest.param(
            {"x": {"paths": [], "transform": "coalesce"}},
            ("x", "paths"),
            "paths must be a non-empty list of paths",
            id="empty-paths",
        ),
        pytest.param(
            {"x": {"paths": "a", "transform": "coalesce"}},
            ("x", "paths"),
            "paths must be a non-empty list of paths",
            id="paths-as-text",
        ),
        pytest.param({"x": "a..b"}, ("x",), "'a..b' is not a dot path", id="bad-bare-path"),
        pytest.param({"x": ""}, ("x",), "a path must be a non-empty string", id="empty-bare-path"),
        pytest.param({"x": {"path": "$.["}}, ("x", "path"), "'$.[' is not valid JSONPath", id="bad-jsonpath"),
        pytest.param(
            {"x": {"paths": ["a", "items[*]"], "transform": "coalesce"}},
            ("x", "paths", 1),
            "start it with '$'",
            id="bad-path-inside-paths",
        ),
        pytest.param(
            {"x": {"object": "a.b"}},
            ("x", "object"),
            "a mapping must be an object of fields, got str",
            id="object-str",
        ),
        pytest.param({"x": {}}, ("x",), "a mapping needs at least one field", id="empty-nested-object"),
        pytest.param({1: "a"}, (), "field names must be non-empty text, got 1", id="int-field-name"),
        pytest.param({"": "a"}, (), "field names must be non-empty text, got ''", id="empty-field-name"),
        pytest.param({}, (), "a mapping needs at least one field", id="empty-mapping"),
        pytest.param(["a"], (), "a mapping must be an object of fields, got list", id="mapping-is-a-list"),
        pytest.param(None, (), "a mapping must be an object of fields, got null", id="mapping-is-null"),
        pytest.param(
            {
                "order": {
                    "lines": {
                        "path": "items",
                        "transform": "mapItems",
                        "mapping": {"sku": {"path": "s", "transform": "nope"}},
                    }
                }
            },
            ("order", "lines", "mapping", "sku", "transform"),
            "unknown transform 'nope'",
            id="deep-location-through-nested-and-map-items",
        ),
        pytest.param(
            {"meta": {"object": {"a": ["x"]}}},
            ("meta", "object", "a"),
            "a list is not a rule",
            id="location-through-object-rule",
        ),
    ],
)
def test_given_an_invalid_mapping_when_compiled_then_definition_error_with_location_and_message(
    spec: Any, location: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(MappingDefinitionError, match=re.escape(message)) as caught:
        compile_mapping(spec)

    assert caught.value.location == location
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        pytest.param(
            {"order": {"lines": {"path": "items", "transform": "mapItems", "mapping": {"sku": {"path": 5}}}}},
            "order.lines.mapping.sku.path: a path must be text, got int",
            id="dotted-location",
        ),
        pytest.param(
            {"x": {"paths": ["a", 3], "transform": "coalesce"}},
            "x.paths[1]: a path must be text, got int",
            id="index-location",
        ),
        pytest.param({"a.b": ["x"]}, '["a.b"]: a list is not a rule', id="quoted-location"),
        pytest.param({}, "a mapping needs at least one field", id="no-location"),
    ],
)
def test_given_a_definition_error_when_printed_then_location_prefixes_the_message(
    spec: Any, text: str
) -> None:
    with pytest.raises(MappingDefinitionError) as caught:
        compile_mapping(spec)

    assert str(caught.value).startswith(text)


def test_given_a_compile_location_when_nested_under_a_resource_then_it_is_prefixed() -> None:
    with pytest.raises(MappingDefinitionError) as caught:
        compile_mapping({"x": {"path": 1}}, location=("resources", "orders", "mapping"))

    assert caught.value.location == ("resources", "orders", "mapping", "x", "path")


# --- run-time errors ------------------------------------------------------------------------------


def test_given_a_failing_transform_when_mapped_then_mapping_error_names_connector_scope_field_and_path() -> (
    None
):
    mapping = compile_mapping(
        {"id": "id", "qty": {"path": "line.qty", "transform": "toInteger"}}, connector="salla", scope="orders"
    )

    with pytest.raises(MappingError) as caught:
        mapping({"id": 1, "line": {"qty": "2.5"}})

    error = caught.value
    assert (error.connector, error.scope, error.field, error.path) == ("salla", "orders", "qty", "line.qty")
    assert error.reason == "'2.5' is not a whole number"
    assert str(error) == "connector salla, orders, field qty, path 'line.qty': '2.5' is not a whole number"
    assert error.as_dict() == {
        "connector": "salla",
        "scope": "orders",
        "field": "qty",
        "path": "line.qty",
        "reason": "'2.5' is not a whole number",
    }


@pytest.mark.parametrize(
    ("spec", "record", "field", "path", "reason"),
    [
        pytest.param(
            {"lines": LINES},
            {"items": [{"quantity": 1}, {"quantity": 2}, {"quantity": "lots"}]},
            "lines[2].qty",
            "quantity",
            "'lots' is not a number",
            id="error-inside-items",
        ),
        pytest.param(
            {"lines": LINES},
            {"items": [{"quantity": 1, "options": [{"code": ["red"]}]}]},
            "lines[0].options",
            "$.options[*].code",
            "cannot use a nested list as a code",
            id="error-inside-items-jsonpath",
        ),
        pytest.param(
            {"lines": LINES},
            {"items": "not a list"},
            "lines",
            "items",
            "mapItems expects a list, got str",
            id="items-not-a-list",
        ),
        pytest.param(
            {
                "orders": {
                    "path": "orders",
                    "transform": "mapItems",
                    "mapping": {
                        "lines": {
                            "path": "lines",
                            "transform": "mapItems",
                            "mapping": {"qty": {"path": "q", "transform": "toInteger"}},
                        }
                    },
                }
            },
            {"orders": [{"lines": [{"q": 1}, {"q": 1.5}]}]},
            "orders[0].lines[1].qty",
            "q",
            "1.5 is not a whole number",
            id="error-inside-nested-items",
        ),
        pytest.param(
            {
                "lines": {
                    "path": "items",
                    "transform": "mapItems",
                    "mapping": {"price": {"amount": {"path": "p", "transform": "toInteger"}}},
                }
            },
            {"items": [{"p": True}]},
            "lines[0].price.amount",
            "p",
            "True is not a number",
            id="error-inside-object-inside-items",
        ),
        pytest.param(
            {"customer": {"age": {"path": "c.age", "transform": "toInteger"}}},
            {"c": {"age": "old"}},
            "customer.age",
            "c.age",
            "'old' is not a number",
            id="error-inside-nested-object",
        ),
        pytest.param(
            {"meta": {"object": {"path": {"path": "p", "transform": "toBoolean"}}}},
            {"p": "perhaps"},
            "meta.path",
            "p",
            "'perhaps' is not a boolean",
            id="error-inside-object-rule",
        ),
        pytest.param(
            {"n": {"paths": ["a", "b"], "transform": ["coalesce", "toInteger"]}},
            {"a": "", "b": "x"},
            "n",
            "a | b",
            "'x' is not a number",
            id="error-after-coalesce-names-all-paths",
        ),
        pytest.param(
            {"n": {"transform": "compute", "fn": "count"}},
            "a text record",
            "n",
            "",
            "count expects a list, got str",
            id="error-in-compute-over-record",
        ),
        pytest.param(
            {"n": {"path": "name", "transform": "compute", "fn": "splitName", "args": {"part": "middle"}}},
            {"name": "A B"},
            "n",
            "name",
            "splitName part must be 'first' or 'last', not 'middle'",
            id="error-from-bad-runtime-arg",
        ),
        pytest.param(
            {"d": {"path": "d", "transform": "toIsoDatetime", "args": {"format": "%d/%m/%Y %H:%M"}}},
            {"d": "2022-01-01T10:00:00Z"},
            "d",
            "d",
            "'2022-01-01T10:00:00Z' does not match the format '%d/%m/%Y %H:%M'",
            id="error-from-text-outside-the-format",
        ),
    ],
)
def test_given_a_failing_field_when_mapped_then_mapping_error_names_the_full_field_path(
    spec: dict[str, Any], record: Any, field: str, path: str, reason: str
) -> None:
    mapping = compile_mapping(spec, connector="zid", scope="webhook order.created")

    with pytest.raises(MappingError) as caught:
        mapping(record)

    error = caught.value
    assert error.field == field
    assert error.path == path
    assert reason in error.reason
    assert error.connector == "zid"
    assert error.scope == "webhook order.created"
    assert f"field {field}" in str(error)


def test_given_an_unexpected_exception_in_a_transform_when_mapped_then_it_becomes_a_mapping_error() -> None:
    """A set is not JSON: toJson raises TypeError, which must not escape as a foreign type."""
    mapping = compile_mapping({"raw": {"path": "data", "transform": "toJson"}}, connector="c", scope="s")

    with pytest.raises(MappingError) as caught:
        mapping({"data": {"tags": {1, 2}}})

    assert caught.value.reason.startswith("TypeError: ")
    assert (caught.value.field, caught.value.path, caught.value.connector) == ("raw", "data", "c")


def test_given_a_batch_with_a_bad_record_when_map_all_then_the_rest_carry_on_and_the_failure_is_indexed() -> (
    None
):
    mapping = compile_mapping(
        {"qty": {"path": "qty", "transform": "toInteger"}}, connector="salla", scope="orders"
    )
    records = [{"qty": "1"}, {"qty": "lots"}, {"qty": 3}, {"qty": [1]}, {}]

    result = mapping.map_all(iter(records))

    assert isinstance(result, BatchResult)
    assert result.records == [(0, {"qty": 1}), (2, {"qty": 3}), (4, {"qty": None})]
    assert [failure.index for failure in result.failures] == [1, 3]
    first = result.failures[0]
    assert isinstance(first, RecordFailure)
    assert first.record == {"qty": "lots"}
    assert (first.error.field, first.error.connector, first.error.scope) == ("qty", "salla", "orders")
    assert first.error.reason == "'lots' is not a number"


def test_given_an_empty_batch_when_map_all_then_an_empty_result() -> None:
    result = compile_mapping({"a": "a"}).map_all([])

    assert result.records == []
    assert result.failures == []


@pytest.mark.parametrize(
    ("error", "prefix", "expected"),
    [
        pytest.param(MappingError("r", field="qty"), "lines", "lines.qty", id="named-field"),
        pytest.param(MappingError("r", field="[2].qty"), "lines", "lines[2].qty", id="index-field"),
        pytest.param(MappingError("r"), "lines", "lines", id="no-field"),
    ],
)
def test_given_an_inner_error_when_seen_from_the_enclosing_field_then_the_field_is_joined(
    error: MappingError, prefix: str, expected: str
) -> None:
    outer = error.within(prefix)

    assert outer.field == expected
    assert outer.reason == "r"


# --- property: applying a mapping raises only MappingError ----------------------------------------

PROPERTY_SPEC: dict[str, Any] = {
    "id": "id",
    "jp_id": "$.data.id",
    "whole": "$",
    "first_sku": "items[0].sku",
    "last_item": "items[-1]",
    "agent": "headers['user-agent']",
    "skus": "$.items[*].sku",
    "big": "$.items[?(@.quantity > 1)].sku",
    "deep": "$..sku",
    "name": {
        "paths": ["name", "title", "$.items[*].name"],
        "transform": ["coalesce", "toString", "trim", "lowercase", "uppercase"],
        "default": "?",
    },
    "number": {"path": "price", "transform": "toNumberOrNull"},
    "qty": {"path": "items[0].quantity", "transform": "toInteger"},
    "flag": {"path": "active", "transform": "toBoolean", "default": False},
    "created": {
        "path": "created_at",
        "transform": "toIsoDatetime",
        "args": {"assumeTimezone": "Asia/Riyadh"},
    },
    "codes": {"path": "$.items[*].sku", "transform": "joinCodes", "args": {"separator": "|"}},
    "tags": {"path": "tags", "transform": "joinCodes", "args": {"key": "name"}},
    "raw": {"path": "data", "transform": "toJson"},
    "full_name": {"paths": ["first_name", "last_name"], "transform": "compute", "fn": "concat"},
    "phone": {"paths": ["mobile_code", "mobile"], "transform": "compute", "fn": "phoneNumber"},
    "title": {"path": "title", "transform": "compute", "fn": "localized", "args": {"prefer": ["ar", "en"]}},
    "total": {"paths": ["price", "tax", "$.items[*].price"], "transform": "compute", "fn": "sum"},
    "line_total": {
        "paths": ["items[0].quantity", "items[0].price"],
        "transform": "compute",
        "fn": "multiply",
    },
    "status": {
        "path": "status",
        "transform": ["compute", "uppercase"],
        "fn": "lookup",
        "args": {"table": {"1": "paid"}, "default": "other"},
    },
    "first": {"path": "name", "transform": "compute", "fn": "splitName", "args": {"part": "first"}},
    "images": {"path": "images", "transform": "compute", "fn": "pluck", "args": {"key": "url"}},
    "n_items": {"path": "items", "transform": "compute", "fn": "count"},
    "n_keys": {"transform": "compute", "fn": "count"},
    "lines": {
        "path": "items",
        "transform": "mapItems",
        "mapping": {
            "sku": {"path": "sku", "transform": ["toString", "trim"]},
            "qty": {"path": "quantity", "transform": "toInteger"},
            "when": {"path": "date", "transform": "toIsoDatetime"},
            "options": {"path": "$.options[*].name", "transform": "joinCodes"},
            "price": {"amount": {"path": "price", "transform": "toNumberOrNull"}},
        },
    },
    "customer": {
        "email": {"path": "customer.email", "transform": ["trim", "lowercase"]},
        "vip": {"path": "customer.vip", "transform": "toBoolean"},
    },
    "meta": {"object": {"path": {"value": ["literal"]}, "value": "meta.value"}},
}
PROPERTY_MAPPING = compile_mapping(PROPERTY_SPEC, connector="property", scope="orders")

RECORD_KEYS = [
    "id",
    "data",
    "items",
    "headers",
    "name",
    "title",
    "price",
    "tax",
    "active",
    "created_at",
    "tags",
    "first_name",
    "last_name",
    "mobile_code",
    "mobile",
    "status",
    "images",
    "customer",
    "meta",
]
ITEM_KEYS = ["sku", "quantity", "price", "date", "options", "name"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)
items = st.lists(st.dictionaries(st.sampled_from(ITEM_KEYS), json_values) | json_values, max_size=4)
records = json_values | st.dictionaries(st.sampled_from(RECORD_KEYS), json_values | items)


@settings(max_examples=300, deadline=None)
@given(record=records)
def test_given_any_json_value_when_mapped_then_a_dict_or_a_mapping_error(record: Any) -> None:
    try:
        result = PROPERTY_MAPPING(record)
    except MappingError as error:
        assert error.connector == "property"
        assert error.scope == "orders"
        assert error.field.split(".")[0].split("[")[0] in PROPERTY_SPEC
    else:
        assert isinstance(result, dict)
        assert list(result) == list(PROPERTY_SPEC)

    batch = PROPERTY_MAPPING.map_all([record])
    assert len(batch.records) + len(batch.failures) == 1
