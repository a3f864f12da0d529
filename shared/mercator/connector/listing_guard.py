"""Whether one pass of a listing may have missed records, judged from the pages it saw.

Only a pass with no such doubt may move the cursor or prove a record absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mercator.connector.sync import Resource

KEYSET_PAGINATION = frozenset({"link_header", "cursor", "none"})


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
