"""A sandbox PIM: the merchant's product information manager, emulated, sending signed catalog events.

``SandboxPim`` holds a catalog in memory: attributes (type, scope, names, options), categories and
products (type, categories, values, bindings, variants, children). Every operation checks its input
against that catalog the way the PIM does (a ValueError names what is wrong: an option on a TEXT
attribute, a variant of a simple product, an unknown category...), changes the catalog, and queues
the detailed event(s) the synchronization-events reference defines for it, shaped exactly as the
reference shapes them, on the entity they are about. ``delete_*`` queue no detailed event: the
entity leaves in a ``*_deleted`` request, and whatever was queued for it is dropped.

``synchronize()`` turns what is queued into the requests of one synchronization, all under one new
``synchronization_id`` and one token, in this order:

1. one request per changed attribute, its events in the order they happened, named
   ``attribute_created`` when the attribute was created since the last synchronization, else
   ``attribute_updated``; then one ``attribute_deleted`` per deleted attribute;
2. the same for categories;
3. the same for products, except that variant and child events (``product_variant_*``,
   ``product_child_*``) are held back into a final ``product_updated`` per product after every
   other product request, so that a variant or child created in the same synchronization exists
   when they arrive (and, the other way round, a binding removed after its variants were removed
   arrives before their removal); then one ``product_deleted`` per deleted product.

Each :class:`CatalogRequest` carries its path suffix (``/consume/<name>``), the JSON envelope as
bytes (``name``, ``resource_id``, ``synchronization.resource_customs`` (null) and ``.events``) and
the ``X-APP-TOKEN``: an HS256 JWT of ``app_installation_id``, ``synchronization_id``, ``iat``,
``nbf`` and ``exp`` (``iat`` + 300 s) under the shared secret, ``iat`` read from the injected clock.

``deliver(requests, client)`` PUTs them to ``config.url + path`` through the injected
``httpx.AsyncClient`` (so it can reach an in-process ASGI app) and returns the statuses in the order
sent; transport errors propagate. Knobs: ``shuffle`` interleaves the entities at random while each
entity's requests keep their relative order (all the PIM guarantees); ``duplicate_rate`` sends a
request a second time, byte for byte with the same token, at a random later position. ``plan()``
is that order without sending. ``handshake(client)`` POSTs the shared secret to ``/handshake``.

``snapshot()`` is the PIM's catalog in the JSON shape Mercator's catalog state is compared with
(see its docstring); ``demo_catalog`` and ``demo_edits`` build and change a small realistic catalog.

Two choices the reference leaves open, made so that a consumer arrives at the PIM's catalog:

- Setting a local attribute's value or renaming sets the given languages and keeps the others, and
  the event carries every language after the change: a consumer replacing the value and one merging
  it end with the same.
- ``change_option_code`` renames the option in the PIM's own values and variant bindings and sends
  no product event for that, but it rewrites the code in product events still queued: those are sent
  after the attribute's request, when the consumer knows the option by its new code only.

Anything that would leave the catalog in a state the events could not express is refused: deleting
an option, attribute, category or product still in use; changing a bound value of a variant;
adding or removing a binding of a product that has variants.
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, field_validator

EntityKind = Literal["attribute", "category", "product"]
# A catalog value as JSON: a global attribute's bare value, a local one's {language: bare value}.
Value = Any
Event = dict[str, Any]

KINDS: tuple[EntityKind, ...] = ("attribute", "category", "product")
RESOURCE_TYPES: dict[EntityKind, str] = {
    "attribute": "attribute_code",
    "category": "category_code",
    "product": "product_sku",
}
ATTRIBUTE_TYPES: tuple[str, ...] = (
    "DATE",
    "FILE",
    "GALLERY",
    "IMAGE",
    "MULTI_SELECT",
    "NUMERIC",
    "PRICE",
    "PRODUCT_RELATION",
    "SELECT",
    "TEXT_AREA",
    "TEXT",
    "UNIT",
)
SCOPES: tuple[str, ...] = ("local", "global")
PRODUCT_TYPES: tuple[str, ...] = ("SIMPLE-PRODUCT", "GROUPING-PRODUCT", "VARIABLE-PRODUCT")
TOKEN_SECONDS = 300

_OPTION_TYPES = frozenset({"SELECT", "MULTI_SELECT"})
_TEXT_TYPES = frozenset({"TEXT", "TEXT_AREA"})
_NUMBER_TYPES = frozenset({"NUMERIC", "PRICE", "UNIT"})
_RELATION_EVENTS = frozenset(
    {
        "product_variant_added",
        "product_variant_removed",
        "product_child_added",
        "product_child_quantity_changed",
        "product_child_removed",
    }
)


class PimConfig(BaseModel):
    """The app installation the PIM signs for, where its app lives, and the delivery knobs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: str = Field(min_length=1, description="the app installation's shared secret (HS256 key)")
    installation_id: str = Field(min_length=1, description="the app_installation_id claim")
    url: str = Field(description="the app URL configured in the PIM, e.g. http://127.0.0.1:3000/pim/pim-demo")
    duplicate_rate: float = Field(0, ge=0, le=1, description="probability a request is sent twice")
    shuffle: bool = Field(False, description="interleave the entities' requests at random")
    seed: int | None = Field(None, description="seeds the knobs and the synchronization ids; None: random")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        # Paths are appended to it, so a trailing slash would double.
        return value.rstrip("/")


@dataclass(frozen=True)
class CatalogRequest:
    """One request of a synchronization: ``PUT <url><path>`` with ``body`` and ``X-APP-TOKEN: token``."""

    name: str
    path: str
    body: bytes
    kind: EntityKind
    entity_id: str
    token: str
    synchronization_id: str

    @property
    def envelope(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def events(self) -> list[Event]:
        events: list[Event] = self.envelope["synchronization"]["events"]
        return events


@dataclass
class _Attribute:
    code: str
    type: str
    scope: str
    names: dict[str, str]
    options: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class _Category:
    code: str
    names: dict[str, str]


@dataclass
class _Product:
    sku: str
    type: str
    categories: list[str]
    values: dict[str, Value] = field(default_factory=dict)
    bindings: list[str] = field(default_factory=list)
    variants: dict[str, dict[str, str]] = field(default_factory=dict)
    children: dict[str, int] = field(default_factory=dict)


@dataclass
class _Pending:
    created: bool = False
    events: list[Event] = field(default_factory=list)
    relations: list[Event] = field(default_factory=list)


class SandboxPim:
    def __init__(self, config: PimConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._rng = random.Random(config.seed)
        # Its own stream, so how a delivery was shuffled does not change the next synchronization's id.
        self._ids = random.Random(f"{config.seed}:ids") if config.seed is not None else None
        self._attributes: dict[str, _Attribute] = {}
        self._categories: dict[str, _Category] = {}
        self._products: dict[str, _Product] = {}
        self._pending: dict[tuple[EntityKind, str], _Pending] = {}
        self._deleted: dict[EntityKind, list[str]] = {kind: [] for kind in KINDS}

    # -- attributes ---------------------------------------------------------------------------------

    def create_attribute(self, code: str, type: str, scope: str, names: Mapping[str, str]) -> None:
        _check_code(code, "attribute code")
        self._check_new("attribute", code, self._attributes)
        if type not in ATTRIBUTE_TYPES:
            raise ValueError(f"attribute type {type!r} is unknown; valid: {', '.join(ATTRIBUTE_TYPES)}")
        if scope not in SCOPES:
            raise ValueError(f"attribute scope {scope!r} is unknown; valid: {', '.join(SCOPES)}")
        checked = _check_names(names, f"names of attribute {code!r}")
        self._attributes[code] = _Attribute(code, type, scope, checked)
        event = {"code": code, "type": type, "scope": scope, "name": _name_list(checked)}
        self._queue("attribute", code, "attribute_created", event)

    def rename_attribute(self, code: str, names: Mapping[str, str]) -> None:
        attribute = self._attribute(code)
        merged = {**attribute.names, **_check_names(names, f"names of attribute {code!r}")}
        if merged == attribute.names:
            return
        attribute.names = merged
        self._queue("attribute", code, "attribute_name_changed", {"name": _name_list(merged)})

    def add_option(self, attribute: str, option_code: str, names: Mapping[str, str]) -> None:
        target = self._option_attribute(attribute)
        _check_code(option_code, "option code")
        if option_code in target.options:
            raise ValueError(f"attribute {attribute!r} already has an option {option_code!r}")
        checked = _check_names(names, f"names of option {attribute}.{option_code}")
        target.options[option_code] = checked
        event = {"option_code": option_code, "option_name": _name_list(checked)}
        self._queue("attribute", attribute, "attribute_option_created", event)

    def rename_option(self, attribute: str, option_code: str, names: Mapping[str, str]) -> None:
        target = self._option(attribute, option_code)
        current = target.options[option_code]
        merged = {**current, **_check_names(names, f"names of option {attribute}.{option_code}")}
        if merged == current:
            return
        target.options[option_code] = merged
        event = {"option_code": option_code, "option_name": _name_list(merged)}
        self._queue("attribute", attribute, "attribute_option_name_changed", event)

    def change_option_code(self, attribute: str, previous: str, new: str) -> None:
        target = self._option(attribute, previous)
        _check_code(new, "option code")
        if new in target.options:
            raise ValueError(f"attribute {attribute!r} already has an option {new!r}")
        # Rebuilt rather than popped, so the option keeps its place among the others.
        target.options = {new if code == previous else code: names for code, names in target.options.items()}
        for product in self._products.values():
            if attribute in product.values:
                product.values[attribute] = _rename_option(target, product.values[attribute], previous, new)
            for binding in product.variants.values():
                if binding.get(attribute) == previous:
                    binding[attribute] = new
        for pending in self._pending_of("product"):
            for event in (*pending.events, *pending.relations):
                _rename_option_in_event(target, event, previous, new)
        event = {"option_code": new, "previous_option_code": previous}
        self._queue("attribute", attribute, "attribute_option_code_changed", event)

    def delete_option(self, attribute: str, option_code: str) -> None:
        target = self._option(attribute, option_code)
        users = sorted(
            product.sku
            for product in self._products.values()
            if _uses_option(target, product.values.get(attribute), option_code)
            or any(binding.get(attribute) == option_code for binding in product.variants.values())
        )
        if users:
            raise ValueError(f"option {attribute}.{option_code} is still used by {', '.join(users)}")
        del target.options[option_code]
        self._queue("attribute", attribute, "attribute_option_deleted", {"option_code": option_code})

    def delete_attribute(self, code: str) -> None:
        self._attribute(code)
        users = sorted(
            product.sku
            for product in self._products.values()
            if code in product.values or code in product.bindings
        )
        if users:
            raise ValueError(f"attribute {code!r} is still used by {', '.join(users)}")
        del self._attributes[code]
        self._delete("attribute", code)

    # -- categories ---------------------------------------------------------------------------------

    def create_category(self, code: str, names: Mapping[str, str]) -> None:
        _check_code(code, "category code")
        self._check_new("category", code, self._categories)
        checked = _check_names(names, f"names of category {code!r}")
        self._categories[code] = _Category(code, checked)
        self._queue("category", code, "category_created", {"code": code, "name": _name_list(checked)})

    def rename_category(self, code: str, names: Mapping[str, str]) -> None:
        category = self._category(code)
        merged = {**category.names, **_check_names(names, f"names of category {code!r}")}
        if merged == category.names:
            return
        category.names = merged
        self._queue("category", code, "category_name_changed", {"code": code, "name": _name_list(merged)})

    def delete_category(self, code: str) -> None:
        self._category(code)
        users = sorted(product.sku for product in self._products.values() if code in product.categories)
        if users:
            raise ValueError(f"category {code!r} still holds {', '.join(users)}")
        del self._categories[code]
        self._delete("category", code)

    # -- products -----------------------------------------------------------------------------------

    def create_product(
        self,
        sku: str,
        type: str,
        categories: Sequence[str] = (),
        values: Mapping[str, Value] | None = None,
    ) -> None:
        _check_code(sku, "sku")
        self._check_new("product", sku, self._products)
        if type not in PRODUCT_TYPES:
            raise ValueError(f"product type {type!r} is unknown; valid: {', '.join(PRODUCT_TYPES)}")
        codes = list(categories)
        for code in codes:
            self._category(code)
        if len(set(codes)) != len(codes):
            raise ValueError(f"product {sku!r} lists a category twice: {codes}")
        # Checked as a whole before anything is kept, so a refused product leaves no trace.
        checked = {
            code: self._check_value(self._attribute(code), value, sku, f"{sku}.{code}")
            for code, value in (values or {}).items()
        }
        product = _Product(sku, type, codes)
        self._products[sku] = product
        # A copy: the product's categories change later, the event does not.
        self._queue(
            "product", sku, "product_created", {"sku": sku, "type": type, "category_codes": list(codes)}
        )
        for code, value in checked.items():
            product.values[code] = value
            self._queue("product", sku, "product_value_added", self._value_payload(code, value))

    def set_value(self, sku: str, attribute: str, value: Value) -> None:
        product = self._product(sku)
        target = self._attribute(attribute)
        checked = self._check_value(target, value, sku, f"{sku}.{attribute}")
        present = attribute in product.values
        if present and target.scope == "local":
            checked = {**product.values[attribute], **checked}
        if present and checked == product.values[attribute]:
            return
        self._check_unbound(sku, attribute)
        product.values[attribute] = checked
        kind = "product_value_changed" if present else "product_value_added"
        self._queue("product", sku, kind, self._value_payload(attribute, checked))

    def remove_value(self, sku: str, attribute: str) -> None:
        product = self._product(sku)
        target = self._attribute(attribute)
        if attribute not in product.values:
            raise ValueError(f"product {sku!r} has no value for {attribute!r}")
        self._check_unbound(sku, attribute)
        del product.values[attribute]
        event = {"attribute_code": attribute, "attribute_type": target.type}
        self._queue("product", sku, "product_value_removed", event)

    def add_to_category(self, sku: str, category: str) -> None:
        product = self._product(sku)
        self._category(category)
        if category in product.categories:
            raise ValueError(f"product {sku!r} is in category {category!r} already")
        product.categories.append(category)
        self._queue("product", sku, "product_added_to_category", {"category_code": category})

    def remove_from_category(self, sku: str, category: str) -> None:
        product = self._product(sku)
        if category not in product.categories:
            raise ValueError(f"product {sku!r} is not in category {category!r}")
        product.categories.remove(category)
        self._queue("product", sku, "product_removed_from_category", {"category_code": category})

    def add_binding(self, sku: str, attribute: str) -> None:
        product = self._typed(sku, "VARIABLE-PRODUCT", "bindings")
        target = self._attribute(attribute)
        # The reference's binding_values admit global SELECT attributes only.
        if target.type != "SELECT" or target.scope != "global":
            raise ValueError(
                f"a binding needs a global SELECT attribute; {attribute!r} is {target.scope} {target.type}"
            )
        if attribute in product.bindings:
            raise ValueError(f"product {sku!r} is bound to {attribute!r} already")
        if product.variants:
            raise ValueError(f"product {sku!r} has variants: remove them before changing its bindings")
        product.bindings.append(attribute)
        self._queue("product", sku, "product_binding_added", {"attribute_code": attribute})

    def remove_binding(self, sku: str, attribute: str) -> None:
        product = self._typed(sku, "VARIABLE-PRODUCT", "bindings")
        if attribute not in product.bindings:
            raise ValueError(f"product {sku!r} is not bound to {attribute!r}")
        if product.variants:
            raise ValueError(f"product {sku!r} has variants: remove them before changing its bindings")
        product.bindings.remove(attribute)
        self._queue("product", sku, "product_binding_removed", {"attribute_code": attribute})

    def add_variant(self, parent_sku: str, variant_sku: str) -> None:
        parent = self._typed(parent_sku, "VARIABLE-PRODUCT", "variants")
        variant = self._product(variant_sku)
        if variant.type != "SIMPLE-PRODUCT":
            raise ValueError(f"a variant is a SIMPLE-PRODUCT; {variant_sku!r} is a {variant.type}")
        if not parent.bindings:
            raise ValueError(f"product {parent_sku!r} has no bindings to tell its variants apart")
        owner = self._variant_parent(variant_sku)
        if owner is not None:
            raise ValueError(f"product {variant_sku!r} is a variant of {owner!r} already")
        missing = [code for code in parent.bindings if code not in variant.values]
        if missing:
            raise ValueError(f"variant {variant_sku!r} has no value for the binding(s) {', '.join(missing)}")
        binding = {code: str(variant.values[code]) for code in parent.bindings}
        twin = next((sku for sku, other in parent.variants.items() if other == binding), None)
        if twin is not None:
            raise ValueError(f"variant {twin!r} of {parent_sku!r} has the same binding values {binding}")
        parent.variants[variant_sku] = binding
        values = [
            {"attribute_code": code, "attribute_type": "SELECT", "attribute_scope": "global", "value": option}
            for code, option in binding.items()
        ]
        event = {"variant_sku": variant_sku, "binding_values": values}
        self._queue("product", parent_sku, "product_variant_added", event)

    def remove_variant(self, parent_sku: str, variant_sku: str) -> None:
        parent = self._typed(parent_sku, "VARIABLE-PRODUCT", "variants")
        if variant_sku not in parent.variants:
            raise ValueError(f"product {variant_sku!r} is not a variant of {parent_sku!r}")
        del parent.variants[variant_sku]
        self._queue("product", parent_sku, "product_variant_removed", {"variant_sku": variant_sku})

    def add_child(self, parent_sku: str, child_sku: str, quantity: int) -> None:
        parent = self._typed(parent_sku, "GROUPING-PRODUCT", "children")
        child = self._product(child_sku)
        if child_sku == parent_sku or child.type == "GROUPING-PRODUCT":
            # A group of groups could contain itself; the PIM groups sellable products only.
            raise ValueError(f"a child is a simple or variable product; {child_sku!r} is a {child.type}")
        if child_sku in parent.children:
            raise ValueError(f"product {child_sku!r} is a child of {parent_sku!r} already")
        _check_quantity(quantity)
        parent.children[child_sku] = quantity
        event = {"child_sku": child_sku, "child_quantity": quantity}
        self._queue("product", parent_sku, "product_child_added", event)

    def set_child_quantity(self, parent_sku: str, child_sku: str, quantity: int) -> None:
        parent = self._typed(parent_sku, "GROUPING-PRODUCT", "children")
        if child_sku not in parent.children:
            raise ValueError(f"product {child_sku!r} is not a child of {parent_sku!r}")
        _check_quantity(quantity)
        if parent.children[child_sku] == quantity:
            return
        parent.children[child_sku] = quantity
        event = {"child_sku": child_sku, "child_quantity": quantity}
        self._queue("product", parent_sku, "product_child_quantity_changed", event)

    def remove_child(self, parent_sku: str, child_sku: str) -> None:
        parent = self._typed(parent_sku, "GROUPING-PRODUCT", "children")
        if child_sku not in parent.children:
            raise ValueError(f"product {child_sku!r} is not a child of {parent_sku!r}")
        del parent.children[child_sku]
        self._queue("product", parent_sku, "product_child_removed", {"child_sku": child_sku})

    def delete_product(self, sku: str) -> None:
        self._product(sku)
        owner = self._variant_parent(sku)
        if owner is not None:
            raise ValueError(f"product {sku!r} is a variant of {owner!r}: remove it from there first")
        users = sorted(
            other.sku
            for other in self._products.values()
            if other.sku != sku
            and (
                sku in other.children
                or any(
                    _relates_to(self._attributes[code], value, sku) for code, value in other.values.items()
                )
            )
        )
        if users:
            raise ValueError(f"product {sku!r} is still a child of or related to {', '.join(users)}")
        del self._products[sku]
        self._delete("product", sku)

    # -- synchronization ----------------------------------------------------------------------------

    @property
    def pending_events(self) -> int:
        """Detailed events queued since the last synchronization."""
        return sum(len(pending.events) + len(pending.relations) for pending in self._pending.values())

    def synchronize(self) -> list[CatalogRequest]:
        """The requests of one synchronization of everything queued, which is then cleared."""
        synchronization_id = self._new_synchronization_id()
        token = self.token(self.claims(synchronization_id))
        requests: list[CatalogRequest] = []

        def add(name: str, kind: EntityKind, entity_id: str, events: list[Event]) -> None:
            requests.append(
                _request(name, kind, entity_id, events, token=token, synchronization_id=synchronization_id)
            )

        for kind in KINDS:
            for (entity_kind, entity_id), pending in self._pending.items():
                if entity_kind == kind and pending.events:
                    add(
                        f"{kind}_{'created' if pending.created else 'updated'}",
                        kind,
                        entity_id,
                        pending.events,
                    )
            for (entity_kind, entity_id), pending in self._pending.items():
                if entity_kind == kind and pending.relations:
                    add(f"{kind}_updated", kind, entity_id, pending.relations)
            for entity_id in self._deleted[kind]:
                add(f"{kind}_deleted", kind, entity_id, [])
        self._pending = {}
        self._deleted = {kind: [] for kind in KINDS}
        return requests

    def claims(self, synchronization_id: str | None) -> dict[str, Any]:
        """The token's claims, issued now; a handshake belongs to no synchronization (None)."""
        issued = int(self._clock())
        claims: dict[str, Any] = {"app_installation_id": self.config.installation_id}
        if synchronization_id is not None:
            claims["synchronization_id"] = synchronization_id
        claims.update(iat=issued, nbf=issued, exp=issued + TOKEN_SECONDS)
        return claims

    def token(self, claims: Mapping[str, Any]) -> str:
        """``claims`` signed the way the PIM signs an X-APP-TOKEN: HS256 with the shared secret."""
        return jwt.encode(dict(claims), self.config.secret, algorithm="HS256")

    def plan(self, requests: Sequence[CatalogRequest]) -> list[CatalogRequest]:
        """The order ``deliver`` sends ``requests`` in, with the knobs applied (duplicates included)."""
        order = list(requests)
        if self.config.shuffle:
            # Shuffling one slot per request and then filling each slot with its entity's next request
            # draws every interleaving that keeps each entity's order, and only those.
            queues: dict[tuple[EntityKind, str], deque[CatalogRequest]] = defaultdict(deque)
            for request in order:
                queues[request.kind, request.entity_id].append(request)
            slots = [(request.kind, request.entity_id) for request in order]
            self._rng.shuffle(slots)
            order = [queues[slot].popleft() for slot in slots]
        if not self.config.duplicate_rate:
            return order
        again: dict[int, list[CatalogRequest]] = defaultdict(list)
        for index, request in enumerate(order):
            if self._rng.random() < self.config.duplicate_rate:
                again[self._rng.randint(index, len(order) - 1)].append(request)
        planned: list[CatalogRequest] = []
        for index, request in enumerate(order):
            planned.append(request)
            planned.extend(again.get(index, ()))
        return planned

    async def deliver(self, requests: Sequence[CatalogRequest], client: httpx.AsyncClient) -> list[int]:
        """PUT each request to the app, in ``plan``'s order; the statuses in the order sent."""
        statuses: list[int] = []
        for request in self.plan(requests):
            response = await client.put(
                self.config.url + request.path,
                content=request.body,
                headers={"X-APP-TOKEN": request.token, "Content-Type": "application/json"},
            )
            statuses.append(response.status_code)
        return statuses

    async def handshake(self, client: httpx.AsyncClient) -> int:
        """Install the app: POST the shared secret to ``/handshake``; the answer's status."""
        body = json.dumps({"shared_secret": self.config.secret}).encode()
        response = await client.post(
            self.config.url + "/handshake",
            content=body,
            headers={"X-APP-TOKEN": self.token(self.claims(None)), "Content-Type": "application/json"},
        )
        return response.status_code

    def snapshot(self) -> dict[str, Any]:
        """The PIM's catalog, the shape Mercator's catalog state is compared with::

        {"attributes": {code: {"type", "scope", "names": {lang: name}, "options": {code: {lang: name}}}},
         "categories": {code: {"names": {lang: name}}},
         "products": {sku: {"type", "categories": sorted, "values": {attr: global bare value or
                      {lang: value}}, "bindings": sorted, "variants": {sku: {attr: option_code}},
                      "children": {sku: quantity}}}}
        """
        return copy.deepcopy(
            {
                "attributes": {
                    code: {
                        "type": attribute.type,
                        "scope": attribute.scope,
                        "names": attribute.names,
                        "options": attribute.options,
                    }
                    for code, attribute in self._attributes.items()
                },
                "categories": {
                    code: {"names": category.names} for code, category in self._categories.items()
                },
                "products": {
                    sku: {
                        "type": product.type,
                        "categories": sorted(product.categories),
                        "values": product.values,
                        "bindings": sorted(product.bindings),
                        "variants": product.variants,
                        "children": product.children,
                    }
                    for sku, product in self._products.items()
                },
            }
        )

    # -- internals ----------------------------------------------------------------------------------

    def _queue(self, kind: EntityKind, entity_id: str, event_type: str, payload: Event) -> None:
        pending = self._pending.setdefault((kind, entity_id), _Pending())
        pending.created = pending.created or event_type == f"{kind}_created"
        event = {"type": event_type, "payload": payload}
        (pending.relations if event_type in _RELATION_EVENTS else pending.events).append(event)

    def _pending_of(self, kind: EntityKind) -> Iterable[_Pending]:
        return (pending for (entity_kind, _), pending in self._pending.items() if entity_kind == kind)

    def _delete(self, kind: EntityKind, entity_id: str) -> None:
        # What was queued describes an entity that no longer exists: the deletion replaces it.
        self._pending.pop((kind, entity_id), None)
        self._deleted[kind].append(entity_id)

    def _check_new(self, kind: EntityKind, code: str, existing: Mapping[str, object]) -> None:
        if code in existing:
            raise ValueError(f"{kind} {code!r} exists already")
        if code in self._deleted[kind]:
            # Deletions are sent after everything else of their kind, so they would delete the new one.
            raise ValueError(f"{kind} {code!r} was deleted since the last synchronization; synchronize first")

    def _new_synchronization_id(self) -> str:
        if self._ids is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _attribute(self, code: str) -> _Attribute:
        try:
            return self._attributes[code]
        except KeyError:
            raise ValueError(f"no attribute {code!r}") from None

    def _option_attribute(self, code: str) -> _Attribute:
        attribute = self._attribute(code)
        if attribute.type not in _OPTION_TYPES:
            raise ValueError(
                f"attribute {code!r} is {attribute.type}: only SELECT and MULTI_SELECT have options"
            )
        return attribute

    def _option(self, attribute: str, option_code: str) -> _Attribute:
        target = self._option_attribute(attribute)
        if option_code not in target.options:
            raise ValueError(f"attribute {attribute!r} has no option {option_code!r}")
        return target

    def _category(self, code: str) -> _Category:
        try:
            return self._categories[code]
        except KeyError:
            raise ValueError(f"no category {code!r}") from None

    def _product(self, sku: str) -> _Product:
        try:
            return self._products[sku]
        except KeyError:
            raise ValueError(f"no product {sku!r}") from None

    def _typed(self, sku: str, product_type: str, what: str) -> _Product:
        product = self._product(sku)
        if product.type != product_type:
            raise ValueError(f"only a {product_type} has {what}; {sku!r} is a {product.type}")
        return product

    def _variant_parent(self, sku: str) -> str | None:
        return next((parent.sku for parent in self._products.values() if sku in parent.variants), None)

    def _check_unbound(self, sku: str, attribute: str) -> None:
        parent = self._variant_parent(sku)
        if parent is not None and attribute in self._products[parent].bindings:
            # The parent's binding values were sent with product_variant_added; no event would update them.
            raise ValueError(f"{attribute!r} binds variant {sku!r} to {parent!r}: remove the variant first")

    def _value_payload(self, code: str, value: Value) -> Event:
        attribute = self._attributes[code]
        shaped = (
            [{"language": language, "value": each} for language, each in value.items()]
            if attribute.scope == "local"
            else value
        )
        return {
            "attribute_code": code,
            "attribute_type": attribute.type,
            "attribute_scope": attribute.scope,
            "value": copy.deepcopy(shaped),
        }

    def _check_value(self, attribute: _Attribute, value: Value, sku: str, where: str) -> Value:
        """``value`` as the catalog keeps it (a copy), or ValueError when the attribute cannot hold it."""
        if attribute.scope == "global":
            return self._check_bare(attribute, value, sku, where)
        if not isinstance(value, Mapping) or not value:
            raise ValueError(f"{where}: a local attribute's value is {{language: value}}, got {value!r}")
        return {
            _check_language(language, where): self._check_bare(attribute, each, sku, f"{where}[{language}]")
            for language, each in value.items()
        }

    def _check_bare(self, attribute: _Attribute, value: Value, sku: str, where: str) -> Value:
        kind = attribute.type
        if kind in _TEXT_TYPES:
            return _expect(isinstance(value, str), value, where, "a string")
        if kind == "DATE":
            if isinstance(value, str):
                try:
                    date.fromisoformat(value)
                except ValueError:
                    pass
                else:
                    return value
            raise ValueError(f"{where}: a DATE is an ISO date string (YYYY-MM-DD), got {value!r}")
        if kind in _NUMBER_TYPES:
            number = isinstance(value, int | float) and not isinstance(value, bool)
            return _expect(number and math.isfinite(value), value, where, "a finite number")
        if kind == "SELECT":
            _expect(isinstance(value, str), value, where, "an option code")
            return self._check_options(attribute, [value], where)[0]
        if kind == "MULTI_SELECT":
            return self._check_options(attribute, _string_list(value, where, "option codes"), where)
        if kind == "PRODUCT_RELATION":
            skus = _string_list(value, where, "skus")
            unknown = [each for each in skus if each not in self._products or each == sku]
            if unknown:
                raise ValueError(f"{where}: no other product {', '.join(map(repr, unknown))} to relate to")
            return skus
        if kind == "IMAGE":
            return _check_file(value, where)
        if not isinstance(value, list):
            raise ValueError(f"{where}: a {kind} value is a list of {{url, path}}, got {value!r}")
        return [_check_file(each, f"{where}[{index}]") for index, each in enumerate(value)]

    @staticmethod
    def _check_options(attribute: _Attribute, codes: list[str], where: str) -> list[str]:
        unknown = [code for code in codes if code not in attribute.options]
        if unknown:
            raise ValueError(
                f"{where}: attribute {attribute.code!r} has no option {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(attribute.options) or 'none'}"
            )
        return codes


def _request(
    name: str, kind: EntityKind, entity_id: str, events: list[Event], *, token: str, synchronization_id: str
) -> CatalogRequest:
    envelope = {
        "name": name,
        "resource_id": {"id": entity_id, "type": RESOURCE_TYPES[kind]},
        "synchronization": {"resource_customs": None, "events": events},
    }
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    return CatalogRequest(name, f"/consume/{name}", body, kind, entity_id, token, synchronization_id)


def _name_list(names: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"language": language, "value": name} for language, name in names.items()]


def _check_code(code: object, what: str) -> None:
    if not isinstance(code, str) or not code.strip():
        raise ValueError(f"a {what} is a non-empty string, got {code!r}")


def _check_language(language: object, where: str) -> str:
    if not isinstance(language, str) or not language.strip():
        raise ValueError(f"{where}: a language is a non-empty string such as 'en_GB', got {language!r}")
    return language


def _check_names(names: Mapping[str, str], where: str) -> dict[str, str]:
    if not isinstance(names, Mapping) or not names:
        raise ValueError(f"{where}: names are {{language: name}} with at least one language")
    for language, name in names.items():
        _check_language(language, where)
        if not isinstance(name, str):
            raise ValueError(f"{where}[{language}]: a name is a string, got {name!r}")
    return dict(names)


def _check_quantity(quantity: object) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise ValueError(f"a child quantity is a positive integer, got {quantity!r}")


def _expect(ok: bool, value: Value, where: str, what: str) -> Value:
    if not ok:
        raise ValueError(f"{where}: expected {what}, got {value!r}")
    return value


def _string_list(value: Value, where: str, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(each, str) for each in value):
        raise ValueError(f"{where}: expected a list of {what}, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{where}: {what} listed twice in {value!r}")
    return list(value)


def _check_file(value: Value, where: str) -> dict[str, str]:
    if (
        not isinstance(value, Mapping)
        or set(value) != {"url", "path"}
        or not all(isinstance(each, str) for each in value.values())
    ):
        raise ValueError(f"{where}: a file is {{url, path}} (strings), got {value!r}")
    return {"url": value["url"], "path": value["path"]}


def _bare_values(attribute: _Attribute, value: Value) -> list[Value]:
    return list(value.values()) if attribute.scope == "local" else [value]


def _uses_option(attribute: _Attribute, value: Value, option_code: str) -> bool:
    if value is None:
        return False
    return any(
        each == option_code if attribute.type == "SELECT" else option_code in each
        for each in _bare_values(attribute, value)
    )


def _relates_to(attribute: _Attribute, value: Value, sku: str) -> bool:
    return attribute.type == "PRODUCT_RELATION" and any(
        sku in each for each in _bare_values(attribute, value)
    )


def _rename_bare(attribute_type: str, value: Value, previous: str, new: str) -> Value:
    if attribute_type == "SELECT":
        return new if value == previous else value
    return [new if code == previous else code for code in value]


def _rename_option(attribute: _Attribute, value: Value, previous: str, new: str) -> Value:
    if attribute.scope == "local":
        return {
            language: _rename_bare(attribute.type, each, previous, new) for language, each in value.items()
        }
    return _rename_bare(attribute.type, value, previous, new)


def _rename_option_in_event(attribute: _Attribute, event: Event, previous: str, new: str) -> None:
    payload = event["payload"]
    if event["type"] in ("product_value_added", "product_value_changed"):
        if payload["attribute_code"] != attribute.code:
            return
        if attribute.scope == "local":
            for item in payload["value"]:
                item["value"] = _rename_bare(attribute.type, item["value"], previous, new)
        else:
            payload["value"] = _rename_bare(attribute.type, payload["value"], previous, new)
    elif event["type"] == "product_variant_added":
        for binding in payload["binding_values"]:
            if binding["attribute_code"] == attribute.code and binding["value"] == previous:
                binding["value"] = new


# -- the demo catalog -------------------------------------------------------------------------------

_EN = "en_GB"
_AR = "ar_SA"
_CDN = "https://cdn.pim-sandbox.test"

# sku, English name, Arabic name, category (None: not categorised yet), price, stock, material
_DEMO_PRODUCTS: tuple[tuple[str, str, str, str | None, float, int, list[str]], ...] = (
    ("PIM-SKU-001", "Oxford Shirt", "قميص أكسفورد", "shirts", 149.0, 40, ["cotton"]),
    ("PIM-SKU-002", "Linen Shirt", "قميص كتان", "shirts", 179.0, 25, ["linen"]),
    ("PIM-SKU-003", "Flannel Shirt", "قميص فانيلا", "shirts", 159.0, 18, ["cotton"]),
    ("PIM-SKU-004", "Chino Trousers", "بنطال تشينو", "trousers", 199.0, 30, ["cotton"]),
    ("PIM-SKU-005", "Linen Trousers", "بنطال كتان", "trousers", 219.0, 12, ["linen"]),
    ("PIM-SKU-006", "Cargo Trousers", "بنطال كارغو", "trousers", 189.0, 22, ["cotton"]),
    ("PIM-SKU-007", "Leather Belt", "حزام جلدي", "accessories", 89.0, 50, []),
    ("PIM-SKU-008", "Cotton Scarf", "وشاح قطني", "accessories", 69.0, 35, ["cotton"]),
    ("PIM-SKU-009", "Canvas Tote Bag", "حقيبة قماشية", "accessories", 79.0, 60, ["cotton", "linen"]),
    ("PIM-SKU-010", "Baseball Cap", "قبعة بيسبول", None, 59.0, 45, ["cotton"]),
)
# sku, colour, size, price, stock
_DEMO_VARIANTS: tuple[tuple[str, str, str, float, int], ...] = (
    ("PIM-TEE-RED-M", "red", "m", 79.0, 20),
    ("PIM-TEE-BLUE-L", "blue", "l", 79.0, 15),
    ("PIM-TEE-BLACK-S", "black", "s", 84.0, 8),
)


def _images(sku: str) -> list[dict[str, str]]:
    return [{"url": f"{_CDN}/{sku}/1.jpg", "path": f"{sku}/1.jpg"}]


def demo_catalog(pim: SandboxPim) -> dict[str, int]:
    """Build the demo catalog in a fresh PIM; what was built: attributes, options, categories,
    products, and the detailed events queued."""
    if pim.snapshot() != {"attributes": {}, "categories": {}, "products": {}}:
        raise ValueError("the demo catalog is built in a fresh PIM")
    pim.create_attribute("name", "TEXT", "local", {_EN: "Name", _AR: "الاسم"})
    pim.create_attribute("description", "TEXT_AREA", "local", {_EN: "Description", _AR: "الوصف"})
    pim.create_attribute("price", "PRICE", "global", {_EN: "Price", _AR: "السعر"})
    pim.create_attribute("stock", "NUMERIC", "global", {_EN: "Stock", _AR: "المخزون"})
    pim.create_attribute("images", "GALLERY", "global", {_EN: "Images", _AR: "الصور"})
    options: dict[str, dict[str, tuple[str, str]]] = {
        "color": {"red": ("Red", "أحمر"), "blue": ("Blue", "أزرق"), "black": ("Black", "أسود")},
        "size": {"s": ("Small", "صغير"), "m": ("Medium", "متوسط"), "l": ("Large", "كبير")},
        "material": {"cotton": ("Cotton", "قطن"), "linen": ("Linen", "كتان")},
    }
    pim.create_attribute("color", "SELECT", "global", {_EN: "Colour", _AR: "اللون"})
    pim.create_attribute("size", "SELECT", "global", {_EN: "Size", _AR: "المقاس"})
    pim.create_attribute("material", "MULTI_SELECT", "global", {_EN: "Material", _AR: "الخامة"})
    for attribute, choices in options.items():
        for code, (english, arabic) in choices.items():
            pim.add_option(attribute, code, {_EN: english, _AR: arabic})
    pim.create_category("shirts", {_EN: "Shirts", _AR: "قمصان"})
    pim.create_category("trousers", {_EN: "Trousers", _AR: "بناطيل"})
    pim.create_category("accessories", {_EN: "Accessories", _AR: "إكسسوارات"})

    for sku, english, arabic, category, price, stock, material in _DEMO_PRODUCTS:
        values: dict[str, Value] = {
            "name": {_EN: english, _AR: arabic},
            "description": {_EN: f"{english}, from the sandbox PIM.", _AR: f"{arabic} من كتالوج التجربة."},
            "price": price,
            "stock": stock,
            "images": _images(sku),
        }
        if material:
            values["material"] = material
        pim.create_product(sku, "SIMPLE-PRODUCT", [category] if category else [], values)

    for sku, color, size, price, stock in _DEMO_VARIANTS:
        (color_en, color_ar), (size_en, size_ar) = options["color"][color], options["size"][size]
        values = {
            "name": {
                _EN: f"Crew Tee, {color_en}, {size_en}",
                _AR: f"تيشيرت برقبة دائرية، {color_ar}، {size_ar}",
            },
            "price": price,
            "stock": stock,
            "color": color,
            "size": size,
            "images": _images(sku),
        }
        # Uncategorised: a variant is sold through its parent, which is in the category.
        pim.create_product(sku, "SIMPLE-PRODUCT", [], values)
    tee = {
        "name": {_EN: "Crew Tee", _AR: "تيشيرت برقبة دائرية"},
        "description": {_EN: "A cotton crew-neck tee in three colours.", _AR: "تيشيرت قطني بثلاثة ألوان."},
        "material": ["cotton"],
        "images": _images("PIM-TEE"),
    }
    pim.create_product("PIM-TEE", "VARIABLE-PRODUCT", ["shirts"], tee)
    pim.add_binding("PIM-TEE", "color")
    pim.add_binding("PIM-TEE", "size")
    for sku, *_ in _DEMO_VARIANTS:
        pim.add_variant("PIM-TEE", sku)

    gift = {
        "name": {_EN: "Gift Set: Belt and Scarf", _AR: "طقم هدايا: حزام ووشاح"},
        "description": {_EN: "A leather belt and two cotton scarves.", _AR: "حزام جلدي ووشاحان قطنيان."},
        "price": 189.0,
        "images": _images("PIM-GIFT-SET"),
    }
    pim.create_product("PIM-GIFT-SET", "GROUPING-PRODUCT", ["accessories"], gift)
    pim.add_child("PIM-GIFT-SET", "PIM-SKU-007", 1)
    pim.add_child("PIM-GIFT-SET", "PIM-SKU-008", 2)

    snapshot = pim.snapshot()
    return {
        "attributes": len(snapshot["attributes"]),
        "options": sum(len(each["options"]) for each in snapshot["attributes"].values()),
        "categories": len(snapshot["categories"]),
        "products": len(snapshot["products"]),
        "events": pim.pending_events,
    }


def demo_edits(pim: SandboxPim) -> dict[str, int]:
    """A merchandiser's morning on the demo catalog; how many of each edit, and the events queued."""
    before = pim.pending_events
    pim.set_value("PIM-SKU-001", "name", {_EN: "Oxford Button-Down Shirt"})
    pim.set_value("PIM-SKU-004", "name", {_EN: "Slim Chino Trousers", _AR: "بنطال تشينو ضيق"})
    pim.set_value("PIM-SKU-002", "price", 169.0)
    pim.set_value("PIM-SKU-005", "price", 229.0)
    # Used by a variant's value and by PIM-TEE's binding: consumers rename it themselves.
    pim.change_option_code("size", "m", "medium")
    pim.set_value("PIM-SKU-003", "stock", 7)
    pim.add_to_category("PIM-SKU-010", "accessories")
    return {
        "renamed": 2,
        "repriced": 2,
        "option_codes_changed": 1,
        "restocked": 1,
        "categorised": 1,
        "events": pim.pending_events - before,
    }
