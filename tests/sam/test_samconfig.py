"""samconfig.toml: dev and prod stacks whose parameter overrides the template accepts."""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest

from tests.sam.support import ROOT

CONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
STACKS = {
    "default": ("mercator-dev", "dev"),
    "dev": ("mercator-dev", "dev"),
    "prod": ("mercator-prod", "prod"),
}


def _overrides(environment: str) -> dict[str, str]:
    """parameter_overrides as SAM reads it: Name=Value pairs, values quoted when they hold spaces."""
    text = CONFIG[environment]["deploy"]["parameters"]["parameter_overrides"]
    pairs = [token.partition("=") for token in shlex.split(text)]
    assert all(sep == "=" for _, sep, _ in pairs), text
    return {name: value for name, _, value in pairs}


def test_version_and_environments() -> None:
    assert CONFIG["version"] == 0.1
    assert set(CONFIG) == {"version", *STACKS}


@pytest.mark.parametrize("environment", sorted(STACKS))
def test_environment_deploys_its_own_stage(environment: str) -> None:
    stack, stage = STACKS[environment]
    deploy = CONFIG[environment]["deploy"]["parameters"]
    assert CONFIG[environment]["global"]["parameters"]["stack_name"] == stack
    assert deploy["stack_name"] == stack
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert _overrides(environment)["Stage"] == stage
    assert CONFIG[environment]["validate"]["parameters"]["lint"] is True


def test_only_prod_asks_before_changing() -> None:
    assert CONFIG["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    assert CONFIG["dev"]["deploy"]["parameters"]["confirm_changeset"] is False


def test_every_environment_uses_one_region() -> None:
    regions = {CONFIG[environment]["global"]["parameters"]["region"] for environment in STACKS}
    assert regions == {"eu-central-1"}


@pytest.mark.parametrize("environment", sorted(STACKS))
def test_overrides_are_values_the_template_accepts(template: dict[str, Any], environment: str) -> None:
    parameters = template["Parameters"]
    for name, value in _overrides(environment).items():
        assert name in parameters, f"{environment}: {name} is not a template parameter"
        declaration = parameters[name]
        if "AllowedValues" in declaration:
            assert value in [str(allowed) for allowed in declaration["AllowedValues"]], (name, value)
        if "AllowedPattern" in declaration:
            assert re.fullmatch(declaration["AllowedPattern"], value), (name, value)
        if declaration["Type"] == "Number":
            number = float(value)
            assert declaration.get("MinValue", number) <= number <= declaration.get("MaxValue", number)


def _keys(table: dict[str, Any]) -> set[str]:
    keys = set(table)
    for value in table.values():
        if isinstance(value, dict):
            keys |= _keys(value)
    return keys


def test_no_credentials_or_account_in_the_config() -> None:
    # The deployer's own profile picks the account; nothing here may pin one or carry a key.
    forbidden = {"profile", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "s3_bucket"}
    assert _keys(CONFIG) & forbidden == set()
