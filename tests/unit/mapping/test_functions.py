"""Unit tests for mercator.mapping.functions: every compute function, table-driven from its docstring."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mercator.mapping.catalog import TransformError
from mercator.mapping.functions import (
    FUNCTIONS,
    concat,
    count,
    localized,
    lookup,
    multiply,
    phone_number,
    pluck,
    split_name,
    sum_numbers,
)


def test_given_the_registry_when_listed_then_every_function_is_documented_with_its_required_args() -> None:
    assert FUNCTIONS.names() == [
        "concat",
        "count",
        "localized",
        "lookup",
        "multiply",
        "onlyIf",
        "phoneNumber",
        "pluck",
        "splitName",
        "sum",
    ]
    assert all(entry.doc for entry in FUNCTIONS)
    assert FUNCTIONS["lookup"].required == frozenset({"table"})
    assert FUNCTIONS["splitName"].required == frozenset({"part"})
    assert FUNCTIONS["pluck"].required == frozenset({"key"})
    assert FUNCTIONS["concat"].required == frozenset()
    assert FUNCTIONS["onlyIf"].required == frozenset({"field", "when"})


# --- concat ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "kwargs", "expected"),
    [
        pytest.param(["Mohammed", "Ali"], {}, "Mohammed Ali", id="two-names"),
        pytest.param(["Mohammed", None, "", "  ", "Ali"], {}, "Mohammed Ali", id="empties-skipped"),
        pytest.param([" Mohammed ", " Ali "], {}, "Mohammed Ali", id="parts-trimmed"),
        pytest.param(["Riyadh", "SA"], {"separator": ", "}, "Riyadh, SA", id="custom-separator"),
        pytest.param(["A", 12, 2.0, 1.5, True], {"separator": "-"}, "A-12-2-1.5-true", id="scalars-as-text"),
        pytest.param("solo", {}, "solo", id="scalar-not-a-list"),
        pytest.param(7, {}, "7", id="int-not-a-list"),
        pytest.param(None, {}, None, id="none"),
        pytest.param([], {}, None, id="empty-list"),
        pytest.param("", {}, None, id="empty-string"),
        pytest.param([None, " "], {}, None, id="only-empties"),
    ],
)
def test_given_parts_when_concat_then_non_empty_parts_joined(
    values: Any, kwargs: dict[str, Any], expected: Any
) -> None:
    assert concat(values, **kwargs) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(["a", {"b": 1}], "concat cannot join a dict", id="dict-part"),
        pytest.param(["a", {}], "concat cannot join a dict", id="empty-dict-part"),
        pytest.param(["a", ["b"]], "concat cannot join a list", id="list-part"),
        pytest.param({"first": "a"}, "concat cannot join a dict", id="dict-instead-of-list"),
        pytest.param({}, "concat cannot join a dict", id="empty-dict-instead-of-list"),
    ],
)
def test_given_a_container_part_when_concat_then_transform_error(values: Any, message: str) -> None:
    with pytest.raises(TransformError, match=re.escape(message)):
        concat(values)


# --- phoneNumber ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(["+966", 566156838], "+966566156838", id="salla-code-and-int-number"),
        pytest.param(["966", "566156838"], "+966566156838", id="code-without-plus"),
        pytest.param([966, "0566156838"], "+966566156838", id="int-code-and-leading-zero"),
        pytest.param(["+966", "056 615-6838"], "+966566156838", id="number-with-separators"),
        pytest.param(["+966", "+966566156838"], "+966566156838", id="number-with-plus-kept"),
        pytest.param(["+966", "+1 (555) 010-0000"], "+15550100000", id="foreign-number-with-plus-kept"),
        pytest.param(["+966", "00966566156838"], "+966566156838", id="double-zero-prefix"),
        pytest.param(["+966", "966566156838"], "+966566156838", id="number-already-has-code"),
        pytest.param(["+966", "96612345"], "+96696612345", id="short-number-starting-like-code"),
        pytest.param([None, "0566156838"], "0566156838", id="missing-code"),
        pytest.param(["", "0566156838"], "0566156838", id="blank-code"),
        pytest.param([{"c": 1}, "0566156838"], "0566156838", id="dict-code-ignored"),
        pytest.param(["0566156838"], "0566156838", id="single-item-is-the-number"),
        pytest.param("0566156838", "0566156838", id="scalar-is-the-number"),
        pytest.param(566156838.0, "566156838", id="integral-float-number"),
        pytest.param(["+966", None], None, id="missing-number"),
        pytest.param(["+966", ""], None, id="empty-number"),
        pytest.param(["+966", "   "], None, id="blank-number"),
        pytest.param(["+966", "N/A"], None, id="number-without-digits"),
        pytest.param(["+966", True], None, id="bool-number"),
        pytest.param(["+966", {"n": 1}], None, id="dict-number"),
        pytest.param(["+966", []], None, id="list-number"),
        pytest.param(None, None, id="none"),
        pytest.param([], None, id="empty-list"),
        pytest.param({}, None, id="empty-dict"),
    ],
)
def test_given_code_and_number_when_phone_number_then_one_international_number(
    values: Any, expected: Any
) -> None:
    assert phone_number(values) == expected


# --- localized ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        pytest.param({"ar": "قميص", "en": "Shirt"}, {}, "Shirt", id="english-first-by-default"),
        pytest.param({"ar": "قميص", "en": ""}, {}, "قميص", id="blank-english-falls-to-arabic"),
        pytest.param({"ar": "قميص", "en": "Shirt"}, {"prefer": ["ar"]}, "قميص", id="prefer-arabic"),
        pytest.param({"fr": "Chemise"}, {}, "Chemise", id="any-other-language"),
        pytest.param({"en": 5, "fr": "Chemise"}, {}, "Chemise", id="non-text-entry-skipped"),
        pytest.param({"ar": "قميص", "en": "Shirt"}, {"prefer": []}, "Shirt", id="empty-prefer-uses-default"),
        pytest.param("Shirt", {}, "Shirt", id="plain-text"),
        pytest.param("", {}, "", id="empty-string-as-is"),
        pytest.param(None, {}, None, id="none"),
        pytest.param({}, {}, None, id="empty-dict"),
        pytest.param({"en": "  ", "ar": None}, {}, None, id="only-blank-entries"),
    ],
)
def test_given_a_language_object_when_localized_then_one_text(
    value: Any, kwargs: dict[str, Any], expected: Any
) -> None:
    assert localized(value, **kwargs) == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param([], "list", id="empty-list"),
        pytest.param(["Shirt"], "list", id="list"),
        pytest.param(5, "int", id="int"),
        pytest.param(True, "bool", id="bool"),
    ],
)
def test_given_a_non_text_when_localized_then_transform_error(value: Any, kind: str) -> None:
    with pytest.raises(TransformError, match=f"localized expects text or a language object, got {kind}"):
        localized(value)


# --- sum / multiply -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([1, 2, 3], 6, id="ints"),
        pytest.param([1, "2.5"], 3.5, id="numeric-text"),
        pytest.param(["1", "2"], 3, id="int-text-stays-int"),
        pytest.param([{"amount": 10, "currency": "SAR"}, 5], 15, id="money-object"),
        pytest.param([1, None, "", [], {}], 1, id="empties-skipped"),
        pytest.param([1, "abc", True], 1, id="non-numbers-skipped"),
        pytest.param([-1.5, 1.5], 0.0, id="sum-to-zero"),
        pytest.param(4, 4, id="scalar-not-a-list"),
        pytest.param(None, None, id="none"),
        pytest.param([], None, id="empty-list"),
        pytest.param("", None, id="empty-string"),
        pytest.param([None, "x"], None, id="nothing-numeric"),
        pytest.param([True, False], None, id="only-bools"),
    ],
)
def test_given_values_when_sum_then_total_of_numbers(values: Any, expected: Any) -> None:
    result = sum_numbers(values)

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([2, 3], 6, id="ints"),
        pytest.param(["2", "9.5"], 19.0, id="numeric-text"),
        pytest.param([{"amount": "2"}, 3], 6, id="money-object"),
        pytest.param([0, 5], 0, id="zero"),
        pytest.param([3], 3, id="single"),
        pytest.param(4, 4, id="scalar-not-a-list"),
        pytest.param([2, None], None, id="missing-factor"),
        pytest.param([2, ""], None, id="blank-factor"),
        pytest.param([2, "x"], None, id="word-factor"),
        pytest.param([2, True], None, id="bool-factor"),
        pytest.param([2, {}], None, id="dict-factor"),
        pytest.param([2, []], None, id="list-factor"),
        pytest.param(None, None, id="none"),
        pytest.param([], None, id="empty-list"),
    ],
)
def test_given_values_when_multiply_then_product_or_none_if_one_missing(values: Any, expected: Any) -> None:
    result = multiply(values)

    assert result == expected
    assert type(result) is type(expected)


# --- lookup ---------------------------------------------------------------------------------------

STATUS = {"paid": "PAID", "1": "one", "true": "yes", "2": "two", "": "blank"}


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        pytest.param("paid", {}, "PAID", id="text-key"),
        pytest.param(1, {}, "one", id="int-matches-text-key"),
        pytest.param(2.0, {}, "two", id="integral-float-matches-text-key"),
        pytest.param(True, {}, "yes", id="bool-matches-text-key"),
        pytest.param("", {}, "blank", id="empty-string-key"),
        pytest.param("refunded", {}, "refunded", id="miss-gives-source-value"),
        pytest.param(3, {}, 3, id="miss-keeps-source-type"),
        pytest.param("refunded", {"default": "OTHER"}, "OTHER", id="miss-gives-default"),
        pytest.param("refunded", {"default": None}, None, id="miss-gives-null-default"),
        pytest.param("Paid", {}, "Paid", id="case-sensitive"),
        pytest.param(None, {"default": "OTHER"}, None, id="none-stays-none"),
    ],
)
def test_given_a_code_when_lookup_then_translated(value: Any, kwargs: dict[str, Any], expected: Any) -> None:
    assert lookup(value, table=STATUS, **kwargs) == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param({}, "dict", id="empty-dict"),
        pytest.param({"paid": 1}, "dict", id="dict"),
        pytest.param([], "list", id="empty-list"),
        pytest.param(["paid"], "list", id="list"),
    ],
)
def test_given_a_container_when_lookup_then_transform_error(value: Any, kind: str) -> None:
    with pytest.raises(TransformError, match=f"lookup expects a scalar, got {kind}"):
        lookup(value, table=STATUS)


def test_given_object_table_values_when_lookup_twice_then_results_are_not_shared() -> None:
    """Table values are literals of the definition; mutating one record's copy must not leak to the next."""
    table = {"paid": {"status": "PAID", "tags": []}}

    first = lookup("paid", table=table, default={"status": "OTHER"})
    first["tags"].append("mutated")
    second = lookup("paid", table=table)
    fallback = lookup("x", table=table, default={"status": "OTHER"})
    fallback["status"] = "mutated"

    assert second == {"status": "PAID", "tags": []}
    assert table == {"paid": {"status": "PAID", "tags": []}}
    assert lookup("x", table=table, default={"status": "OTHER"}) == {"status": "OTHER"}


# --- splitName ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [
        pytest.param("Mohammed Ali", "Mohammed", "Ali", id="two-words"),
        pytest.param("Mohammed bin Ali", "Mohammed", "bin Ali", id="three-words"),
        pytest.param("  Mohammed    Ali  ", "Mohammed", "Ali", id="extra-spaces"),
        pytest.param("Mohammed\tAli", "Mohammed", "Ali", id="tab-separator"),
        pytest.param("Cher", "Cher", None, id="one-word"),
        pytest.param("", None, None, id="empty-string"),
        pytest.param("   ", None, None, id="blank-string"),
        pytest.param(None, None, None, id="none"),
    ],
)
def test_given_a_full_name_when_split_name_then_first_and_last(value: Any, first: Any, last: Any) -> None:
    assert split_name(value, part="first") == first
    assert split_name(value, part="last") == last


@pytest.mark.parametrize(
    ("value", "part", "message"),
    [
        pytest.param(5, "first", "splitName expects text, got int", id="int"),
        pytest.param(True, "first", "splitName expects text, got bool", id="bool"),
        pytest.param({}, "last", "splitName expects text, got dict", id="empty-dict"),
        pytest.param({"first": "A"}, "first", "splitName expects text, got dict", id="dict"),
        pytest.param([], "first", "splitName expects text, got list", id="empty-list"),
        pytest.param(["A", "B"], "last", "splitName expects text, got list", id="list"),
        pytest.param("Mohammed Ali", "middle", "part must be 'first' or 'last', not 'middle'", id="bad-part"),
    ],
)
def test_given_non_text_or_bad_part_when_split_name_then_transform_error(
    value: Any, part: str, message: str
) -> None:
    with pytest.raises(TransformError, match=re.escape(message)):
        split_name(value, part=part)


# --- pluck ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param([{"url": "a.jpg"}, {"url": "b.jpg"}], ["a.jpg", "b.jpg"], id="list-of-objects"),
        pytest.param(
            [{"url": "a.jpg"}, {"url": ""}, {"url": None}, {"url": []}, {"other": 1}, {}],
            ["a.jpg"],
            id="empties-and-missing-skipped",
        ),
        pytest.param(["a.jpg", 5, None, ["x"]], [], id="non-objects-skipped"),
        pytest.param([{"url": 0}, {"url": False}], [0, False], id="falsy-non-empty-kept"),
        pytest.param([{"url": {"w": 1}}], [{"w": 1}], id="object-value-kept"),
        pytest.param({"url": "a.jpg"}, ["a.jpg"], id="single-object"),
        pytest.param(None, [], id="none"),
        pytest.param([], [], id="empty-list"),
        pytest.param({}, [], id="empty-dict"),
        pytest.param("", [], id="empty-string"),
        pytest.param("a.jpg", [], id="text"),
        pytest.param(5, [], id="int"),
    ],
)
def test_given_objects_when_pluck_then_the_key_of_each(value: Any, expected: list[Any]) -> None:
    assert pluck(value, key="url") == expected


# --- count ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param([1, 2, 3], 3, id="list"),
        pytest.param([None, None], 2, id="list-of-nulls"),
        pytest.param([], 0, id="empty-list"),
        pytest.param(None, 0, id="none"),
        pytest.param({"a": 1, "b": 2}, 2, id="object-keyed-by-id"),
        pytest.param({}, 0, id="empty-dict"),
    ],
)
def test_given_a_list_when_count_then_number_of_elements(value: Any, expected: int) -> None:
    assert count(value) == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param("abc", "str", id="text"),
        pytest.param("", "str", id="empty-string"),
        pytest.param(3, "int", id="int"),
        pytest.param(True, "bool", id="bool"),
        pytest.param(1.5, "float", id="float"),
    ],
)
def test_given_a_scalar_when_count_then_transform_error(value: Any, kind: str) -> None:
    with pytest.raises(TransformError, match=f"count expects a list, got {kind}"):
        count(value)
