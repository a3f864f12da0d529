"""Last-sync cursors and run logs of each integration's resources, in the state table.

The cursor (``pk INTEGRATION#<id>``, ``sk CURSOR#<resource>``)::

    integration_id, resource   S
    high_water_mark     N   epoch ms: the newest source updated-at fully synced; only moves forward
    running             S   RunCheckpoint JSON of the run in progress (absent when none)
    running_run_id      S   the run that owns the cursor, for conditions
    running_saved_at    N   epoch ms of that run's last checkpoint, for the staleness test
    running_attempt     S   the invocation working the run now (its lease); absent while none does
    last_success_at     N   epoch ms: the last run that finished settled (its listing saw every record)
    last_finished_at    N   epoch ms: the last run that finished, settled or not
    last_run_id         S
    last_run_stats      M   of N, one per RunStats counter
    deletions_mark      N   epoch ms: the store's clock up to which the deletion feed was read; forward only

A run owns the cursor from its first checkpoint until it finishes. Another run may take over only
when the owner has saved nothing for ``stale_after`` (6 hours): a crashed run must not lock the
cursor forever, while a long initial sync that keeps checkpointing is never cut off.

Within a run, one invocation at a time works it: the first checkpoint an invocation saves leases
the run to it (``running_attempt``), and every later save and the finish must name that lease. A
copy of the same SyncJob delivered at the same moment (same run) finds the lease held and is turned
away. The lease is given back when the invocation hands the run to its continuation or fails; one
that crashed without giving it back loses it after ``lease`` (15 minutes, the longest a Lambda
invocation lives), well before SQS delivers its message again.

The run log (``sk RUN#<resource>#<run_id>``) holds one N attribute per RunStats counter, added to
atomically by every worker, and expires 30 days after its last addition (``ttl``). Beside it, a run
that lists a whole resource keeps the ids each page listed (``sk RUN#<resource>#<run_id>#LISTED#<page>``,
``ids`` SS, same expiry): what the deletion sweep compares with tracking once the listing is complete.
Pages are numbered in the order the run handed them off, so a page listed again after a failed
invocation overwrites its own item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from pydantic import ValidationError

from mercator.domain.clock import utc_now
from mercator.domain.entities import Cursor, RunCheckpoint, RunStats
from mercator.state.dynamo import (
    PARTITION_KEY,
    SORT_KEY,
    TTL,
    ConditionFailedError,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    epoch_ms,
    key,
    ms,
    n,
    read_optional_datetime,
    read_optional_s,
    read_s,
    s,
)
from mercator.state.purge import Purger

STALE_AFTER = timedelta(hours=6)
LEASE = timedelta(minutes=15)
RUN_LOG_RETENTION = timedelta(days=30)
_COUNTERS = tuple(RunStats.model_fields)


CURSOR_PREFIX = "CURSOR#"
RUN_PREFIX = "RUN#"
LISTED = "#LISTED#"


def integration_partition(integration_id: str) -> str:
    return f"INTEGRATION#{integration_id}"


def cursor_key(integration_id: str, resource: str) -> Item:
    return key(integration_partition(integration_id), f"{CURSOR_PREFIX}{resource}")


def run_log_key(integration_id: str, resource: str, run_id: str) -> Item:
    return key(integration_partition(integration_id), f"{RUN_PREFIX}{resource}#{run_id}")


class DynamoCursors:
    """CursorRepository over the state table; ``clock`` stamps checkpoints for the staleness test."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        stale_after: timedelta = STALE_AFTER,
        lease: timedelta = LEASE,
    ) -> None:
        if stale_after <= timedelta(0):
            raise ValueError(f"stale_after must be positive, got {stale_after!r}")
        if lease <= timedelta(0):
            raise ValueError(f"lease must be positive, got {lease!r}")
        self._table = Table(client, table_name)
        self._clock = clock
        self._stale_after = stale_after
        self._lease = lease

    def get(self, integration_id: str, resource: str) -> Cursor | None:
        item = self._table.get(cursor_key(integration_id, resource))
        return None if item is None else self._decode(item)

    def save_checkpoint(
        self, integration_id: str, resource: str, checkpoint: RunCheckpoint, *, attempt: str
    ) -> bool:
        """Record the progress of ``checkpoint.run_id`` by invocation ``attempt``, leasing the run to it;
        False when another live run owns the cursor, or another invocation holds the run's lease.

        A run that has finished cannot save again: a duplicate delivery of its last continuation
        must not reopen it.
        """
        now = self._clock()
        update = Expression()
        update.set("integration_id", s(integration_id)).set("resource", s(resource))
        update.set("running", s(checkpoint.model_dump_json()))
        update.set("running_run_id", s(checkpoint.run_id))
        update.set("running_saved_at", ms(now))
        update.set("running_attempt", s(attempt))
        owner = update.name("running_run_id")
        run = update.value(s(checkpoint.run_id))
        saved_at = update.name("running_saved_at")
        holder = update.name("running_attempt")
        last_run = update.name("last_run_id")
        leased = (
            f"(attribute_not_exists({holder}) OR {holder} = {update.value(s(attempt))} "
            f"OR {saved_at} < {update.value(ms(now - self._lease))})"
        )
        condition = (
            f"(attribute_not_exists({owner}) OR ({owner} = {run} AND {leased}) "
            f"OR {saved_at} < {update.value(ms(now - self._stale_after))}) "
            f"AND (attribute_not_exists({last_run}) OR {last_run} <> {run})"
        )
        try:
            self._table.update(cursor_key(integration_id, resource), update, condition)
        except ConditionFailedError:
            return False
        return True

    def release(self, integration_id: str, resource: str, run_id: str, *, attempt: str) -> bool:
        """Give the run's lease back (its continuation, or a retry, takes it next); False when
        ``attempt`` no longer holds it."""
        update = Expression()
        update.remove("running_attempt")
        try:
            self._table.update(
                cursor_key(integration_id, resource), update, self._owned_by(update, run_id, attempt)
            )
        except ConditionFailedError:
            return False
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
        """End the run. An unsettled run (its listing may have missed records) keeps the mark and the
        last success where they were, so the next run lists the same window again. The deletion feed's
        mark, read separately, moves whenever the run read the feed to its end."""
        key_ = cursor_key(integration_id, resource)
        if deletions_mark is not None:
            self._move_deletions_mark(key_, run_id, attempt, deletions_mark)
        if high_water_mark is not None and settled:
            update = self._finish_update(run_id, stats, finished_at, settled)
            update.set("high_water_mark", ms(high_water_mark))
            mark = update.name("high_water_mark")
            condition = (
                f"{self._owned_by(update, run_id, attempt)} AND (attribute_not_exists({mark}) "
                f"OR {mark} <= {update.value(ms(high_water_mark))})"
            )
            try:
                self._table.update(key_, update, condition)
            except ConditionFailedError as refused:
                if refused.item is None or read_optional_s(refused.item, "running_run_id") != run_id:
                    return False
                # The run still owns the cursor; only its mark is behind the stored one, which stays.
            else:
                return True
        update = self._finish_update(run_id, stats, finished_at, settled)
        try:
            self._table.update(key_, update, self._owned_by(update, run_id, attempt))
        except ConditionFailedError:
            return False
        return True

    def _move_deletions_mark(self, key_: Item, run_id: str, attempt: str, mark: datetime) -> None:
        """Forward only, and only while ``run_id`` owns the cursor; a refusal leaves the stored mark."""
        update = Expression()
        update.set("deletions_mark", ms(mark))
        stored = update.name("deletions_mark")
        condition = (
            f"{self._owned_by(update, run_id, attempt)} AND (attribute_not_exists({stored}) "
            f"OR {stored} < {update.value(ms(mark))})"
        )
        try:
            self._table.update(key_, update, condition)
        except ConditionFailedError:
            return

    def delete_for_integration(self, integration_id: str) -> int:
        """Delete the cursors of every resource of the integration; how many were deleted."""
        return Purger(self._table).partition(integration_partition(integration_id), sort_prefix=CURSOR_PREFIX)

    def _finish_update(
        self, run_id: str, stats: RunStats, finished_at: datetime, settled: bool
    ) -> Expression:
        update = Expression()
        if settled:
            update.set("last_success_at", ms(finished_at))
        update.set("last_finished_at", ms(finished_at))
        update.set("last_run_id", s(run_id))
        update.set("last_run_stats", {"M": {name: n(getattr(stats, name)) for name in _COUNTERS}})
        update.remove("running", "running_run_id", "running_saved_at", "running_attempt")
        return update

    @staticmethod
    def _owned_by(update: Expression, run_id: str, attempt: str) -> str:
        return (
            f"{update.name('running_run_id')} = {update.value(s(run_id))} "
            f"AND {update.name('running_attempt')} = {update.value(s(attempt))}"
        )

    def _decode(self, item: Item) -> Cursor:
        try:
            running = read_optional_s(item, "running")
            stats = item.get("last_run_stats")
            return Cursor(
                integration_id=read_s(item, "integration_id"),
                resource=read_s(item, "resource"),
                high_water_mark=read_optional_datetime(item, "high_water_mark"),
                running=None if running is None else RunCheckpoint.model_validate_json(running),
                last_success_at=read_optional_datetime(item, "last_success_at"),
                last_finished_at=read_optional_datetime(item, "last_finished_at"),
                last_run_id=read_optional_s(item, "last_run_id"),
                last_run_stats=None if stats is None else _stats(stats["M"]),
                deletions_mark=read_optional_datetime(item, "deletions_mark"),
            )
        except (KeyError, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e


class DynamoRunLog:
    """RunLog over the state table."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        retention: timedelta = RUN_LOG_RETENTION,
    ) -> None:
        self._table = Table(client, table_name)
        self._clock = clock
        self._retention = retention

    def add(self, integration_id: str, resource: str, run_id: str, counts: RunStats) -> None:
        update = Expression()
        update.set("integration_id", s(integration_id)).set("resource", s(resource)).set("run_id", s(run_id))
        # DynamoDB's TTL reads epoch seconds.
        update.set(TTL, n(epoch_ms(self._clock() + self._retention) // 1000))
        for name in _COUNTERS:
            update.add(name, n(getattr(counts, name)))
        self._table.update(run_log_key(integration_id, resource, run_id), update)

    def delete_for_integration(self, integration_id: str) -> int:
        """Delete the run logs of every resource of the integration; how many were deleted."""
        return Purger(self._table).partition(integration_partition(integration_id), sort_prefix=RUN_PREFIX)

    def add_listed(
        self, integration_id: str, resource: str, run_id: str, page: int, ids: Iterable[str]
    ) -> None:
        update = Expression()
        update.set(TTL, n(epoch_ms(self._clock() + self._retention) // 1000))
        distinct = sorted(set(ids))
        # A string set cannot be empty; an empty page still leaves its item, so the page is known listed.
        update.set_or_remove("ids", {"SS": distinct} if distinct else None)
        self._table.update(listed_key(integration_id, resource, run_id, page), update)

    def listed(self, integration_id: str, resource: str, run_id: str, *, from_page: int = 0) -> set[str]:
        expression = Expression()
        partition = expression.value(s(integration_partition(integration_id)))
        first = expression.value(listed_key(integration_id, resource, run_id, from_page)[SORT_KEY])
        last = expression.value(s(f"{RUN_PREFIX}{resource}#{run_id}{LISTED}~"))
        condition = (
            f"{expression.name(PARTITION_KEY)} = {partition} "
            f"AND {expression.name(SORT_KEY)} BETWEEN {first} AND {last}"
        )
        found: set[str] = set()
        for item in self._table.query(expression, condition, ConsistentRead=True):
            found.update(item.get("ids", {}).get("SS", []))
        return found

    def get(self, integration_id: str, resource: str, run_id: str) -> RunStats:
        item = self._table.get(run_log_key(integration_id, resource, run_id))
        if item is None:
            return RunStats()
        try:
            return _stats(item)
        except (KeyError, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e


def listed_key(integration_id: str, resource: str, run_id: str, page: int) -> Item:
    return key(integration_partition(integration_id), f"{RUN_PREFIX}{resource}#{run_id}{LISTED}{page:08d}")


def _stats(attributes: Item) -> RunStats:
    return RunStats(**{name: int(attributes[name]["N"]) for name in _COUNTERS if name in attributes})
