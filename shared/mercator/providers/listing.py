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

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mercator.connector.listing_guard import KEYSET_PAGINATION, ListingGuard
from mercator.domain.clock import utc_now
from mercator.domain.hashing import content_hash
from mercator.providers.client import ProviderClient

logger = logging.getLogger(__name__)


Clock = Callable[[], datetime]


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
