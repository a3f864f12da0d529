"""The transforms a field rule may chain with ``transform:``.

Every transform takes the value produced so far (None when the path matched nothing) and returns the
next one. ``None`` passes through every transform unchanged unless its doc says otherwise, so a missing
field stays missing and the content type decides whether that is allowed. A value a transform cannot
convert raises TransformError, which the engine reports with the connector, field and path.

``coalesce``, ``mapItems`` and ``compute`` are listed here for documentation; the engine gives them
their inputs (the list of ``paths`` values, the item mapping, the compute function).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from mercator.domain.clock import to_iso
from mercator.mapping.catalog import Registry, TransformError
from mercator.mapping.dates import check_format, parse_datetime, zone

TRANSFORMS = Registry("transform")

_TRUE = {"true", "1", "yes", "y", "on", "t"}
_NOT_HANDLE = re.compile(r"[^a-z0-9]+")
_FALSE = {"false", "0", "no", "n", "off", "f", ""}


def is_empty(value: Any) -> bool:
    """None, an empty or blank string, an empty list or object."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


@TRANSFORMS.register("coalesce")
def coalesce(values: Any) -> Any:
    """First non-empty value of the rule's ``paths`` (None, blank strings, [] and {} count as empty)."""
    if not isinstance(values, list):
        return None if is_empty(values) else values
    for value in values:
        if not is_empty(value):
            return value
    return None


@TRANSFORMS.register("toString")
def to_string(value: Any) -> str | None:
    """Numbers and booleans to their text (``2116149737`` → ``"2116149737"``, ``12.50`` → ``"12.5"``).

    Integral floats lose their ``.0`` so IDs round-trip; objects and lists are an error.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TransformError(f"cannot turn {value!r} into a string id")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TransformError(f"toString expects a scalar, got {type(value).__name__}")


@TRANSFORMS.register("toNumberOrNull")
def to_number_or_null(value: Any) -> int | float | None:
    """A number from a number or numeric text (``"186.00"`` → ``186.0``, ``"1,250.5"`` → ``1250.5``).

    Anything else (None, blank, words, objects, NaN) gives None instead of an error.
    Salla's money objects ``{"amount": 186, "currency": "SAR"}`` give their amount.
    """
    if isinstance(value, dict) and "amount" in value:
        value = value["amount"]
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
        if number == number.to_integral_value() and "." not in text:
            return int(number)
        as_float = float(number)
        return as_float if math.isfinite(as_float) else None  # "1.5e400" overflows a float
    return None


@TRANSFORMS.register("toInteger")
def to_integer(value: Any) -> int | None:
    """An integer from a number or numeric text; a fraction is an error (quantities must be whole)."""
    number = to_number_or_null(value)
    if number is None:
        if is_empty(value):
            return None
        raise TransformError(f"{value!r} is not a number")
    if isinstance(number, float) and not number.is_integer():
        raise TransformError(f"{value!r} is not a whole number")
    return int(number)


@TRANSFORMS.register("toBoolean")
def to_boolean(value: Any) -> bool | None:
    """``true/false``, ``1/0``, ``yes/no``, ``on/off`` (any case) to a boolean; other text is an error."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise TransformError(f"{value!r} is not a boolean (true/false, 1/0, yes/no, on/off)")
    raise TransformError(f"toBoolean expects a scalar, got {type(value).__name__}")


def _check_zone(name: Any) -> None:
    if not isinstance(name, str):
        raise ValueError(f"a time zone must be text (an IANA name or +03:00), got {name!r}")
    zone(name)


@TRANSFORMS.register(
    "toIsoDatetime",
    params={
        "assumeTimezone": "zone for values without one (IANA name or +03:00); default UTC",
        "format": 'strptime format for text in no known form ("%d/%m/%Y %H:%M"; %z for an offset); '
        "text is then read with it alone",
    },
    checks={"assumeTimezone": _check_zone, "format": check_format},
)
def to_iso_datetime(value: Any, *, assumeTimezone: str = "UTC", format: str | None = None) -> str | None:
    """A UTC ISO 8601 timestamp (``2022-06-26T09:21:45Z``) from any platform date form.

    Accepts ISO 8601 with or without zone, ``YYYY-MM-DD``, RFC 2822 (``Wed, 10 Jan 2018 21:05:30 +0000``,
    obsolete zone names such as ``GMT`` or ``EST`` too), Salla's ``{date, timezone}`` objects and its
    envelope ``created_at`` (``Sun Jun 26 2022 12:21:48 GMT+0300``), and epoch seconds or milliseconds.
    With ``format``, text is read with that strptime format only (numbers and date objects as above).
    Blank text gives None; an unreadable date is an error.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return to_iso(parse_datetime(value, zone(assumeTimezone), fmt=format))
    except ValueError as exc:
        raise TransformError(str(exc)) from None


@TRANSFORMS.register("trim")
def trim(value: Any) -> Any:
    """Strip surrounding whitespace from text; blank text becomes None. Non-text passes through."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return value


@TRANSFORMS.register("lowercase")
def lowercase(value: Any) -> Any:
    """Lower-case text (emails, statuses). Non-text passes through."""
    return value.lower() if isinstance(value, str) else value


@TRANSFORMS.register("uppercase")
def uppercase(value: Any) -> Any:
    """Upper-case text (currency and country codes). Non-text passes through."""
    return value.upper() if isinstance(value, str) else value


@TRANSFORMS.register(
    "joinCodes",
    params={
        "key": "field to take from each object in the list (default: code)",
        "separator": "text placed between codes (default: ',')",
    },
)
def join_codes(value: Any, *, key: str = "code", separator: str = ",") -> str | None:
    """Join a list of codes into one text: ``["A", "B"]`` or ``[{"code": "A"}, ...]`` → ``"A,B"``.

    Blank entries and duplicates are dropped, order kept; an empty list gives None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise TransformError(f"joinCodes expects a list, got {type(value).__name__}")
    codes: list[str] = []
    for item in value:
        code = item.get(key) if isinstance(item, dict) else item
        if isinstance(code, dict | list):
            raise TransformError(f"joinCodes cannot use a nested {type(code).__name__} as a code")
        text = to_string(code)
        if text is not None and text.strip() and text.strip() not in codes:
            codes.append(text.strip())
    return separator.join(codes) or None


@TRANSFORMS.register("toJson")
def to_json(value: Any) -> str | None:
    """Serialise an object or list to compact JSON text (for free-form destination fields)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@TRANSFORMS.register("toHandle")
def to_handle(value: Any) -> str | None:
    """Text as a URL handle: lower case, every run of other characters than a-z and 0-9 one hyphen,
    none at either end (``"AB 12/x"`` → ``ab-12-x``), as stores make product handles."""
    if value is None:
        return None
    handle = _NOT_HANDLE.sub("-", str(to_string(value)).lower()).strip("-")
    return handle or None


@TRANSFORMS.register("asList")
def as_list(value: Any) -> list[Any]:
    """A value as a one-item list (None: an empty one); before mapItems, an object becomes the one item
    of a list of mapped objects (a product's single variant in a request body)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@TRANSFORMS.register("mapItems")
def map_items(value: Any) -> list[Any]:
    """Map each element of a list with the rule's item ``mapping`` (order lines, cart items).

    None gives an empty list; an object keyed by id maps its values; anything else is an error.
    """
    raise AssertionError("the engine applies mapItems itself")  # pragma: no cover


@TRANSFORMS.register("compute")
def compute(value: Any) -> Any:
    """Call the compute function named by ``fn`` (see the compute functions below) with ``args``."""
    raise AssertionError("the engine applies compute itself")  # pragma: no cover


SPECIAL_TRANSFORMS = frozenset({"coalesce", "mapItems", "compute"})
