"""Install states: signed, and refused when anything in them changed or they were signed elsewhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from mercator.services.oauth_state import (
    SESSION_VALUE,
    InstallState,
    StateRejectedError,
    StateSigner,
    new_session,
    session_hash,
)

KEY = b"k" * 32
STATE = InstallState(
    "tenant-1",
    "shopify",
    "nonce-0123456789abcdef",
    1_700_000_600,
    "https://m.example/cb",
    {"shopDomain": "a.b"},
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_signed_state_comes_back_as_it_was() -> None:
    assert StateSigner(KEY).verify(StateSigner(KEY).sign(STATE)) == STATE


def test_the_signature_is_hmac_sha256_over_the_encoded_payload() -> None:
    token = StateSigner(KEY).sign(STATE)
    payload, signature = token.split(".")

    expected = hmac.new(KEY, b"mercator-oauth-state." + payload.encode(), hashlib.sha256).digest()
    assert signature == b64(expected)
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert document == {
        "t": "tenant-1",
        "c": "shopify",
        "n": "nonce-0123456789abcdef",
        "e": 1_700_000_600,
        "r": "https://m.example/cb",
        "p": {"shopDomain": "a.b"},
    }


def test_a_state_signed_with_another_key_is_refused() -> None:
    token = StateSigner(b"o" * 32).sign(STATE)
    with pytest.raises(StateRejectedError, match="signature does not match"):
        StateSigner(KEY).verify(token)


def test_a_validly_signed_payload_of_the_wrong_shape_is_refused() -> None:
    payload = b64(json.dumps({"t": "tenant-1", "e": "tomorrow"}).encode())
    signature = b64(hmac.new(KEY, b"mercator-oauth-state." + payload.encode(), hashlib.sha256).digest())
    with pytest.raises(StateRejectedError, match="content is malformed"):
        StateSigner(KEY).verify(f"{payload}.{signature}")


@pytest.mark.parametrize("token", ["", "x", "a.b.c", "abc.!!!", "." * 2, "a" * 5000])
def test_malformed_states_are_refused(token: str) -> None:
    with pytest.raises(StateRejectedError):
        StateSigner(KEY).verify(token)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes, not 31"):
        StateSigner(b"k" * 31)


# --- what an install keeps sealed, and its browser session -----------------------------------------

NONCE = "nonce-0123456789abcdef"


def test_a_sealed_secret_opens_for_its_own_nonce_only() -> None:
    signer = StateSigner(KEY)
    sealed = signer.seal(NONCE, "the-verifier")

    assert "the-verifier" not in sealed
    assert signer.unseal(NONCE, sealed) == "the-verifier"
    # Sealed anew each time (a fresh IV), opened by the same key only, for the same nonce only
    assert signer.seal(NONCE, "the-verifier") != sealed
    for opener, nonce, text in [
        (StateSigner(b"o" * 32), NONCE, sealed),
        (signer, "nonce-of-another-install", sealed),
        (signer, NONCE, sealed[:-2] + ("AA" if sealed[-2:] != "AA" else "BB")),
        (signer, NONCE, "not sealed"),
        (signer, NONCE, ""),
    ]:
        with pytest.raises(StateRejectedError, match="cannot be read"):
            opener.unseal(nonce, text)


def test_a_session_is_random_and_only_its_hash_is_kept() -> None:
    first, second = new_session(), new_session()

    assert first != second and SESSION_VALUE.fullmatch(first) and len(first) >= 43
    assert session_hash(first) == hashlib.sha256(first.encode()).hexdigest()
    assert first not in session_hash(first)
