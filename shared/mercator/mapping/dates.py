"""Parse the date forms storefront platforms send into aware UTC datetimes.

Forms seen in real payloads:

* ISO 8601 with offset or ``Z``: ``2008-01-10T11:00:00-05:00``, ``2021-01-19T12:24:26.000000Z``;
* ISO-like without a zone: ``2017-03-22T16:28:02`` (WooCommerce), ``2026-01-20 10:27:53`` (Zid);
* a date alone: ``1986-04-22``;
* Salla's date object:
  ``{"date": "2022-06-26 12:21:45.000000", "timezone_type": 3, "timezone": "Asia/Riyadh"}``;
* Salla's envelope ``created_at``, a JavaScript ``Date.toString()``: ``Sun Jun 26 2022 12:21:48 GMT+0300``
  (sometimes followed by ``(Arabia Standard Time)``);
* Unix epoch seconds or milliseconds, as numbers or digit strings.

A value with no zone is read in ``assume_timezone`` (UTC unless the connector says otherwise).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Epoch values above this are milliseconds (year 2286 in seconds).
_MILLIS_THRESHOLD = 10_000_000_000
_JS_DATE = re.compile(
    r"^(?:[A-Za-z]{3},?\s+)?(?P<mon>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+(?P<year>\d{4})\s+"
    r"(?P<time>\d{1,2}:\d{2}(?::\d{2})?)\s*(?P<gmt>GMT|UTC)?\s*(?P<offset>[+-]\d{2}:?\d{2})?"
    r"(?:\s*\([^)]*\))?$"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_OFFSET = re.compile(r"^(?:GMT|UTC)?\s*(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2})?$")


def zone(name: str) -> tzinfo:
    """A tzinfo for an IANA name or a fixed offset like ``+03:00``; ValueError when unknown."""
    if name.upper() in {"UTC", "Z", "GMT"}:
        return UTC
    match = _OFFSET.match(name.strip())
    if match:
        delta = timedelta(hours=int(match["h"]), minutes=int(match["m"] or 0))
        return timezone(-delta if match["sign"] == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory ("Asia"), a too-long name
        raise ValueError(f"unknown time zone {name!r}") from None


def parse_datetime(value: Any, assume_timezone: tzinfo = UTC) -> datetime:
    """Parse one of the platform date forms; ValueError says what was not understood."""
    if isinstance(value, bool):
        raise ValueError(f"expected a date, got a boolean {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(value)
    if isinstance(value, dict):
        return _from_date_object(value, assume_timezone)
    if not isinstance(value, str):
        raise ValueError(f"expected a date, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValueError("expected a date, got an empty string")
    if text.isdigit():
        return _from_epoch(float(text))
    parsed = _from_iso(text) or _from_js_date(text)
    if parsed is None:
        raise ValueError(f"{text!r} is not a date form Mercator knows (ISO 8601, JS Date string, epoch)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=assume_timezone)
    return _to_utc(parsed)


def utc_now() -> datetime:
    """The present as an aware UTC datetime: the default clock of every service and adapter."""
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Canonical form of every mapped timestamp: UTC, ``Z`` suffix, microseconds only when present."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        raise ValueError(f"{moment.isoformat()} is out of range in UTC") from None


def _from_epoch(value: float) -> datetime:
    try:
        seconds = float(value)  # an int too large for a float raises OverflowError
        if seconds > _MILLIS_THRESHOLD:
            seconds /= 1000
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("epoch value is out of range") from None


def _from_iso(text: str) -> datetime | None:
    candidate = text
    # fromisoformat in 3.11 accepts 'Z' and 1-6 fraction digits; normalise 7-9 digit fractions.
    fraction = re.search(r"\.(\d{7,9})", candidate)
    if fraction:
        candidate = candidate.replace(fraction.group(0), "." + fraction.group(1)[:6])
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _from_js_date(text: str) -> datetime | None:
    match = _JS_DATE.match(text)
    if match is None or match["mon"].lower() not in _MONTHS:
        return None
    hour_min_sec = [int(part) for part in match["time"].split(":")] + [0]
    try:
        moment = datetime(
            int(match["year"]),
            _MONTHS[match["mon"].lower()],
            int(match["day"]),
            hour_min_sec[0],
            hour_min_sec[1],
            hour_min_sec[2],
        )
    except ValueError:
        return None
    offset = match["offset"]
    if offset:
        return moment.replace(tzinfo=zone(offset))
    return moment.replace(tzinfo=UTC) if match["gmt"] else moment  # a bare GMT/UTC is a zone too


def _from_date_object(value: dict[str, Any], assume_timezone: tzinfo) -> datetime:
    inner = value.get("date")
    if not isinstance(inner, str):
        raise ValueError("a date object needs a 'date' string (Salla's {date, timezone_type, timezone})")
    parsed = _from_iso(inner.strip())
    if parsed is None:
        raise ValueError(f"{inner!r} in a date object is not an ISO date")
    if parsed.tzinfo is None:
        name = value.get("timezone")
        tz = zone(name) if isinstance(name, str) and name else assume_timezone
        parsed = parsed.replace(tzinfo=tz)
    return _to_utc(parsed)
