"""The ``state`` of an OAuth install: who started it, for which connector, until when, signed.

A state reads ``<payload>.<signature>``: the payload is compact JSON in base64url (no padding), the
signature HMAC-SHA256 over the encoded payload with a key only Mercator holds, also base64url. The
payload carries everything the callback needs (tenant, connector, nonce, expiry, redirect URI and the
install's parameters), so the callback trusts nothing the browser adds besides the code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

MIN_KEY_BYTES = 32
MAX_STATE_CHARS = 4096
# Binds the signature to this use of the key, should the key ever sign anything else.
_CONTEXT = b"mercator-oauth-state."


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
    """Signs and verifies install states with one HMAC key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the OAuth state key must hold at least {MIN_KEY_BYTES} bytes, not {len(key)}")
        self._key = key

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
