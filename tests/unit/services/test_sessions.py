"""Provider sessions: the integration's base URL, the shared DynamoDB bucket at the connector's rate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from mercator.connector import load_shipped
from mercator.wiring.sessions import ProviderSessionFactory
from mercator_local.resources import create_template_table
from mercator_sandbox import Sandbox
from tests.fake_aws import use_fake_aws
from tests.integration.providers.support import STOREFRONTS, AutoTime, FrozenClock, fast_retries
from tests.sandbox_egress import SANDBOX_EGRESS
from tests.unit.services.support import make_integration

REGION = "eu-central-1"
TABLE = "mercator-state"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    use_fake_aws(monkeypatch, REGION)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_template_table(client, "StateTable", table_name=TABLE)
        yield client


def salla_store() -> Sandbox:
    sizes = {"orders": 6, "products": 0, "customers": 0, "carts": 0}
    return Sandbox("salla", seed=1, sizes=sizes, rate_limit=None, clock=FrozenClock())


@pytest.mark.anyio
async def test_a_session_reaches_the_integrations_base_url_paced_by_its_shared_bucket(dynamodb: Any) -> None:
    # Given a Salla integration whose settings point at a sandbox store, and fake time for the bucket
    sandbox = salla_store()
    integration = make_integration("salla", sandbox)
    time = AutoTime()
    made: list[httpx.AsyncClient] = []

    def http() -> httpx.AsyncClient:
        made.append(httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)))
        return made[-1]

    factory = ProviderSessionFactory(
        dynamodb,
        TABLE,
        http_factory=http,
        retry_factory=fast_retries,
        clock=time.clock,
        sleep=time.sleeper("b"),
        egress=SANDBOX_EGRESS,
    )

    # When five orders' details are fetched one after another
    session = factory.open(load_shipped("salla"), integration, STOREFRONTS["salla"].credentials)
    ids = sorted(sandbox.store.ids("orders"))[:5]
    for order_id in ids:
        await session.details("orders", order_id)
    await session.aclose()

    # Then they went to the integration's own base URL
    assert session.base_url == integration.settings["baseUrl"] == "http://salla.sandbox.test/admin/v2"
    assert sandbox.counters.snapshot()["total"] == 5
    # And the integration's bucket in the state table spaced them at Salla's 2 requests/s
    # (the first request waits only the bucket's rounding guard, a float's last digit)
    assert [wait for wait in time.sleeps["b"] if wait > 1e-9] == pytest.approx([0.5, 0.5, 0.5, 0.5])
    item = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"INTEGRATION#{integration.id}"}, "sk": {"S": "RATE_BUCKET"}}
    )["Item"]
    assert int(item["version"]["N"]) == 5
    # And closing the session closed the HTTP client made for it
    assert len(made) == 1
    assert made[0].is_closed


def test_without_a_base_url_setting_the_connectors_own_is_used(dynamodb: Any) -> None:
    factory = ProviderSessionFactory(dynamodb, TABLE)

    session = factory.open(load_shipped("salla"), make_integration("salla"), STOREFRONTS["salla"].credentials)

    assert session.base_url == "https://api.salla.dev/admin/v2"


@pytest.mark.parametrize("value", [42, "", "   "])
def test_a_base_url_setting_that_is_not_a_url_is_refused(dynamodb: Any, value: object) -> None:
    integration = make_integration("salla").model_copy(update={"settings": {"baseUrl": value}})

    with pytest.raises(ValueError, match=r"integration 'salla-store': settings\.baseUrl must be a URL"):
        ProviderSessionFactory(dynamodb, TABLE).open(load_shipped("salla"), integration, {"accessToken": "x"})


def test_a_connector_other_than_the_integrations_is_refused(dynamodb: Any) -> None:
    with pytest.raises(ValueError, match="integration 'salla-store' uses connector 'salla', not 'shopify'"):
        ProviderSessionFactory(dynamodb, TABLE).open(load_shipped("shopify"), make_integration("salla"), {})
