"""Integrations in the state table, findable by status and by tenant through the ``gsi1`` index.

One item per integration::

    pk  INTEGRATION#<id>   sk  META
    gsi1pk  INTEGRATIONS#<status>   gsi1sk  <tenant_id>#<id>
    id, tenant_id, connector, status, credentials_arn    S
    settings     S   JSON object (kept as JSON so every value comes back exactly as written)
    resources    L   of S; absent when the integration syncs every resource its connector enables
    created_at   N   epoch milliseconds

A tenant has at most one integration per connector. ``register`` writes the integration together
with the tenant's claim on the connector, in one transaction, so two concurrent registrations cannot
both succeed::

    pk  TENANT#<tenant_id>   sk  CONNECTOR#<connector>
    tenant_id, connector, integration_id   S

Tenant ids never hold ``#`` (``mercator.services.registration.NAME_PATTERN``), so ``<tenant_id>#``
selects one tenant's entries of a status partition. The index is eventually consistent: an
integration registered a moment ago may be missing from ``for_tenant`` and ``with_status`` briefly.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any, Protocol, cast, get_args

from pydantic import ValidationError

from mercator.domain.entities import Integration, IntegrationStatus
from mercator.domain.errors import ConnectorTakenError, IntegrationNotFoundError, StateAccessError
from mercator.state.aws_retry import Backoff, Retries
from mercator.state.dynamo import (
    GSI1,
    GSI1_PARTITION_KEY,
    GSI1_SORT_KEY,
    PARTITION_KEY,
    ConditionFailedError,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    error_code,
    from_epoch_ms,
    key,
    ms,
    read_n,
    read_s,
    s,
)

META = "META"
STATUSES: tuple[IntegrationStatus, ...] = get_args(IntegrationStatus)
_CANCELLED = "TransactionCanceledException"
_CONDITION_FAILED = "ConditionalCheckFailed"
_CONFLICT = "TransactionConflict"
_REGISTER_ATTEMPTS = 4
# Two registrations that conflicted are retried apart, so they do not conflict again in lockstep.
_REGISTER_BACKOFF_BASE = 0.05
_REGISTER_BACKOFF_CAP = 0.2


class IntegrationsClient(DynamoDBClient, Protocol):
    """The DynamoDB calls registration and removal make besides the shared ones."""

    def transact_write_items(self, **request: Any) -> dict[str, Any]: ...

    def delete_item(self, **request: Any) -> dict[str, Any]: ...


def integration_key(integration_id: str) -> Item:
    return key(f"INTEGRATION#{integration_id}", META)


def claim_key(tenant_id: str, connector: str) -> Item:
    return key(f"TENANT#{tenant_id}", f"CONNECTOR#{connector}")


def status_partition(status: IntegrationStatus) -> str:
    return f"INTEGRATIONS#{status}"


def tenant_prefix(tenant_id: str) -> str:
    return f"{tenant_id}#"


class DynamoIntegrations:
    """IntegrationRepository over the state table; ``sleep`` and ``jitter`` pace retries of conflicting
    registrations."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: random.Random | None = None,
    ) -> None:
        self._table = Table(client, table_name)
        self._register_retries = Retries(
            max_attempts=_REGISTER_ATTEMPTS,
            backoff=Backoff(
                base=_REGISTER_BACKOFF_BASE, cap=_REGISTER_BACKOFF_CAP, rng=jitter or random.Random()
            ),
            sleep=sleep,
        )

    def get(self, integration_id: str) -> Integration | None:
        item = self._table.get(integration_key(integration_id))
        return None if item is None else self._decode(item)

    def put(self, integration: Integration) -> None:
        self._table.put(_encode(integration))

    def active(self, *, page_size: int | None = None) -> list[Integration]:
        """Every active integration across tenants, ordered by id."""
        return self.with_status("active", page_size=page_size)

    def with_status(self, status: IntegrationStatus, *, page_size: int | None = None) -> list[Integration]:
        """Integrations of one status, ordered by tenant, then id; the index is eventually consistent."""
        return self._indexed(status, None, page_size)

    def for_tenant(self, tenant_id: str) -> list[Integration]:
        """The tenant's integrations of every status, oldest first (the index is eventually consistent)."""
        if not tenant_id:
            raise ValueError("a tenant id must not be empty")
        found = [integration for status in STATUSES for integration in self._indexed(status, tenant_id, None)]
        return sorted(found, key=lambda integration: (integration.created_at, integration.id))

    def register(self, integration: Integration) -> None:
        """Store the integration with its tenant's claim on its connector, both or neither.

        ConnectorTakenError when another integration of the tenant holds the claim. A claim whose
        integration no longer exists (a removal that stopped halfway) is taken over.
        """
        stale: str | None = None
        for _ in self._register_retries:
            reasons = self._transact([self._claim(integration, stale), {"Put": self._put(integration)}])
            if reasons is None:
                return
            codes = [reason.get("Code") for reason in reasons]
            if codes[0] == _CONDITION_FAILED:
                holder = _holder(reasons[0].get("Item")) or self._holder_of(integration)
                if holder is not None and self.get(holder) is not None:
                    raise ConnectorTakenError(integration.tenant_id, integration.connector, holder)
                stale = holder
                continue
            if _CONFLICT not in codes:
                raise self._cancelled("registering", integration.id, codes)
        raise StateAccessError(
            f"registering integration {integration.id!r} kept conflicting with concurrent writes after "
            f"{_REGISTER_ATTEMPTS} attempts; try again",
            resource=self._table.name,
            operation="TransactWriteItems",
            code=_CONFLICT,
        )

    def delete(self, integration: Integration) -> None:
        """Delete the integration and its tenant's claim on its connector; nothing stored is no error."""
        claim = claim_key(integration.tenant_id, integration.connector)
        owned = Expression()
        condition = (
            f"attribute_not_exists({owned.name(PARTITION_KEY)}) "
            f"OR {owned.name('integration_id')} = {owned.value(s(integration.id))}"
        )
        reasons = self._transact(
            [
                {"Delete": {"TableName": self._table.name, "Key": integration_key(integration.id)}},
                {"Delete": {"TableName": self._table.name, "Key": claim, **owned.request(condition)}},
            ]
        )
        if reasons is None:
            return
        codes = [reason.get("Code") for reason in reasons]
        if codes[1] != _CONDITION_FAILED:
            raise self._cancelled("deleting", integration.id, codes)
        # The claim is another integration's (one registered before claims existed): it stays.
        client = cast(IntegrationsClient, self._table.client)
        self._table.call(
            "DeleteItem", client.delete_item, TableName=self._table.name, Key=integration_key(integration.id)
        )

    def _indexed(
        self, status: IntegrationStatus, tenant_id: str | None, page_size: int | None
    ) -> list[Integration]:
        if status not in STATUSES:
            raise ValueError(f"unknown integration status {status!r}; statuses: {', '.join(STATUSES)}")
        expression = Expression()
        condition = f"{expression.name(GSI1_PARTITION_KEY)} = {expression.value(s(status_partition(status)))}"
        if tenant_id is not None:
            prefix = expression.value(s(tenant_prefix(tenant_id)))
            condition += f" AND begins_with({expression.name(GSI1_SORT_KEY)}, {prefix})"
        items = self._table.query(expression, condition, page_size=page_size, IndexName=GSI1)
        return [self._decode(item) for item in items]

    def _claim(self, integration: Integration, stale: str | None) -> Item:
        expression = Expression()
        holder = expression.name("integration_id")
        condition = (
            f"attribute_not_exists({expression.name(PARTITION_KEY)}) "
            f"OR {holder} = {expression.value(s(integration.id))}"
        )
        if stale is not None:
            condition += f" OR {holder} = {expression.value(s(stale))}"
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": {
                    **claim_key(integration.tenant_id, integration.connector),
                    "tenant_id": s(integration.tenant_id),
                    "connector": s(integration.connector),
                    "integration_id": s(integration.id),
                },
                **expression.request(condition),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _holder_of(self, integration: Integration) -> str | None:
        return _holder(self._table.get(claim_key(integration.tenant_id, integration.connector)))

    def _put(self, integration: Integration) -> dict[str, Any]:
        return {"TableName": self._table.name, "Item": _encode(integration)}

    def _transact(self, items: list[Item]) -> list[dict[str, Any]] | None:
        """None when the transaction committed, else DynamoDB's cancellation reasons (one per item)."""
        client = cast(IntegrationsClient, self._table.client)
        try:
            client.transact_write_items(TransactItems=items)
        except self._table.client.exceptions.ClientError as e:
            if error_code(e) != _CANCELLED:
                raise self._table.error("TransactWriteItems", e) from e
            reasons: list[dict[str, Any]] = getattr(e, "response", {}).get("CancellationReasons", [])
            return reasons or [{"Code": "Unknown"}] * len(items)
        return None

    def _cancelled(self, doing: str, integration_id: str, codes: list[Any]) -> StateAccessError:
        return StateAccessError(
            f"TransactWriteItems {doing} integration {integration_id!r} was cancelled: "
            f"{', '.join(str(code) for code in codes)}",
            resource=self._table.name,
            operation="TransactWriteItems",
            code=_CANCELLED,
        )

    def set_status(self, integration_id: str, status: IntegrationStatus) -> Integration:
        """Activate or disable an integration; the index entry moves with it."""
        if status not in STATUSES:
            raise ValueError(f"unknown integration status {status!r}; statuses: {', '.join(STATUSES)}")
        update = Expression().set("status", s(status)).set(GSI1_PARTITION_KEY, s(status_partition(status)))
        exists = f"attribute_exists({update.name(PARTITION_KEY)})"
        try:
            response = self._table.update(
                integration_key(integration_id), update, exists, ReturnValues="ALL_NEW"
            )
        except ConditionFailedError:
            raise IntegrationNotFoundError(integration_id) from None
        return self._decode(response["Attributes"])

    def _decode(self, item: Item) -> Integration:
        try:
            resources = item.get("resources")
            return Integration.model_validate(
                {
                    "id": read_s(item, "id"),
                    "tenant_id": read_s(item, "tenant_id"),
                    "connector": read_s(item, "connector"),
                    "status": read_s(item, "status"),
                    "settings": json.loads(read_s(item, "settings")),
                    "resources": None if resources is None else [entry["S"] for entry in resources["L"]],
                    "credentials_arn": read_s(item, "credentials_arn"),
                    "created_at": from_epoch_ms(read_n(item, "created_at")),
                }
            )
        except (KeyError, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e


def _encode(integration: Integration) -> Item:
    try:
        settings = json.dumps(integration.settings, ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the settings of integration {integration.id!r} are not plain JSON: {e}") from e
    item: Item = {
        **integration_key(integration.id),
        GSI1_PARTITION_KEY: s(status_partition(integration.status)),
        GSI1_SORT_KEY: s(tenant_prefix(integration.tenant_id) + integration.id),
        "id": s(integration.id),
        "tenant_id": s(integration.tenant_id),
        "connector": s(integration.connector),
        "status": s(integration.status),
        "settings": s(settings),
        "credentials_arn": s(integration.credentials_arn),
        "created_at": ms(integration.created_at),
    }
    if integration.resources is not None:
        item["resources"] = {"L": [s(resource) for resource in integration.resources]}
    return item


def _holder(item: Item | None) -> str | None:
    """The integration id a claim names (None when DynamoDB did not return the claim)."""
    value = (item or {}).get("integration_id", {}).get("S")
    return value if isinstance(value, str) else None
