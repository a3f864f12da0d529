"""An integration's own rate limit overrides its connector's where the merchant's plan differs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from mercator.connector import load_shipped
from mercator.connector.integration_settings import rate_of
from mercator.domain.entities import Integration


def integration(**settings: Any) -> Integration:
    return Integration(
        id="i1",
        tenant_id="t1",
        connector="salla",
        settings=settings,
        credentials_arn="arn:aws:secretsmanager:eu-central-1:1:secret:mercator/t1/i1",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, 2.0),  # salla.yaml's rateLimitPerSecond
        ({"rateLimitPerSecond": 6}, 6.0),  # Salla Pro: 360 a minute
        ({"rateLimitPerSecond": "12"}, 12.0),  # given on the command line
        ({"rateLimitPerSecond": 0.5}, 0.5),
    ],
)
def test_the_store_rate_is_the_integrations_own_or_the_connectors(
    settings: dict[str, Any], expected: float
) -> None:
    assert rate_of(integration(**settings), load_shipped("salla")) == expected


@pytest.mark.parametrize("value", [0, -1, "fast", True, 1001, [5]])
def test_a_malformed_rate_setting_is_refused_naming_the_integration(value: object) -> None:
    message = "integration 'i1': settings.rateLimitPerSecond must be a number"
    with pytest.raises(ValueError, match=re.escape(message)):
        integration(rateLimitPerSecond=value).rate_limit()
