"""Install-state nonces: recorded once, started in one browser, consumed once from it, never after expiry."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from mercator.domain.oauth_installs import NonceRecord, NonceRefusedError
from mercator.state.oauth_nonces import DynamoOAuthNonces, nonce_key
from tests.unit.state.conftest import TABLE

NONCE = "n0nce-of-an-install_1234"
AUTHORIZE = "https://accounts.example/oauth2/auth?client_id=c&state=s"
MINE = hashlib.sha256(b"session of the browser that started").hexdigest()
THEIRS = hashlib.sha256(b"session of another browser").hexdigest()


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def started(dynamodb: Any, clock: Clock | None = None, **record: Any) -> DynamoOAuthNonces:
    """A store with NONCE recorded and started by the browser whose session hashes to MINE."""
    nonces = DynamoOAuthNonces(dynamodb, TABLE, clock=clock or Clock())
    nonces.record(NONCE, 1_700_000_600, authorize_url=AUTHORIZE, **record)
    assert nonces.bind(NONCE, MINE) == AUTHORIZE
    return nonces


def refusal(call: Any) -> str:
    with pytest.raises(NonceRefusedError) as raised:
        call()
    return raised.value.reason


def test_a_nonce_is_consumed_once_by_the_browser_that_started_it(dynamodb: Any, state_table: str) -> None:
    nonces = started(dynamodb, sealed_verifier="sealed-verifier")

    assert nonces.consume(NONCE, [THEIRS, MINE]) == NonceRecord(AUTHORIZE, "sealed-verifier")
    assert refusal(lambda: nonces.consume(NONCE, [MINE])) == "used"


def test_another_browser_neither_starts_nor_consumes_it(dynamodb: Any, state_table: str) -> None:
    nonces = started(dynamodb)

    assert refusal(lambda: nonces.bind(NONCE, THEIRS)) == "started"
    assert refusal(lambda: nonces.bind(NONCE, MINE)) == "started"
    assert refusal(lambda: nonces.consume(NONCE, [THEIRS])) == "other_session"
    assert refusal(lambda: nonces.consume(NONCE, [])) == "other_session"
    assert refusal(lambda: nonces.consume(NONCE, ["not a hash"])) == "other_session"
    # The refusals left it for its own browser
    assert nonces.consume(NONCE, [MINE]).sealed_verifier is None


def test_a_nonce_no_browser_started_is_not_consumed(dynamodb: Any, state_table: str) -> None:
    nonces = DynamoOAuthNonces(dynamodb, TABLE, clock=Clock())
    nonces.record(NONCE, 1_700_000_600, authorize_url=AUTHORIZE)

    assert refusal(lambda: nonces.consume(NONCE, [MINE])) == "not_started"


def test_an_expired_or_unknown_nonce_is_neither_started_nor_consumed(dynamodb: Any, state_table: str) -> None:
    clock = Clock()
    nonces = started(dynamodb, clock)
    unstarted = "an0ther-nonce-of-an-install"
    nonces.record(unstarted, 1_700_000_600, authorize_url=AUTHORIZE)

    clock.now = 1_700_000_600  # the moment it expires
    assert refusal(lambda: nonces.consume(NONCE, [MINE])) == "expired"
    assert refusal(lambda: nonces.bind(unstarted, MINE)) == "expired"
    assert refusal(lambda: nonces.consume("another-nonce-never-handed-out", [MINE])) == "unknown"
    assert refusal(lambda: nonces.bind("another-nonce-never-handed-out", MINE)) == "unknown"
    assert refusal(lambda: nonces.consume("../not a nonce", [MINE])) == "unknown"


def test_recording_keeps_the_nonce_past_expiry_for_the_ttl(dynamodb: Any, state_table: str) -> None:
    DynamoOAuthNonces(dynamodb, TABLE).record(NONCE, 1_700_000_600, authorize_url=AUTHORIZE)
    item = dynamodb.get_item(TableName=TABLE, Key=nonce_key(NONCE))["Item"]
    assert item["ttl"] == {"N": str(1_700_000_600 + 3600)}
    assert item["consumed"] == {"BOOL": False}
    assert item["authorize_url"] == {"S": AUTHORIZE}
    # No PKCE verifier for this install, and no browser yet
    assert "verifier" not in item and "session_hash" not in item


def test_only_the_sessions_hash_is_stored(dynamodb: Any, state_table: str) -> None:
    started(dynamodb)
    item = dynamodb.get_item(TableName=TABLE, Key=nonce_key(NONCE))["Item"]
    assert item["session_hash"] == {"S": MINE}


def test_a_nonce_cannot_be_recorded_twice_or_malformed(dynamodb: Any, state_table: str) -> None:
    nonces = DynamoOAuthNonces(dynamodb, TABLE, clock=Clock())
    nonces.record(NONCE, 1_700_000_600, authorize_url=AUTHORIZE)
    with pytest.raises(ValueError, match="handed out already"):
        nonces.record(NONCE, 1_700_000_900, authorize_url=AUTHORIZE)
    with pytest.raises(ValueError, match="16 to 128"):
        nonces.record("short", 1_700_000_600, authorize_url=AUTHORIZE)
    with pytest.raises(ValueError, match="consent address"):
        nonces.record("an0ther-nonce-of-an-install", 1_700_000_600, authorize_url="")
    with pytest.raises(ValueError, match="SHA-256"):
        nonces.bind(NONCE, "the session itself, not its hash")
