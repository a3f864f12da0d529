"""A tenant's integrations: found by tenant, one per connector (the claim), and removed with all they left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from mercator.connector import load_shipped
from mercator.domain.deliveries import DeliveryClaim
from mercator.domain.entities import Integration, RunCheckpoint, RunStats, TrackedId
from mercator.domain.errors import ConnectorTakenError, StateAccessError
from mercator.services.registration import IntegrationConflictError, register_integration
from mercator.state.cursors import DynamoCursors, DynamoRunLog
from mercator.state.delivery_claims import DynamoDeliveryLedger
from mercator.state.dynamo import Table
from mercator.state.integrations import DynamoIntegrations
from mercator.state.purge import Purger
from mercator.state.record_store import DynamoRecords
from mercator.state.secrets import SecretsVault
from mercator.state.tracking import DynamoTracking
from tests.unit.state.conftest import REGION
from tests.unit.state.wrappers import Recording

CREATED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def integration(id_: str, tenant: str = "acme", connector: str = "salla", **fields: Any) -> Integration:
    values: dict[str, Any] = {
        "id": id_,
        "tenant_id": tenant,
        "connector": connector,
        "credentials_arn": f"mercator/{tenant}/{id_}",
        "created_at": CREATED,
    }
    return Integration.model_validate(values | fields)


@pytest.fixture
def repository(dynamodb: Any, state_table: str) -> DynamoIntegrations:
    return DynamoIntegrations(dynamodb, state_table, sleep=lambda _: None)


@pytest.fixture
def secrets(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


# Finding a tenant's integrations


def test_for_tenant_finds_every_status_oldest_first_and_no_other_tenants(
    repository: DynamoIntegrations,
) -> None:
    repository.register(integration("b-late", created_at=CREATED + timedelta(hours=1)))
    repository.register(integration("a-early", connector="shopify"))
    repository.set_status("a-early", "disabled")
    # "acme2" starts like "acme": the index entry's separator keeps them apart.
    repository.register(integration("other", tenant="acme2"))

    found = repository.for_tenant("acme")

    assert [(i.id, i.status) for i in found] == [("a-early", "disabled"), ("b-late", "active")]
    assert [i.id for i in repository.for_tenant("acme2")] == ["other"]
    assert repository.for_tenant("nobody") == []


# One integration per tenant and connector


def test_a_second_integration_of_a_connector_is_refused_naming_the_first(
    repository: DynamoIntegrations,
) -> None:
    repository.register(integration("first"))

    with pytest.raises(ConnectorTakenError) as caught:
        repository.register(integration("second"))

    assert caught.value.integration_id == "first"
    assert repository.get("second") is None
    # Registering the first again (an update) and another tenant's are fine.
    repository.register(integration("first", settings={"syncProducts": False}))
    repository.register(integration("theirs", tenant="globex"))
    stored = repository.get("first")
    assert stored is not None and stored.settings == {"syncProducts": False}


def test_a_claim_left_by_an_interrupted_removal_is_taken_over(
    repository: DynamoIntegrations, dynamodb: Any, state_table: str
) -> None:
    repository.register(integration("gone"))
    # The integration's item was deleted, its claim was not.
    dynamodb.delete_item(TableName=state_table, Key={"pk": {"S": "INTEGRATION#gone"}, "sk": {"S": "META"}})

    repository.register(integration("new"))

    claim = dynamodb.get_item(
        TableName=state_table, Key={"pk": {"S": "TENANT#acme"}, "sk": {"S": "CONNECTOR#salla"}}
    )["Item"]
    assert claim["integration_id"] == {"S": "new"}


def test_delete_removes_the_integration_and_its_claim(repository: DynamoIntegrations) -> None:
    first = integration("first")
    repository.register(first)

    repository.delete(first)
    repository.delete(first)  # nothing left: no error

    assert repository.get("first") is None
    repository.register(integration("second"))
    assert [i.id for i in repository.for_tenant("acme")] == ["second"]


def test_deleting_an_integration_stored_without_a_claim_leaves_the_others_claim(
    repository: DynamoIntegrations,
) -> None:
    # Stored before claims existed, beside a registered one of the same connector
    legacy = integration("legacy")
    repository.put(legacy)
    repository.register(integration("current"))

    repository.delete(legacy)

    assert repository.get("legacy") is None
    with pytest.raises(ConnectorTakenError, match="'current'"):
        repository.register(integration("third"))


class LaggingIndex:
    """DynamoIntegrations whose index has not caught up yet: for_tenant sees nothing."""

    def __init__(self, inner: DynamoIntegrations) -> None:
        self.inner = inner

    def get(self, integration_id: str) -> Integration | None:
        return self.inner.get(integration_id)

    def for_tenant(self, tenant_id: str) -> list[Integration]:
        return []

    def register(self, integration: Integration) -> None:
        self.inner.register(integration)


def test_a_registration_that_loses_the_race_leaves_no_secret_behind(
    repository: DynamoIntegrations, secrets: Any
) -> None:
    vault = SecretsVault(secrets)
    definition = load_shipped("salla")
    credentials = {"accessToken": "tok-9Qz4Lm"}
    winner = register_integration(
        repository, vault, definition, tenant_id="acme", credentials=credentials, integration_id="winner"
    )

    with pytest.raises(IntegrationConflictError) as caught:
        register_integration(
            LaggingIndex(repository),
            vault,
            definition,
            tenant_id="acme",
            credentials=credentials,
            integration_id="loser",
        )

    assert caught.value.integration_id == "winner"
    names = sorted(entry["Name"] for entry in secrets.list_secrets()["SecretList"])
    assert names == [f"mercator/credentials/acme/{winner.id}"]


def test_a_registration_the_index_already_shows_is_refused_before_storing_anything(
    repository: DynamoIntegrations, secrets: Any
) -> None:
    vault = SecretsVault(secrets)
    definition = load_shipped("salla")
    register_integration(repository, vault, definition, tenant_id="acme", credentials={"accessToken": "t"})

    with pytest.raises(IntegrationConflictError, match=r"\(active\) of connector 'salla'"):
        register_integration(
            repository, vault, definition, tenant_id="acme", credentials={"accessToken": "t"}
        )

    assert len(secrets.list_secrets()["SecretList"]) == 1


# Deleting what an integration left


def tracked(integration_id: str, resource: str, external_id: str) -> TrackedId:
    return TrackedId(
        integration_id=integration_id,
        resource=resource,
        external_id=external_id,
        content_hash="h",
        first_seen_via="sync",
    )


def test_tracked_ids_are_deleted_in_batches_for_the_integration_only(dynamodb: Any, state_table: str) -> None:
    recording = Recording(dynamodb)
    tracking = DynamoTracking(recording, state_table, sleep=lambda _: None)
    ids = [str(n) for n in range(60)]
    for external_id in ids:
        tracking.put(tracked("shop-1", "orders", external_id))
    tracking.put(tracked("shop-1", "products", "p1"))
    tracking.put(tracked("shop-2", "orders", "1"))

    deleted = tracking.delete_for_integration("shop-1", ["orders", "products", "customers"])

    assert deleted == 61
    # 60 orders: 25, 25 and 10; one product.
    sizes = [len(call["RequestItems"][state_table]) for call in recording.calls("batch_write_item")]
    assert sizes == [25, 25, 10, 1]
    assert tracking.get_many("shop-1", "orders", ids) == {}
    assert tracking.get_many("shop-1", "products", ["p1"]) == {}
    assert set(tracking.get_many("shop-2", "orders", ["1"])) == {"1"}


class Throttled(Recording):
    """BatchWriteItem leaves the last ``left`` deletes of its first ``rounds`` requests unprocessed."""

    def __init__(self, client: Any, *, left: int, rounds: int) -> None:
        super().__init__(client)
        self.left = left
        self.rounds = rounds

    def batch_write_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("batch_write_item", request))
        (table, writes), *_ = request["RequestItems"].items()
        if self.rounds <= 0:
            response: dict[str, Any] = self._client.batch_write_item(**request)
            return response
        self.rounds -= 1
        done, left = writes[: -self.left], writes[-self.left :]
        if done:
            self._client.batch_write_item(RequestItems={table: done})
        return {"UnprocessedItems": {table: left}}


def test_deletes_left_unprocessed_are_sent_again(dynamodb: Any, state_table: str) -> None:
    tracking = DynamoTracking(dynamodb, state_table)
    for external_id in ("1", "2", "3"):
        tracking.put(tracked("shop-1", "orders", external_id))
    throttled = Throttled(dynamodb, left=2, rounds=2)
    waits: list[float] = []

    deleted = Purger(Table(throttled, state_table), sleep=waits.append).partition("TRACK#shop-1#orders")

    assert deleted == 3
    assert [len(call["RequestItems"][state_table]) for call in throttled.calls("batch_write_item")] == [
        3,
        2,
        2,
    ]
    assert len(waits) == 2
    assert tracking.get_many("shop-1", "orders", ["1", "2", "3"]) == {}


def test_deletes_still_unprocessed_after_every_attempt_fail_the_removal(
    dynamodb: Any, state_table: str
) -> None:
    DynamoTracking(dynamodb, state_table).put(tracked("shop-1", "orders", "1"))
    throttled = Throttled(dynamodb, left=1, rounds=10)

    with pytest.raises(StateAccessError, match="left 1 deletes unprocessed after 3 attempts"):
        Purger(Table(throttled, state_table), max_attempts=3, sleep=lambda _: None).partition(
            "TRACK#shop-1#orders"
        )


def test_cursors_and_run_logs_go_separately_and_leave_the_rest_of_the_partition(
    dynamodb: Any, state_table: str, repository: DynamoIntegrations
) -> None:
    clock = lambda: CREATED  # noqa: E731 - a fixed clock
    cursors, run_log = (
        DynamoCursors(dynamodb, state_table, clock=clock),
        DynamoRunLog(dynamodb, state_table, clock=clock),
    )
    repository.register(integration("shop-1"))
    for resource in ("orders", "products"):
        cursors.save_checkpoint(
            "shop-1", resource, RunCheckpoint(run_id="r1", started_at=CREATED), attempt="a1"
        )
        run_log.add("shop-1", resource, "r1", RunStats(records=4))
    cursors.save_checkpoint("shop-2", "orders", RunCheckpoint(run_id="r1", started_at=CREATED), attempt="a1")

    assert cursors.delete_for_integration("shop-1") == 2
    assert cursors.get("shop-1", "orders") is None
    assert run_log.get("shop-1", "orders", "r1").records == 4
    assert run_log.delete_for_integration("shop-1") == 2
    assert run_log.get("shop-1", "products", "r1").records == 0
    # The integration itself (same partition) and another integration's cursor stay.
    assert repository.get("shop-1") is not None
    assert cursors.get("shop-2", "orders") is not None


def test_delivery_claims_are_deleted_for_the_integration_only(
    dynamodb: Any, state_table: str, records_table: str
) -> None:
    ledger = DynamoDeliveryLedger(dynamodb, state_table, records_table)
    for integration_id, key in (("shop-1", "a"), ("shop-1", "b"), ("shop-2", "a")):
        ledger.claim(DeliveryClaim(integration_id, key, "order.created", CREATED, "accepted"))

    assert ledger.delete_for_integration("shop-1") == 2

    assert ledger.get("shop-1", "a") is None and ledger.get("shop-1", "b") is None
    assert ledger.get("shop-2", "a") is not None


def test_records_are_purged_by_who_wrote_them_last_within_the_tenant(
    dynamodb: Any, records_table: str
) -> None:
    records = DynamoRecords(dynamodb, records_table, clock=lambda: CREATED)

    def write(tenant: str, content_type: str, code: str, integration_id: str) -> None:
        records.write(
            tenant_id=tenant,
            content_type=content_type,
            code=code,
            record={"code": code},
            content_hash=f"{integration_id}-{code}",
            source_updated_at=CREATED,
            integration_id=integration_id,
        )

    write("acme", "ecommerce:orders", "1", "shop-1")
    write("acme", "ecommerce:orders", "2", "shop-2")
    write("acme", "core:product", "1", "shop-1")
    write("globex", "ecommerce:orders", "1", "shop-1")  # another tenant's table partition

    deleted = records.delete_for_integration(
        "acme", ["ecommerce:orders", "core:product", "ecommerce:orders"], "shop-1"
    )

    assert deleted == 2
    assert records.get("acme", "ecommerce:orders", "1") is None
    assert records.get("acme", "core:product", "1") is None
    assert records.get("acme", "ecommerce:orders", "2") is not None
    assert records.get("globex", "ecommerce:orders", "1") is not None


def test_a_deleted_secret_is_gone_at_once_and_deleting_it_again_is_no_error(secrets: Any) -> None:
    vault = SecretsVault(secrets)
    arn = vault.store_credentials("mercator/acme/shop-1", {"accessToken": "tok-1"})

    vault.delete_secret(arn)
    vault.delete_secret(arn)
    assert secrets.list_secrets()["SecretList"] == []
    # Without a recovery window the name is free again at once.
    vault.store_credentials("mercator/acme/shop-1", {"accessToken": "tok-2"})
