"""Decide whether a webhook delivery is authentic, for every verification strategy a connector can name.

``verify_delivery`` and ``secret_headers`` hand the definition's verification model to the strategy
registered for its type (``strategy_for``); this module holds the strategies of the schemes whose
primitives are short (HMAC, token, Bearer, Basic, none), ``standard_webhooks`` the Standard Webhooks
one. Every comparison of a signature, token or password runs in constant time. A refusal says why in
a reason that is safe to log: it names headers, credentials and timestamps, never a secret, an
expected digest or the body.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mercator.connector.webhook import (
    BasicVerification,
    BearerVerification,
    HmacVerification,
    NoVerification,
    TokenVerification,
    Verification,
)
from mercator.signatures.primitives import (
    CredentialError,
    MissingCredentialError,
    VerificationError,
    authorization,
    credential,
    epoch_seconds,
    header_value,
    require_equal,
    signed_timestamp,
)
from mercator.signatures.standard_webhooks import StandardWebhooksStrategy
from mercator.signatures.strategy import VERIFIERS, Outgoing, Received, VerificationStrategy

__all__ = [
    "BasicStrategy",
    "BearerStrategy",
    "CredentialError",
    "HmacStrategy",
    "MissingCredentialError",
    "StandardWebhooksStrategy",
    "TokenStrategy",
    "UnverifiedStrategy",
    "VerificationError",
    "basic_credentials",
    "credential",
    "epoch_seconds",
    "header_value",
    "hmac_signature",
    "secret_headers",
    "signed_timestamp",
    "strategy_for",
    "verify_delivery",
]


_UNVERIFIED = NoVerification(strategy="none")


def strategy_for(verification: Verification | None) -> VerificationStrategy[Any]:
    """The strategy of ``verification``; a connector that names none verifies nothing.

    Raises UnknownEntryError, listing the registered models, for a model no strategy is registered for.
    """
    model = _UNVERIFIED if verification is None else verification
    return VERIFIERS[type(model)](model)


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
    # A naive ``now`` is a caller's bug whatever the strategy, so it fails even where no time is read.
    epoch_seconds(now)
    strategy_for(verification).verify(credentials, headers, body, now=now, check_timestamp=check_timestamp)


def secret_headers(verification: Verification | None) -> frozenset[str]:
    """The headers (lower case) that carry a credential, or a signature made with one, under
    ``verification``: read to verify a delivery, never kept with it.

    An HMAC or Standard Webhooks signature is not the secret, but with the body it lets anyone who
    holds both test guesses of the secret offline; the timestamp and id headers stay.
    """
    return strategy_for(verification).secret_headers()


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


def basic_credentials(verification: BasicVerification, credentials: Mapping[str, str]) -> tuple[str, str]:
    """The expected user name and password; a ':' in the user name could never be told apart."""
    username = credential(credentials, verification.username)
    password = credential(credentials, verification.password)
    if ":" in username:
        raise CredentialError(f"credential {verification.username} holds a ':', which no Basic user name can")
    return username, password


@VERIFIERS.register(NoVerification)
class UnverifiedStrategy(VerificationStrategy[NoVerification]):
    """Every delivery is accepted and nothing is signed."""

    def _verify(self, credentials: Mapping[str, str], delivery: Received) -> None:
        return

    def _sign(self, credentials: Mapping[str, str], message: Outgoing) -> dict[str, str]:
        return {}

    def secret_headers(self) -> frozenset[str]:
        return frozenset()


@VERIFIERS.register(HmacVerification)
class HmacStrategy(VerificationStrategy[HmacVerification]):
    """An HMAC of the body, or of ``timestamp.body`` with the timestamp in its own header."""

    def _verify(self, credentials: Mapping[str, str], delivery: Received) -> None:
        settings = self.verification
        secret = credential(credentials, settings.secret)
        presented = _strip_prefix(header_value(delivery.headers, settings.header), settings)
        timestamp: str | None = None
        if settings.signedContent == "timestamp.body":
            assert settings.timestampHeader is not None  # the model requires it for timestamp.body
            timestamp = str(
                signed_timestamp(
                    delivery.headers,
                    settings.timestampHeader,
                    now=delivery.now,
                    tolerance_seconds=settings.toleranceSeconds,
                    check_timestamp=delivery.check_timestamp,
                )
            )
        expected = hmac_signature(settings, secret, delivery.body, timestamp)[len(settings.prefix) :]
        if settings.encoding == "hex":
            # Senders differ in the case of their hex digits; the digest is the same.
            presented = presented.lower()
        require_equal(presented, expected, "signature does not match")

    def _sign(self, credentials: Mapping[str, str], message: Outgoing) -> dict[str, str]:
        settings = self.verification
        secret = credential(credentials, settings.secret)
        if settings.signedContent == "body":
            return {settings.header: hmac_signature(settings, secret, message.body, None)}
        assert settings.timestampHeader is not None  # the model requires it for timestamp.body
        timestamp = str(epoch_seconds(message.now))
        return {
            settings.timestampHeader: timestamp,
            settings.header: hmac_signature(settings, secret, message.body, timestamp),
        }

    def secret_headers(self) -> frozenset[str]:
        return frozenset({self.verification.header.lower()})


@VERIFIERS.register(TokenVerification)
class TokenStrategy(VerificationStrategy[TokenVerification]):
    """A shared token in a header, after an optional prefix."""

    def _verify(self, credentials: Mapping[str, str], delivery: Received) -> None:
        settings = self.verification
        token = credential(credentials, settings.secret)
        presented = _strip_prefix(header_value(delivery.headers, settings.header), settings)
        require_equal(presented, token, "token does not match")

    def _sign(self, credentials: Mapping[str, str], message: Outgoing) -> dict[str, str]:
        settings = self.verification
        return {settings.header: settings.prefix + credential(credentials, settings.secret)}

    def secret_headers(self) -> frozenset[str]:
        return frozenset({self.verification.header.lower()})


@VERIFIERS.register(BearerVerification)
class BearerStrategy(VerificationStrategy[BearerVerification]):
    """``Authorization: Bearer <token>``."""

    def _verify(self, credentials: Mapping[str, str], delivery: Received) -> None:
        token = credential(credentials, self.verification.secret)
        presented = authorization(delivery.headers, "Bearer", "a Bearer token")
        require_equal(presented, token, "token does not match")

    def _sign(self, credentials: Mapping[str, str], message: Outgoing) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential(credentials, self.verification.secret)}"}

    def secret_headers(self) -> frozenset[str]:
        return frozenset({"authorization"})


@VERIFIERS.register(BasicVerification)
class BasicStrategy(VerificationStrategy[BasicVerification]):
    """HTTP Basic credentials: a user name and a password, both integration credentials."""

    def _verify(self, credentials: Mapping[str, str], delivery: Received) -> None:
        expected = basic_credentials(self.verification, credentials)
        username, password = (text.encode("utf-8") for text in expected)
        encoded = authorization(delivery.headers, "Basic", "Basic credentials")
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

    def _sign(self, credentials: Mapping[str, str], message: Outgoing) -> dict[str, str]:
        pair = ":".join(basic_credentials(self.verification, credentials))
        return {"Authorization": "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")}

    def secret_headers(self) -> frozenset[str]:
        return frozenset({"authorization"})


def _strip_prefix(value: str, verification: HmacVerification | TokenVerification) -> str:
    # The prefix is a label ('sha256=', 'Bearer '), not part of the secret: its case does not matter.
    prefix = verification.prefix
    if value[: len(prefix)].lower() != prefix.lower():
        raise VerificationError(f"header {verification.header} does not start with {prefix!r}")
    return value[len(prefix) :]
