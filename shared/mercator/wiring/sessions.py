"""Provider sessions for the services: one ProviderClient per integration, paced by its shared bucket.

Every session of one integration, in any concurrent Lambda, draws on the same DynamoDB rate bucket
(``mercator.state.rate_buckets``), so together they keep the connector's ``rateLimitPerSecond``.
An integration's ``settings["baseUrl"]`` replaces the connector's ``sync.baseUrl`` (staging stores,
the local sandbox); a session opens only when that address, and any the credentials make the
connector's base URL from, names a host the connector allows (EgressPolicy.check_store_hosts), and
its HTTP client goes through the egress guard (mercator.providers.egress). With a TokenRefresher,
sessions of connectors with ``auth.auto_refresh`` renew their OAuth access token before it expires
and once after a 401, once across every Lambda.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

import httpx

from mercator.connector import ConnectorDefinition
from mercator.connector.integration_settings import base_url_of, rate_of
from mercator.domain.entities import Integration
from mercator.providers.client import ProviderClient
from mercator.providers.egress import EgressPolicy
from mercator.providers.retries import RetryPolicy
from mercator.providers.token_refresh import TokenRefresher
from mercator.state.dynamo import DynamoDBClient
from mercator.state.rate_buckets import SharedRateBucket
from mercator.state.secrets import SecretsVault

HttpFactory = Callable[[], httpx.AsyncClient]
RetryFactory = Callable[[], RetryPolicy]


class ProviderSessionFactory:
    """Opens provider sessions (mercator.services.ports.ProviderSessions) for integrations.

    ``http_factory`` makes the HTTP client of each session (tests route it to the sandbox store);
    by default each client makes its own, guarded by ``egress``. ``egress`` also says which hosts,
    beyond the connector's, an integration's store address may name (the strictest policy when not
    given). ``clock`` and ``sleep`` drive the shared rate bucket.
    ``refresher`` renews OAuth tokens (mercator.providers.token_refresh); without it a session uses
    the token it was opened with until the provider refuses it.
    """

    def __init__(
        self,
        dynamodb_client: DynamoDBClient,
        state_table: str,
        *,
        http_factory: HttpFactory | None = None,
        retry_factory: RetryFactory = RetryPolicy,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        details_concurrency: int = 8,
        page_prefetch: int = 4,
        refresher: TokenRefresher | None = None,
        egress: EgressPolicy | None = None,
    ) -> None:
        if not state_table:
            raise ValueError("state_table must name the state table that holds the rate buckets")
        self._dynamodb = dynamodb_client
        self._table = state_table
        self._http_factory = http_factory
        self._retry_factory = retry_factory
        self._clock = clock
        self._sleep = sleep
        self._details_concurrency = details_concurrency
        self._page_prefetch = page_prefetch
        self._refresher = refresher
        self._egress = egress or EgressPolicy()

    def open(
        self, definition: ConnectorDefinition, integration: Integration, credentials: Mapping[str, str]
    ) -> ProviderClient:
        """A client for ``integration``; close it (``aclose`` or ``async with``) when done."""
        if definition.name != integration.connector:
            raise ValueError(
                f"integration {integration.id!r} uses connector {integration.connector!r}, "
                f"not {definition.name!r}"
            )
        limiter = SharedRateBucket(
            self._dynamodb,
            self._table,
            integration.id,
            rate_of(integration, definition),
            clock=self._clock,
            sleep=self._sleep,
        )
        base_url = base_url_of(integration)
        self._egress.check_store_hosts(definition, base_url, credentials)
        tokens = self._refresher.session(definition, integration, credentials) if self._refresher else None
        # Should the client refuse its settings, an HTTP client made for it has sent nothing and holds
        # no connection, so dropping it unclosed leaks nothing.
        return ProviderClient(
            definition,
            credentials,
            limiter=limiter,
            http=self._http_factory() if self._http_factory is not None else None,
            owns_http=True,
            base_url=base_url,
            retry=self._retry_factory(),
            details_concurrency=self._details_concurrency,
            page_prefetch=self._page_prefetch,
            tokens=tokens,
            egress=self._egress,
        )


def provider_sessions(
    dynamodb: DynamoDBClient, state_table: str, vault: SecretsVault, egress: EgressPolicy
) -> ProviderSessionFactory:
    """Provider sessions paced by the shared rate bucket, renewing OAuth tokens that expire; both the
    store calls and the token calls go through ``egress``."""
    from mercator.providers.oauth_tokens import TOKEN_TIMEOUT_SECONDS, OAuthTokenClient  # noqa: PLC0415
    from mercator.state.locks import DynamoLeaseLock  # noqa: PLC0415
    from mercator.state.oauth_apps import SecretsOAuthApps  # noqa: PLC0415

    token_clients = egress.async_clients(timeout=TOKEN_TIMEOUT_SECONDS, headers={"User-Agent": "Mercator"})
    return ProviderSessionFactory(
        dynamodb,
        state_table,
        refresher=TokenRefresher(
            lock=DynamoLeaseLock(dynamodb, state_table),
            store=vault,
            apps=SecretsOAuthApps(vault),
            endpoint=OAuthTokenClient(token_clients),
        ),
        egress=egress,
    )
