"""Parse the date forms storefront platforms send into aware UTC datetimes.

Forms seen in real payloads:

* ISO 8601 with offset or ``Z``: ``2008-01-10T11:00:00-05:00``, ``2021-01-19T12:24:26.000000Z``;
* ISO-like without a zone: ``2017-03-22T16:28:02`` (WooCommerce), ``2026-01-20 10:27:53`` (Zid);
* a date alone: ``1986-04-22``;
* Salla's date object:
  ``{"date": "2022-06-26 12:21:45.000000", "timezone_type": 3, "timezone": "Asia/Riyadh"}``;
* Salla's envelope ``created_at``, a JavaScript ``Date.toString()``: ``Sun Jun 26 2022 12:21:48 GMT+0300``
  (sometimes followed by ``(Arabia Standard Time)``);
* RFC 2822 (e-mail and RSS dates, PHP's ``DATE_RSS``): ``Wed, 10 Jan 2018 21:05:30 +0000``, with the
  obsolete zone names (``GMT``, ``UT``, ``EST``... ``PDT``, military letters) and two-digit years;
* Unix epoch seconds or milliseconds, as numbers or digit strings;
* anything else a connector describes with a strptime ``format`` (checked by ``check_format``).

A value with no zone is read in ``assume_timezone`` (UTC unless the connector says otherwise).
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

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
_RFC2822 = re.compile(
    r"^(?:(?P<wday>[A-Za-z]{3})\s*,\s*)?(?P<day>\d{1,2})\s+(?P<mon>[A-Za-z]{3})\s+(?P<year>\d{2,4})\s+"
    r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*"
    r"(?P<zone>[+-]\d{4}|[A-Za-z]{1,3})?(?:\s*\([^)]*\))?$"
)
_WEEKDAYS = frozenset({"mon", "tue", "wed", "thu", "fri", "sat", "sun"})
# RFC 2822 section 4.3. The military letters were defined backwards in RFC 822, so the RFC reads
# them all as -0000: the time is UTC and the sender's own zone is unknown.
_RFC2822_ZONES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0,
    "edt": -4, "est": -5, "cdt": -5, "cst": -6, "mdt": -6, "mst": -7, "pdt": -7, "pst": -8,
    **dict.fromkeys("abcdefghiklmnopqrstuvwxy", 0),
}  # fmt: skip


def zone(name: str) -> tzinfo:
    """A tzinfo for an IANA name or a fixed offset like ``+03:00``; ValueError when unknown.

    The error names the closest IANA names, so a typo (``Asia/Riyad``) is fixed from the message.
    """
    if name.upper() in {"UTC", "Z", "GMT"}:
        return UTC
    match = _OFFSET.match(name.strip())
    if match:
        delta = timedelta(hours=int(match["h"]), minutes=int(match["m"] or 0))
        return timezone(-delta if match["sign"] == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory ("Asia"), a too-long name
        raise ValueError(f"unknown time zone {name!r}{_zone_hint(name)}") from None


def _zone_hint(name: str) -> str:
    by_lower = _zone_names()
    close = [repr(by_lower[found]) for found in difflib.get_close_matches(name.lower(), list(by_lower), n=3)]
    choices = f"{', '.join(close[:-1])} or {close[-1]}" if len(close) > 1 else "".join(close)
    suggestion = f"; did you mean {choices}?" if close else ""
    return f"{suggestion} (valid: an IANA name such as 'Asia/Riyadh', 'UTC', or an offset such as '+03:00')"


@cache
def _zone_names() -> dict[str, str]:
    # Only an error needs the list, and reading it walks the zone database: once per process.
    return {found.lower(): found for found in sorted(available_timezones())}


# The strptime directives a connector's format may use. Locale names (%a %b %p) are read in the C
# locale the functions run in. Left out: %Z (strptime knows only UTC, GMT and the machine's own zone
# names, and drops the zone it read), %c %x %X (locale layouts), and the week-based directives.
_DIRECTIVES = "YymbBdjHIpMSfzaA%"
_DIRECTIVE = re.compile(r"%(.?)")
_FORMAT_PROBE = datetime(2006, 1, 2, 15, 4, 5, 123456, tzinfo=UTC)


def check_format(fmt: object) -> None:
    """ValueError unless ``fmt`` is a strptime format Mercator can read whole dates with.

    It must give a full date (a year, and a month and day or a day of the year), use only the
    directives listed above, each once, and pair %I with %p.
    """
    if not isinstance(fmt, str) or not fmt.strip():
        raise ValueError(f'a format must be strptime text such as "%d/%m/%Y %H:%M", got {fmt!r}')
    valid = " ".join(f"%{name}" for name in _DIRECTIVES)
    used: list[str] = []
    for match in _DIRECTIVE.finditer(fmt):
        directive = match[1]
        if not directive:
            raise ValueError(f"{fmt!r} ends with a lone '%'; write %% for a literal %")
        if directive == "Z":
            raise ValueError(
                "%Z cannot be read reliably (strptime knows only UTC, GMT and the machine's zone names); "
                "use %z for an offset, or write the zone name as literal text and set assumeTimezone"
            )
        if directive == "-":
            raise ValueError(f"{fmt!r}: strptime has no %- flags (%d reads 1 and 01 alike); valid: {valid}")
        if directive not in _DIRECTIVES:
            raise ValueError(f"%{directive} in {fmt!r} is not a directive Mercator reads; valid: {valid}")
        if directive != "%":
            if directive in used:
                raise ValueError(f"%{directive} appears twice in {fmt!r}")
            used.append(directive)
    has = set(used)
    if not has & {"Y", "y"} or not ((has & {"m", "b", "B"} and "d" in has) or "j" in has):
        raise ValueError(
            f"{fmt!r} does not give a full date: it needs a year (%Y or %y) and a month (%m, %b or %B) "
            "with a day (%d), or a day of the year (%j)"
        )
    if "I" in has and "p" not in has:
        raise ValueError(f"{fmt!r} has a 12-hour %I without %p (AM/PM), so afternoons would read as mornings")
    try:
        datetime.strptime(_FORMAT_PROBE.strftime(fmt), fmt)
    except ValueError as exc:  # directives that are each fine but cannot be read together
        raise ValueError(f"strptime cannot read its own output of {fmt!r}: {exc}") from None


def parse_datetime(value: Any, assume_timezone: tzinfo = UTC, *, fmt: str | None = None) -> datetime:
    """Parse one of the platform date forms; ValueError says what was not understood.

    With ``fmt`` (a format ``check_format`` accepted), text is read with that format and nothing else:
    a date the connector describes must not be guessed at. Numbers and date objects are read as usual.
    """
    if fmt is not None and isinstance(value, str):
        return _from_format(value, fmt, assume_timezone)
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
    parsed = _from_iso(text) or _from_js_date(text) or _from_rfc2822(text)
    if parsed is None:
        raise ValueError(
            f"{text!r} is not a date form Mercator knows (ISO 8601, RFC 2822, JS Date string, epoch); "
            "give the transform a format for any other"
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=assume_timezone)
    return _to_utc(parsed)


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


def _from_rfc2822(text: str) -> datetime | None:
    match = _RFC2822.match(text)
    if match is None or match["mon"].lower() not in _MONTHS:
        return None
    if match["wday"] is not None and match["wday"].lower() not in _WEEKDAYS:
        return None
    name = match["zone"]
    if name is None:
        offset: tzinfo | None = None  # no zone at all: read in the assumed zone, like every other form
    elif name[0] in "+-":
        # "-0000" is UTC too (RFC 2822 3.3: the sender's own zone is unknown, not the time).
        offset = zone(name)
    elif name.lower() in _RFC2822_ZONES:
        offset = timezone(timedelta(hours=_RFC2822_ZONES[name.lower()]))
    else:
        raise ValueError(
            f"{text!r} has an unknown zone {name!r}; an RFC 2822 date ends with an offset such as +0000 "
            "or one of UT, GMT, EST, EDT, CST, CDT, MST, MDT, PST, PDT"
        )
    year = int(match["year"])
    if len(match["year"]) < 4:  # RFC 2822 4.3: 00-49 are 2000-2049, 50-99 and three digits add 1900
        year += 2000 if len(match["year"]) == 2 and year < 50 else 1900
    try:
        return datetime(
            year,
            _MONTHS[match["mon"].lower()],
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            tzinfo=offset,
        )
    except ValueError:
        return None


def _from_format(value: str, fmt: str, assume_timezone: tzinfo) -> datetime:
    text = value.strip()
    if not text:
        raise ValueError("expected a date, got an empty string")
    try:
        parsed = datetime.strptime(text, fmt)
    except ValueError:
        raise ValueError(f"{text!r} does not match the format {fmt!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=assume_timezone)
    return _to_utc(parsed)


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
