"""Sign and verify deliveries under the Standard Webhooks specification (standardwebhooks.com).

A delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``:
space-separated ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` entries, several while a sender
rotates its secret. The key is the base64-decoded secret, written with or without a ``whsec_``
prefix. BigCommerce signs this way, and Mercator signs its outgoing workflow webhooks the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from mercator.providers.verification import CredentialError, VerificationError, header_value, signed_timestamp

__all__ = ["SECRET_PREFIX", "sign", "signing_key", "verify"]

SECRET_PREFIX = "whsec_"
_VERSION = "v1"


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``secret``: its base64 after an optional ``whsec_`` prefix."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError("secret is not base64 (after an optional whsec_ prefix)") from None
    if not key:
        raise ValueError("secret is empty")
    return key


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
