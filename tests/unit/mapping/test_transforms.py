"""Unit tests for mercator.mapping.transforms: every transform, table-driven, expectations from docstrings.

toIsoDatetime's date forms are covered in test_dates.py; here only its None/blank/wrong-type edges.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from mercator.mapping.catalog import TransformError
from mercator.mapping.transforms import (
    SPECIAL_TRANSFORMS,
    TRANSFORMS,
    coalesce,
    is_empty,
    join_codes,
    lowercase,
    to_boolean,
    to_integer,
    to_iso_datetime,
    to_json,
    to_number_or_null,
    to_string,
    trim,
    uppercase,
)

INF = float("inf")
NAN = float("nan")


def test_given_the_registry_when_listed_then_every_documented_transform_is_there() -> None:
    assert TRANSFORMS.names() == [
        "asList",
        "coalesce",
        "compute",
        "joinCodes",
        "lowercase",
        "mapItems",
        "toBoolean",
        "toHandle",
        "toInteger",
        "toIsoDatetime",
        "toJson",
        "toNumberOrNull",
        "toString",
        "trim",
        "uppercase",
    ]
    assert {"coalesce", "mapItems", "compute"} == SPECIAL_TRANSFORMS
    assert all(entry.doc for entry in TRANSFORMS)


# --- is_empty -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, True, id="none"),
        pytest.param("", True, id="empty-string"),
        pytest.param(" \t\n", True, id="blank-string"),
        pytest.param([], True, id="empty-list"),
        pytest.param({}, True, id="empty-dict"),
        pytest.param("x", False, id="text"),
        pytest.param(0, False, id="zero"),
        pytest.param(0.0, False, id="zero-float"),
        pytest.param(False, False, id="false"),
        pytest.param([None], False, id="list-of-none"),
        pytest.param({"a": None}, False, id="dict-with-null"),
    ],
)
def test_given_a_value_when_is_empty_then_only_none_blank_and_empty_containers_count(
    value: Any, expected: bool
) -> None:
    assert is_empty(value) is expected


# --- coalesce -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(["a", "b"], "a", id="first-present"),
        pytest.param([None, "b"], "b", id="skips-none"),
        pytest.param(["", "  ", "c"], "c", id="skips-blank-strings"),
        pytest.param([[], {}, "d"], "d", id="skips-empty-containers"),
        pytest.param([0, 1], 0, id="zero-is-not-empty"),
        pytest.param([None, False], False, id="false-is-not-empty"),
        pytest.param([None, [1]], [1], id="non-empty-list"),
        pytest.param([None, {"k": 1}], {"k": 1}, id="non-empty-dict"),
        pytest.param([" x ", "y"], " x ", id="value-returned-untrimmed"),
        pytest.param([None, "", [], {}], None, id="all-empty"),
        pytest.param([], None, id="no-values"),
        pytest.param(None, None, id="none-not-a-list"),
        pytest.param("", None, id="blank-not-a-list"),
        pytest.param({}, None, id="empty-dict-not-a-list"),
        pytest.param("solo", "solo", id="scalar-not-a-list"),
        pytest.param({"a": 1}, {"a": 1}, id="dict-not-a-list"),
        pytest.param(7, 7, id="int-not-a-list"),
        pytest.param(True, True, id="bool-not-a-list"),
    ],
)
def test_given_values_when_coalesce_then_first_non_empty(values: Any, expected: Any) -> None:
    assert coalesce(values) == expected


# --- toString -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param("", "", id="empty-string-unchanged"),
        pytest.param("  abc ", "  abc ", id="text-unchanged"),
        pytest.param(2116149737, "2116149737", id="int-id"),
        pytest.param(-5, "-5", id="negative-int"),
        pytest.param(0, "0", id="zero"),
        pytest.param(12.50, "12.5", id="float"),
        pytest.param(2116149737.0, "2116149737", id="integral-float-loses-point-zero"),
        pytest.param(-3.0, "-3", id="negative-integral-float"),
        pytest.param(0.1, "0.1", id="short-float"),
        pytest.param(True, "true", id="bool-true"),
        pytest.param(False, "false", id="bool-false"),
        pytest.param(Decimal("12.50"), "12.50", id="decimal"),
        pytest.param(Decimal("1E+3"), "1000", id="decimal-exponent-written-out"),
    ],
)
def test_given_a_scalar_when_to_string_then_its_text(value: Any, expected: Any) -> None:
    assert to_string(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param({}, "toString expects a scalar, got dict", id="empty-dict"),
        pytest.param({"a": 1}, "toString expects a scalar, got dict", id="dict"),
        pytest.param([], "toString expects a scalar, got list", id="empty-list"),
        pytest.param([1], "toString expects a scalar, got list", id="list"),
        pytest.param(INF, "cannot turn inf into a string id", id="infinity"),
        pytest.param(NAN, "cannot turn nan into a string id", id="nan"),
    ],
)
def test_given_a_non_scalar_when_to_string_then_transform_error(value: Any, message: str) -> None:
    with pytest.raises(TransformError, match=re.escape(message)):
        to_string(value)


# --- toNumberOrNull -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(186, 186, id="int"),
        pytest.param(-7, -7, id="negative-int"),
        pytest.param(12.5, 12.5, id="float"),
        pytest.param("186", 186, id="int-text"),
        pytest.param("186.00", 186.0, id="decimal-text-is-float"),
        pytest.param("1,250.5", 1250.5, id="thousands-separator"),
        pytest.param(" 42 ", 42, id="padded-text"),
        pytest.param("-3.25", -3.25, id="negative-text"),
        pytest.param("1e3", 1000, id="exponent-text-integral"),
        pytest.param("2.5e-1", 0.25, id="exponent-text-fraction"),
        pytest.param({"amount": 186, "currency": "SAR"}, 186, id="salla-money-object"),
        pytest.param({"amount": "186.50", "currency": "SAR"}, 186.5, id="salla-money-object-text-amount"),
        pytest.param({"amount": None}, None, id="money-object-null-amount"),
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty-string"),
        pytest.param("   ", None, id="blank-string"),
        pytest.param("abc", None, id="words"),
        pytest.param("12abc", None, id="number-then-words"),
        pytest.param("NaN", None, id="nan-text"),
        pytest.param("Infinity", None, id="infinity-text"),
        pytest.param("1.5e400", None, id="text-overflowing-a-float"),
        pytest.param(NAN, None, id="nan-float"),
        pytest.param(INF, None, id="infinite-float"),
        pytest.param(-INF, None, id="negative-infinite-float"),
        pytest.param(True, None, id="bool-true"),
        pytest.param(False, None, id="bool-false"),
        pytest.param({}, None, id="empty-dict"),
        pytest.param({"value": 3}, None, id="dict-without-amount"),
        pytest.param([], None, id="empty-list"),
        pytest.param([3], None, id="list"),
    ],
)
def test_given_a_value_when_to_number_or_null_then_number_or_none(value: Any, expected: Any) -> None:
    result = to_number_or_null(value)

    assert result == expected
    assert type(result) is type(expected)


# --- toInteger ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(3, 3, id="int"),
        pytest.param(3.0, 3, id="integral-float"),
        pytest.param("3", 3, id="int-text"),
        pytest.param("3.00", 3, id="integral-decimal-text"),
        pytest.param(" -12 ", -12, id="padded-negative-text"),
        pytest.param("1,000", 1000, id="thousands-separator"),
        pytest.param({"amount": "4"}, 4, id="money-object"),
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty-string"),
        pytest.param("  ", None, id="blank-string"),
        pytest.param([], None, id="empty-list"),
        pytest.param({}, None, id="empty-dict"),
    ],
)
def test_given_a_whole_number_when_to_integer_then_int(value: Any, expected: Any) -> None:
    result = to_integer(value)

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(2.5, "2.5 is not a whole number", id="fraction-float"),
        pytest.param("2.5", "'2.5' is not a whole number", id="fraction-text"),
        pytest.param({"amount": 1.5}, "is not a whole number", id="fraction-money-object"),
        pytest.param("two", "'two' is not a number", id="words"),
        pytest.param(True, "True is not a number", id="bool-true"),
        pytest.param(False, "False is not a number", id="bool-false"),
        pytest.param({"a": 1}, "{'a': 1} is not a number", id="dict"),
        pytest.param([1], "[1] is not a number", id="list"),
        pytest.param(NAN, "nan is not a number", id="nan"),
    ],
)
def test_given_a_non_integer_when_to_integer_then_transform_error(value: Any, message: str) -> None:
    with pytest.raises(TransformError, match=re.escape(message)):
        to_integer(value)


# --- toBoolean ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param(True, True, id="true"),
        pytest.param(False, False, id="false"),
        pytest.param(1, True, id="one"),
        pytest.param(0, False, id="zero"),
        pytest.param(-2, True, id="non-zero-int"),
        pytest.param(0.0, False, id="zero-float"),
        pytest.param(0.5, True, id="non-zero-float"),
        pytest.param("true", True, id="text-true"),
        pytest.param("TRUE", True, id="text-true-upper"),
        pytest.param(" Yes ", True, id="text-yes-padded"),
        pytest.param("y", True, id="text-y"),
        pytest.param("on", True, id="text-on"),
        pytest.param("1", True, id="text-one"),
        pytest.param("t", True, id="text-t"),
        pytest.param("false", False, id="text-false"),
        pytest.param("False", False, id="text-false-title"),
        pytest.param("no", False, id="text-no"),
        pytest.param("N", False, id="text-n"),
        pytest.param("OFF", False, id="text-off"),
        pytest.param("0", False, id="text-zero"),
        pytest.param("f", False, id="text-f"),
        # PHP serialises false as "": the implementation reads blank text as false.
        pytest.param("", False, id="empty-string"),
        pytest.param("   ", False, id="blank-string"),
    ],
)
def test_given_a_boolean_form_when_to_boolean_then_bool(value: Any, expected: Any) -> None:
    assert to_boolean(value) is expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("maybe", "'maybe' is not a boolean", id="other-text"),
        pytest.param("2", "'2' is not a boolean", id="other-digit-text"),
        pytest.param({}, "toBoolean expects a scalar, got dict", id="empty-dict"),
        pytest.param({"value": True}, "toBoolean expects a scalar, got dict", id="dict"),
        pytest.param([], "toBoolean expects a scalar, got list", id="empty-list"),
        pytest.param([True], "toBoolean expects a scalar, got list", id="list"),
    ],
)
def test_given_a_non_boolean_when_to_boolean_then_transform_error(value: Any, message: str) -> None:
    with pytest.raises(TransformError, match=re.escape(message)):
        to_boolean(value)


# --- toIsoDatetime (edges; forms are in test_dates.py) --------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty-string"),
        pytest.param(" \t", None, id="blank-string"),
        pytest.param("2022-06-26T12:21:45+03:00", "2022-06-26T09:21:45Z", id="normal"),
        pytest.param(0, "1970-01-01T00:00:00Z", id="epoch-zero-is-a-date"),
    ],
)
def test_given_a_value_when_to_iso_datetime_with_defaults_then_utc_text_or_none(
    value: Any, expected: Any
) -> None:
    assert to_iso_datetime(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("not a date", "'not a date' is not a date form", id="garbage"),
        pytest.param(True, "got a boolean True", id="bool"),
        pytest.param({}, "needs a 'date' string", id="empty-dict"),
        pytest.param({"date": None}, "needs a 'date' string", id="dict-null-date"),
        pytest.param([], "expected a date, got list", id="empty-list"),
        pytest.param(["2022-06-26"], "expected a date, got list", id="list"),
    ],
)
def test_given_a_non_date_when_to_iso_datetime_then_transform_error(value: Any, message: str) -> None:
    with pytest.raises(TransformError, match=re.escape(message)):
        to_iso_datetime(value)


# --- trim / lowercase / uppercase -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("  Mohammed  ", "Mohammed", id="padded-text"),
        pytest.param("\tA B\n", "A B", id="inner-space-kept"),
        pytest.param("x", "x", id="clean-text"),
        pytest.param("", None, id="empty-string"),
        pytest.param("   ", None, id="blank-string"),
        pytest.param(None, None, id="none"),
        pytest.param(5, 5, id="int-passes"),
        pytest.param(False, False, id="bool-passes"),
        pytest.param([], [], id="empty-list-passes"),
        pytest.param({"a": " b "}, {"a": " b "}, id="dict-passes"),
    ],
)
def test_given_a_value_when_trim_then_text_stripped_and_blank_is_none(value: Any, expected: Any) -> None:
    assert trim(value) == expected


@pytest.mark.parametrize(
    ("value", "lower", "upper"),
    [
        pytest.param("Ali@Example.COM", "ali@example.com", "ALI@EXAMPLE.COM", id="mixed-case"),
        pytest.param("sar", "sar", "SAR", id="currency"),
        pytest.param("", "", "", id="empty-string"),
        pytest.param("  Sa ", "  sa ", "  SA ", id="spaces-kept"),
        pytest.param(None, None, None, id="none"),
        pytest.param(12, 12, 12, id="int-passes"),
        pytest.param(True, True, True, id="bool-passes"),
        pytest.param({"A": "B"}, {"A": "B"}, {"A": "B"}, id="dict-passes"),
        pytest.param([], [], [], id="empty-list-passes"),
        pytest.param(["a"], ["a"], ["a"], id="list-passes"),
    ],
)
def test_given_a_value_when_changing_case_then_only_text_changes(value: Any, lower: Any, upper: Any) -> None:
    assert lowercase(value) == lower
    assert uppercase(value) == upper


# --- joinCodes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        pytest.param(["A", "B"], {}, "A,B", id="list-of-text"),
        pytest.param([{"code": "A"}, {"code": "B"}], {}, "A,B", id="list-of-objects"),
        pytest.param(["B", "A", "B"], {}, "B,A", id="duplicates-dropped-order-kept"),
        pytest.param([" A ", "A", "", "  ", None, "B"], {}, "A,B", id="blank-entries-dropped"),
        pytest.param([1, 2.0, True], {}, "1,2,true", id="scalars-as-text"),
        pytest.param(
            [{"code": "A"}, {"name": "x"}, {"code": ""}], {}, "A", id="objects-without-code-skipped"
        ),
        pytest.param({"code": "A"}, {}, "A", id="single-object"),
        pytest.param("A,B", {}, "A,B", id="text-kept"),
        pytest.param("  A  ", {}, "A", id="text-trimmed"),
        pytest.param([{"id": 7}, {"id": 9}], {"key": "id"}, "7,9", id="custom-key"),
        pytest.param(["A", "B"], {"separator": " | "}, "A | B", id="custom-separator"),
        pytest.param(None, {}, None, id="none"),
        pytest.param("", None, None, id="empty-string"),
        pytest.param("   ", {}, None, id="blank-string"),
        pytest.param([], {}, None, id="empty-list"),
        pytest.param({}, {}, None, id="empty-dict"),
        pytest.param([None, "", " "], {}, None, id="only-blank-entries"),
    ],
)
def test_given_codes_when_join_codes_then_one_text(
    value: Any, kwargs: dict[str, Any] | None, expected: Any
) -> None:
    assert join_codes(value, **(kwargs or {})) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(5, "joinCodes expects a list, got int", id="int"),
        pytest.param(True, "joinCodes expects a list, got bool", id="bool"),
        pytest.param(1.5, "joinCodes expects a list, got float", id="float"),
        pytest.param([["A"]], "cannot use a nested list as a code", id="nested-list"),
        pytest.param([{"code": {"x": 1}}], "cannot use a nested dict as a code", id="object-code"),
        pytest.param([float("nan")], "cannot turn nan into a string id", id="nan-code"),
    ],
)
def test_given_non_codes_when_join_codes_then_transform_error(value: Any, message: str) -> None:
    with pytest.raises(TransformError, match=re.escape(message)):
        join_codes(value)


# --- toJson ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"b": 1, "a": [1, 2]}, '{"a":[1,2],"b":1}', id="object-sorted-compact"),
        pytest.param([1, "x", None, True], '[1,"x",null,true]', id="list"),
        pytest.param({"name": "محمد"}, '{"name":"محمد"}', id="non-ascii-kept"),
        pytest.param({}, "{}", id="empty-dict"),
        pytest.param([], "[]", id="empty-list"),
        pytest.param("", '""', id="empty-string"),
        pytest.param("x", '"x"', id="text"),
        pytest.param(5, "5", id="int"),
        pytest.param(False, "false", id="bool"),
        pytest.param(None, None, id="none"),
    ],
)
def test_given_a_value_when_to_json_then_compact_sorted_json(value: Any, expected: Any) -> None:
    assert to_json(value) == expected
