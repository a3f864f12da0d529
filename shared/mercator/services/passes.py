"""Watching one listing pass of a sync run, across the invocations it may span.

A page-number or offset listing can skip or repeat a record when the store changes under it (see
``mercator.providers.listing``). PassWatch feeds each page to a ListingGuard and keeps, in the run's
ListingPass, what a continuation needs to judge the whole pass: whether the reported total moved,
how many records changed after the pass started, and how many were listed. Within one invocation
the guard's distinct ids are compared with the total; once a pass spans invocations the ids seen
before are gone, and the count of records listed (an upper bound of the distinct ids) stands in.
"""

from __future__ import annotations

from datetime import datetime

from mercator.connector import Resource
from mercator.connector.listing_guard import KEYSET_PAGINATION, ListingGuard
from mercator.domain.entities import ListingPass
from mercator.domain.pages import Page


class PassWatch:
    """Observes the pages of one pass; ``gap_reasons`` says why the pass may have missed records."""

    def __init__(self, resource: Resource, progress: ListingPass, *, since: datetime | None) -> None:
        incremental = resource.incremental
        # Keyset listings are not shifted by changes (see mercator.providers.listing).
        self._keyset = resource.pagination.type in KEYSET_PAGINATION
        # A listing that stops at the first older record cannot be compared with the store's total.
        stops_early = since is not None and incremental is not None and incremental.stopWhenOlder
        self._expect_total = not stops_early
        self._guard = ListingGuard(resource, progress.started_at, expect_total=False)
        self._before = progress
        self._progress = progress

    @property
    def progress(self) -> ListingPass:
        """The pass so far, to store in the run's checkpoint."""
        return self._progress

    def observe(self, page: Page) -> None:
        self._guard.observe(page.records, page.total)
        current = self._progress
        moved = page.total is not None and current.last_total is not None and page.total != current.last_total
        self._progress = current.model_copy(
            update={
                "last_total": page.total if page.total is not None else current.last_total,
                "total_changed": current.total_changed or moved,
                "listed": current.listed + len(page.records),
                "updated_during_pass": self._before.updated_during_pass + self._guard.updated_during_pass,
            }
        )

    def gap_reasons(self) -> list[str]:
        """Why this pass may have missed records; empty when it is quiet."""
        if self._keyset:
            return []
        progress = self._progress
        reasons = []
        if progress.total_changed:
            reasons.append(f"the total changed during the pass (now {progress.last_total})")
        if progress.updated_during_pass:
            reasons.append(f"{progress.updated_during_pass} record(s) changed after the pass started")
        if self._expect_total and progress.last_total is not None:
            if progress.spans_invocations:
                seen, what = progress.listed, "records listed"
            else:
                seen, what = self._guard.distinct_ids, "distinct ids seen"
            if seen < progress.last_total:
                reasons.append(f"{seen} {what} of {progress.last_total} reported")
        return reasons
