"""A tenant's Web Push subscriptions (``POST /api/integrations/save-vapid-subscription``).

One item per browser subscription, under the tenant's partition so no other tenant can read it::

    pk  TENANT#<tenant id>   sk  PUSH#<sha256 of the endpoint>
    endpoint, p256dh, auth   S   as the browser's PushSubscription gave them (base64url keys)
    created_at, updated_at   N   epoch milliseconds

The sort key hashes the endpoint (push service URLs can be long) so that saving the same
subscription twice updates one item.
"""

from __future__ import annotations

import binascii
import builtins
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from mercator.domain.clock import utc_now
from mercator.domain.entities import PushSubscription, decode_key
from mercator.state.dynamo import (
    PARTITION_KEY,
    SORT_KEY,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    key,
    ms,
    read_optional_datetime,
    read_s,
    s,
)

_PREFIX = "PUSH#"
_P256_POINT_BYTES = 65  # an uncompressed P-256 public key: 0x04, x, y
_AUTH_BYTES = 16


class SubscriptionsClient(DynamoDBClient, Protocol):
    """The DynamoDB client calls the subscriptions store makes (DeleteItem besides the shared ones)."""

    def delete_item(self, **request: Any) -> dict[str, Any]: ...


def tenant_partition(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def subscription_sort_key(endpoint: str) -> str:
    return _PREFIX + hashlib.sha256(endpoint.encode()).hexdigest()


class DynamoPushSubscriptions:
    """Push subscriptions of each tenant in the state table."""

    def __init__(
        self, client: SubscriptionsClient, table_name: str, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._client = client
        self._table = Table(client, table_name)
        self._clock = clock

    def add(self, tenant_id: str, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
        """Save a subscription; saving the same endpoint again replaces its keys (one item per endpoint)."""
        subscription = PushSubscription(tenant_id, endpoint.strip(), p256dh.strip(), auth.strip())
        validate(subscription)
        now = ms(self._clock())
        update = (
            Expression()
            .set("endpoint", s(subscription.endpoint))
            .set("p256dh", s(subscription.p256dh))
            .set("auth", s(subscription.auth))
            .set("updated_at", now)
            .set_if_absent("created_at", now)
        )
        stored = self._table.update(
            self._key(tenant_id, subscription.endpoint), update, ReturnValues="ALL_NEW"
        )
        return self._decode(tenant_id, stored.get("Attributes", {}))

    def list(self, tenant_id: str) -> builtins.list[PushSubscription]:
        """The tenant's subscriptions (in no meaningful order)."""
        _tenant(tenant_id)
        expression = Expression()
        condition = (
            f"{expression.name(PARTITION_KEY)} = {expression.value(s(tenant_partition(tenant_id)))} "
            f"AND begins_with({expression.name(SORT_KEY)}, {expression.value(s(_PREFIX))})"
        )
        return [
            self._decode(tenant_id, item)
            for item in self._table.query(expression, condition, ConsistentRead=True)
        ]

    def remove(self, tenant_id: str, endpoint: str) -> bool:
        """Forget a subscription; True when there was one."""
        response = self._table.call(
            "DeleteItem",
            self._client.delete_item,
            TableName=self._table.name,
            Key=self._key(tenant_id, endpoint.strip()),
            ReturnValues="ALL_OLD",
        )
        return bool(response.get("Attributes"))

    def _key(self, tenant_id: str, endpoint: str) -> Item:
        _tenant(tenant_id)
        if not endpoint:
            raise ValueError("a push subscription needs its endpoint")
        return key(tenant_partition(tenant_id), subscription_sort_key(endpoint))

    def _decode(self, tenant_id: str, item: Item) -> PushSubscription:
        try:
            return PushSubscription(
                tenant_id=tenant_id,
                endpoint=read_s(item, "endpoint"),
                p256dh=read_s(item, "p256dh"),
                auth=read_s(item, "auth"),
                created_at=read_optional_datetime(item, "created_at"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise self._table.malformed(item, exc) from exc


def validate(subscription: PushSubscription) -> None:
    """ValueError naming what is wrong with a subscription a browser sent."""
    _tenant(subscription.tenant_id)
    parts = urlsplit(subscription.endpoint)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("a push subscription endpoint must be an https URL of the browser's push service")
    for name, text, size in (
        ("keys.p256dh", subscription.p256dh, _P256_POINT_BYTES),
        ("keys.auth", subscription.auth, _AUTH_BYTES),
    ):
        try:
            value = decode_key(text)
        except (binascii.Error, ValueError):
            raise ValueError(f"{name} is not base64url") from None
        if len(value) != size:
            raise ValueError(f"{name} must decode to {size} bytes, not {len(value)}")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), subscription.public_key())
    except ValueError:
        raise ValueError("keys.p256dh is not a P-256 public key (an uncompressed point)") from None


def _tenant(tenant_id: str) -> None:
    if not tenant_id:
        raise ValueError("a tenant id must not be empty")
