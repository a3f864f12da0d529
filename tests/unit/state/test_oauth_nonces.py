"""Install-state nonces: recorded once, consumed once, never after they expire."""

from __future__ import annotations

from typing import Any

import pytest

from mercator.state.oauth_nonces import DynamoOAuthNonces, nonce_key
from tests.unit.state.conftest import TABLE

NONCE = "n0nce-of-an-install_1234"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_nonce_is_consumed_once(dynamodb: Any, state_table: str) -> None:
    nonces = DynamoOAuthNonces(dynamodb, state_table, clock=Clock())
    nonces.record(NONCE, 1_700_000_600)

    assert nonces.consume(NONCE)
    assert not nonces.consume(NONCE)


def test_an_expired_or_unknown_nonce_is_not_consumed(dynamodb: Any, state_table: str) -> None:
    clock = Clock()
    nonces = DynamoOAuthNonces(dynamodb, state_table, clock=clock)
    nonces.record(NONCE, 1_700_000_600)

    clock.now = 1_700_000_600  # the moment it expires
    assert not nonces.consume(NONCE)
    assert not nonces.consume("another-nonce-never-handed-out")
    assert not nonces.consume("../not a nonce")


def test_recording_keeps_the_nonce_past_expiry_for_the_ttl(dynamodb: Any, state_table: str) -> None:
    DynamoOAuthNonces(dynamodb, state_table).record(NONCE, 1_700_000_600)
    item = dynamodb.get_item(TableName=TABLE, Key=nonce_key(NONCE))["Item"]
    assert item["ttl"] == {"N": str(1_700_000_600 + 3600)}
    assert item["consumed"] == {"BOOL": False}


def test_a_nonce_cannot_be_recorded_twice_or_malformed(dynamodb: Any, state_table: str) -> None:
    nonces = DynamoOAuthNonces(dynamodb, state_table, clock=Clock())
    nonces.record(NONCE, 1_700_000_600)
    with pytest.raises(ValueError, match="handed out already"):
        nonces.record(NONCE, 1_700_000_900)
    with pytest.raises(ValueError, match="16 to 128"):
        nonces.record("short", 1_700_000_600)
