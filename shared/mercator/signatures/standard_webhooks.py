"""Sign and verify deliveries under the Standard Webhooks specification (standardwebhooks.com).

A delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``:
space-separated ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` entries, several while a sender
rotates its secret. The key is the base64-decoded secret, in any form a platform hands out: with
or without a ``whsec_`` prefix, standard (``+/``) or URL-safe (``-_``) alphabet, padded with ``=`` or
not. Anything else (whitespace, other characters, both alphabets at once, a length no base64 text
has, wrong padding) is refused with what is wrong, never guessed at. BigCommerce signs this way, and
Mercator signs its outgoing workflow webhooks the same way. ``StandardWebhooksStrategy`` is the
verification strategy of connectors that name ``standard_webhooks``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping
from datetime import datetime

from mercator.connector.webhook import StandardWebhooksVerification
from mercator.signatures.primitives import (
    CredentialError,
    VerificationError,
    credential,
    epoch_seconds,
    header_value,
    signed_timestamp,
)
from mercator.signatures.strategy import VERIFIERS, Outgoing, Received, VerificationStrategy

__all__ = ["SECRET_PREFIX", "StandardWebhooksStrategy", "sign", "signing_key", "verify"]

SECRET_PREFIX = "whsec_"
_VERSION = "v1"
_FORMS = "base64, standard (+/) or URL-safe (-_), padded with = or not, after an optional whsec_ prefix"
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/_-]*")


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``secret``; ValueError, saying what is wrong but never quoting the secret, when
    it is not base64 in one of the accepted forms."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    if not encoded:
        raise ValueError("secret is empty")
    text = encoded.rstrip("=")
    padding = len(encoded) - len(text)
    missing = -len(text) % 4
    problem = None
    if not text:
        problem = "it holds only '=' padding"
    elif not _BASE64_TEXT.fullmatch(text):
        spaced = any(char.isspace() for char in text)
        problem = "it holds whitespace" if spaced else "it holds a character of neither base64 alphabet"
    elif any(char in text for char in "+/") and any(char in text for char in "-_"):
        problem = "it mixes the standard (+/) and URL-safe (-_) alphabets"
    elif missing == 3:
        problem = f"{len(text)} characters is a length no base64 text has"
    elif padding not in (0, missing):
        problem = f"it ends in {padding} '=' where base64 of its length has {missing}"
    if problem is not None:
        raise ValueError(f"secret is not base64: {problem}; write it as {_FORMS}")
    url_safe = "-" in text or "_" in text
    return base64.b64decode(text + "=" * missing, altchars=b"-_" if url_safe else None, validate=True)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` entry for one delivery: ``v1,<base64>``."""
    if not msg_id:
        raise ValueError("a Standard Webhooks message id must not be empty")
    if timestamp < 0:
        raise ValueError("a Standard Webhooks timestamp is Unix seconds, never negative")
    return f"{_VERSION},{_digest(signing_key(secret), msg_id, timestamp, body)}"


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance_seconds: int = 300,
    id_header: str = "webhook-id",
    timestamp_header: str = "webhook-timestamp",
    signature_header: str = "webhook-signature",
    check_timestamp: bool = True,
) -> None:
    """Return if one ``v1`` signature in the headers matches ``body``; raise VerificationError if not.

    The timestamp must lie within ``tolerance_seconds`` of ``now`` unless ``check_timestamp`` is
    False (replaying an archived delivery). Entries of other versions are skipped, as the
    specification asks, so a sender may add asymmetric signatures alongside.
    """
    try:
        key = signing_key(secret)
    except ValueError as exc:
        raise CredentialError(f"Standard Webhooks {exc}") from None
    msg_id = header_value(headers, id_header)
    timestamp = signed_timestamp(
        headers,
        timestamp_header,
        now=now,
        tolerance_seconds=tolerance_seconds,
        check_timestamp=check_timestamp,
    )
    presented: list[str] = []
    for entry in header_value(headers, signature_header).split():
        version, _, signature = entry.partition(",")
        if version == _VERSION:
            presented.append(signature)
    if not presented:
        raise VerificationError(f"header {signature_header} has no {_VERSION} signature")
    expected = _digest(key, msg_id, timestamp, body).encode("ascii")
    # Every entry is compared, so timing does not reveal which one matched.
    matches = [hmac.compare_digest(signature.encode("utf-8"), expected) for signature in presented]
    if not any(matches):
        raise VerificationError("signature does not match")


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


@VERIFIERS.register(StandardWebhooksVerification)
class StandardWebhooksStrategy(VerificationStrategy[StandardWebhooksVerification]):
    """The specification with the definition's header names, tolerance and secret credential."""

    def _verify(self, credentials: Mapping[str, str], delivery: Received) -> None:
        settings = self.verification
        verify(
            credential(credentials, settings.secret),
            delivery.headers,
            delivery.body,
            now=delivery.now,
            tolerance_seconds=settings.toleranceSeconds,
            id_header=settings.idHeader,
            timestamp_header=settings.timestampHeader,
            signature_header=settings.signatureHeader,
            check_timestamp=delivery.check_timestamp,
        )

    def _sign(self, credentials: Mapping[str, str], message: Outgoing) -> dict[str, str]:
        settings = self.verification
        secret = credential(credentials, settings.secret)
        sent_at = epoch_seconds(message.now)
        # A platform gives each new event its own id; receivers deduplicate on it.
        msg_id = message.delivery_id or f"msg_{uuid.uuid4().hex}"
        return {
            settings.idHeader: msg_id,
            settings.timestampHeader: str(sent_at),
            settings.signatureHeader: sign(secret, msg_id, sent_at, message.body),
        }

    def secret_headers(self) -> frozenset[str]:
        # The signature is not the secret, but with the body it lets its holder test guesses of the
        # secret offline; the id and timestamp headers stay.
        return frozenset({self.verification.signatureHeader.lower()})
