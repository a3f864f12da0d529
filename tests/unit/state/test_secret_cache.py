"""SecretsVault's reads through Powertools' SecretsProvider, on moto's Secrets Manager.

A read within ``max_age`` is answered from the warm Lambda's copy; after it, with ``force_fetch``, or
after the vault's own write of that secret, Secrets Manager is asked again. The token refresher always
reads past the copy, so a token another worker stored is used, never renewed a second time. Errors
stay the vault's: CredentialsError with the ClientError as its cause, other failures as raised.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.exceptions import ClientError, EndpointConnectionError

from mercator.domain.entities import Integration
from mercator.domain.errors import CredentialsError
from mercator.domain.oauth_installs import OAuthApp, TokenGrant
from mercator.providers.token_refresh import RefreshTiming, TokenRefresher
from mercator.state.secrets import MAX_AGE_SECONDS, SecretsVault
from tests.secret_cache_clock import CacheClock
from tests.unit.providers.conftest import AutoTime, connector, resource
from tests.unit.state.conftest import REGION

OLD = {"accessToken": "at-old-1a2b3c", "refreshToken": "rt-old-4d5e6f", "storeId": "42"}
NEW = {"accessToken": "at-new-7a8b9c", "refreshToken": "rt-new-0d1e2f", "storeId": "42"}
DEFINITION = connector(
    resource(),
    auth={
        "type": "oauth2",
        "authorizeUrl": "https://accounts.example/oauth2/auth",
        "tokenUrl": "https://accounts.example/oauth2/token",
        "auto_refresh": True,
    },
)


@pytest.fixture
def secrets(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def reads(secrets: Any) -> list[str]:
    """The SecretId of every GetSecretValue the client sends."""
    seen: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        seen.append(params["SecretId"])

    secrets.meta.events.register("provide-client-params.secrets-manager.GetSecretValue", count)
    return seen


@pytest.fixture
def cache_clock(monkeypatch: pytest.MonkeyPatch) -> CacheClock:
    return CacheClock().install(monkeypatch)


def stored(secrets: Any, value: dict[str, str]) -> Integration:
    """An integration whose secret was written elsewhere (the Integrations API, another Lambda)."""
    arn = secrets.create_secret(Name="mercator/t-1/shop-1", SecretString=json.dumps(value))["ARN"]
    return Integration(
        id="shop-1",
        tenant_id="t-1",
        connector="demo",
        credentials_arn=arn,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def rotated_elsewhere(secrets: Any, integration: Integration, value: dict[str, str]) -> None:
    secrets.put_secret_value(SecretId=integration.credentials_arn, SecretString=json.dumps(value))


def test_a_second_read_within_max_age_does_not_call_aws(secrets: Any, reads: list[str]) -> None:
    integration = stored(secrets, OLD)
    secrets.create_secret(Name="mercator/vapid", SecretString="vapid-text")
    vault = SecretsVault(secrets)

    assert vault.credentials(integration) == OLD
    assert vault.credentials(integration) == OLD
    assert vault.secret_string("mercator/vapid") == "vapid-text"
    assert vault.secret_string("mercator/vapid") == "vapid-text"

    assert reads == [integration.credentials_arn, "mercator/vapid"]


def test_a_rotation_is_seen_once_max_age_has_passed(
    secrets: Any, reads: list[str], cache_clock: CacheClock
) -> None:
    integration = stored(secrets, OLD)
    vault = SecretsVault(secrets)
    vault.credentials(integration)
    rotated_elsewhere(secrets, integration, NEW)

    cache_clock.advance(MAX_AGE_SECONDS - 1)
    assert vault.credentials(integration) == OLD
    assert len(reads) == 1

    cache_clock.advance(2)
    assert vault.credentials(integration) == NEW
    assert len(reads) == 2


def test_max_age_is_five_minutes_unless_the_vault_is_given_another() -> None:
    assert MAX_AGE_SECONDS == 300
    with pytest.raises(ValueError, match="max_age"):
        SecretsVault(boto3.client("secretsmanager", region_name=REGION), max_age=-1)


def test_force_fetch_reads_what_is_stored_now(secrets: Any, reads: list[str]) -> None:
    integration = stored(secrets, OLD)
    secrets.create_secret(Name="mercator/oauth-state/key", SecretString="key-a")
    vault = SecretsVault(secrets)
    vault.credentials(integration)
    vault.secret_string("mercator/oauth-state/key")
    rotated_elsewhere(secrets, integration, NEW)
    secrets.put_secret_value(SecretId="mercator/oauth-state/key", SecretString="key-b")

    assert vault.credentials(integration, force_fetch=True) == NEW
    assert vault.secret_string("mercator/oauth-state/key", force_fetch=True) == "key-b"
    # What was read anew is what later reads are answered with.
    assert vault.credentials(integration) == NEW
    assert len(reads) == 4


def test_the_read_after_the_vaults_own_renewal_goes_to_aws(secrets: Any, reads: list[str]) -> None:
    integration = stored(secrets, OLD)
    vault = SecretsVault(secrets)
    vault.credentials(integration)

    vault.replace_credentials(integration, NEW)

    assert vault.credentials(integration) == NEW
    assert vault.credentials(integration) == NEW
    assert len(reads) == 2


def test_credentials_stored_anew_by_name_are_read_anew_by_arn(secrets: Any, reads: list[str]) -> None:
    integration = stored(secrets, OLD)
    vault = SecretsVault(secrets)
    vault.credentials(integration)

    arn = vault.store_credentials("mercator/t-1/shop-1", NEW)

    assert arn == integration.credentials_arn
    assert vault.credentials(integration) == NEW
    assert len(reads) == 2


def test_a_deleted_secret_is_not_answered_from_the_cache(secrets: Any) -> None:
    integration = stored(secrets, OLD)
    vault = SecretsVault(secrets)
    vault.credentials(integration)

    vault.delete_secret(integration.credentials_arn)

    for _ in range(2):  # a failed read leaves the next one going to AWS too
        with pytest.raises(CredentialsError, match="do not exist") as raised:
            vault.credentials(integration)
        assert raised.value.code == "ResourceNotFoundException"


def test_a_missing_secret_is_the_same_credentials_error_caused_by_the_client_error(secrets: Any) -> None:
    vault = SecretsVault(secrets)
    missing = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mercator/t-1/gone-AbCdEf"
    integration = Integration(
        id="shop-9", tenant_id="t-1", connector="demo", credentials_arn=missing, created_at=datetime.now(UTC)
    )

    with pytest.raises(CredentialsError) as from_credentials:
        vault.credentials(integration)
    with pytest.raises(CredentialsError) as from_text:
        vault.secret_string("mercator/oauth-apps/none")

    assert str(from_credentials.value) == (
        f"the credentials of integration 'shop-9' (secret {missing!r}) do not exist"
    )
    assert str(from_text.value) == "secret 'mercator/oauth-apps/none' does not exist"
    for raised in (from_credentials.value, from_text.value):
        assert raised.code == "ResourceNotFoundException"
        assert isinstance(raised.__cause__, ClientError)


class _Refusing:
    """A Secrets Manager client whose GetSecretValue fails with ``error``."""

    class exceptions:  # noqa: N801 - boto3's shape
        ClientError = ClientError

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_secret_value(self, **request: Any) -> dict[str, Any]:
        raise self.error


def test_another_refusal_keeps_its_code_and_message_without_the_powertools_wrapper() -> None:
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetSecretValue")
    client: Any = _Refusing(denied)
    vault = SecretsVault(client, provider=SecretsProvider(boto3_client=client))

    with pytest.raises(CredentialsError) as raised:
        vault.secret_string("mercator/vapid")

    assert str(raised.value) == "secret 'mercator/vapid' could not be read: AccessDeniedException"
    assert raised.value.code == "AccessDeniedException"
    assert raised.value.__cause__ is denied


def test_a_failure_that_is_not_a_refusal_propagates_as_raised() -> None:
    unreachable = EndpointConnectionError(endpoint_url="https://secretsmanager.eu-west-1.amazonaws.com")
    client: Any = _Refusing(unreachable)
    vault = SecretsVault(client)

    with pytest.raises(EndpointConnectionError) as raised:
        vault.secret_string("mercator/vapid")

    assert raised.value is unreachable


class _Lock:
    def __init__(self, held_by_another: bool = False) -> None:
        self.held_by_another = held_by_another

    def acquire(self, name: str, owner: str, lease_seconds: float) -> bool:
        return not self.held_by_another

    def release(self, name: str, owner: str) -> bool:
        return True


class _Apps:
    def app(self, connector: str) -> OAuthApp:
        return OAuthApp(clientId="c", clientSecret="s")


class _Endpoint:
    def __init__(self, grant: TokenGrant | None = None) -> None:
        self.grant = grant
        self.refresh_tokens: list[str] = []

    async def refresh(self, token_url: str, app: OAuthApp, *, refresh_token: str) -> TokenGrant:
        self.refresh_tokens.append(refresh_token)
        assert self.grant is not None, "the token endpoint was called"
        return self.grant


def refresher(vault: SecretsVault, endpoint: _Endpoint, lock: _Lock | None = None) -> TokenRefresher:
    time = AutoTime()
    return TokenRefresher(
        lock=lock or _Lock(),
        store=vault,
        apps=_Apps(),
        endpoint=endpoint,
        clock=time.clock,
        sleep=time.sleep,
        timing=RefreshTiming(wait=5.0),
    )


@pytest.mark.anyio
async def test_a_token_another_worker_renewed_is_used_not_renewed_again(secrets: Any) -> None:
    # Given this Lambda's copy of the credentials, and another worker's renewal stored since
    integration = stored(secrets, OLD)
    vault = SecretsVault(secrets)
    vault.credentials(integration)
    rotated_elsewhere(secrets, integration, NEW)
    endpoint = _Endpoint()

    # When a 401 makes this Lambda renew, under the lock
    renewed = await refresher(vault, endpoint).renew(DEFINITION, integration, OLD["accessToken"])

    # Then it reads past its copy, finds the new token, and never spends the refresh token again
    assert renewed == NEW
    assert endpoint.refresh_tokens == []
    assert vault.credentials(integration) == NEW


@pytest.mark.anyio
async def test_a_waiter_sees_the_token_the_lock_holder_stored(secrets: Any) -> None:
    integration = stored(secrets, OLD)
    vault = SecretsVault(secrets)
    vault.credentials(integration)
    rotated_elsewhere(secrets, integration, NEW)
    endpoint = _Endpoint()

    renewed = await refresher(vault, endpoint, _Lock(held_by_another=True)).renew(
        DEFINITION, integration, OLD["accessToken"]
    )

    assert renewed == NEW
    assert endpoint.refresh_tokens == []


@pytest.mark.anyio
async def test_after_a_renewal_the_next_read_is_not_from_the_cache(secrets: Any, reads: list[str]) -> None:
    integration = stored(secrets, OLD)
    vault = SecretsVault(secrets)
    vault.credentials(integration)
    endpoint = _Endpoint(TokenGrant(NEW["accessToken"], refresh_token=NEW["refreshToken"]))

    await refresher(vault, endpoint).renew(DEFINITION, integration, OLD["accessToken"])
    before = len(reads)
    following = vault.credentials(integration)

    assert endpoint.refresh_tokens == [OLD["refreshToken"]]
    assert following["accessToken"] == NEW["accessToken"]
    assert following["refreshToken"] == NEW["refreshToken"]
    assert len(reads) == before + 1
