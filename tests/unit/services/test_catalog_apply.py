"""CatalogApply: PIM requests applied to the catalog state, in order, and the products they change
written to the canonical catalog through the real RecordWriter.

The catalog state is an in-memory CatalogStore keeping DynamoCatalog's rules (a save is conditional on
the version read, keeps the last APPLIED_KEPT request keys, sets ``uses`` only when given; references
are kept per ref; ``mark_unmapped`` writes no version). Records, tracking and the Trigger queue are the
fakes the other service tests use; the Catalog DLQ is a recording queue. The source definition is the
shipped ``pim`` connector, whose mapping reads values.name, values.price, values.material (tags) and
the categories' names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from mercator.connector import load_shipped
from mercator.domain.entities import StoredRecord
from mercator.domain.messages import CatalogEventsMessage
from mercator.pim.catalog_model import (
    CatalogAttribute,
    CatalogCategory,
    CatalogOption,
    CatalogProduct,
    EntityKind,
    StoredEntity,
    StoredValue,
    VersionConflictError,
)
from mercator.services.catalog_apply import ApplyResult, CatalogApply, CatalogWaitingError
from mercator.services.connectors import ConnectorCatalog
from mercator.services.writer import RecordWriter
from mercator.state.catalog_items import APPLIED_KEPT
from tests.unit.services.fakes import (
    FakeClock,
    FakeIntegrations,
    FakeQueue,
    FakeRecords,
    FakeTracking,
)
from tests.unit.services.support import TENANT, make_integration

PIM_ID = "pim-1"
PRODUCT = "core:product"
RESOURCE_TYPES = {"attribute": "attribute_code", "category": "category_code", "product": "product_sku"}
UNMAPPED = (
    "product {sku!r} does not map into core:product: not a valid core:product: name: missing "
    "(the mapping gives null: values.name is not in this payload)"
)

# --- the catalog state ------------------------------------------------------------------------------


class HeldRequests:
    """The CatalogEvents queue's hold, which these tests do not exercise (the handler's tests do)."""

    def hold(self, receipts: Sequence[tuple[str, int]]) -> None:
        raise AssertionError(f"the service held {receipts!r} itself")


@dataclass
class FakeCatalog:
    """The CatalogStore port in memory, with DynamoCatalog's conditions."""

    items: dict[tuple[str, EntityKind, str], StoredEntity] = field(default_factory=dict)
    refs: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    saved: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    # Run once, just before the next save is decided: another invocation writing meanwhile.
    meanwhile: Callable[[], None] | None = None

    def get(self, integration_id: str, kind: EntityKind, code: str) -> StoredEntity | None:
        return self.items.get((integration_id, kind, code))

    def get_many(
        self, integration_id: str, wanted: Iterable[tuple[EntityKind, str]]
    ) -> dict[tuple[EntityKind, str], StoredEntity]:
        return {
            (kind, code): self.items[(integration_id, kind, code)]
            for kind, code in wanted
            if (integration_id, kind, code) in self.items
        }

    def save(
        self,
        integration_id: str,
        stored: StoredEntity,
        entity: CatalogAttribute | CatalogCategory | CatalogProduct | None,
        *,
        request_key: str,
        at: datetime,
        uses: set[str] | None = None,
    ) -> None:
        if self.meanwhile is not None:
            rival, self.meanwhile = self.meanwhile, None
            rival()
        key = (integration_id, stored.kind, stored.code)
        current = self.items.get(key)
        if (0 if current is None else current.version) != stored.version:
            self.refused.append(request_key)
            raise VersionConflictError(f"{stored.kind} {stored.code!r} was written meanwhile")
        self.items[key] = StoredEntity(
            kind=stored.kind,
            code=stored.code,
            entity=entity,
            version=stored.version + 1,
            updated_at=at,
            applied=(*stored.applied, request_key)[-APPLIED_KEPT:],
            uses=(current.uses if current is not None else frozenset()) if uses is None else frozenset(uses),
            unmapped=None if current is None else current.unmapped,
        )
        self.saved.append(request_key)

    def link(self, integration_id: str, sku: str, *, added: Iterable[str], removed: Iterable[str]) -> None:
        for ref in added:
            self.refs.setdefault((integration_id, ref), set()).add(sku)
        for ref in removed:
            self.refs.get((integration_id, ref), set()).discard(sku)

    def users(self, integration_id: str, ref: str) -> list[str]:
        return sorted(self.refs.get((integration_id, ref), set()))

    def mark_unmapped(self, integration_id: str, sku: str, reason_hash: str | None) -> None:
        key: tuple[str, EntityKind, str] = (integration_id, "product", sku)
        current = self.items.get(key) or StoredEntity(
            kind="product", code=sku, entity=None, version=0, updated_at=None
        )
        self.items[key] = dataclasses.replace(current, unmapped=reason_hash)

    def product(self, sku: str) -> StoredEntity:
        return self.items[(PIM_ID, "product", sku)]


# --- the world ------------------------------------------------------------------------------------------


@dataclass
class World:
    integrations: FakeIntegrations = field(
        default_factory=lambda: FakeIntegrations(make_integration("pim", integration_id=PIM_ID))
    )
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    clock: FakeClock = field(default_factory=FakeClock)
    records: FakeRecords = field(default_factory=FakeRecords)
    tracking: FakeTracking = field(default_factory=FakeTracking)
    triggers: FakeQueue = field(default_factory=lambda: FakeQueue("trigger"))
    dead_letters: FakeQueue = field(default_factory=lambda: FakeQueue("catalog-dlq"))
    sent: int = 0

    def __post_init__(self) -> None:
        self.service = CatalogApply(
            integrations=self.integrations,
            connectors=ConnectorCatalog({"pim": load_shipped("pim")}),
            catalog=self.catalog,
            writer=RecordWriter(self.records, self.tracking, self.triggers, clock=self.clock),
            dead_letters=self.dead_letters,
            requests=HeldRequests(),
            clock=self.clock,
        )

    def message(self, name: str, code: str, *events: dict[str, Any]) -> CatalogEventsMessage:
        self.sent += 1
        kind = name.rsplit("_", 1)[0]
        return CatalogEventsMessage(
            integration_id=PIM_ID,
            request_key=f"request-{self.sent}",
            name=name,
            envelope={
                "name": name,
                "resource_id": {"id": code, "type": RESOURCE_TYPES[kind]},
                "synchronization": {"resource_customs": None, "events": list(events)},
            },
            synchronization_id="sync-1",
            received_at=self.clock(),
        )

    def apply(self, name: str, code: str, *events: dict[str, Any], last_attempt: bool = False) -> ApplyResult:
        return self.service.apply(self.message(name, code, *events), last_attempt=last_attempt)

    def record(self, sku: str) -> StoredRecord:
        stored = self.records.get(TENANT, PRODUCT, sku)
        assert stored is not None, f"no {PRODUCT} record {sku!r}"
        return stored

    def changes(self) -> list[tuple[str, str]]:
        return [(event["change"], event["code"]) for event in self.triggers.documents()]

    def announced(self) -> list[dict[str, Any]]:
        """The change events sent since last asked, and forget them."""
        events = self.triggers.documents()
        self.triggers.take()
        return events


# --- detailed events ----------------------------------------------------------------------------------


def names(text: str) -> list[dict[str, str]]:
    return [{"language": "en_GB", "value": text}]


def attribute_created(code: str, type_: str, scope: str, name: str) -> dict[str, Any]:
    payload = {"code": code, "type": type_, "scope": scope, "name": names(name)}
    return {"type": "attribute_created", "payload": payload}


def option_created(code: str, name: str) -> dict[str, Any]:
    return {"type": "attribute_option_created", "payload": {"option_code": code, "option_name": names(name)}}


def category_created(code: str, name: str) -> dict[str, Any]:
    return {"type": "category_created", "payload": {"code": code, "name": names(name)}}


def product_created(sku: str, type_: str = "SIMPLE-PRODUCT", *categories: str) -> dict[str, Any]:
    payload = {"sku": sku, "type": type_, "category_codes": list(categories)}
    return {"type": "product_created", "payload": payload}


TYPES = {"name": ("TEXT", "local"), "price": ("PRICE", "global"), "material": ("MULTI_SELECT", "global")}


def value(attribute: str, sent: Any, change: str = "product_value_added") -> dict[str, Any]:
    type_, scope = TYPES[attribute]
    shown = names(sent) if scope == "local" else sent
    payload = {"attribute_code": attribute, "attribute_type": type_, "attribute_scope": scope, "value": shown}
    return {"type": change, "payload": payload}


def value_removed(attribute: str) -> dict[str, Any]:
    return {
        "type": "product_value_removed",
        "payload": {"attribute_code": attribute, "attribute_type": TYPES[attribute][0]},
    }


def variant_added(sku: str, color: str) -> dict[str, Any]:
    binding = {
        "attribute_code": "color",
        "attribute_type": "SELECT",
        "attribute_scope": "global",
        "value": color,
    }
    return {"type": "product_variant_added", "payload": {"variant_sku": sku, "binding_values": [binding]}}


# --- the catalog the products refer to ------------------------------------------------------------------


@pytest.fixture
def world() -> World:
    """name, price, material (cotton, linen), color (red, blue) and the category shirts, written at 06:00."""
    built = World()
    for result in (
        built.apply("attribute_created", "name", attribute_created("name", "TEXT", "local", "Name")),
        built.apply("attribute_created", "price", attribute_created("price", "PRICE", "global", "Price")),
        built.apply(
            "attribute_created",
            "material",
            attribute_created("material", "MULTI_SELECT", "global", "Material"),
            option_created("cotton", "Cotton"),
            option_created("linen", "Linen"),
        ),
        built.apply(
            "attribute_created",
            "color",
            attribute_created("color", "SELECT", "global", "Colour"),
            option_created("red", "Red"),
            option_created("blue", "Blue"),
        ),
        built.apply("category_created", "shirts", category_created("shirts", "Shirts")),
    ):
        assert result == ApplyResult("applied", 0)
    built.clock.advance(minutes=1)
    return built


def add_shirt(
    world: World, sku: str = "SHIRT-1", name: str = "Shirt", materials: tuple[str, ...] = ("cotton",)
) -> None:
    """A simple product in shirts with a name, a price of 19.5 and, when given, its materials."""
    events = [product_created(sku, "SIMPLE-PRODUCT", "shirts"), value("name", name), value("price", 19.5)]
    if materials:
        events.append(value("material", list(materials)))
    assert world.apply("product_created", sku, *events) == ApplyResult("applied", 1)


def shirt_record(**changed: Any) -> dict[str, Any]:
    """SHIRT-1 as core:product, as the shipped pim mapping writes it (by hand, from connectors/pim.yaml)."""
    return {
        "code": "SHIRT-1",
        "sku": "SHIRT-1",
        "name": "Shirt",
        "unitPrice": 19.5,
        "productType": "simple",
        "images": [],
        "categories": ["Shirts"],
        "tags": ["Cotton"],
        "options": [],
        "variants": [],
        "components": [],
        "updatedAt": "2025-01-01T06:01:00Z",
        "attributes": {"pimType": "SIMPLE-PRODUCT", "names": {"en_GB": "Shirt"}},
    } | changed


# --- a product request ------------------------------------------------------------------------------------


def test_a_product_request_is_applied_written_as_core_product_and_announced_created(world: World) -> None:
    # Given the catalog's attributes and category
    # When a product request creates SHIRT-1 with its name, price and material at 06:01
    message = world.message(
        "product_created",
        "SHIRT-1",
        product_created("SHIRT-1", "SIMPLE-PRODUCT", "shirts"),
        value("name", "Shirt"),
        value("price", 19.5),
        value("material", ["cotton"]),
    )
    result = world.service.apply(message, last_attempt=False)

    # Then one record was written: the canonical product, dated by its write
    assert result == ApplyResult("applied", 1)
    assert world.record("SHIRT-1").record == shirt_record()
    assert world.changes() == [("created", "SHIRT-1")]
    # And the catalog holds the product, with the request applied and what it refers to
    stored = world.catalog.product("SHIRT-1")
    assert stored.entity == CatalogProduct(
        sku="SHIRT-1",
        type="SIMPLE-PRODUCT",
        categories=["shirts"],
        values={
            "name": StoredValue(scope="local", value={"en_GB": "Shirt"}),
            "price": StoredValue(scope="global", value=19.5),
            "material": StoredValue(scope="global", value=["o1"]),
        },
    )
    assert (stored.version, stored.applied) == (1, (message.request_key,))
    assert stored.uses == {"attribute:name", "attribute:price", "attribute:material", "category:shirts"}
    assert world.catalog.users(PIM_ID, "category:shirts") == ["SHIRT-1"]
    assert world.catalog.users(PIM_ID, "attribute:material") == ["SHIRT-1"]
    assert world.dead_letters.bodies == []


def test_the_same_request_again_is_a_duplicate_that_changes_and_announces_nothing(world: World) -> None:
    # Given a product request applied once
    message = world.message(
        "product_created",
        "SHIRT-1",
        product_created("SHIRT-1", "SIMPLE-PRODUCT", "shirts"),
        value("name", "Shirt"),
    )
    world.service.apply(message, last_attempt=False)
    world.clock.advance(minutes=5)
    saved_before = list(world.catalog.saved)

    # When SQS hands the same request over again
    again = world.service.apply(message, last_attempt=False)

    # Then it is a duplicate: no write of the catalog, no new record version, no new announcement
    assert again == ApplyResult("duplicate", 0)
    assert world.catalog.saved == saved_before
    assert world.catalog.product("SHIRT-1").version == 1
    assert world.record("SHIRT-1").version == 1
    assert world.changes() == [("created", "SHIRT-1")]


def test_a_duplicate_publishes_what_a_stopped_first_attempt_did_not(world: World) -> None:
    # Given a request whose first attempt saved the product but stopped before writing its record
    message = world.message(
        "product_created",
        "SHIRT-1",
        product_created("SHIRT-1", "SIMPLE-PRODUCT", "shirts"),
        value("name", "Shirt"),
    )
    world.service.apply(message, last_attempt=False)
    world.records.items.clear()
    world.tracking.entries.clear()
    world.triggers.take()
    world.catalog.refs.clear()

    # When SQS hands it over again
    again = world.service.apply(message, last_attempt=False)

    # Then it is a duplicate that writes the record, announces it, and links its references again
    assert again == ApplyResult("duplicate", 1)
    assert world.changes() == [("created", "SHIRT-1")]
    assert world.catalog.users(PIM_ID, "category:shirts") == ["SHIRT-1"]


# --- waiting ----------------------------------------------------------------------------------------------


def test_a_request_waiting_for_an_unknown_category_is_retried_and_saves_nothing(world: World) -> None:
    # Given no category 'trousers' in the catalog
    saved_before = list(world.catalog.saved)

    # When a product in it is created
    # Then the request waits
    with pytest.raises(
        CatalogWaitingError, match="product 'TROUSERS-1': category 'trousers' is not known yet"
    ):
        world.apply(
            "product_created", "TROUSERS-1", product_created("TROUSERS-1", "SIMPLE-PRODUCT", "trousers")
        )

    # And nothing is saved, written or dead-lettered
    assert world.catalog.saved == saved_before
    assert world.catalog.get(PIM_ID, "product", "TROUSERS-1") is None
    assert world.records.items == {}
    assert world.dead_letters.bodies == []


def test_a_request_still_waiting_at_its_last_attempt_is_dead_lettered_with_its_reason(world: World) -> None:
    # Given a product request that needs the unknown category 'trousers'
    message = world.message(
        "product_created", "TROUSERS-1", product_created("TROUSERS-1", "SIMPLE-PRODUCT", "trousers")
    )
    saved_before = list(world.catalog.saved)

    # When it is tried for the last time
    result = world.service.apply(message, last_attempt=True)

    # Then it is dead-lettered with why
    reason = "still waiting: product 'TROUSERS-1': category 'trousers' is not known yet"
    assert result == ApplyResult("dead_lettered", reason=reason)
    [letter] = world.dead_letters.documents()
    assert letter["reason"] == reason
    assert letter["raw"] == message.envelope
    assert letter["detail"] == {"request_key": message.request_key, "synchronization_id": "sync-1"}
    assert (letter["integration_id"], letter["connector"], letter["resource"], letter["event"]) == (
        PIM_ID,
        "pim",
        "catalog",
        "product_created",
    )
    # And nothing is saved or written
    assert world.catalog.saved == saved_before
    assert world.catalog.get(PIM_ID, "product", "TROUSERS-1") is None
    assert world.records.items == {}


def test_a_request_that_waits_then_finds_its_category_is_applied(world: World) -> None:
    # Given a product request that waited for 'trousers'
    message = world.message(
        "product_created",
        "TROUSERS-1",
        product_created("TROUSERS-1", "SIMPLE-PRODUCT", "trousers"),
        value("name", "Chinos"),
    )
    with pytest.raises(CatalogWaitingError):
        world.service.apply(message, last_attempt=False)

    # When the category arrives, and the request is handed over again
    world.apply("category_created", "trousers", category_created("trousers", "Trousers"))
    result = world.service.apply(message, last_attempt=False)

    # Then it is applied and written
    assert result == ApplyResult("applied", 1)
    assert world.record("TROUSERS-1").record["categories"] == ["Trousers"]


# --- concurrent writes ------------------------------------------------------------------------------------


def test_a_version_conflict_reads_the_product_again_and_applies_once_on_top(world: World) -> None:
    # Given SHIRT-1, saved once
    add_shirt(world)
    world.announced()
    world.clock.advance(minutes=1)
    first = world.catalog.product("SHIRT-1")

    # And another invocation that saves a price of 21 between our read and our save
    def rival() -> None:
        assert isinstance(first.entity, CatalogProduct)
        repriced = first.entity.model_copy(deep=True)
        repriced.values["price"] = StoredValue(scope="global", value=21.0)
        world.catalog.save(
            PIM_ID, first, repriced, request_key="rival", at=world.clock(), uses=set(first.uses)
        )

    world.catalog.meanwhile = rival

    # When our request renames the product
    message = world.message("product_updated", "SHIRT-1", value("name", "Shirt v2", "product_value_changed"))
    result = world.service.apply(message, last_attempt=False)

    # Then our first save was refused, and the request applied once over the rival's write
    assert result == ApplyResult("applied", 1)
    assert world.catalog.refused == [message.request_key]
    assert world.catalog.saved.count(message.request_key) == 1
    stored = world.catalog.product("SHIRT-1")
    assert (stored.version, stored.applied[-2:]) == (3, ("rival", message.request_key))
    assert isinstance(stored.entity, CatalogProduct)
    assert stored.entity.values["price"].value == 21.0
    assert stored.entity.values["name"].value == {"en_GB": "Shirt v2"}
    # And the product is announced once, with both changes
    [event] = world.announced()
    assert (event["change"], event["record"]["name"], event["record"]["unitPrice"]) == (
        "updated",
        "Shirt v2",
        21.0,
    )


# --- changes of what products refer to -------------------------------------------------------------------


def test_an_option_code_change_re_renders_its_products_without_announcing_them(world: World) -> None:
    # Given SHIRT-1 made of cotton and SHIRT-2 with no material value
    add_shirt(world)
    add_shirt(world, "SHIRT-2", "Plain shirt", materials=())
    world.announced()
    world.clock.advance(minutes=1)
    lookups = len(world.tracking.lookups)

    # When the option cotton is given the code organic-cotton (its name, Cotton, stays)
    result = world.apply(
        "attribute_updated",
        "material",
        {
            "type": "attribute_option_code_changed",
            "payload": {"option_code": "organic-cotton", "previous_option_code": "cotton"},
        },
    )

    # Then the product using the attribute was rendered again, the other not
    assert result == ApplyResult("applied", 0)
    assert world.tracking.lookups[lookups:] == [["SHIRT-1"]]
    # And, as its name, price and tags read as before, nothing is written or announced
    assert world.announced() == []
    assert world.record("SHIRT-1").version == 1
    assert world.record("SHIRT-1").record == shirt_record()
    # And the option kept its id: the product still refers to it, by its new code
    material = world.catalog.get(PIM_ID, "attribute", "material")
    assert material is not None and isinstance(material.entity, CatalogAttribute)
    assert material.entity.options["o1"] == CatalogOption(code="organic-cotton", names={"en_GB": "Cotton"})


def test_an_option_name_change_re_announces_the_products_showing_it(world: World) -> None:
    # Given SHIRT-1 tagged Cotton
    add_shirt(world)
    world.announced()
    world.clock.advance(minutes=1)

    # When the option cotton is renamed Organic cotton at 06:02
    result = world.apply(
        "attribute_updated",
        "material",
        {
            "type": "attribute_option_name_changed",
            "payload": {"option_code": "cotton", "option_name": names("Organic cotton")},
        },
    )

    # Then SHIRT-1 is written again with the new tag, dated by the attribute's change
    assert result == ApplyResult("applied", 1)
    [event] = world.announced()
    assert (event["change"], event["code"]) == ("updated", "SHIRT-1")
    assert world.record("SHIRT-1").record == shirt_record(
        tags=["Organic cotton"], updatedAt="2025-01-01T06:02:00Z"
    )


def test_a_category_renamed_re_announces_its_products_with_the_new_name(world: World) -> None:
    # Given two shirts in the category shirts, and a trouser in another category
    add_shirt(world)
    add_shirt(world, "SHIRT-2", "Linen shirt", materials=("linen",))
    world.apply("category_created", "trousers", category_created("trousers", "Trousers"))
    world.apply(
        "product_created",
        "TROUSERS-1",
        product_created("TROUSERS-1", "SIMPLE-PRODUCT", "trousers"),
        value("name", "Chinos"),
    )
    world.announced()
    world.clock.advance(minutes=1)

    # When shirts is renamed Shirts & tops at 06:02 (typed as the reference's own example types it)
    result = world.apply(
        "category_updated",
        "shirts",
        {"type": "attribute_name_changed", "payload": {"name": names("Shirts & tops")}},
    )

    # Then both shirts are announced updated, and nothing else
    assert result == ApplyResult("applied", 2)
    events = world.announced()
    assert sorted((event["change"], event["code"]) for event in events) == [
        ("updated", "SHIRT-1"),
        ("updated", "SHIRT-2"),
    ]
    # And they carry the new category name, re-dated to the rename
    for event in events:
        assert event["record"]["categories"] == ["Shirts & tops"]
        assert event["record"]["updatedAt"] == "2025-01-01T06:02:00Z"
        assert event["changes"]["updatedAt"] == {"from": "2025-01-01T06:01:00Z", "to": "2025-01-01T06:02:00Z"}
    assert world.record("TROUSERS-1").record["categories"] == ["Trousers"]


def test_an_attribute_nobody_uses_changes_no_record(world: World) -> None:
    add_shirt(world)
    world.announced()

    result = world.apply("attribute_updated", "color", option_created("green", "Green"))

    assert result == ApplyResult("applied", 0)
    assert world.announced() == []


# --- variants -----------------------------------------------------------------------------------------------


@pytest.fixture
def tee(world: World) -> World:
    """TEE-RED sold on its own (written 06:01), and the variable product TEE bound by color (06:02)."""
    assert world.apply(
        "product_created",
        "TEE-RED",
        product_created("TEE-RED"),
        value("name", "Red tee"),
        value("price", 25.0),
    ) == ApplyResult("applied", 1)
    world.clock.advance(minutes=1)
    assert world.apply(
        "product_created",
        "TEE",
        product_created("TEE", "VARIABLE-PRODUCT", "shirts"),
        value("name", "Tee"),
        {"type": "product_binding_added", "payload": {"attribute_code": "color"}},
    ) == ApplyResult("applied", 1)
    world.announced()
    world.clock.advance(minutes=1)
    return world


def test_a_variant_added_deletes_its_standalone_record_and_lists_it_on_its_variable_product(
    tee: World,
) -> None:
    # When TEE-RED becomes TEE's red variant at 06:03
    result = tee.apply("product_updated", "TEE", variant_added("TEE-RED", "red"))

    # Then TEE-RED's own record is deleted and TEE is updated: two writes
    assert result == ApplyResult("applied", 2)
    assert sorted((event["change"], event["code"]) for event in tee.announced()) == [
        ("deleted", "TEE-RED"),
        ("updated", "TEE"),
    ]
    assert tee.record("TEE-RED").deleted
    # And TEE lists its variant with its option, its option with its value, and takes its price
    record = tee.record("TEE").record
    assert record["variants"] == [
        {
            "sku": "TEE-RED",
            "name": "Red tee",
            "unitPrice": 25.0,
            "options": [{"name": "Colour", "value": "Red"}],
        }
    ]
    assert record["options"] == [{"name": "Colour", "values": ["Red"]}]
    assert record["unitPrice"] == 25.0
    assert tee.catalog.users(PIM_ID, "variant:TEE-RED") == ["TEE"]


def test_a_change_of_a_variant_re_announces_its_variable_product_and_not_the_variant(tee: World) -> None:
    # Given TEE-RED, a variant of TEE
    tee.apply("product_updated", "TEE", variant_added("TEE-RED", "red"))
    tee.announced()
    tee.clock.advance(minutes=1)

    # When TEE-RED's price changes
    result = tee.apply("product_updated", "TEE-RED", value("price", 22.0, "product_value_changed"))

    # Then TEE is announced with the new price; TEE-RED stays deleted and is announced no more
    assert result == ApplyResult("applied", 1)
    [event] = tee.announced()
    assert (event["change"], event["code"], event["record"]["unitPrice"]) == ("updated", "TEE", 22.0)
    assert event["record"]["variants"][0]["unitPrice"] == 22.0
    assert tee.record("TEE-RED").deleted


def test_a_variant_removed_is_sold_on_its_own_again(tee: World) -> None:
    # Given TEE-RED, a variant of TEE since 06:03, its own record deleted then
    tee.apply("product_updated", "TEE", variant_added("TEE-RED", "red"))
    tee.announced()
    tee.clock.advance(minutes=1)

    # When TEE lets it go at 06:04
    tee.apply(
        "product_updated", "TEE", {"type": "product_variant_removed", "payload": {"variant_sku": "TEE-RED"}}
    )

    # Then TEE-RED is announced created and its record is live again
    assert sorted((event["change"], event["code"]) for event in tee.announced()) == [
        ("created", "TEE-RED"),
        ("updated", "TEE"),
    ]
    assert not tee.record("TEE-RED").deleted


def test_a_deleted_product_is_a_deleted_record(world: World) -> None:
    # Given SHIRT-1 in the canonical catalog
    add_shirt(world)
    world.announced()
    world.clock.advance(minutes=1)

    # When it is deleted in the PIM
    result = world.apply("product_deleted", "SHIRT-1")

    # Then its record is deleted and announced so, and it refers to nothing any more
    assert result == ApplyResult("applied", 1)
    assert [(event["change"], event["code"]) for event in world.announced()] == [("deleted", "SHIRT-1")]
    assert world.record("SHIRT-1").deleted
    stored = world.catalog.product("SHIRT-1")
    assert (stored.entity, stored.uses) == (None, frozenset())
    assert world.catalog.users(PIM_ID, "category:shirts") == []


# --- products that do not map -----------------------------------------------------------------------------


def test_a_nameless_product_is_dead_lettered_once_until_it_maps(world: World) -> None:
    # When a product is created with a price and no name
    first = world.apply(
        "product_created",
        "NONAME",
        product_created("NONAME", "SIMPLE-PRODUCT", "shirts"),
        value("price", 9.0),
    )

    # Then it is applied to the catalog but written nowhere, and dead-lettered with why
    assert first == ApplyResult("applied", 0)
    assert world.records.items == {}
    [letter] = world.dead_letters.documents()
    assert letter["reason"] == UNMAPPED.format(sku="NONAME")
    assert (letter["resource"], letter["run_id"], letter["connector"]) == (
        "products",
        "catalog-events",
        "pim",
    )
    assert letter["raw"]["sku"] == "NONAME"
    assert world.catalog.product("NONAME").unmapped is not None

    # When a second request changes its price and leaves it nameless
    world.clock.advance(minutes=1)
    second = world.apply("product_updated", "NONAME", value("price", 11.0, "product_value_changed"))

    # Then it is not dead-lettered again
    assert second == ApplyResult("applied", 0)
    assert len(world.dead_letters.bodies) == 1

    # When it is named at last, Then it is written and no longer marked unmapped
    world.clock.advance(minutes=1)
    third = world.apply("product_updated", "NONAME", value("name", "Named"))
    assert third == ApplyResult("applied", 1)
    assert world.record("NONAME").record["name"] == "Named"
    assert world.catalog.product("NONAME").unmapped is None
    assert len(world.dead_letters.bodies) == 1


def test_a_written_product_whose_name_is_removed_is_dead_lettered_once(world: World) -> None:
    # Given SHIRT-1 in the canonical catalog
    add_shirt(world)
    world.clock.advance(minutes=1)

    # When its name is removed
    result = world.apply("product_updated", "SHIRT-1", value_removed("name"))

    # Then it is not written, and dead-lettered once
    assert result == ApplyResult("applied", 0)
    assert [letter["reason"] for letter in world.dead_letters.documents()] == [UNMAPPED.format(sku="SHIRT-1")]


def test_a_request_that_no_longer_validates_is_dead_lettered(world: World) -> None:
    # Given a queued request whose event no schema accepts (a price as an object)
    message = world.message("product_created", "ODD-1", value("price", {"amount": 1}))

    # When it is applied
    result = world.service.apply(message, last_attempt=False)

    # Then it is dead-lettered with the refusal's path, and nothing is saved
    assert result.outcome == "dead_lettered"
    assert result.reason is not None
    assert result.reason.startswith(
        "the request no longer validates: $.synchronization.events[0].payload.value"
    )
    assert world.catalog.get(PIM_ID, "product", "ODD-1") is None
    assert len(world.dead_letters.bodies) == 1


# --- the integration -------------------------------------------------------------------------------------


@pytest.mark.parametrize("gone", ["removed", "disabled"])
def test_a_request_of_an_integration_that_is_no_longer_a_pim_source_is_skipped(
    world: World, gone: str
) -> None:
    # Given the integration removed, or disabled
    if gone == "removed":
        del world.integrations.items[PIM_ID]
    else:
        world.integrations.put(make_integration("pim", integration_id=PIM_ID, status="disabled"))
    saved_before = list(world.catalog.saved)

    # When a product request of it is applied
    result = world.apply("product_created", "SHIRT-1", product_created("SHIRT-1", "SIMPLE-PRODUCT", "shirts"))

    # Then it is skipped: nothing saved, written or dead-lettered
    assert result == ApplyResult(
        "skipped", reason="the integration is no longer an active catalog-events source"
    )
    assert world.catalog.saved == saved_before
    assert world.records.items == {}
    assert world.dead_letters.bodies == []
