"""Integration credentials in Secrets Manager: one secret per integration, a JSON object of strings.

Errors name the integration and the secret, never a credential's value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from mercator.domain.entities import Integration
from mercator.domain.errors import CredentialsError, StateAccessError
from mercator.state.dynamo import error_code

_NOT_FOUND = "ResourceNotFoundException"
_EXISTS = "ResourceExistsException"


class _ClientErrors(Protocol):
    @property
    def ClientError(self) -> type[Exception]: ...  # noqa: N802 - boto3's own attribute name


class SecretsManagerClient(Protocol):
    """The part of a boto3 Secrets Manager client the vault uses."""

    @property
    def exceptions(self) -> _ClientErrors: ...

    def get_secret_value(self, **request: Any) -> dict[str, Any]: ...

    def create_secret(self, **request: Any) -> dict[str, Any]: ...

    def put_secret_value(self, **request: Any) -> dict[str, Any]: ...

    def delete_secret(self, **request: Any) -> dict[str, Any]: ...


class SecretsVault:
    """CredentialsVault over Secrets Manager."""

    def __init__(self, client: SecretsManagerClient) -> None:
        self._client = client

    def credentials(self, integration: Integration) -> dict[str, str]:
        secret = integration.credentials_arn
        where = f"the credentials of integration {integration.id!r} (secret {secret!r})"
        try:
            response = self._client.get_secret_value(SecretId=secret)
        except self._client.exceptions.ClientError as e:
            code = error_code(e)
            if code == _NOT_FOUND:
                raise CredentialsError(
                    f"{where} do not exist", integration_id=integration.id, code=code
                ) from e
            raise CredentialsError(
                f"{where} could not be read: {e}", integration_id=integration.id, code=code
            ) from e
        text = response.get("SecretString")
        if not isinstance(text, str):
            raise CredentialsError(
                f"{where} are not a text secret (expected a JSON object of credential names to values)",
                integration_id=integration.id,
            )
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            # The decoder's message may quote the secret's text; say only what is wrong.
            raise CredentialsError(
                f"{where} are not JSON (expected an object of credential names to values)",
                integration_id=integration.id,
            ) from None
        return _credentials(document, where, integration.id)

    def secret_string(self, secret_id: str) -> str:
        """The text of secret ``secret_id`` (a name or ARN); CredentialsError names the secret only."""
        if not secret_id:
            raise ValueError("a secret id must not be empty")
        where = f"secret {secret_id!r}"
        try:
            response = self._client.get_secret_value(SecretId=secret_id)
        except self._client.exceptions.ClientError as e:
            code = error_code(e)
            if code == _NOT_FOUND:
                raise CredentialsError(f"{where} does not exist", integration_id=None, code=code) from e
            raise CredentialsError(
                f"{where} could not be read: {code or 'unknown error'}", integration_id=None, code=code
            ) from e
        text = response.get("SecretString")
        if not isinstance(text, str) or not text:
            raise CredentialsError(f"{where} holds no text (SecretString)", integration_id=None)
        return text

    def store_credentials(
        self, name: str, credentials: Mapping[str, str], *, description: str | None = None
    ) -> str:
        """Create secret ``name`` holding ``credentials``, or put them as its new version; its ARN."""
        _credentials(credentials, f"the credentials for secret {name!r}", None)
        text = json.dumps(dict(credentials), ensure_ascii=False, sort_keys=True)
        details = {"Description": description} if description else {}
        try:
            created = self._client.create_secret(Name=name, SecretString=text, **details)
        except self._client.exceptions.ClientError as e:
            if error_code(e) != _EXISTS:
                raise _access_error("CreateSecret", name, e) from e
        else:
            return str(created["ARN"])
        try:
            updated = self._client.put_secret_value(SecretId=name, SecretString=text)
        except self._client.exceptions.ClientError as e:
            raise _access_error("PutSecretValue", name, e) from e
        return str(updated["ARN"])

    def replace_credentials(self, integration: Integration, credentials: Mapping[str, str]) -> None:
        """Put ``credentials`` as the new current version of the integration's existing secret.

        Used when a provider renews tokens: the secret must already exist (a missing one means the
        integration was removed meanwhile, and its tokens must not come back).
        """
        where = f"the credentials of integration {integration.id!r}"
        _credentials(credentials, where, integration.id)
        text = json.dumps(dict(credentials), ensure_ascii=False, sort_keys=True)
        secret = integration.credentials_arn
        try:
            self._client.put_secret_value(SecretId=secret, SecretString=text)
        except self._client.exceptions.ClientError as e:
            code = error_code(e)
            if code == _NOT_FOUND:
                raise CredentialsError(
                    f"{where} (secret {secret!r}) do not exist any more",
                    integration_id=integration.id,
                    code=code,
                ) from e
            raise _access_error("PutSecretValue", secret, e) from e

    def delete_secret(self, secret_id: str) -> None:
        """Delete secret ``secret_id`` at once, without the recovery window; a missing one is no error.

        Removing an integration must leave no way back to its credentials.
        """
        if not secret_id:
            raise ValueError("a secret id must not be empty")
        try:
            self._client.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
        except self._client.exceptions.ClientError as e:
            if error_code(e) != _NOT_FOUND:
                raise _access_error("DeleteSecret", secret_id, e) from e


def _credentials(document: object, where: str, integration_id: str | None) -> dict[str, str]:
    if not isinstance(document, Mapping):
        raise CredentialsError(
            f"{where} must be a JSON object of credential names to values, not {type(document).__name__}",
            integration_id=integration_id,
        )
    credentials: dict[str, str] = {}
    for name, value in document.items():
        if not isinstance(name, str) or not name:
            raise CredentialsError(f"{where} hold an empty or non-text name", integration_id=integration_id)
        if not isinstance(value, str):
            raise CredentialsError(
                f"{where}: credential {name!r} must be text, not {type(value).__name__}",
                integration_id=integration_id,
            )
        credentials[name] = value
    return credentials


def _access_error(operation: str, secret: str, error: Exception) -> StateAccessError:
    code = error_code(error)
    return StateAccessError(
        f"{operation} on secret {secret!r} failed: {error}",
        resource=secret,
        operation=operation,
        code=code,
    )
