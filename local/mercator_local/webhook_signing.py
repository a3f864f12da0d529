"""The headers a platform would send with a webhook body, so Mercator can post deliveries to itself.

Sample events, the demo, the benchmark and the tests use this to produce deliveries that
``verify_delivery`` accepts, signed with an integration's credentials exactly as the platform
would sign them.
"""

from __future__ import annotations

import base64
import uuid
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
from mercator.signatures import standard_webhooks
from mercator.signatures.verification import basic_credentials, credential, epoch_seconds, hmac_signature

__all__ = ["signed_headers"]


def signed_headers(
    verification: Verification | None,
    credentials: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    delivery_id: str | None = None,
) -> dict[str, str]:
    """Headers that authenticate ``body`` under ``verification``; {} when nothing is verified.

    ``now`` is the signing time for strategies that sign a timestamp. ``delivery_id`` is the
    Standard Webhooks message id; without one each call makes a fresh id, as a platform does for
    each new event. Raises MissingCredentialError when a credential the strategy names is unset,
    CredentialError when one cannot be used (a Basic user name with ':'), and ValueError when a
    Standard Webhooks secret is not base64.
    """
    sent_at = epoch_seconds(now)
    match verification:
        case None | NoVerification():
            return {}
        case HmacVerification():
            secret = credential(credentials, verification.secret)
            if verification.signedContent == "body":
                return {verification.header: hmac_signature(verification, secret, body, None)}
            assert verification.timestampHeader is not None  # the model requires it for timestamp.body
            timestamp = str(sent_at)
            return {
                verification.timestampHeader: timestamp,
                verification.header: hmac_signature(verification, secret, body, timestamp),
            }
        case TokenVerification():
            return {verification.header: verification.prefix + credential(credentials, verification.secret)}
        case BearerVerification():
            return {"Authorization": f"Bearer {credential(credentials, verification.secret)}"}
        case BasicVerification():
            pair = ":".join(basic_credentials(verification, credentials))
            return {"Authorization": "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")}
        case StandardWebhooksVerification():
            secret = credential(credentials, verification.secret)
            msg_id = delivery_id or f"msg_{uuid.uuid4().hex}"
            return {
                verification.idHeader: msg_id,
                verification.timestampHeader: str(sent_at),
                verification.signatureHeader: standard_webhooks.sign(secret, msg_id, sent_at, body),
            }
