"""DynamoCatalog on the state table (moto, built from template.yaml): a PIM's catalog entities written
conditionally on their version, the references that find a product, and the requests it accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mercator.pim.catalog_model import (
    CatalogAttribute,
    CatalogCategory,
    CatalogEntity,
    CatalogOption,
    CatalogProduct,
    EntityKind,
    StoredEntity,
    StoredValue,
    VersionConflictError,
)
from mercator.state.catalog_items import APPLIED_KEPT, DynamoCatalog
from tests.unit.state.conftest import TABLE

PIM = "pim-1"
AT = datetime(2026, 12, 1, 9, 30, 15, 250_000, tzinfo=UTC)  # milliseconds: what the table keeps

COLOR = CatalogAttribute(
    code="color",
    type="SELECT",
    scope="global",
    names={"en_GB": "Colour", "ar_SA": "اللون"},
    options={"o1": CatalogOption(code="red", names={"en_GB": "Red"})},
    next_option=2,
    deleted_options=["green"],
)
SHIRTS = CatalogCategory(code="shirts", names={"en_GB": "Shirts"})
TEE = CatalogProduct(
    sku="TEE",
    type="VARIABLE-PRODUCT",
    categories=["shirts"],
    values={
        "name": StoredValue(scope="local", value={"en_GB": "Tee"}),
        "price": StoredValue(scope="global", value=19.5),
    },
    bindings=["color"],
    variants={"TEE-RED": {"color": "o1"}},
    children={},
)


def new(kind: EntityKind, code: str) -> StoredEntity:
    """An entity never written, as CatalogApply starts from it."""
    return StoredEntity(kind=kind, code=code, entity=None, version=0, updated_at=None)


def written(catalog: DynamoCatalog, kind: EntityKind, code: str) -> StoredEntity:
    stored = catalog.get(PIM, kind, code)
    assert stored is not None, f"{kind} {code!r} is not in the catalog"
    return stored


@pytest.fixture
def catalog(dynamodb: Any, state_table: str) -> DynamoCatalog:
    return DynamoCatalog(dynamodb, state_table)


# --- entities -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "entity", "uses"),
    [
        ("attribute", "color", COLOR, None),
        ("category", "shirts", SHIRTS, None),
        ("product", "TEE", TEE, {"attribute:name", "attribute:price", "category:shirts", "variant:TEE-RED"}),
    ],
)
def test_an_entity_saved_is_read_back_whole(
    catalog: DynamoCatalog, kind: EntityKind, code: str, entity: CatalogEntity, uses: set[str] | None
) -> None:
    # Given an entity of each kind, saved once by request r1
    catalog.save(PIM, new(kind, code), entity, request_key="r1", at=AT, uses=uses)

    # When it is read
    stored = catalog.get(PIM, kind, code)

    # Then it comes back as saved: version 1, r1 applied, its time and references
    assert stored == StoredEntity(
        kind=kind,
        code=code,
        entity=entity,
        version=1,
        updated_at=AT,
        applied=("r1",),
        uses=frozenset(uses or ()),
        unmapped=None,
    )


def test_the_kinds_are_kept_apart_by_code(catalog: DynamoCatalog) -> None:
    # Given an attribute and a category both coded "shirts"
    attribute = CatalogAttribute(code="shirts", type="TEXT", scope="local")
    catalog.save(PIM, new("attribute", "shirts"), attribute, request_key="a", at=AT)
    catalog.save(PIM, new("category", "shirts"), SHIRTS, request_key="c", at=AT)

    # Then each reads as its own, and no product "shirts" exists
    assert written(catalog, "attribute", "shirts").entity == attribute
    assert written(catalog, "category", "shirts").entity == SHIRTS
    assert catalog.get(PIM, "product", "shirts") is None


def test_an_entity_of_another_integration_is_not_found(catalog: DynamoCatalog) -> None:
    catalog.save(PIM, new("category", "shirts"), SHIRTS, request_key="r1", at=AT)

    assert catalog.get("pim-2", "category", "shirts") is None


def test_get_many_reads_what_exists_in_batches_of_a_hundred(catalog: DynamoCatalog) -> None:
    # Given 105 categories and one product
    for index in range(105):
        code = f"c{index:03d}"
        catalog.save(PIM, new("category", code), CatalogCategory(code=code), request_key="r", at=AT)
    catalog.save(PIM, new("product", "TEE"), TEE, request_key="r", at=AT)

    # When all of them, a missing product, and one twice are asked for
    wanted: list[tuple[EntityKind, str]] = [("category", f"c{index:03d}") for index in range(105)]
    found = catalog.get_many(PIM, [*wanted, ("product", "TEE"), ("product", "NONE"), ("category", "c000")])

    # Then each existing one comes back by its kind and code, the missing one does not
    assert set(found) == {*wanted, ("product", "TEE")}
    assert found[("category", "c104")].entity == CatalogCategory(code="c104")
    assert found[("product", "TEE")].entity == TEE


def test_a_save_over_a_stale_version_is_refused_and_leaves_the_item(catalog: DynamoCatalog) -> None:
    # Given a category read at version 1, then written again by another request (version 2)
    catalog.save(PIM, new("category", "shirts"), SHIRTS, request_key="r1", at=AT)
    read = written(catalog, "category", "shirts")
    renamed = CatalogCategory(code="shirts", names={"en_GB": "Shirts & tops"})
    catalog.save(PIM, read, renamed, request_key="r2", at=AT + timedelta(seconds=1))

    # When a save from the version-1 read comes in
    # Then it is refused
    with pytest.raises(VersionConflictError):
        catalog.save(
            PIM, read, CatalogCategory(code="shirts"), request_key="r3", at=AT + timedelta(seconds=2)
        )

    # And the item is as the second write left it
    assert written(catalog, "category", "shirts") == StoredEntity(
        kind="category",
        code="shirts",
        entity=renamed,
        version=2,
        updated_at=AT + timedelta(seconds=1),
        applied=("r1", "r2"),
    )


def test_a_first_save_over_an_entity_written_meanwhile_is_refused(catalog: DynamoCatalog) -> None:
    # Given a category two requests both read as never written; the first saved it
    catalog.save(PIM, new("category", "shirts"), SHIRTS, request_key="r1", at=AT)

    # When the second saves from its read (version 0), Then it is refused
    with pytest.raises(VersionConflictError):
        catalog.save(PIM, new("category", "shirts"), CatalogCategory(code="shirts"), request_key="r2", at=AT)
    assert written(catalog, "category", "shirts").applied == ("r1",)


def test_the_applied_keys_are_capped_newest_kept(catalog: DynamoCatalog) -> None:
    # Given a category written by APPLIED_KEPT + 3 requests, r0 first
    for index in range(APPLIED_KEPT + 3):
        current = catalog.get(PIM, "category", "shirts") or new("category", "shirts")
        catalog.save(PIM, current, SHIRTS, request_key=f"r{index}", at=AT)

    # Then the last APPLIED_KEPT keys are kept, oldest first: r3 .. r34
    stored = written(catalog, "category", "shirts")
    assert APPLIED_KEPT == 32
    assert stored.applied == tuple(f"r{index}" for index in range(3, 35))
    assert stored.version == 35


def test_a_deleted_entity_is_kept_without_its_entity(catalog: DynamoCatalog) -> None:
    # Given a product saved, then deleted by a second request
    catalog.save(PIM, new("product", "TEE"), TEE, request_key="r1", at=AT, uses={"category:shirts"})
    later = AT + timedelta(minutes=1)
    catalog.save(PIM, written(catalog, "product", "TEE"), None, request_key="r2", at=later, uses=set())

    # Then it reads as deleted, at version 2, with no references
    assert written(catalog, "product", "TEE") == StoredEntity(
        kind="product", code="TEE", entity=None, version=2, updated_at=later, applied=("r1", "r2")
    )


def test_uses_are_kept_when_not_given_and_replaced_when_given(catalog: DynamoCatalog) -> None:
    # Given a product saved with two references
    catalog.save(
        PIM, new("product", "TEE"), TEE, request_key="r1", at=AT, uses={"category:shirts", "attribute:name"}
    )

    # When it is saved without uses, Then they are kept
    catalog.save(PIM, written(catalog, "product", "TEE"), TEE, request_key="r2", at=AT)
    assert written(catalog, "product", "TEE").uses == {"category:shirts", "attribute:name"}

    # When it is saved with other uses, Then they replace them
    catalog.save(
        PIM, written(catalog, "product", "TEE"), TEE, request_key="r3", at=AT, uses={"attribute:price"}
    )
    assert written(catalog, "product", "TEE").uses == {"attribute:price"}


# --- references ---------------------------------------------------------------------------------------


def test_link_adds_and_removes_the_products_a_reference_finds(catalog: DynamoCatalog) -> None:
    # Given two products in shirts, one of them also using the attribute name
    catalog.link(PIM, "SHIRT-1", added=["category:shirts", "attribute:name"], removed=[])
    catalog.link(PIM, "SHIRT-2", added=["category:shirts"], removed=[])
    assert catalog.users(PIM, "category:shirts") == ["SHIRT-1", "SHIRT-2"]
    assert catalog.users(PIM, "attribute:name") == ["SHIRT-1"]

    # When SHIRT-1 leaves shirts
    catalog.link(PIM, "SHIRT-1", added=[], removed=["category:shirts"])

    # Then shirts finds SHIRT-2 alone, and SHIRT-1 still uses name
    assert catalog.users(PIM, "category:shirts") == ["SHIRT-2"]
    assert catalog.users(PIM, "attribute:name") == ["SHIRT-1"]


def test_a_link_added_twice_counts_once_and_removing_an_absent_one_is_harmless(
    catalog: DynamoCatalog,
) -> None:
    catalog.link(PIM, "TEE", added=["variant:TEE-RED"], removed=[])
    catalog.link(PIM, "TEE", added=["variant:TEE-RED"], removed=["category:never-linked"])

    assert catalog.users(PIM, "variant:TEE-RED") == ["TEE"]
    assert catalog.users(PIM, "category:never-linked") == []


def test_references_are_kept_per_integration(catalog: DynamoCatalog) -> None:
    catalog.link(PIM, "SHIRT-1", added=["category:shirts"], removed=[])

    assert catalog.users("pim-2", "category:shirts") == []


# --- unmapped --------------------------------------------------------------------------------------------


def test_mark_unmapped_sets_and_clears_the_reason_without_a_version(catalog: DynamoCatalog) -> None:
    # Given a product saved once
    catalog.save(PIM, new("product", "TEE"), TEE, request_key="r1", at=AT)

    # When it is marked unmapped
    catalog.mark_unmapped(PIM, "TEE", "reason-hash-1")

    # Then it carries the reason, at the same version, its entity untouched
    stored = written(catalog, "product", "TEE")
    assert (stored.unmapped, stored.version, stored.entity) == ("reason-hash-1", 1, TEE)
    # And a save from that read still holds (no version moved), keeping the mark
    catalog.save(PIM, stored, TEE, request_key="r2", at=AT)
    assert written(catalog, "product", "TEE").unmapped == "reason-hash-1"

    # When it maps again, Then the mark is cleared
    catalog.mark_unmapped(PIM, "TEE", None)
    assert written(catalog, "product", "TEE").unmapped is None


# --- every ----------------------------------------------------------------------------------------------


def test_every_lists_all_entities_of_the_integration_deleted_ones_included(catalog: DynamoCatalog) -> None:
    # Given an attribute, a category, a live and a deleted product, with references and a request claimed
    catalog.save(PIM, new("attribute", "color"), COLOR, request_key="r1", at=AT)
    catalog.save(PIM, new("category", "shirts"), SHIRTS, request_key="r2", at=AT)
    catalog.save(PIM, new("product", "TEE"), TEE, request_key="r3", at=AT)
    catalog.save(PIM, new("product", "GONE"), None, request_key="r4", at=AT)
    catalog.link(PIM, "TEE", added=["category:shirts"], removed=[])
    catalog.claim_request(PIM, "key-1", AT, resend_after=timedelta(seconds=30))
    # And an entity of another integration
    catalog.save("pim-2", new("category", "shirts"), SHIRTS, request_key="r5", at=AT)

    # When every entity is listed
    listed = {(stored.kind, stored.code): stored.entity for stored in catalog.every(PIM)}

    # Then the four entities are, and nothing else
    assert listed == {
        ("attribute", "color"): COLOR,
        ("category", "shirts"): SHIRTS,
        ("product", "TEE"): TEE,
        ("product", "GONE"): None,
    }


# --- requests ---------------------------------------------------------------------------------------------


def test_a_request_is_new_then_pending_for_a_copy_then_sent(catalog: DynamoCatalog) -> None:
    resend = timedelta(seconds=30)

    # Given a request claimed for the first time
    assert catalog.claim_request(PIM, "key-1", AT, resend_after=resend) == "new"

    # When a copy comes 10 s later, Then it is pending
    assert catalog.claim_request(PIM, "key-1", AT + timedelta(seconds=10), resend_after=resend) == "pending"

    # When the first is queued, Then a copy finds it sent, even long after
    catalog.request_sent(PIM, "key-1", AT + timedelta(seconds=11))
    assert catalog.claim_request(PIM, "key-1", AT + timedelta(seconds=12), resend_after=resend) == "sent"
    assert catalog.claim_request(PIM, "key-1", AT + timedelta(hours=1), resend_after=resend) == "sent"

    # And another request of the same integration, or the same key of another, is new
    assert catalog.claim_request(PIM, "key-2", AT, resend_after=resend) == "new"
    assert catalog.claim_request("pim-2", "key-1", AT, resend_after=resend) == "new"


def test_a_pending_claim_older_than_resend_after_is_taken_over(catalog: DynamoCatalog) -> None:
    resend = timedelta(seconds=30)
    # Given a request claimed at AT whose sender stopped before queuing it
    catalog.claim_request(PIM, "key-1", AT, resend_after=resend)

    # When a copy comes exactly 30 s later, Then it is still pending
    assert catalog.claim_request(PIM, "key-1", AT + resend, resend_after=resend) == "pending"

    # When one comes 31 s later, Then it takes the claim over
    taken_at = AT + timedelta(seconds=31)
    assert catalog.claim_request(PIM, "key-1", taken_at, resend_after=resend) == "new"
    # And the claim counts from then: a copy 10 s later is pending again
    assert (
        catalog.claim_request(PIM, "key-1", taken_at + timedelta(seconds=10), resend_after=resend)
        == "pending"
    )


def test_a_claimed_request_expires_after_seven_days(catalog: DynamoCatalog, dynamodb: Any) -> None:
    # Given a request claimed at AT
    catalog.claim_request(PIM, "key-1", AT, resend_after=timedelta(seconds=30))

    # Then its item is pending since AT and expires 7 days later
    item = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"CATALOGREQ#{PIM}"}, "sk": {"S": "key-1"}}, ConsistentRead=True
    )["Item"]
    assert item["state"] == {"S": "pending"}
    assert int(item["at"]["N"]) == int(AT.timestamp() * 1000)
    assert int(item["ttl"]["N"]) == int((AT + timedelta(days=7)).timestamp())
