"""The environment moto's in-process AWS needs in a test."""

from __future__ import annotations

import pytest


def use_fake_aws(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    """Credentials for boto3 to sign with (they never leave the process), the region, and no endpoint
    left over from a local stack, which would send the calls past moto."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
