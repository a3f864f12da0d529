"""What the DynamoDB adapters share: the client protocol, error mapping, expressions, attribute codecs.

Items travel in DynamoDB's low-level JSON (``{"S": ...}``, ``{"N": ...}``). Datetimes are stored as
epoch milliseconds (N) so that condition expressions compare them as numbers; naive datetimes are
taken as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from mercator.domain.errors import (
    ItemTooLargeError,
    MalformedItemError,
    MissingResourceError,
    StateAccessError,
)
from mercator.state.aws_protocols import AwsClient
from mercator.state.aws_retry import Retries

Item = dict[str, Any]

PARTITION_KEY = "pk"
SORT_KEY = "sk"
GSI1 = "gsi1"
GSI1_PARTITION_KEY = "gsi1pk"
GSI1_SORT_KEY = "gsi1sk"
TTL = "ttl"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_CONDITION_FAILED = "ConditionalCheckFailedException"
_NOT_FOUND = "ResourceNotFoundException"
_VALIDATION = "ValidationException"
# DynamoDB says an item is over 400 KB only in the message of a ValidationException (or of a
# transaction's ValidationError reason): "Item size has exceeded the maximum allowed size", and
# "Item size to update has exceeded the maximum allowed size" for an update.
_ITEM_TOO_LARGE = re.compile(r"item size (to update )?has exceeded the maximum allowed size", re.IGNORECASE)


class DynamoDBClient(AwsClient, Protocol):
    """The part of a boto3 DynamoDB low-level client the adapters use."""

    def get_item(self, **request: Any) -> dict[str, Any]: ...

    def put_item(self, **request: Any) -> dict[str, Any]: ...

    def update_item(self, **request: Any) -> dict[str, Any]: ...

    def query(self, **request: Any) -> dict[str, Any]: ...

    def batch_get_item(self, **request: Any) -> dict[str, Any]: ...


class BatchWriter(DynamoDBClient, Protocol):
    """A client that writes in batches (boto3's does; not every stand-in needs to)."""

    def batch_write_item(self, **request: Any) -> dict[str, Any]: ...


BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem, DynamoDB's maximum


class ConditionFailedError(Exception):
    """A conditional write was refused; ``item`` is the stored item when the request asked for it."""

    def __init__(self, item: Item | None) -> None:
        super().__init__("the conditional request failed")
        self.item = item


def error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return code if isinstance(code, str) else None


def item_too_large(message: object) -> bool:
    """Whether DynamoDB's error or cancellation ``message`` says an item is over the 400 KB limit."""
    return isinstance(message, str) and _ITEM_TOO_LARGE.search(message) is not None


def _error_message(error: Exception) -> object:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Message") if isinstance(response, dict) else None


class Table:
    """One DynamoDB table through an injected client: every call maps AWS errors to domain errors."""

    def __init__(self, client: DynamoDBClient, name: str) -> None:
        if not name:
            raise ValueError("a DynamoDB table name must not be empty")
        self.client = client
        self.name = name

    def get(self, key: Item) -> Item | None:
        response = self.call(
            "GetItem", self.client.get_item, TableName=self.name, Key=key, ConsistentRead=True
        )
        item: Item | None = response.get("Item")
        return item

    def put(self, item: Item) -> None:
        self.call("PutItem", self.client.put_item, TableName=self.name, Item=item)

    def update(self, key: Item, update: Expression, condition: str | None = None, **options: Any) -> Item:
        """UpdateItem; ConditionFailedError (with the stored item) when ``condition`` does not hold."""
        request = update.request(condition)
        if condition is not None:
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return self.call(
            "UpdateItem", self.client.update_item, TableName=self.name, Key=key, **request, **options
        )

    def query(
        self, expression: Expression, key_condition: str, *, page_size: int | None = None, **options: Any
    ) -> Iterator[Item]:
        """Every item ``key_condition`` selects, following LastEvaluatedKey page by page."""
        request = expression.request(None, key_condition=key_condition)
        if page_size is not None:
            request["Limit"] = page_size
        start: Item | None = None
        while True:
            page = {"ExclusiveStartKey": start} if start else {}
            response = self.call(
                "Query", self.client.query, TableName=self.name, **request, **options, **page
            )
            yield from response.get("Items", [])
            start = response.get("LastEvaluatedKey")
            if not start:
                return

    def batch_get(self, keys: list[Item], retries: Retries, *, what: str) -> list[Item]:
        """BatchGetItem of at most 100 ``keys`` (consistent), sending again the keys DynamoDB left
        unprocessed, with ``retries``' backoff between; StateAccessError naming ``what`` when some are
        left after the last attempt."""
        items: list[Item] = []
        pending: dict[str, Any] = {self.name: {"Keys": keys, "ConsistentRead": True}}
        for _ in retries:
            response = self.call("BatchGetItem", self.client.batch_get_item, RequestItems=pending)
            items.extend(response.get("Responses", {}).get(self.name, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return items
        left = len(pending.get(self.name, {}).get("Keys", []))
        raise StateAccessError(
            f"BatchGetItem on DynamoDB table {self.name!r} left {left} {what} unprocessed after "
            f"{retries.max_attempts} attempts (the table is throttled)",
            resource=self.name,
            operation="BatchGetItem",
            code="UnprocessedKeys",
        )

    def batch_write(self, requests: list[Item], retries: Retries, *, what: str, advice: str = "") -> None:
        """BatchWriteItem of ``requests`` (PutRequest / DeleteRequest entries), 25 a call, sending
        again what DynamoDB left unprocessed with ``retries``' backoff between; StateAccessError naming
        ``what`` (and ``advice``) when some are left after the last attempt."""
        write = cast(BatchWriter, self.client).batch_write_item
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending = requests[start : start + BATCH_WRITE_LIMIT]
            for _ in retries:
                response = self.call("BatchWriteItem", write, RequestItems={self.name: pending})
                pending = (response.get("UnprocessedItems") or {}).get(self.name, [])
                if not pending:
                    break
            if pending:
                raise StateAccessError(
                    f"BatchWriteItem on DynamoDB table {self.name!r} left {len(pending)} {what} "
                    f"unprocessed after {retries.max_attempts} attempts (the table is throttled){advice}",
                    resource=self.name,
                    operation="BatchWriteItem",
                    code="UnprocessedItems",
                )

    def call(self, operation: str, method: Callable[..., dict[str, Any]], **request: Any) -> dict[str, Any]:
        """``method(**request)``, with AWS errors mapped to domain errors."""
        try:
            return method(**request)
        except self.client.exceptions.ClientError as e:
            raise self.error(operation, e) from e

    def error(self, operation: str, e: Exception) -> Exception:
        """The domain error for an AWS error of ``operation`` on this table."""
        code = error_code(e)
        if code == _CONDITION_FAILED:
            response = getattr(e, "response", {})
            return ConditionFailedError(response.get("Item"))
        if code == _VALIDATION and item_too_large(_error_message(e)):
            return ItemTooLargeError(
                f"{operation} on DynamoDB table {self.name!r} refused an item over the 400 KB limit",
                resource=self.name,
                operation=operation,
                code=code,
            )
        if code == _NOT_FOUND:
            return MissingResourceError(
                f"{operation}: DynamoDB table {self.name!r} does not exist (or is not in this "
                "account and region)",
                resource=self.name,
                operation=operation,
                code=code,
            )
        return StateAccessError(
            f"{operation} on DynamoDB table {self.name!r} failed: {code or 'unknown error'}: {e}",
            resource=self.name,
            operation=operation,
            code=code,
        )

    def malformed(self, item: Item, error: Exception) -> MalformedItemError:
        key = {name: item.get(name) for name in (PARTITION_KEY, SORT_KEY)}
        return MalformedItemError(
            f"an item of table {self.name!r} ({key}) is not what Mercator stores: {error}", table=self.name
        )


class Expression:
    """Builds an update (SET / REMOVE / ADD) and its condition with placeholders for every name and
    value, so attribute names never collide with DynamoDB's reserved words."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._sets: list[str] = []
        self._removes: list[str] = []
        self._adds: list[str] = []
        self._deletes: list[str] = []

    def name(self, attribute: str) -> str:
        for placeholder, known in self.names.items():
            if known == attribute:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Mapping[str, Any]) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = dict(value)
        return placeholder

    def set(self, attribute: str, value: Mapping[str, Any]) -> Expression:
        self._sets.append(f"{self.name(attribute)} = {self.value(value)}")
        return self

    def set_if_absent(self, attribute: str, value: Mapping[str, Any]) -> Expression:
        name = self.name(attribute)
        self._sets.append(f"{name} = if_not_exists({name}, {self.value(value)})")
        return self

    def set_copy(self, attribute: str, source: str, default: Mapping[str, Any]) -> Expression:
        """``attribute`` takes ``source``'s value as it was before this update (``default`` without one)."""
        self._sets.append(
            f"{self.name(attribute)} = if_not_exists({self.name(source)}, {self.value(default)})"
        )
        return self

    def set_or_remove(self, attribute: str, value: Mapping[str, Any] | None) -> Expression:
        if value is None:
            self._removes.append(self.name(attribute))
            return self
        return self.set(attribute, value)

    def remove(self, *attributes: str) -> Expression:
        self._removes.extend(self.name(attribute) for attribute in attributes)
        return self

    def add(self, attribute: str, value: Mapping[str, Any]) -> Expression:
        self._adds.append(f"{self.name(attribute)} {self.value(value)}")
        return self

    def delete(self, attribute: str, value: Mapping[str, Any]) -> Expression:
        """Take the elements of ``value`` (a set) out of the set ``attribute``."""
        self._deletes.append(f"{self.name(attribute)} {self.value(value)}")
        return self

    def request(self, condition: str | None, *, key_condition: str | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {}
        verbs = (
            ("SET", self._sets),
            ("REMOVE", self._removes),
            ("ADD", self._adds),
            ("DELETE", self._deletes),
        )
        clauses = [f"{verb} {', '.join(parts)}" for verb, parts in verbs if parts]
        if clauses:
            request["UpdateExpression"] = " ".join(clauses)
        if condition is not None:
            request["ConditionExpression"] = condition
        if key_condition is not None:
            request["KeyConditionExpression"] = key_condition
        if self.names:
            request["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            request["ExpressionAttributeValues"] = dict(self.values)
        return request


def key(partition: str, sort: str) -> Item:
    return {PARTITION_KEY: {"S": partition}, SORT_KEY: {"S": sort}}


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def boolean(value: bool) -> dict[str, bool]:
    return {"BOOL": value}


def epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Integer arithmetic: a float timestamp could round a millisecond up.
    return (moment - _EPOCH) // _MILLISECOND


def from_epoch_ms(milliseconds: int) -> datetime:
    return _EPOCH + milliseconds * _MILLISECOND


def ms(moment: datetime) -> dict[str, str]:
    return n(epoch_ms(moment))


def optional_ms(moment: datetime | None) -> dict[str, str] | None:
    return None if moment is None else ms(moment)


def read_s(item: Item, attribute: str) -> str:
    value = item[attribute]["S"]
    if not isinstance(value, str):
        raise TypeError(f"attribute {attribute!r} is not a string")
    return value


def read_optional_s(item: Item, attribute: str) -> str | None:
    return read_s(item, attribute) if attribute in item else None


def read_n(item: Item, attribute: str) -> int:
    return int(item[attribute]["N"])


def read_optional_datetime(item: Item, attribute: str) -> datetime | None:
    return from_epoch_ms(read_n(item, attribute)) if attribute in item else None


def read_bool(item: Item, attribute: str, default: bool = False) -> bool:
    if attribute not in item:
        return default
    return bool(item[attribute]["BOOL"])


def newer_condition(
    expression: Expression, content_hash: str, updated_at: datetime | None, *, strict: bool = False
) -> str:
    """When a write of ``content_hash`` and ``updated_at`` may replace the stored item.

    Nothing stored; or a later source updated-at (also over an item stored without one); or the same
    one with another hash. Without an updated-at only the hashes are compared, and a deleted item is
    replaced: with no time to tell versions apart, a listing that shows the record again proves it
    lives. With one, a deletion stands until a newer version arrives.
    """
    absent = f"attribute_not_exists({expression.name(PARTITION_KEY)})"

    def other_hash() -> str:
        # Named only where used: DynamoDB refuses a request carrying a value no expression reads.
        return f"{expression.name('content_hash')} <> {expression.value(s(content_hash))}"

    if updated_at is None:
        deleted = f"{expression.name('deleted')} = {expression.value(boolean(True))}"
        return f"{absent} OR {other_hash()} OR {deleted}"
    stored_at = expression.name("source_updated_at")
    new_at = expression.value(ms(updated_at))
    newer = f"{absent} OR attribute_not_exists({stored_at}) OR {stored_at} < {new_at}"
    # ``strict``: the same version with other content is refused, for the caller to merge it.
    return newer if strict else f"{newer} OR ({stored_at} = {new_at} AND {other_hash()})"
