"""Integrations in the state table, findable by status through the ``gsi1`` index.

One item per integration::

    pk  INTEGRATION#<id>   sk  META
    gsi1pk  INTEGRATIONS#<status>   gsi1sk  <id>
    id, tenant_id, connector, status, credentials_arn    S
    settings     S   JSON object (kept as JSON so every value comes back exactly as written)
    resources    L   of S; absent when the integration syncs every resource its connector enables
    created_at   N   epoch milliseconds
"""

from __future__ import annotations

import json
from typing import get_args

from pydantic import ValidationError

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
    from_epoch_ms,
    key,
    ms,
    read_n,
    read_s,
    s,
)
from mercator.state.errors import IntegrationNotFoundError
from mercator.state.models import Integration, IntegrationStatus

META = "META"
STATUSES: tuple[IntegrationStatus, ...] = get_args(IntegrationStatus)


def integration_key(integration_id: str) -> Item:
    return key(f"INTEGRATION#{integration_id}", META)


def status_partition(status: IntegrationStatus) -> str:
    return f"INTEGRATIONS#{status}"


class DynamoIntegrations:
    """IntegrationRepository over the state table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._table = Table(client, table_name)

    def get(self, integration_id: str) -> Integration | None:
        item = self._table.get(integration_key(integration_id))
        return None if item is None else self._decode(item)

    def put(self, integration: Integration) -> None:
        self._table.put(_encode(integration))

    def active(self, *, page_size: int | None = None) -> list[Integration]:
        """Every active integration across tenants, ordered by id."""
        return self.with_status("active", page_size=page_size)

    def with_status(self, status: IntegrationStatus, *, page_size: int | None = None) -> list[Integration]:
        """Integrations of one status, ordered by id; the index is eventually consistent."""
        if status not in STATUSES:
            raise ValueError(f"unknown integration status {status!r}; statuses: {', '.join(STATUSES)}")
        expression = Expression()
        condition = f"{expression.name(GSI1_PARTITION_KEY)} = {expression.value(s(status_partition(status)))}"
        items = self._table.query(expression, condition, page_size=page_size, IndexName=GSI1)
        return [self._decode(item) for item in items]

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
        GSI1_SORT_KEY: s(integration.id),
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
