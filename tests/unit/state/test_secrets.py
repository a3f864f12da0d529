"""Credentials in Secrets Manager: storing, new versions, and errors that never show a value."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from mercator.domain.entities import Integration
from mercator.domain.errors import CredentialsError
from mercator.state.secrets import SecretsVault
from tests.unit.state.conftest import REGION

# Distinctive, so that any leak into a message is caught.
TOKEN = "tok_3c9f1b7e2d8a4f60b5e1c7d9a2f4b6e8"


@pytest.fixture
def secrets(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


def integration_for(arn: str) -> Integration:
    return Integration(
        id="shop-1",
        tenant_id="tenant-1",
        connector="salla",
        credentials_arn=arn,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def test_stored_credentials_come_back(secrets: Any) -> None:
    vault = SecretsVault(secrets)

    arn = vault.store_credentials("mercator/tenant-1/shop-1", {"accessToken": TOKEN, "storeId": "42"})

    assert arn.startswith("arn:aws:secretsmanager:eu-west-1:")
    assert ":secret:mercator/tenant-1/shop-1" in arn
    assert vault.credentials(integration_for(arn)) == {"accessToken": TOKEN, "storeId": "42"}


def test_storing_again_puts_a_new_version_of_the_same_secret(secrets: Any) -> None:
    vault = SecretsVault(secrets)
    first = vault.store_credentials("mercator/tenant-1/shop-1", {"accessToken": "old"})

    second = vault.store_credentials("mercator/tenant-1/shop-1", {"accessToken": "new"})

    assert second == first
    assert vault.credentials(integration_for(first)) == {"accessToken": "new"}
    versions = secrets.list_secret_version_ids(SecretId=first)["Versions"]
    assert len(versions) == 2


def test_storing_refuses_values_that_are_not_text(secrets: Any) -> None:
    with pytest.raises(CredentialsError, match="credential 'storeId' must be text, not int"):
        SecretsVault(secrets).store_credentials("mercator/t/i", {"storeId": 42})  # type: ignore[dict-item]

    assert secrets.list_secrets()["SecretList"] == []


def test_a_missing_secret_names_the_integration(secrets: Any) -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mercator/tenant-1/gone-AbCdEf"

    with pytest.raises(CredentialsError, match=r"integration 'shop-1' .* do not exist") as raised:
        SecretsVault(secrets).credentials(integration_for(arn))

    assert raised.value.integration_id == "shop-1"
    assert raised.value.code == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("secret_string", "problem"),
    [
        (f'{{"accessToken": "{TOKEN}"', "are not JSON"),
        (f'["{TOKEN}"]', "must be a JSON object of credential names to values, not list"),
        (f'{{"accessToken": ["{TOKEN}"]}}', "credential 'accessToken' must be text, not list"),
        (f'{{"accessToken": "{TOKEN}", "": "x"}}', "empty or non-text name"),
    ],
)
def test_malformed_credentials_say_what_is_wrong_without_the_value(
    secrets: Any, secret_string: str, problem: str
) -> None:
    arn = secrets.create_secret(Name="mercator/tenant-1/shop-1", SecretString=secret_string)["ARN"]

    with pytest.raises(CredentialsError) as raised:
        SecretsVault(secrets).credentials(integration_for(arn))

    message = str(raised.value)
    assert problem in message
    assert "integration 'shop-1'" in message
    assert TOKEN not in message
    assert TOKEN not in repr(raised.value.__cause__)


def test_a_binary_secret_is_not_credentials(secrets: Any) -> None:
    arn = secrets.create_secret(Name="mercator/tenant-1/shop-1", SecretBinary=TOKEN.encode())["ARN"]

    with pytest.raises(CredentialsError, match="are not a text secret") as raised:
        SecretsVault(secrets).credentials(integration_for(arn))

    assert TOKEN not in str(raised.value)
