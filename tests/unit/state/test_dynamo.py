"""The adapters' shared pieces: epoch milliseconds and expressions with placeholders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mercator.state.dynamo import Expression, epoch_ms, from_epoch_ms, s

RIYADH = timezone(timedelta(hours=3))


@pytest.mark.parametrize(
    ("moment", "milliseconds"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
        (datetime(1970, 1, 1, 0, 0, 0, 999, tzinfo=UTC), 0),  # below a millisecond: dropped
        (datetime(1970, 1, 1, 0, 0, 1, 1000, tzinfo=UTC), 1001),
        (datetime(1970, 1, 1, 3, 0, 0, tzinfo=RIYADH), 0),  # the same instant in UTC+3
        (datetime(1970, 1, 2), 86_400_000),  # naive: taken as UTC
        (datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC), -1),  # floors, never rounds up
    ],
)
def test_epoch_milliseconds(moment: datetime, milliseconds: int) -> None:
    assert epoch_ms(moment) == milliseconds


def test_epoch_milliseconds_come_back_as_the_same_utc_instant() -> None:
    moment = datetime(2025, 2, 28, 23, 59, 59, 123000, tzinfo=RIYADH)

    back = from_epoch_ms(epoch_ms(moment))

    assert back == moment
    assert back.tzinfo == UTC


def test_an_expression_names_every_attribute_once_and_every_value_it_uses() -> None:
    update = Expression().set("status", s("a")).set_if_absent("first", s("b")).remove("status_old")
    update.add("count", {"N": "1"}).set_or_remove("gone", None)
    condition = f"attribute_not_exists({update.name('status')})"

    request = update.request(condition)

    assert request == {
        "UpdateExpression": "SET #n0 = :v0, #n1 = if_not_exists(#n1, :v1) REMOVE #n2, #n4 ADD #n3 :v2",
        "ConditionExpression": "attribute_not_exists(#n0)",
        "ExpressionAttributeNames": {
            "#n0": "status",
            "#n1": "first",
            "#n2": "status_old",
            "#n3": "count",
            "#n4": "gone",
        },
        "ExpressionAttributeValues": {":v0": {"S": "a"}, ":v1": {"S": "b"}, ":v2": {"N": "1"}},
    }
