"""Fixtures: the anyio backend, and a moto state table for the shared rate bucket."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from mercator_local.resources import create_template_table

REGION = "eu-west-1"
TABLE = "mercator-state"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def table(aws: None) -> str:
    """The state table, as template.yaml defines it (the rate bucket lives there)."""
    return create_template_table(boto3.client("dynamodb", region_name=REGION), "StateTable", table_name=TABLE)
