"""Decide whether a webhook delivery is authentic, for every verification strategy a connector can name.

Every comparison of a signature, token or password runs in constant time. A refusal says why in a
reason that is safe to log: it names headers, credentials and timestamps, never a secret, an expected
digest or the body.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Mapping
from datetime import datetime

from mercator.connector.webhook import (
    BasicVerification,
    BearerVerification,
    HmacVerification,
    NoVerification,
    StandardWebhooksVerification,
    TokenVerification,
    Verification,
)
from mercator.domain.deliveries import Headers

__all__ = [
    "CredentialError",
    "MissingCredentialError",
    "VerificationError",
    "basic_credentials",
    "credential",
    "epoch_seconds",
    "header_value",
    "hmac_signature",
    "secret_headers",
    "signed_timestamp",
    "verify_delivery",
]

_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class VerificationError(Exception):
    """Why a delivery was refused. `reason` is safe to log: never a secret, a signature or a body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CredentialError(VerificationError):
    """The integration's credentials cannot verify deliveries: a configuration fault, not the sender's."""


class MissingCredentialError(CredentialError):
    """The integration lacks the credential the strategy names."""

    def __init__(self, name: str) -> None:
        super().__init__(f"credential {name} is not set for this integration")
        self.name = name


def verify_delivery(
    verification: Verification | None,
    credentials: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    check_timestamp: bool = True,
) -> None:
    """Return if the delivery is authentic under ``verification``; raise VerificationError if not.

    ``body`` must be the raw bytes as received: a re-serialised JSON body no longer matches its
    signature. ``check_timestamp=False`` is for replaying an archived delivery, whose signed
    timestamp is old by design; the signature over it is still checked.
    """
    epoch_seconds(now)
    match verification:
        case None | NoVerification():
            return
        case HmacVerification():
            _verify_hmac(verification, credentials, headers, body, now=now, check_timestamp=check_timestamp)
        case TokenVerification():
            token = credential(credentials, verification.secret)
            presented = _strip_prefix(header_value(headers, verification.header), verification)
            _require_equal(presented, token, "token does not match")
        case BearerVerification():
            token = credential(credentials, verification.secret)
            _require_equal(_bearer_token(headers), token, "token does not match")
        case BasicVerification():
            _verify_basic(verification, credentials, headers)
        case StandardWebhooksVerification():
            # Imported here because standard_webhooks raises this module's errors: a top-level import
            # would be circular.
            from mercator.signatures import standard_webhooks  # noqa: PLC0415

            standard_webhooks.verify(
                credential(credentials, verification.secret),
                headers,
                body,
                now=now,
                tolerance_seconds=verification.toleranceSeconds,
                id_header=verification.idHeader,
                timestamp_header=verification.timestampHeader,
                signature_header=verification.signatureHeader,
                check_timestamp=check_timestamp,
            )


def credential(credentials: Mapping[str, str], name: str) -> str:
    """The integration's credential ``name``; an empty value counts as unset (it would sign nothing)."""
    value = credentials.get(name)
    if not value:
        raise MissingCredentialError(name)
    return value


def header_value(headers: Mapping[str, str], name: str) -> str:
    """The value of header ``name``, found whatever its case; absent or blank is an error.

    A header sent twice (two copies kept by ``Headers``, or ``X-Sig`` and ``x-sig`` in a plain
    mapping) with different values is refused rather than picking one: which one a proxy would have
    kept, or which one a sender meant, is unknowable.
    """
    wanted = name.lower()
    if isinstance(headers, Headers):
        copies: tuple[str, ...] | list[str] = headers.copies(name)
    else:
        copies = [value for key, value in headers.items() if key.lower() == wanted]
    values = {value.strip() for value in copies}
    values.discard("")
    if not values:
        raise VerificationError(f"missing header {name}")
    if len(values) > 1:
        raise VerificationError(f"header {name} is sent more than once with different values")
    return values.pop()


def secret_headers(verification: Verification | None) -> frozenset[str]:
    """The headers (lower case) that carry a credential, or a signature made with one, under
    ``verification``: read to verify a delivery, never kept with it.

    An HMAC or Standard Webhooks signature is not the secret, but with the body it lets anyone who
    holds both test guesses of the secret offline; the timestamp and id headers stay.
    """
    match verification:
        case HmacVerification() | TokenVerification():
            return frozenset({verification.header.lower()})
        case BearerVerification() | BasicVerification():
            return frozenset({"authorization"})
        case StandardWebhooksVerification():
            return frozenset({verification.signatureHeader.lower()})
        case _:
            return frozenset()


def epoch_seconds(now: datetime) -> int:
    """Whole Unix seconds of ``now``, which must carry a time zone (a naive time would be read as local)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return int(now.timestamp())


def signed_timestamp(
    headers: Mapping[str, str],
    name: str,
    *,
    now: datetime,
    tolerance_seconds: int,
    check_timestamp: bool = True,
) -> int:
    """The Unix timestamp in header ``name``, refused when further than ``tolerance_seconds`` from now.

    Checking both directions stops replays of old deliveries and deliveries signed ahead of time.
    """
    raw = header_value(headers, name)
    if not _UNIX_SECONDS.fullmatch(raw):
        raise VerificationError(f"header {name} is not a Unix time in seconds")
    timestamp = int(raw)
    if check_timestamp:
        skew = abs(epoch_seconds(now) - timestamp)
        if skew > tolerance_seconds:
            raise VerificationError(
                f"timestamp {timestamp} is {skew} s away from now (tolerance {tolerance_seconds} s)"
            )
    return timestamp


def hmac_signature(verification: HmacVerification, secret: str, body: bytes, timestamp: str | None) -> str:
    """The header value a sender holding ``secret`` puts on ``body`` (prefix included).

    ``timestamp`` is the timestamp header's text, used when the definition signs ``timestamp.body``.
    """
    content = body
    if verification.signedContent == "timestamp.body":
        if timestamp is None:
            raise ValueError("signedContent 'timestamp.body' needs the timestamp")
        content = timestamp.encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), content, verification.algorithm).digest()
    written = digest.hex() if verification.encoding == "hex" else base64.b64encode(digest).decode("ascii")
    return verification.prefix + written


def _verify_hmac(
    verification: HmacVerification,
    credentials: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    check_timestamp: bool,
) -> None:
    secret = credential(credentials, verification.secret)
    presented = _strip_prefix(header_value(headers, verification.header), verification)
    timestamp: str | None = None
    if verification.signedContent == "timestamp.body":
        assert verification.timestampHeader is not None  # the model requires it for timestamp.body
        timestamp = str(
            signed_timestamp(
                headers,
                verification.timestampHeader,
                now=now,
                tolerance_seconds=verification.toleranceSeconds,
                check_timestamp=check_timestamp,
            )
        )
    expected = hmac_signature(verification, secret, body, timestamp)[len(verification.prefix) :]
    if verification.encoding == "hex":
        # Senders differ in the case of their hex digits; the digest is the same.
        presented = presented.lower()
    _require_equal(presented, expected, "signature does not match")


def _strip_prefix(value: str, verification: HmacVerification | TokenVerification) -> str:
    # The prefix is a label ('sha256=', 'Bearer '), not part of the secret: its case does not matter.
    prefix = verification.prefix
    if value[: len(prefix)].lower() != prefix.lower():
        raise VerificationError(f"header {verification.header} does not start with {prefix!r}")
    return value[len(prefix) :]


def _bearer_token(headers: Mapping[str, str]) -> str:
    scheme, _, token = header_value(headers, "Authorization").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise VerificationError("header Authorization does not carry a Bearer token")
    return token


def basic_credentials(verification: BasicVerification, credentials: Mapping[str, str]) -> tuple[str, str]:
    """The expected user name and password; a ':' in the user name could never be told apart."""
    username = credential(credentials, verification.username)
    password = credential(credentials, verification.password)
    if ":" in username:
        raise CredentialError(f"credential {verification.username} holds a ':', which no Basic user name can")
    return username, password


def _verify_basic(
    verification: BasicVerification, credentials: Mapping[str, str], headers: Mapping[str, str]
) -> None:
    username, password = (text.encode("utf-8") for text in basic_credentials(verification, credentials))
    scheme, _, encoded = header_value(headers, "Authorization").partition(" ")
    encoded = encoded.strip()
    if scheme.lower() != "basic" or not encoded:
        raise VerificationError("header Authorization does not carry Basic credentials")
    try:
        # Bytes, not text: senders disagree on the charset of user:pass, and bytes compare either way.
        decoded = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise VerificationError("Basic credentials are not valid base64") from None
    presented_user, colon, presented_password = decoded.partition(b":")
    if not colon:
        raise VerificationError("Basic credentials lack the ':' between user name and password")
    # Both comparisons always run, so timing does not tell which of the two was wrong.
    user_ok = hmac.compare_digest(presented_user, username)
    password_ok = hmac.compare_digest(presented_password, password)
    if not (user_ok and password_ok):
        raise VerificationError("user name or password does not match")


def _require_equal(presented: str, expected: str, reason: str) -> None:
    if not hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        raise VerificationError(reason)
