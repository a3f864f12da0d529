"""Rate signals read from real-shaped headers of every platform."""

from __future__ import annotations

import pytest

from mercator.domain.rate_limits import RateSignal
from mercator.providers.signals import rate_signal

NOW = 1_714_564_800.0  # 2024-05-01T12:00:00Z


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, RateSignal()),
        # Salla: a window of 120 with the reset in seconds from now
        (
            {"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "42"},
            RateSignal(remaining=7, reset_after=42, limit=120),
        ),
        # the reset as epoch seconds: 30 s after NOW
        (
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1714564830"},
            RateSignal(remaining=0, reset_after=30),
        ),
        # the reset as epoch milliseconds: 2.5 s after NOW
        (
            {"X-RATELIMIT-RESET": "1714564802500", "X-RateLimit-Remaining": "1"},
            RateSignal(remaining=1, reset_after=2.5),
        ),
        # an epoch already past means no wait, not a negative one
        ({"X-RateLimit-Reset": "1714564700"}, RateSignal(reset_after=0)),
        ({"Retry-After": "30"}, RateSignal(retry_after=30)),
        ({"retry-after": "2.0"}, RateSignal(retry_after=2)),
        ({"Retry-After": "Wed, 01 May 2024 12:01:30 GMT"}, RateSignal(retry_after=90)),
        ({"Retry-After": "Wed, 01 May 2024 11:00:00 GMT"}, RateSignal(retry_after=0)),
        # Shopify: 39 of 40 used
        ({"X-Shopify-Shop-Api-Call-Limit": "39/40"}, RateSignal(remaining=1, limit=40)),
        (
            {"x-shopify-shop-api-call-limit": "2/80", "Retry-After": "2.0"},
            RateSignal(remaining=78, limit=80, retry_after=2),
        ),
        # BigCommerce
        (
            {
                "X-Rate-Limit-Requests-Left": "3",
                "X-Rate-Limit-Requests-Quota": "150",
                "X-Rate-Limit-Time-Reset-Ms": "1500",
                "X-Rate-Limit-Time-Window-Ms": "30000",
            },
            RateSignal(remaining=3, reset_after=1.5, limit=150),
        ),
    ],
)
def test_signals_are_read_from_each_platforms_headers(headers: dict[str, str], expected: RateSignal) -> None:
    assert rate_signal(headers, now=NOW) == expected


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "soon"},
        {"Retry-After": "-5"},
        {"Retry-After": "nan"},
        {"Retry-After": "Wed, 01 May 2024 12:01:30"},  # a date without its zone
        {"X-RateLimit-Remaining": "lots"},
        {"X-RateLimit-Remaining": "inf"},
        {"X-Shopify-Shop-Api-Call-Limit": "41/40"},
        {"X-Shopify-Shop-Api-Call-Limit": "40"},
        {"X-Shopify-Shop-Api-Call-Limit": "a/b"},
        {"X-Shopify-Shop-Api-Call-Limit": "1/0"},
        {"X-Rate-Limit-Requests-Left": ""},
    ],
)
def test_garbage_is_ignored(headers: dict[str, str]) -> None:
    assert rate_signal(headers, now=NOW).empty


def test_garbage_in_one_header_keeps_the_others() -> None:
    signal = rate_signal({"Retry-After": "later", "X-RateLimit-Remaining": "4"}, now=NOW)
    assert signal == RateSignal(remaining=4)
