"""The catalog a PIM's events build, in the state table; and the requests it accepted.

One item per entity of one PIM integration::

    pk  CATALOG#<integration id>   sk  ATTRIBUTE#<code> | CATEGORY#<code> | PRODUCT#<sku>
    entity      S     the entity's JSON (mercator.pim.catalog_model); absent once deleted
    version     N     how many times it was written: each write is conditional on the version read
    updated_at  N     epoch milliseconds of its last change
    applied     L     keys of the last requests applied to it (S), newest last
    uses        SS    what a product refers to: attribute:<code>, category:<code>, variant:<sku>
    unmapped    S     hash of the reason a product last failed to map into core:product

One item per reference, so a change of an attribute, a category or a variant product finds the
products to map again with one Query::

    pk  CATALOGREF#<integration id>#<ref>   sk  <sku>

One item per request accepted, so a copy is told from a new request::

    pk  CATALOGREQ#<integration id>   sk  <request key>
    state       S     pending (queued, or being queued) | sent
    at          N     epoch milliseconds of the state
    ttl         N     epoch seconds: kept 7 days
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from mercator.pim.catalog_model import (
    CatalogAttribute,
    CatalogCategory,
    CatalogEntity,
    CatalogProduct,
    EntityKind,
    StoredEntity,
    VersionConflictError,
    snapshot,
)
from mercator.state.aws_retry import Backoff, Retries
from mercator.state.dynamo import (
    PARTITION_KEY,
    SORT_KEY,
    ConditionFailedError,
    DynamoDBClient,
    Expression,
    Item,
    Table,
    epoch_ms,
    key,
    ms,
    n,
    read_n,
    read_optional_datetime,
    read_s,
    s,
)

APPLIED_KEPT = 32  # requests an entity remembers: copies arrive within a synchronization or two
REQUEST_DAYS = 7
_BATCH_GET = 100  # BatchGetItem's maximum
_PREFIX: dict[EntityKind, str] = {"attribute": "ATTRIBUTE#", "category": "CATEGORY#", "product": "PRODUCT#"}
_MODELS: dict[EntityKind, TypeAdapter[Any]] = {
    "attribute": TypeAdapter(CatalogAttribute),
    "category": TypeAdapter(CatalogCategory),
    "product": TypeAdapter(CatalogProduct),
}
RequestState = Literal["new", "pending", "sent"]


def catalog_partition(integration_id: str) -> str:
    return f"CATALOG#{integration_id}"


def _ref_partition(integration_id: str, ref: str) -> str:
    return f"CATALOGREF#{integration_id}#{ref}"


def entity_key(integration_id: str, kind: EntityKind, code: str) -> Item:
    return key(catalog_partition(integration_id), f"{_PREFIX[kind]}{code}")


class DynamoCatalog:
    """The catalog state of PIM integrations (CatalogStore) over the state table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._table = Table(client, table_name)
        # Keys DynamoDB leaves unprocessed (throttled) are asked for again, with a pause between.
        self._retries = Retries(max_attempts=8, backoff=Backoff(base=0.05, cap=1.0, jitter="equal"))

    # --- entities --------------------------------------------------------------------------------

    def get(self, integration_id: str, kind: EntityKind, code: str) -> StoredEntity | None:
        item = self._table.get(entity_key(integration_id, kind, code))
        return None if item is None else self._decode(item)

    def get_many(
        self, integration_id: str, wanted: Iterable[tuple[EntityKind, str]]
    ) -> dict[tuple[EntityKind, str], StoredEntity]:
        keys = list(dict.fromkeys(wanted))
        found: dict[tuple[EntityKind, str], StoredEntity] = {}
        for start in range(0, len(keys), _BATCH_GET):
            chunk = [
                entity_key(integration_id, kind, code) for kind, code in keys[start : start + _BATCH_GET]
            ]
            for item in self._batch_get(chunk):
                stored = self._decode(item)
                found[(stored.kind, stored.code)] = stored
        return found

    def save(
        self,
        integration_id: str,
        stored: StoredEntity,
        entity: CatalogEntity | None,
        *,
        request_key: str,
        at: datetime,
        uses: set[str] | None = None,
    ) -> None:
        """Write ``entity`` (None: deleted) over ``stored`` as read; VersionConflictError when another
        write came in between."""
        update = Expression()
        update.set_or_remove("entity", None if entity is None else s(entity.model_dump_json()))
        update.set("version", n(stored.version + 1))
        update.set("updated_at", ms(at))
        applied = [*stored.applied, request_key][-APPLIED_KEPT:]
        update.set("applied", {"L": [s(value) for value in applied]})
        if uses is not None:
            update.set_or_remove("uses", {"SS": sorted(uses)} if uses else None)
        condition = (
            f"attribute_not_exists({update.name('version')})"
            if stored.version == 0
            else f"{update.name('version')} = {update.value(n(stored.version))}"
        )
        try:
            self._table.update(entity_key(integration_id, stored.kind, stored.code), update, condition)
        except ConditionFailedError:
            raise VersionConflictError(f"{stored.kind} {stored.code!r} was written meanwhile") from None

    def link(self, integration_id: str, sku: str, *, added: Iterable[str], removed: Iterable[str]) -> None:
        """Record that product ``sku`` now refers to ``added`` and no longer to ``removed`` (in batches:
        a new product refers to a handful of attributes and categories at once)."""
        requests: list[Item] = [
            *(
                {"PutRequest": {"Item": {**key(_ref_partition(integration_id, ref), sku), "ref": s(ref)}}}
                for ref in added
            ),
            *({"DeleteRequest": {"Key": key(_ref_partition(integration_id, ref), sku)}} for ref in removed),
        ]
        self._table.batch_write(requests, self._retries, what="references")

    def mark_unmapped(self, integration_id: str, sku: str, reason_hash: str | None) -> None:
        """Remember why the product last failed to map (None: it maps now); no version, as it is no
        part of the entity."""
        update = Expression().set_or_remove("unmapped", None if reason_hash is None else s(reason_hash))
        self._table.update(entity_key(integration_id, "product", sku), update)

    def users(self, integration_id: str, ref: str) -> list[str]:
        """The skus of the products that refer to ``ref`` (attribute:<code>, category:<code>,
        variant:<sku>)."""
        expression = Expression()
        partition = expression.value(s(_ref_partition(integration_id, ref)))
        condition = f"{expression.name(PARTITION_KEY)} = {partition}"
        return [
            read_s(item, SORT_KEY) for item in self._table.query(expression, condition, ConsistentRead=True)
        ]

    def every(self, integration_id: str) -> Iterator[StoredEntity]:
        """Every entity of the integration's catalog, deleted ones included."""
        expression = Expression()
        partition = expression.value(s(catalog_partition(integration_id)))
        condition = f"{expression.name(PARTITION_KEY)} = {partition}"
        for item in self._table.query(expression, condition, ConsistentRead=True):
            yield self._decode(item)

    def snapshot(self, integration_id: str) -> dict[str, Any]:
        """The integration's whole catalog as plain JSON (mercator.pim.catalog_model.snapshot)."""
        attributes: dict[str, CatalogAttribute] = {}
        categories: dict[str, CatalogCategory] = {}
        products: dict[str, CatalogProduct] = {}
        for stored in self.every(integration_id):
            if isinstance(stored.entity, CatalogAttribute):
                attributes[stored.code] = stored.entity
            elif isinstance(stored.entity, CatalogCategory):
                categories[stored.code] = stored.entity
            elif isinstance(stored.entity, CatalogProduct):
                products[stored.code] = stored.entity
        return snapshot(attributes, categories, products)

    # --- requests ----------------------------------------------------------------------------------

    def claim_request(
        self, integration_id: str, request_key: str, at: datetime, *, resend_after: timedelta
    ) -> RequestState:
        """Claim a request: ``new`` when first seen (or seen pending for longer than ``resend_after``,
        whose sender stopped before queuing it), else what it is now."""
        update = Expression()
        update.set("state", s("pending"))
        update.set("at", ms(at))
        update.set("ttl", n(int(at.timestamp()) + REQUEST_DAYS * 86_400))
        stale = epoch_ms(at - resend_after)
        state, since = update.name("state"), update.name("at")
        pending, before = update.value(s("pending")), update.value(n(stale))
        condition = f"attribute_not_exists({state}) OR ({state} = {pending} AND {since} < {before})"
        try:
            self._table.update(key(f"CATALOGREQ#{integration_id}", request_key), update, condition)
        except ConditionFailedError as refused:
            now = refused.item.get("state", {}).get("S") if refused.item else None
            return "sent" if now == "sent" else "pending"
        return "new"

    def request_sent(self, integration_id: str, request_key: str, at: datetime) -> None:
        update = Expression().set("state", s("sent")).set("at", ms(at))
        self._table.update(key(f"CATALOGREQ#{integration_id}", request_key), update)

    # --- decoding ----------------------------------------------------------------------------------

    def _decode(self, item: Item) -> StoredEntity:
        try:
            sort = read_s(item, SORT_KEY)
            kind = next(kind for kind, prefix in _PREFIX.items() if sort.startswith(prefix))
            text = item.get("entity", {}).get("S")
            entity = None if text is None else _MODELS[kind].validate_json(text)
            return StoredEntity(
                kind=kind,
                code=sort.removeprefix(_PREFIX[kind]),
                entity=entity,
                version=read_n(item, "version") if "version" in item else 0,
                updated_at=read_optional_datetime(item, "updated_at"),
                applied=tuple(value["S"] for value in item.get("applied", {}).get("L", [])),
                uses=frozenset(item.get("uses", {}).get("SS", [])),
                unmapped=item.get("unmapped", {}).get("S"),
            )
        except (KeyError, StopIteration, TypeError, ValueError, ValidationError) as e:
            raise self._table.malformed(item, e) from e

    def _batch_get(self, keys: list[Item]) -> list[Item]:
        return self._table.batch_get(keys, self._retries, what="catalog entities")
