"""Renewing an integration's OAuth access token once, however many Lambdas find it expired together.

Connectors with ``auth.auto_refresh: true`` get a SessionTokens per provider session. It renews the
token shortly before ``expiresAt`` and once after a 401. Renewing takes the integration's lease lock
(one holder across every Lambda), re-reads the secret, and calls the token endpoint only when the
secret still holds the token that was found stale: whoever waited for the lock, or polled the secret
while another Lambda held it, picks up the token that Lambda stored instead of renewing again. That
matters beyond saving a call: platforms rotate refresh tokens (Salla's work once), so a second
renewal with the same refresh token would be refused and the integration lost. So every read the
refresher makes is ``force_fetch``: a secret kept in a Lambda's cache (mercator.state.secrets, five
minutes) would hide the token another Lambda stored, and lead to exactly that second renewal.

The refresher is built from ports; the composition root (mercator.wiring) gives it the state table's
lease lock, the vault and the OAuth apps, so this package never imports ``mercator.state``.

No token ever reaches a message or a log line; messages name the integration only.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from mercator.connector.auth import OAuth2Auth
from mercator.connector.definition import ConnectorDefinition
from mercator.connector.oauth_endpoints import token_url_of
from mercator.domain.entities import Integration
from mercator.domain.oauth_installs import OAuthApp, TokenEndpointError, TokenGrant

logger = logging.getLogger(__name__)

ACCESS_TOKEN = "accessToken"
REFRESH_TOKEN = "refreshToken"
EXPIRES_AT = "expiresAt"


class RefreshLock(Protocol):
    """A lease lock shared by every Lambda (mercator.state.locks.DynamoLeaseLock)."""

    def acquire(self, name: str, owner: str, lease_seconds: float) -> bool: ...

    def release(self, name: str, owner: str) -> bool: ...


class TokenStore(Protocol):
    """Where integrations' credentials live (mercator.state.secrets.SecretsVault).

    ``credentials(..., force_fetch=True)`` answers what is stored now, never a cached copy; after
    ``replace_credentials`` the next read answers the replacement.
    """

    def credentials(self, integration: Integration, *, force_fetch: bool = False) -> dict[str, str]: ...

    def replace_credentials(self, integration: Integration, credentials: Mapping[str, str]) -> None: ...


class OAuthApps(Protocol):
    """Connectors' OAuth apps (mercator.state.oauth_apps.SecretsOAuthApps)."""

    def app(self, connector: str) -> OAuthApp: ...


class TokenEndpoint(Protocol):
    """A token endpoint client (mercator.providers.oauth_tokens.OAuthTokenClient)."""

    async def refresh(self, token_url: str, app: OAuthApp, *, refresh_token: str) -> TokenGrant: ...


class TokenRefreshError(Exception):
    """An integration's access token could not be renewed; the message says why, without a token."""

    def __init__(self, message: str, *, integration_id: str) -> None:
        super().__init__(message)
        self.integration_id = integration_id


@dataclass(frozen=True)
class RefreshTiming:
    """How early tokens are renewed and how long callers hold and wait for the lock (seconds)."""

    margin: float = 300.0  # renew this long before expiresAt, so no request is sent with a dying token
    lease: float = 60.0  # longer than a token call can take (its timeout is 15 s)
    wait: float = 45.0  # how long a caller waits for another Lambda's renewal before giving up
    poll: float = 0.25  # how often a waiting caller looks at the secret

    def __post_init__(self) -> None:
        for name in ("margin", "lease", "wait", "poll"):
            if getattr(self, name) < 0 or (name != "margin" and getattr(self, name) == 0):
                raise ValueError(f"RefreshTiming.{name} must be above 0, not {getattr(self, name)}")


class TokenRefresher:
    """Renews integrations' access tokens under their lock; one per process, shared by every session."""

    def __init__(
        self,
        *,
        lock: RefreshLock,
        store: TokenStore,
        apps: OAuthApps,
        endpoint: TokenEndpoint,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timing: RefreshTiming | None = None,
    ) -> None:
        self._lock = lock
        self._store = store
        self._apps = apps
        self._endpoint = endpoint
        self._clock = clock
        self._sleep = sleep
        self.timing = timing or RefreshTiming()

    def session(
        self, definition: ConnectorDefinition, integration: Integration, credentials: Mapping[str, str]
    ) -> SessionTokens | None:
        """The token keeper of one session; None when the connector does not renew tokens."""
        auth = definition.auth
        if not isinstance(auth, OAuth2Auth) or not auth.auto_refresh:
            return None
        return SessionTokens(self, definition, integration, credentials)

    def expiring(self, credentials: Mapping[str, str]) -> bool:
        """True when the credentials' ``expiresAt`` is within the margin (or past)."""
        expires_at = _epoch(credentials.get(EXPIRES_AT))
        return expires_at is not None and expires_at - self.timing.margin <= self._clock()

    def expired(self, credentials: Mapping[str, str]) -> bool:
        expires_at = _epoch(credentials.get(EXPIRES_AT))
        return expires_at is not None and expires_at <= self._clock()

    async def renew(
        self, definition: ConnectorDefinition, integration: Integration, stale_token: str
    ) -> dict[str, str]:
        """The integration's credentials with an access token other than ``stale_token``.

        Calls the token endpoint only when nobody has replaced ``stale_token`` yet; otherwise waits for
        (or picks up) the token another caller stored.
        """
        name = f"oauth-token#{integration.id}"
        owner = uuid.uuid4().hex
        deadline = self._clock() + self.timing.wait
        while True:
            if self._lock.acquire(name, owner, self.timing.lease):
                try:
                    return await self._renew_holding_lock(definition, integration, stale_token)
                finally:
                    self._lock.release(name, owner)
            # Polling for another worker's token: a cached read would show the stale one until it aged.
            stored = self._store.credentials(integration, force_fetch=True)
            if stored.get(ACCESS_TOKEN) not in (None, "", stale_token):
                logger.info("integration %s: using the access token another worker renewed", integration.id)
                return stored
            if self._clock() >= deadline:
                raise TokenRefreshError(
                    f"integration {integration.id!r}: another worker held the token lock for more than "
                    f"{self.timing.wait:g} s without storing a new access token; the next attempt will "
                    "renew it",
                    integration_id=integration.id,
                )
            await self._sleep(self.timing.poll)

    async def _renew_holding_lock(
        self, definition: ConnectorDefinition, integration: Integration, stale_token: str
    ) -> dict[str, str]:
        # Under the lock, only what is stored now tells whether another worker renewed meanwhile: a
        # cached copy would send its (possibly rotated, so spent) refresh token a second time.
        stored = self._store.credentials(integration, force_fetch=True)
        if stored.get(ACCESS_TOKEN) not in (None, "", stale_token):
            logger.info("integration %s: the access token was renewed meanwhile", integration.id)
            return stored
        refresh_token = stored.get(REFRESH_TOKEN)
        if not refresh_token:
            raise TokenRefreshError(
                f"integration {integration.id!r} has no refresh token: install the app again to "
                "authorize Mercator anew",
                integration_id=integration.id,
            )
        app = self._apps.app(definition.name)
        try:
            grant = await self._endpoint.refresh(
                token_url_of(definition, app, stored), app, refresh_token=refresh_token
            )
        except TokenEndpointError as e:
            advice = (
                "the merchant must install the app again"
                if e.permanent
                else "the next attempt will try again"
            )
            raise TokenRefreshError(
                f"integration {integration.id!r}: renewing the access token failed ({e}); {advice}",
                integration_id=integration.id,
            ) from None
        # A renewal without an expiry must not keep the old one, or every request would renew again.
        renewed = {key: value for key, value in stored.items() if key != EXPIRES_AT}
        renewed.update(grant.credentials())
        # The refresh token may have rotated: storing it is what keeps the integration alive. The
        # store's next read goes past its cache, so the next message starts with these tokens.
        self._store.replace_credentials(integration, renewed)
        logger.info(
            "integration %s: access token renewed (expires at %s, refresh token %s)",
            integration.id,
            grant.expires_at if grant.expires_at is not None else "never",
            "rotated" if grant.refresh_token and grant.refresh_token != refresh_token else "kept",
        )
        return renewed


class SessionTokens:
    """The tokens one provider session uses: renewed before they expire and once after a 401.

    One session's concurrent requests (details fetched eight at a time) share an asyncio lock, so they
    renew once between them; across sessions and Lambdas the refresher's lease lock does the same.
    """

    def __init__(
        self,
        refresher: TokenRefresher,
        definition: ConnectorDefinition,
        integration: Integration,
        credentials: Mapping[str, str],
    ) -> None:
        self._refresher = refresher
        self._definition = definition
        self._integration = integration
        self._credentials = dict(credentials)
        self._lock = asyncio.Lock()
        self._renewed_after_rejection = False

    @property
    def credentials(self) -> dict[str, str]:
        return dict(self._credentials)

    @property
    def access_token(self) -> str:
        return self._credentials.get(ACCESS_TOKEN, "")

    async def fresh(self) -> dict[str, str]:
        """Credentials to send now: renewed first when the token is about to expire."""
        if not self._refresher.expiring(self._credentials) or not self._renewable():
            return self._credentials
        async with self._lock:
            if self._refresher.expiring(self._credentials):
                try:
                    self._credentials = await self._renew()
                except TokenRefreshError:
                    if self._refresher.expired(self._credentials):
                        raise
                    # Renewing early failed; the token still works for a while, and later calls retry.
                    logger.warning(
                        "integration %s: renewing the access token early failed; using it until it expires",
                        self._integration.id,
                    )
            return self._credentials

    async def after_rejection(self, rejected_token: str) -> dict[str, str] | None:
        """Credentials with a new token after the provider refused ``rejected_token`` (a 401).

        None when nothing can help: no refresh token, or this session already renewed after a 401
        (a renewed token refused as well means the authorization itself is gone).
        """
        async with self._lock:
            if self.access_token != rejected_token:
                return self._credentials  # another request of this session renewed it already
            if self._renewed_after_rejection or not self._renewable():
                return None
            self._renewed_after_rejection = True
            self._credentials = await self._renew()
            return self._credentials

    def _renewable(self) -> bool:
        return bool(self._credentials.get(REFRESH_TOKEN))

    async def _renew(self) -> dict[str, str]:
        return await self._refresher.renew(self._definition, self._integration, self.access_token)


def _epoch(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None
