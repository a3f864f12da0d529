"""Push subscriptions in the state table: one per endpoint, per tenant, validated as browsers send them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mercator.state.subscriptions import DynamoPushSubscriptions
from tests.unit.state.conftest import REGION

ENDPOINT = "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH"
OTHER = "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_keys(seed: int) -> tuple[str, str]:
    """A browser's p256dh (uncompressed P-256 point) and a 16-byte auth secret."""
    key = ec.derive_private_key(10_000 + seed, ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point), b64url(bytes([seed]) * 16)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(table: str, clock: Clock) -> DynamoPushSubscriptions:
    return DynamoPushSubscriptions(boto3.client("dynamodb", region_name=REGION), table, clock=clock)


def test_a_saved_subscription_is_listed_with_its_keys(store: DynamoPushSubscriptions, clock: Clock) -> None:
    p256dh, auth = browser_keys(1)

    store.add("tenant-a", ENDPOINT, p256dh, auth)

    (saved,) = store.list("tenant-a")
    assert (saved.tenant_id, saved.endpoint, saved.p256dh, saved.auth) == ("tenant-a", ENDPOINT, p256dh, auth)
    assert saved.created_at == clock.now
    assert len(saved.public_key()) == 65
    assert saved.auth_secret() == bytes([1]) * 16


def test_saving_the_same_endpoint_again_replaces_its_keys(
    store: DynamoPushSubscriptions, clock: Clock, table: str
) -> None:
    first = browser_keys(1)
    second = browser_keys(2)
    store.add("tenant-a", ENDPOINT, *first)
    created = clock.now
    clock.now += timedelta(days=3)

    store.add("tenant-a", ENDPOINT, *second)
    store.add("tenant-a", OTHER, *first)

    listed = {s.endpoint: s for s in store.list("tenant-a")}
    assert set(listed) == {ENDPOINT, OTHER}
    assert (listed[ENDPOINT].p256dh, listed[ENDPOINT].auth) == second
    assert listed[ENDPOINT].created_at == created  # the first save is kept
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=table)["Items"]
    assert len([item for item in items if item["sk"]["S"].startswith("PUSH#")]) == 2


def test_tenants_never_see_or_remove_each_others_subscriptions(store: DynamoPushSubscriptions) -> None:
    store.add("tenant-a", ENDPOINT, *browser_keys(1))

    assert store.list("tenant-b") == []
    assert store.remove("tenant-b", ENDPOINT) is False
    assert [s.endpoint for s in store.list("tenant-a")] == [ENDPOINT]


def test_removing_forgets_only_that_endpoint(store: DynamoPushSubscriptions) -> None:
    store.add("tenant-a", ENDPOINT, *browser_keys(1))
    store.add("tenant-a", OTHER, *browser_keys(2))

    assert store.remove("tenant-a", ENDPOINT) is True
    assert store.remove("tenant-a", ENDPOINT) is False
    assert [s.endpoint for s in store.list("tenant-a")] == [OTHER]


@pytest.mark.parametrize(
    ("endpoint", "p256dh", "auth", "message"),
    [
        ("http://push.example.net/x", None, None, "must be an https URL"),
        ("not a url", None, None, "must be an https URL"),
        (ENDPOINT, "@@@", None, "keys.p256dh is not base64url"),
        (ENDPOINT, b64url(b"\x04" + bytes(10)), None, "keys.p256dh must decode to 65 bytes, not 11"),
        (ENDPOINT, b64url(b"\x04" + bytes(64)), None, "keys.p256dh is not a P-256 public key"),
        (ENDPOINT, None, b64url(bytes(15)), "keys.auth must decode to 16 bytes, not 15"),
    ],
)
def test_invalid_subscriptions_are_refused_naming_the_field(
    store: DynamoPushSubscriptions, endpoint: str, p256dh: str | None, auth: str | None, message: str
) -> None:
    good_p256dh, good_auth = browser_keys(1)
    with pytest.raises(ValueError, match=message):
        store.add("tenant-a", endpoint, p256dh or good_p256dh, auth or good_auth)
    assert store.list("tenant-a") == []


def test_a_tenant_is_required(store: DynamoPushSubscriptions) -> None:
    with pytest.raises(ValueError, match="tenant id must not be empty"):
        store.list("")


def test_an_item_not_written_by_mercator_is_reported(store: DynamoPushSubscriptions, table: str) -> None:
    client: Any = boto3.client("dynamodb", region_name=REGION)
    client.put_item(
        TableName=table, Item={"pk": {"S": "TENANT#tenant-a"}, "sk": {"S": "PUSH#x"}, "endpoint": {"S": "e"}}
    )
    with pytest.raises(Exception, match="is not what Mercator stores"):
        store.list("tenant-a")
