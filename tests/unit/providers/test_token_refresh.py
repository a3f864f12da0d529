"""The provider client's token hook and the refresher, on in-memory ports and a mock transport.

The races on real AWS and the sandbox are in tests/integration/oauth; these pin down the rules:
when a renewal happens, when it does not, and what a caller gets when it cannot.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.domain.entities import Integration
from mercator.domain.oauth_installs import OAuthApp, TokenEndpointError, TokenGrant
from mercator.domain.provider_errors import ProviderHTTPError
from mercator.providers.token_refresh import RefreshTiming, SessionTokens, TokenRefresher, TokenRefreshError
from tests.unit.providers.conftest import AutoTime, connector, json_response, make_client, resource

NOW = 1_700_000_000.0
OLD = "at-old-7c1d2e3f4a5b"
NEW = "at-new-9e8d7c6b5a4f"
OAUTH = {
    "type": "oauth2",
    "authorizeUrl": "https://accounts.example/oauth2/auth",
    "tokenUrl": "https://accounts.example/oauth2/token",
    "auto_refresh": True,
}
DEFINITION = connector(resource(), auth=OAUTH)
INTEGRATION = Integration(
    id="shop-1",
    tenant_id="t-1",
    connector="demo",
    credentials_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:mercator/t-1/shop-1-AbCdEf",
    created_at=datetime(2025, 1, 1, tzinfo=UTC),
)


class MemoryLock:
    def __init__(self, time: AutoTime) -> None:
        self.time = time
        self.leases: dict[str, tuple[str, float]] = {}

    def acquire(self, name: str, owner: str, lease_seconds: float) -> bool:
        held = self.leases.get(name)
        if held is not None and held[0] != owner and held[1] > self.time.now:
            return False
        self.leases[name] = (owner, self.time.now + lease_seconds)
        return True

    def release(self, name: str, owner: str) -> bool:
        if self.leases.get(name, ("", 0.0))[0] != owner:
            return False
        del self.leases[name]
        return True


class MemoryStore:
    def __init__(self, credentials: Mapping[str, str]) -> None:
        self.stored = dict(credentials)
        self.replaced: list[dict[str, str]] = []

    def credentials(self, integration: Integration, *, force_fetch: bool = False) -> dict[str, str]:
        return dict(self.stored)

    def replace_credentials(self, integration: Integration, credentials: Mapping[str, str]) -> None:
        self.stored = dict(credentials)
        self.replaced.append(dict(credentials))


class Apps:
    def app(self, connector: str) -> OAuthApp:
        return OAuthApp(clientId="c", clientSecret="s")


class Endpoint:
    def __init__(self, *outcomes: TokenGrant | TokenEndpointError) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, str]] = []

    async def refresh(self, token_url: str, app: OAuthApp, *, refresh_token: str) -> TokenGrant:
        self.calls.append((token_url, refresh_token))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, TokenEndpointError):
            raise outcome
        return outcome


def credentials(*, expires_in: float | None, refresh: str | None = "rt-1") -> dict[str, str]:
    found = {"accessToken": OLD, "storeId": "42"}
    if refresh is not None:
        found["refreshToken"] = refresh
    if expires_in is not None:
        found["expiresAt"] = str(int(NOW + expires_in))
    return found


def refresher(
    store: MemoryStore, endpoint: Endpoint, time: AutoTime, lock: MemoryLock | None = None, **timing: float
) -> TokenRefresher:
    return TokenRefresher(
        lock=lock or MemoryLock(time),
        store=store,
        apps=Apps(),
        endpoint=endpoint,
        clock=time.clock,
        sleep=time.sleep,
        timing=RefreshTiming(**timing),
    )


def store_answering(valid: set[str], seen: list[str]) -> Any:
    """A store that takes only ``valid`` tokens and records each request's Authorization."""

    def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        seen.append(token)
        if token not in valid:
            return json_response({"error": "invalid token"}, 401)
        return json_response({"id": request.url.path.rsplit("/", 1)[-1], "name": "x"})

    return handler


def fake_time() -> AutoTime:
    time = AutoTime()
    time.now = NOW
    return time


@pytest.mark.anyio
async def test_a_401_renews_once_and_the_call_is_sent_again() -> None:
    time = fake_time()
    store, endpoint = (
        MemoryStore(credentials(expires_in=3600)),
        Endpoint(TokenGrant(NEW, "rt-2", int(NOW) + 3600)),
    )
    tokens = refresher(store, endpoint, time).session(DEFINITION, INTEGRATION, store.stored)
    seen: list[str] = []

    async with make_client(
        DEFINITION, store_answering({NEW}, seen), credentials=store.stored, tokens=tokens
    ) as client:
        record = await client.details("orders", "7")
        again = await client.details("orders", "8")

    assert record["id"] == "7" and again["id"] == "8"
    assert seen == [OLD, NEW, NEW]
    assert endpoint.calls == [("https://accounts.example/oauth2/token", "rt-1")]
    assert store.stored == {
        "accessToken": NEW,
        "refreshToken": "rt-2",
        "expiresAt": str(int(NOW) + 3600),
        "storeId": "42",
    }


@pytest.mark.anyio
async def test_without_a_refresh_token_the_401_is_the_answer() -> None:
    time = fake_time()
    store, endpoint = MemoryStore(credentials(expires_in=-5, refresh=None)), Endpoint()
    tokens = refresher(store, endpoint, time).session(DEFINITION, INTEGRATION, store.stored)
    seen: list[str] = []

    async with make_client(
        DEFINITION, store_answering(set(), seen), credentials=store.stored, tokens=tokens
    ) as client:
        with pytest.raises(ProviderHTTPError) as raised:
            await client.details("orders", "7")

    assert raised.value.status == 401
    assert endpoint.calls == [] and seen == [OLD]


@pytest.mark.anyio
async def test_a_renewed_token_refused_as_well_is_not_renewed_again() -> None:
    time = fake_time()
    store = MemoryStore(credentials(expires_in=3600))
    endpoint = Endpoint(
        TokenGrant(NEW, "rt-2", int(NOW) + 3600), TokenGrant("never", "rt-3", int(NOW) + 3600)
    )
    tokens = refresher(store, endpoint, time).session(DEFINITION, INTEGRATION, store.stored)
    seen: list[str] = []

    async with make_client(
        DEFINITION, store_answering(set(), seen), credentials=store.stored, tokens=tokens
    ) as client:
        for order in ("7", "8"):
            with pytest.raises(ProviderHTTPError, match="answered 401"):
                await client.details("orders", order)

    # One renewal for the session: the old token, the new one, then the new one again without renewing
    assert len(endpoint.calls) == 1
    assert seen == [OLD, NEW, NEW]


@pytest.mark.anyio
async def test_an_early_renewal_that_fails_keeps_the_still_valid_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = fake_time()
    store = MemoryStore(credentials(expires_in=100))  # within the 300 s margin, not expired
    endpoint = Endpoint(TokenEndpointError("the token endpoint is down", status=503, error=None))
    tokens = refresher(store, endpoint, time).session(DEFINITION, INTEGRATION, store.stored)
    seen: list[str] = []

    with caplog.at_level(logging.WARNING, logger="mercator"):
        async with make_client(
            DEFINITION, store_answering({OLD}, seen), credentials=store.stored, tokens=tokens
        ) as c:
            record = await c.details("orders", "7")

    assert record["id"] == "7" and seen == [OLD]
    assert len(endpoint.calls) == 1
    assert "renewing the access token early failed" in caplog.text
    assert OLD not in caplog.text


@pytest.mark.anyio
async def test_an_expired_token_whose_renewal_is_refused_stops_the_work() -> None:
    time = fake_time()
    store = MemoryStore(credentials(expires_in=-1))
    endpoint = Endpoint(TokenEndpointError("refused (400): invalid_grant", status=400, error="invalid_grant"))
    tokens = refresher(store, endpoint, time).session(DEFINITION, INTEGRATION, store.stored)

    async with make_client(
        DEFINITION, store_answering({OLD}, []), credentials=store.stored, tokens=tokens
    ) as client:
        with pytest.raises(TokenRefreshError, match="the merchant must install the app again") as raised:
            await client.details("orders", "7")

    assert raised.value.integration_id == "shop-1"
    assert "rt-1" not in str(raised.value) and OLD not in str(raised.value)
    assert store.replaced == []


@pytest.mark.anyio
async def test_a_waiter_gives_up_when_the_holder_never_stores_a_token() -> None:
    time = fake_time()
    store, endpoint = MemoryStore(credentials(expires_in=-1)), Endpoint()
    lock = MemoryLock(time)
    lock.leases["oauth-token#shop-1"] = ("another-worker", NOW + 60)  # a live lease of another worker
    refresh = refresher(store, endpoint, time, lock, wait=5, poll=0.5, lease=60)

    with pytest.raises(TokenRefreshError, match="held the token lock for more than 5 s"):
        await refresh.renew(DEFINITION, INTEGRATION, OLD)

    # Polled every half second for five seconds, never calling the token endpoint itself
    assert time.sleeps == [0.5] * 10
    assert endpoint.calls == []


@pytest.mark.anyio
async def test_a_dead_holders_lease_runs_out_and_a_waiter_renews() -> None:
    time = fake_time()
    store, endpoint = (
        MemoryStore(credentials(expires_in=-1)),
        Endpoint(TokenGrant(NEW, "rt-2", int(NOW) + 3600)),
    )
    lock = MemoryLock(time)
    lock.leases["oauth-token#shop-1"] = ("dead-worker", NOW + 3)  # a worker that died holding the lock
    refresh = refresher(store, endpoint, time, lock, wait=45, poll=1, lease=60)

    renewed = await refresh.renew(DEFINITION, INTEGRATION, OLD)

    assert renewed["accessToken"] == NEW
    assert time.sleeps == [1, 1, 1]
    assert len(endpoint.calls) == 1
    assert lock.leases == {}  # released after the renewal


@pytest.mark.anyio
async def test_a_renewal_without_an_expiry_drops_the_old_one() -> None:
    time = fake_time()
    store, endpoint = MemoryStore(credentials(expires_in=-1)), Endpoint(TokenGrant(NEW))
    renewed = await refresher(store, endpoint, time).renew(DEFINITION, INTEGRATION, OLD)
    # The refresh token was not rotated: the stored one is kept
    assert renewed == {"accessToken": NEW, "refreshToken": "rt-1", "storeId": "42"}


@pytest.mark.anyio
async def test_a_token_in_a_query_parameter_is_replaced_in_the_retried_request() -> None:
    definition = connector(
        resource(
            endpoints={
                "list": {"url": "/orders"},
                "details": {"url": "/orders/{id}", "params": {"token": "[[accessToken]]"}},
            }
        ),
        auth=OAUTH,
        headers={},
    )
    time = fake_time()
    store, endpoint = (
        MemoryStore(credentials(expires_in=3600)),
        Endpoint(TokenGrant(NEW, "rt-2", int(NOW) + 3600)),
    )
    tokens = refresher(store, endpoint, time).session(definition, INTEGRATION, store.stored)
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.params["token"])
        if request.url.params["token"] != NEW:
            return json_response({"error": "expired"}, 401)
        return json_response({"id": "7", "name": "x"})

    async with make_client(definition, handler, credentials=store.stored, tokens=tokens) as client:
        await client.details("orders", "7")

    assert sent == [OLD, NEW]


def test_only_connectors_with_auto_refresh_get_a_token_keeper() -> None:
    time = fake_time()
    refresh = refresher(MemoryStore({}), Endpoint(), time)
    assert isinstance(
        refresh.session(load_shipped("salla"), INTEGRATION, {"accessToken": "a"}), SessionTokens
    )
    assert refresh.session(load_shipped("shopify"), INTEGRATION, {"accessToken": "a"}) is None
    assert refresh.session(load_shipped("woocommerce"), INTEGRATION, {}) is None


@pytest.mark.parametrize("field", ["lease", "wait", "poll"])
def test_timings_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=rf"RefreshTiming\.{field} must be above 0"):
        RefreshTiming(**{field: 0})
