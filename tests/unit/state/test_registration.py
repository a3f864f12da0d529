"""register_integration against moto: what is stored, re-registering an id, and every refusal.

The library call the Integrations API, the OAuth callback and the tests that need a fixed
integration id use; the ``mercator`` command configures integrations through the API instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from mercator.connector import load_shipped
from mercator.services.registration import RegistrationError, register_integration
from mercator.state.integrations import DynamoIntegrations
from mercator.state.secrets import SecretsVault
from tests.unit.state.conftest import REGION

TOKEN = "tok_8e1f0c2b9a7d4e53a6b1c8d0f2e4a9b7"
REGISTERED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def secrets(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def integrations(dynamodb: Any, state_table: str) -> DynamoIntegrations:
    return DynamoIntegrations(dynamodb, state_table, sleep=lambda _: None)


@pytest.fixture
def vault(secrets: Any) -> SecretsVault:
    return SecretsVault(secrets)


@pytest.fixture
def nothing_stored(state_table: str, dynamodb: Any, secrets: Any) -> Callable[[], bool]:
    return lambda: secret_names(secrets) == [] and dynamodb.scan(TableName=state_table)["Items"] == []


def secret_names(secrets: Any) -> list[str]:
    return [secret["Name"] for secret in secrets.list_secrets()["SecretList"]]


def register(
    integrations: DynamoIntegrations, vault: SecretsVault, connector: str = "salla", **options: Any
) -> Any:
    options.setdefault("tenant_id", "t1")
    options.setdefault("credentials", {"accessToken": TOKEN, "webhookSecret": "whsec"})
    return register_integration(integrations, vault, load_shipped(connector), **options)


def test_register_stores_the_secret_and_the_active_integration(
    integrations: DynamoIntegrations, vault: SecretsVault, secrets: Any
) -> None:
    registered = register(
        integrations,
        vault,
        integration_id="salla-main",
        resources=["orders", "products"],
        settings={"baseUrl": "http://127.0.0.1:8000/admin/v2", "label": "main store"},
        clock=lambda: REGISTERED,
    )

    integration = integrations.get("salla-main")
    assert integration == registered
    assert (integration.tenant_id, integration.connector, integration.status) == ("t1", "salla", "active")
    assert integration.resources == ["orders", "products"]
    assert integration.settings == {"baseUrl": "http://127.0.0.1:8000/admin/v2", "label": "main store"}
    assert integration.created_at == REGISTERED
    secret = secrets.get_secret_value(SecretId="mercator/credentials/t1/salla-main")
    assert secret["ARN"] == integration.credentials_arn
    assert json.loads(secret["SecretString"]) == {"accessToken": TOKEN, "webhookSecret": "whsec"}


def test_register_without_an_id_makes_one(
    integrations: DynamoIntegrations, vault: SecretsVault, secrets: Any
) -> None:
    registered = register(integrations, vault)

    assert re.fullmatch(r"[0-9a-f]{32}", registered.id)
    stored = integrations.get(registered.id)
    assert stored is not None and stored.resources is None
    assert secret_names(secrets) == [f"mercator/credentials/t1/{registered.id}"]


def test_registering_again_updates_credentials_and_keeps_created_at(
    integrations: DynamoIntegrations, vault: SecretsVault, secrets: Any
) -> None:
    register(
        integrations,
        vault,
        integration_id="shop",
        credentials={"accessToken": "old"},
        clock=lambda: REGISTERED,
    )

    register(
        integrations,
        vault,
        integration_id="shop",
        credentials={"accessToken": "new"},
        resources=["orders"],
        clock=lambda: REGISTERED + timedelta(days=1),
    )

    after = integrations.get("shop")
    assert after is not None
    assert after.created_at == REGISTERED
    assert after.resources == ["orders"]
    assert json.loads(secrets.get_secret_value(SecretId="mercator/credentials/t1/shop")["SecretString"]) == {
        "accessToken": "new"
    }


def test_an_id_of_another_connector_is_not_taken_over(
    integrations: DynamoIntegrations, vault: SecretsVault
) -> None:
    register(integrations, vault, integration_id="shop")

    with pytest.raises(RegistrationError) as caught:
        register(
            integrations,
            vault,
            "zid",
            integration_id="shop",
            credentials={"accessToken": "a", "authorizationToken": "b", "storeId": "7"},
        )

    assert str(caught.value) == (
        "integration 'shop' already exists for tenant 't1' and connector 'salla'; choose another id"
    )
    integration = integrations.get("shop")
    assert integration is not None and integration.connector == "salla"


@pytest.mark.parametrize(
    "case",
    [
        (
            "shopify",
            {},
            {"accessToken": "a"},
            "the credentials lack shopDomain, which connector 'shopify' needs",
        ),
        ("salla", {}, {"accesToken": "a"}, "the credentials lack accessToken"),
        ("salla", {}, {"accessToken": ""}, "the credentials lack accessToken"),
        (
            "woocommerce",
            {"settings": {"baseUrl": "http://127.0.0.1:9000/wp-json/wc/v3"}},
            {"consumerKey": "ck"},
            "the credentials lack consumerSecret, which connector 'woocommerce' needs",
        ),
        (
            "salla",
            {"resources": ["orders", "carts"]},
            {"accessToken": "a"},
            "connector 'salla' has no enabled resource 'carts'; "
            "resources: orders, products, customers, abandoned_carts",
        ),
        ("salla", {"resources": []}, {"accessToken": "a"}, "give at least one resource"),
        ("salla", {"settings": {"baseUrl": "ftp://x"}}, {"accessToken": "a"}, "is not an http(s) URL"),
        (
            "salla",
            {"settings": {"rateLimitPerSecond": "0"}},
            {"accessToken": "a"},
            "setting rateLimitPerSecond '0' must be a number of requests per second above 0",
        ),
        (
            "salla",
            {"settings": {"rateLimitPerSecond": "fast"}},
            {"accessToken": "a"},
            "setting rateLimitPerSecond 'fast' must be a number",
        ),
        ("salla", {"integration_id": "a#b"}, {"accessToken": "a"}, "integration id 'a#b' must start with"),
        ("salla", {"tenant_id": "t 1"}, {"accessToken": "a"}, "tenant 't 1' must start with"),
        # Secret names by kind: such a tenant's secrets would sit among Mercator's own.
        (
            "salla",
            {"tenant_id": "oauth-apps"},
            {"accessToken": "a"},
            "a name Mercator keeps for its own secrets",
        ),
        (
            "salla",
            {"tenant_id": "Credentials"},
            {"accessToken": "a"},
            "a name Mercator keeps for its own secrets",
        ),
    ],
)
def test_bad_registrations_are_refused_before_anything_is_stored(
    integrations: DynamoIntegrations,
    vault: SecretsVault,
    nothing_stored: Callable[[], bool],
    case: tuple[str, dict[str, Any], dict[str, str], str],
) -> None:
    connector, options, credentials, message = case

    with pytest.raises(RegistrationError) as caught:
        register(integrations, vault, connector, credentials=credentials, **options)

    assert message in str(caught.value)
    assert nothing_stored()


def test_a_woocommerce_store_behind_a_base_url_setting_needs_no_store_url(
    integrations: DynamoIntegrations, vault: SecretsVault
) -> None:
    registered = register(
        integrations,
        vault,
        "woocommerce",
        integration_id="woo",
        credentials={"consumerKey": "ck", "consumerSecret": "cs"},
        settings={"baseUrl": "http://127.0.0.1:9000/wp-json/wc/v3"},
        clock=lambda: REGISTERED,
    )

    assert integrations.get("woo") == registered
