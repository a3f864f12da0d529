"""The headers a platform would send with a webhook body, so Mercator can post deliveries to itself.

Sample events, the demo, the benchmark and the tests use this to produce deliveries that
``verify_delivery`` accepts, signed with an integration's credentials exactly as the platform
would sign them. How each scheme signs lives with its verification strategy in the layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from mercator.connector.webhook import Verification
from mercator.signatures.verification import epoch_seconds, strategy_for

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
    # A naive ``now`` is a caller's bug whatever the strategy, so it fails even where no time is signed.
    epoch_seconds(now)
    return strategy_for(verification).sign(credentials, body, now=now, delivery_id=delivery_id)
