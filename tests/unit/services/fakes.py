"""In-memory fakes of the service ports, keeping the conditions the port docstrings promise.

Each fake records what it was asked, so a test can count writes, sends and checkpoints. The
conditions are those of the DynamoDB adapters: a record or tracking entry is written when it is new,
when its source updated-at is later than the stored one (or the stored one has none), or when it is
the same with another hash (without an incoming updated-at the hashes alone decide); a cursor's
checkpoint is refused while another run owns it, unless that run saved nothing for more than six
hours; a finish is refused to a run that no longer owns the cursor, and the high-water mark never
moves backwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mercator.domain.changes import plain_fields
from mercator.domain.entities import (
    Cursor,
    Integration,
    RecordWriteResult,
    RunCheckpoint,
    RunStats,
    StoredRecord,
    TrackedId,
    WriteOutcome,
)

STALE_AFTER = timedelta(hours=6)
LEASE = timedelta(minutes=15)


class FakeClock:
    """A UTC clock that moves only when the test moves it."""

    def __init__(self, start: datetime = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeIntegrations:
    def __init__(self, *integrations: Integration) -> None:
        self.items: dict[str, Integration] = {integration.id: integration for integration in integrations}

    def get(self, integration_id: str) -> Integration | None:
        return self.items.get(integration_id)

    def put(self, integration: Integration) -> None:
        self.items[integration.id] = integration

    def active(self) -> list[Integration]:
        return [integration for integration in self.items.values() if integration.status == "active"]

    def for_tenant(self, tenant_id: str) -> list[Integration]:
        return [integration for integration in self.items.values() if integration.tenant_id == tenant_id]


class FakeVault:
    """Credentials by secret ARN, as Secrets Manager would hold them."""

    def __init__(self, secrets: Mapping[str, Mapping[str, str]]) -> None:
        self.secrets = {arn: dict(values) for arn, values in secrets.items()}
        self.reads: list[str] = []

    def credentials(self, integration: Integration) -> dict[str, str]:
        self.reads.append(integration.id)
        try:
            return dict(self.secrets[integration.credentials_arn])
        except KeyError:
            raise LookupError(f"no credentials for integration {integration.id!r}") from None


def _newer(
    stored_at: datetime | None,
    stored_hash: str,
    new_at: datetime | None,
    new_hash: str,
    *,
    stored_deleted: bool = False,
) -> bool:
    """Whether the incoming version wins over the stored one (``dynamo.newer_condition``)."""
    if new_at is None:
        return new_hash != stored_hash or stored_deleted
    if stored_at is None:
        return True
    return new_at > stored_at or (new_at == stored_at and new_hash != stored_hash)


class FakeTracking:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str], TrackedId] = {}
        self.puts: list[TrackedId] = []
        self.lookups: list[list[str]] = []

    def get_many(
        self, integration_id: str, resource: str, external_ids: Iterable[str]
    ) -> dict[str, TrackedId]:
        wanted = list(external_ids)
        self.lookups.append(wanted)
        return {
            external_id: self.entries[(integration_id, resource, external_id)]
            for external_id in wanted
            if (integration_id, resource, external_id) in self.entries
        }

    def put(self, tracked: TrackedId) -> bool:
        self.puts.append(tracked)
        key = (tracked.integration_id, tracked.resource, tracked.external_id)
        stored = self.entries.get(key)
        if stored is not None:
            if not _newer(
                stored.source_updated_at,
                stored.content_hash,
                tracked.source_updated_at,
                tracked.content_hash,
                stored_deleted=stored.deleted,
            ):
                return False
            tracked = tracked.model_copy(update={"first_seen_via": stored.first_seen_via})
        self.entries[key] = tracked
        return True

    def live(self, integration_id: str, resource: str) -> list[TrackedId]:
        return [
            entry
            for (integration, kind, _), entry in self.entries.items()
            if integration == integration_id and kind == resource and not entry.deleted
        ]


@dataclass(frozen=True)
class RecordWrite:
    code: str
    outcome: WriteOutcome


class FakeRecords:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], StoredRecord] = {}
        self.writes: list[RecordWrite] = []
        # The plain fields of the version each stored one replaced, as the table's prior_fields.
        self.prior: dict[tuple[str, str, str], dict[str, Any] | None] = {}

    def write(
        self,
        *,
        tenant_id: str,
        content_type: str,
        code: str,
        record: Mapping[str, Any],
        content_hash: str,
        source_updated_at: datetime | None,
        integration_id: str,
        new_version: bool = True,
        strict: bool = False,
    ) -> RecordWriteResult:
        key = (tenant_id, content_type, code)
        stored = self.items.get(key)
        same_time = (
            stored is not None
            and source_updated_at is not None
            and stored.source_updated_at == source_updated_at
        )
        if (
            strict
            and same_time
            and stored is not None
            and not stored.deleted
            and stored.content_hash != content_hash
        ):
            self.writes.append(RecordWrite(code, WriteOutcome.SAME_VERSION))
            return RecordWriteResult(WriteOutcome.SAME_VERSION)
        if stored is None:
            outcome, version = WriteOutcome.CREATED, 1
        elif _newer(
            stored.source_updated_at,
            stored.content_hash,
            source_updated_at,
            content_hash,
            stored_deleted=stored.deleted,
        ):
            outcome, version = WriteOutcome.UPDATED, stored.version + (1 if new_version else 0)
        else:
            outcome = WriteOutcome.UNCHANGED if stored.content_hash == content_hash else WriteOutcome.STALE
            self.writes.append(RecordWrite(code, outcome))
            return RecordWriteResult(
                outcome, self.prior.get(key) if outcome is WriteOutcome.UNCHANGED else None
            )
        replaced = plain_fields(stored.record) if stored is not None and not stored.deleted else None
        self.prior[key] = replaced
        self.items[key] = StoredRecord(
            tenant_id=tenant_id,
            content_type=content_type,
            code=code,
            # A copy through JSON, like a round trip through the table.
            record=json.loads(json.dumps(record)),
            content_hash=content_hash,
            source_updated_at=source_updated_at,
            integration_id=integration_id,
            version=version,
        )
        self.writes.append(RecordWrite(code, outcome))
        return RecordWriteResult(outcome, replaced)

    def get(self, tenant_id: str, content_type: str, code: str) -> StoredRecord | None:
        return self.items.get((tenant_id, content_type, code))

    def mark_deleted(
        self,
        *,
        tenant_id: str,
        content_type: str,
        code: str,
        content_hash: str,
        deleted_at: datetime,
        integration_id: str,
    ) -> tuple[WriteOutcome, dict[str, Any]]:
        key = (tenant_id, content_type, code)
        stored = self.items.get(key)
        if stored is not None and stored.deleted:
            return WriteOutcome.UNCHANGED, stored.record
        stored_at = stored.source_updated_at if stored is not None else None
        if stored is not None and stored_at is not None and stored_at > deleted_at:
            return WriteOutcome.STALE, stored.record
        self.items[key] = StoredRecord(
            tenant_id=tenant_id,
            content_type=content_type,
            code=code,
            record=stored.record if stored is not None else {"code": code},
            content_hash=stored.content_hash if stored is not None else content_hash,
            source_updated_at=deleted_at,
            integration_id=integration_id,
            version=stored.version + 1 if stored is not None else 1,
            deleted=True,
        )
        self.writes.append(RecordWrite(code, WriteOutcome.UPDATED))
        return WriteOutcome.UPDATED, self.items[key].record

    def written(self) -> list[str]:
        """Codes of the writes that stored something, in order."""
        return [
            write.code
            for write in self.writes
            if write.outcome in (WriteOutcome.CREATED, WriteOutcome.UPDATED)
        ]

    def of_type(self, tenant_id: str, content_type: str) -> dict[str, StoredRecord]:
        return {
            code: stored
            for (tenant, kind, code), stored in self.items.items()
            if tenant == tenant_id and kind == content_type
        }


class FakeCursors:
    """The cursor rules of ``DynamoCursors``: run ownership, the per-invocation lease, marks forward only."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.cursors: dict[tuple[str, str], Cursor] = {}
        self.saved_at: dict[tuple[str, str], datetime] = {}
        self.attempts: dict[tuple[str, str], str] = {}
        self.checkpoints: list[RunCheckpoint] = []
        self.finished: list[str] = []

    def get(self, integration_id: str, resource: str) -> Cursor | None:
        return self.cursors.get((integration_id, resource))

    def save_checkpoint(
        self, integration_id: str, resource: str, checkpoint: RunCheckpoint, *, attempt: str
    ) -> bool:
        key = (integration_id, resource)
        cursor = self.cursors.get(key) or Cursor(integration_id=integration_id, resource=resource)
        running = cursor.running
        if cursor.last_run_id == checkpoint.run_id:
            return False
        if running is not None:
            stale = self.clock() - self.saved_at[key] > STALE_AFTER
            holder = self.attempts.get(key)
            leased = holder is None or holder == attempt or self.clock() - self.saved_at[key] > LEASE
            if not stale and not (running.run_id == checkpoint.run_id and leased):
                return False
        self.cursors[key] = cursor.model_copy(update={"running": checkpoint})
        self.saved_at[key] = self.clock()
        self.attempts[key] = attempt
        self.checkpoints.append(checkpoint)
        return True

    def release(self, integration_id: str, resource: str, run_id: str, *, attempt: str) -> bool:
        key = (integration_id, resource)
        if not self._held(key, run_id, attempt):
            return False
        del self.attempts[key]
        return True

    def finish(
        self,
        integration_id: str,
        resource: str,
        run_id: str,
        *,
        high_water_mark: datetime | None,
        stats: RunStats,
        finished_at: datetime,
        attempt: str,
        settled: bool = True,
        deletions_mark: datetime | None = None,
    ) -> bool:
        key = (integration_id, resource)
        if not self._held(key, run_id, attempt):
            return False
        cursor = self.cursors[key]
        mark = cursor.high_water_mark
        if settled and high_water_mark is not None and (mark is None or high_water_mark > mark):
            mark = high_water_mark
        self.cursors[key] = cursor.model_copy(
            update={
                "running": None,
                "high_water_mark": mark,
                "last_success_at": finished_at if settled else cursor.last_success_at,
                "last_finished_at": finished_at,
                "last_run_id": run_id,
                "last_run_stats": stats,
                "deletions_mark": max(
                    (moment for moment in (cursor.deletions_mark, deletions_mark) if moment is not None),
                    default=None,
                ),
            }
        )
        self.attempts.pop(key, None)
        self.finished.append(run_id)
        return True

    def _held(self, key: tuple[str, str], run_id: str, attempt: str) -> bool:
        cursor = self.cursors.get(key)
        running = cursor.running if cursor is not None else None
        return running is not None and running.run_id == run_id and self.attempts.get(key) == attempt


class FakeRunLog:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], RunStats] = {}
        self.pages: dict[tuple[str, str, str], dict[int, set[str]]] = {}

    def add_listed(
        self, integration_id: str, resource: str, run_id: str, page: int, ids: Iterable[str]
    ) -> None:
        self.pages.setdefault((integration_id, resource, run_id), {})[page] = set(ids)

    def listed(self, integration_id: str, resource: str, run_id: str, *, from_page: int = 0) -> set[str]:
        pages = self.pages.get((integration_id, resource, run_id), {})
        return set().union(*(ids for page, ids in pages.items() if page >= from_page))

    def add(self, integration_id: str, resource: str, run_id: str, counts: RunStats) -> None:
        key = (integration_id, resource, run_id)
        self.counts[key] = self.counts.get(key, RunStats()).add(counts)

    def get(self, integration_id: str, resource: str, run_id: str) -> RunStats:
        return self.counts.get((integration_id, resource, run_id), RunStats())


@dataclass
class FakeQueue:
    """Keeps what was sent; ``refuse`` makes every send fail, as a queue that is unreachable."""

    name: str
    bodies: list[str] = field(default_factory=list)
    sends: int = 0
    refuse: bool = False

    def send(self, bodies: Sequence[str]) -> None:
        if self.refuse:
            raise RuntimeError(f"queue {self.name} refused {len(bodies)} message(s)")
        self.sends += 1
        self.bodies.extend(bodies)

    def documents(self) -> list[Any]:
        return [json.loads(body) for body in self.bodies]

    def take(self) -> list[str]:
        """The bodies sent so far, and forget them (a consumer received them)."""
        taken, self.bodies = self.bodies, []
        return taken
