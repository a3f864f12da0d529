"""DynamoDB transactions on moto at the cost of the items they touch, not of the tables they touch.

moto backs up every table a TransactWriteItems names (a deep copy of the whole table) in case it has
to roll back. With thousands of records that makes each webhook delivery (one transaction) take
hundreds of milliseconds and, with the copies kept alive until the collector gets to them,
gigabytes. DynamoDB evaluates every condition of a transaction against the state before it, then
applies all writes or none; this does the same: conditions first, writes only when all hold, and a
copy of just the touched items in case applying one fails.

Installed by the local stack (``install()`` is idempotent); in-process tests may install it too.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend

_OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})
_installed = False


def install() -> None:
    """Replace moto's TransactWriteItems with the item-level one (once per process)."""
    global _installed  # noqa: PLW0603 - a process-wide patch, applied once
    if not _installed:
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
        _installed = True


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    steps = [_step(self, item) for item in transact_items]
    seen: set[tuple[str, str]] = set()
    for table_name, key, _, _ in steps:
        marker = (table_name, str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for table_name, key, _, op in steps:
        errors.append(_check(self, table_name, key, op))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    backup = [
        (table_name, key, copy.deepcopy(self.get_item(table_name, key))) for table_name, key, _, _ in steps
    ]
    try:
        for table_name, key, op_type, op in steps:
            _apply(self, table_name, key, op_type, op)
    except Exception:
        for table_name, key, before in backup:
            table = self.get_table(table_name)
            if before is None:
                self.delete_item(table_name, key)
            else:
                table.put_item(before.to_json()["Attributes"])
        raise


def _step(backend: DynamoDBBackend, item: dict[str, Any]) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    if len(item) != 1:
        raise TransactWriteSingleOpException
    op_type, op = next(iter(item.items()))
    if op_type not in _OPERATIONS:
        raise MockValidationException(f"Unsupported transaction operation {op_type}")
    table_name = op["TableName"]
    if op_type == "Put":
        table = backend.get_table(table_name)
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
    else:
        key = op["Key"]
    return table_name, key, op_type, op


def _check(
    backend: DynamoDBBackend, table_name: str, key: dict[str, Any], op: dict[str, Any]
) -> tuple[str | None, str | None, dict[str, Any] | None]:
    expression = op.get("ConditionExpression")
    if expression is None:
        return None, None, None
    current = backend.get_item(table_name, key)
    condition = get_filter_expression(
        expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if condition.expr(current):
        return None, None, None
    old = None
    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
        old = current.to_json()["Attributes"]
    return "ConditionalCheckFailed", "The conditional request failed", old


def _apply(
    backend: DynamoDBBackend, table_name: str, key: dict[str, Any], op_type: str, op: dict[str, Any]
) -> None:
    # The condition held a moment ago under the same lock-free single-threaded backend; passing it
    # again keeps moto's check that every expression value is used.
    expressions: dict[str, Any] = {
        "condition_expression": op.get("ConditionExpression"),
        "expression_attribute_names": op.get("ExpressionAttributeNames"),
        "expression_attribute_values": op.get("ExpressionAttributeValues"),
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **expressions)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **expressions)
    elif op_type == "Update":
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **expressions)
