"""Connectors' OAuth apps (client id and secret) from Secrets Manager, ``mercator/oauth-apps/<connector>``."""

from __future__ import annotations

from typing import Protocol

from mercator.domain.errors import CredentialsError
from mercator.domain.oauth_installs import OAuthApp, OAuthConfigurationError, parse_app
from mercator.domain.secret_names import oauth_app_secret_name

_NOT_FOUND = "ResourceNotFoundException"


class SecretReader(Protocol):
    def secret_string(self, secret_id: str) -> str: ...


def app_secret_name(connector: str) -> str:
    """The secret holding the connector's OAuth app (mercator.domain.secret_names)."""
    return oauth_app_secret_name(connector)


class SecretsOAuthApps:
    """The OAuth app of each connector, asked of the vault on every call: a rotated client secret is
    used as soon as the vault's copy of the secret is renewed (within minutes)."""

    def __init__(self, secrets: SecretReader) -> None:
        self._secrets = secrets

    def app(self, connector: str) -> OAuthApp:
        """The app of ``connector``; OAuthConfigurationError when it has none or it is malformed."""
        name = app_secret_name(connector)
        try:
            text = self._secrets.secret_string(name)
        except CredentialsError as e:
            if e.code == _NOT_FOUND:
                raise OAuthConfigurationError(
                    f"connector {connector!r} has no OAuth app: create secret {name!r} holding "
                    '{"clientId": ..., "clientSecret": ...}'
                ) from None
            raise
        return parse_app(connector, text)
