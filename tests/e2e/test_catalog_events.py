"""A PIM's catalog events end to end: signed requests PUT to the CatalogEvents route, applied in order
per entity by CatalogApply from the FIFO queue, the catalog state compared with the PIM's own, the
canonical products checked by hand, and the products pushed into a sandbox store."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import jwt
import pytest

from mercator.cli import main
from mercator_sandbox.pim import demo_catalog, demo_edits
from tests.e2e.pim import APP_SECRET, INSTALLATION, PimWorld, pim_world

SIMPLE = [f"PIM-SKU-{number:03d}" for number in range(1, 11)]


def token(*, secret: str = APP_SECRET, synchronization: str = "sync-1", **claims: Any) -> str:
    return jwt.encode(
        {"app_installation_id": INSTALLATION, "synchronization_id": synchronization, **claims},
        secret,
        algorithm="HS256",
    )


def envelope(name: str, kind: str, entity: str, events: list[dict[str, Any]]) -> bytes:
    resource = {"attribute": "attribute_code", "category": "category_code", "product": "product_sku"}[kind]
    return json.dumps(
        {
            "name": name,
            "resource_id": {"id": entity, "type": resource},
            "synchronization": {"resource_customs": None, "events": events},
        }
    ).encode()


def variants_of(world: PimWorld) -> set[str]:
    return {sku for product in world.pim.snapshot()["products"].values() for sku in product["variants"]}


def test_the_demo_catalog_is_applied_as_the_pim_holds_it_and_becomes_canonical_products() -> None:
    with pim_world() as world:
        # Given the demo catalog built in the PIM
        demo_catalog(world.pim)

        # When the PIM sends it and Mercator applies it
        statuses = world.send()
        world.apply()

        # Then every request was accepted, and the catalog state is the PIM's, option for option
        assert set(statuses) == {202}
        assert world.catalog() == world.pim.snapshot()
        assert world.dead_letters() == []

        # And the canonical catalog holds each product sold on its own (not the tee's variants)
        canonical = world.canonical()
        expected = {*SIMPLE, "PIM-TEE", "PIM-GIFT-SET"}
        assert set(canonical) == expected
        assert not variants_of(world) & set(canonical)

        # And a simple product reads as the PIM holds it, in British English
        pim_product = world.pim.snapshot()["products"]["PIM-SKU-001"]
        record = canonical["PIM-SKU-001"]
        assert record["name"] == pim_product["values"]["name"]["en_GB"]
        assert record["unitPrice"] == pytest.approx(float(pim_product["values"]["price"]))
        assert record["quantity"] == pytest.approx(float(pim_product["values"]["stock"]))
        assert record["images"] == [image["url"] for image in pim_product["values"]["images"]]

        # And the variable product has the PIM's bindings as options and its variant products as variants
        tee = canonical["PIM-TEE"]
        assert [option["name"] for option in tee["options"]] == ["Colour", "Size"]
        pim_tee = world.pim.snapshot()["products"]["PIM-TEE"]
        assert {variant["sku"] for variant in tee["variants"]} == set(pim_tee["variants"])
        first = tee["variants"][0]
        chosen = pim_tee["variants"][first["sku"]]
        colour_names = world.pim.snapshot()["attributes"]["color"]["options"]
        assert {"name": "Colour", "value": colour_names[chosen["color"]]["en_GB"]} in first["options"]

        # And the grouping product lists its children with their quantities
        assert {(c["sku"], c["quantity"]) for c in canonical["PIM-GIFT-SET"]["components"]} == {
            ("PIM-SKU-007", 1),
            ("PIM-SKU-008", 2),
        }

        # And each product was announced once, as created; the tee's variant products, heard of as
        # products before the relations phase made them variants, were then announced deleted
        events = world.change_events()
        created = [event["code"] for event in events if event["change"] == "created"]
        deleted = [event["code"] for event in events if event["change"] == "deleted"]
        assert sorted(created) == sorted(expected | variants_of(world))
        assert sorted(deleted) == sorted(variants_of(world))


def test_shuffled_across_entities_and_duplicated_the_catalog_ends_the_same() -> None:
    with pim_world(shuffle=True, duplicate_rate=0.4, seed=23) as world:
        # Given the demo catalog sent with its entities interleaved and about 40 % of requests twice
        demo_catalog(world.pim)
        statuses = world.send()
        assert statuses.count(200) > 0, "some copies were sent"

        # When Mercator applies them (products that arrive before their attributes wait)
        world.apply()

        # Then the catalog is the PIM's, nothing was dead-lettered, and each product announced once
        assert world.catalog() == world.pim.snapshot()
        assert world.dead_letters() == []
        created = [event["code"] for event in world.change_events() if event["change"] == "created"]
        assert len(created) == len(set(created))
        assert set(world.canonical()) == {*SIMPLE, "PIM-TEE", "PIM-GIFT-SET"}


def test_edits_rename_option_codes_everywhere_and_announce_only_the_products_they_change() -> None:
    with pim_world() as world:
        demo_catalog(world.pim)
        world.send()
        world.apply()
        world.change_events()  # the first import's announcements

        # When the merchant edits: renames, prices, an option code, a stock, a category
        before_edits = world.pim.snapshot()
        demo_edits(world.pim)
        world.send()
        world.apply()

        # Then the catalog is the PIM's again, the renamed option code included everywhere it is used
        assert world.catalog() == world.pim.snapshot()
        # And only the products the edits changed were announced, as updated, each once: the two
        # renamed, the two repriced, the restocked, the one put in a category, and the products whose
        # option code changed (its code is no field of theirs, so they read the same: not announced)
        events = world.change_events()
        assert {event["change"] for event in events} == {"updated"}
        updated = [event["code"] for event in events]
        assert len(updated) == len(set(updated))
        assert set(updated) == edited_products(before_edits, world.pim.snapshot())
        assert world.dead_letters() == []


def edited_products(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """The products sold on their own whose names, prices, stock or categories differ: by hand from the
    PIM's two snapshots, not from Mercator. A variant's change shows on its variable product."""
    variants = {sku: parent for parent, p in after["products"].items() for sku in p["variants"]}
    changed = set()
    for sku, product in after["products"].items():
        old = before["products"].get(sku)
        shown = ("categories", "values.name", "values.price", "values.stock", "values.description")
        for field in shown:
            where, _, name = field.partition(".")
            if (product[where].get(name) if name else product[where]) != (
                old[where].get(name) if name else old[where]
            ):
                changed.add(variants.get(sku, sku))
    return changed


def test_a_refused_request_names_the_path_and_queues_nothing() -> None:
    with pim_world() as world:
        events = [
            {
                "type": "attribute_created",
                "payload": {
                    "code": "colour",
                    "type": "SELECTT",
                    "scope": "global",
                    "name": [{"language": "en_GB", "value": "Colour"}],
                },
            }
        ]

        # When an attribute arrives with a type outside the schema's enum
        answer = world.put(
            "attribute_created", envelope("attribute_created", "attribute", "colour", events), token()
        )

        # Then it is refused with the JSON path and the valid types, and nothing is queued
        assert answer.status_code == 400
        body = answer.json()
        assert body["path"] == "$.synchronization.events[0].payload.type"
        assert "SELECT" in body["valid"] and "TEXT_AREA" in body["valid"]
        assert world.stack.runner.depth("CatalogEventsQueue") == 0

        # When the detailed type is unknown
        unknown = [{"type": "attribute_exploded", "payload": {}}]
        answer = world.put(
            "attribute_updated", envelope("attribute_updated", "attribute", "colour", unknown), token()
        )
        assert answer.status_code == 400
        assert answer.json()["path"] == "$.synchronization.events[0].type"
        assert "attribute_option_code_changed" in answer.json()["valid"]

        # When the token is signed with another secret, or for another installation
        good = envelope(
            "category_created",
            "category",
            "shirts",
            [{"type": "category_created", "payload": {"code": "shirts", "name": []}}],
        )
        assert (
            world.put(
                "category_created", good, token(secret="another-secret-of-thirty-two-bytes!")
            ).status_code
            == 401
        )
        assert (
            world.put("category_created", good, token(app_installation_id="someone-else")).status_code == 401
        )
        assert world.stack.runner.depth("CatalogEventsQueue") == 0

        # And the same request, well signed, is accepted once and then answered as a duplicate
        assert world.put("category_created", good, token()).status_code == 202
        assert world.put("category_created", good, token()).json()["status"] == "duplicate"
        assert world.stack.runner.depth("CatalogEventsQueue") == 1


def test_a_product_whose_category_never_comes_is_dead_lettered_and_others_go_on() -> None:
    with pim_world() as world:
        orphan = envelope(
            "product_created",
            "product",
            "ORPHAN",
            [
                {
                    "type": "product_created",
                    "payload": {
                        "sku": "ORPHAN",
                        "type": "SIMPLE-PRODUCT",
                        "category_codes": ["never-created"],
                    },
                }
            ],
        )
        category = envelope(
            "category_created",
            "category",
            "shirts",
            [
                {
                    "type": "category_created",
                    "payload": {"code": "shirts", "name": [{"language": "en_GB", "value": "Shirts"}]},
                }
            ],
        )
        assert world.put("product_created", orphan, token()).status_code == 202
        assert world.put("category_created", category, token()).status_code == 202

        world.apply()

        letters = world.dead_letters()
        assert len(letters) == 1
        assert "never-created" in letters[0]["reason"] and letters[0]["event"] == "product_created"
        assert world.catalog()["categories"] == {"shirts": {"names": {"en_GB": "Shirts"}}}
        assert world.catalog()["products"] == {}


@pytest.mark.parametrize("flavor", ["shopify", "salla"])
def test_the_pim_catalog_reaches_the_store(flavor: Any) -> None:
    with pim_world(flavor) as world:
        demo_catalog(world.pim)
        world.send()
        world.apply()
        world.push()

        assert world.store is not None
        in_store = {str(product["sku"]): product for product in world.store.products()}
        for sku in SIMPLE:
            pim_product = world.pim.snapshot()["products"][sku]["values"]
            product = in_store[sku]
            assert product["name"] == pim_product["name"]["en_GB"]
            assert Decimal(str(product["price"])) == Decimal(str(pim_product["price"])).quantize(
                Decimal("0.01")
            )
        assert not variants_of(world) & set(in_store)
        assert world.stack.receive_all("PushDLQ") == []


def test_mercator_catalog_prints_the_catalog_the_events_built(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pim_world() as world:
        demo_catalog(world.pim)
        world.send()
        world.apply()
        for name, value in world.stack.environment("CatalogApplyFunction").items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()  # what the handlers printed

        # When the catalog is asked for as JSON, then as text
        assert main(["catalog", "--integration", world.integration_id, "--format", "json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert main(["catalog", "--integration", world.integration_id]) == 0
        text = capsys.readouterr().out

        # Then the JSON is the PIM's own catalog, and the text counts it
        assert printed == world.pim.snapshot()
        assert text.startswith("8 attributes (8 options), 3 categories, 15 products\n")
        tee = next(line for line in text.splitlines() if line.startswith("PIM-TEE "))
        assert tee.split() == ["PIM-TEE", "VARIABLE-PRODUCT", "shirts", "4", "3", "0"]

        # And without the environment it says what is missing
        monkeypatch.delenv("STATE_TABLE")
        assert main(["catalog", "--integration", world.integration_id]) == 1
        assert "STATE_TABLE" in capsys.readouterr().err
