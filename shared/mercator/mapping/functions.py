"""Compute functions: platform helpers a rule calls with ``transform: compute`` and ``fn: <name>``.

The function receives the rule's input (the value at ``path``, the list of values at ``paths``, or the
whole record when neither is given) and the rule's ``args``. Add one by registering it here with a
docstring: ``mercator functions`` lists it and definitions are checked against it at load time.
"""

from __future__ import annotations

import copy
from typing import Any

from mercator.mapping.catalog import Registry, TransformError
from mercator.mapping.transforms import is_empty, to_number_or_null, to_string

FUNCTIONS = Registry("compute function")


def _as_list(values: Any) -> list[Any]:
    if values is None:
        return []
    return values if isinstance(values, list) else [values]


@FUNCTIONS.register("concat", params={"separator": "text between parts (default: one space)"})
def concat(values: Any, *, separator: str = " ") -> str | None:
    """Join the non-empty values of ``paths`` as text: ``[first_name, last_name]`` → ``"Mohammed Ali"``."""
    parts = []
    for value in _as_list(values):
        if isinstance(value, dict | list):
            raise TransformError(f"concat cannot join a {type(value).__name__}")
        text = to_string(value)
        if text is not None and text.strip():
            parts.append(text.strip())
    return separator.join(parts) or None


@FUNCTIONS.register("phoneNumber")
def phone_number(values: Any) -> str | None:
    """One international number from ``[country code, number]`` (Salla: ``mobile_code`` + ``mobile``).

    ``["+966", 566156838]`` → ``"+966566156838"``; a number already starting with ``+`` or ``00`` is kept
    as it is; a missing code gives the number alone; a missing number gives None.
    """
    items = _as_list(values)
    code, number = (None, items[0]) if len(items) == 1 else [*items, None, None][:2]
    number_text = to_string(number) if not isinstance(number, dict | list) else None
    if number_text is None or not number_text.strip():
        return None
    digits = "".join(ch for ch in number_text if ch.isdigit() or ch == "+")
    if not any(ch.isdigit() for ch in digits):
        return None  # "N/A", "-": no number at all
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    code_text = to_string(code) if not isinstance(code, dict | list) else None
    if not code_text or not code_text.strip():
        return digits
    code_digits = "".join(ch for ch in code_text if ch.isdigit())
    if digits.startswith(code_digits) and len(digits) > 10:
        return "+" + digits  # the number already carries its country code
    return f"+{code_digits}{digits.lstrip('0')}"


@FUNCTIONS.register(
    "localized",
    params={"prefer": "language codes to try in order (default: ['en', 'ar'])"},
)
def localized(value: Any, *, prefer: list[str] | None = None) -> str | None:
    """Pick one text from a per-language object such as Zid's ``{"ar": "...", "en": "..."}``.

    Tries ``prefer`` in order, then any non-empty language; plain text is returned as it is.
    """
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise TransformError(f"localized expects text or a language object, got {type(value).__name__}")
    for language in prefer or ["en", "ar"]:
        text = value.get(language)
        if isinstance(text, str) and text.strip():
            return text
    for text in value.values():
        if isinstance(text, str) and text.strip():
            return text
    return None


@FUNCTIONS.register("sum")
def sum_numbers(values: Any) -> int | float | None:
    """Add the numeric values of ``paths`` (numeric text counts; empty values are skipped); a path
    that finds a list (a wildcard: ``$.variants[*].stock``) adds each of its values."""
    flat = [item for value in _as_list(values) for item in _as_list(value)]
    numbers = [to_number_or_null(v) for v in flat if not is_empty(v)]
    present = [n for n in numbers if n is not None]
    return sum(present) if present else None


@FUNCTIONS.register("multiply")
def multiply(values: Any) -> int | float | None:
    """Multiply the values of ``paths`` (``[quantity, unit price]`` → line total); None if one is missing."""
    result: int | float = 1
    items = _as_list(values)
    if not items:
        return None
    for value in items:
        number = to_number_or_null(value)
        if number is None:
            return None
        result *= number
    return result


def _check_lookup_table(table: Any) -> None:
    """Refuse a table no source value could match: its keys are compared as text."""
    if not isinstance(table, dict):
        raise ValueError(f"must be an object of source value: destination value, got {type(table).__name__}")
    for key in table:
        if not isinstance(key, str):
            written = "null" if key is None else str(key).lower() if isinstance(key, bool) else repr(key)
            raise ValueError(
                f"key {written} was read as {type(key).__name__}, not text, so no source value matches "
                f"it (values are compared as text); quote it: '{written}'"
            )


@FUNCTIONS.register(
    "lookup",
    params={
        "table": "object mapping source values to destination values",
        "default": "value for anything not in the table (default: the source value itself)",
    },
    checks={"table": _check_lookup_table},
)
def lookup(value: Any, *, table: dict[str, Any], default: Any = ...) -> Any:
    """Translate a code through ``table`` (e.g. a platform status to the destination's status).

    Keys are compared as text, so numeric codes match quoted keys.
    """
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise TransformError(f"lookup expects a scalar, got {type(value).__name__}")
    key = to_string(value)
    if key in table:
        return _fresh(table[key])
    return value if default is ... else _fresh(default)


def _fresh(value: Any) -> Any:
    """A copy of an object or list from the definition, so one record's output never aliases another's."""
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


@FUNCTIONS.register("splitName", params={"part": "'first' or 'last'"})
def split_name(value: Any, *, part: str) -> str | None:
    """Split a full name on its first space: ``"Mohammed Ali"`` → first ``Mohammed``, last ``Ali``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TransformError(f"splitName expects text, got {type(value).__name__}")
    if part not in {"first", "last"}:
        raise TransformError(f"splitName part must be 'first' or 'last', not {part!r}")
    pieces = value.strip().split(None, 1)
    if not pieces:
        return None
    if part == "first":
        return pieces[0]
    return pieces[1] if len(pieces) > 1 else None


@FUNCTIONS.register("pluck", params={"key": "field to take from each object"})
def pluck(value: Any, *, key: str) -> list[Any]:
    """The ``key`` field of each object in a list, skipping empties: image URLs, category names."""
    out = []
    for item in _as_list(value):
        picked = item.get(key) if isinstance(item, dict) else None
        if not is_empty(picked):
            out.append(picked)
    return out


@FUNCTIONS.register(
    "onlyIf",
    params={"field": "field of the object to give", "when": "field that must have a value for it to count"},
)
def only_if(value: Any, *, field: str, when: str) -> Any:
    """The object's ``field``, but only while its ``when`` field has a value too: a product's regular
    price as the price it is compared at, only while it has a sale price. Used without a path (the
    whole record)."""
    if not isinstance(value, dict):
        raise TransformError(f"onlyIf expects an object (a rule without path), got {type(value).__name__}")
    return None if is_empty(value.get(when)) else value.get(field)


@FUNCTIONS.register("count")
def count(value: Any) -> int:
    """The number of elements in a list (0 for None); e.g. an order's number of lines."""
    if value is None:
        return 0
    if not isinstance(value, list | dict):
        raise TransformError(f"count expects a list, got {type(value).__name__}")
    return len(value)
