"""Fixtures: the anyio backend and an OAuth world on moto (see support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.fake_aws import use_fake_aws
from tests.integration.oauth.support import REGION, OAuthWorld


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[OAuthWorld]:
    use_fake_aws(monkeypatch, REGION)
    with mock_aws():
        yield OAuthWorld()
