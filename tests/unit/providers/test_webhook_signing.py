"""signed_headers: the exact headers each platform sends, and a round trip through verify_delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from mercator.connector import load_shipped
from mercator.connector.webhook import Verification
from mercator.signatures.verification import (
    CredentialError,
    MissingCredentialError,
    VerificationError,
    verify_delivery,
)
from mercator_local.webhook_signing import signed_headers

NOW_TS = 1_700_000_000
NOW = datetime.fromtimestamp(NOW_TS, UTC)
BODY = b'{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00"}'
SECRET = "hush-4e1a"
SW_SECRET = "whsec_" + base64.b64encode(b"thirty-two-bytes-of-signing-key!").decode()

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Verification)


def strategy(**fields: Any) -> Any:
    return _ADAPTER.validate_python(fields)


def digest(content: bytes, key: bytes = SECRET.encode(), algorithm: str = "sha256") -> bytes:
    return hmac.new(key, content, getattr(hashlib, algorithm)).digest()


TIMESTAMPED = strategy(
    strategy="hmac",
    header="X-Signature",
    algorithm="sha512",
    encoding="base64",
    signedContent="timestamp.body",
    timestampHeader="X-Timestamp",
    prefix="t=",
)
SW_KEY = b"thirty-two-bytes-of-signing-key!"

# (name, verification, credentials, the headers worked out by hand)
CASES: list[tuple[str, Any, dict[str, str], dict[str, str]]] = [
    (
        "shopify",
        load_shipped("shopify").webhook.verification,  # type: ignore[union-attr]
        {"webhookSecret": SECRET},
        {"X-Shopify-Hmac-SHA256": base64.b64encode(digest(BODY)).decode()},
    ),
    (
        "woocommerce",
        load_shipped("woocommerce").webhook.verification,  # type: ignore[union-attr]
        {"webhookSecret": SECRET},
        {"X-WC-Webhook-Signature": base64.b64encode(digest(BODY)).decode()},
    ),
    (
        "salla",
        load_shipped("salla").webhook.verification,  # type: ignore[union-attr]
        {"webhookSecret": SECRET},
        {"X-Salla-Signature": digest(BODY).hex()},
    ),
    (
        "hmac timestamp.body",
        TIMESTAMPED,
        {"webhookSecret": SECRET},
        {
            "X-Timestamp": "1700000000",
            "X-Signature": "t="
            + base64.b64encode(digest(b"1700000000." + BODY, algorithm="sha512")).decode(),
        },
    ),
    (
        "salla token",
        strategy(strategy="token", header="Authorization", prefix="Bearer "),
        {"webhookToken": "tk-19"},
        {"Authorization": "Bearer tk-19"},
    ),
    (
        "token header",
        strategy(strategy="token", header="X-Hook-Token"),
        {"webhookToken": "tk-19"},
        {"X-Hook-Token": "tk-19"},
    ),
    (
        "bearer",
        strategy(strategy="bearer", secret="hookBearer"),
        {"hookBearer": "b-77"},
        {"Authorization": "Bearer b-77"},
    ),
    (
        "zid",
        load_shipped("zid").webhook.verification,  # type: ignore[union-attr]
        {"webhookUsername": "mercator", "webhookPassword": "s3cret"},
        {"Authorization": "Basic bWVyY2F0b3I6czNjcmV0"},  # base64("mercator:s3cret")
    ),
    (
        "standard_webhooks",
        strategy(strategy="standard_webhooks"),
        {"webhookSecret": SW_SECRET},
        {
            "webhook-id": "msg_fixed",
            "webhook-timestamp": "1700000000",
            "webhook-signature": "v1,"
            + base64.b64encode(digest(b"msg_fixed.1700000000." + BODY, SW_KEY)).decode(),
        },
    ),
]
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize(("name", "verification", "credentials", "expected"), CASES, ids=IDS)
def test_the_headers_are_the_ones_the_platform_sends(
    name: str, verification: Any, credentials: dict[str, str], expected: dict[str, str]
) -> None:
    headers = signed_headers(verification, credentials, BODY, now=NOW, delivery_id="msg_fixed")
    assert headers == expected


@pytest.mark.parametrize(("name", "verification", "credentials", "expected"), CASES, ids=IDS)
def test_signed_headers_verify(
    name: str, verification: Any, credentials: dict[str, str], expected: dict[str, str]
) -> None:
    headers = signed_headers(verification, credentials, BODY, now=NOW)
    verify_delivery(verification, credentials, headers, BODY, now=NOW)


@pytest.mark.parametrize(
    ("name", "verification", "credentials", "expected"),
    [
        case
        for case in CASES
        if case[0] in ("shopify", "woocommerce", "salla", "hmac timestamp.body", "standard_webhooks")
    ],
)
def test_signed_headers_do_not_verify_another_body(
    name: str, verification: Any, credentials: dict[str, str], expected: dict[str, str]
) -> None:
    headers = signed_headers(verification, credentials, BODY, now=NOW)
    with pytest.raises(VerificationError, match="signature does not match"):
        verify_delivery(verification, credentials, headers, BODY + b"\n", now=NOW)


@pytest.mark.parametrize("verification", [TIMESTAMPED, strategy(strategy="standard_webhooks")])
def test_the_signing_time_is_now(verification: Any) -> None:
    credentials = {"webhookSecret": SW_SECRET}
    headers = signed_headers(verification, credentials, BODY, now=NOW)
    later = NOW + timedelta(seconds=301)
    with pytest.raises(VerificationError) as caught:
        verify_delivery(verification, credentials, headers, BODY, now=later)
    assert caught.value.reason == "timestamp 1700000000 is 301 s away from now (tolerance 300 s)"
    verify_delivery(verification, credentials, headers, BODY, now=later, check_timestamp=False)


def test_standard_webhooks_ids_are_fresh_unless_given() -> None:
    verification = strategy(strategy="standard_webhooks")
    credentials = {"webhookSecret": SW_SECRET}
    first = signed_headers(verification, credentials, BODY, now=NOW)["webhook-id"]
    second = signed_headers(verification, credentials, BODY, now=NOW)["webhook-id"]
    assert first != second
    assert first.startswith("msg_")
    assert len(first) > len("msg_")


def test_standard_webhooks_header_names_come_from_the_definition() -> None:
    verification = strategy(
        strategy="standard_webhooks",
        idHeader="svix-id",
        timestampHeader="svix-timestamp",
        signatureHeader="svix-signature",
    )
    headers = signed_headers(verification, {"webhookSecret": SW_SECRET}, BODY, now=NOW, delivery_id="m1")
    assert sorted(headers) == ["svix-id", "svix-signature", "svix-timestamp"]
    assert headers["svix-id"] == "m1"


@pytest.mark.parametrize("verification", [None, strategy(strategy="none")], ids=["absent", "none"])
def test_nothing_to_sign_gives_no_headers(verification: Any) -> None:
    assert signed_headers(verification, {}, BODY, now=NOW) == {}


@pytest.mark.parametrize(("name", "verification", "credentials", "expected"), CASES, ids=IDS)
def test_a_missing_credential_cannot_sign(
    name: str, verification: Any, credentials: dict[str, str], expected: dict[str, str]
) -> None:
    last = list(credentials)[-1]
    partial = {k: v for k, v in credentials.items() if k != last}
    with pytest.raises(MissingCredentialError) as caught:
        signed_headers(verification, partial, BODY, now=NOW)
    assert caught.value.name == last


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signed_headers(TIMESTAMPED, {"webhookSecret": SECRET}, BODY, now=datetime(2023, 11, 14, 22, 13, 20))


def test_a_basic_user_name_holding_a_colon_cannot_sign() -> None:
    zid = load_shipped("zid").webhook.verification  # type: ignore[union-attr]
    with pytest.raises(CredentialError, match="webhookUsername holds a ':'"):
        signed_headers(zid, {"webhookUsername": "a:b", "webhookPassword": "pw"}, BODY, now=NOW)


def test_a_malformed_standard_webhooks_secret_cannot_sign() -> None:
    with pytest.raises(ValueError, match="not base64"):
        signed_headers(strategy(strategy="standard_webhooks"), {"webhookSecret": "whsec_%%"}, BODY, now=NOW)
