"""Fixtures: the small application written to tmp_path, and a local stack running it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mercator_local import LocalStack
from tests.local.application import App, write_app


@pytest.fixture
def app(tmp_path: Path) -> App:
    return write_app(tmp_path)


@pytest.fixture
def stack(app: App) -> Iterator[LocalStack]:
    with LocalStack(app.template, stack_name="runner-test", region="eu-west-1") as running:
        yield running
