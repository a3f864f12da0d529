"""What catalog push last wrote into each store, and where each push run is, in the state table.

One item per canonical product pushed to one store integration::

    pk  PUSH#<integration id>   sk  PRODUCT#<source code>
    source_code, key        S    the canonical product's code; the key the store knows it by
    provider_id             S    the store's id of the product (absent while a create is under way)
    ids                     M    other ids the store answered (S values)
    pushed_hash             S    hash of what was last pushed (absent: never pushed)
    state                   S    creating | pushed
    pushed_at               N    epoch milliseconds

One item per store product Mercator wrote, so its echo (the store's webhook or listing of Mercator's
own write) is told from a change made in the store::

    pk  PUSH#<integration id>   sk  STOREID#<provider id>
    source_code             S
    store_updated_at        N    the store's updated-at of the product as Mercator last wrote it

One item per integration for its push run::

    pk  PUSH#<integration id>   sk  RUN
    run_id, after           S    the run in progress and the last source code it finished
    started_at              N    epoch milliseconds
    last_success_at         N    when a run last went through every product
    stats                   S    the run's counts so far (JSON)

Entries sort by source code, as the canonical catalog does, so one Query reads the entries of a page
of the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError

from mercator.domain.clock import utc_now
from mercator.domain.entities import PushedProduct, PushRun, PushStats
from mercator.state.dynamo import (
    PARTITION_KEY,
    SORT_KEY,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    key,
    ms,
    optional_ms,
    read_optional_datetime,
    read_optional_s,
    read_s,
    s,
)
from mercator.state.purge import Purger

_PRODUCT = "PRODUCT#"
_STORE_ID = "STOREID#"
_RUN = "RUN"


def push_partition(integration_id: str) -> str:
    return f"PUSH#{integration_id}"


def pushed_key(integration_id: str, source_code: str) -> Item:
    return key(push_partition(integration_id), f"{_PRODUCT}{source_code}")


class DynamoPushedProducts:
    """PushLedger over the state table."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._table = Table(client, table_name)
        self._clock = clock

    # --- products -------------------------------------------------------------------------------

    def between(self, integration_id: str, first: str, last: str) -> dict[str, PushedProduct]:
        """The entries of source codes from ``first`` to ``last`` (as text, both included)."""
        expression = Expression()
        partition = expression.value(s(push_partition(integration_id)))
        low = expression.value(s(f"{_PRODUCT}{first}"))
        high = expression.value(s(f"{_PRODUCT}{last}"))
        sort = expression.name(SORT_KEY)
        condition = f"{expression.name(PARTITION_KEY)} = {partition} AND {sort} BETWEEN {low} AND {high}"
        found: dict[str, PushedProduct] = {}
        for item in self._table.query(expression, condition, ConsistentRead=True):
            entry = self._decode(item, integration_id)
            found[entry.source_code] = entry
        return found

    def get(self, integration_id: str, source_code: str) -> PushedProduct | None:
        item = self._table.get(pushed_key(integration_id, source_code))
        return None if item is None else self._decode(item, integration_id)

    def save(self, entry: PushedProduct) -> None:
        update = Expression()
        update.set("source_code", s(entry.source_code))
        update.set("key", s(entry.key))
        update.set_or_remove("provider_id", s(entry.provider_id) if entry.provider_id else None)
        update.set("ids", {"M": {name: s(value) for name, value in entry.ids.items()}})
        update.set_or_remove("pushed_hash", s(entry.pushed_hash) if entry.pushed_hash else None)
        update.set("state", s(entry.state))
        update.set_or_remove("pushed_at", optional_ms(entry.pushed_at))
        self._table.update(pushed_key(entry.integration_id, entry.source_code), update)

    def save_echo(
        self, integration_id: str, provider_id: str, source_code: str, store_updated_at: datetime | None
    ) -> None:
        update = Expression().set("source_code", s(source_code))
        update.set_or_remove("store_updated_at", optional_ms(store_updated_at))
        self._table.update(key(push_partition(integration_id), f"{_STORE_ID}{provider_id}"), update)

    def echo_until(self, integration_id: str, provider_id: str) -> datetime | None:
        item = self._table.get(key(push_partition(integration_id), f"{_STORE_ID}{provider_id}"))
        return None if item is None else read_optional_datetime(item, "store_updated_at")

    # --- runs -----------------------------------------------------------------------------------

    def run(self, integration_id: str) -> PushRun | None:
        item = self._table.get(key(push_partition(integration_id), _RUN))
        if item is None or "run_id" not in item:
            return None
        try:
            return PushRun(
                read_s(item, "run_id"),
                read_optional_s(item, "after"),
                read_optional_datetime(item, "started_at") or self._clock(),
                PushStats.model_validate_json(read_s(item, "stats")),
                int(item.get("continuation", {}).get("N", "0")),
            )
        except (KeyError, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e

    def new_run(self, run_id: str, started_at: datetime) -> PushRun:
        return PushRun(run_id, None, started_at)

    def save_run(self, integration_id: str, run: PushRun) -> None:
        update = Expression()
        update.set("run_id", s(run.run_id))
        update.set_or_remove("after", s(run.after) if run.after else None)
        update.set("started_at", ms(run.started_at))
        update.set("stats", s(run.stats.model_dump_json()))
        update.set("continuation", {"N": str(run.continuation)})
        self._table.update(key(push_partition(integration_id), _RUN), update)

    def finish_run(self, integration_id: str, run: PushRun) -> None:
        """The run went through every product: it is over, and the last success is now."""
        update = Expression()
        update.remove("run_id", "after", "continuation")
        update.set("last_success_at", ms(self._clock()))
        update.set("last_stats", s(run.stats.model_dump_json()))
        self._table.update(key(push_partition(integration_id), _RUN), update)

    def last_stats(self, integration_id: str) -> PushStats | None:
        item = self._table.get(key(push_partition(integration_id), _RUN))
        if item is None or "last_stats" not in item:
            return None
        return PushStats.model_validate_json(read_s(item, "last_stats"))

    def delete_for_integration(self, integration_id: str) -> int:
        return Purger(self._table).partition(push_partition(integration_id))

    def _decode(self, item: Item, integration_id: str) -> PushedProduct:
        try:
            ids = item.get("ids", {}).get("M", {})
            return PushedProduct(
                integration_id=integration_id,
                source_code=read_s(item, "source_code"),
                key=read_s(item, "key"),
                provider_id=read_optional_s(item, "provider_id"),
                ids={name: value["S"] for name, value in ids.items()},
                pushed_hash=read_optional_s(item, "pushed_hash"),
                state=read_s(item, "state"),
                pushed_at=read_optional_datetime(item, "pushed_at"),
            )
        except (KeyError, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e
