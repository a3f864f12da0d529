"""Listing while the store changes: the guard's verdicts and list_records' passes and dedupe."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mercator.connector.listing_guard import ListingGuard
from mercator.domain.hashing import content_hash
from mercator.providers.listing import list_records
from tests.unit.providers.conftest import connector, json_response, make_client, resource

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BEFORE = "2024-05-01T11:00:00Z"


def tracked(**fields: Any) -> Any:
    doc = resource(
        "orders",
        pagination={"type": "page_number", "paramName": "per_page", "defaultLimit": 2},
        responseMapping={"dataProperty": "data", "totalProperty": "total"},
        incremental={"param": "updated_after", "recordUpdatedAt": "updated_at"},
        **fields,
    )
    return connector(doc).resources["orders"]


def rec(record_id: int, updated: Any = BEFORE) -> dict[str, Any]:
    return {"id": record_id, "updated_at": updated}


@pytest.mark.parametrize(
    ("pages", "options", "reasons"),
    [
        pytest.param([([rec(1), rec(2)], 4), ([rec(3), rec(4)], 4)], {}, [], id="quiet"),
        pytest.param([([rec(1), rec(2)], None), ([rec(3)], None)], {}, [], id="no-totals"),
        pytest.param(
            [([rec(1), rec(2)], 4), ([rec(3), rec(4)], 5), ([rec(5)], 5)],
            {},
            ["the total changed during the pass (4 -> 5)"],
            id="total-changed",
        ),
        pytest.param(
            [([rec(1), rec(2, "2024-05-01T12:00:00Z")], 2)],
            {},
            ["1 record(s) changed after the pass started"],
            id="updated-at-start",
        ),
        pytest.param(
            # Salla's date object: 15:00:01 in Riyadh is 12:00:01 UTC
            [([rec(1, {"date": "2024-05-01 15:00:01.000000", "timezone": "Asia/Riyadh"})], 1)],
            {},
            ["1 record(s) changed after the pass started"],
            id="updated-after-start-salla-date",
        ),
        pytest.param([([rec(1, "2024-05-01T11:59:59Z")], 1)], {}, [], id="updated-just-before"),
        pytest.param([([rec(1, "not a date"), rec(2, None)], 2)], {}, [], id="unreadable-dates-ignored"),
        pytest.param(
            [([rec(1), rec(2)], 4), ([rec(2), rec(3)], 4)],
            {},
            ["3 distinct ids seen of 4 reported"],
            id="shift-repeats-a-record",
        ),
        pytest.param(
            [([rec(1), rec(2)], 5), ([rec(3)], 5)],
            {"expect_total": False},
            [],
            id="early-stop-does-not-count",
        ),
        pytest.param(
            [([rec(1), rec(2)], 4), ([rec(3, "2024-05-02T00:00:00Z")], 5)],
            {},
            [
                "the total changed during the pass (4 -> 5)",
                "1 record(s) changed after the pass started",
                "3 distinct ids seen of 5 reported",
            ],
            id="everything",
        ),
    ],
)
def test_guard_verdicts(
    pages: list[tuple[list[dict[str, Any]], int | None]], options: dict[str, Any], reasons: list[str]
) -> None:
    guard = ListingGuard(tracked(), START, **options)
    for records, total in pages:
        guard.observe(records, total)

    assert guard.reasons == reasons
    assert guard.may_have_gap is bool(reasons)


def test_guard_ignores_updates_without_an_incremental_block() -> None:
    plain = connector(resource("orders")).resources["orders"]
    guard = ListingGuard(plain, START)
    guard.observe([rec(1, "2024-05-02T00:00:00Z")], 1)
    assert not guard.may_have_gap


def test_guard_reads_ids_through_id_path() -> None:
    guard = ListingGuard(tracked(idPath="meta.code"), START)
    guard.observe([{"meta": {"code": "a"}}, {"meta": {"code": "b"}}, {"meta": {}}], 3)
    assert guard.distinct_ids == 2
    assert guard.reasons == ["2 distinct ids seen of 3 reported"]


def test_content_hash_is_sha256_of_canonical_json() -> None:
    expected = hashlib.sha256('{"a":1,"b":[1,"é"]}'.encode()).hexdigest()
    assert content_hash({"b": [1, "é"], "a": 1}) == expected


class ShiftingStore:
    """A page-number provider (2 per page) whose data the test changes while a pass runs."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.hooks: dict[tuple[int, int], Any] = {}  # (pass, page) -> change applied after answering
        self.passes = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if page == 1:
            self.passes += 1
        response = json_response(
            {"data": self.records[(page - 1) * 2 : page * 2], "total": len(self.records)}
        )
        hook = self.hooks.get((self.passes, page))
        if hook:
            hook(self)
        return response


def clock_from(start: datetime) -> Iterator[datetime]:
    moment = start
    while True:
        yield moment
        moment += timedelta(minutes=10)


@pytest.mark.anyio
async def test_a_shifted_listing_is_repaired_by_a_second_pass() -> None:
    # Given records 1..6; after page 1 of pass 1 record 1 is deleted (so record 3 slides onto page 1,
    # already read) and after page 2 record 5 changes
    store = ShiftingStore([rec(n) for n in range(1, 7)])
    store.hooks[(1, 1)] = lambda s: s.records.pop(0)
    store.hooks[(1, 2)] = lambda s: s.records.__setitem__(3, {"id": 5, "updated_at": "2024-05-01T12:05:00Z"})
    definition = connector(
        resource(
            "orders",
            pagination={"type": "page_number", "paramName": "per_page", "defaultLimit": 2},
            responseMapping={"dataProperty": "data", "totalProperty": "total"},
            incremental={"param": "updated_after", "recordUpdatedAt": "updated_at"},
        )
    )
    ticks = clock_from(START)  # pass 1 starts 12:00, pass 2 12:10
    client = make_client(definition, store, page_prefetch=1)

    listing = list_records(client, "orders", clock=lambda: next(ticks))
    listed = [(item.id, item.pass_number, item.changed) async for item in listing]

    # Pass 1 reads 1,2 | 4,5 | 6 and misses 3; the total fell from 6 to 5, so it runs again.
    # Pass 2 reads 2,3 | 4,5' | 6: only 3 and the new version of 5 are new.
    assert listed == [
        ("1", 1, False),
        ("2", 1, False),
        ("4", 1, False),
        ("5", 1, False),
        ("6", 1, False),
        ("3", 2, False),
        ("5", 2, True),
    ]
    stats = listing.stats
    assert stats.passes == 2
    assert stats.records_yielded == 7
    assert stats.duplicates_dropped == 3
    assert stats.changed_during_listing == 1
    assert stats.last_pass_quiet is True


@pytest.mark.anyio
async def test_a_store_that_never_settles_stops_at_max_passes(caplog: pytest.LogCaptureFixture) -> None:
    # Given a store where a new order arrives during every pass
    store = ShiftingStore([rec(n) for n in range(1, 4)])
    for number in range(1, 5):
        store.hooks[(number, 1)] = lambda s: s.records.insert(0, rec(100 + s.passes))
    definition = connector(
        resource(
            "orders",
            pagination={"type": "page_number", "paramName": "per_page", "defaultLimit": 2},
            responseMapping={"dataProperty": "data", "totalProperty": "total"},
        )
    )
    client = make_client(definition, store, page_prefetch=1)
    caplog.set_level(logging.WARNING, logger="mercator")

    listing = list_records(client, "orders", max_passes=2)
    listed = [item.id async for item in listing]

    # Pass 1: 1,2 | 2,3 (101 arrived after page 1). Pass 2: 101,1 | 1,2 | 3 (102 arrived after page 1).
    assert listed == ["1", "2", "3", "101"]
    assert store.passes == 2
    assert listing.stats.passes == 2 and listing.stats.last_pass_quiet is False
    assert listing.stats.duplicates_dropped == 5
    assert listing.stats.gap_reasons == [
        "the total changed during the pass (4 -> 5)",
        "4 distinct ids seen of 5 reported",
    ]
    assert any("still may have a gap after 2 passes" in record.getMessage() for record in caplog.records)


@pytest.mark.anyio
async def test_a_keyset_listing_needs_one_pass() -> None:
    # Given a cursor listing that sees a record updated after the pass started
    definition = connector(
        resource(
            "orders",
            pagination={"type": "cursor", "cursorPath": "next", "cursorParam": "after"},
            responseMapping={"dataProperty": "data"},
            incremental={"param": "updated_after", "recordUpdatedAt": "updated_at"},
        )
    )
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return json_response({"data": [rec(1), rec(2, "2024-05-01T13:00:00Z")], "next": None})

    client = make_client(definition, handler)
    listing = list_records(client, "orders", clock=lambda: START)
    listed = [item.id async for item in listing]

    assert listed == ["1", "2"]
    assert len(calls) == 1
    assert listing.stats.passes == 1 and listing.stats.last_pass_quiet is True


@pytest.mark.anyio
async def test_records_without_ids_are_deduplicated_by_content() -> None:
    definition = connector(
        resource(
            "orders",
            pagination={"type": "page_number", "paramName": "per_page", "defaultLimit": 5},
            responseMapping={"dataProperty": "data", "totalProperty": "total"},
        )
    )
    body = {"data": [{"name": "a"}, {"name": "b"}, {"name": "a"}], "total": 3}
    client = make_client(definition, lambda request: json_response(body))

    listing = list_records(client, "orders", max_passes=2)
    listed = [item.record async for item in listing]

    # No ids, so the distinct count never reaches the total and both passes run; content dedupes
    assert listed == [{"name": "a"}, {"name": "b"}]
    assert listing.stats.passes == 2
    assert listing.stats.duplicates_dropped == 4


def test_max_passes_must_be_positive() -> None:
    client = make_client(connector(), lambda request: json_response([]))
    with pytest.raises(ValueError, match="max_passes"):
        list_records(client, "orders", max_passes=0)
