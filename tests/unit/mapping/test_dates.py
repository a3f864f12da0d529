"""Unit tests for mercator.mapping.dates and the toIsoDatetime transform built on it.

Every expected instant below was worked out by hand: Asia/Riyadh is UTC+3 all year (no DST), so a
Riyadh wall-clock time is 3 hours ahead of UTC; epoch 1656235308 is 19169 days (2022-06-26) plus
33708 s (09:21:48), and 1515618330 is 2018-01-10 21:05:30.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mercator.connector import DefinitionError, validate_definition
from mercator.domain.clock import to_iso
from mercator.mapping.catalog import TransformError
from mercator.mapping.dates import check_format, parse_datetime, zone
from mercator.mapping.transforms import to_iso_datetime

RIYADH = ZoneInfo("Asia/Riyadh")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# --- zone -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        pytest.param("UTC", timedelta(0), id="utc"),
        pytest.param("utc", timedelta(0), id="utc-lowercase"),
        pytest.param("Z", timedelta(0), id="zulu"),
        pytest.param("GMT", timedelta(0), id="gmt"),
        pytest.param("+03:00", timedelta(hours=3), id="plus-hh-colon-mm"),
        pytest.param("+0300", timedelta(hours=3), id="plus-hhmm"),
        pytest.param("-05:00", timedelta(hours=-5), id="minus-hh-colon-mm"),
        pytest.param("-0530", -timedelta(hours=5, minutes=30), id="minus-with-minutes"),
        pytest.param("+3", timedelta(hours=3), id="single-digit-hour"),
        pytest.param("GMT+03:00", timedelta(hours=3), id="gmt-prefixed-offset"),
        pytest.param("UTC-02:00", timedelta(hours=-2), id="utc-prefixed-offset"),
        pytest.param("Asia/Riyadh", timedelta(hours=3), id="iana-riyadh"),
        pytest.param("Asia/Kolkata", timedelta(hours=5, minutes=30), id="iana-kolkata"),
    ],
)
def test_given_a_zone_name_when_resolved_then_its_offset_is_right(name: str, offset: timedelta) -> None:
    tz = zone(name)

    assert isinstance(tz, tzinfo)
    assert tz.utcoffset(datetime(2022, 1, 15, 12, 0)) == offset


def test_given_an_iana_name_when_resolved_then_dst_rules_apply() -> None:
    new_york = zone("America/New_York")

    assert new_york.utcoffset(datetime(2022, 1, 15, 12)) == timedelta(hours=-5)
    assert new_york.utcoffset(datetime(2022, 7, 15, 12)) == timedelta(hours=-4)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Mars/Olympus_Mons", id="unknown-iana"),
        pytest.param("", id="empty"),
        pytest.param("Asia/", id="trailing-slash"),
        pytest.param("../etc/passwd", id="path-escape"),
        pytest.param("/etc/localtime", id="absolute-path"),
        pytest.param("Asia", id="zone-directory"),
        pytest.param("x" * 300, id="overlong-name"),
    ],
)
def test_given_an_unknown_zone_when_resolved_then_value_error_names_it(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        zone(name)


# --- parse_datetime: accepted forms ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # ISO 8601 with an offset or Z: the offset wins over any assumed zone.
        pytest.param("2008-01-10T11:00:00-05:00", utc(2008, 1, 10, 16, 0, 0), id="iso-negative-offset"),
        pytest.param("2022-06-26T12:21:45+03:00", utc(2022, 6, 26, 9, 21, 45), id="iso-positive-offset"),
        pytest.param("2022-06-26T12:21:45+0300", utc(2022, 6, 26, 9, 21, 45), id="iso-offset-no-colon"),
        pytest.param("2021-01-19T12:24:26Z", utc(2021, 1, 19, 12, 24, 26), id="iso-z"),
        pytest.param("2021-01-19T12:24:26.000000Z", utc(2021, 1, 19, 12, 24, 26), id="iso-z-zero-micros"),
        pytest.param(
            "2021-01-19T12:24:26.5Z", utc(2021, 1, 19, 12, 24, 26, 500000), id="iso-one-digit-fraction"
        ),
        pytest.param(
            "2021-01-19T12:24:26.1234560Z", utc(2021, 1, 19, 12, 24, 26, 123456), id="iso-7-digit-fraction"
        ),
        pytest.param(
            "2021-01-19T12:24:26.12345600Z", utc(2021, 1, 19, 12, 24, 26, 123456), id="iso-8-digit-fraction"
        ),
        pytest.param(
            "2021-01-19T12:24:26.123456000+03:00",
            utc(2021, 1, 19, 9, 24, 26, 123456),
            id="iso-9-digit-fraction-with-offset",
        ),
        # ISO-like without a zone: read in the assumed zone (UTC by default).
        pytest.param("2017-03-22T16:28:02", utc(2017, 3, 22, 16, 28, 2), id="naive-iso-t"),
        pytest.param("2026-01-20 10:27:53", utc(2026, 1, 20, 10, 27, 53), id="naive-iso-space"),
        pytest.param("1986-04-22", utc(1986, 4, 22), id="date-only"),
        pytest.param("  2017-03-22T16:28:02  ", utc(2017, 3, 22, 16, 28, 2), id="surrounding-blanks"),
        # Salla's date object.
        pytest.param(
            {"date": "2022-06-26 12:21:45.000000", "timezone_type": 3, "timezone": "Asia/Riyadh"},
            utc(2022, 6, 26, 9, 21, 45),
            id="salla-object-riyadh",
        ),
        pytest.param(
            {"date": "2022-06-26 12:21:45.000000", "timezone_type": 3, "timezone": "UTC"},
            utc(2022, 6, 26, 12, 21, 45),
            id="salla-object-utc",
        ),
        pytest.param(
            {"date": "2022-06-26 12:21:45.000000", "timezone_type": 1, "timezone": "+03:00"},
            utc(2022, 6, 26, 9, 21, 45),
            id="salla-object-offset-zone",
        ),
        pytest.param(
            {"date": "2022-06-26 12:21:45.0000000", "timezone": "Asia/Riyadh"},
            utc(2022, 6, 26, 9, 21, 45),
            id="salla-object-7-digit-fraction",
        ),
        pytest.param(
            {"date": "2022-06-26T12:21:45Z", "timezone": "Asia/Riyadh"},
            utc(2022, 6, 26, 12, 21, 45),
            id="salla-object-date-with-own-zone-wins",
        ),
        pytest.param(
            {"date": "2022-06-26 12:21:45"}, utc(2022, 6, 26, 12, 21, 45), id="salla-object-no-zone"
        ),
        pytest.param(
            {"date": "2022-06-26 12:21:45", "timezone": ""},
            utc(2022, 6, 26, 12, 21, 45),
            id="salla-object-blank-zone",
        ),
        # Salla's envelope created_at (JavaScript Date.toString()).
        pytest.param("Sun Jun 26 2022 12:21:48 GMT+0300", utc(2022, 6, 26, 9, 21, 48), id="js-date"),
        pytest.param(
            "Sun Jun 26 2022 12:21:48 GMT+0300 (Arabia Standard Time)",
            utc(2022, 6, 26, 9, 21, 48),
            id="js-date-with-zone-name",
        ),
        pytest.param(
            "Mon Jan 03 2022 08:05:00 GMT-0500 (Eastern Standard Time)",
            utc(2022, 1, 3, 13, 5, 0),
            id="js-date-negative-offset",
        ),
        pytest.param("Jun 26 2022 12:21:48 GMT+03:00", utc(2022, 6, 26, 9, 21, 48), id="js-date-no-weekday"),
        pytest.param("Sun Jun 26 2022 12:21 GMT+0300", utc(2022, 6, 26, 9, 21, 0), id="js-date-no-seconds"),
        pytest.param(
            "Sun Jun 5 2022 00:00:00 GMT+0300", utc(2022, 6, 4, 21, 0, 0), id="js-date-crosses-midnight"
        ),
        pytest.param("Sun Jun 26 2022 12:21:48", utc(2022, 6, 26, 12, 21, 48), id="js-date-without-zone"),
        # Unix epoch seconds or milliseconds.
        pytest.param(1656235308, utc(2022, 6, 26, 9, 21, 48), id="epoch-seconds-int"),
        pytest.param(1656235308.5, utc(2022, 6, 26, 9, 21, 48, 500000), id="epoch-seconds-float"),
        pytest.param(1656235308000, utc(2022, 6, 26, 9, 21, 48), id="epoch-millis-int"),
        pytest.param(1656235308123, utc(2022, 6, 26, 9, 21, 48, 123000), id="epoch-millis-with-fraction"),
        pytest.param(1656235308000.0, utc(2022, 6, 26, 9, 21, 48), id="epoch-millis-float"),
        pytest.param("1656235308", utc(2022, 6, 26, 9, 21, 48), id="epoch-seconds-digit-string"),
        pytest.param("1656235308000", utc(2022, 6, 26, 9, 21, 48), id="epoch-millis-digit-string"),
        pytest.param(0, utc(1970, 1, 1), id="epoch-zero"),
        pytest.param(-1, utc(1969, 12, 31, 23, 59, 59), id="epoch-negative"),
        pytest.param(10_000_000_000, utc(2286, 11, 20, 17, 46, 40), id="epoch-threshold-is-seconds"),
        pytest.param(
            10_000_000_001, utc(1970, 4, 26, 17, 46, 40, 1000), id="epoch-above-threshold-is-millis"
        ),
    ],
)
def test_given_a_platform_date_form_when_parsed_then_gives_the_utc_instant(
    value: Any, expected: datetime
) -> None:
    parsed = parse_datetime(value)

    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "assumed", "expected"),
    [
        pytest.param("2017-03-22T16:28:02", RIYADH, utc(2017, 3, 22, 13, 28, 2), id="naive-iso-riyadh"),
        pytest.param("2026-01-20 10:27:53", RIYADH, utc(2026, 1, 20, 7, 27, 53), id="zid-space-form-riyadh"),
        pytest.param("1986-04-22", RIYADH, utc(1986, 4, 21, 21, 0, 0), id="date-only-riyadh-previous-day"),
        pytest.param(
            "2017-03-22T16:28:02",
            ZoneInfo("America/New_York"),
            utc(2017, 3, 22, 20, 28, 2),
            id="naive-iso-new-york-edt",
        ),
        pytest.param(
            "2017-03-22T16:28:02",
            timezone(timedelta(hours=-2)),
            utc(2017, 3, 22, 18, 28, 2),
            id="naive-fixed-offset",
        ),
        pytest.param(
            "2008-01-10T11:00:00-05:00",
            RIYADH,
            utc(2008, 1, 10, 16, 0, 0),
            id="explicit-offset-ignores-assumed",
        ),
        pytest.param("2021-01-19T12:24:26Z", RIYADH, utc(2021, 1, 19, 12, 24, 26), id="z-ignores-assumed"),
        pytest.param(
            {"date": "2022-06-26 12:21:45.000000"},
            RIYADH,
            utc(2022, 6, 26, 9, 21, 45),
            id="salla-object-without-zone",
        ),
        pytest.param(
            {"date": "2022-06-26 12:21:45", "timezone": "UTC"},
            RIYADH,
            utc(2022, 6, 26, 12, 21, 45),
            id="salla-object-own-zone-wins",
        ),
        pytest.param(
            "Sun Jun 26 2022 12:21:48", RIYADH, utc(2022, 6, 26, 9, 21, 48), id="js-date-without-offset"
        ),
        pytest.param(
            "Sun Jun 26 2022 12:21:48 GMT+0300",
            ZoneInfo("America/New_York"),
            utc(2022, 6, 26, 9, 21, 48),
            id="js-date-offset-ignores-assumed",
        ),
        pytest.param(
            "Sun Jun 26 2022 09:21:48 GMT", RIYADH, utc(2022, 6, 26, 9, 21, 48), id="js-date-bare-gmt-is-utc"
        ),
        pytest.param(
            "Sun Jun 26 2022 09:21:48 UTC", RIYADH, utc(2022, 6, 26, 9, 21, 48), id="js-date-bare-utc-is-utc"
        ),
        pytest.param(1656235308, RIYADH, utc(2022, 6, 26, 9, 21, 48), id="epoch-ignores-assumed"),
    ],
)
def test_given_an_assumed_zone_when_parsed_then_only_zoneless_values_use_it(
    value: Any, assumed: tzinfo, expected: datetime
) -> None:
    assert parse_datetime(value, assumed) == expected


# --- parse_datetime: failures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("garbage", "not a date form", id="garbage-text"),
        pytest.param("next tuesday", "not a date form", id="words"),
        pytest.param("2022-13-01", "not a date form", id="month-13"),
        pytest.param("2022-02-30", "not a date form", id="february-30"),
        pytest.param("0000-00-00 00:00:00", "not a date form", id="zero-date-placeholder"),
        pytest.param("Sun Feb 30 2022 10:00:00 GMT+0300", "not a date form", id="js-date-impossible-day"),
        pytest.param("Sun Foo 26 2022 10:00:00 GMT+0300", "not a date form", id="js-date-unknown-month"),
        pytest.param("Sun Jun 26 2022 25:00:00 GMT+0300", "not a date form", id="js-date-hour-25"),
        pytest.param("1656235308.5", "not a date form", id="decimal-epoch-string"),
        pytest.param("-1656235308", "not a date form", id="negative-epoch-string"),
        pytest.param("", "empty string", id="empty-string"),
        pytest.param("   ", "empty string", id="blank-string"),
        pytest.param(True, "boolean", id="bool-true"),
        pytest.param(False, "boolean", id="bool-false"),
        pytest.param(None, "got NoneType", id="none"),
        pytest.param([], "got list", id="empty-list"),
        pytest.param(["2022-06-26"], "got list", id="list-of-date"),
        pytest.param({}, "needs a 'date' string", id="empty-object"),
        pytest.param({"date": 1656235308}, "needs a 'date' string", id="object-with-numeric-date"),
        pytest.param({"timezone": "Asia/Riyadh"}, "needs a 'date' string", id="object-without-date"),
        pytest.param({"date": "yesterday"}, "is not an ISO date", id="object-with-garbage-date"),
        pytest.param({"date": ""}, "is not an ISO date", id="object-with-empty-date"),
        pytest.param(
            {"date": "2022-06-26 12:21:45", "timezone": "Mars/Olympus"},
            "unknown time zone",
            id="object-unknown-zone",
        ),
        pytest.param(10**20, "out of range", id="epoch-too-large"),
        pytest.param(-(10**15), "out of range", id="epoch-too-negative"),
        pytest.param(float("inf"), "out of range", id="epoch-infinite"),
        pytest.param(float("nan"), "out of range", id="epoch-nan"),
        pytest.param(10**400, "out of range", id="epoch-beyond-float"),
        pytest.param("9" * 400, "out of range", id="digit-string-beyond-float"),
        pytest.param("0001-01-01T00:00:00+03:00", "out of range", id="iso-before-year-1-in-utc"),
        pytest.param("9999-12-31T23:00:00-05:00", "out of range", id="iso-after-year-9999-in-utc"),
        pytest.param(
            {"date": "0001-01-01 00:00:00", "timezone": "Asia/Riyadh"},
            "out of range",
            id="object-before-year-1-in-utc",
        ),
    ],
)
def test_given_an_unreadable_date_when_parsed_then_value_error_says_what(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_datetime(value)


def test_given_a_naive_year_one_date_in_a_zone_east_of_utc_when_parsed_then_value_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_datetime("0001-01-01", RIYADH)


# --- to_iso ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param(utc(2022, 6, 26, 9, 21, 45), "2022-06-26T09:21:45Z", id="utc-whole-seconds"),
        pytest.param(
            utc(2022, 6, 26, 9, 21, 45, 120000), "2022-06-26T09:21:45.120000Z", id="utc-with-micros"
        ),
        pytest.param(
            datetime(2022, 6, 26, 12, 21, 45, tzinfo=RIYADH), "2022-06-26T09:21:45Z", id="riyadh-to-utc"
        ),
        pytest.param(
            datetime(2022, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=5))),
            "2021-12-31T20:00:00Z",
            id="crosses-year",
        ),
    ],
)
def test_given_an_aware_datetime_when_formatted_then_utc_with_z_suffix(
    moment: datetime, expected: str
) -> None:
    assert to_iso(moment) == expected


# --- the toIsoDatetime transform over every form --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "assume", "expected"),
    [
        pytest.param("2008-01-10T11:00:00-05:00", "UTC", "2008-01-10T16:00:00Z", id="iso-offset"),
        pytest.param("2021-01-19T12:24:26.000000Z", "UTC", "2021-01-19T12:24:26Z", id="iso-z-zero-fraction"),
        pytest.param("2021-01-19T12:24:26.1234560Z", "UTC", "2021-01-19T12:24:26.123456Z", id="iso-7-digits"),
        pytest.param(
            "2021-01-19T12:24:26.123456000Z", "UTC", "2021-01-19T12:24:26.123456Z", id="iso-9-digits"
        ),
        pytest.param("2017-03-22T16:28:02", "Asia/Riyadh", "2017-03-22T13:28:02Z", id="naive-riyadh"),
        pytest.param("2017-03-22T16:28:02", "+03:00", "2017-03-22T13:28:02Z", id="naive-fixed-offset"),
        pytest.param("2017-03-22T16:28:02", "UTC", "2017-03-22T16:28:02Z", id="naive-utc"),
        pytest.param("2026-01-20 10:27:53", "Asia/Riyadh", "2026-01-20T07:27:53Z", id="zid-form-riyadh"),
        pytest.param("1986-04-22", "UTC", "1986-04-22T00:00:00Z", id="date-only-utc"),
        pytest.param("1986-04-22", "Asia/Riyadh", "1986-04-21T21:00:00Z", id="date-only-riyadh"),
        pytest.param(
            {"date": "2022-06-26 12:21:45.000000", "timezone_type": 3, "timezone": "Asia/Riyadh"},
            "UTC",
            "2022-06-26T09:21:45Z",
            id="salla-object",
        ),
        pytest.param("Sun Jun 26 2022 12:21:48 GMT+0300", "UTC", "2022-06-26T09:21:48Z", id="salla-envelope"),
        pytest.param(
            "Sun Jun 26 2022 12:21:48 GMT+0300 (Arabia Standard Time)",
            "UTC",
            "2022-06-26T09:21:48Z",
            id="salla-envelope-zone-name",
        ),
        pytest.param(1656235308, "UTC", "2022-06-26T09:21:48Z", id="epoch-seconds-int"),
        pytest.param(1656235308.25, "UTC", "2022-06-26T09:21:48.250000Z", id="epoch-seconds-float"),
        pytest.param(1656235308000, "UTC", "2022-06-26T09:21:48Z", id="epoch-millis-int"),
        pytest.param(1656235308000.0, "Asia/Riyadh", "2022-06-26T09:21:48Z", id="epoch-millis-float"),
        pytest.param("1656235308", "UTC", "2022-06-26T09:21:48Z", id="epoch-seconds-text"),
        pytest.param("1656235308000", "UTC", "2022-06-26T09:21:48Z", id="epoch-millis-text"),
        pytest.param(None, "UTC", None, id="none"),
        pytest.param("", "UTC", None, id="empty-string"),
        pytest.param("   ", "Asia/Riyadh", None, id="blank-string"),
    ],
)
def test_given_a_date_when_to_iso_datetime_then_canonical_utc_text(
    value: Any, assume: str, expected: Any
) -> None:
    assert to_iso_datetime(value, assumeTimezone=assume) == expected


@pytest.mark.parametrize(
    ("value", "assume", "message"),
    [
        pytest.param("garbage", "UTC", "'garbage' is not a date form", id="garbage-text"),
        pytest.param(True, "UTC", "boolean", id="bool"),
        pytest.param([], "UTC", "got list", id="empty-list"),
        pytest.param({}, "UTC", "needs a 'date' string", id="empty-object"),
        pytest.param(
            "2017-03-22T16:28:02", "Mars/Olympus", "unknown time zone 'Mars/Olympus'", id="unknown-zone"
        ),
        pytest.param("2017-03-22T16:28:02", "Asia", "unknown time zone 'Asia'", id="zone-directory"),
        pytest.param(
            {"date": "2022-06-26 12:21:45", "timezone": "Nowhere/City"},
            "UTC",
            "unknown time zone",
            id="object-zone",
        ),
        pytest.param(10**400, "UTC", "out of range", id="epoch-beyond-float"),
        pytest.param("0001-01-01", "Asia/Riyadh", "out of range", id="year-one-east-of-utc"),
    ],
)
def test_given_an_unreadable_date_when_to_iso_datetime_then_transform_error(
    value: Any, assume: str, message: str
) -> None:
    with pytest.raises(TransformError, match=message):
        to_iso_datetime(value, assumeTimezone=assume)


# --- RFC 2822 -------------------------------------------------------------------------------------
# Wed, 10 Jan 2018 21:05:30 in each zone below, worked out by hand: EST is UTC-5, so 21:05:30 EST is
# 02:05:30 UTC the next day; EDT -4, CST -6, CDT -5, MST -7, MDT -6, PST -8, PDT -7.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Wed, 10 Jan 2018 21:05:30 +0000", utc(2018, 1, 10, 21, 5, 30), id="plus-0000"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 -0500", utc(2018, 1, 11, 2, 5, 30), id="minus-0500"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 +0330", utc(2018, 1, 10, 17, 35, 30), id="plus-0330"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 GMT", utc(2018, 1, 10, 21, 5, 30), id="gmt"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 UT", utc(2018, 1, 10, 21, 5, 30), id="obsolete-ut"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 UTC", utc(2018, 1, 10, 21, 5, 30), id="utc-name"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 EST", utc(2018, 1, 11, 2, 5, 30), id="obsolete-est"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 EDT", utc(2018, 1, 11, 1, 5, 30), id="obsolete-edt"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 CST", utc(2018, 1, 11, 3, 5, 30), id="obsolete-cst"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 CDT", utc(2018, 1, 11, 2, 5, 30), id="obsolete-cdt"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 MST", utc(2018, 1, 11, 4, 5, 30), id="obsolete-mst"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 MDT", utc(2018, 1, 11, 3, 5, 30), id="obsolete-mdt"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 PST", utc(2018, 1, 11, 5, 5, 30), id="obsolete-pst"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 PDT", utc(2018, 1, 11, 4, 5, 30), id="obsolete-pdt"),
        # RFC 2822 4.3: military letters were defined backwards in RFC 822; they all mean -0000.
        pytest.param("Wed, 10 Jan 2018 21:05:30 Z", utc(2018, 1, 10, 21, 5, 30), id="military-z"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 A", utc(2018, 1, 10, 21, 5, 30), id="military-a-is-utc"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 -0000", utc(2018, 1, 10, 21, 5, 30), id="minus-0000-is-utc"),
        pytest.param("10 Jan 2018 21:05:30 +0000", utc(2018, 1, 10, 21, 5, 30), id="no-weekday"),
        pytest.param("Wed, 10 Jan 2018 21:05 +0000", utc(2018, 1, 10, 21, 5, 0), id="no-seconds"),
        pytest.param("Wed, 3 Jan 2018 21:05:30 +0000", utc(2018, 1, 3, 21, 5, 30), id="one-digit-day"),
        pytest.param("Wed, 10 Jan 18 21:05:30 +0000", utc(2018, 1, 10, 21, 5, 30), id="two-digit-year-20xx"),
        pytest.param("Sun, 10 Jan 99 21:05:30 GMT", utc(1999, 1, 10, 21, 5, 30), id="two-digit-year-19xx"),
        pytest.param(
            "Wed, 10 Jan 2018 21:05:30 +0000 (UTC)", utc(2018, 1, 10, 21, 5, 30), id="trailing-comment"
        ),
        pytest.param("wed, 10 jan 2018 21:05:30 gmt", utc(2018, 1, 10, 21, 5, 30), id="lower-case"),
        pytest.param(
            "Wed,10 Jan 2018 21:05:30 +0000", utc(2018, 1, 10, 21, 5, 30), id="no-space-after-comma"
        ),
    ],
)
def test_given_an_rfc_2822_date_when_parsed_then_its_own_zone_wins_over_the_assumed_one(
    value: str, expected: datetime
) -> None:
    # Given an RFC 2822 date with a zone, and a connector that assumes Riyadh for zoneless dates
    # When it is parsed
    parsed = parse_datetime(value, RIYADH)
    # Then it is the instant its own zone says
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_given_an_rfc_2822_date_without_a_zone_when_parsed_then_the_assumed_zone_applies() -> None:
    # Given an RFC 2822 date that carries no zone
    # When it is parsed with Riyadh assumed
    parsed = parse_datetime("Wed, 10 Jan 2018 21:05:30", RIYADH)
    # Then it is read as Riyadh wall-clock time, 3 hours ahead of UTC
    assert parsed == utc(2018, 1, 10, 18, 5, 30)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("Wed, 10 Jan 2018 21:05:30 XYZ", "unknown zone 'XYZ'", id="unknown-zone-name"),
        pytest.param("Wed, 10 Jan 2018 21:05:30 J", "unknown zone 'J'", id="j-is-no-military-zone"),
        pytest.param("Wed, 31 Feb 2018 21:05:30 +0000", "not a date form", id="february-31"),
        pytest.param("Wed, 10 Jan 2018 25:05:30 +0000", "not a date form", id="hour-25"),
        pytest.param("Wed, 10 Foo 2018 21:05:30 +0000", "not a date form", id="unknown-month"),
        pytest.param("Xyz, 10 Jan 2018 21:05:30 +0000", "not a date form", id="unknown-weekday"),
    ],
)
def test_given_a_broken_rfc_2822_date_when_parsed_then_value_error_says_what(
    value: str, message: str
) -> None:
    # Given text shaped like an RFC 2822 date with one part wrong
    # When it is parsed
    # Then the error says what was not understood
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_datetime(value)


def test_given_an_rfc_2822_date_when_to_iso_datetime_then_canonical_utc_text() -> None:
    # Given the date a platform's RSS-style API sends
    # When the transform reads it
    # Then it is the canonical UTC text every mapped timestamp has
    assert to_iso_datetime("Wed, 10 Jan 2018 21:05:30 -0500") == "2018-01-11T02:05:30Z"


# --- the format argument --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fmt", "assume", "expected"),
    [
        pytest.param("10/01/2018 21:05", "%d/%m/%Y %H:%M", "UTC", "2018-01-10T21:05:00Z", id="no-zone-utc"),
        pytest.param(
            "10/01/2018 21:05", "%d/%m/%Y %H:%M", "Asia/Riyadh", "2018-01-10T18:05:00Z", id="no-zone-riyadh"
        ),
        pytest.param(
            "10/01/2018 21:05 -0500",
            "%d/%m/%Y %H:%M %z",
            "Asia/Riyadh",
            "2018-01-11T02:05:00Z",
            id="offset-in-text-wins",
        ),
        pytest.param(
            "10/01/2018 21:05 +03:00", "%d/%m/%Y %H:%M %z", "UTC", "2018-01-10T18:05:00Z", id="offset-colon"
        ),
        pytest.param(
            "10.01.2018 09:05 PM", "%d.%m.%Y %I:%M %p", "UTC", "2018-01-10T21:05:00Z", id="twelve-hour-clock"
        ),
        pytest.param(
            "Jan 10, 2018 at 21:05 GMT",
            "%b %d, %Y at %H:%M GMT",
            "UTC",
            "2018-01-10T21:05:00Z",
            id="literal-zone-text",
        ),
        pytest.param(
            "20180110", "%Y%m%d", "UTC", "2018-01-10T00:00:00Z", id="digits-read-by-format-not-epoch"
        ),
        pytest.param("2018-010", "%Y-%j", "UTC", "2018-01-10T00:00:00Z", id="day-of-year"),
        pytest.param("  10/01/2018 21:05 ", "%d/%m/%Y %H:%M", "UTC", "2018-01-10T21:05:00Z", id="blanks"),
        pytest.param(1515618330, "%d/%m/%Y %H:%M", "UTC", "2018-01-10T21:05:30Z", id="epoch-number-as-usual"),
        pytest.param(
            {"date": "2018-01-10 21:05:30", "timezone": "UTC"},
            "%d/%m/%Y %H:%M",
            "Asia/Riyadh",
            "2018-01-10T21:05:30Z",
            id="date-object-as-usual",
        ),
        pytest.param(None, "%d/%m/%Y %H:%M", "UTC", None, id="none"),
        pytest.param("  ", "%d/%m/%Y %H:%M", "UTC", None, id="blank-is-none"),
    ],
)
def test_given_a_format_when_to_iso_datetime_then_text_is_read_with_it(
    value: Any, fmt: str, assume: str, expected: str | None
) -> None:
    # Given a date in a form only the connector's format describes
    # When the transform reads it with that format and assumed zone
    # Then it is the canonical UTC text (a zone written in the text wins over the assumed one)
    assert to_iso_datetime(value, assumeTimezone=assume, format=fmt) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("2018-01-10T21:05:00Z", id="iso-is-not-guessed-at"),
        pytest.param("31/02/2018 10:00", id="february-31"),
        pytest.param("10/01/2018", id="time-missing"),
    ],
)
def test_given_text_outside_the_format_when_to_iso_datetime_then_transform_error_names_the_format(
    value: str,
) -> None:
    # Given a format, and text that does not follow it
    # When the transform reads the text
    # Then the record fails with the text and the format it did not match
    with pytest.raises(
        TransformError, match=re.escape(f"{value!r} does not match the format '%d/%m/%Y %H:%M'")
    ):
        to_iso_datetime(value, format="%d/%m/%Y %H:%M")


@pytest.mark.parametrize(
    "fmt",
    [
        "%d/%m/%Y %H:%M",
        "%Y%m%d",
        "%d/%m/%Y %H:%M %z",
        "%Y %j",
        "%a, %d %B %y %I:%M:%S.%f %p",
        "%Y-%m-%d 100%%",
    ],
)
def test_given_a_usable_format_when_checked_then_accepted(fmt: str) -> None:
    # Given a strptime format that gives a whole date
    # When it is checked
    # Then nothing is raised
    check_format(fmt)


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        pytest.param(
            "%d/%m/%Y %H:%q", "%q in '%d/%m/%Y %H:%q' is not a directive Mercator reads; valid: %Y", id="bad"
        ),
        pytest.param("%c", "%c in '%c' is not a directive Mercator reads", id="locale-layout"),
        pytest.param("%-d/%m/%Y", "strptime has no %- flags", id="glibc-flag"),
        pytest.param("%Y-%m-%d %Z", "%Z cannot be read reliably", id="zone-name"),
        pytest.param("%d/%m/%Y 100%", "ends with a lone '%'", id="lone-percent"),
        pytest.param("%d/%m/%Y %d", "%d appears twice", id="repeated"),
        pytest.param("%H:%M", "does not give a full date", id="time-only"),
        pytest.param("%d/%m %H:%M", "does not give a full date", id="no-year"),
        pytest.param("%m/%Y", "does not give a full date", id="no-day"),
        pytest.param("%Y-%m-%d %I:%M", "%I without %p", id="twelve-hour-without-am-pm"),
        pytest.param("", "a format must be strptime text", id="empty"),
        pytest.param(12, "a format must be strptime text", id="not-text"),
    ],
)
def test_given_an_unusable_format_when_checked_then_value_error_says_why(fmt: Any, message: str) -> None:
    # Given a format that cannot read whole dates
    # When it is checked
    # Then the error says what is wrong and, for a bad directive, lists the valid ones
    with pytest.raises(ValueError, match=re.escape(message)):
        check_format(fmt)


@pytest.mark.parametrize(
    ("args", "where", "message"),
    [
        pytest.param(
            {"format": "%d/%m/%Y %H:%q"},
            "sync.resources.orders.apiMapping.createdAt.args.format",
            "transform 'toIsoDatetime' argument 'format': %q in '%d/%m/%Y %H:%q' is not a directive",
            id="bad-format",
        ),
        pytest.param(
            {"assumeTimezone": "Asia/Riyad"},
            "sync.resources.orders.apiMapping.createdAt.args.assumeTimezone",
            "unknown time zone 'Asia/Riyad'; did you mean 'Asia/Riyadh'",
            id="zone-typo",
        ),
    ],
)
def test_given_a_definition_with_a_bad_date_argument_when_loaded_then_refused_with_its_location(
    args: dict[str, str], where: str, message: str
) -> None:
    # Given a connector whose order mapping reads createdAt with a bad date argument
    document = {
        "name": "demo",
        "displayName": "Demo",
        "auth": {"type": "api_key", "credentials": ["accessToken"]},
        "sync": {
            "baseUrl": "https://api.example.com",
            "resources": {
                "orders": {
                    "name": "orders",
                    "displayName": "Orders",
                    "contentType": "ecommerce:orders",
                    "endpoints": {"list": {"url": "/orders"}},
                    "apiMapping": {
                        "code": "id",
                        "createdAt": {"path": "created", "transform": "toIsoDatetime", "args": args},
                    },
                }
            },
        },
    }
    # When the definition is loaded
    with pytest.raises(DefinitionError) as caught:
        validate_definition(document, "demo.yaml")
    # Then it is refused at load, at the argument's place, saying what would be valid
    (problem,) = caught.value.problems
    assert problem.path == where
    assert message in problem.message
