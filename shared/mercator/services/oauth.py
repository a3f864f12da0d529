"""OAuth 2.0 installs: a tenant is sent to the platform's consent page and comes back an integration.

``install_url`` builds the authorize URL with a signed ``state`` (mercator.services.oauth_state) whose
nonce is recorded; ``callback`` checks that state before anything else, uses its nonce up, trades the
code for tokens at the token endpoint and registers the integration for the tenant the state names,
its tokens (accessToken, refreshToken, expiresAt in epoch seconds) stored as its credentials. A
refused state creates nothing: no token call, no secret, no integration.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mercator.connector import ConnectorDefinition
from mercator.connector.loader import DefinitionError
from mercator.connector.placeholders import placeholders
from mercator.providers.oauth_tokens import (
    OAuthApp,
    OAuthConfigurationError,
    TokenGrant,
    authorize_url_of,
    oauth_auth,
    token_url_of,
)
from mercator.services.oauth_state import InstallState, StateRejectedError, StateSigner
from mercator.services.ports import Connectors
from mercator.state.models import Integration
from mercator.state.registration import (
    NAME_PATTERN,
    CredentialsStore,
    IntegrationConflictError,
    IntegrationStore,
    register_integration,
)

logger = logging.getLogger(__name__)

STATE_TTL_SECONDS = 600
_CONNECTOR = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Platforms' own names for install parameters, and the placeholder each fills.
_ALIASES = {"shop": "shopDomain"}
# Values fill host names and path segments: nothing that could start a path, query or user info.
_PARAM_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]{0,252}$")
_ERROR_TEXT_LIMIT = 200


class OAuthApps(Protocol):
    def app(self, connector: str) -> OAuthApp: ...


class NonceStore(Protocol):
    """Install nonces (mercator.state.oauth_nonces.DynamoOAuthNonces)."""

    def record(self, nonce: str, expires_at: int) -> None: ...

    def consume(self, nonce: str) -> bool: ...


class CodeExchange(Protocol):
    """The token endpoint client (mercator.providers.oauth_tokens.OAuthTokenClient)."""

    async def exchange_code(
        self, token_url: str, app: OAuthApp, *, code: str, redirect_uri: str
    ) -> TokenGrant: ...


class UnknownConnectorError(LookupError):
    """No shipped connector has this name."""

    def __init__(self, connector: str) -> None:
        super().__init__(f"no connector {connector!r}")
        self.connector = connector


class InstallRequestError(ValueError):
    """An install or callback request lacks what it needs; the message says what."""


class AuthorizationDeniedError(ValueError):
    """The platform sent the merchant back without a code (they declined, or the platform refused)."""


class OAuthService:
    """Starts OAuth installs and completes them into integrations."""

    def __init__(
        self,
        *,
        connectors: Connectors,
        apps: OAuthApps,
        nonces: NonceStore,
        exchange: CodeExchange,
        integrations: IntegrationStore,
        vault: CredentialsStore,
        signing_key: Callable[[], bytes],
        clock: Callable[[], float] = time.time,
        state_ttl_seconds: int = STATE_TTL_SECONDS,
    ) -> None:
        if state_ttl_seconds < 1:
            raise ValueError(f"state_ttl_seconds must be at least 1, not {state_ttl_seconds}")
        self._connectors = connectors
        self._apps = apps
        self._nonces = nonces
        self._exchange = exchange
        self._integrations = integrations
        self._vault = vault
        self._signing_key = signing_key
        self._signer: StateSigner | None = None
        self._clock = clock
        self._state_ttl = state_ttl_seconds

    def install_url(
        self, tenant_id: str, connector: str, redirect_uri: str, params: Mapping[str, str] | None = None
    ) -> str:
        """The platform's authorize URL for ``tenant_id``, with a state valid for ten minutes.

        ``params`` are the install's own parameters, e.g. Shopify's ``shop`` (the store's domain)
        that fills ``[[shopDomain]]`` in the connector's URLs.
        """
        if not NAME_PATTERN.fullmatch(tenant_id):
            raise InstallRequestError(f"tenant {tenant_id!r} is not a valid tenant id")
        definition = self._definition(connector)
        auth = oauth_auth(definition)
        _check_redirect(redirect_uri)
        self._check_unclaimed(tenant_id, definition.name)
        app = self._apps.app(definition.name)
        values = self._install_values(definition, app, params or {})
        authorize = authorize_url_of(definition, app, values)
        token_url_of(definition, app, values)  # refuse now a store host the callback could not use
        nonce = secrets.token_urlsafe(24)
        expires_at = int(self._clock()) + self._state_ttl
        self._nonces.record(nonce, expires_at)
        state = self._signer_now().sign(
            InstallState(tenant_id, definition.name, nonce, expires_at, redirect_uri, values)
        )
        query = {
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "state": state,
        }
        if auth.scopes:
            query["scope"] = app.scope_separator.join(auth.scopes)
        logger.info("OAuth install of connector %s started for tenant %s", definition.name, tenant_id)
        return _with_query(authorize, query)

    async def callback(self, connector: str, query: Mapping[str, str]) -> Integration:
        """Complete an install: check the state, trade the code, register the integration."""
        definition = self._definition(connector)
        auth = oauth_auth(definition)
        state = self._accepted_state(definition.name, query)
        error = query.get("error")
        if error:
            description = " ".join(query.get("error_description", "").split())[:_ERROR_TEXT_LIMIT]
            raise AuthorizationDeniedError(
                f"the platform did not authorize Mercator: {error[:_ERROR_TEXT_LIMIT]}"
                + (f" ({description})" if description else "")
            )
        code = query.get("code")
        if not code:
            raise InstallRequestError("the callback carries no authorization code")
        # Before the token call: a second grant for the same store may revoke the first integration's.
        self._check_unclaimed(state.tenant_id, definition.name)
        app = self._apps.app(definition.name)
        grant = await self._exchange.exchange_code(
            token_url_of(definition, app, state.params), app, code=code, redirect_uri=state.redirect_uri
        )
        provided = auth.provides()
        credentials = {
            **app.credentials,
            **{name: value for name, value in state.params.items() if name in provided},
            **grant.credentials(),
        }
        integration = register_integration(
            self._integrations,
            self._vault,
            definition,
            tenant_id=state.tenant_id,
            credentials=credentials,
            settings=app.settings,
        )
        logger.info(
            "OAuth install of connector %s completed: integration %s of tenant %s",
            definition.name,
            integration.id,
            integration.tenant_id,
        )
        return integration

    def _accepted_state(self, connector: str, query: Mapping[str, str]) -> InstallState:
        token = query.get("state")
        if not token:
            raise StateRejectedError("the callback carries no state")
        state = self._signer_now().verify(token)
        if state.connector != connector:
            raise StateRejectedError("the state was issued for another connector")
        if state.expires_at <= self._clock():
            raise StateRejectedError("the state has expired; start the install again")
        for name, value in query.items():
            expected = state.params.get(_ALIASES.get(name, name))
            if expected is not None and value != expected:
                raise StateRejectedError(f"the callback's {name} is not the one the install was started for")
        # Last, after every check that costs nothing: a refused callback must not use the nonce up.
        if not self._nonces.consume(state.nonce):
            raise StateRejectedError("the state was used already (or has expired); start the install again")
        return state

    def _check_unclaimed(self, tenant_id: str, connector: str) -> None:
        """IntegrationConflictError when the tenant has an integration of the connector already.

        Registration checks again (atomically); this spares the merchant a consent that cannot succeed.
        """
        for other in self._integrations.for_tenant(tenant_id):
            if other.connector == connector:
                raise IntegrationConflictError(tenant_id, connector, other.id, other.status)

    def _definition(self, connector: str) -> ConnectorDefinition:
        if not _CONNECTOR.fullmatch(connector):
            raise UnknownConnectorError(connector)
        try:
            return self._connectors.get(connector)
        except DefinitionError:
            raise UnknownConnectorError(connector) from None

    def _install_values(
        self, definition: ConnectorDefinition, app: OAuthApp, params: Mapping[str, str]
    ) -> dict[str, str]:
        auth = oauth_auth(definition)
        needed = {
            *placeholders(app.authorize_url or auth.authorizeUrl),
            *placeholders(app.token_url or auth.tokenUrl),
        }
        values: dict[str, str] = {}
        for name, value in params.items():
            target = _ALIASES.get(name, name)
            if target not in needed:
                continue
            if not _PARAM_VALUE.fullmatch(value):
                raise InstallRequestError(f"install parameter {name!r} must be a host name or a plain value")
            values[target] = value
        missing = sorted(needed - values.keys())
        if missing:
            names = ", ".join(next((alias for alias, to in _ALIASES.items() if to == n), n) for n in missing)
            raise InstallRequestError(
                f"connector {definition.name!r} needs the install parameter(s) {names} "
                "(e.g. ?shop=<store domain>)"
            )
        return values

    def _signer_now(self) -> StateSigner:
        if self._signer is None:
            try:
                self._signer = StateSigner(self._signing_key())
            except ValueError as e:
                raise OAuthConfigurationError(str(e)) from None
        return self._signer


def _check_redirect(redirect_uri: str) -> None:
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise InstallRequestError("the redirect URI must be an absolute http(s) URL without a fragment")


def _with_query(url: str, extra: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *extra.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
