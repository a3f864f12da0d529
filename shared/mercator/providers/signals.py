"""Read what a response says about the provider's rate budget into a RateSignal.

Headers understood (names are case-insensitive):

* ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (Salla and many others). ``Reset`` is either
  seconds from now or an epoch time; values above 1e9 are epoch seconds, above 1e12 epoch milliseconds;
* ``Retry-After``: delta seconds (``30``, ``2.0``) or an HTTP date;
* Shopify's ``X-Shopify-Shop-Api-Call-Limit: n/40``: 40 - n calls left of 40;
* BigCommerce's ``X-Rate-Limit-Requests-Left``, ``-Requests-Quota`` and ``-Time-Reset-Ms``.

A value that cannot be read is ignored rather than trusted: a garbled header must not stall a sync.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import httpx

from mercator.domain.rate_limits import RateSignal

_EPOCH_SECONDS = 1e9
_EPOCH_MILLIS = 1e12


def rate_signal(headers: Mapping[str, str], *, now: float | None = None) -> RateSignal:
    """The rate signal in ``headers``; ``now`` is the wall-clock epoch used for dates and epoch resets."""
    found = headers if isinstance(headers, httpx.Headers) else httpx.Headers(headers)
    at = time.time() if now is None else now

    remaining = _number(found.get("x-ratelimit-remaining"))
    limit = _number(found.get("x-ratelimit-limit"))
    reset_after = _reset(found.get("x-ratelimit-reset"), at)

    used_of = _call_limit(found.get("x-shopify-shop-api-call-limit"))
    if used_of is not None:
        used, capacity = used_of
        remaining = remaining if remaining is not None else capacity - used
        limit = limit if limit is not None else capacity

    if remaining is None:
        remaining = _number(found.get("x-rate-limit-requests-left"))
    if limit is None:
        limit = _number(found.get("x-rate-limit-requests-quota"))
    if reset_after is None:
        millis = _number(found.get("x-rate-limit-time-reset-ms"))
        reset_after = millis / 1000 if millis is not None else None

    return RateSignal(
        remaining=remaining,
        reset_after=reset_after,
        retry_after=retry_after(found.get("retry-after"), now=at),
        limit=limit,
    )


def retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds a ``Retry-After`` value asks to wait (a date in the past means 0); None if unreadable."""
    seconds = _number(value)
    if seconds is not None:
        return seconds
    if value is None:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return max(0.0, moment.timestamp() - now)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _reset(value: str | None, now: float) -> float | None:
    number = _number(value)
    if number is None:
        return None
    if number > _EPOCH_MILLIS:
        return max(0.0, number / 1000 - now)
    if number > _EPOCH_SECONDS:
        return max(0.0, number - now)
    return number


def _call_limit(value: str | None) -> tuple[float, float] | None:
    if value is None or value.count("/") != 1:
        return None
    used, capacity = (_number(part) for part in value.split("/"))
    if used is None or capacity is None or capacity == 0 or used > capacity:
        return None
    return used, capacity
