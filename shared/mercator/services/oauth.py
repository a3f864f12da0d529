"""OAuth 2.0 installs: a tenant's merchant consents at the platform and comes back an integration.

An install takes three requests, and the last two must come from one browser:

1. ``install_url`` (the tenant's authenticated request) prepares the install: a signed ``state``
   (mercator.services.oauth_state) whose nonce is recorded with the platform's consent address and,
   for connectors with ``auth.pkce``, a sealed PKCE verifier whose S256 challenge the consent address
   carries. It answers Mercator's own start address, ``<base>/oauth/<connector>/start?state=...``.
2. ``start`` (the merchant's browser opening that address) binds the install to a new random session
   value, of which only the hash is stored, and answers it for the browser's cookie along with the
   consent address to send the browser to. An install is started once, by one browser.
3. ``callback`` (the platform sending that browser back) checks the state, then uses its nonce up
   only for the session the install was started with: a code that comes back in another browser, or
   in none, is refused. It trades the code (and the verifier) for tokens and registers the
   integration for the tenant the state names, its tokens (accessToken, refreshToken, expiresAt in
   epoch seconds) stored as its credentials.

A refused state or session creates nothing: no token call, no secret, no integration. Every address
comes from ``base_url`` (configuration), never from a request: the callback's ``redirect_uri`` is
``<base>/oauth/<connector>/callback``.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mercator.connector import ConnectorDefinition
from mercator.connector.loader import DefinitionError
from mercator.connector.oauth_endpoints import authorize_url_of, oauth_auth, token_url_of
from mercator.connector.placeholders import placeholders
from mercator.domain.entities import Integration
from mercator.domain.oauth_installs import (
    NonceRecord,
    NonceRefusal,
    NonceRefusedError,
    OAuthApp,
    OAuthConfigurationError,
    TokenGrant,
)
from mercator.domain.pkce import CHALLENGE_METHOD, code_challenge, new_code_verifier
from mercator.services.oauth_state import (
    SESSION_VALUE,
    InstallState,
    StateRejectedError,
    StateSigner,
    new_session,
    session_hash,
)
from mercator.services.ports import Connectors
from mercator.services.registration import (
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

    def record(
        self, nonce: str, expires_at: int, *, authorize_url: str, sealed_verifier: str | None = None
    ) -> None: ...

    def bind(self, nonce: str, session_hash: str) -> str: ...

    def consume(self, nonce: str, session_hashes: Sequence[str]) -> NonceRecord: ...


class CodeExchange(Protocol):
    """The token endpoint client (mercator.providers.oauth_tokens.OAuthTokenClient)."""

    async def exchange_code(
        self,
        token_url: str,
        app: OAuthApp,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None = None,
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


class InstallSessionError(StateRejectedError):
    """The browser is not the one that started the install: no install cookie, another one, or an
    install another browser started already."""


@dataclass(frozen=True)
class StartedInstall:
    """An install bound to a browser: where to send it, and the session its cookie must hold.

    The cookie belongs on the path of ``redirect_uri`` (the callback) for ``max_age`` seconds, the
    state's remaining lifetime.
    """

    authorize_url: str
    session: str = field(repr=False)
    redirect_uri: str
    max_age: int


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
        base_url: str | None,
        clock: Callable[[], float] = time.time,
        state_ttl_seconds: int = STATE_TTL_SECONDS,
    ) -> None:
        if state_ttl_seconds < 1:
            raise ValueError(f"state_ttl_seconds must be at least 1, not {state_ttl_seconds}")
        if base_url is not None:
            _check_base_url(base_url)
        self._connectors = connectors
        self._apps = apps
        self._nonces = nonces
        self._exchange = exchange
        self._integrations = integrations
        self._vault = vault
        self._signing_key = signing_key
        self._signer: tuple[bytes, StateSigner] | None = None
        self._clock = clock
        self._state_ttl = state_ttl_seconds
        self._base_url = base_url.rstrip("/") if base_url is not None else None

    def redirect_uri(self, connector: str) -> str:
        """The callback's address for ``connector``: ``<base>/oauth/<connector>/callback``."""
        return f"{self._base()}/oauth/{connector}/callback"

    def install_url(self, tenant_id: str, connector: str, params: Mapping[str, str] | None = None) -> str:
        """Mercator's start address of a new install for ``tenant_id``, valid for the state's lifetime
        (ten minutes by default): the merchant's browser opens it, and is sent on to the platform.

        ``params`` are the install's own parameters, e.g. Shopify's ``shop`` (the store's domain)
        that fills ``[[shopDomain]]`` in the connector's URLs.
        """
        if not NAME_PATTERN.fullmatch(tenant_id):
            raise InstallRequestError(f"tenant {tenant_id!r} is not a valid tenant id")
        definition = self._definition(connector)
        auth = oauth_auth(definition)
        redirect_uri = self.redirect_uri(definition.name)
        self._check_unclaimed(tenant_id, definition.name)
        app = self._apps.app(definition.name)
        values = self._install_values(definition, app, params or {})
        authorize = authorize_url_of(definition, app, values)
        token_url_of(definition, app, values)  # refuse now a store host the callback could not use
        nonce = secrets.token_urlsafe(24)
        expires_at = int(self._clock()) + self._state_ttl
        signer = self._signer_now()
        state = signer.sign(InstallState(tenant_id, definition.name, nonce, expires_at, redirect_uri, values))
        query = {
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "state": state,
        }
        if auth.scopes:
            query["scope"] = app.scope_separator.join(auth.scopes)
        sealed_verifier: str | None = None
        if auth.pkce:
            verifier = new_code_verifier()
            sealed_verifier = signer.seal(nonce, verifier)
            query["code_challenge"] = code_challenge(verifier)
            query["code_challenge_method"] = CHALLENGE_METHOD
        authorize_url = _with_query(authorize, query)
        self._nonces.record(nonce, expires_at, authorize_url=authorize_url, sealed_verifier=sealed_verifier)
        logger.info("OAuth install of connector %s prepared for tenant %s", definition.name, tenant_id)
        return f"{self._base()}/oauth/{definition.name}/start?{urlencode({'state': state})}"

    def start(self, connector: str, token: str) -> StartedInstall:
        """Bind the install of state ``token`` to a new browser session; where to send the browser.

        InstallSessionError when a browser started this install already; StateRejectedError when the
        state is not one Mercator issued for ``connector``, has expired or was used.
        """
        definition = self._definition(connector)
        state = self._checked_state(definition.name, token)
        session = new_session()
        try:
            authorize_url = self._nonces.bind(state.nonce, session_hash(session))
        except NonceRefusedError as refused:
            raise _refusal(refused.reason) from None
        logger.info(
            "OAuth install of connector %s started in a browser for tenant %s",
            definition.name,
            state.tenant_id,
        )
        return StartedInstall(
            authorize_url=authorize_url,
            session=session,
            redirect_uri=state.redirect_uri,
            max_age=max(1, state.expires_at - int(self._clock())),
        )

    async def callback(
        self, connector: str, query: Mapping[str, str], sessions: Sequence[str] = ()
    ) -> Integration:
        """Complete an install: check the state and the browser's ``sessions`` (the install cookie's
        values), trade the code, register the integration."""
        definition = self._definition(connector)
        auth = oauth_auth(definition)
        state, record = self._accepted_state(definition.name, query, sessions)
        verifier = (
            self._signer_now().unseal(state.nonce, record.sealed_verifier) if record.sealed_verifier else None
        )
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
            token_url_of(definition, app, state.params),
            app,
            code=code,
            redirect_uri=state.redirect_uri,
            # Whenever the consent carried a challenge, whatever the definition says now.
            code_verifier=verifier,
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

    def _checked_state(self, connector: str, token: str | None) -> InstallState:
        """The install state ``token`` asserts, issued here for ``connector`` and not expired."""
        if not token:
            raise StateRejectedError("the request carries no state")
        state = self._signer_now().verify(token)
        if state.connector != connector:
            raise StateRejectedError("the state was issued for another connector")
        if state.expires_at <= self._clock():
            raise StateRejectedError("the state has expired; start the install again")
        return state

    def _accepted_state(
        self, connector: str, query: Mapping[str, str], sessions: Sequence[str]
    ) -> tuple[InstallState, NonceRecord]:
        state = self._checked_state(connector, query.get("state"))
        for name, value in query.items():
            expected = state.params.get(_ALIASES.get(name, name))
            if expected is not None and value != expected:
                raise StateRejectedError(f"the callback's {name} is not the one the install was started for")
        presented = [value for value in sessions if SESSION_VALUE.fullmatch(value)]
        if not presented:
            raise InstallSessionError(
                "the callback carries no install cookie: an install must be started from Mercator's start "
                "address and finished in the same browser; start the install again"
            )
        # Last, after every check that costs nothing: a refused callback must not use the nonce up.
        try:
            record = self._nonces.consume(state.nonce, [session_hash(value) for value in presented])
        except NonceRefusedError as refused:
            raise _refusal(refused.reason) from None
        return state, record

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

    def _base(self) -> str:
        if self._base_url is None:
            raise OAuthConfigurationError(
                "OAuth installs need the public address of Mercator's OAuth routes: deploy with the "
                "OAuthBaseUrl parameter (OAUTH_BASE_URL), e.g. the stack's IntegrationsApiUrl output"
            )
        return self._base_url

    def _signer_now(self) -> StateSigner:
        # The key is asked for on every use, so a rotated state key takes over in a warm Lambda as
        # soon as ``signing_key`` answers it (the vault keeps a secret for minutes, not for good);
        # the signer is made again only when the key changes.
        key = self._signing_key()
        if self._signer is None or self._signer[0] != key:
            try:
                self._signer = (key, StateSigner(key))
            except ValueError as e:
                raise OAuthConfigurationError(str(e)) from None
        return self._signer[1]


_REFUSALS: dict[NonceRefusal, tuple[type[StateRejectedError], str]] = {
    "unknown": (StateRejectedError, "the state was used already (or has expired); start the install again"),
    "used": (StateRejectedError, "the state was used already (or has expired); start the install again"),
    "expired": (StateRejectedError, "the state has expired; start the install again"),
    "started": (
        InstallSessionError,
        "this install was started in a browser already; an install address opens once, so start a new "
        "install",
    ),
    "not_started": (
        InstallSessionError,
        "this install was never started from Mercator's start address, so no browser may finish it; "
        "start the install again",
    ),
    "other_session": (
        InstallSessionError,
        "the callback came from another browser than the one that started this install (its install "
        "cookie does not match); start the install again",
    ),
}


def _refusal(reason: NonceRefusal) -> StateRejectedError:
    kind, message = _REFUSALS[reason]
    return kind(message)


def _check_base_url(base_url: str) -> None:
    parts = urlsplit(base_url)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            f"the OAuth base URL must be an https address without user, query or fragment, not {base_url!r}"
        )


def _with_query(url: str, extra: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *extra.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
