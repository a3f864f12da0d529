"""Mapped records in the records table, keyed by tenant, content type and code.

One item per record::

    pk  TENANT#<tenant>#TYPE#<content_type>   sk  CODE#<code>
    tenant_id, content_type, code, integration_id, content_hash   S
    record              S   the mapped record as JSON
    fields              S   JSON of the record's plain top-level fields (mercator.domain.changes)
    prior_fields        S   ``fields`` of the version this one replaced ("null": none was stored)
    source_updated_at   N   epoch milliseconds; absent when the source gives none
    version             N   1 on creation, plus 1 on every write
    deleted             BOOL
    written_at          N   epoch milliseconds of the last write

The record is a JSON string rather than a DynamoDB map: it comes back exactly as written (DynamoDB
normalises numbers, so a map would return a price of 100.0 as 100, and floats must be converted to
Decimal on the way in), it is not limited to 32 levels of nesting, and nothing queries inside it.

``prior_fields`` is copied from ``fields`` by the write itself, so a write that lands tells what it
replaced (its ALL_OLD answer), and a retry of a write that landed before its change was announced
still finds what that write replaced: a transition (a status that moved) is announced with its old
value whichever attempt announces it. Plain fields only, so the item does not double in size.

A write follows the same rule as tracking (``dynamo.newer_condition``): it lands only when the
source updated-at is newer, or equal with another content hash.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from mercator.domain.changes import plain_fields
from mercator.domain.clock import utc_now
from mercator.domain.deliveries import ReadVersion
from mercator.domain.entities import RecordWriteResult, StoredRecord, WriteOutcome
from mercator.state.dynamo import (
    PARTITION_KEY,
    SORT_KEY,
    ConditionFailedError,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    boolean,
    key,
    ms,
    newer_condition,
    optional_ms,
    read_bool,
    read_n,
    read_optional_datetime,
    read_s,
    s,
)
from mercator.state.purge import Purger


def type_partition(tenant_id: str, content_type: str) -> str:
    return f"TENANT#{tenant_id}#TYPE#{content_type}"


def record_key(tenant_id: str, content_type: str, code: str) -> Item:
    return key(type_partition(tenant_id, content_type), f"CODE#{code}")


def record_upsert(
    *,
    tenant_id: str,
    content_type: str,
    code: str,
    record: Mapping[str, Any],
    content_hash: str,
    source_updated_at: datetime | None,
    integration_id: str,
    written_at: datetime,
    strict: bool = False,
    new_version: bool = True,
    guard: ReadVersion | None = None,
) -> tuple[Item, Expression, str]:
    """The key, update and condition of a newer-only record write (alone, or in a transaction).

    ``strict`` refuses the same source version with other content (for the caller to merge it);
    ``new_version`` False stores such a merge without counting a version: the source did not change;
    ``guard`` lands it only over the version the caller read (its changes were worked out from it).
    """
    update = _identified(tenant_id, content_type, code, integration_id)
    update.set("record", s(record_json(record, content_type, code)))
    # The copy reads ``fields`` as stored before this update (DynamoDB evaluates every operand first).
    update.set_copy("prior_fields", "fields", s("null"))
    update.set("fields", s(record_json(plain_fields(record), content_type, code)))
    update.set("content_hash", s(content_hash))
    update.set_or_remove("source_updated_at", optional_ms(source_updated_at))
    update.set("deleted", boolean(False))
    update.set("written_at", ms(written_at))
    update.add("version", {"N": "1" if new_version else "0"})
    condition = newer_condition(update, content_hash, source_updated_at, strict=strict)
    if guard is not None:
        # Only over the version the caller read: a write that raced in between is not passed over.
        absent = f"attribute_not_exists({update.name(PARTITION_KEY)})"
        read = (
            absent
            if guard.content_hash is None
            else f"{update.name('content_hash')} = {update.value(s(guard.content_hash))}"
        )
        condition = f"({condition}) AND ({read})"
    return record_key(tenant_id, content_type, code), update, condition


def record_deletion(
    *,
    tenant_id: str,
    content_type: str,
    code: str,
    tombstone: Mapping[str, Any],
    content_hash: str,
    deleted_at: datetime,
    integration_id: str,
) -> tuple[Item, Expression, str]:
    """Mark a record deleted, keeping its last content; a tombstone when nothing was stored.

    ``deleted_at`` becomes the source updated-at, so a delivery of an older version arriving after
    the deletion is refused as stale instead of bringing the record back.
    """
    update = _identified(tenant_id, content_type, code, integration_id)
    update.set_if_absent("record", s(record_json(tombstone, content_type, code)))
    update.set_if_absent("content_hash", s(content_hash))
    update.set("source_updated_at", ms(deleted_at))
    update.set("deleted", boolean(True))
    update.set("written_at", ms(deleted_at))
    update.add("version", {"N": "1"})
    absent = f"attribute_not_exists({update.name(PARTITION_KEY)})"
    stored_at = update.name("source_updated_at")
    live = f"{update.name('deleted')} <> {update.value(boolean(True))}"
    condition = (
        f"{absent} OR ({live} AND (attribute_not_exists({stored_at}) "
        f"OR {stored_at} <= {update.value(ms(deleted_at))}))"
    )
    return record_key(tenant_id, content_type, code), update, condition


def _identified(tenant_id: str, content_type: str, code: str, integration_id: str) -> Expression:
    """An update that sets what identifies a record, whatever else it writes."""
    update = Expression()
    update.set("tenant_id", s(tenant_id)).set("content_type", s(content_type)).set("code", s(code))
    return update.set("integration_id", s(integration_id))


def record_json(record: Mapping[str, Any], content_type: str, code: str) -> str:
    try:
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{content_type} record {code!r} is not plain JSON: {e}") from e


def fields_of(item: Item, attribute: str) -> dict[str, Any] | None:
    """The plain fields kept in ``attribute`` (None when it says none were stored, or is absent)."""
    found = item.get(attribute, {}).get("S")
    value = json.loads(found) if isinstance(found, str) else None
    return value if isinstance(value, dict) else None


def replaced_fields(old: Item) -> dict[str, Any] | None:
    """The plain fields of the version an update replaced, from its ALL_OLD answer (an item written
    before ``fields`` was kept: read from its record)."""
    if not old or old.get("deleted", {}).get("BOOL") is True:
        return None
    kept = fields_of(old, "fields")
    if kept is not None:
        return kept
    return plain_fields(json.loads(old["record"]["S"])) if "record" in old else None


def refusal(stored: Item | None, content_hash: str, source_updated_at: datetime | None) -> WriteOutcome:
    """Why a newer-only write was refused, from the stored item the refusal returned."""
    if stored is not None and stored.get("content_hash") == s(content_hash):
        return WriteOutcome.UNCHANGED
    if stored is None or stored.get("deleted", {}).get("BOOL") is True or source_updated_at is None:
        return WriteOutcome.STALE
    if stored.get("source_updated_at") == ms(source_updated_at):
        return WriteOutcome.SAME_VERSION
    return WriteOutcome.STALE


class DynamoRecords:
    """RecordRepository over the records table; ``clock`` stamps ``written_at``."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._table = Table(client, table_name)
        self._clock = clock

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
        item_key, update, condition = record_upsert(
            tenant_id=tenant_id,
            content_type=content_type,
            code=code,
            record=record,
            content_hash=content_hash,
            source_updated_at=source_updated_at,
            integration_id=integration_id,
            written_at=self._clock(),
            new_version=new_version,
            strict=strict,
        )
        try:
            response = self._table.update(item_key, update, condition, ReturnValues="ALL_OLD")
        except ConditionFailedError as refused:
            outcome = refusal(refused.item, content_hash, source_updated_at)
            if outcome is WriteOutcome.UNCHANGED and refused.item:
                return RecordWriteResult(outcome, fields_of(refused.item, "prior_fields"))
            return RecordWriteResult(outcome)
        # ALL_OLD holds the item as it was: nothing when nothing existed.
        old = response.get("Attributes")
        if not old:
            return RecordWriteResult(WriteOutcome.CREATED)
        return RecordWriteResult(WriteOutcome.UPDATED, replaced_fields(old))

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
        """Mark a record deleted, keeping its last content; the outcome and that content.

        ``content_hash`` is stored only when nothing was (a tombstone of the code alone).

        UPDATED: marked now; UNCHANGED: it was deleted already; STALE: a version newer than
        ``deleted_at`` is stored, and stays.
        """
        tombstone = {"code": code}
        item_key, update, condition = record_deletion(
            tenant_id=tenant_id,
            content_type=content_type,
            code=code,
            tombstone=tombstone,
            content_hash=content_hash,
            deleted_at=deleted_at,
            integration_id=integration_id,
        )
        try:
            response = self._table.update(item_key, update, condition, ReturnValues="ALL_NEW")
        except ConditionFailedError as refused:
            stored = refused.item or {}
            kept = json.loads(stored["record"]["S"]) if "record" in stored else tombstone
            gone = stored.get("deleted", {}).get("BOOL") is True
            return (WriteOutcome.UNCHANGED if gone else WriteOutcome.STALE), kept
        return WriteOutcome.UPDATED, json.loads(response["Attributes"]["record"]["S"])

    def get(self, tenant_id: str, content_type: str, code: str) -> StoredRecord | None:
        item = self._table.get(record_key(tenant_id, content_type, code))
        return None if item is None else self._decode(item)

    def scan_type(
        self, tenant_id: str, content_type: str, *, page_size: int | None = None
    ) -> Iterator[StoredRecord]:
        """Every record of one tenant's content type, in code order (as text)."""
        expression = Expression()
        partition = expression.value(s(type_partition(tenant_id, content_type)))
        condition = f"{expression.name(PARTITION_KEY)} = {partition}"
        for item in self._table.query(expression, condition, page_size=page_size, ConsistentRead=True):
            yield self._decode(item)

    def written_by(
        self, tenant_id: str, content_type: str, integration_id: str, *, after: str | None, limit: int
    ) -> list[StoredRecord]:
        """Up to ``limit`` records of the content type that ``integration_id`` wrote last, in code order
        (as text), from the code after ``after`` (deleted ones too: a tombstone is news to a reader)."""
        expression = Expression()
        partition = expression.value(s(type_partition(tenant_id, content_type)))
        condition = f"{expression.name(PARTITION_KEY)} = {partition}"
        if after is not None:
            condition += f" AND {expression.name(SORT_KEY)} > {expression.value(s(f'CODE#{after}'))}"
        written = f"{expression.name('integration_id')} = {expression.value(s(integration_id))}"
        found: list[StoredRecord] = []
        for item in self._table.query(
            expression, condition, page_size=limit, ConsistentRead=True, FilterExpression=written
        ):
            found.append(self._decode(item))
            if len(found) >= limit:
                break
        return found

    def delete_for_integration(
        self, tenant_id: str, content_types: Iterable[str], integration_id: str
    ) -> int:
        """Delete the tenant's records of ``content_types`` last written by the integration; how many.

        A record another integration of the tenant wrote last is that integration's, and stays.
        """
        purger = Purger(self._table)
        deleted = 0
        for content_type in dict.fromkeys(content_types):
            expression = Expression()
            partition = expression.value(s(type_partition(tenant_id, content_type)))
            condition = f"{expression.name(PARTITION_KEY)} = {partition}"
            written_by = f"{expression.name('integration_id')} = {expression.value(s(integration_id))}"
            deleted += purger.selected(expression, condition, filter_expression=written_by)
        return deleted

    def _decode(self, item: Item) -> StoredRecord:
        try:
            return StoredRecord.model_validate(
                {
                    "tenant_id": read_s(item, "tenant_id"),
                    "content_type": read_s(item, "content_type"),
                    "code": read_s(item, "code"),
                    "record": json.loads(read_s(item, "record")),
                    "content_hash": read_s(item, "content_hash"),
                    "source_updated_at": read_optional_datetime(item, "source_updated_at"),
                    "integration_id": read_s(item, "integration_id"),
                    "version": read_n(item, "version"),
                    "deleted": read_bool(item, "deleted"),
                }
            )
        except (KeyError, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e
