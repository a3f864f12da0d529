"""Webhook deliveries as Mercator keeps them: the request as received, its archive copy, its ledger claim.

Plain models shared by the intake service and the adapters that store them (no AWS here).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Headers that carry credentials whatever the connector (Basic or Bearer tokens, cookies): verified on
# arrival, never kept. The connector's own verification headers are added per delivery.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
# A credential at least this long is looked for inside a value ('Bearer <token>', 'sha256=...', a
# base64 'user:password'); a shorter one only where it is the whole value, or one side of a ':'.
CONTAINED_CREDENTIAL_LENGTH = 6


class Headers(Mapping[str, str]):
    """HTTP headers, looked up without regard to case (providers vary the spelling).

    A header sent more than once (API Gateway's ``multiValueHeaders``, or one name spelled in two
    cases) keeps every copy in ``copies``; looked up as a mapping it gives the last copy, as API
    Gateway's single-value ``headers`` does. Verification refuses a header it reads whose copies differ.
    """

    def __init__(self, values: Mapping[str, str | Sequence[str]] | None = None) -> None:
        self._values: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, value in (values or {}).items():
            sent = (value,) if isinstance(value, str) else tuple(value)
            if not sent:
                continue
            earlier = self._values.get(name.lower())
            self._values[name.lower()] = (name, (*earlier[1], *sent) if earlier else sent)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()][1][-1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._values.values())

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def copies(self, name: str) -> tuple[str, ...]:
        """Every value header ``name`` was sent with, in the order received; () when it was not sent."""
        found = self._values.get(name.lower())
        return found[1] if found else ()

    def without_secrets(self, names: Iterable[str] = (), credentials: Iterable[str] = ()) -> dict[str, str]:
        """The headers fit to keep: not ``SECRET_HEADERS``, not ``names`` (the connector's verification
        headers), and none with a copy that holds one of ``credentials`` (the integration's values)."""
        dropped = SECRET_HEADERS | {name.lower() for name in names}
        values = _credential_values(credentials)
        return {
            name: copies[-1]
            for key, (name, copies) in self._values.items()
            if key not in dropped and not any(reveals(copy, values) for copy in copies)
        }


def _credential_values(credentials: Iterable[str]) -> frozenset[str]:
    return frozenset(value for value in credentials if isinstance(value, str) and value.strip())


def reveals(text: str, credentials: Collection[str]) -> bool:
    """Whether ``text`` shows one of ``credentials``: as the whole value, inside it ('Bearer <token>'),
    or inside one of its words read as base64 (HTTP Basic's 'user:password')."""
    if not credentials:
        return False
    readings = [text, *(_base64_text(word) for word in text.split())]
    for reading in readings:
        if reading is None:
            continue
        parts = {reading.strip(), *(part.strip() for part in reading.split(":"))}
        for value in credentials:
            if value in parts or (len(value) >= CONTAINED_CREDENTIAL_LENGTH and value in reading):
                return True
    return False


def _base64_text(word: str) -> str | None:
    """``word`` decoded as standard or URL-safe base64, as text; None when it is neither."""
    for altchars in (None, b"-_"):
        try:
            decoded = base64.b64decode(word.encode("ascii"), altchars=altchars, validate=True)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            continue
        return decoded.decode("utf-8", errors="replace")
    return None


@dataclass(frozen=True)
class IncomingDelivery:
    """A POST to ``/webhooks/{integrationId}`` as API Gateway handed it over."""

    integration_id: str
    headers: Headers
    body: bytes
    received_at: datetime
    query: Mapping[str, str] = field(default_factory=dict)

    @property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class ArchivedDelivery(BaseModel):
    """An accepted delivery's raw body and headers, kept so it can be replayed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    integration_id: str
    dedupe_key: str
    event: str | None = None
    received_at: datetime
    headers: dict[str, str] = Field(
        description="as received (the last copy of a repeated one), minus credential and signature headers"
    )
    query: dict[str, str] = Field(default_factory=dict, description="minus parameters holding a credential")
    body_base64: str = Field(description="the raw body, byte for byte")

    @classmethod
    def of(
        cls,
        delivery: IncomingDelivery,
        *,
        dedupe_key: str,
        event: str | None,
        secret_headers: Iterable[str] = (),
        credentials: Iterable[str] = (),
    ) -> ArchivedDelivery:
        """The archive copy of ``delivery``: without ``SECRET_HEADERS``, without ``secret_headers`` (the
        connector's verification headers: a token, or a signature made with the secret, which would let
        whoever reads the archive guess a weak secret offline; nothing verifies an archived delivery
        again), and without any header or query parameter holding one of ``credentials``."""
        values = _credential_values(credentials)
        return cls(
            integration_id=delivery.integration_id,
            dedupe_key=dedupe_key,
            event=event,
            received_at=delivery.received_at,
            headers=delivery.headers.without_secrets(secret_headers, values),
            query={name: value for name, value in delivery.query.items() if not reveals(value, values)},
            body_base64=base64.b64encode(delivery.body).decode(),
        )

    def incoming(self) -> IncomingDelivery:
        return IncomingDelivery(
            integration_id=self.integration_id,
            headers=Headers(self.headers),
            body=base64.b64decode(self.body_base64),
            received_at=self.received_at,
            query=self.query,
        )


@dataclass(frozen=True)
class Announcement:
    """A message a delivery sent on: a change event, a request for enrichment or a dead letter."""

    queue: Literal["trigger", "enrich", "dead_letter"]
    body: str


@dataclass(frozen=True)
class DeliveryClaim:
    """The ledger entry that makes a delivery count once, and what it announced."""

    integration_id: str
    dedupe_key: str
    event: str
    received_at: datetime
    outcome: str
    announcements: tuple[Announcement, ...] = ()


@dataclass(frozen=True)
class ReadVersion:
    """The stored version a write was worked out from: its content hash, None when none was stored."""

    content_hash: str | None


@dataclass(frozen=True)
class RecordChange:
    """A conditional write of one record and its tracking entry (an upsert, or a deletion mark);
    with ``guard``, only over the version read."""

    tenant_id: str
    integration_id: str
    resource: str
    content_type: str
    code: str
    record: dict[str, Any]
    content_hash: str
    source_updated_at: datetime | None
    deleted: bool = False
    guard: ReadVersion | None = None


@dataclass(frozen=True)
class CommitResult:
    """What a ledger commit did.

    ``committed``: the claim and the write landed together. ``duplicate``: the delivery was claimed
    before (``earlier`` is that claim). ``refused``: the record was not written because the stored one
    is newer (``stale``) or the same (``unchanged``); ``same_version``: the stored record is the same
    source version with other content (another path brought it), ``stored`` is its content, for the
    caller to merge; ``moved``: a guarded write found another version than the one it was worked out
    from (a concurrent write landed in between), for the caller to read again. Nothing was claimed.
    """

    status: Literal["committed", "duplicate", "stale", "unchanged", "same_version", "moved"]
    earlier: DeliveryClaim | None = None
    stored: dict[str, Any] | None = None


def json_media_type(content_type: str | None) -> bool:
    """``application/json`` and its ``+json`` relatives, with any parameters."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def raw_body(body: str | None, encoded: bool | None) -> bytes:
    """An API Gateway proxy event's body byte for byte, as its sender signed it; ValueError when it is
    said to be base64 and is not."""
    if body is None:
        return b""
    if not encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the body is not valid base64") from None


def proxy_headers(event: Mapping[str, Any]) -> Headers:
    """An API Gateway proxy event's headers, every copy of each: API Gateway keeps them all in
    ``multiValueHeaders`` and only the last in ``headers``, so a header sent twice can be seen."""
    copies: dict[str, list[str]] = {}
    for name, values in (event.get("multiValueHeaders") or {}).items():
        copies[name] = [value for value in values or () if isinstance(value, str)]
    known = {name.lower() for name, values in copies.items() if values}
    for name, value in (event.get("headers") or {}).items():
        if name.lower() not in known and isinstance(value, str):
            copies[name] = [value]  # an event without multiValueHeaders (or not for this header)
    return Headers(copies)
