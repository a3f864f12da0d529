"""The ``state`` of an OAuth install: who started it, for which connector, until when, signed.

A state reads ``<payload>.<signature>``: the payload is compact JSON in base64url (no padding), the
signature HMAC-SHA256 over the encoded payload with a key only Mercator holds, also base64url. The
payload carries everything the callback needs (tenant, connector, nonce, expiry, redirect URI and the
install's parameters), so the callback trusts nothing the browser adds besides the code.

The same key, under another context, seals what an install keeps beside its nonce and must never show
in clear (its PKCE verifier): AES-256-GCM with a key derived by HMAC-SHA256, the nonce as associated
data, so a sealed value opens only for its own install. An install's browser session is a random value
in a cookie; only its SHA-256 (``session_hash``) is stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MIN_KEY_BYTES = 32
MAX_STATE_CHARS = 4096
# Binds the signature to this use of the key, should the key ever sign anything else.
_CONTEXT = b"mercator-oauth-state."
# Derives the sealing key from the state key, and binds each sealed value to its install's nonce.
_SEAL_KEY_CONTEXT = b"mercator-oauth-seal-key"
_SEAL_CONTEXT = b"mercator-oauth-seal."
_SEAL_IV_BYTES = 12
_SESSION_BYTES = 32
# A session value as Mercator makes them (43 characters), with room to spare; anything else is no session.
SESSION_VALUE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


class StateRejectedError(ValueError):
    """The callback's state is missing, tampered with, expired, used already or for another connector."""


@dataclass(frozen=True)
class InstallState:
    """What an install's state asserts; ``expires_at`` in epoch seconds."""

    tenant_id: str
    connector: str
    nonce: str
    expires_at: int
    redirect_uri: str
    params: dict[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {
            "t": self.tenant_id,
            "c": self.connector,
            "n": self.nonce,
            "e": self.expires_at,
            "r": self.redirect_uri,
            "p": dict(self.params),
        }


class StateSigner:
    """Signs and verifies install states with one HMAC key, and seals install secrets with a key derived
    from it."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the OAuth state key must hold at least {MIN_KEY_BYTES} bytes, not {len(key)}")
        self._key = key
        self._aead = AESGCM(hmac.new(key, _SEAL_KEY_CONTEXT, hashlib.sha256).digest())

    def seal(self, nonce: str, secret: str) -> str:
        """``secret`` encrypted for storage beside ``nonce``: base64url of IV and ciphertext with its tag."""
        iv = secrets.token_bytes(_SEAL_IV_BYTES)
        sealed = self._aead.encrypt(iv, secret.encode("utf-8"), _SEAL_CONTEXT + nonce.encode("utf-8"))
        return _encode(iv + sealed)

    def unseal(self, nonce: str, sealed: str) -> str:
        """The secret ``seal`` sealed for ``nonce``; StateRejectedError when it was not sealed so here."""
        try:
            data = _decode(sealed)
            opened = self._aead.decrypt(
                data[:_SEAL_IV_BYTES], data[_SEAL_IV_BYTES:], _SEAL_CONTEXT + nonce.encode("utf-8")
            )
            return opened.decode("utf-8")
        except (ValueError, InvalidTag):
            raise StateRejectedError(
                "what the install stored cannot be read (the state key changed?); start the install again"
            ) from None

    def sign(self, state: InstallState) -> str:
        text = json.dumps(state.payload(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        payload = _encode(text.encode("utf-8"))
        return f"{payload}.{_encode(self._mac(payload))}"

    def verify(self, token: str) -> InstallState:
        """The state ``token`` asserts; StateRejectedError unless Mercator signed exactly this text."""
        if not token or len(token) > MAX_STATE_CHARS or token.count(".") != 1:
            raise StateRejectedError("the state is malformed")
        payload, signature = token.split(".")
        try:
            presented = _decode(signature)
        except ValueError:
            raise StateRejectedError("the state is malformed") from None
        if not hmac.compare_digest(presented, self._mac(payload)):
            raise StateRejectedError(
                "the state's signature does not match: it was altered or not issued here"
            )
        try:
            document = json.loads(_decode(payload))
            return _state(document)
        except (ValueError, TypeError, KeyError):
            raise StateRejectedError("the state's content is malformed") from None

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, _CONTEXT + payload.encode("ascii"), hashlib.sha256).digest()


def new_session() -> str:
    """A fresh install session value, for the cookie of the browser that starts an install."""
    return secrets.token_urlsafe(_SESSION_BYTES)


def session_hash(session: str) -> str:
    """What is stored of a session value: its SHA-256, in hex."""
    return hashlib.sha256(session.encode("utf-8")).hexdigest()


def _state(document: Any) -> InstallState:
    if not isinstance(document, dict):
        raise TypeError("not an object")
    params = document["p"]
    texts = [document[name] for name in ("t", "c", "n", "r")]
    if (
        not all(isinstance(text, str) and text for text in texts)
        or not isinstance(document["e"], int)
        or not isinstance(params, dict)
        or not all(isinstance(name, str) and isinstance(value, str) for name, value in params.items())
    ):
        raise TypeError("unexpected field types")
    tenant, connector, nonce, redirect = texts
    return InstallState(tenant, connector, nonce, document["e"], redirect, params)


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _decode(text: str) -> bytes:
    if not text or any(char not in _ALPHABET for char in text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
