"""Deleting every item a query selects, as removing an integration needs (its ids, cursors, claims, records).

Keys are read page by page (only ``pk`` and ``sk``) and deleted 25 at a time with BatchWriteItem, the
most one request takes. DynamoDB leaves some deletes unprocessed when throttled: those are sent again
with exponential backoff and jitter, up to ``max_attempts`` rounds per batch. Deleting what is already
gone is not an error, so a removal that stopped halfway can simply run again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from mercator.state.aws_retry import Backoff, Retries
from mercator.state.dynamo import (
    BATCH_WRITE_LIMIT,
    PARTITION_KEY,
    SORT_KEY,
    Expression,
    Item,
    Table,
)

_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 2.0


class Purger:
    """Deletes the items of one table that a key condition (and optional filter) selects."""

    def __init__(
        self,
        table: Table,
        *,
        max_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        jitter: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
        self._table = table
        self._retries = Retries(
            max_attempts=max_attempts,
            backoff=Backoff(base=_BACKOFF_BASE, cap=_BACKOFF_CAP, rng=jitter or random.Random()),
            sleep=sleep,
        )

    def partition(self, partition: str, *, sort_prefix: str | None = None) -> int:
        """Delete the items of partition ``partition`` (whose sort key starts with ``sort_prefix``)."""
        expression = Expression()
        condition = f"{expression.name(PARTITION_KEY)} = {expression.value({'S': partition})}"
        if sort_prefix is not None:
            condition += (
                f" AND begins_with({expression.name(SORT_KEY)}, {expression.value({'S': sort_prefix})})"
            )
        return self.selected(expression, condition)

    def selected(
        self, expression: Expression, key_condition: str, *, filter_expression: str | None = None
    ) -> int:
        """Delete every item the query selects; how many deletes were sent."""
        keys = self._keys(expression, key_condition, filter_expression)
        deleted = 0
        batch: list[Item] = []
        for item_key in keys:
            batch.append(item_key)
            if len(batch) == BATCH_WRITE_LIMIT:
                deleted += self._delete(batch)
                batch = []
        if batch:
            deleted += self._delete(batch)
        return deleted

    def _keys(
        self, expression: Expression, key_condition: str, filter_expression: str | None
    ) -> Iterator[Item]:
        projection = f"{expression.name(PARTITION_KEY)}, {expression.name(SORT_KEY)}"
        options: dict[str, Any] = {"ProjectionExpression": projection, "ConsistentRead": True}
        if filter_expression is not None:
            options["FilterExpression"] = filter_expression
        # A query page ends at a key, not at a position, so deleting what earlier pages held skips nothing.
        for item in self._table.query(expression, key_condition, **options):
            yield {PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]}

    def _delete(self, keys: list[Item]) -> int:
        requests: list[Item] = [{"DeleteRequest": {"Key": item_key}} for item_key in keys]
        self._table.batch_write(requests, self._retries, what="deletes", advice="; run the removal again")
        return len(keys)
