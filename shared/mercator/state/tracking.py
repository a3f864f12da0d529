"""Synced ids per integration and resource, in the state table.

One item per external id::

    pk  TRACK#<integration_id>#<resource>   sk  ID#<external_id>
    integration_id, resource, external_id, content_hash, first_seen_via   S
    source_updated_at   N   epoch milliseconds; absent when the source gives none
    last_seen_via       S   webhook | sync: how the latest version arrived; absent on older entries
    last_seen_run       S   absent until a run sees the id
    deleted             BOOL
    tracked_at          N   epoch milliseconds on Mercator's clock; absent on entries older than it

A write wins when nothing is stored, when it is newer (``source_updated_at``), or when it is as new
with another content hash; without an updated-at only the hashes are compared
(``dynamo.newer_condition``). The condition expression decides, so concurrent webhook and sync
writers cannot regress an entry. ``tracking_update`` builds that conditional write on its own, so a
writer that must store the entry together with other items can put it into a transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator

from pydantic import ValidationError

from mercator.domain.entities import TrackedId
from mercator.state.aws_retry import Backoff, Retries
from mercator.state.dynamo import (
    PARTITION_KEY,
    ConditionFailedError,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    boolean,
    key,
    newer_condition,
    optional_ms,
    read_bool,
    read_optional_datetime,
    read_optional_s,
    read_s,
    s,
)
from mercator.state.purge import Purger

BATCH_GET_LIMIT = 100  # keys per BatchGetItem request, DynamoDB's maximum
_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 2.0


def tracking_partition(integration_id: str, resource: str) -> str:
    return f"TRACK#{integration_id}#{resource}"


def tracking_key(integration_id: str, resource: str, external_id: str) -> Item:
    return key(tracking_partition(integration_id, resource), f"ID#{external_id}")


def tracking_update(tracked: TrackedId) -> tuple[Item, Expression, str]:
    """The key, update and condition that store ``tracked`` unless what is stored is newer.

    ``first_seen_via`` of an existing entry is kept. In a TransactWriteItems request this is
    ``{"Update": {"TableName": ..., "Key": key, **update.request(condition)}}``.
    """
    update = Expression()
    update.set("integration_id", s(tracked.integration_id))
    update.set("resource", s(tracked.resource))
    update.set("external_id", s(tracked.external_id))
    update.set("content_hash", s(tracked.content_hash))
    update.set_or_remove("source_updated_at", optional_ms(tracked.source_updated_at))
    update.set_if_absent("first_seen_via", s(tracked.first_seen_via))
    update.set_or_remove("last_seen_via", _optional_s(tracked.last_seen_via))
    update.set_or_remove("last_seen_run", _optional_s(tracked.last_seen_run))
    update.set("deleted", boolean(tracked.deleted))
    update.set_or_remove("tracked_at", optional_ms(tracked.tracked_at))
    condition = newer_condition(update, tracked.content_hash, tracked.source_updated_at)
    return tracking_key(tracked.integration_id, tracked.resource, tracked.external_id), update, condition


class DynamoTracking:
    """TrackingRepository over the state table.

    ``max_attempts`` bounds the BatchGetItem rounds for keys DynamoDB leaves unprocessed (it does so
    under throttling), with exponential backoff and jitter between rounds.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        max_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        jitter: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
        self._table = Table(client, table_name)
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._jitter = jitter or random.Random()
        # Equal jitter: keys DynamoDB left unprocessed always get a real pause (half the ceiling at least).
        self._retries = Retries(
            max_attempts=max_attempts,
            backoff=Backoff(base=_BACKOFF_BASE, cap=_BACKOFF_CAP, jitter="equal", rng=self._jitter),
            sleep=sleep,
        )

    def get_many(
        self, integration_id: str, resource: str, external_ids: Iterable[str]
    ) -> dict[str, TrackedId]:
        # BatchGetItem refuses a request that names one key twice.
        wanted = list(dict.fromkeys(external_ids))
        found: dict[str, TrackedId] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            chunk = wanted[start : start + BATCH_GET_LIMIT]
            for item in self._batch_get([tracking_key(integration_id, resource, id_) for id_ in chunk]):
                tracked = self._decode(item)
                found[tracked.external_id] = tracked
        return found

    def live(self, integration_id: str, resource: str) -> Iterator[TrackedId]:
        """Every entry of the resource not marked deleted, read consistently, page by page."""
        expression = Expression()
        partition = expression.value(s(tracking_partition(integration_id, resource)))
        condition = f"{expression.name(PARTITION_KEY)} = {partition}"
        for item in self._table.query(expression, condition, ConsistentRead=True):
            tracked = self._decode(item)
            if not tracked.deleted:
                yield tracked

    def put(self, tracked: TrackedId) -> bool:
        item_key, update, condition = tracking_update(tracked)
        try:
            self._table.update(item_key, update, condition)
        except ConditionFailedError:
            return False
        return True

    def delete_for_integration(self, integration_id: str, resources: Iterable[str]) -> int:
        """Forget every id tracked for the integration's ``resources``; how many entries were deleted."""
        purger = Purger(self._table, max_attempts=self._max_attempts, sleep=self._sleep, jitter=self._jitter)
        return sum(purger.partition(tracking_partition(integration_id, resource)) for resource in resources)

    def _batch_get(self, keys: list[Item]) -> list[Item]:
        return self._table.batch_get(keys, self._retries, what="tracked ids")

    def _decode(self, item: Item) -> TrackedId:
        try:
            return TrackedId.model_validate(
                {
                    "integration_id": read_s(item, "integration_id"),
                    "resource": read_s(item, "resource"),
                    "external_id": read_s(item, "external_id"),
                    "content_hash": read_s(item, "content_hash"),
                    "source_updated_at": read_optional_datetime(item, "source_updated_at"),
                    "first_seen_via": read_s(item, "first_seen_via"),
                    "last_seen_via": read_optional_s(item, "last_seen_via"),
                    "last_seen_run": read_optional_s(item, "last_seen_run"),
                    "deleted": read_bool(item, "deleted"),
                    "tracked_at": read_optional_datetime(item, "tracked_at"),
                }
            )
        except (KeyError, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e


def _optional_s(value: str | None) -> dict[str, str] | None:
    return None if value is None else s(value)
