"""The sandbox PIM: the detailed events it queues, the synchronization it sends, its token and knobs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import fastjsonschema
import httpx
import jwt
import pytest

from mercator_sandbox.pim import CatalogRequest, PimConfig, SandboxPim, demo_catalog, demo_edits
from tests.unit.pim.reference import DETAILED_TYPES

# PyJWT warns about HMAC keys under 32 bytes; a realistic shared secret is longer anyway.
SECRET = "pim-sandbox-shared-secret-0123456789"
URL = "http://mercator.test/pim/pim-demo"
SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "mercator" / "pim" / "schemas"
NOW = 1_750_000_000.0

ALL_DETAILED_TYPES = set(DETAILED_TYPES)


def make_pim(clock: Callable[[], float] = lambda: NOW, **knobs: Any) -> SandboxPim:
    return SandboxPim(PimConfig(secret=SECRET, installation_id="inst-42", url=URL, **knobs), clock=clock)


def small_catalog(pim: SandboxPim) -> None:
    pim.create_attribute("name", "TEXT", "local", {"en_GB": "Name"})
    pim.create_attribute("size", "SELECT", "global", {"en_GB": "Size"})
    pim.add_option("size", "m", {"en_GB": "Medium"})
    pim.add_option("size", "l", {"en_GB": "Large"})
    pim.create_category("shirts", {"en_GB": "Shirts"})


def every_event_type(pim: SandboxPim) -> list[CatalogRequest]:
    """Two synchronizations that between them send every one of the 21 detailed event types."""
    demo_catalog(pim)
    requests = pim.synchronize()
    demo_edits(pim)
    pim.rename_attribute("price", {"en_GB": "Retail price"})
    pim.rename_option("color", "red", {"en_GB": "Scarlet"})
    pim.add_option("material", "wool", {"en_GB": "Wool"})
    pim.delete_option("material", "wool")
    pim.rename_category("trousers", {"ar_SA": "سراويل"})
    pim.remove_value("PIM-SKU-006", "material")
    pim.remove_from_category("PIM-SKU-006", "trousers")
    pim.remove_variant("PIM-TEE", "PIM-TEE-BLACK-S")
    pim.remove_variant("PIM-TEE", "PIM-TEE-BLUE-L")
    pim.remove_variant("PIM-TEE", "PIM-TEE-RED-M")
    pim.remove_binding("PIM-TEE", "size")
    pim.set_child_quantity("PIM-GIFT-SET", "PIM-SKU-008", 3)
    pim.remove_child("PIM-GIFT-SET", "PIM-SKU-007")
    return requests + pim.synchronize()


# -- the detailed events ----------------------------------------------------------------------------


def test_emitted_events_validate_against_the_reference_schemas() -> None:
    requests = every_event_type(make_pim())
    events = [event for request in requests for event in request.events]
    assert {event["type"] for event in events} == ALL_DETAILED_TYPES

    missing = sorted(kind for kind in ALL_DETAILED_TYPES if not (SCHEMAS / f"{kind}.json").is_file())
    if missing:
        pytest.skip(f"no generated schema in {SCHEMAS} for {', '.join(missing)}")
    validators = {
        kind: fastjsonschema.compile(json.loads((SCHEMAS / f"{kind}.json").read_text()))
        for kind in ALL_DETAILED_TYPES
    }
    for event in events:
        validators[event["type"]](event)
    envelope = SCHEMAS / "envelope.json"
    if envelope.is_file():
        validate_envelope = fastjsonschema.compile(json.loads(envelope.read_text()))
        for request in requests:
            validate_envelope(request.envelope)


def test_value_shapes_per_type_and_scope() -> None:
    pim = make_pim()
    pim.create_attribute("color", "SELECT", "global", {"en_GB": "Colour"})
    pim.add_option("color", "red", {"en_GB": "Red"})
    pim.create_attribute("tags", "MULTI_SELECT", "global", {"en_GB": "Tags"})
    pim.add_option("tags", "new", {"en_GB": "New"})
    pim.add_option("tags", "sale", {"en_GB": "Sale"})
    pim.create_attribute("weight", "UNIT", "global", {"en_GB": "Weight"})
    pim.create_attribute("launch", "DATE", "global", {"en_GB": "Launch"})
    pim.create_attribute("hero", "IMAGE", "global", {"en_GB": "Hero image"})
    pim.create_attribute("manual", "FILE", "global", {"en_GB": "Manual"})
    pim.create_attribute("related", "PRODUCT_RELATION", "global", {"en_GB": "Related"})
    pim.create_attribute("title", "TEXT", "local", {"en_GB": "Title", "ar_SA": "العنوان"})
    pim.create_product("A", "SIMPLE-PRODUCT")
    pim.synchronize()
    values = {
        "color": "red",
        "tags": ["sale", "new"],
        "weight": 1.25,
        "launch": "2025-03-01",
        "hero": {"url": "https://cdn.test/B/hero.jpg", "path": "B/hero.jpg"},
        "manual": [{"url": "https://cdn.test/B/manual.pdf", "path": "B/manual.pdf"}],
        "related": ["A"],
        "title": {"en_GB": "Bag", "ar_SA": "حقيبة"},
    }
    pim.create_product("B", "SIMPLE-PRODUCT", [], values)
    (request,) = pim.synchronize()
    assert request.name == "product_created"
    assert request.events == [
        {"type": "product_created", "payload": {"sku": "B", "type": "SIMPLE-PRODUCT", "category_codes": []}},
        {
            "type": "product_value_added",
            "payload": {
                "attribute_code": "color",
                "attribute_type": "SELECT",
                "attribute_scope": "global",
                "value": "red",
            },
        },
        {
            "type": "product_value_added",
            "payload": {
                "attribute_code": "tags",
                "attribute_type": "MULTI_SELECT",
                "attribute_scope": "global",
                "value": ["sale", "new"],
            },
        },
        {
            "type": "product_value_added",
            "payload": {
                "attribute_code": "weight",
                "attribute_type": "UNIT",
                "attribute_scope": "global",
                "value": 1.25,
            },
        },
        {
            "type": "product_value_added",
            "payload": {
                "attribute_code": "launch",
                "attribute_type": "DATE",
                "attribute_scope": "global",
                "value": "2025-03-01",
            },
        },
        {
            "type": "product_value_added",
            "payload": {
                "attribute_code": "hero",
                "attribute_type": "IMAGE",
                "attribute_scope": "global",
                "value": {"url": "https://cdn.test/B/hero.jpg", "path": "B/hero.jpg"},
            },
        },
        {
            "type": "product_value_added",
            "payload": {
                "attribute_code": "manual",
                "attribute_type": "FILE",
                "attribute_scope": "global",
                "value": [{"url": "https://cdn.test/B/manual.pdf", "path": "B/manual.pdf"}],
            },
        },
        {
            "type": "product_value_added",
            "payload": {
                "attribute_code": "related",
                "attribute_type": "PRODUCT_RELATION",
                "attribute_scope": "global",
                "value": ["A"],
            },
        },
        {
            "type": "product_value_added",
            "payload": {
                "attribute_code": "title",
                "attribute_type": "TEXT",
                "attribute_scope": "local",
                "value": [{"language": "en_GB", "value": "Bag"}, {"language": "ar_SA", "value": "حقيبة"}],
            },
        },
    ]
    assert pim.snapshot()["products"]["B"]["values"] == values


def test_set_value_adds_then_changes_and_a_local_value_keeps_other_languages() -> None:
    pim = make_pim()
    small_catalog(pim)
    pim.create_product("S", "SIMPLE-PRODUCT", ["shirts"])
    pim.synchronize()
    pim.set_value("S", "name", {"en_GB": "Shirt", "ar_SA": "قميص"})
    pim.set_value("S", "name", {"en_GB": "Oxford Shirt"})
    pim.set_value("S", "name", {"en_GB": "Oxford Shirt"})  # no change, no event
    pim.set_value("S", "size", "m")
    pim.remove_value("S", "size")
    (request,) = pim.synchronize()
    assert request.name == "product_updated"
    assert [event["type"] for event in request.events] == [
        "product_value_added",
        "product_value_changed",
        "product_value_added",
        "product_value_removed",
    ]
    assert request.events[1]["payload"]["value"] == [
        {"language": "en_GB", "value": "Oxford Shirt"},
        {"language": "ar_SA", "value": "قميص"},
    ]
    assert request.events[3] == {
        "type": "product_value_removed",
        "payload": {"attribute_code": "size", "attribute_type": "SELECT"},
    }
    assert pim.snapshot()["products"]["S"]["values"] == {"name": {"en_GB": "Oxford Shirt", "ar_SA": "قميص"}}


def test_an_event_keeps_what_was_sent_when_the_product_changes_later() -> None:
    pim = make_pim()
    small_catalog(pim)
    pim.create_category("sale", {"en_GB": "Sale"})
    pim.create_product("S", "SIMPLE-PRODUCT", ["shirts"])
    pim.add_to_category("S", "sale")
    pim.remove_from_category("S", "shirts")
    request = pim.synchronize()[-1]
    assert request.events == [
        {
            "type": "product_created",
            "payload": {"sku": "S", "type": "SIMPLE-PRODUCT", "category_codes": ["shirts"]},
        },
        {"type": "product_added_to_category", "payload": {"category_code": "sale"}},
        {"type": "product_removed_from_category", "payload": {"category_code": "shirts"}},
    ]
    assert pim.snapshot()["products"]["S"]["categories"] == ["sale"]


def test_attribute_and_category_events_shaped_as_the_reference() -> None:
    pim = make_pim()
    small_catalog(pim)
    pim.synchronize()
    pim.rename_attribute("size", {"ar_SA": "المقاس"})
    pim.rename_option("size", "m", {"en_GB": "Medium size"})
    pim.change_option_code("size", "l", "large")
    pim.delete_option("size", "large")
    pim.rename_category("shirts", {"en_GB": "Shirts & tops"})
    size, shirts = pim.synchronize()
    assert (size.name, size.entity_id, shirts.name, shirts.entity_id) == (
        "attribute_updated",
        "size",
        "category_updated",
        "shirts",
    )
    assert size.events == [
        {
            "type": "attribute_name_changed",
            "payload": {
                "name": [{"language": "en_GB", "value": "Size"}, {"language": "ar_SA", "value": "المقاس"}]
            },
        },
        {
            "type": "attribute_option_name_changed",
            "payload": {"option_code": "m", "option_name": [{"language": "en_GB", "value": "Medium size"}]},
        },
        {
            "type": "attribute_option_code_changed",
            "payload": {"option_code": "large", "previous_option_code": "l"},
        },
        {"type": "attribute_option_deleted", "payload": {"option_code": "large"}},
    ]
    assert shirts.events == [
        {
            "type": "category_name_changed",
            "payload": {"code": "shirts", "name": [{"language": "en_GB", "value": "Shirts & tops"}]},
        }
    ]


# -- the synchronization ----------------------------------------------------------------------------


def test_synchronize_orders_kinds_and_sends_relations_last_under_one_synchronization_id() -> None:
    pim = make_pim()
    demo_catalog(pim)
    requests = pim.synchronize()
    assert [(request.name, request.entity_id) for request in requests] == [
        ("attribute_created", "name"),
        ("attribute_created", "description"),
        ("attribute_created", "price"),
        ("attribute_created", "stock"),
        ("attribute_created", "images"),
        ("attribute_created", "color"),
        ("attribute_created", "size"),
        ("attribute_created", "material"),
        ("category_created", "shirts"),
        ("category_created", "trousers"),
        ("category_created", "accessories"),
        *[("product_created", f"PIM-SKU-{n:03}") for n in range(1, 11)],
        ("product_created", "PIM-TEE-RED-M"),
        ("product_created", "PIM-TEE-BLUE-L"),
        ("product_created", "PIM-TEE-BLACK-S"),
        ("product_created", "PIM-TEE"),
        ("product_created", "PIM-GIFT-SET"),
        ("product_updated", "PIM-TEE"),
        ("product_updated", "PIM-GIFT-SET"),
    ]
    assert {request.synchronization_id for request in requests} == {requests[0].synchronization_id}
    assert [event["type"] for event in requests[24].events] == [
        "product_created",
        "product_value_added",
        "product_value_added",
        "product_value_added",
        "product_value_added",
        "product_binding_added",
        "product_binding_added",
    ]
    assert requests[26].events == [
        {
            "type": "product_variant_added",
            "payload": {
                "variant_sku": "PIM-TEE-RED-M",
                "binding_values": [
                    {
                        "attribute_code": "color",
                        "attribute_type": "SELECT",
                        "attribute_scope": "global",
                        "value": "red",
                    },
                    {
                        "attribute_code": "size",
                        "attribute_type": "SELECT",
                        "attribute_scope": "global",
                        "value": "m",
                    },
                ],
            },
        },
        {
            "type": "product_variant_added",
            "payload": {
                "variant_sku": "PIM-TEE-BLUE-L",
                "binding_values": [
                    {
                        "attribute_code": "color",
                        "attribute_type": "SELECT",
                        "attribute_scope": "global",
                        "value": "blue",
                    },
                    {
                        "attribute_code": "size",
                        "attribute_type": "SELECT",
                        "attribute_scope": "global",
                        "value": "l",
                    },
                ],
            },
        },
        {
            "type": "product_variant_added",
            "payload": {
                "variant_sku": "PIM-TEE-BLACK-S",
                "binding_values": [
                    {
                        "attribute_code": "color",
                        "attribute_type": "SELECT",
                        "attribute_scope": "global",
                        "value": "black",
                    },
                    {
                        "attribute_code": "size",
                        "attribute_type": "SELECT",
                        "attribute_scope": "global",
                        "value": "s",
                    },
                ],
            },
        },
    ]
    assert requests[27].events == [
        {"type": "product_child_added", "payload": {"child_sku": "PIM-SKU-007", "child_quantity": 1}},
        {"type": "product_child_added", "payload": {"child_sku": "PIM-SKU-008", "child_quantity": 2}},
    ]
    assert pim.synchronize() == []  # everything pending was sent


def test_each_synchronization_has_its_own_id_and_the_envelope_is_exact() -> None:
    pim = make_pim()
    pim.create_category("shirts", {"en_GB": "Shirts", "ar_SA": "قمصان"})
    (first,) = pim.synchronize()
    pim.rename_category("shirts", {"en_GB": "Tops"})
    (second,) = pim.synchronize()
    assert first.synchronization_id != second.synchronization_id
    assert uuid.UUID(first.synchronization_id).version == 4
    assert (first.path, first.kind, first.entity_id) == ("/consume/category_created", "category", "shirts")
    assert (
        first.body
        == (
            '{"name":"category_created","resource_id":{"id":"shirts","type":"category_code"},'
            '"synchronization":{"resource_customs":null,"events":[{"type":"category_created","payload":'
            '{"code":"shirts","name":[{"language":"en_GB","value":"Shirts"},{"language":"ar_SA","value":"قمصان"}]}}]}}'
        ).encode()
    )


def test_deletions_come_after_their_kind_with_no_events_and_drop_what_was_queued() -> None:
    pim = make_pim()
    small_catalog(pim)
    pim.create_attribute("old", "TEXT", "global", {"en_GB": "Old"})
    pim.create_category("sale", {"en_GB": "Sale"})
    pim.create_product("GONE", "SIMPLE-PRODUCT", ["sale"])
    pim.create_product("KEPT", "SIMPLE-PRODUCT")
    pim.synchronize()
    pim.rename_attribute("old", {"en_GB": "Older"})
    pim.set_value("GONE", "size", "m")
    pim.delete_attribute("old")
    pim.delete_product("GONE")
    pim.delete_category("sale")
    pim.rename_category("shirts", {"en_GB": "Tops"})
    pim.set_value("KEPT", "size", "l")
    requests = pim.synchronize()
    assert [(request.name, request.entity_id, request.events) for request in requests] == [
        ("attribute_deleted", "old", []),
        (
            "category_updated",
            "shirts",
            [
                {
                    "type": "category_name_changed",
                    "payload": {"code": "shirts", "name": [{"language": "en_GB", "value": "Tops"}]},
                }
            ],
        ),
        ("category_deleted", "sale", []),
        (
            "product_updated",
            "KEPT",
            [
                {
                    "type": "product_value_added",
                    "payload": {
                        "attribute_code": "size",
                        "attribute_type": "SELECT",
                        "attribute_scope": "global",
                        "value": "l",
                    },
                }
            ],
        ),
        ("product_deleted", "GONE", []),
    ]
    assert requests[0].envelope == {
        "name": "attribute_deleted",
        "resource_id": {"id": "old", "type": "attribute_code"},
        "synchronization": {"resource_customs": None, "events": []},
    }
    snapshot = pim.snapshot()
    assert (
        "old" in snapshot["attributes"],
        "sale" in snapshot["categories"],
        "GONE" in snapshot["products"],
    ) == (
        False,
        False,
        False,
    )


# -- option codes -----------------------------------------------------------------------------------


def test_changing_an_option_code_renames_it_everywhere_in_the_pim_and_sends_no_product_event() -> None:
    pim = make_pim()
    demo_catalog(pim)
    pim.create_attribute("fit", "MULTI_SELECT", "local", {"en_GB": "Fit"})
    pim.add_option("fit", "m", {"en_GB": "Regular"})
    pim.add_option("fit", "slim", {"en_GB": "Slim"})
    pim.set_value("PIM-SKU-001", "fit", {"en_GB": ["m", "slim"], "ar_SA": ["m"]})
    pim.synchronize()

    summary = demo_edits(pim)
    assert summary == {
        "renamed": 2,
        "repriced": 2,
        "option_codes_changed": 1,
        "restocked": 1,
        "categorised": 1,
        "events": 7,
    }
    pim.change_option_code("material", "linen", "pure-linen")
    pim.change_option_code("fit", "m", "regular")
    requests = pim.synchronize()
    assert [(request.name, request.entity_id) for request in requests] == [
        ("attribute_updated", "size"),
        ("attribute_updated", "material"),
        ("attribute_updated", "fit"),
        ("product_updated", "PIM-SKU-001"),
        ("product_updated", "PIM-SKU-004"),
        ("product_updated", "PIM-SKU-002"),
        ("product_updated", "PIM-SKU-005"),
        ("product_updated", "PIM-SKU-003"),
        ("product_updated", "PIM-SKU-010"),
    ]
    assert requests[0].events == [
        {
            "type": "attribute_option_code_changed",
            "payload": {"option_code": "medium", "previous_option_code": "m"},
        }
    ]
    # The products changed only by the renames (PIM-TEE, PIM-TEE-RED-M, PIM-SKU-009) are not sent.
    product_events = [event for request in requests[3:] for event in request.events]
    assert all(
        "medium" not in json.dumps(event) and "linen" not in json.dumps(event) for event in product_events
    )

    snapshot = pim.snapshot()
    assert list(snapshot["attributes"]["size"]["options"]) == ["s", "medium", "l"]
    assert snapshot["attributes"]["size"]["options"]["medium"] == {"en_GB": "Medium", "ar_SA": "متوسط"}
    assert snapshot["products"]["PIM-TEE-RED-M"]["values"]["size"] == "medium"
    assert snapshot["products"]["PIM-TEE"]["variants"] == {
        "PIM-TEE-RED-M": {"color": "red", "size": "medium"},
        "PIM-TEE-BLUE-L": {"color": "blue", "size": "l"},
        "PIM-TEE-BLACK-S": {"color": "black", "size": "s"},
    }
    assert snapshot["products"]["PIM-SKU-009"]["values"]["material"] == ["cotton", "pure-linen"]
    assert snapshot["products"]["PIM-SKU-002"]["values"]["material"] == ["pure-linen"]
    assert snapshot["products"]["PIM-SKU-001"]["values"]["fit"] == {
        "en_GB": ["regular", "slim"],
        "ar_SA": ["regular"],
    }
    assert snapshot["products"]["PIM-SKU-001"]["values"]["name"] == {
        "en_GB": "Oxford Button-Down Shirt",
        "ar_SA": "قميص أكسفورد",
    }


def test_product_events_still_queued_carry_the_new_option_code() -> None:
    # They are sent after the attribute's request, when the consumer knows only the new code.
    pim = make_pim()
    small_catalog(pim)
    pim.create_attribute("color", "SELECT", "global", {"en_GB": "Colour"})
    pim.add_option("color", "red", {"en_GB": "Red"})
    pim.create_product("V", "SIMPLE-PRODUCT", [], {"size": "m", "color": "red"})
    pim.create_product("P", "VARIABLE-PRODUCT")
    pim.add_binding("P", "size")
    pim.add_variant("P", "V")
    pim.change_option_code("size", "m", "medium")
    requests = pim.synchronize()
    events = {(request.entity_id, request.name): request.events for request in requests}
    assert events["V", "product_created"][1]["payload"]["value"] == "medium"
    assert events["P", "product_updated"][0]["payload"]["binding_values"] == [
        {"attribute_code": "size", "attribute_type": "SELECT", "attribute_scope": "global", "value": "medium"}
    ]


# -- refusals ---------------------------------------------------------------------------------------


def refusals() -> dict[str, Callable[[SandboxPim], None]]:
    return {
        "option on a TEXT attribute": lambda pim: pim.add_option("title", "x", {"en_GB": "X"}),
        "unknown attribute type": lambda pim: pim.create_attribute("x", "COLOUR", "global", {"en_GB": "X"}),
        "unknown scope": lambda pim: pim.create_attribute("x", "TEXT", "regional", {"en_GB": "X"}),
        "attribute twice": lambda pim: pim.create_attribute("size", "TEXT", "global", {"en_GB": "X"}),
        "no names": lambda pim: pim.create_category("x", {}),
        "option twice": lambda pim: pim.add_option("size", "m", {"en_GB": "M"}),
        "rename to a taken code": lambda pim: pim.change_option_code("size", "m", "l"),
        "unknown option": lambda pim: pim.rename_option("size", "xl", {"en_GB": "XL"}),
        "option in use": lambda pim: pim.delete_option("size", "m"),
        "attribute in use": lambda pim: pim.delete_attribute("size"),
        "category in use": lambda pim: pim.delete_category("shirts"),
        "unknown product type": lambda pim: pim.create_product("x", "BUNDLE"),
        "unknown category": lambda pim: pim.create_product("x", "SIMPLE-PRODUCT", ["hats"]),
        "sku twice": lambda pim: pim.create_product("V1", "SIMPLE-PRODUCT"),
        "value not an option": lambda pim: pim.set_value("S", "size", "xl"),
        "number for TEXT": lambda pim: pim.set_value("S", "title", {"en_GB": 5}),
        "bare value on a local attribute": lambda pim: pim.set_value("S", "title", "Shirt"),
        "string for PRICE": lambda pim: pim.set_value("S", "price", "9.99"),
        "bool for PRICE": lambda pim: pim.set_value("S", "price", True),
        "not a date": lambda pim: pim.set_value("S", "launch", "01/03/2025"),
        "relation to an unknown product": lambda pim: pim.set_value("S", "related", ["NOPE"]),
        "image without a path": lambda pim: pim.set_value("S", "hero", {"url": "https://cdn.test/a.jpg"}),
        "remove an absent value": lambda pim: pim.remove_value("S", "price"),
        "category twice": lambda pim: pim.add_to_category("S", "shirts"),
        "binding on a simple product": lambda pim: pim.add_binding("S", "size"),
        "binding on a TEXT attribute": lambda pim: pim.add_binding("P", "title"),
        "binding while there are variants": lambda pim: pim.add_binding("P", "color"),
        "remove a binding with variants": lambda pim: pim.remove_binding("P", "size"),
        "variant of a grouping product": lambda pim: pim.add_variant("G", "V2"),
        "variant without the bound value": lambda pim: pim.add_variant("P", "S"),
        "variant with the same binding values": lambda pim: pim.add_variant("P", "TWIN"),
        "a variable product as a variant": lambda pim: pim.add_variant("P", "P"),
        "change a variant's bound value": lambda pim: pim.set_value("V1", "size", "l"),
        "delete a variant": lambda pim: pim.delete_product("V1"),
        "child of a variable product": lambda pim: pim.add_child("P", "S", 1),
        "zero quantity": lambda pim: pim.add_child("G", "S", 0),
        "child twice": lambda pim: pim.add_child("G", "V2", 1),
        "group in a group": lambda pim: pim.add_child("G", "G", 1),
        "quantity of a non-child": lambda pim: pim.set_child_quantity("G", "S", 2),
        "delete a child": lambda pim: pim.delete_product("V2"),
        "recreate what was deleted": lambda pim: pim.create_category("old", {"en_GB": "Old"}),
    }


@pytest.mark.parametrize("case", list(refusals()))
def test_invalid_operations_raise_and_change_nothing(case: str) -> None:
    pim = make_pim()
    small_catalog(pim)
    pim.create_attribute("title", "TEXT", "local", {"en_GB": "Title"})
    pim.create_attribute("price", "PRICE", "global", {"en_GB": "Price"})
    pim.create_attribute("launch", "DATE", "global", {"en_GB": "Launch"})
    pim.create_attribute("related", "PRODUCT_RELATION", "global", {"en_GB": "Related"})
    pim.create_attribute("hero", "IMAGE", "global", {"en_GB": "Hero"})
    pim.create_attribute("color", "SELECT", "global", {"en_GB": "Colour"})
    pim.create_category("old", {"en_GB": "Old"})
    pim.create_product("S", "SIMPLE-PRODUCT", ["shirts"])
    pim.create_product("V1", "SIMPLE-PRODUCT", [], {"size": "m"})
    pim.create_product("V2", "SIMPLE-PRODUCT", [], {"size": "l"})
    pim.create_product("TWIN", "SIMPLE-PRODUCT", [], {"size": "m"})
    pim.create_product("P", "VARIABLE-PRODUCT")
    pim.add_binding("P", "size")
    pim.add_variant("P", "V1")
    pim.create_product("G", "GROUPING-PRODUCT")
    pim.add_child("G", "V2", 1)
    pim.delete_category("old")
    before, pending = pim.snapshot(), pim.pending_events

    with pytest.raises(ValueError):
        refusals()[case](pim)
    assert pim.snapshot() == before
    assert pim.pending_events == pending


# -- the token --------------------------------------------------------------------------------------


def test_the_token_verifies_with_the_secret_and_carries_the_claims() -> None:
    issued = time.time()
    pim = make_pim(clock=lambda: issued)
    small_catalog(pim)
    requests = pim.synchronize()
    assert {request.token for request in requests} == {requests[0].token}
    claims = jwt.decode(requests[0].token, SECRET, algorithms=["HS256"])
    assert claims == {
        "app_installation_id": "inst-42",
        "synchronization_id": requests[0].synchronization_id,
        "iat": int(issued),
        "nbf": int(issued),
        "exp": int(issued) + 300,
    }
    assert jwt.get_unverified_header(requests[0].token)["alg"] == "HS256"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(requests[0].token, "another-secret-of-at-least-32-bytes!", algorithms=["HS256"])


def test_a_token_issued_long_ago_has_expired() -> None:
    pim = make_pim(clock=lambda: time.time() - 400)
    pim.create_category("shirts", {"en_GB": "Shirts"})
    (request,) = pim.synchronize()
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(request.token, SECRET, algorithms=["HS256"])


def test_token_signs_the_claims_given() -> None:
    pim = make_pim()
    token = pim.token({"app_installation_id": "inst-42", "iat": 1, "nbf": 1, "exp": 301})
    assert jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False}) == {
        "app_installation_id": "inst-42",
        "iat": 1,
        "nbf": 1,
        "exp": 301,
    }


# -- delivery ---------------------------------------------------------------------------------------


class Recorder:
    """An app behind an httpx.MockTransport that keeps what it was sent."""

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json={"status": "accepted"})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


@pytest.mark.anyio
async def test_deliver_puts_each_request_with_its_token() -> None:
    pim = make_pim()
    small_catalog(pim)
    requests = pim.synchronize()
    recorder = Recorder()
    async with recorder.client() as client:
        statuses = await pim.deliver(requests, client)
    assert statuses == [202, 202, 202]
    assert [(sent.method, str(sent.url)) for sent in recorder.requests] == [
        ("PUT", "http://mercator.test/pim/pim-demo/consume/attribute_created"),
        ("PUT", "http://mercator.test/pim/pim-demo/consume/attribute_created"),
        ("PUT", "http://mercator.test/pim/pim-demo/consume/category_created"),
    ]
    for sent, request in zip(recorder.requests, requests, strict=True):
        assert sent.headers["X-APP-TOKEN"] == request.token
        assert sent.headers["Content-Type"] == "application/json"
        assert sent.content == request.body


@pytest.mark.anyio
async def test_handshake_posts_the_shared_secret() -> None:
    pim = make_pim(clock=time.time)
    recorder = Recorder(status=200)
    async with recorder.client() as client:
        assert await pim.handshake(client) == 200
    (sent,) = recorder.requests
    assert (sent.method, str(sent.url)) == ("POST", "http://mercator.test/pim/pim-demo/handshake")
    assert json.loads(sent.content) == {"shared_secret": SECRET}
    assert sent.headers["Content-Type"] == "application/json"
    assert (
        jwt.decode(sent.headers["X-APP-TOKEN"], SECRET, algorithms=["HS256"])["app_installation_id"]
        == "inst-42"
    )


def backlog(pim: SandboxPim) -> list[CatalogRequest]:
    """Three synchronizations over 40 products and a few attributes: many entities, several requests each."""
    pim.create_attribute("stock", "NUMERIC", "global", {"en_GB": "Stock"})
    pim.create_category("all", {"en_GB": "All"})
    requests: list[CatalogRequest] = []
    for n in range(40):
        pim.create_product(f"P{n:02}", "SIMPLE-PRODUCT", [], {"stock": n})
    requests += pim.synchronize()
    for round_ in (1, 2):
        pim.rename_attribute("stock", {"en_GB": f"Stock {round_}"})
        for n in range(40):
            pim.set_value(f"P{n:02}", "stock", n + 100 * round_)
        requests += pim.synchronize()
    return requests


def entity_order(requests: list[CatalogRequest]) -> dict[tuple[str, str], list[bytes]]:
    order: dict[tuple[str, str], list[bytes]] = {}
    for request in requests:
        order.setdefault((request.kind, request.entity_id), []).append(request.body)
    return order


@pytest.mark.anyio
async def test_shuffle_interleaves_entities_but_keeps_each_entitys_order() -> None:
    pim = make_pim(shuffle=True, seed=7)
    requests = backlog(pim)
    assert len(requests) == 2 + 40 + 2 * 41
    recorder = Recorder()
    async with recorder.client() as client:
        statuses = await pim.deliver(requests, client)
    assert statuses == [202] * len(requests)
    sent = [request.content for request in recorder.requests]
    assert sent != [request.body for request in requests]
    assert sorted(sent) == sorted(request.body for request in requests)
    by_body = {request.body: request for request in requests}
    assert entity_order([by_body[body] for body in sent]) == entity_order(requests)
    # Across entities and across synchronizations: some later request of one entity overtakes an
    # earlier request of another.
    position = {body: index for index, body in enumerate(sent)}
    assert any(
        position[later.body] < position[earlier.body]
        for earlier, later in pairwise(requests)
        if (earlier.kind, earlier.entity_id) != (later.kind, later.entity_id)
    )


def test_the_same_seed_plans_the_same_order() -> None:
    first, second = make_pim(shuffle=True, seed=3), make_pim(shuffle=True, seed=3)
    one, other = backlog(first), backlog(second)
    assert [r.synchronization_id for r in one] == [r.synchronization_id for r in other]
    planned = first.plan(one)
    assert second.plan(other) == planned
    assert make_pim(shuffle=True, seed=4).plan(one) != planned


@pytest.mark.anyio
async def test_duplicates_are_byte_identical_and_sent_later() -> None:
    pim = make_pim(duplicate_rate=1, seed=5)
    small_catalog(pim)
    pim.create_product("S", "SIMPLE-PRODUCT", ["shirts"], {"size": "m"})
    requests = pim.synchronize()
    recorder = Recorder()
    async with recorder.client() as client:
        statuses = await pim.deliver(requests, client)
    assert len(statuses) == 8
    sent = [
        (request.content, request.headers["X-APP-TOKEN"], str(request.url)) for request in recorder.requests
    ]
    for request in requests:
        copies = [index for index, each in enumerate(sent) if each[0] == request.body]
        assert len(copies) == 2
        assert sent[copies[0]] == sent[copies[1]]
    # Without shuffle the first copies keep the synchronization's order.
    firsts = [body for index, (body, _, _) in enumerate(sent) if body not in [s[0] for s in sent[:index]]]
    assert firsts == [request.body for request in requests]


def test_a_duplicate_rate_between_sends_some_twice() -> None:
    pim = make_pim(duplicate_rate=0.3, seed=11)
    requests = backlog(pim)
    planned = pim.plan(requests)
    extra = len(planned) - len(requests)
    assert 0 < extra < len(requests)
    assert set(planned) == set(requests)


def test_config_refuses_a_url_that_is_not_http() -> None:
    with pytest.raises(ValueError):
        PimConfig(secret=SECRET, installation_id="inst-42", url="ftp://mercator.test/pim/x")
    assert (
        PimConfig(secret=SECRET, installation_id="i", url="http://h.test/pim/x/").url == "http://h.test/pim/x"
    )


# -- the demo ---------------------------------------------------------------------------------------


def test_demo_catalog_builds_the_advertised_catalog() -> None:
    pim = make_pim()
    assert demo_catalog(pim) == {
        "attributes": 8,
        "options": 8,
        "categories": 3,
        "products": 15,
        "events": 126,
    }
    snapshot = pim.snapshot()
    assert snapshot["attributes"]["name"] == {
        "type": "TEXT",
        "scope": "local",
        "names": {"en_GB": "Name", "ar_SA": "الاسم"},
        "options": {},
    }
    assert snapshot["attributes"]["color"]["options"] == {
        "red": {"en_GB": "Red", "ar_SA": "أحمر"},
        "blue": {"en_GB": "Blue", "ar_SA": "أزرق"},
        "black": {"en_GB": "Black", "ar_SA": "أسود"},
    }
    assert snapshot["products"]["PIM-SKU-001"] == {
        "type": "SIMPLE-PRODUCT",
        "categories": ["shirts"],
        "values": {
            "name": {"en_GB": "Oxford Shirt", "ar_SA": "قميص أكسفورد"},
            "description": {
                "en_GB": "Oxford Shirt, from the sandbox PIM.",
                "ar_SA": "قميص أكسفورد من كتالوج التجربة.",
            },
            "price": 149.0,
            "stock": 40,
            "images": [
                {"url": "https://cdn.pim-sandbox.test/PIM-SKU-001/1.jpg", "path": "PIM-SKU-001/1.jpg"}
            ],
            "material": ["cotton"],
        },
        "bindings": [],
        "variants": {},
        "children": {},
    }
    assert snapshot["products"]["PIM-TEE"]["bindings"] == ["color", "size"]
    assert snapshot["products"]["PIM-GIFT-SET"]["children"] == {"PIM-SKU-007": 1, "PIM-SKU-008": 2}
    with pytest.raises(ValueError):
        demo_catalog(pim)


def test_the_seeded_synchronization_id_is_reproducible() -> None:
    one, other = make_pim(seed=9), make_pim(seed=9)
    for pim in (one, other):
        pim.create_category("shirts", {"en_GB": "Shirts"})
    assert one.synchronize() == other.synchronize()
