"""Standard Webhooks sign and verify, against the specification's reference vector and hand-made HMACs."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest

from mercator.signatures.standard_webhooks import sign, signing_key, verify
from mercator.signatures.verification import CredentialError, VerificationError

# The reference test vector of the Standard Webhooks libraries.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
VECTOR_NOW = datetime.fromtimestamp(VECTOR_TS, UTC)

SECRET = "whsec_" + base64.b64encode(b"bigcommerce-client-secret-bytes").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"a-rotated-away-older-secret-key").decode()
MSG_ID = "msg_7c1d0f"
TS = 1_700_000_000
NOW = datetime.fromtimestamp(TS, UTC)
BODY = b'{"scope":"store/order/created","store_id":"1025646","data":{"type":"order","id":250}}'


def hand_signature(secret: str, msg_id: str, ts: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, msg_id.encode() + b"." + str(ts).encode() + b"." + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def delivery(signature: str | None = None, ts: int = TS, msg_id: str = MSG_ID) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature or hand_signature(SECRET, msg_id, ts, BODY),
    }


def refused(headers: dict[str, str], body: bytes = BODY, secret: str = SECRET, **options: Any) -> str:
    with pytest.raises(VerificationError) as caught:
        verify(secret, headers, body, now=options.pop("now", NOW), **options)
    return caught.value.reason


def test_sign_reproduces_the_reference_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE


def test_verify_accepts_the_reference_vector() -> None:
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TS),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_NOW)


def test_sign_matches_a_hand_made_hmac() -> None:
    assert sign(SECRET, MSG_ID, TS, BODY) == hand_signature(SECRET, MSG_ID, TS, BODY)


def test_the_whsec_prefix_is_optional() -> None:
    bare = VECTOR_SECRET.removeprefix("whsec_")
    assert sign(bare, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TS),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    verify(bare, headers, VECTOR_BODY, now=VECTOR_NOW)


def test_the_key_is_the_decoded_secret_not_its_text() -> None:
    text_keyed = hmac.new(SECRET.encode(), f"{MSG_ID}.{TS}.".encode() + BODY, hashlib.sha256).digest()
    assert sign(SECRET, MSG_ID, TS, BODY) != "v1," + base64.b64encode(text_keyed).decode()
    assert signing_key(SECRET) == b"bigcommerce-client-secret-bytes"


def test_an_authentic_delivery_passes() -> None:
    verify(SECRET, delivery(), BODY, now=NOW)


def test_a_tampered_body_is_refused() -> None:
    assert refused(delivery(), BODY.replace(b"250", b"251")) == "signature does not match"


def test_a_wrong_secret_is_refused() -> None:
    assert refused(delivery(), secret=OTHER_SECRET) == "signature does not match"


def test_a_changed_id_is_refused() -> None:
    headers = {**delivery(), "webhook-id": "msg_other"}
    assert refused(headers) == "signature does not match"


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_each_missing_header_is_refused(name: str) -> None:
    headers = {k: v for k, v in delivery().items() if k != name}
    assert refused(headers) == f"missing header {name}"


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        (TS - 301, "timestamp 1699999699 is 301 s away from now (tolerance 300 s)"),
        (TS - 3600, "timestamp 1699996400 is 3600 s away from now (tolerance 300 s)"),
        (TS + 301, "timestamp 1700000301 is 301 s away from now (tolerance 300 s)"),
        (TS + 3600, "timestamp 1700003600 is 3600 s away from now (tolerance 300 s)"),
    ],
    ids=["stale", "old", "future", "far-future"],
)
def test_timestamps_outside_five_minutes_are_refused(ts: int, reason: str) -> None:
    headers = delivery(ts=ts)
    assert refused(headers) == reason


@pytest.mark.parametrize("ts", [TS - 300, TS + 300])
def test_timestamps_exactly_at_the_tolerance_pass(ts: int) -> None:
    verify(SECRET, delivery(ts=ts), BODY, now=NOW)


def test_a_custom_tolerance() -> None:
    assert refused(delivery(ts=TS - 11), tolerance_seconds=10) == (
        "timestamp 1699999989 is 11 s away from now (tolerance 10 s)"
    )


def test_a_replay_skips_the_age_check_but_keeps_the_signature() -> None:
    old = delivery(ts=TS - 30 * 86_400)
    verify(SECRET, old, BODY, now=NOW, check_timestamp=False)
    assert refused(old, BODY + b" ", check_timestamp=False) == "signature does not match"


def test_one_matching_signature_among_several_is_enough() -> None:
    good = hand_signature(SECRET, MSG_ID, TS, BODY)
    rotated = hand_signature(OTHER_SECRET, MSG_ID, TS, BODY)
    verify(SECRET, delivery(f"{rotated} {good}"), BODY, now=NOW)
    verify(SECRET, delivery(f"{good} {rotated}"), BODY, now=NOW)
    verify(OTHER_SECRET, delivery(f"{good}  {rotated}"), BODY, now=NOW)


def test_other_signature_versions_are_skipped() -> None:
    good = hand_signature(SECRET, MSG_ID, TS, BODY)
    # The same digest under another version label must not count as a v1 signature.
    relabelled = "v1a," + good.removeprefix("v1,")
    verify(SECRET, delivery(f"{relabelled} {good}"), BODY, now=NOW)
    assert refused(delivery(relabelled)) == "header webhook-signature has no v1 signature"


def test_none_of_several_signatures_matching_is_refused() -> None:
    first = hand_signature(OTHER_SECRET, MSG_ID, TS, BODY)
    second = hand_signature(SECRET, MSG_ID, TS + 1, BODY)
    assert refused(delivery(f"{first} {second}")) == "signature does not match"


def test_a_bare_digest_without_version_is_refused() -> None:
    bare = hand_signature(SECRET, MSG_ID, TS, BODY).removeprefix("v1,")
    assert refused(delivery(bare)) == "header webhook-signature has no v1 signature"


def test_header_names_match_whatever_their_case() -> None:
    headers = {
        "Webhook-Id": MSG_ID,
        "WEBHOOK-TIMESTAMP": str(TS),
        "Webhook-Signature": delivery()["webhook-signature"],
    }
    verify(SECRET, headers, BODY, now=NOW)


def test_custom_header_names() -> None:
    headers = {
        "svix-id": MSG_ID,
        "svix-timestamp": str(TS),
        "svix-signature": delivery()["webhook-signature"],
    }
    verify(
        SECRET,
        headers,
        BODY,
        now=NOW,
        id_header="svix-id",
        timestamp_header="svix-timestamp",
        signature_header="svix-signature",
    )
    assert refused(headers) == "missing header webhook-id"


@pytest.mark.parametrize("value", ["", "abc", "1.7e9", "1700000000.0"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(value: str) -> None:
    headers = {**delivery(), "webhook-timestamp": value}
    expected = (
        "missing header webhook-timestamp"
        if not value
        else "header webhook-timestamp is not a Unix time in seconds"
    )
    assert refused(headers) == expected


# Two keys written out byte by byte: base64 of the first needs "==", of the second "=", and both hold
# the characters that differ between the standard (+/) and URL-safe (-_) alphabets.
KEY_16 = bytes.fromhex("fbefbe0f3e7dfbffbf6d4d7ec3a1f0ff")
KEY_17 = bytes.fromhex("fbefbe0f3e7dfbffbf6d4d7ec3a1f0ff3f")

# Every form a platform hands a secret out in: standard or URL-safe, padded or not, whsec_ or not.
SECRET_FORMS = [
    ("++++Dz59+/+/bU1+w6Hw/w==", KEY_16),
    ("++++Dz59+/+/bU1+w6Hw/w", KEY_16),
    ("----Dz59-_-_bU1-w6Hw_w==", KEY_16),
    ("----Dz59-_-_bU1-w6Hw_w", KEY_16),
    ("whsec_++++Dz59+/+/bU1+w6Hw/w==", KEY_16),
    ("whsec_++++Dz59+/+/bU1+w6Hw/w", KEY_16),
    ("whsec_----Dz59-_-_bU1-w6Hw_w==", KEY_16),
    ("whsec_----Dz59-_-_bU1-w6Hw_w", KEY_16),
    ("++++Dz59+/+/bU1+w6Hw/z8=", KEY_17),
    ("++++Dz59+/+/bU1+w6Hw/z8", KEY_17),
    ("whsec_----Dz59-_-_bU1-w6Hw_z8=", KEY_17),
    ("whsec_----Dz59-_-_bU1-w6Hw_z8", KEY_17),
]


def hmac_signature(key: bytes, msg_id: str, ts: int, body: bytes) -> str:
    """The v1 signature made by hand from the key's bytes."""
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@pytest.mark.parametrize(("secret", "key"), SECRET_FORMS)
def test_every_form_of_a_secret_decodes_to_its_key(secret: str, key: bytes) -> None:
    # Given a secret in one of the forms platforms hand out
    # When it signs a delivery
    # Then the key is the bytes it encodes and the signature the HMAC made with them
    assert signing_key(secret) == key
    expected = hmac_signature(key, MSG_ID, TS, BODY)
    assert sign(secret, MSG_ID, TS, BODY) == expected
    verify(secret, delivery(expected), BODY, now=NOW)


def test_the_forms_of_one_key_verify_each_others_signatures() -> None:
    signed = sign("whsec_----Dz59-_-_bU1-w6Hw_w", MSG_ID, TS, BODY)
    verify("++++Dz59+/+/bU1+w6Hw/w==", delivery(signed), BODY, now=NOW)
    assert refused(delivery(signed), secret="++++Dz59+/+/bU1+w6Hw/z8=") == "signature does not match"


FORMS = (
    "write it as base64, standard (+/) or URL-safe (-_), padded with = or not, "
    "after an optional whsec_ prefix"
)


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("", "secret is empty"),
        ("whsec_", "secret is empty"),
        ("whsec_==", f"secret is not base64: it holds only '=' padding; {FORMS}"),
        ("whsec_***", f"secret is not base64: it holds a character of neither base64 alphabet; {FORMS}"),
        (
            "++++Dz59+/+/bU1+w6H=w/w==",
            f"secret is not base64: it holds a character of neither base64 alphabet; {FORMS}",
        ),
        ("not base64 at all", f"secret is not base64: it holds whitespace; {FORMS}"),
        ("++++Dz59+/+/bU1+w6Hw/w==\n", f"secret is not base64: it holds whitespace; {FORMS}"),
        (" whsec_++++Dz59+/+/bU1+w6Hw/w==", f"secret is not base64: it holds whitespace; {FORMS}"),
        (
            "++++Dz59-_+/bU1+w6Hw/w==",
            f"secret is not base64: it mixes the standard (+/) and URL-safe (-_) alphabets; {FORMS}",
        ),
        (VECTOR_SECRET[:-3], f"secret is not base64: 29 characters is a length no base64 text has; {FORMS}"),
        (
            "++++Dz59+/+/bU1+w6Hw/w=",
            f"secret is not base64: it ends in 1 '=' where base64 of its length has 2; {FORMS}",
        ),
        (
            "++++Dz59+/+/bU1+w6Hw/z8==",
            f"secret is not base64: it ends in 2 '=' where base64 of its length has 1; {FORMS}",
        ),
        ("whsec_AAAA=", f"secret is not base64: it ends in 1 '=' where base64 of its length has 0; {FORMS}"),
    ],
    ids=[
        "empty",
        "prefix-only",
        "padding-only",
        "symbols",
        "inner-equals",
        "spaces",
        "trailing-newline",
        "leading-space",
        "mixed-alphabets",
        "impossible-length",
        "short-padding",
        "long-padding",
        "padding-not-needed",
    ],
)
def test_a_malformed_secret_is_a_configuration_fault(secret: str, reason: str) -> None:
    with pytest.raises(CredentialError) as caught:
        verify(secret, delivery(), BODY, now=NOW)
    assert caught.value.reason == f"Standard Webhooks {reason}"
    with pytest.raises(ValueError) as refused_to_sign:
        sign(secret, MSG_ID, TS, BODY)
    assert str(refused_to_sign.value) == reason
    if len(secret) > 8:
        assert secret.strip().removeprefix("whsec_") not in reason


def test_reasons_never_hold_the_secret_or_the_expected_signature() -> None:
    expected = hand_signature(SECRET, MSG_ID, TS, BODY)
    wrong = refused(delivery(hand_signature(OTHER_SECRET, MSG_ID, TS, BODY)))
    for fragment in (
        SECRET,
        SECRET.removeprefix("whsec_"),
        expected,
        expected.removeprefix("v1,"),
        BODY.decode(),
    ):
        assert fragment not in wrong


@pytest.mark.parametrize(("msg_id", "ts"), [("", TS), (MSG_ID, -1)])
def test_sign_refuses_an_empty_id_or_negative_time(msg_id: str, ts: int) -> None:
    with pytest.raises(ValueError):
        sign(SECRET, msg_id, ts, BODY)


def test_now_must_carry_a_time_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(SECRET, delivery(), BODY, now=datetime(2023, 11, 14, 22, 13, 20))
