"""verify_delivery for every strategy: authentic deliveries pass, each kind of forgery is refused.

Expected signatures are built here with hmac/hashlib/base64 directly, never with the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
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

NOW_TS = 1_700_000_000
NOW = datetime.fromtimestamp(NOW_TS, UTC)
BODY = b'{"event":"order.created","data":{"id":1001,"total":"49.90"}}'
TAMPERED = b'{"event":"order.created","data":{"id":1001,"total":"0.01"}}'
SECRET = "shpss_4f1c9b2e7a"
WRONG_SECRET = "shpss_00000000aa"
SW_SECRET = "whsec_" + base64.b64encode(b"mercator-standard-webhooks-key!!").decode()
SW_WRONG = "whsec_" + base64.b64encode(b"another-key-entirely-not-ours!!!").decode()

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Verification)


def strategy(**fields: Any) -> Any:
    return _ADAPTER.validate_python(fields)


def b64_hmac(key: bytes, content: bytes, digest: str = "sha256") -> str:
    return base64.b64encode(hmac.new(key, content, digest).digest()).decode()


def hex_hmac(key: bytes, content: bytes, digest: str = "sha256") -> str:
    return hmac.new(key, content, digest).hexdigest()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def sw_signature(secret: str, msg_id: str, ts: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    return "v1," + b64_hmac(key, f"{msg_id}.{ts}.".encode() + body)


@dataclass
class Scheme:
    """One strategy: a definition, the integration's credentials and a hand-signed delivery of BODY."""

    name: str
    verification: Any
    credentials: dict[str, str]
    wrong_credentials: dict[str, str]
    headers: dict[str, str]
    required_header: str
    mismatch: str
    signs_body: bool = True


SALLA = load_shipped("salla").webhook.verification  # type: ignore[union-attr]
SHOPIFY = load_shipped("shopify").webhook.verification  # type: ignore[union-attr]
ZID = load_shipped("zid").webhook.verification  # type: ignore[union-attr]
TIMESTAMPED = strategy(
    strategy="hmac",
    header="X-Signature",
    algorithm="sha256",
    encoding="hex",
    signedContent="timestamp.body",
    timestampHeader="X-Timestamp",
    prefix="v0=",
)
STANDARD = strategy(strategy="standard_webhooks")

SCHEMES = [
    Scheme(
        "hmac hex (Salla)",
        SALLA,
        {"webhookSecret": SECRET},
        {"webhookSecret": WRONG_SECRET},
        {"X-Salla-Signature": hex_hmac(SECRET.encode(), BODY)},
        "X-Salla-Signature",
        "signature does not match",
    ),
    Scheme(
        "hmac base64 (Shopify)",
        SHOPIFY,
        {"webhookSecret": SECRET},
        {"webhookSecret": WRONG_SECRET},
        {"X-Shopify-Hmac-SHA256": b64_hmac(SECRET.encode(), BODY)},
        "X-Shopify-Hmac-SHA256",
        "signature does not match",
    ),
    Scheme(
        "hmac timestamp.body",
        TIMESTAMPED,
        {"webhookSecret": SECRET},
        {"webhookSecret": WRONG_SECRET},
        {
            "X-Timestamp": str(NOW_TS),
            "X-Signature": "v0=" + hex_hmac(SECRET.encode(), b"1700000000." + BODY),
        },
        "X-Signature",
        "signature does not match",
    ),
    Scheme(
        "token (Salla Token strategy)",
        strategy(strategy="token", header="Authorization", prefix="Bearer "),
        {"webhookToken": "salla-token-77c1"},
        {"webhookToken": "salla-token-0000"},
        {"Authorization": "Bearer salla-token-77c1"},
        "Authorization",
        "token does not match",
        signs_body=False,
    ),
    Scheme(
        "bearer",
        strategy(strategy="bearer"),
        {"webhookToken": "tok-5b8e2d"},
        {"webhookToken": "tok-000000"},
        {"Authorization": "Bearer tok-5b8e2d"},
        "Authorization",
        "token does not match",
        signs_body=False,
    ),
    Scheme(
        "basic (Zid)",
        ZID,
        {"webhookUsername": "zid-hooks", "webhookPassword": "p4ss-w0rd"},
        {"webhookUsername": "zid-hooks", "webhookPassword": "not-the-one"},
        {"Authorization": basic("zid-hooks", "p4ss-w0rd")},
        "Authorization",
        "user name or password does not match",
        signs_body=False,
    ),
    Scheme(
        "standard_webhooks",
        STANDARD,
        {"webhookSecret": SW_SECRET},
        {"webhookSecret": SW_WRONG},
        {
            "webhook-id": "msg_2b7Qk9",
            "webhook-timestamp": str(NOW_TS),
            "webhook-signature": sw_signature(SW_SECRET, "msg_2b7Qk9", NOW_TS, BODY),
        },
        "webhook-signature",
        "signature does not match",
    ),
]
IDS = [scheme.name for scheme in SCHEMES]


def refused(
    verification: Any,
    credentials: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes = BODY,
    *,
    now: datetime = NOW,
    **options: Any,
) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_delivery(verification, credentials, headers, body, now=now, **options)
    return caught.value


@pytest.mark.parametrize("scheme", SCHEMES, ids=IDS)
def test_an_authentic_delivery_passes(scheme: Scheme) -> None:
    verify_delivery(scheme.verification, scheme.credentials, scheme.headers, BODY, now=NOW)


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s.signs_body], ids=lambda s: s.name)
def test_a_tampered_body_is_refused(scheme: Scheme) -> None:
    error = refused(scheme.verification, scheme.credentials, scheme.headers, TAMPERED)
    assert error.reason == "signature does not match"


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if not s.signs_body], ids=lambda s: s.name)
def test_shared_secret_strategies_do_not_cover_the_body(scheme: Scheme) -> None:
    # Token, bearer and basic authenticate the sender only; the body is whatever arrives with them.
    verify_delivery(scheme.verification, scheme.credentials, scheme.headers, TAMPERED, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES, ids=IDS)
def test_a_delivery_signed_with_another_secret_is_refused(scheme: Scheme) -> None:
    error = refused(scheme.verification, scheme.wrong_credentials, scheme.headers)
    assert error.reason == scheme.mismatch
    assert not isinstance(error, CredentialError)


@pytest.mark.parametrize("scheme", SCHEMES, ids=IDS)
def test_a_missing_signature_header_is_refused(scheme: Scheme) -> None:
    headers = {k: v for k, v in scheme.headers.items() if k != scheme.required_header}
    assert refused(scheme.verification, scheme.credentials, headers).reason == (
        f"missing header {scheme.required_header}"
    )


@pytest.mark.parametrize("scheme", SCHEMES, ids=IDS)
def test_a_blank_signature_header_counts_as_missing(scheme: Scheme) -> None:
    headers = {**scheme.headers, scheme.required_header: "  "}
    assert refused(scheme.verification, scheme.credentials, headers).reason == (
        f"missing header {scheme.required_header}"
    )


@pytest.mark.parametrize("scheme", SCHEMES, ids=IDS)
@pytest.mark.parametrize("spelling", [str.lower, str.upper])
def test_header_names_match_whatever_their_case(scheme: Scheme, spelling: Any) -> None:
    headers = {spelling(name): value for name, value in scheme.headers.items()}
    verify_delivery(scheme.verification, scheme.credentials, headers, BODY, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES, ids=IDS)
def test_httpx_headers_are_accepted_as_received(scheme: Scheme) -> None:
    verify_delivery(scheme.verification, scheme.credentials, httpx.Headers(scheme.headers), BODY, now=NOW)


@pytest.mark.parametrize("scheme", SCHEMES, ids=IDS)
@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_credential_is_a_configuration_fault(scheme: Scheme, value: str | None) -> None:
    missing = next(iter(scheme.credentials))
    credentials = {k: v for k, v in scheme.credentials.items() if k != missing}
    if value is not None:
        credentials[missing] = value
    error = refused(scheme.verification, credentials, scheme.headers)
    assert isinstance(error, MissingCredentialError)
    assert isinstance(error, CredentialError)
    assert error.name == missing
    assert error.reason == f"credential {missing} is not set for this integration"


@pytest.mark.parametrize("verification", [None, strategy(strategy="none")], ids=["absent", "none"])
def test_no_verification_accepts_anything(verification: Any) -> None:
    verify_delivery(verification, {}, {}, TAMPERED, now=NOW)


def test_the_reasons_never_leak_secrets_digests_or_the_body() -> None:
    leaks = [SECRET, WRONG_SECRET, SW_SECRET, SW_WRONG, "p4ss-w0rd", "not-the-one", "salla-token", "tok-"]
    leaks += [hex_hmac(SECRET.encode(), TAMPERED), b64_hmac(SECRET.encode(), TAMPERED), "0.01", "49.90"]
    reasons = []
    for scheme in SCHEMES:
        for credentials in (scheme.credentials, scheme.wrong_credentials):
            for body in (BODY, TAMPERED):
                try:
                    verify_delivery(scheme.verification, credentials, scheme.headers, body, now=NOW)
                except VerificationError as error:
                    reasons.append(error.reason)
                    assert str(error) == error.reason
    # Wrong credentials fail all 7 schemes with either body; the right ones fail the 4 that sign the body.
    assert len(reasons) == 7 + 7 + 4
    assert not [reason for reason in reasons if any(leak in reason for leak in leaks)]


# --- hmac ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "encoding"),
    [(a, e) for a in ("sha1", "sha256", "sha512") for e in ("hex", "base64")],
)
def test_each_algorithm_and_encoding(algorithm: str, encoding: str) -> None:
    verification = strategy(strategy="hmac", header="X-Sig", algorithm=algorithm, encoding=encoding)
    digest = hmac.new(SECRET.encode(), BODY, getattr(hashlib, algorithm)).digest()
    written = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    credentials = {"webhookSecret": SECRET}
    verify_delivery(verification, credentials, {"X-Sig": written}, BODY, now=NOW)
    other = "sha1" if algorithm != "sha1" else "sha256"
    wrong = hmac.new(SECRET.encode(), BODY, other).digest()
    wrong_written = wrong.hex() if encoding == "hex" else base64.b64encode(wrong).decode()
    assert refused(verification, credentials, {"X-Sig": wrong_written}).reason == "signature does not match"


def test_a_hex_signature_compares_case_insensitively() -> None:
    upper = hex_hmac(SECRET.encode(), BODY).upper()
    verify_delivery(SALLA, {"webhookSecret": SECRET}, {"X-Salla-Signature": upper}, BODY, now=NOW)


def test_a_base64_signature_is_case_sensitive() -> None:
    swapped = b64_hmac(SECRET.encode(), BODY).swapcase()
    headers = {"X-Shopify-Hmac-SHA256": swapped}
    assert refused(SHOPIFY, {"webhookSecret": SECRET}, headers).reason == "signature does not match"


def test_the_prefix_is_required_and_its_case_is_ignored() -> None:
    verification = strategy(strategy="hmac", header="X-Hub-Signature-256", encoding="hex", prefix="sha256=")
    digest = hex_hmac(SECRET.encode(), BODY)
    credentials = {"webhookSecret": SECRET}
    verify_delivery(verification, credentials, {"X-Hub-Signature-256": "sha256=" + digest}, BODY, now=NOW)
    verify_delivery(verification, credentials, {"X-Hub-Signature-256": "SHA256=" + digest}, BODY, now=NOW)
    error = refused(verification, credentials, {"X-Hub-Signature-256": digest})
    assert error.reason == "header X-Hub-Signature-256 does not start with 'sha256='"


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    # The signature over BODY alone (no timestamp) must not pass a timestamp.body definition.
    headers = {"X-Timestamp": str(NOW_TS), "X-Signature": "v0=" + hex_hmac(SECRET.encode(), BODY)}
    assert refused(TIMESTAMPED, {"webhookSecret": SECRET}, headers).reason == "signature does not match"
    # Nor does a good signature with a different timestamp header.
    moved = {**SCHEMES[2].headers, "X-Timestamp": str(NOW_TS + 1)}
    assert refused(TIMESTAMPED, {"webhookSecret": SECRET}, moved).reason == "signature does not match"


def timestamped_headers(ts: int) -> dict[str, str]:
    return {
        "X-Timestamp": str(ts),
        "X-Signature": "v0=" + hex_hmac(SECRET.encode(), f"{ts}.".encode() + BODY),
    }


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (-412, "timestamp 1699999588 is 412 s away from now (tolerance 300 s)"),
        (-301, "timestamp 1699999699 is 301 s away from now (tolerance 300 s)"),
        (301, "timestamp 1700000301 is 301 s away from now (tolerance 300 s)"),
        (86_400, "timestamp 1700086400 is 86400 s away from now (tolerance 300 s)"),
    ],
    ids=["stale", "just-stale", "just-future", "future"],
)
def test_hmac_timestamps_outside_the_tolerance_are_refused(offset: int, reason: str) -> None:
    headers = timestamped_headers(NOW_TS + offset)
    assert refused(TIMESTAMPED, {"webhookSecret": SECRET}, headers).reason == reason


@pytest.mark.parametrize("offset", [-300, 300])
def test_hmac_timestamps_at_the_tolerance_pass(offset: int) -> None:
    verify_delivery(
        TIMESTAMPED, {"webhookSecret": SECRET}, timestamped_headers(NOW_TS + offset), BODY, now=NOW
    )


def test_the_tolerance_comes_from_the_definition() -> None:
    strict = strategy(
        strategy="hmac",
        header="X-Signature",
        encoding="hex",
        signedContent="timestamp.body",
        timestampHeader="X-Timestamp",
        prefix="v0=",
        toleranceSeconds=30,
    )
    error = refused(strict, {"webhookSecret": SECRET}, timestamped_headers(NOW_TS - 31))
    assert error.reason == "timestamp 1699999969 is 31 s away from now (tolerance 30 s)"


def test_a_replayed_archive_skips_the_age_check_but_not_the_signature() -> None:
    old = timestamped_headers(NOW_TS - 7 * 86_400)
    credentials = {"webhookSecret": SECRET}
    verify_delivery(TIMESTAMPED, credentials, old, BODY, now=NOW, check_timestamp=False)
    error = refused(TIMESTAMPED, credentials, old, TAMPERED, check_timestamp=False)
    assert error.reason == "signature does not match"


@pytest.mark.parametrize("value", ["soon", "1700000000.5", "-1700000000", "+1700000000", "1_700_000_000"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(value: str) -> None:
    headers = {**timestamped_headers(NOW_TS), "X-Timestamp": value}
    assert refused(TIMESTAMPED, {"webhookSecret": SECRET}, headers).reason == (
        "header X-Timestamp is not a Unix time in seconds"
    )


def test_a_missing_timestamp_header_is_refused() -> None:
    headers = {"X-Signature": timestamped_headers(NOW_TS)["X-Signature"]}
    assert refused(TIMESTAMPED, {"webhookSecret": SECRET}, headers).reason == "missing header X-Timestamp"


def test_the_secret_is_utf8_as_platforms_key_it() -> None:
    secret = "clé-secrète"
    headers = {"X-Salla-Signature": hex_hmac("clé-secrète".encode(), BODY)}
    verify_delivery(SALLA, {"webhookSecret": secret}, headers, BODY, now=NOW)


# --- headers ------------------------------------------------------------------------------------


def test_a_header_sent_twice_with_different_values_is_refused() -> None:
    good = hex_hmac(SECRET.encode(), BODY)
    headers = {"X-Salla-Signature": good, "x-salla-signature": "f" * 64}
    assert refused(SALLA, {"webhookSecret": SECRET}, headers).reason == (
        "header X-Salla-Signature is sent more than once with different values"
    )


def test_a_header_sent_twice_with_the_same_value_passes() -> None:
    good = hex_hmac(SECRET.encode(), BODY)
    headers = {"X-Salla-Signature": good, "x-salla-signature": good}
    verify_delivery(SALLA, {"webhookSecret": SECRET}, headers, BODY, now=NOW)


def test_surrounding_whitespace_in_a_header_is_ignored() -> None:
    headers = {"X-Salla-Signature": f"  {hex_hmac(SECRET.encode(), BODY)}\t"}
    verify_delivery(SALLA, {"webhookSecret": SECRET}, headers, BODY, now=NOW)


def test_now_must_carry_a_time_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_delivery(None, {}, {}, BODY, now=datetime(2024, 1, 1, 12, 0))


def test_now_in_another_time_zone_is_the_same_instant() -> None:
    riyadh = datetime(2023, 11, 15, 1, 13, 20, tzinfo=timezone(timedelta(hours=3)))  # 1700000000
    verify_delivery(TIMESTAMPED, {"webhookSecret": SECRET}, timestamped_headers(NOW_TS), BODY, now=riyadh)
    error = refused(TIMESTAMPED, {"webhookSecret": SECRET}, timestamped_headers(NOW_TS - 400), now=riyadh)
    assert error.reason == "timestamp 1699999600 is 400 s away from now (tolerance 300 s)"


# --- token and bearer ---------------------------------------------------------------------------


def test_a_token_in_its_own_header_without_prefix() -> None:
    verification = strategy(strategy="token", header="X-Webhook-Token")
    credentials = {"webhookToken": "t-91f0"}
    verify_delivery(verification, credentials, {"x-webhook-token": "t-91f0"}, BODY, now=NOW)
    assert refused(verification, credentials, {"X-Webhook-Token": "t-91f"}).reason == "token does not match"
    assert refused(verification, credentials, {"X-Webhook-Token": "t-91f00"}).reason == "token does not match"


def test_a_token_without_its_prefix_is_refused() -> None:
    scheme = SCHEMES[3]
    error = refused(scheme.verification, scheme.credentials, {"Authorization": "salla-token-77c1"})
    assert error.reason == "header Authorization does not start with 'Bearer '"


@pytest.mark.parametrize("value", ["bearer tok-5b8e2d", "BEARER   tok-5b8e2d"])
def test_the_bearer_scheme_is_case_insensitive(value: str) -> None:
    verify_delivery(
        strategy(strategy="bearer"), {"webhookToken": "tok-5b8e2d"}, {"Authorization": value}, BODY, now=NOW
    )


@pytest.mark.parametrize("value", ["Basic tok-5b8e2d", "Bearer", "tok-5b8e2d", "Bearer    "])
def test_an_authorization_that_is_not_bearer_is_refused(value: str) -> None:
    error = refused(strategy(strategy="bearer"), {"webhookToken": "tok-5b8e2d"}, {"Authorization": value})
    assert error.reason == "header Authorization does not carry a Bearer token"


# --- basic --------------------------------------------------------------------------------------

ZID_CREDENTIALS = {"webhookUsername": "zid-hooks", "webhookPassword": "p4ss-w0rd"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Bearer emlkLWhvb2tzOnA0c3MtdzByZA==", "header Authorization does not carry Basic credentials"),
        ("Basic", "header Authorization does not carry Basic credentials"),
        ("Basic !!not-base64!!", "Basic credentials are not valid base64"),
        ("Basic emlkLWhvb2tzOnA0c3MtdzByZA", "Basic credentials are not valid base64"),  # padding cut
        ("Basic ذهب", "Basic credentials are not valid base64"),
        ("Basic " + base64.b64encode(b"zid-hooksp4ss-w0rd").decode(), "Basic credentials lack the ':'"),
        (basic("zid-hook", "p4ss-w0rd"), "user name or password does not match"),
        (basic("zid-hooks", "p4ss-w0rd:"), "user name or password does not match"),
        (basic("", ""), "user name or password does not match"),
    ],
)
def test_bad_basic_credentials_are_refused(value: str, reason: str) -> None:
    assert refused(ZID, ZID_CREDENTIALS, {"Authorization": value}).reason.startswith(reason)


def test_the_basic_header_in_the_shape_zid_sends() -> None:
    # base64("zid-hooks:p4ss-w0rd") worked out by hand.
    headers = {"authorization": "basic emlkLWhvb2tzOnA0c3MtdzByZA=="}
    verify_delivery(ZID, ZID_CREDENTIALS, headers, BODY, now=NOW)


def test_a_basic_password_may_hold_colons_and_non_ascii() -> None:
    credentials = {"webhookUsername": "متجر", "webhookPassword": "a:b:ç"}
    header = "Basic " + base64.b64encode("متجر:a:b:ç".encode()).decode()
    verify_delivery(ZID, credentials, {"Authorization": header}, BODY, now=NOW)


def test_basic_needs_both_credentials() -> None:
    error = refused(ZID, {"webhookUsername": "zid-hooks"}, {"Authorization": basic("zid-hooks", "x")})
    assert isinstance(error, MissingCredentialError)
    assert error.name == "webhookPassword"


# --- standard webhooks through the connector model ----------------------------------------------


def test_standard_webhooks_header_names_and_tolerance_come_from_the_definition() -> None:
    verification = strategy(
        strategy="standard_webhooks",
        idHeader="svix-id",
        timestampHeader="svix-timestamp",
        signatureHeader="svix-signature",
        toleranceSeconds=60,
    )
    ts = NOW_TS - 61
    headers = {
        "svix-id": "msg_1",
        "svix-timestamp": str(ts),
        "svix-signature": sw_signature(SW_SECRET, "msg_1", ts, BODY),
    }
    credentials = {"webhookSecret": SW_SECRET}
    error = refused(verification, credentials, headers)
    assert error.reason == "timestamp 1699999939 is 61 s away from now (tolerance 60 s)"
    verify_delivery(verification, credentials, headers, BODY, now=NOW, check_timestamp=False)


@pytest.mark.parametrize(("offset", "skew"), [(-301, 301), (301, 301)], ids=["stale", "future"])
def test_standard_webhooks_stale_and_future_timestamps_are_refused(offset: int, skew: int) -> None:
    ts = NOW_TS + offset
    headers = {
        "webhook-id": "msg_2b7Qk9",
        "webhook-timestamp": str(ts),
        "webhook-signature": sw_signature(SW_SECRET, "msg_2b7Qk9", ts, BODY),
    }
    assert refused(STANDARD, {"webhookSecret": SW_SECRET}, headers).reason == (
        f"timestamp {ts} is {skew} s away from now (tolerance 300 s)"
    )


def test_a_malformed_standard_webhooks_secret_is_a_configuration_fault() -> None:
    scheme = SCHEMES[6]
    error = refused(STANDARD, {"webhookSecret": "whsec_not base64!"}, scheme.headers)
    assert isinstance(error, CredentialError)
    assert not isinstance(error, MissingCredentialError)
    assert "not base64" in error.reason


def test_a_basic_user_name_holding_a_colon_is_a_configuration_fault() -> None:
    credentials = {"webhookUsername": "zid:hooks", "webhookPassword": "pw"}
    header = "Basic " + base64.b64encode(b"zid:hooks:pw").decode()
    error = refused(ZID, credentials, {"Authorization": header})
    assert isinstance(error, CredentialError)
    assert error.reason == "credential webhookUsername holds a ':', which no Basic user name can"
