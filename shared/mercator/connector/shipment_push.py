"""A connector's ``push.shipments`` block: how a shipment made on the tenant's side (pushTracking) is
written into the store, in the platform's terms (a Shopify fulfillment, a Salla shipment, a Zid
status with tracking, a WooCommerce order's tracking and note).

The same vocabulary as ``push.products`` (mercator.connector.product_push). Each ``body`` maps an
``ecommerce:shipments`` record (the one Mercator makes of the tenant's request: code, orderCode,
status, carrier, trackingNumbers, trackingUrl, items, customer) plus ``store``: ``store.order`` (the
order's code), ``store.key`` (the shipment's key, below), ``store.id`` (the store's id of the
shipment, once known), every name of ``lookup`` (values read for this shipment before it is written:
a Shopify fulfillment order) and of ``ids`` (kept from the store's answers).

One shipment is written as:

1. each of ``lookup``, in order;
2. ``find`` (only when a create was sent before and its answer never came): the shipment written by
   that create, matched by its key, so a lost answer never makes a second shipment;
3. ``create`` the first time (or when nothing was found), else ``update`` (``create`` again without
   one): ``update`` is sent only when what the tenant asked for changed;
4. each of ``then`` (an order status set through another endpoint).
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from mercator.connector.base import DefinitionModel, RecordPath, located_error, mapping_error
from mercator.connector.mappings import RuleSpec
from mercator.connector.product_push import (
    STORE,
    ContextValue,
    FindCall,
    ProductPush,
    PushEndpoint,
    StoreWrites,
    ThenCall,
    WriteCall,
    body_paths,
    check_path,
    check_placeholders,
)
from mercator.domain.content_types import CONTENT_TYPES
from mercator.mapping import (
    MappingDefinitionError,
    compile_mapping,
    compile_path,
)

SHIPMENTS = "ecommerce:shipments"
# The names ``store`` always holds for a shipment, besides ``lookup`` and ``ids``.
SHIPMENT_NAMES = ("id", "key", "order")


class ShipmentPush(StoreWrites):
    """How a tenant's shipment is written into the store."""

    lookup: dict[str, ContextValue] = Field(
        default_factory=dict,
        description="values read for each shipment before it is written (GET), as store.<name>",
    )
    key: RuleSpec = Field(
        default_factory=lambda: {"path": "trackingNumbers[0]"},
        description="the rule that makes the shipment's key (its first tracking number unless given): "
        "find matches the store's shipments on it",
    )
    find: FindCall | None = Field(
        None,
        description="how to find the shipment a create wrote when its answer was lost; absent: the "
        "create itself is safe to send again (a status set, a PUT)",
    )
    create: WriteCall
    update: WriteCall | None = Field(
        None,
        description="the call when what the tenant asked for changed after it was written; "
        "absent: create is sent again",
    )
    ids: dict[str, RecordPath] = Field(
        default_factory=dict,
        description="values kept from the shipment as the store answers it (id: the store's id of the "
        "shipment), read by later bodies and URLs as store.<name>",
    )
    then: list[ThenCall] = Field(default_factory=list, description="calls after every create or update")
    refusal: RecordPath | None = Field(
        None,
        description="where a refused write's reasons sit in the store's answer; absent: the whole answer",
    )

    @model_validator(mode="after")
    def _compile(self) -> Self:
        clash = sorted(set(self.ids) & set(self.lookup)) or sorted(set(SHIPMENT_NAMES) & set(self.lookup))
        if clash:
            raise located_error(("lookup", clash[0]), f"{clash[0]!r} is already a name of store.*")
        if self.update is None and self.find is not None and "id" in self.ids:
            raise located_error(
                "update",
                "the store gives the shipment an id and find looks it up, so a second create would "
                "write a second shipment; give update (the call that changes a written shipment)",
            )
        try:
            self._key = compile_mapping({"key": self.key}, scope="push key")
        except MappingDefinitionError as exc:
            raise mapping_error("key", exc.__class__(exc.location[1:], exc.message)) from None
        self._ids = {name: compile_path(path) for name, path in self.ids.items()}
        self._refusal = compile_path(self.refusal) if self.refusal else None
        self._check_names()
        return self

    def _check_names(self) -> None:
        names = sorted({*SHIPMENT_NAMES, *self.ids, *self.lookup})
        # A lookup reads what is known before the shipment is written: no id yet, nor what ids keep.
        before = sorted({"key", "order", *self.lookup})
        fields = sorted({*CONTENT_TYPES[SHIPMENTS].model_fields, STORE})
        calls: list[tuple[tuple[str | int, ...], PushEndpoint, Any, list[str]]] = [
            *((("lookup", name), value.endpoint, None, before) for name, value in self.lookup.items()),
            *([(("find",), self.find.endpoint, None, before)] if self.find else []),
            (("create",), self.create.endpoint, self.create.body, before),
            *([(("update",), self.update.endpoint, self.update.body, names)] if self.update else []),
            *((("then", i), call.endpoint, call.body, names) for i, call in enumerate(self.then)),
        ]
        for where, endpoint, body, known in calls:
            check_placeholders(where, endpoint, known)
            if body is not None:
                for inner, path in body_paths(body):
                    check_path((*where, "body", *inner), path, fields, known, SHIPMENTS)
        for index, call in enumerate(self.then):
            if call.when:
                check_path(("then", index, "when"), call.when, fields, names, SHIPMENTS)
        for inner, path in body_paths({"key": self.key}):
            check_path(inner, path, fields, ["order"], SHIPMENTS)


class Push(DefinitionModel):
    """What Mercator writes into the store: the tenant's products (catalog push) and shipments
    (pushTracking)."""

    products: ProductPush | None = None
    shipments: ShipmentPush | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.products is None and self.shipments is None:
            raise located_error((), "push needs products, shipments or both")
        return self
