"""verify_app_token: the PIM's X-APP-TOKEN, HS256 with the installation's shared secret and nothing else.

Tokens are built with PyJWT, and by hand (base64url header and payload, an HMAC of them) where the
header names another algorithm: those are refused before any signature is checked. Times are checked
against the ``now`` given, with 60 s of leeway either way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest

from mercator.signatures.app_token import LEEWAY_SECONDS, AppClaims, verify_app_token
from mercator.signatures.primitives import VerificationError

SECRET = "an-app-installation-shared-secret-0123456789"  # 44 bytes, above HS256's 32
NOW = 1_700_000_000.0


def token(claims: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def by_hand(
    header: dict[str, Any], claims: dict[str, Any], digest: Any = hashlib.sha256, secret: str = SECRET
) -> str:
    """A JWS compact token: base64url header and payload, signed with an HMAC of them (or unsigned)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = (
        "" if digest is None else b64url(hmac.new(secret.encode(), signing_input.encode(), digest).digest())
    )
    return f"{signing_input}.{signature}"


CLAIMS = {
    "app_installation_id": "inst-1",
    "synchronization_id": "sync-42",
    "iat": int(NOW) - 5,
    "nbf": int(NOW) - 5,
    "exp": int(NOW) + 300,
}


def refusal(presented: str | None, *, secret: str = SECRET, **kwargs: Any) -> str:
    """The reason a token is refused, checked safe to log: it names neither the token nor the secret."""
    with pytest.raises(VerificationError) as refused:
        verify_app_token(presented, secret, now=NOW, **kwargs)
    reason = refused.value.reason
    assert not secret or secret not in reason
    assert not presented or presented not in reason
    return reason


# --- accepted ----------------------------------------------------------------------------------


def test_a_valid_token_gives_its_claims() -> None:
    # Given a token the PIM signed with the installation's secret
    # When it is verified for that installation
    claims = verify_app_token(token(CLAIMS), SECRET, installation_id="inst-1", now=NOW)
    # Then its claims are returned
    assert claims == AppClaims(installation_id="inst-1", synchronization_id="sync-42")


def test_a_token_without_optional_claims_is_valid() -> None:
    # Given a signed token with no times, installation or synchronization
    # When it is verified with no installation expected
    claims = verify_app_token(token({}), SECRET, now=NOW)
    # Then it is valid, with no claims to give
    assert claims == AppClaims(installation_id=None, synchronization_id=None)


def test_the_wall_clock_is_used_without_now() -> None:
    # Given a token valid now and one expired long ago, by the wall clock
    fresh = token({"exp": 4_000_000_000})
    stale = token({"exp": 1_000_000_000})
    # When verified without `now`, Then the first passes and the second is refused
    assert verify_app_token(fresh, SECRET) == AppClaims(None, None)
    with pytest.raises(VerificationError, match="expired"):
        verify_app_token(stale, SECRET)


# --- not a token -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "presented", [pytest.param(None, id="no-header"), pytest.param("", id="empty-header")]
)
def test_a_request_without_a_token_is_refused(presented: str | None) -> None:
    # Given no X-APP-TOKEN, When verified, Then it is refused as missing
    assert refusal(presented) == "no X-APP-TOKEN header"


@pytest.mark.parametrize(
    "presented",
    [
        pytest.param("not-a-jwt", id="one-segment"),
        pytest.param("a.b.c", id="segments-not-base64-json"),
        pytest.param(f"{b64url(b'[1, 2]')}.{b64url(b'{}')}.", id="header-not-an-object"),
        pytest.param("Bearer " + "x" * 20, id="bearer-text"),
    ],
)
def test_something_that_is_not_a_jwt_is_refused(presented: str) -> None:
    # Given a header value that is no JWT, When verified, Then it is refused as such
    assert refusal(presented) == "X-APP-TOKEN is not a JWT"


def test_a_token_whose_payload_is_not_json_is_invalid() -> None:
    # Given an HS256 header over a payload that is not JSON, signed with the secret
    signing_input = f"{b64url(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64url(b'not json')}"
    signature = b64url(hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest())
    # When verified, Then it is refused as invalid, naming the error's kind only
    assert refusal(f"{signing_input}.{signature}") == "X-APP-TOKEN is invalid: DecodeError"


# --- algorithms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("presented", "named"),
    [
        pytest.param(by_hand({"alg": "none", "typ": "JWT"}, CLAIMS, digest=None), "'none'", id="alg-none"),
        pytest.param(
            by_hand({"alg": "HS512", "typ": "JWT"}, CLAIMS, digest=hashlib.sha512), "'HS512'", id="hs512"
        ),
        # An RS256 header over an HMAC with the secret: the key-confusion attack's shape
        pytest.param(by_hand({"alg": "RS256", "typ": "JWT"}, CLAIMS), "'RS256'", id="rs256-shaped"),
        pytest.param(by_hand({"alg": "hs256", "typ": "JWT"}, CLAIMS), "'hs256'", id="lowercase-hs256"),
        pytest.param(by_hand({"typ": "JWT"}, CLAIMS), "None", id="no-alg"),
    ],
)
def test_a_token_naming_another_algorithm_is_refused_before_its_signature_is_checked(
    presented: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a token whose header names an algorithm other than HS256 (signed correctly for it)
    def no_signature_check(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the signature was looked at")

    monkeypatch.setattr(jwt, "decode", no_signature_check)
    # When verified, Then it is refused for its algorithm, and the signature never checked
    assert refusal(presented) == f"X-APP-TOKEN is signed with {named}; only HS256 is accepted"


def test_a_hand_built_hs256_token_is_accepted() -> None:
    # Given the same hand-built shape with HS256, the control for the cases above
    presented = by_hand({"alg": "HS256", "typ": "JWT"}, CLAIMS)
    # When verified, Then it passes
    assert verify_app_token(presented, SECRET, now=NOW) == AppClaims("inst-1", "sync-42")


# --- signature ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "presented",
    [
        pytest.param(token(CLAIMS, secret="another-installations-secret-9876543210"), id="other-secret"),
        pytest.param(token(CLAIMS)[:-4] + "AAAA", id="signature-altered"),
        pytest.param(
            ".".join(
                [
                    token(CLAIMS).split(".")[0],
                    b64url(json.dumps({**CLAIMS, "app_installation_id": "x"}).encode()),
                    token(CLAIMS).split(".")[2],
                ]
            ),
            id="payload-altered",
        ),
    ],
)
def test_a_token_not_signed_with_the_secret_is_refused(presented: str) -> None:
    # Given a token whose signature does not match the secret, When verified, Then it is refused
    assert refusal(presented) == "X-APP-TOKEN's signature does not match the app secret"


# --- times -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "valid"),
    [
        pytest.param({"exp": NOW + 1}, True, id="exp-ahead"),
        pytest.param({"exp": NOW - 30}, True, id="expired-within-leeway"),
        pytest.param({"exp": NOW - LEEWAY_SECONDS}, True, id="expired-by-exactly-the-leeway"),
        pytest.param({"exp": NOW - LEEWAY_SECONDS - 1}, False, id="expired-beyond-leeway"),
        pytest.param({"exp": NOW - 3600}, False, id="expired-an-hour-ago"),
        pytest.param({"exp": NOW - LEEWAY_SECONDS - 0.5}, False, id="float-exp-just-beyond"),
    ],
)
def test_exp_is_checked_with_a_minute_of_leeway(claims: dict[str, Any], valid: bool) -> None:
    # Given a token expiring at the given time
    presented = token(claims)
    # When verified at NOW, Then it passes within the leeway and is refused beyond it
    if valid:
        assert verify_app_token(presented, SECRET, now=NOW) == AppClaims(None, None)
    else:
        assert refusal(presented) == "X-APP-TOKEN has expired"


@pytest.mark.parametrize(
    ("claims", "valid"),
    [
        pytest.param({"nbf": NOW - 1}, True, id="nbf-past"),
        pytest.param({"nbf": NOW + 30}, True, id="nbf-future-within-leeway"),
        pytest.param({"nbf": NOW + LEEWAY_SECONDS}, True, id="nbf-future-by-exactly-the-leeway"),
        pytest.param({"nbf": NOW + LEEWAY_SECONDS + 1}, False, id="nbf-future-beyond-leeway"),
    ],
)
def test_nbf_is_checked_with_a_minute_of_leeway(claims: dict[str, Any], valid: bool) -> None:
    # Given a token not valid before the given time
    presented = token(claims)
    # When verified at NOW, Then it passes within the leeway and is refused beyond it
    if valid:
        assert verify_app_token(presented, SECRET, now=NOW) == AppClaims(None, None)
    else:
        assert refusal(presented) == "X-APP-TOKEN is not valid yet (nbf in the future)"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("exp", "1700000300", id="exp-numeric-string"),
        pytest.param("exp", "tomorrow", id="exp-text"),
        pytest.param("exp", True, id="exp-boolean"),
        pytest.param("exp", [NOW + 300], id="exp-list"),
        pytest.param("nbf", "yesterday", id="nbf-text"),
        pytest.param("nbf", False, id="nbf-boolean"),
    ],
)
def test_a_time_that_is_not_a_number_is_refused(name: str, value: Any) -> None:
    # Given a signed token whose exp or nbf is not a number of seconds
    presented = token({name: value})
    # When verified, Then it is refused, naming the claim
    assert refusal(presented) == f"X-APP-TOKEN's {name} is not a number of seconds"


def test_iat_in_the_future_is_not_checked() -> None:
    # Given a token issued (by its iat) a day ahead, with no nbf
    presented = token({"iat": int(NOW) + 86_400})
    # When verified, Then it passes: only exp and nbf are times that refuse
    assert verify_app_token(presented, SECRET, now=NOW) == AppClaims(None, None)


# --- installation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "expected", "result"),
    [
        pytest.param({"app_installation_id": "inst-1"}, "inst-1", AppClaims("inst-1", None), id="match"),
        pytest.param({"app_installation_id": "inst-2"}, None, AppClaims("inst-2", None), id="not-required"),
        pytest.param({}, None, AppClaims(None, None), id="not-required-absent"),
    ],
)
def test_the_installation_is_accepted_when_it_matches_or_is_not_required(
    claims: dict[str, Any], expected: str | None, result: AppClaims
) -> None:
    # Given a token for an installation, When verified expecting the given one (or none)
    # Then it passes, with the token's installation
    assert verify_app_token(token(claims), SECRET, installation_id=expected, now=NOW) == result


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"app_installation_id": "inst-2"}, id="another-installation"),
        pytest.param({"app_installation_id": "INST-1"}, id="differs-in-case"),
        pytest.param({}, id="claim-absent"),
    ],
)
def test_a_token_for_another_installation_is_refused(claims: dict[str, Any]) -> None:
    # Given a validly signed token not for installation inst-1
    # When verified expecting inst-1, Then it is refused
    assert refusal(token(claims), installation_id="inst-1") == "X-APP-TOKEN is for another app installation"


# --- the secret --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("", id="empty"),
        pytest.param("s" * 15, id="15-bytes"),
        pytest.param("ä" * 7, id="14-bytes-in-7-characters"),
    ],
)
def test_a_secret_shorter_than_16_bytes_is_refused(secret: str) -> None:
    # Given a token correctly signed with a too-short secret
    presented = by_hand({"alg": "HS256", "typ": "JWT"}, CLAIMS, secret=secret)
    # When verified with it, Then it is refused for the secret, whatever the token
    assert refusal(presented, secret=secret) == "the integration's app secret is shorter than 16 bytes"


@pytest.mark.parametrize(
    "secret",
    [pytest.param("s" * 16, id="16-bytes"), pytest.param("ä" * 8, id="16-bytes-in-8-characters")],
)
@pytest.mark.filterwarnings("ignore::jwt.InsecureKeyLengthWarning")
def test_a_secret_of_16_bytes_is_accepted(secret: str) -> None:
    # Given a token signed with a secret of exactly 16 bytes (counted as UTF-8)
    presented = token(CLAIMS, secret=secret)
    # When verified with it, Then it passes
    assert verify_app_token(presented, secret, now=NOW) == AppClaims("inst-1", "sync-42")


def test_the_secret_is_checked_before_the_token_is_read() -> None:
    # Given something that is not a JWT, and a short secret
    # When verified, Then the secret is what is refused (a configuration fault, whatever is sent)
    assert (
        refusal("not-a-jwt", secret="x9q-secret") == "the integration's app secret is shorter than 16 bytes"
    )
