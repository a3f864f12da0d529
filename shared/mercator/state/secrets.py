"""Secrets in Secrets Manager: each integration's credentials (one secret per integration, a JSON
object of strings) and the text of Mercator's other secrets (signing keys, OAuth apps, VAPID key).

Reads go through a Powertools ``SecretsProvider`` on the vault's own boto3 client, and a warm Lambda
keeps what it read for ``max_age`` seconds. ``force_fetch=True`` reads what is stored now; a write
through the vault (new credentials, a renewal, a deletion) makes the next read of that secret do so
too. Writes go to Secrets Manager directly.

Errors name the integration and the secret, never a credential's value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from mercator.domain.entities import Integration
from mercator.domain.errors import CredentialsError, StateAccessError
from mercator.state.aws_protocols import AwsClient
from mercator.state.dynamo import error_code

_NOT_FOUND = "ResourceNotFoundException"
_EXISTS = "ResourceExistsException"

# Sync and enrich read an integration's credentials for every message, and dispatch reads a signing
# key for every action; a warm Lambda lives for hours. Five minutes turns a burst into one
# GetSecretValue per secret, yet a rotation (credentials put by the Integrations API, a new webhook,
# VAPID or OAuth state key) is seen within minutes. OAuth renewals do not wait for it: the token
# refresher reads past the cache.
MAX_AGE_SECONDS = 300


class SecretsManagerClient(AwsClient, Protocol):
    """The part of a boto3 Secrets Manager client the vault uses."""

    def get_secret_value(self, **request: Any) -> dict[str, Any]: ...

    def create_secret(self, **request: Any) -> dict[str, Any]: ...

    def put_secret_value(self, **request: Any) -> dict[str, Any]: ...

    def delete_secret(self, **request: Any) -> dict[str, Any]: ...


class SecretsVault:
    """CredentialsVault over Secrets Manager, its reads kept for ``max_age`` seconds.

    ``provider`` reads the secrets; by default a SecretsProvider on ``client``, so both go to the same
    account and region (and to moto in tests).
    """

    def __init__(
        self,
        client: SecretsManagerClient,
        *,
        provider: SecretsProvider | None = None,
        max_age: int = MAX_AGE_SECONDS,
    ) -> None:
        if max_age < 0:
            raise ValueError(f"max_age must be zero or more seconds, not {max_age}")
        self._client = client
        self._provider = provider if provider is not None else SecretsProvider(boto3_client=client)
        self._max_age = max_age
        # Secrets this vault wrote since it last read them: what it holds of them is out of date.
        self._written: set[str] = set()

    def credentials(self, integration: Integration, *, force_fetch: bool = False) -> dict[str, str]:
        """The integration's credentials, as read up to ``max_age`` seconds ago; with ``force_fetch``,
        as stored now."""
        secret = integration.credentials_arn
        where = f"the credentials of integration {integration.id!r} (secret {secret!r})"
        try:
            text = self._read(secret, force_fetch=force_fetch)
        except self._client.exceptions.ClientError as e:
            code = error_code(e)
            if code == _NOT_FOUND:
                raise CredentialsError(
                    f"{where} do not exist", integration_id=integration.id, code=code
                ) from e
            raise CredentialsError(
                f"{where} could not be read: {e}", integration_id=integration.id, code=code
            ) from e
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

    def secret_string(self, secret_id: str, *, force_fetch: bool = False) -> str:
        """The text of secret ``secret_id`` (a name or ARN), as read up to ``max_age`` seconds ago (with
        ``force_fetch``, as stored now); CredentialsError names the secret only."""
        if not secret_id:
            raise ValueError("a secret id must not be empty")
        where = f"secret {secret_id!r}"
        try:
            text = self._read(secret_id, force_fetch=force_fetch)
        except self._client.exceptions.ClientError as e:
            code = error_code(e)
            if code == _NOT_FOUND:
                raise CredentialsError(f"{where} does not exist", integration_id=None, code=code) from e
            raise CredentialsError(
                f"{where} could not be read: {code or 'unknown error'}", integration_id=None, code=code
            ) from e
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
        self._written.add(name)
        try:
            created = self._client.create_secret(Name=name, SecretString=text, **details)
        except self._client.exceptions.ClientError as e:
            if error_code(e) != _EXISTS:
                raise _access_error("CreateSecret", name, e) from e
        else:
            return self._wrote(str(created["ARN"]))
        try:
            updated = self._client.put_secret_value(SecretId=name, SecretString=text)
        except self._client.exceptions.ClientError as e:
            raise _access_error("PutSecretValue", name, e) from e
        return self._wrote(str(updated["ARN"]))

    def replace_credentials(self, integration: Integration, credentials: Mapping[str, str]) -> None:
        """Put ``credentials`` as the new current version of the integration's existing secret.

        Used when a provider renews tokens: the secret must already exist (a missing one means the
        integration was removed meanwhile, and its tokens must not come back). The next read of the
        integration's credentials goes to Secrets Manager.
        """
        where = f"the credentials of integration {integration.id!r}"
        _credentials(credentials, where, integration.id)
        text = json.dumps(dict(credentials), ensure_ascii=False, sort_keys=True)
        secret = integration.credentials_arn
        # Marked before the call: a put that fails after reaching Secrets Manager may still have landed.
        self._written.add(secret)
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
        self._written.add(secret_id)
        try:
            self._client.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
        except self._client.exceptions.ClientError as e:
            if error_code(e) != _NOT_FOUND:
                raise _access_error("DeleteSecret", secret_id, e) from e

    def _read(self, secret_id: str, *, force_fetch: bool) -> object:
        """The secret's value (text, or bytes for a binary secret); what Secrets Manager raised, as it
        raised it, so each caller maps its ClientError codes as it always did."""
        force_fetch = force_fetch or secret_id in self._written
        try:
            value = self._provider.get(secret_id, max_age=self._max_age, force_fetch=force_fetch)
        except (GetParameterError, TransformParameterError) as e:
            raise _raised_by_aws(e) from None
        # Only once read anew: should that read fail, the next one must not take the cached value.
        self._written.discard(secret_id)
        return value

    def _wrote(self, arn: str) -> str:
        # Integrations name their secret by ARN; the secret was written by name.
        self._written.add(arn)
        return arn


def _raised_by_aws(error: Exception) -> BaseException:
    """The exception a Powertools error wraps: the boto3 call's own (its ClientError, a connection
    error). Powertools raises inside its ``except``, so it is the context when not the cause."""
    return error.__cause__ or error.__context__ or error


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
