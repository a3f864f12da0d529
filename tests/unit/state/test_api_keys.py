"""Tenants' API keys in the state table: issued once in plaintext, stored as hashes, verified, revoked."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mercator.domain.errors import MalformedItemError
from mercator.state.api_keys import ApiKey, ApiKeyNotFoundError, DynamoApiKeys, key_id_of

START = datetime(2025, 3, 1, 8, 30, 15, 250_000, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys(dynamodb: Any, state_table: str, clock: Clock) -> DynamoApiKeys:
    return DynamoApiKeys(dynamodb, state_table, clock=clock)


def stored_items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dynamodb.scan(TableName=table)["Items"]
    return items


def test_a_created_key_is_shaped_as_decided_and_verifies_as_its_tenant(keys: DynamoApiKeys) -> None:
    issued = keys.create("tenant-a")

    match = re.fullmatch(r"mk_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})", issued.key)
    assert match is not None
    assert match[1] == issued.key_id
    # 43 base64url characters carry 32 random bytes
    assert len(base64.urlsafe_b64decode(match[2] + "=")) == 32
    assert (issued.tenant_id, issued.created_at) == ("tenant-a", START)
    assert keys.verify(issued.key) == "tenant-a"
    # The plaintext never shows in the object's repr (logs, tracebacks)
    assert issued.key not in repr(issued)


def test_the_table_holds_the_hash_of_the_secret_never_the_key(
    keys: DynamoApiKeys, dynamodb: Any, state_table: str
) -> None:
    issued = keys.create("tenant-a")
    secret = issued.key.split(".", 1)[1]

    (item,) = stored_items(dynamodb, state_table)
    assert item["pk"] == {"S": f"APIKEY#{issued.key_id}"}
    assert item["sk"] == {"S": "APIKEY"}
    assert item["gsi1pk"] == {"S": "APIKEYS#tenant-a"}
    assert item["tenant_id"] == {"S": "tenant-a"}
    assert item["secret_sha256"] == {"S": hashlib.sha256(secret.encode()).hexdigest()}
    assert item["revoked"] == {"BOOL": False}
    # 2025-03-01T08:30:15.250Z in epoch milliseconds
    assert item["created_at"] == {"N": "1740817815250"}
    dumped = json.dumps(item)
    assert secret not in dumped
    assert issued.key not in dumped


def test_two_keys_of_one_tenant_differ_and_both_verify(keys: DynamoApiKeys) -> None:
    first, second = keys.create("tenant-a"), keys.create("tenant-a")

    assert first.key_id != second.key_id
    assert first.key.split(".")[1] != second.key.split(".")[1]
    assert keys.verify(first.key) == keys.verify(second.key) == "tenant-a"


def test_a_wrong_secret_of_a_real_key_id_is_refused(keys: DynamoApiKeys) -> None:
    issued = keys.create("tenant-a")
    secret = issued.key.split(".", 1)[1]
    other = ("A" if secret[0] != "A" else "B") + secret[1:]  # one character differs

    assert keys.verify(f"mk_{issued.key_id}.{other}") is None
    # Another tenant's secret on this key id does not pass either
    foreign = keys.create("tenant-b")
    assert keys.verify(f"mk_{issued.key_id}.{foreign.key.split('.', 1)[1]}") is None


def test_an_unknown_key_id_is_refused(keys: DynamoApiKeys) -> None:
    issued = keys.create("tenant-a")
    unknown = "0123456789abcdef" if issued.key_id != "0123456789abcdef" else "fedcba9876543210"

    assert keys.verify(f"mk_{unknown}.{issued.key.split('.', 1)[1]}") is None


MALFORMED = [
    "",
    "Bearer mk_0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # the scheme is not the key
    "mk_0123456789abcdef",  # no secret
    "mk_0123456789ABCDEF.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # upper-case id
    "mk_0123456789abcde.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # 15-character id
    "mk_0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # 42-character secret
    "mk_0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # padded base64
    "mk_0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",  # not base64url
    "sk_0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # another prefix
    " mk_0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # surrounding space
]


@pytest.mark.parametrize("presented", MALFORMED)
def test_a_malformed_key_is_refused_without_a_lookup(presented: str, dynamodb: Any, clock: Clock) -> None:
    # A table that does not exist: any lookup would raise, so None means no lookup was made
    keys = DynamoApiKeys(dynamodb, "no-such-table", clock=clock)

    assert keys.verify(presented) is None
    assert key_id_of(presented) is None


def test_a_revoked_key_no_longer_verifies_and_keeps_its_first_revocation_time(
    keys: DynamoApiKeys, clock: Clock
) -> None:
    issued = keys.create("tenant-a")
    kept = keys.create("tenant-a")
    clock.now = START + timedelta(days=2)

    revoked = keys.revoke(issued.key_id)
    clock.now = START + timedelta(days=3)
    again = keys.revoke(issued.key_id)

    expected = ApiKey(
        key_id=issued.key_id,
        tenant_id="tenant-a",
        created_at=START,
        revoked=True,
        revoked_at=START + timedelta(days=2),
    )
    assert revoked == again == expected
    assert keys.verify(issued.key) is None
    assert keys.verify(kept.key) == "tenant-a"


def test_revoking_an_unknown_or_malformed_key_id_says_so(keys: DynamoApiKeys) -> None:
    with pytest.raises(ApiKeyNotFoundError, match="no API key '0123456789abcdef'"):
        keys.revoke("0123456789abcdef")
    with pytest.raises(ValueError, match=r"'mk_0123456789abcdef' is not an API key id"):
        keys.revoke("mk_0123456789abcdef")


def test_a_tenant_lists_its_own_keys_oldest_first_without_secrets(keys: DynamoApiKeys, clock: Clock) -> None:
    first = keys.create("tenant-a")
    clock.now = START + timedelta(hours=1)
    keys.create("tenant-b")
    clock.now = START + timedelta(hours=2)
    second = keys.create("tenant-a")
    clock.now = START + timedelta(hours=3)
    keys.revoke(first.key_id)

    listed = keys.for_tenant("tenant-a")

    assert listed == [
        ApiKey(first.key_id, "tenant-a", START, revoked=True, revoked_at=START + timedelta(hours=3)),
        ApiKey(second.key_id, "tenant-a", START + timedelta(hours=2)),
    ]
    assert keys.for_tenant("tenant-c") == []


@pytest.mark.parametrize("tenant", ["", "-leading-dash", "has space", "a#b", "x" * 65])
def test_a_tenant_id_that_cannot_be_stored_is_refused(
    keys: DynamoApiKeys, tenant: str, dynamodb: Any, state_table: str
) -> None:
    with pytest.raises(ValueError, match="must start with a letter or digit"):
        keys.create(tenant)
    assert stored_items(dynamodb, state_table) == []


@pytest.mark.parametrize(
    "tenant", ["credentials", "oauth-apps", "oauth-state", "vapid", "webhook-keys", "Vapid"]
)
def test_a_tenant_named_like_a_kind_of_secret_is_refused(
    keys: DynamoApiKeys, tenant: str, dynamodb: Any, state_table: str
) -> None:
    # Its webhook signing keys (mercator/<tenant>/webhook-keys/...) would sit among Mercator's own secrets.
    with pytest.raises(ValueError, match="a name Mercator keeps for its own secrets"):
        keys.create(tenant)
    assert stored_items(dynamodb, state_table) == []


def test_a_key_item_without_its_hash_is_reported_as_malformed(
    keys: DynamoApiKeys, dynamodb: Any, state_table: str
) -> None:
    issued = keys.create("tenant-a")
    dynamodb.update_item(
        TableName=state_table,
        Key={"pk": {"S": f"APIKEY#{issued.key_id}"}, "sk": {"S": "APIKEY"}},
        UpdateExpression="REMOVE secret_sha256",
    )

    with pytest.raises(MalformedItemError, match="is not what Mercator stores"):
        keys.verify(issued.key)
