"""The tenant shipments pushTracking writes into each store, in the state table (ShipmentLedger).

One item per tenant shipment and store integration, in the integration's push partition (beside
the catalog push's products, so removing the integration's push state removes both)::

    pk  PUSH#<integration id>   sk  SHIPMENT#<shipment id>
    tenant_id, order_code   S    whose shipment, of which order
    record                  S    the ecommerce:shipments record as the tenant last asked (JSON)
    request_hash            S    its hash
    requested_at            N    epoch milliseconds
    state                   S    queued | creating | pushed | refused
    settled_hash            S    the request the last finished write settled (absent: none yet)
    pushed_hash             S    the request the store's shipment was written from (absent: none)
    creating_key            S    the key of a create whose answer never came (absent: none)
    provider_id             S    the store's id of the shipment (absent: the store gave none)
    ids                     M    other values kept from the store's answers (S values)
    reason                  S    why the last write was refused
    reasons                 S    the store's own reasons (JSON)
    settled_at              N    epoch milliseconds

The API writes the tenant's side, the worker the store's side, each with its own update: neither
overwrites what the other wrote meanwhile.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from mercator.services.push_ports import PushedShipment
from mercator.state.dynamo import (
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
from mercator.state.pushed_products import push_partition

_SHIPMENT = "SHIPMENT#"


def shipment_key(integration_id: str, shipment: str) -> Item:
    return key(push_partition(integration_id), f"{_SHIPMENT}{shipment}")


class DynamoPushedShipments:
    """ShipmentLedger over the state table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._table = Table(client, table_name)

    def get(self, integration_id: str, shipment: str) -> PushedShipment | None:
        item = self._table.get(shipment_key(integration_id, shipment))
        return None if item is None else self._decode(item, integration_id, shipment)

    def save_request(self, entry: PushedShipment) -> None:
        update = Expression()
        update.set("tenant_id", s(entry.tenant_id))
        update.set("order_code", s(entry.order_code))
        update.set("record", s(_json(entry.record)))
        update.set("request_hash", s(entry.request_hash))
        update.set_or_remove("requested_at", optional_ms(entry.requested_at))
        update.set("state", s(entry.state))
        update.set_or_remove("settled_hash", _optional(entry.settled_hash))
        self._table.update(shipment_key(entry.integration_id, entry.shipment), update)

    def save_progress(self, entry: PushedShipment) -> None:
        update = Expression()
        update.set("state", s(entry.state))
        update.set_or_remove("settled_hash", _optional(entry.settled_hash))
        update.set_or_remove("pushed_hash", _optional(entry.pushed_hash))
        update.set_or_remove("creating_key", _optional(entry.creating_key))
        update.set_or_remove("provider_id", _optional(entry.provider_id))
        update.set("ids", {"M": {name: s(value) for name, value in entry.ids.items()}})
        update.set_or_remove("reason", _optional(entry.reason))
        update.set_or_remove("reasons", None if entry.reasons is None else s(_json(entry.reasons)))
        update.set_or_remove("settled_at", None if entry.settled_at is None else ms(entry.settled_at))
        self._table.update(shipment_key(entry.integration_id, entry.shipment), update)

    def _decode(self, item: Item, integration_id: str, shipment: str) -> PushedShipment:
        try:
            reasons = read_optional_s(item, "reasons")
            return PushedShipment(
                integration_id=integration_id,
                shipment=shipment,
                tenant_id=read_s(item, "tenant_id"),
                order_code=read_s(item, "order_code"),
                record=json.loads(read_s(item, "record")),
                request_hash=read_s(item, "request_hash"),
                requested_at=read_optional_datetime(item, "requested_at"),
                state=read_s(item, "state"),
                settled_hash=read_optional_s(item, "settled_hash"),
                pushed_hash=read_optional_s(item, "pushed_hash"),
                creating_key=read_optional_s(item, "creating_key"),
                provider_id=read_optional_s(item, "provider_id"),
                ids={name: value["S"] for name, value in item.get("ids", {}).get("M", {}).items()},
                reason=read_optional_s(item, "reason"),
                reasons=None if reasons is None else json.loads(reasons),
                settled_at=read_optional_datetime(item, "settled_at"),
            )
        except (KeyError, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e


def _optional(value: str | None) -> dict[str, str] | None:
    return None if value is None else s(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
