"""The store's own clock, as its answers tell it.

Record timestamps (``updated_at``) are stamped by the store's clock, not Mercator's. Where a sync must
compare them with a moment of its own (where its listing began), it asks the store: every HTTP answer
carries a ``Date`` header (RFC 9110 §6.6.1), whole seconds of the server's clock when it answered.
Less the request's time and one second of rounding, that is a moment no later than when the store
began to answer, on the store's clock, whatever the skew between the two clocks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from mercator.providers.sender import Reply

_ROUNDING = timedelta(seconds=1)


def store_clock(reply: Reply) -> datetime | None:
    """The store's clock when ``reply``'s request was sent (at the latest); None without a valid Date."""
    text = reply.headers.get("date")
    if not text:
        return None
    try:
        answered = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if answered.tzinfo is None:
        # RFC 9110 dates are GMT; an obsolete format without a zone means the same.
        answered = answered.replace(tzinfo=UTC)
    return answered.astimezone(UTC) - timedelta(seconds=max(0.0, reply.elapsed)) - _ROUNDING
