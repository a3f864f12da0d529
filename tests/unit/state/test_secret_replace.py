"""Replacing an integration's credentials: a new current version of its existing secret, or an error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from mercator.domain.entities import Integration
from mercator.domain.errors import CredentialsError
from mercator.state.secrets import SecretsVault
from tests.unit.state.conftest import REGION

NEW_TOKEN = "at_5d1e9c3b7a2f4e6d8c0b"


@pytest.fixture
def secrets(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


def integration(arn: str) -> Integration:
    return Integration(
        id="shop-1",
        tenant_id="t-1",
        connector="salla",
        credentials_arn=arn,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def test_replacing_puts_a_new_current_version(secrets: Any) -> None:
    vault = SecretsVault(secrets)
    arn = vault.store_credentials("mercator/t-1/shop-1", {"accessToken": "old", "refreshToken": "r1"})

    vault.replace_credentials(integration(arn), {"accessToken": NEW_TOKEN, "refreshToken": "r2"})

    assert vault.credentials(integration(arn)) == {"accessToken": NEW_TOKEN, "refreshToken": "r2"}
    assert len(secrets.list_secret_version_ids(SecretId=arn)["Versions"]) == 2


def test_replacing_a_removed_secret_does_not_bring_it_back(secrets: Any) -> None:
    vault = SecretsVault(secrets)
    missing = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mercator/t-1/gone-AbCdEf"

    with pytest.raises(CredentialsError, match="do not exist any more") as raised:
        vault.replace_credentials(integration(missing), {"accessToken": NEW_TOKEN})

    assert NEW_TOKEN not in str(raised.value)
    assert secrets.list_secrets()["SecretList"] == []


def test_replacing_with_values_that_are_not_text_is_refused(secrets: Any) -> None:
    vault = SecretsVault(secrets)
    arn = vault.store_credentials("mercator/t-1/shop-1", {"accessToken": "old"})
    with pytest.raises(CredentialsError, match="'expiresAt' must be text"):
        vault.replace_credentials(integration(arn), {"expiresAt": 1700000000})  # type: ignore[dict-item]
