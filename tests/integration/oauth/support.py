"""An OAuth world in process: moto's DynamoDB and Secrets Manager, a Salla sandbox with its OAuth server.

Every HTTP client Mercator makes (provider sessions, token calls) reaches the sandbox through
``httpx.ASGITransport``. The sandbox's clock stands still unless a test moves it; Mercator reads the
real wall clock, so ``expiresAt`` values are set relative to ``time.time()``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import httpx

from mercator.connector import ConnectorDefinition, load_shipped
from mercator.domain.entities import Integration
from mercator.providers.oauth_tokens import HttpFactory, OAuthTokenClient
from mercator.providers.token_refresh import RefreshTiming, TokenRefresher
from mercator.services.connectors import ConnectorCatalog
from mercator.services.oauth import OAuthService
from mercator.services.registration import register_integration
from mercator.state.integrations import DynamoIntegrations
from mercator.state.locks import DynamoLeaseLock
from mercator.state.oauth_apps import SecretsOAuthApps
from mercator.state.oauth_nonces import DynamoOAuthNonces
from mercator.state.secrets import SecretsVault
from mercator.wiring.sessions import ProviderSessionFactory
from mercator_local.resources import create_template_table
from mercator_sandbox import OAuthServerConfig, Sandbox
from tests.integration.providers.support import FrozenClock, fast_retries
from tests.sandbox_egress import SANDBOX_EGRESS

REGION = "eu-central-1"
TABLE = "mercator-state"
TENANT = "tenant-oauth"
ORIGIN = "http://salla.sandbox.test"
CLIENT_ID = "mercator-salla-app"
CLIENT_SECRET = "cs_salla_4f0b8e2d6a1c9e7b3d5f"
WEBHOOK_SECRET = "whsec_salla_8c2e6a4b0d9f1e3c"
STATE_KEY = "state-key-for-tests-0123456789abcdef-0123456789"
BASE_URL = "https://api.mercator.test/dev"
REDIRECT = f"{BASE_URL}/oauth/salla/callback"
SIZES = {"orders": 12, "products": 0, "customers": 0, "carts": 0}


class Serialized:
    """A boto3 client whose calls run one at a time across threads.

    AWS applies each conditional write atomically; moto in process does not across threads, so the
    simulated Lambdas share one lock around every single request (never around a read-then-write).
    """

    def __init__(self, client: Any, lock: threading.Lock) -> None:
        self._client = client
        self._lock = lock
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def call(**request: Any) -> Any:
            with self._lock:
                return method(**request)

        return call


@dataclass
class Lambda:
    """What one simulated Lambda builds at cold start: its own AWS clients and adapters."""

    dynamodb: Any
    vault: SecretsVault
    integrations: DynamoIntegrations
    sessions: ProviderSessionFactory
    refresher: TokenRefresher
    oauth: OAuthService


class OAuthWorld:
    """The moto account, the sandbox store and the Salla connector's OAuth app, for one test."""

    def __init__(self) -> None:
        self.sandbox_clock = FrozenClock()
        self.sandbox = Sandbox(
            "salla",
            seed=3,
            sizes=SIZES,
            rate_limit=None,
            clock=self.sandbox_clock,
            oauth=OAuthServerConfig(
                client_id=CLIENT_ID, client_secret=CLIENT_SECRET, access_token_seconds=3600
            ),
        )
        assert self.sandbox.oauth is not None
        self.oauth_server = self.sandbox.oauth
        self.definition: ConnectorDefinition = load_shipped("salla")
        self.aws_lock = threading.Lock()
        create_template_table(boto3.client("dynamodb", region_name=REGION), "StateTable", table_name=TABLE)
        secrets = boto3.client("secretsmanager", region_name=REGION)
        app = {
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "authorizeUrl": f"{ORIGIN}/oauth/authorize",
            "tokenUrl": f"{ORIGIN}/oauth/token",
            "credentials": {"webhookSecret": WEBHOOK_SECRET},
            "settings": {"baseUrl": self.sandbox.base_url(ORIGIN)},
        }
        secrets.create_secret(Name="mercator/oauth-apps/salla", SecretString=json.dumps(app))
        secrets.create_secret(Name="mercator/oauth-state/key", SecretString=STATE_KEY)
        self.secrets = secrets
        self.http_clients: list[httpx.AsyncClient] = []

    def http(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.sandbox.app), base_url=ORIGIN)
        self.http_clients.append(client)
        return client

    def cold_start(
        self,
        *,
        wait: float = 20.0,
        page_prefetch: int = 4,
        clock: Callable[[], float] = time.time,
        base_url: str | None = BASE_URL,
        pkce: bool = False,
        token_http: HttpFactory | None = None,
    ) -> Lambda:
        """A Lambda's adapters on clients of its own (serialized with every other Lambda's).

        ``clock`` is the OAuth service's (install states expire by it), ``base_url`` its configured
        address. With ``pkce`` its Salla connector declares ``auth.pkce: true`` (the shipped one does
        not); ``token_http`` replaces the sandbox as the token endpoint.
        """
        dynamodb = Serialized(boto3.client("dynamodb", region_name=REGION), self.aws_lock)
        vault = SecretsVault(Serialized(boto3.client("secretsmanager", region_name=REGION), self.aws_lock))
        refresher = TokenRefresher(
            lock=DynamoLeaseLock(dynamodb, TABLE),
            store=vault,
            apps=SecretsOAuthApps(vault),
            endpoint=OAuthTokenClient(self.http),
            timing=RefreshTiming(wait=wait, poll=0.01),
        )
        integrations = DynamoIntegrations(dynamodb, TABLE)
        return Lambda(
            dynamodb=dynamodb,
            vault=vault,
            integrations=integrations,
            sessions=ProviderSessionFactory(
                dynamodb,
                TABLE,
                http_factory=self.http,
                retry_factory=fast_retries,
                page_prefetch=page_prefetch,
                refresher=refresher,
                egress=SANDBOX_EGRESS,
            ),
            refresher=refresher,
            oauth=OAuthService(
                connectors=ConnectorCatalog({"salla": self.salla(pkce=True)} if pkce else None),
                apps=SecretsOAuthApps(vault),
                nonces=DynamoOAuthNonces(dynamodb, TABLE, clock=clock),
                exchange=OAuthTokenClient(token_http or self.http),
                integrations=integrations,
                vault=vault,
                signing_key=lambda: vault.secret_string("mercator/oauth-state/key").encode(),
                base_url=base_url,
                clock=clock,
            ),
        )

    def salla(self, *, pkce: bool) -> ConnectorDefinition:
        """The shipped Salla connector, declaring ``auth.pkce`` as given."""
        auth = self.definition.auth
        assert auth is not None
        return self.definition.model_copy(update={"auth": auth.model_copy(update={"pkce": pkce})})

    def installed(self, *, expires_in: float) -> tuple[Integration, dict[str, str]]:
        """An integration holding tokens the sandbox issued; ``expiresAt`` ``expires_in`` s from now."""
        issued = self.oauth_server.issue("offline_access")
        credentials = {
            "accessToken": issued.access_token,
            "refreshToken": issued.refresh_token,
            "expiresAt": str(int(time.time() + expires_in)),
            "webhookSecret": WEBHOOK_SECRET,
        }
        lambda_ = self.cold_start()
        integration = register_integration(
            lambda_.integrations,
            lambda_.vault,
            self.definition,
            tenant_id=TENANT,
            credentials=credentials,
            settings={"baseUrl": self.sandbox.base_url(ORIGIN), "rateLimitPerSecond": 1000},
        )
        return integration, credentials

    def secret_names(self) -> list[str]:
        return sorted(entry["Name"] for entry in self.secrets.list_secrets()["SecretList"])
