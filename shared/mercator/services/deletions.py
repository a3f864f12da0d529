"""The deletion sweep: what a complete, settled listing of a whole resource did not show is gone.

A store deletes records quietly: some platforms send no webhook for it (Salla customers and carts),
and any webhook can be lost. A run that lists a whole resource (no incremental window) keeps the ids
each page showed in the run log; when it finishes settled (its last pass saw the store hold still),
every tracked id that last pass did not show is absent from the store (an earlier pass's ids prove
nothing: the store moved under that pass, and a record it showed may be gone since). Absent ids are
marked deleted through the RecordWriter: a tombstone that keeps the record's last content, a
``deleted`` change event and a tracking entry marked deleted.

Absence is proved, never assumed:

- a partial, failed or unsettled run sweeps nothing (the sync only calls this for a settled finish);
- an id tracked after the run started, or whose tracked version is newer than the store's clock when
  the listing began, may have been created behind the listing: it is left for the next run;
- the mass-delete guard: a provider answering an empty or truncated list must not wipe a tenant. When
  more ids are absent than ``DeletionGuard`` believes at once, none is deleted; they are counted as
  held in the run's stats (and its metric) for an operator to look at.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mercator.domain.entities import TrackedId

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeletionGuard:
    """How many absent records one run may delete: at most ``min_count``, or ``max_fraction`` of the
    live tracked records when that is more."""

    max_fraction: float = 0.25
    min_count: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.max_fraction <= 1:
            raise ValueError(f"max_fraction must be between 0 and 1, not {self.max_fraction!r}")
        if self.min_count < 0:
            raise ValueError(f"min_count must not be negative, not {self.min_count!r}")

    def allows(self, absent: int, live: int) -> bool:
        return absent <= max(self.min_count, self.max_fraction * live)


@dataclass(frozen=True)
class Absence:
    """The tracked records a whole listing did not show: ``codes`` to delete, out of ``live`` tracked."""

    codes: list[str]
    live: int


def absent_records(
    tracked: Iterable[TrackedId],
    listed: set[str],
    *,
    run_started_at: datetime,
    listing_started_at: datetime,
) -> Absence:
    """The live tracked ids a whole listing did not show, less those that may be newer than it.

    ``run_started_at`` is on Mercator's clock (tracking's ``tracked_at``), ``listing_started_at`` on the
    store's (the records' updated-at).
    """
    codes: list[str] = []
    live = 0
    for entry in tracked:
        live += 1
        if entry.external_id in listed:
            continue
        if entry.tracked_at is not None and entry.tracked_at >= run_started_at:
            continue
        if entry.source_updated_at is not None and entry.source_updated_at >= listing_started_at:
            continue
        codes.append(entry.external_id)
    return Absence(codes, live)
