"""A delivery's headers: every copy kept for verification, credentials kept out of the archive."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mercator.connector.webhook import (
    BasicVerification,
    BearerVerification,
    HmacVerification,
    NoVerification,
    StandardWebhooksVerification,
    TokenVerification,
)
from mercator.domain.deliveries import Headers, reveals
from mercator.signatures.verification import VerificationError, header_value, secret_headers

TOKEN = "tok-mercator-7f3a9c"
PASSWORD = "pw-mercator-9c2e41"


def test_every_copy_is_kept_and_a_lookup_gives_the_last() -> None:
    headers = Headers({"X-Sig": ["a", "b"], "x-sig": "c", "X-Topic": "orders/create"})

    assert headers.copies("X-SIG") == ("a", "b", "c")
    assert headers["x-sig"] == "c" and headers.copies("X-Missing") == ()
    assert len(headers) == 2


def test_a_verified_header_with_differing_copies_is_refused() -> None:
    with pytest.raises(VerificationError, match="X-Sig is sent more than once with different values"):
        header_value(Headers({"X-Sig": ["forged", "genuine"]}), "X-Sig")

    assert header_value(Headers({"X-Sig": ["genuine", " genuine "]}), "x-sig") == "genuine"


@pytest.mark.parametrize(
    ("verification", "dropped"),
    [
        (
            HmacVerification(strategy="hmac", header="X-Shopify-Hmac-SHA256", encoding="base64"),
            {"x-shopify-hmac-sha256"},
        ),
        (TokenVerification(strategy="token", header="X-Salla-Token"), {"x-salla-token"}),
        (BearerVerification(strategy="bearer"), {"authorization"}),
        (BasicVerification(strategy="basic"), {"authorization"}),
        (StandardWebhooksVerification(strategy="standard_webhooks"), {"webhook-signature"}),
        (NoVerification(strategy="none"), set()),
        (None, set()),
    ],
    ids=["hmac", "token", "bearer", "basic", "standard-webhooks", "none", "absent"],
)
def test_the_verification_names_the_headers_never_kept(verification: Any, dropped: set[str]) -> None:
    assert secret_headers(verification) == dropped


def test_archived_headers_drop_verification_headers_and_any_holding_a_credential() -> None:
    pair = base64.b64encode(f"merchant:{PASSWORD}".encode()).decode()
    headers = Headers(
        {
            "Content-Type": "application/json",
            "X-Salla-Token": TOKEN,
            "X-Echo": f"Bearer {TOKEN}",
            "X-Basic": f"Basic {pair}",
            "X-Url-Safe": base64.urlsafe_b64encode(f"user:{PASSWORD}".encode()).decode(),
            "X-Short": "abc",
            "Cookie": "session=1",
            "X-Topic": ["order.created", f"{TOKEN}"],
        }
    )

    kept = headers.without_secrets({"X-SALLA-TOKEN"}, [TOKEN, PASSWORD, "abc", ""])

    assert kept == {"Content-Type": "application/json"}
    assert headers.without_secrets() == {name: value for name, value in headers.items() if name != "Cookie"}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (TOKEN, True),
        (f"Token {TOKEN}", True),
        (f"sha256={TOKEN}xyz", True),
        ("bob", True),  # a short credential, as the whole value
        ("Basic " + base64.b64encode(b"bob:secret").decode(), True),  # ... or one side of a ':'
        ("bobcat/1.0", False),  # ... but not inside another word
        ("orders/create", False),
        ("", False),
    ],
)
def test_what_reveals_a_credential(text: str, found: bool) -> None:
    assert reveals(text, {TOKEN, "bob"}) is found
