"""Fixtures for the SAM template and build tests: the parsed template, and local/ importable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

# cfn_yaml is a development module in local/, beside the sandbox, not part of the installed package.
if str(ROOT / "local") not in sys.path:
    sys.path.insert(0, str(ROOT / "local"))

import cfn_yaml  # noqa: E402


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return cfn_yaml.load(ROOT / "template.yaml")
