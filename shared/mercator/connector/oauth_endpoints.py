"""A connector's OAuth 2.0 endpoints for one install: its OAuth block, and its authorize and token URLs
with placeholders filled and store hosts checked against the OAuth app's allowedHosts."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from mercator.connector.auth import OAuth2Auth
from mercator.connector.definition import ConnectorDefinition
from mercator.connector.placeholders import fill
from mercator.domain.oauth_installs import OAuthApp, OAuthConfigurationError


def oauth_auth(definition: ConnectorDefinition) -> OAuth2Auth:
    """The connector's OAuth 2.0 block; OAuthConfigurationError when it authenticates otherwise."""
    auth = definition.auth
    if not isinstance(auth, OAuth2Auth):
        kind = "not set" if auth is None else repr(auth.type)
        raise OAuthConfigurationError(
            f"connector {definition.name!r} does not authenticate with OAuth 2.0 (its auth.type is "
            f"{kind}); configure it with its credentials instead"
        )
    return auth


def authorize_url_of(definition: ConnectorDefinition, app: OAuthApp, values: Mapping[str, str]) -> str:
    """Where merchants approve the app: the app's own URL, else the connector's, placeholders filled."""
    return _resolved(
        app.authorize_url or oauth_auth(definition).authorizeUrl, app, values, "auth.authorizeUrl"
    )


def token_url_of(definition: ConnectorDefinition, app: OAuthApp, values: Mapping[str, str]) -> str:
    """The token endpoint: the app's own URL, else the connector's, placeholders filled."""
    return _resolved(app.token_url or oauth_auth(definition).tokenUrl, app, values, "auth.tokenUrl")


def _resolved(template: str, app: OAuthApp, values: Mapping[str, str], where: str) -> str:
    url = fill(template, values, where)
    authority = template.partition("://")[2].partition("/")[0]
    if "[[" not in authority:
        return url
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    if not host or not any(fnmatchcase(host, pattern.lower()) for pattern in app.allowed_hosts):
        allowed = ", ".join(app.allowed_hosts) or "none (set allowedHosts in the OAuth app secret)"
        raise OAuthConfigurationError(
            f"{where}: the store host {host or url!r} is not one the OAuth app allows; allowed: {allowed}"
        )
    return url
