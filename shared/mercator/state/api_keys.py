"""Tenants' API keys for the Integrations API, kept as hashes in the state table.

A key reads ``mk_<key id>.<secret>``: the key id is 16 hex characters, the secret 32 random bytes in
base64url without padding (43 characters). The plaintext exists once, when the key is created; the
table keeps the SHA-256 of the secret's text, so a leaked table holds nothing a caller can present.

One item per key::

    pk  APIKEY#<key id>   sk  APIKEY
    gsi1pk  APIKEYS#<tenant id>   gsi1sk  <key id>      (a tenant's keys, for listing)
    tenant_id, secret_sha256   S   the hash in lower-case hex
    created_at                 N   epoch milliseconds
    revoked                    BOOL
    revoked_at                 N   epoch milliseconds, once revoked

Key ids are not secret (they are listed and logged, like an access key id); only the secret is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mercator.domain.errors import StateError
from mercator.domain.secret_names import is_reserved_tenant
from mercator.state.dynamo import (
    GSI1,
    GSI1_PARTITION_KEY,
    GSI1_SORT_KEY,
    PARTITION_KEY,
    ConditionFailedError,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    boolean,
    from_epoch_ms,
    key,
    ms,
    read_bool,
    read_n,
    read_optional_datetime,
    read_s,
    s,
)

KEY_PREFIX = "mk_"
SORT = "APIKEY"
_KEY = re.compile(r"mk_(?P<key_id>[0-9a-f]{16})\.(?P<secret>[A-Za-z0-9_-]{43})")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
# The rule tenants follow wherever Mercator stores them (mercator.services.registration.NAME_PATTERN):
# they become parts of key strings and of secret names.
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+=-]{0,63}$")
_ID_ATTEMPTS = 3  # a fresh 64-bit key id colliding even once is already improbable


class ApiKeyNotFoundError(StateError):
    """No API key has this id."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"no API key {key_id!r}")
        self.key_id = key_id


@dataclass(frozen=True)
class ApiKey:
    """What is known about a key without its secret."""

    key_id: str
    tenant_id: str
    created_at: datetime
    revoked: bool = False
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: ``key`` is the plaintext to hand to the tenant, shown this once."""

    key_id: str
    tenant_id: str
    created_at: datetime
    key: str = field(repr=False)


def api_key_key(key_id: str) -> Item:
    return key(f"APIKEY#{key_id}", SORT)


def tenant_keys_partition(tenant_id: str) -> str:
    return f"APIKEYS#{tenant_id}"


def key_id_of(presented: str) -> str | None:
    """The key id of a string shaped like a Mercator API key, else None."""
    match = _KEY.fullmatch(presented)
    return None if match is None else match["key_id"]


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DynamoApiKeys:
    """Create, verify, revoke and list tenants' API keys in the state table."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._client = client
        self._table = Table(client, table_name)
        self._clock = clock

    def create(self, tenant_id: str) -> IssuedKey:
        """A new key of ``tenant_id``; only its hash is stored."""
        if not _TENANT.fullmatch(tenant_id):
            raise ValueError(
                f"tenant {tenant_id!r} must start with a letter or digit and hold at most 64 letters, "
                "digits or _.@+=-"
            )
        if is_reserved_tenant(tenant_id):
            # Its secrets would share names with a kind of Mercator's own (mercator.domain.secret_names).
            raise ValueError(f"tenant {tenant_id!r} is a name Mercator keeps for its own secrets")
        created_at = self._clock()
        for _ in range(_ID_ATTEMPTS):
            key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
            item: Item = {
                **api_key_key(key_id),
                GSI1_PARTITION_KEY: s(tenant_keys_partition(tenant_id)),
                GSI1_SORT_KEY: s(key_id),
                "tenant_id": s(tenant_id),
                "secret_sha256": s(secret_digest(secret)),
                "created_at": ms(created_at),
                "revoked": boolean(False),
            }
            absent = Expression()
            try:
                self._table.call(
                    "PutItem",
                    self._client.put_item,
                    TableName=self._table.name,
                    Item=item,
                    ConditionExpression=f"attribute_not_exists({absent.name(PARTITION_KEY)})",
                    ExpressionAttributeNames=absent.names,
                )
            except ConditionFailedError:
                continue
            return IssuedKey(
                key_id=key_id,
                tenant_id=tenant_id,
                created_at=from_epoch_ms(read_n(item, "created_at")),
                key=f"{KEY_PREFIX}{key_id}.{secret}",
            )
        raise StateError(f"no unused API key id after {_ID_ATTEMPTS} attempts; try again")

    def verify(self, presented: str) -> str | None:
        """The tenant of a valid key; None for a malformed, unknown or revoked key or a wrong secret."""
        match = _KEY.fullmatch(presented)
        if match is None:
            return None
        item = self._table.get(api_key_key(match["key_id"]))
        if item is None:
            return None
        stored = self._decode(item)
        try:
            expected = read_s(item, "secret_sha256")
        except (KeyError, TypeError) as e:
            raise self._table.malformed(item, e) from e
        # Both digests have the same length; compare_digest keeps the time independent of their content.
        if not hmac.compare_digest(secret_digest(match["secret"]), expected) or stored.revoked:
            return None
        return stored.tenant_id

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key for good; revoking it again keeps the first revocation's time."""
        if not _KEY_ID.fullmatch(key_id):
            raise ValueError(f"{key_id!r} is not an API key id (16 hex characters, the part after mk_)")
        update = Expression().set("revoked", boolean(True)).set_if_absent("revoked_at", ms(self._clock()))
        exists = f"attribute_exists({update.name(PARTITION_KEY)})"
        try:
            response = self._table.update(api_key_key(key_id), update, exists, ReturnValues="ALL_NEW")
        except ConditionFailedError:
            raise ApiKeyNotFoundError(key_id) from None
        return self._decode(response["Attributes"])

    def for_tenant(self, tenant_id: str) -> list[ApiKey]:
        """The tenant's keys, revoked ones included, oldest first; the index is eventually consistent."""
        expression = Expression()
        condition = (
            f"{expression.name(GSI1_PARTITION_KEY)} = {expression.value(s(tenant_keys_partition(tenant_id)))}"
        )
        keys = [self._decode(item) for item in self._table.query(expression, condition, IndexName=GSI1)]
        return sorted(keys, key=lambda stored: (stored.created_at, stored.key_id))

    def _decode(self, item: Item) -> ApiKey:
        try:
            partition = read_s(item, PARTITION_KEY)
            return ApiKey(
                key_id=partition.removeprefix("APIKEY#"),
                tenant_id=read_s(item, "tenant_id"),
                created_at=from_epoch_ms(read_n(item, "created_at")),
                revoked=read_bool(item, "revoked"),
                revoked_at=read_optional_datetime(item, "revoked_at"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise self._table.malformed(item, e) from e
