"""RecordWriter: the one place mapped records become writes, tracking entries and change events.

Sync (records that need no detail call), enrichment and webhook intake all write through it, so a
record is compared, written and announced the same way whichever path brought it:

1. its content hash is the sha256 of the mapped record's canonical JSON;
2. the tracked ids of the whole batch are read at once;
3. a record whose hash equals the tracked one is unchanged: no write, no event;
4. any other is written to the records table, which refuses it when what is stored is newer (stale);
5. change events (created | updated) of the written records go to the Trigger queue, with the plain
   fields that moved from the version the write replaced (the records table's answer), and only then
   is tracking updated (with the channel that brought the version: webhook or sync). Should the
   invocation stop between the write and the event, the retry finds tracking behind the records
   table and sends the event again: a change is announced at least once.

A path that knows only part of a record (an order's buyer, for the customer) writes it ``partial``:
its known values (not null) are laid over the stored record, and the change decision compares the
result, so what the path does not know is kept and an unchanged part costs nothing. A record whose
source updated-at equals the tracked one is the same version brought by another path (Salla's order
details lack the address its webhook carries): it is merged the same way, never replaces, and is
announced only when the merge moves a plain value the stored version had (a status a platform changed
without re-dating the record): a value only now known is no change.

Deletions (``delete``) mark the record deleted in the records table, keeping its last content,
announce a ``deleted`` change and track the id as deleted, with a content hash no record has: the
same record listed again later is written and announced as created.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from mercator.connector import Resource
from mercator.connector.mapper import Failure, map_records
from mercator.domain.changes import FieldChange, field_changes
from mercator.domain.clock import utc_now
from mercator.domain.entities import (
    Integration,
    RecordWriteResult,
    RunStats,
    SeenVia,
    TrackedId,
    WriteOutcome,
)
from mercator.domain.hashing import content_hash
from mercator.domain.messages import ChangeEvent
from mercator.services.merge import deep_merge
from mercator.services.ports import MessageQueue, RecordRepository, TrackingRepository

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class MappedRecord:
    """A mapped, validated record and the raw payload it was mapped from."""

    raw: Any
    record: dict[str, Any]


@dataclass(frozen=True)
class ReadyRecord:
    """A record ready to write: its code and its source updated-at already known."""

    code: str
    record: dict[str, Any]
    source_updated_at: datetime | None


@dataclass
class WriteSummary:
    """What one write call did; ``stale``: refused because the stored record is newer."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    stale: int = 0

    def stats(self, *, reconciling: bool = False) -> RunStats:
        """As run counters: a stale record cost no write, so it counts as unchanged.

        ``reconciling``: the records came from a sync that backs up webhooks, so each one written
        is a change no webhook brought, and counts as missed by webhooks too.
        """
        written = self.new + self.changed
        return RunStats(
            new=self.new,
            changed=self.changed,
            unchanged=self.unchanged + self.stale,
            missed_by_webhook=written if reconciling else 0,
        )


class RecordWriter:
    """Writes changed records, tracks them and announces them on the Trigger queue."""

    def __init__(
        self,
        records: RecordRepository,
        tracking: TrackingRepository,
        triggers: MessageQueue,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._records = records
        self._tracking = tracking
        self._triggers = triggers
        self._clock = clock

    def tracked(
        self, integration_id: str, resource: str, external_ids: Iterable[str]
    ) -> dict[str, TrackedId]:
        """What was last written for each of ``external_ids`` (untracked ones are left out)."""
        return self._tracking.get_many(integration_id, resource, external_ids)

    def live(self, integration_id: str, resource: str) -> Iterable[TrackedId]:
        """Every tracked id of the resource not marked deleted."""
        return self._tracking.live(integration_id, resource)

    def write(
        self,
        integration: Integration,
        resource: Resource,
        mapped: Sequence[MappedRecord],
        *,
        run_id: str | None,
        seen_via: SeenVia,
        first_import: bool = False,
    ) -> WriteSummary:
        """Write a resource's mapped records.

        The source updated-at is the record's own ``updatedAt``, as every path reads it, so two paths
        that bring one version compare as one version; the listing's ``recordUpdatedAt`` only where
        the record has none (it may be another time: Salla windows orders by their creation date).
        """
        ready = [
            ReadyRecord(
                code_of(item.record),
                item.record,
                record_updated_at(item.record) or resource.updated_at(item.raw),
            )
            for item in mapped
        ]
        return self.write_ready(
            integration,
            resource=resource.name,
            content_type=resource.contentType,
            records=ready,
            run_id=run_id,
            seen_via=seen_via,
            first_import=first_import,
        )

    def map_and_write(
        self,
        integration: Integration,
        resource: Resource,
        raws: Sequence[Any],
        *,
        run_id: str | None,
        seen_via: SeenVia,
        first_import: bool = False,
    ) -> tuple[WriteSummary, list[Failure]]:
        """Map a resource's raw records, write those that map, and hand back those that do not.

        A record that fails its mapping is left out of the write and returned with its reason, so the
        caller dead-letters it while its batch-mates are written.
        """
        outcome = map_records(resource.mapping, resource.contentType, raws)
        failed = {failure.index for failure in outcome.failures}
        kept = [raw for index, raw in enumerate(raws) if index not in failed]
        mapped = [MappedRecord(raw, record) for raw, record in zip(kept, outcome.records, strict=True)]
        summary = self.write(
            integration, resource, mapped, run_id=run_id, seen_via=seen_via, first_import=first_import
        )
        return summary, outcome.failures

    def write_ready(
        self,
        integration: Integration,
        *,
        resource: str,
        content_type: str,
        records: Sequence[ReadyRecord],
        run_id: str | None,
        seen_via: SeenVia,
        first_import: bool = False,
        partial: bool = False,
    ) -> WriteSummary:
        """Write records whose code and source updated-at the caller worked out itself.

        ``partial``: the records hold only what their path knows; each is merged over the stored one.
        """
        summary = WriteSummary()
        if not records:
            return summary
        if partial:
            records = [self._completed(integration, content_type, item) for item in records]
        known = self._tracking.get_many(integration.id, resource, {item.code for item in records})
        events: list[str] = []
        tracked_now: list[TrackedId] = []
        for given in records:
            tracked = known.get(given.code)
            # One version seen through another path (a listing after its webhook): what this path
            # knows is laid over what is stored, so the other path's fields stay; the source did
            # not change, so it is stored without a new version or an announcement.
            same = _same_version(tracked, given)
            item = self._completed(integration, content_type, given) if same else given
            digest = content_hash(item.record)
            if tracked is not None and not tracked.deleted and tracked.content_hash == digest:
                summary.unchanged += 1
                continue
            written = self._store(integration, content_type, item, digest, same=same)
            if written.outcome is WriteOutcome.SAME_VERSION:
                # Another path stored this version since tracking was read: merge into it instead.
                same = True
                item = self._completed(integration, content_type, given)
                digest = content_hash(item.record)
                written = self._store(integration, content_type, item, digest, same=True)
            outcome = written.outcome
            if outcome is WriteOutcome.STALE:
                summary.stale += 1
                continue
            entry = self._entry(
                integration, resource, item, digest, tracked=tracked, seen_via=seen_via, run_id=run_id
            )
            # A later copy of the same code in this batch compares against this one.
            known[item.code] = entry
            tracked_now.append(entry)
            changes = None if written.replaced is None else field_changes(written.replaced, item.record)
            if same and not _moved(changes):
                summary.unchanged += 1
                continue
            # A merge that moved a value the stored version had is a change the source did not re-date
            # (a carrier's status in a delivery that keeps the shipment's update time): announced.
            change = "updated" if same else _change(outcome, tracked)
            if change == "created":
                summary.new += 1
            else:
                summary.changed += 1
            events.append(
                self._announcement(
                    integration,
                    change,
                    content_type=content_type,
                    code=item.code,
                    record=item.record,
                    digest=digest,
                    seen_via=seen_via,
                    first_import=first_import,
                    changes=None if change == "created" else changes,
                )
            )
        self._announce(events, tracked_now)
        return summary

    def _store(
        self, integration: Integration, content_type: str, item: ReadyRecord, digest: str, *, same: bool
    ) -> RecordWriteResult:
        """A new version only when it is newer than what is stored (strictly: the same version with
        other content comes back SAME_VERSION, to be merged); a merge of the same version as such."""
        return self._records.write(
            tenant_id=integration.tenant_id,
            content_type=content_type,
            code=item.code,
            record=item.record,
            content_hash=digest,
            source_updated_at=item.source_updated_at,
            integration_id=integration.id,
            new_version=not same,
            strict=not same,
        )

    def _entry(
        self,
        integration: Integration,
        resource: str,
        item: ReadyRecord,
        digest: str,
        *,
        tracked: TrackedId | None,
        seen_via: SeenVia,
        run_id: str | None,
    ) -> TrackedId:
        return TrackedId(
            integration_id=integration.id,
            resource=resource,
            external_id=item.code,
            content_hash=digest,
            source_updated_at=item.source_updated_at,
            first_seen_via=tracked.first_seen_via if tracked is not None else seen_via,
            last_seen_via=seen_via,
            last_seen_run=run_id,
            tracked_at=self._clock(),
        )

    def delete(
        self,
        integration: Integration,
        *,
        resource: str,
        content_type: str,
        codes: Iterable[str],
        deleted_at: datetime,
        run_id: str | None,
        seen_via: SeenVia = "sync",
        first_import: bool = False,
    ) -> int:
        """Mark records deleted as of ``deleted_at``, announce and track each; how many were deleted.

        Only records Mercator tracks as live are deleted: one it never wrote has nothing to delete.
        A record stored with a newer version than ``deleted_at`` stays as it is.
        """
        events: list[str] = []
        tracked_now: list[TrackedId] = []
        wanted = list(dict.fromkeys(codes))
        known = self._tracking.get_many(integration.id, resource, wanted)
        for code in wanted:
            tracked = known.get(code)
            if tracked is None or tracked.deleted:
                continue
            digest = deletion_hash(code)
            outcome, last = self._records.mark_deleted(
                tenant_id=integration.tenant_id,
                content_type=content_type,
                code=code,
                content_hash=digest,
                deleted_at=deleted_at,
                integration_id=integration.id,
            )
            if outcome is WriteOutcome.STALE:
                continue
            # UNCHANGED: deleted already, by an attempt that stopped before announcing it (tracking,
            # written last, still has it live); announced now.
            events.append(
                self._announcement(
                    integration,
                    "deleted",
                    content_type=content_type,
                    code=code,
                    record=last,
                    digest=digest,
                    seen_via=seen_via,
                    first_import=first_import,
                )
            )
            tracked_now.append(
                TrackedId(
                    integration_id=integration.id,
                    resource=resource,
                    external_id=code,
                    content_hash=digest,
                    source_updated_at=deleted_at,
                    first_seen_via=tracked.first_seen_via,
                    last_seen_via=seen_via,
                    last_seen_run=run_id,
                    deleted=True,
                    tracked_at=self._clock(),
                )
            )
        self._announce(events, tracked_now)
        return len(events)

    def _announcement(
        self,
        integration: Integration,
        change: Literal["created", "updated", "deleted"],
        *,
        content_type: str,
        code: str,
        record: dict[str, Any],
        digest: str,
        seen_via: SeenVia,
        first_import: bool,
        changes: dict[str, FieldChange] | None = None,
    ) -> str:
        """The Trigger queue's body announcing one change."""
        return ChangeEvent(
            change=change,
            integration_id=integration.id,
            tenant_id=integration.tenant_id,
            connector=integration.connector,
            content_type=content_type,
            code=code,
            record=record,
            content_hash=digest,
            source=seen_via,
            first_import=first_import,
            changes=changes,
            occurred_at=self._clock(),
        ).body()

    def _announce(self, events: list[str], tracked_now: list[TrackedId]) -> None:
        """Send the change events, then track: a stop in between leaves tracking behind, never ahead."""
        if events:
            self._triggers.send(events)
        for entry in tracked_now:
            self._tracking.put(entry)

    def _completed(self, integration: Integration, content_type: str, item: ReadyRecord) -> ReadyRecord:
        stored = self._records.get(integration.tenant_id, content_type, item.code)
        known = known_values(item.record)
        if stored is None or stored.deleted:
            return ReadyRecord(item.code, known, item.source_updated_at)
        return ReadyRecord(
            item.code,
            deep_merge(stored.record, known),
            item.source_updated_at or stored.source_updated_at,
        )


def _moved(changes: Mapping[str, FieldChange] | None) -> bool:
    """Whether a plain field the stored version had a value for now has another (one only now known,
    which a path that knows less left out, is no move)."""
    return any(moved.before is not None for moved in (changes or {}).values())


def _same_version(tracked: TrackedId | None, item: ReadyRecord) -> bool:
    return (
        tracked is not None
        and not tracked.deleted
        and item.source_updated_at is not None
        and tracked.source_updated_at == item.source_updated_at
    )


def known_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` without its nulls, at every level of nesting: what a partial path actually knows."""
    return {
        key: known_values(value) if isinstance(value, Mapping) else value
        for key, value in record.items()
        if value is not None
    }


def deletion_hash(code: str) -> str:
    """The content hash tracked for a deleted record: unlike any record's, so a deletion of an unchanged
    record is a change, and so is the same record listed again afterwards."""
    return hashlib.sha256(f"deleted\x1f{code}".encode()).hexdigest()


def record_updated_at(record: Mapping[str, Any]) -> datetime | None:
    """A mapped record's own ``updatedAt`` (ISO 8601, as every content type writes it); None without one."""
    value = record.get("updatedAt")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def code_of(record: dict[str, Any]) -> str:
    """The record's code (its id on the source platform); every content type requires one."""
    code = record.get("code")
    if code is None or code == "":
        raise ValueError("a mapped record needs its code to be written")
    return str(code)


def _change(outcome: WriteOutcome, tracked: TrackedId | None) -> Literal["created", "updated"]:
    if outcome is WriteOutcome.CREATED or (tracked is not None and tracked.deleted):
        # A record deleted before and listed again is new to whoever heard of its deletion.
        return "created"
    if outcome is WriteOutcome.UPDATED:
        return "updated"
    # UNCHANGED although tracking differs: an earlier attempt wrote this version but stopped before
    # announcing it. Announce it now, as what it was to tracking.
    return "created" if tracked is None or tracked.deleted else "updated"
