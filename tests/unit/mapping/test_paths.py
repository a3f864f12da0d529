"""Unit tests for mercator.mapping.paths: dot paths, simple JSONPath and full JSONPath getters."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mercator.mapping.paths import PathSyntaxError, compile_path

ORDER: dict[str, Any] = {
    "id": 2116149737,
    "price": {"amount": 186, "currency": "SAR"},
    "data": {"id": "d-1", "items": ["first", "middle", "last"], "deep": {"er": {"still": "bottom"}}},
    "items": [
        {"sku": "A-1", "quantity": 1},
        {"sku": "B-2", "quantity": 3},
        {"sku": "C-3", "quantity": 2},
    ],
    "headers": {"user-agent": "Salla/1.0", "x.y": "dotted", "0": "zero-key"},
    "user-agent": "top-level agent",
    "flags": {"zero": 0, "false": False, "null": None, "empty": ""},
    "text": "just a string",
    "count": 7,
}


# --- single-value paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("id", 2116149737, id="one-field"),
        pytest.param("price.amount", 186, id="two-fields"),
        pytest.param("data.deep.er", {"still": "bottom"}, id="three-fields"),
        pytest.param("data.deep.er.still", "bottom", id="four-fields"),
        pytest.param("items[0].sku", "A-1", id="index-then-field"),
        pytest.param("items[2].quantity", 2, id="last-index-then-field"),
        pytest.param("items[-1].sku", "C-3", id="negative-index"),
        pytest.param("items[-3].sku", "A-1", id="negative-index-first"),
        pytest.param("data.items[-1]", "last", id="negative-index-at-end"),
        pytest.param("data.items[1]", "middle", id="index-at-end"),
        pytest.param("headers['user-agent']", "Salla/1.0", id="single-quoted-key"),
        pytest.param('headers["user-agent"]', "Salla/1.0", id="double-quoted-key"),
        pytest.param("headers['x.y']", "dotted", id="quoted-key-with-dot"),
        pytest.param("headers['0']", "zero-key", id="quoted-digit-key"),
        pytest.param("['user-agent']", "top-level agent", id="quoted-key-first"),
        pytest.param("flags.zero", 0, id="falsy-zero-kept"),
        pytest.param("flags.false", False, id="falsy-false-kept"),
        pytest.param("flags.empty", "", id="empty-string-kept"),
        pytest.param("flags.null", None, id="explicit-null"),
        pytest.param("  price.amount  ", 186, id="surrounding-blanks-ignored"),
    ],
)
def test_given_a_dot_path_when_applied_then_returns_the_single_value(path: str, expected: Any) -> None:
    compiled = compile_path(path)

    assert compiled.multi is False
    assert compiled.get(ORDER) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("$.data.id", "d-1", id="fields"),
        pytest.param("$.id", 2116149737, id="one-field"),
        pytest.param("$.items[1].sku", "B-2", id="index-then-field"),
        pytest.param("$.items[-1].quantity", 2, id="negative-index"),
        pytest.param("$['user-agent']", "top-level agent", id="quoted-key"),
        pytest.param("$.headers['user-agent']", "Salla/1.0", id="field-then-quoted-key"),
        pytest.param("$.data.deep.er.still", "bottom", id="four-fields"),
    ],
)
def test_given_simple_jsonpath_when_applied_then_returns_a_single_value_not_a_list(
    path: str, expected: Any
) -> None:
    compiled = compile_path(path)

    assert compiled.multi is False
    assert compiled.get(ORDER) == expected


def test_given_dollar_alone_when_applied_then_returns_the_whole_record() -> None:
    compiled = compile_path("$")

    assert compiled.multi is False
    assert compiled.get(ORDER) is ORDER
    assert compiled.get([1, 2]) == [1, 2]


def test_given_a_path_when_compiled_then_its_source_text_is_kept_verbatim() -> None:
    assert compile_path(" price.amount ").source == " price.amount "
    assert compile_path("$.items[*].sku").source == "$.items[*].sku"


# --- missing values and wrong types along the way -------------------------------------------------


@pytest.mark.parametrize(
    ("path", "record"),
    [
        pytest.param("missing", ORDER, id="missing-top-key"),
        pytest.param("price.missing", ORDER, id="missing-nested-key"),
        pytest.param("a.b.c.d.e", ORDER, id="missing-long-path"),
        pytest.param("data.deep.er.missing", ORDER, id="missing-fourth-key"),
        pytest.param("items[3].sku", ORDER, id="index-past-end"),
        pytest.param("items[-4].sku", ORDER, id="negative-index-past-start"),
        pytest.param("items[0].sku", {"items": []}, id="index-into-empty-list"),
        pytest.param("flags.null.deeper", ORDER, id="through-null"),
        pytest.param("text.length", ORDER, id="string-where-dict-expected"),
        pytest.param("count.value", ORDER, id="int-where-dict-expected"),
        pytest.param("a.b.c", {"a": {"b": "str"}}, id="string-at-third-step"),
        pytest.param("a.b.c.d", {"a": {"b": {"c": 5}}}, id="int-at-fourth-step"),
        pytest.param("price[0]", ORDER, id="int-index-on-dict"),
        pytest.param("headers[0]", ORDER, id="int-index-on-dict-with-digit-key"),
        pytest.param("items.sku", ORDER, id="str-key-on-list"),
        pytest.param("items['0']", ORDER, id="quoted-key-on-list"),
        pytest.param("text[0]", ORDER, id="int-index-on-string"),
        pytest.param("id", None, id="record-is-none"),
        pytest.param("id", "a string record", id="record-is-string"),
        pytest.param("id", [{"id": 1}], id="record-is-list"),
        pytest.param("a.b", 42, id="two-fields-on-int-record"),
        pytest.param("a.b.c", True, id="three-fields-on-bool-record"),
        pytest.param("[0]", {"0": "x"}, id="leading-index-on-dict"),
        pytest.param("$.data.missing", ORDER, id="simple-jsonpath-missing"),
        pytest.param("$.items[9].sku", ORDER, id="simple-jsonpath-index-past-end"),
        pytest.param("$.text.length", ORDER, id="simple-jsonpath-string-where-dict-expected"),
    ],
)
def test_given_a_path_that_does_not_resolve_when_applied_then_returns_none(path: str, record: Any) -> None:
    assert compile_path(path).get(record) is None


def test_given_a_leading_index_when_record_is_a_list_then_it_indexes_the_record() -> None:
    assert compile_path("[1]").get(["a", "b"]) == "b"
    assert compile_path("[-1].sku").get([{"sku": "x"}, {"sku": "y"}]) == "y"


# --- multi-value JSONPath -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "record", "expected"),
    [
        pytest.param("$.items[*].sku", ORDER, ["A-1", "B-2", "C-3"], id="wildcard-field"),
        pytest.param("$.items[?(@.quantity > 1)].sku", ORDER, ["B-2", "C-3"], id="filter-greater-than"),
        pytest.param("$.items[?(@.quantity == 1)].sku", ORDER, ["A-1"], id="filter-equals"),
        pytest.param("$.items[?(@.quantity > 5)].sku", ORDER, [], id="filter-matching-nothing"),
        pytest.param("$.data.items[*]", ORDER, ["first", "middle", "last"], id="wildcard-of-scalars"),
        pytest.param("$.items[0:2].sku", ORDER, ["A-1", "B-2"], id="slice"),
        pytest.param("$..still", ORDER, ["bottom"], id="recursive-descent"),
        pytest.param("$.missing[*].sku", ORDER, [], id="wildcard-over-missing-key"),
        pytest.param("$.items[*].missing", ORDER, [], id="wildcard-field-missing-everywhere"),
        pytest.param("$.items[*].sku", {"items": []}, [], id="wildcard-over-empty-list"),
        pytest.param("$.items[*].sku", {}, [], id="wildcard-over-empty-record"),
        pytest.param("$.items[*].sku", None, [], id="wildcard-over-none"),
        pytest.param(
            "$.items[*].sku",
            {"items": [{"sku": "A"}, {"other": 1}, {"sku": "C"}]},
            ["A", "C"],
            id="wildcard-skips-items-without-the-field",
        ),
        pytest.param(
            "$.items[?(@.quantity > 1)].sku",
            {"items": [{"sku": "A"}, {"sku": "B", "quantity": 2}]},
            ["B"],
            id="filter-skips-items-without-the-field",
        ),
        pytest.param(
            "$.items[?(@.quantity > 1)].sku",
            {"items": [{"sku": "A", "quantity": "3"}, {"sku": "B", "quantity": 2}]},
            ["B"],
            id="filter-item-of-mixed-type-is-no-match",
        ),
    ],
)
def test_given_a_multi_value_jsonpath_when_applied_then_returns_the_list_of_matches(
    path: str, record: Any, expected: list[Any]
) -> None:
    compiled = compile_path(path)

    assert compiled.multi is True
    assert compiled.get(record) == expected


# --- invalid syntax -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("", "non-empty string", id="empty"),
        pytest.param("   ", "non-empty string", id="blank"),
        pytest.param(None, "non-empty string", id="none"),
        pytest.param(5, "non-empty string", id="int"),
        pytest.param(["a"], "non-empty string", id="list"),
        pytest.param("a..b", "start it with '$'", id="double-dot-without-dollar"),
        pytest.param(".a", "start it with '$'", id="leading-dot"),
        pytest.param("a.", "start it with '$'", id="trailing-dot"),
        pytest.param("a[0]b", "start it with '$'", id="name-glued-after-index"),
        pytest.param("items[*].sku", "start it with '$'", id="wildcard-without-dollar"),
        pytest.param("items[?(@.q > 1)]", "start it with '$'", id="filter-without-dollar"),
        pytest.param("first name", "start it with '$'", id="space-in-name"),
        pytest.param("items[x]", "start it with '$'", id="unquoted-bracket-key"),
        pytest.param("items[0", "start it with '$'", id="unclosed-bracket"),
        pytest.param("$.[", "not valid JSONPath", id="dollar-dot-open-bracket"),
        pytest.param("$.items[*", "not valid JSONPath", id="unclosed-wildcard"),
        pytest.param("$.first name", "not valid JSONPath", id="jsonpath-space-in-name"),
    ],
)
def test_given_invalid_path_syntax_when_compiled_then_path_syntax_error_says_why(
    source: Any, message: str
) -> None:
    with pytest.raises(PathSyntaxError, match=re.escape(message)) as caught:
        compile_path(source)

    assert isinstance(caught.value, ValueError)


def test_given_a_bad_dot_path_when_compiled_then_the_message_quotes_the_path() -> None:
    with pytest.raises(PathSyntaxError) as caught:
        compile_path("a..b")

    assert "'a..b'" in str(caught.value)
