"""SecretsVault.secret_string: a secret's text, and errors that name the secret but never its value."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mercator.domain.errors import CredentialsError
from mercator.state.secrets import SecretsVault
from tests.unit.state.conftest import REGION

KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def secrets(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


def test_the_text_comes_back_by_name_and_by_arn(secrets: Any) -> None:
    arn = secrets.create_secret(Name="mercator/hooks/warehouse", SecretString=KEY)["ARN"]
    vault = SecretsVault(secrets)

    assert vault.secret_string("mercator/hooks/warehouse") == KEY
    assert vault.secret_string(arn) == KEY


def test_a_missing_secret_is_named_with_its_code(secrets: Any) -> None:
    with pytest.raises(CredentialsError) as caught:
        SecretsVault(secrets).secret_string("mercator/hooks/none")

    assert str(caught.value) == "secret 'mercator/hooks/none' does not exist"
    assert caught.value.code == "ResourceNotFoundException"
    assert caught.value.integration_id is None


def test_a_binary_secret_is_refused_without_showing_it(secrets: Any) -> None:
    secrets.create_secret(Name="mercator/hooks/binary", SecretBinary=KEY.encode())

    with pytest.raises(CredentialsError) as caught:
        SecretsVault(secrets).secret_string("mercator/hooks/binary")

    assert "holds no text (SecretString)" in str(caught.value)
    assert KEY not in str(caught.value)


def test_an_empty_id_is_refused(secrets: Any) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        SecretsVault(secrets).secret_string("")
