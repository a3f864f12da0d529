"""The nonces of OAuth install states: each state is started in one browser and accepted once, from it.

One item per state handed out::

    pk  OAUTHNONCE#<nonce>   sk  OAUTHNONCE
    expires_at     N     epoch seconds: the state is refused after it
    consumed       BOOL
    authorize_url  S     the platform's consent address the start address sends the browser to
    verifier       S     the install's PKCE verifier, sealed (mercator.services.oauth_state); absent
                         for connectors without PKCE
    session_hash   S     SHA-256 of the session value in the cookie of the browser that started the
                         install; set once, when a browser opens the start address
    ttl            N     epoch seconds, an hour after expiry, so used and abandoned nonces disappear

Binding and consuming are each one conditional write: of two browsers opening the same start address,
exactly one gets the install; of two callbacks presenting the same state, exactly one gets it, and
only with the session of the browser that started it. A refusal says why (NonceRefusedError.reason),
read from the item as the refused write found it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

from mercator.domain.oauth_installs import NonceRecord, NonceRefusal, NonceRefusedError
from mercator.state.dynamo import (
    PARTITION_KEY,
    TTL,
    ConditionFailedError,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    boolean,
    key,
    n,
    read_bool,
    read_n,
    read_optional_s,
    read_s,
    s,
)

SORT = "OAUTHNONCE"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_SESSION_HASH = re.compile(r"^[0-9a-f]{64}$")
_KEEP_SECONDS = 3600
# Cookies a callback may present under the install cookie's name; more are not looked at.
MAX_SESSIONS = 4


def nonce_key(nonce: str) -> Item:
    return key(f"OAUTHNONCE#{nonce}", SORT)


class DynamoOAuthNonces:
    """Records install-state nonces, binds each to one browser session and consumes each at most once;
    ``clock`` gives epoch seconds."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._table = Table(client, table_name)
        self._clock = clock

    def record(
        self, nonce: str, expires_at: int, *, authorize_url: str, sealed_verifier: str | None = None
    ) -> None:
        """Remember a new nonce, valid until ``expires_at`` (epoch seconds), with its install's consent
        address and sealed PKCE verifier."""
        _check(nonce)
        if not authorize_url:
            raise ValueError("an install nonce needs the consent address its start sends the browser to")
        update = (
            Expression()
            .set("expires_at", n(expires_at))
            .set("consumed", boolean(False))
            .set("authorize_url", s(authorize_url))
            .set(TTL, n(expires_at + _KEEP_SECONDS))
        )
        if sealed_verifier is not None:
            update.set("verifier", s(sealed_verifier))
        # A random nonce never repeats; should one, the first state keeps it rather than being renewed.
        condition = f"attribute_not_exists({update.name(PARTITION_KEY)})"
        try:
            self._table.update(nonce_key(nonce), update, condition)
        except ConditionFailedError:
            raise ValueError("this nonce was handed out already; make a new one") from None

    def bind(self, nonce: str, session_hash: str) -> str:
        """Give the install to the browser whose session hashes to ``session_hash``; its consent address.

        Once: NonceRefusedError ``started`` when a browser has it already (``unknown``, ``used``,
        ``expired`` otherwise).
        """
        _check_session_hash(session_hash)
        if not _NONCE.fullmatch(nonce):
            raise NonceRefusedError("unknown")
        update = Expression().set("session_hash", s(session_hash))
        condition = f"{self._usable(update)} AND attribute_not_exists({update.name('session_hash')})"
        try:
            item = self._table.update(nonce_key(nonce), update, condition, ReturnValues="ALL_NEW")
        except ConditionFailedError as refused:
            raise NonceRefusedError(self._reason(refused.item, started="started")) from None
        return read_s(item["Attributes"], "authorize_url")

    def consume(self, nonce: str, session_hashes: Sequence[str]) -> NonceRecord:
        """Use the nonce up, for a callback from a browser presenting one of ``session_hashes``.

        NonceRefusedError when it is unknown, used already, expired, never started, or started with
        another session; nothing changes then.
        """
        hashes = [value for value in session_hashes if _SESSION_HASH.fullmatch(value)][:MAX_SESSIONS]
        if not _NONCE.fullmatch(nonce):
            raise NonceRefusedError("unknown")
        if not hashes:
            raise NonceRefusedError("other_session")
        update = Expression().set("consumed", boolean(True))
        presented = ", ".join(update.value(s(value)) for value in hashes)
        condition = f"{self._usable(update)} AND {update.name('session_hash')} IN ({presented})"
        try:
            item = self._table.update(nonce_key(nonce), update, condition, ReturnValues="ALL_NEW")
        except ConditionFailedError as refused:
            raise NonceRefusedError(self._reason(refused.item, started="other_session")) from None
        stored = item["Attributes"]
        return NonceRecord(read_s(stored, "authorize_url"), read_optional_s(stored, "verifier"))

    def _usable(self, update: Expression) -> str:
        """The condition of a nonce that exists, is not used and has not expired."""
        return (
            f"attribute_exists({update.name(PARTITION_KEY)}) "
            f"AND {update.name('consumed')} = {update.value(boolean(False))} "
            f"AND {update.name('expires_at')} > {update.value(n(int(self._clock())))}"
        )

    def _reason(self, item: Item | None, *, started: NonceRefusal) -> NonceRefusal:
        """Why a write conditioned on a usable nonce was refused, from the item it found."""
        if not item:
            return "unknown"
        if read_bool(item, "consumed"):
            return "used"
        if read_n(item, "expires_at") <= int(self._clock()):
            return "expired"
        return started if "session_hash" in item else "not_started"


def _check(nonce: str) -> None:
    if not _NONCE.fullmatch(nonce):
        raise ValueError("a nonce is 16 to 128 URL-safe characters (letters, digits, - and _)")


def _check_session_hash(value: str) -> None:
    if not _SESSION_HASH.fullmatch(value):
        raise ValueError("a session hash is the 64 hex digits of a SHA-256")
