"""Listing a resource correctly while the store keeps changing under the listing.

Page-number and offset listings address records by position ("page 3", "offset 200"); next-URL
listings usually do too (Zid's ``next`` is ``?page=2``). When a record on an earlier page is deleted,
every later record moves up one place and one of them is never seen; when one is inserted, or an
update moves a record in the sort order, a record is seen twice or skipped. ListingGuard watches one
pass for the signs of such a shift, and ``list_records`` then runs the same query again, yielding
only what the earlier passes did not (deduplicated by id and content hash).

Link-header and cursor listings are keyset listings: the next page is "the records after this key",
not "the records after position n". A delete does not move the records after it, and an insert lands
either after the cursor (and is read in this pass) or before it, where it is a record created after
the pass started: its updated-at is past this run's start, so the next incremental run, whose window
overlaps, lists it. So keyset listings need no second pass; neither does a single-page listing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mercator.connector.sync import Resource
from mercator.mapping.dates import utc_now
from mercator.providers.client import ProviderClient

logger = logging.getLogger(__name__)

KEYSET_PAGINATION = frozenset({"link_header", "cursor", "none"})

Clock = Callable[[], datetime]


def content_hash(record: Any) -> str:
    """sha256 of the record's canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ListingGuard:
    """Watches the pages of one pass and tells whether the pass may have missed records.

    ``expect_total``: compare the distinct ids seen with the reported total (off for listings that
    stop early on purpose, such as ``stopWhenOlder``).
    """

    def __init__(self, resource: Resource, started_at: datetime, *, expect_total: bool = True) -> None:
        self._resource = resource
        self._started_at = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
        self._expect_total = expect_total
        self._ids: set[str] = set()
        self._totals: list[int] = []
        self.updated_during_pass = 0

    def observe(self, records: Sequence[Any], total: int | None) -> None:
        """Take in one page: its records and the total it reported (None when it reported none)."""
        if total is not None:
            self._totals.append(total)
        for record in records:
            record_id = self.id_of(record)
            if record_id is not None:
                self._ids.add(record_id)
            if self._updated_since_start(record):
                self.updated_during_pass += 1

    def id_of(self, record: Any) -> str | None:
        found = self._resource.record_id(record)
        return None if found is None or found == "" else str(found)

    @property
    def distinct_ids(self) -> int:
        return len(self._ids)

    @property
    def reasons(self) -> list[str]:
        """Why this pass may have a gap; empty when it is quiet."""
        reasons = []
        if len(set(self._totals)) > 1:
            reasons.append(f"the total changed during the pass ({self._totals[0]} -> {self._totals[-1]})")
        if self.updated_during_pass:
            reasons.append(f"{self.updated_during_pass} record(s) changed after the pass started")
        if self._expect_total and self._totals and len(self._ids) < self._totals[-1]:
            reasons.append(f"{len(self._ids)} distinct ids seen of {self._totals[-1]} reported")
        return reasons

    @property
    def may_have_gap(self) -> bool:
        return bool(self.reasons)

    def _updated_since_start(self, record: Any) -> bool:
        updated = self._resource.updated_at(record)
        return updated is not None and updated >= self._started_at


@dataclass(frozen=True)
class ListedRecord:
    """A record as listed; ``changed``: an earlier version was already yielded by this listing."""

    id: str | None
    record: Any
    pass_number: int
    changed: bool = False


@dataclass
class ListingStats:
    passes: int = 0
    records_yielded: int = 0
    duplicates_dropped: int = 0
    changed_during_listing: int = 0
    last_pass_quiet: bool | None = None
    gap_reasons: list[str] = field(default_factory=list)


class RecordListing(AsyncIterator[ListedRecord]):
    """The records of a resource over as many passes as it takes; ``stats`` fills as it runs."""

    def __init__(
        self,
        client: ProviderClient,
        resource_key: str,
        *,
        since: datetime | None = None,
        max_passes: int = 3,
        clock: Clock = utc_now,
    ) -> None:
        if max_passes < 1:
            raise ValueError(f"max_passes must be at least 1, not {max_passes}")
        self._client = client
        self._resource = client.resource(resource_key)
        self._since = since
        self._max_passes = max_passes
        self._clock = clock
        self.stats = ListingStats()
        self._walk = self._run()

    async def __anext__(self) -> ListedRecord:
        return await self._walk.__anext__()

    async def aclose(self) -> None:
        await self._walk.aclose()

    async def _run(self) -> AsyncGenerator[ListedRecord, None]:
        resource = self._resource
        keyset = resource.pagination.type in KEYSET_PAGINATION
        stops_early = bool(self._since and resource.incremental and resource.incremental.stopWhenOlder)
        seen: dict[str, str] = {}
        for pass_number in range(1, self._max_passes + 1):
            guard = ListingGuard(resource, self._clock(), expect_total=not stops_early)
            pages = self._client.pages(resource.name, since=self._since)
            async with aclosing(pages):
                async for page in pages:
                    guard.observe(page.records, page.total)
                    for record in page.records:
                        listed = self._admit(seen, guard.id_of(record), record, pass_number)
                        if listed is not None:
                            yield listed
            self.stats.passes = pass_number
            self.stats.gap_reasons = [] if keyset else guard.reasons
            self.stats.last_pass_quiet = not self.stats.gap_reasons
            if self.stats.last_pass_quiet:
                return
            if pass_number < self._max_passes:
                logger.info(
                    "listing %s again (pass %d may have a gap: %s)",
                    resource.name,
                    pass_number,
                    "; ".join(self.stats.gap_reasons),
                )
        logger.warning(
            "listing %s still may have a gap after %d passes: %s",
            resource.name,
            self._max_passes,
            "; ".join(self.stats.gap_reasons),
        )

    def _admit(
        self, seen: dict[str, str], record_id: str | None, record: Any, pass_number: int
    ) -> ListedRecord | None:
        digest = content_hash(record)
        # Without an id, identical content is the only sign of a record seen before.
        key = f"id:{record_id}" if record_id is not None else f"hash:{digest}"
        previous = seen.get(key)
        if previous == digest:
            self.stats.duplicates_dropped += 1
            return None
        seen[key] = digest
        changed = previous is not None
        if changed:
            self.stats.changed_during_listing += 1
        self.stats.records_yielded += 1
        return ListedRecord(record_id, record, pass_number, changed)


def list_records(
    client: ProviderClient,
    resource_key: str,
    *,
    since: datetime | None = None,
    max_passes: int = 3,
    clock: Clock = utc_now,
) -> RecordListing:
    """Every record of a resource once (a changed one again, as its newer version); see the module doc."""
    return RecordListing(client, resource_key, since=since, max_passes=max_passes, clock=clock)
