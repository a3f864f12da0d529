"""The delivery ledger: each webhook delivery counts once, claimed in the same transaction as its write.

One item per delivery, in the state table, expiring with the table's TTL::

    pk  DELIVERY#<integration_id>   sk  KEY#<dedupe key>
    event, outcome        S
    received_at           N   epoch milliseconds
    announcements         S   JSON list of {queue, body}: what the delivery sent on
    ttl                   N   epoch seconds; DynamoDB removes the item after it

``commit`` puts the claim, the record write and its tracking entry in one TransactWriteItems: a
retried or concurrent copy of a delivery finds the claim and writes nothing, and a delivery whose
record is refused (stale or unchanged) claims nothing, so the caller learns why and claims it alone.
That is one DynamoDB call on the hot path where a separate claim, write and tracking update would be
three. A record (or its claim, which holds the record's change event) over DynamoDB's 400 KB item limit
raises ItemTooLargeError, whether DynamoDB refuses the request or cancels the transaction for it:
nothing was written, and writing it again would never succeed.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mercator.domain.deliveries import Announcement, CommitResult, DeliveryClaim, ReadVersion, RecordChange
from mercator.domain.entities import TrackedId
from mercator.domain.errors import ItemTooLargeError, StateAccessError
from mercator.state.aws_retry import Backoff, Retries
from mercator.state.dynamo import (
    PARTITION_KEY,
    TTL,
    ConditionFailedError,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    error_code,
    from_epoch_ms,
    item_too_large,
    key,
    ms,
    n,
    read_n,
    read_s,
    s,
)
from mercator.state.purge import Purger
from mercator.state.record_store import record_deletion, record_upsert
from mercator.state.tracking import tracking_update

_CANCELLED = "TransactionCanceledException"
_CONDITION_FAILED = "ConditionalCheckFailed"
_CONFLICT = "TransactionConflict"
_VALIDATION = "ValidationError"
_BACKOFF_BASE = 0.02
_BACKOFF_CAP = 0.5


def delivery_partition(integration_id: str) -> str:
    return f"DELIVERY#{integration_id}"


def delivery_key(integration_id: str, dedupe_key: str) -> Item:
    return key(delivery_partition(integration_id), f"KEY#{dedupe_key}")


class DynamoDeliveryLedger:
    """DeliveryLedger over the state table and the records table.

    ``retention`` is how long a claim is kept: longer than any provider retries a delivery (Shopify
    for 48 hours, BigCommerce 24). Concurrent transactions on the same items are refused by DynamoDB
    as conflicts; those are tried again up to ``max_attempts`` times, after which the copy that won
    has claimed the delivery and the next attempt finds it.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        state_table: str,
        records_table: str,
        *,
        retention: timedelta = timedelta(days=3),
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        jitter: random.Random | None = None,
    ) -> None:
        self._state = Table(client, state_table)
        self._records = Table(client, records_table)
        self._retention = retention
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._jitter = jitter or random.Random()
        self._retries = Retries(
            max_attempts=max_attempts,
            backoff=Backoff(base=_BACKOFF_BASE, cap=_BACKOFF_CAP, rng=self._jitter),
            sleep=sleep,
        )

    def commit(self, claim: DeliveryClaim, change: RecordChange) -> CommitResult:
        items = [self._claim_item(claim), self._record_item(change, claim.received_at)]
        items.append(self._tracking_item(change, claim.received_at))
        for _ in self._retries:
            reasons = self._transact(items)
            if reasons is None:
                return CommitResult("committed")
            codes = [reason.get("Code") for reason in reasons]
            if any(_too_large(reason) for reason in reasons):
                raise ItemTooLargeError(
                    f"TransactWriteItems for delivery {claim.dedupe_key!r} of integration "
                    f"{claim.integration_id!r} was cancelled: an item is over the 400 KB limit",
                    resource=self._records.name,
                    operation="TransactWriteItems",
                    code=_VALIDATION,
                )
            if codes[0] == _CONDITION_FAILED:
                return CommitResult("duplicate", _decode_claim(reasons[0].get("Item")))
            if codes[1] == _CONDITION_FAILED:
                return _refusal(change, reasons[1].get("Item"))
            if len(codes) > 2 and codes[2] == _CONDITION_FAILED:
                # Tracking already holds this version or a newer one while the record does not: the
                # record is what users read, so it is written and the tracking entry left as it is.
                items = items[:2]
                continue
            if _CONFLICT not in codes:
                raise StateAccessError(
                    f"TransactWriteItems for delivery {claim.dedupe_key!r} of integration "
                    f"{claim.integration_id!r} was cancelled: {', '.join(str(code) for code in codes)}",
                    resource=self._state.name,
                    operation="TransactWriteItems",
                    code=_CANCELLED,
                )
        raise StateAccessError(
            f"TransactWriteItems for delivery {claim.dedupe_key!r} of integration {claim.integration_id!r} "
            f"kept conflicting with concurrent writes after {self._max_attempts} attempts",
            resource=self._state.name,
            operation="TransactWriteItems",
            code=_CONFLICT,
        )

    def claim(self, claim: DeliveryClaim) -> DeliveryClaim | None:
        """Claim a delivery that writes no record; the earlier claim when it was claimed before."""
        item = self._claim_item(claim)["Put"]
        try:
            self._state.call(
                "PutItem",
                self._state.client.put_item,
                TableName=item["TableName"],
                Item=item["Item"],
                ConditionExpression=item["ConditionExpression"],
                ExpressionAttributeNames=item["ExpressionAttributeNames"],
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailedError as refused:
            return _decode_claim(refused.item)
        return None

    def get(self, integration_id: str, dedupe_key: str) -> DeliveryClaim | None:
        item = self._state.get(delivery_key(integration_id, dedupe_key))
        return None if item is None else _decode_claim(item)

    def delete_for_integration(self, integration_id: str) -> int:
        """Forget every delivery claimed for the integration; how many claims were deleted."""
        return Purger(self._state, sleep=self._sleep, jitter=self._jitter).partition(
            delivery_partition(integration_id)
        )

    def _transact(self, items: list[Item]) -> list[dict[str, Any]] | None:
        """None when the transaction committed, else DynamoDB's cancellation reasons (one per item)."""
        client: Any = self._state.client
        try:
            client.transact_write_items(TransactItems=items)
        except client.exceptions.ClientError as e:
            if error_code(e) != _CANCELLED:
                raise self._state.error("TransactWriteItems", e) from e
            reasons: list[dict[str, Any]] = getattr(e, "response", {}).get("CancellationReasons", [])
            return reasons or [{"Code": "Unknown"}] * len(items)
        return None

    def _claim_item(self, claim: DeliveryClaim) -> Item:
        expires = claim.received_at + self._retention
        announcements = [{"queue": a.queue, "body": a.body} for a in claim.announcements]
        return {
            "Put": {
                "TableName": self._state.name,
                "Item": {
                    **delivery_key(claim.integration_id, claim.dedupe_key),
                    "event": s(claim.event),
                    "outcome": s(claim.outcome),
                    "received_at": ms(claim.received_at),
                    "announcements": s(json.dumps(announcements, separators=(",", ":"))),
                    TTL: n(int(expires.timestamp())),
                },
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _record_item(self, change: RecordChange, at: datetime) -> Item:
        if change.deleted:
            item_key, update, condition = record_deletion(
                tenant_id=change.tenant_id,
                content_type=change.content_type,
                code=change.code,
                tombstone=change.record,
                content_hash=change.content_hash,
                deleted_at=change.source_updated_at or at,
                integration_id=change.integration_id,
            )
        else:
            # Strictly newer: the same version with other content is for the caller to merge.
            item_key, update, condition = record_upsert(
                tenant_id=change.tenant_id,
                content_type=change.content_type,
                code=change.code,
                record=change.record,
                content_hash=change.content_hash,
                source_updated_at=change.source_updated_at,
                integration_id=change.integration_id,
                written_at=at,
                strict=True,
                guard=change.guard,
            )
        return _update(self._records.name, item_key, update, condition)

    def _tracking_item(self, change: RecordChange, at: datetime) -> Item:
        tracked = TrackedId(
            integration_id=change.integration_id,
            resource=change.resource,
            external_id=change.code,
            content_hash=change.content_hash,
            source_updated_at=change.source_updated_at or (at if change.deleted else None),
            first_seen_via="webhook",
            last_seen_via="webhook",
            deleted=change.deleted,
        )
        item_key, update, condition = tracking_update(tracked)
        return _update(self._state.name, item_key, update, condition)


def _too_large(reason: dict[str, Any]) -> bool:
    return reason.get("Code") == _VALIDATION and item_too_large(reason.get("Message"))


def _update(table: str, item_key: Item, update: Expression, condition: str | None) -> Item:
    request = {"TableName": table, "Key": item_key, **update.request(condition)}
    if condition is not None:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"Update": request}


def _refusal(change: RecordChange, stored: Item | None) -> CommitResult:
    deleted = bool(stored and stored.get("deleted", {}).get("BOOL"))
    if change.deleted:
        # A deletion refused: the record is deleted already, or a newer version was stored since.
        return CommitResult("unchanged" if deleted else "stale")
    if stored is None or deleted:
        return CommitResult("stale")
    if stored.get("content_hash") == s(change.content_hash):
        return CommitResult("unchanged")
    same_time = change.source_updated_at is not None and stored.get("source_updated_at") == ms(
        change.source_updated_at
    )
    if same_time and "record" in stored:
        return CommitResult("same_version", stored=json.loads(read_s(stored, "record")))
    if change.guard is not None and not _newer_stored(change, stored) and _moved(change.guard, stored):
        return CommitResult("moved")
    return CommitResult("stale")


def _newer_stored(change: RecordChange, stored: Item) -> bool:
    """Whether the stored version is at least as new as the change (which is then stale)."""
    stored_at = stored.get("source_updated_at", {}).get("N")
    if stored_at is None or change.source_updated_at is None:
        return False
    return int(stored_at) >= int(ms(change.source_updated_at)["N"])


def _moved(guard: ReadVersion, stored: Item) -> bool:
    found: str | None = stored.get("content_hash", {}).get("S")
    return found != guard.content_hash


def _decode_claim(item: Item | None) -> DeliveryClaim | None:
    if not item:
        return None
    sort_key = read_s(item, "sk")
    announcements = json.loads(read_s(item, "announcements")) if "announcements" in item else []
    return DeliveryClaim(
        integration_id=read_s(item, "pk").removeprefix("DELIVERY#"),
        dedupe_key=sort_key.removeprefix("KEY#"),
        event=read_s(item, "event"),
        received_at=from_epoch_ms(read_n(item, "received_at")),
        outcome=read_s(item, "outcome"),
        announcements=tuple(Announcement(a["queue"], a["body"]) for a in announcements),
    )
