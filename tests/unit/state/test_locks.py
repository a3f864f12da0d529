"""Lease locks in the state table: one live holder, takeover after the lease, release by the owner only."""

from __future__ import annotations

from typing import Any

import pytest

from mercator.state.locks import DynamoLeaseLock, lock_key
from tests.unit.state.conftest import TABLE


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_held_lock_refuses_others_until_released(dynamodb: Any, state_table: str) -> None:
    clock = Clock()
    lock = DynamoLeaseLock(dynamodb, state_table, clock=clock)

    assert lock.acquire("oauth-token#shop-1", "worker-a", 60)
    assert not lock.acquire("oauth-token#shop-1", "worker-b", 60)
    assert lock.holder("oauth-token#shop-1") == "worker-a"
    # Another lock's name is not affected
    assert lock.acquire("oauth-token#shop-2", "worker-b", 60)

    assert lock.release("oauth-token#shop-1", "worker-a")
    assert lock.holder("oauth-token#shop-1") is None
    assert lock.acquire("oauth-token#shop-1", "worker-b", 60)


def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_release_it(
    dynamodb: Any, state_table: str
) -> None:
    clock = Clock()
    lock = DynamoLeaseLock(dynamodb, state_table, clock=clock)
    assert lock.acquire("job", "worker-a", 30)

    clock.now += 29.999
    assert not lock.acquire("job", "worker-b", 30)
    clock.now += 0.001  # exactly at the end of a's lease
    assert lock.acquire("job", "worker-b", 30)

    assert not lock.release("job", "worker-a")
    assert lock.holder("job") == "worker-b"


def test_the_holder_extends_its_own_lease(dynamodb: Any, state_table: str) -> None:
    clock = Clock()
    lock = DynamoLeaseLock(dynamodb, state_table, clock=clock)
    assert lock.acquire("job", "worker-a", 30)
    clock.now += 20
    assert lock.acquire("job", "worker-a", 30)  # now held until +50
    clock.now += 20
    assert not lock.acquire("job", "worker-b", 30)


def test_the_item_expires_through_the_table_ttl(dynamodb: Any, state_table: str) -> None:
    lock = DynamoLeaseLock(dynamodb, state_table, clock=Clock(1_000.0))
    lock.acquire("job", "worker-a", 60)

    item = dynamodb.get_item(TableName=TABLE, Key=lock_key("job"))["Item"]

    # Lease to 1060 s (1060000 ms); the TTL an hour later.
    assert item["expires_at"] == {"N": "1060000"}
    assert item["ttl"] == {"N": str(1060 + 3600)}
    assert item["owner"] == {"S": "worker-a"}


def test_releasing_a_lock_nobody_took_is_no_error(dynamodb: Any, state_table: str) -> None:
    assert not DynamoLeaseLock(dynamodb, state_table).release("never-taken", "worker-a")


@pytest.mark.parametrize(
    ("name", "owner", "lease", "message"),
    [
        ("", "a", 1, "lock name"),
        ("job", "", 1, "lock owner"),
        ("job", "a", 0, "lease_seconds"),
        ("job", "a", 3601, "lease_seconds"),
    ],
)
def test_bad_arguments_are_refused(
    dynamodb: Any, state_table: str, *, name: str, owner: str, lease: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DynamoLeaseLock(dynamodb, state_table).acquire(name, owner, lease)
