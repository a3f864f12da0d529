"""parse_envelope: the envelope and every detailed event schema, accepted and refused where it says.

The tables below are written by hand from the reference (the PIM's synchronization-events page) and
docs/catalog-events.md: a valid event per detailed type, every required property and enum of each
schema, and the paths and choices a refusal names. A test checks the tables cover exactly what the
stored schema files (shared/mercator/pim/schemas/) require and enumerate, so every schema's every
rule is exercised. The reference's own examples are read through mercator_local.pim_schemas.extract
when the reference lies beside the project (../shared/seeds/002_*.txt); without it those cases skip.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastjsonschema
import pydantic
import pytest

from mercator.pim import event_schemas
from mercator.pim.event_schemas import (
    COARSE_NAMES,
    DETAILED_TYPES,
    KIND_OF_NAME,
    RESOURCE_TYPES,
    CatalogEventRefused,
    DetailedEvent,
    Envelope,
    parse_envelope,
)
from mercator_local.pim_schemas import SeedEvent, extract
from tests.unit.pim.reference import DETAILED_TYPES as REFERENCE_TYPES
from tests.unit.pim.reference import SCHEMAS, SEEDS

ALL_TYPES = REFERENCE_TYPES
COARSE = (
    "attribute_created",
    "attribute_updated",
    "attribute_deleted",
    "category_created",
    "category_updated",
    "category_deleted",
    "product_created",
    "product_updated",
    "product_deleted",
)
ATTRIBUTE_TYPES = (
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
SCOPES = ("local", "global")
PRODUCT_TYPES = ("SIMPLE-PRODUCT", "GROUPING-PRODUCT", "VARIABLE-PRODUCT")
# What a request of each kind may carry: its own kind's types, and both name changes for attributes
# and categories (the reference's example of category_name_changed is typed attribute_name_changed).
ATTRIBUTE_REQUEST_TYPES = (
    "attribute_created",
    "attribute_name_changed",
    "attribute_option_code_changed",
    "attribute_option_created",
    "attribute_option_deleted",
    "attribute_option_name_changed",
    "category_name_changed",
)
CATEGORY_REQUEST_TYPES = ("attribute_name_changed", "category_created", "category_name_changed")
PRODUCT_REQUEST_TYPES = (
    "product_added_to_category",
    "product_binding_added",
    "product_binding_removed",
    "product_child_added",
    "product_child_quantity_changed",
    "product_child_removed",
    "product_created",
    "product_removed_from_category",
    "product_value_added",
    "product_value_changed",
    "product_value_removed",
    "product_variant_added",
    "product_variant_removed",
)
ENTITY = {"attribute": "attribute_code", "category": "category_code", "product": "Product SKU"}
RESOURCE_TYPE = {"attribute": "attribute_code", "category": "category_code", "product": "product_sku"}


def _names(value: str) -> list[dict[str, str]]:
    return [{"language": "en_GB", "value": value}]


# A valid event per detailed type: the reference's example, but for category_name_changed, whose
# example is an attribute_name_changed (no code) while its schema requires the category's code.
VALID: dict[str, dict[str, Any]] = {
    "attribute_created": {
        "type": "attribute_created",
        "payload": {
            "code": "attribute_code",
            "type": "TEXT",
            "scope": "local",
            "name": _names("This is the attribute name"),
        },
    },
    "attribute_name_changed": {
        "type": "attribute_name_changed",
        "payload": {"name": _names("This is the new attribute name")},
    },
    "attribute_option_code_changed": {
        "type": "attribute_option_code_changed",
        "payload": {"option_code": "option_code", "previous_option_code": "previous_option_code"},
    },
    "attribute_option_created": {
        "type": "attribute_option_created",
        "payload": {"option_code": "option_code", "option_name": _names("This is the option name")},
    },
    "attribute_option_deleted": {
        "type": "attribute_option_deleted",
        "payload": {"option_code": "option_code"},
    },
    "attribute_option_name_changed": {
        "type": "attribute_option_name_changed",
        "payload": {"option_code": "option_code", "option_name": _names("This is the new option name")},
    },
    "category_created": {
        "type": "category_created",
        "payload": {"code": "category_code", "name": _names("This is the category name")},
    },
    "category_name_changed": {
        "type": "category_name_changed",
        "payload": {"code": "category_code", "name": _names("This is the new category name")},
    },
    "product_added_to_category": {
        "type": "product_added_to_category",
        "payload": {"category_code": "category_code"},
    },
    "product_binding_added": {
        "type": "product_binding_added",
        "payload": {"attribute_code": "attribute_code"},
    },
    "product_binding_removed": {
        "type": "product_binding_removed",
        "payload": {"attribute_code": "attribute_code"},
    },
    "product_child_added": {
        "type": "product_child_added",
        "payload": {"child_sku": "Child sku", "child_quantity": 2},
    },
    "product_child_quantity_changed": {
        "type": "product_child_quantity_changed",
        "payload": {"child_sku": "Child sku", "child_quantity": 2},
    },
    "product_child_removed": {"type": "product_child_removed", "payload": {"child_sku": "Child sku"}},
    "product_created": {
        "type": "product_created",
        "payload": {"sku": "Product SKU", "type": "SIMPLE-PRODUCT", "category_codes": ["category_code"]},
    },
    "product_removed_from_category": {
        "type": "product_removed_from_category",
        "payload": {"category_code": "category_code"},
    },
    "product_value_added": {
        "type": "product_value_added",
        "payload": {
            "attribute_code": "attribute_code",
            "attribute_type": "TEXT",
            "attribute_scope": "local",
            "value": [{"language": "en_GB", "translation": "This is the attribute value"}],
        },
    },
    "product_value_changed": {
        "type": "product_value_changed",
        "payload": {
            "attribute_code": "attribute_code",
            "attribute_type": "TEXT",
            "attribute_scope": "global",
            "value": "This is the attribute value",
        },
    },
    "product_value_removed": {
        "type": "product_value_removed",
        "payload": {"attribute_code": "attribute_code", "attribute_type": "TEXT"},
    },
    "product_variant_added": {
        "type": "product_variant_added",
        "payload": {
            "variant_sku": "Variant SKU",
            "binding_values": [
                {
                    "attribute_code": "attribute_code",
                    "attribute_type": "SELECT",
                    "attribute_scope": "global",
                    "value": "attribute_option_code",
                }
            ],
        },
    },
    "product_variant_removed": {"type": "product_variant_removed", "payload": {"variant_sku": "Variant SKU"}},
}

# Every required property outside anyOf/oneOf, as a path under the event (events[i]).
REQUIRED: dict[str, tuple[str, ...]] = {
    "attribute_created": (
        "type",
        "payload",
        "payload.code",
        "payload.type",
        "payload.scope",
        "payload.name",
        "payload.name[0].language",
        "payload.name[0].value",
    ),
    "attribute_name_changed": (
        "type",
        "payload",
        "payload.name",
        "payload.name[0].language",
        "payload.name[0].value",
    ),
    "attribute_option_code_changed": (
        "type",
        "payload",
        "payload.option_code",
        "payload.previous_option_code",
    ),
    "attribute_option_created": (
        "type",
        "payload",
        "payload.option_code",
        "payload.option_name",
        "payload.option_name[0].language",
        "payload.option_name[0].value",
    ),
    "attribute_option_deleted": ("type", "payload", "payload.option_code"),
    "attribute_option_name_changed": (
        "type",
        "payload",
        "payload.option_code",
        "payload.option_name",
        "payload.option_name[0].language",
        "payload.option_name[0].value",
    ),
    "category_created": (
        "type",
        "payload",
        "payload.code",
        "payload.name",
        "payload.name[0].language",
        "payload.name[0].value",
    ),
    "category_name_changed": (
        "type",
        "payload",
        "payload.code",
        "payload.name",
        "payload.name[0].language",
        "payload.name[0].value",
    ),
    "product_added_to_category": ("type", "payload", "payload.category_code"),
    "product_binding_added": ("type", "payload", "payload.attribute_code"),
    "product_binding_removed": ("type", "payload", "payload.attribute_code"),
    "product_child_added": ("type", "payload", "payload.child_sku", "payload.child_quantity"),
    "product_child_quantity_changed": ("type", "payload", "payload.child_sku", "payload.child_quantity"),
    "product_child_removed": ("type", "payload", "payload.child_sku"),
    "product_created": ("type", "payload", "payload.sku", "payload.type", "payload.category_codes"),
    "product_removed_from_category": ("type", "payload", "payload.category_code"),
    "product_value_added": (
        "type",
        "payload",
        "payload.attribute_code",
        "payload.attribute_type",
        "payload.attribute_scope",
        "payload.value",
    ),
    "product_value_changed": (
        "type",
        "payload",
        "payload.attribute_code",
        "payload.attribute_type",
        "payload.attribute_scope",
        "payload.value",
    ),
    "product_value_removed": ("type", "payload", "payload.attribute_code", "payload.attribute_type"),
    "product_variant_added": (
        "type",
        "payload",
        "payload.variant_sku",
        "payload.binding_values",
        "payload.binding_values[0].attribute_code",
        "payload.binding_values[0].attribute_type",
        "payload.binding_values[0].attribute_scope",
        "payload.binding_values[0].value",
    ),
    "product_variant_removed": ("type", "payload", "payload.variant_sku"),
}

# Every enum outside anyOf/oneOf: its path under the event and its values, in the schema's order.
ENUMS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "attribute_created": (("payload.type", ATTRIBUTE_TYPES), ("payload.scope", SCOPES)),
    "product_created": (("payload.type", PRODUCT_TYPES),),
    "product_value_added": (("payload.attribute_type", ATTRIBUTE_TYPES), ("payload.attribute_scope", SCOPES)),
    "product_value_changed": (
        ("payload.attribute_type", ATTRIBUTE_TYPES),
        ("payload.attribute_scope", SCOPES),
    ),
    "product_value_removed": (("payload.attribute_type", ATTRIBUTE_TYPES),),
    "product_variant_added": (
        ("payload.binding_values[0].attribute_type", ("SELECT",)),
        ("payload.binding_values[0].attribute_scope", ("global",)),
    ),
}

# The type the reference's example of each section is written with.
EXAMPLE_TYPE = {name: name for name in ALL_TYPES} | {"category_name_changed": "attribute_name_changed"}

# A valid event of each kind, put before the event under test so refusals must name index 1.
FIRST = {
    "attribute": VALID["attribute_option_deleted"],
    "category": VALID["category_created"],
    "product": VALID["product_child_removed"],
}


# --- helpers ------------------------------------------------------------------------------------------


def kind_of(detailed: str) -> str:
    return detailed.split("_", 1)[0]


def request(
    name: str,
    events: list[Any],
    *,
    resource_id: dict[str, Any] | None = None,
    customs: Any = None,
) -> dict[str, Any]:
    kind = name.split("_", 1)[0]
    return {
        "name": name,
        "resource_id": resource_id or {"id": ENTITY[kind], "type": RESOURCE_TYPE[kind]},
        "synchronization": {"events": events, "resource_customs": customs},
    }


def second(detailed: str, event: Any) -> tuple[dict[str, Any], str]:
    """A request of ``detailed``'s kind with ``event`` at index 1, and its coarse name."""
    kind = kind_of(detailed)
    name = f"{kind}_updated"
    return request(name, [copy.deepcopy(FIRST[kind]), event]), name


def refusal(body: Any, name: str) -> CatalogEventRefused:
    with pytest.raises(CatalogEventRefused) as refused:
        parse_envelope(body, name=name)
    return refused.value


_STEP = re.compile(r"([A-Za-z_]+)|\[(\d+)\]")


def steps(path: str) -> list[str | int]:
    return [int(index) if index else key for key, index in _STEP.findall(path)]


def parent_of(event: dict[str, Any], path: str) -> tuple[Any, str | int]:
    *above, last = steps(path)
    node: Any = event
    for step in above:
        node = node[step]
    return node, last


def stored_schema(detailed: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{detailed}.json").read_text(encoding="utf-8"))
    return loaded


def rules(schema: dict[str, Any], at: str = "") -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """("required", path, ()) and ("enum", path, values) for every rule outside anyOf/oneOf."""
    if "anyOf" in schema or "oneOf" in schema:
        return
    for key in schema.get("required", ()):
        yield "required", f"{at}.{key}" if at else key, ()
    if "enum" in schema:
        yield "enum", at, tuple(schema["enum"])
    for key, inner in schema.get("properties", {}).items():
        yield from rules(inner, f"{at}.{key}" if at else key)
    if isinstance(schema.get("items"), dict):
        yield from rules(schema["items"], f"{at}[0]")


def seed_file() -> Path | None:
    found = sorted(SEEDS.glob("002_*.txt")) if SEEDS.is_dir() else []
    return found[0] if found else None


@pytest.fixture(scope="module")
def seed_events() -> dict[str, SeedEvent]:
    seed = seed_file()
    if seed is None:
        pytest.skip(f"the reference (002_*.txt) is not in {SEEDS}")
    return extract(seed.read_text(encoding="utf-8"))


REQUIRED_CASES = [(detailed, path) for detailed in ALL_TYPES for path in REQUIRED[detailed]]
ENUM_CASES = [(detailed, path, values) for detailed, found in ENUMS.items() for path, values in found]


# --- the constants and the stored schemas -------------------------------------------------------------


def test_the_constants_name_every_type_event_and_resource() -> None:
    assert DETAILED_TYPES == ALL_TYPES
    assert COARSE_NAMES == COARSE
    assert dict(KIND_OF_NAME) == {
        "attribute_created": "attribute",
        "attribute_updated": "attribute",
        "attribute_deleted": "attribute",
        "category_created": "category",
        "category_updated": "category",
        "category_deleted": "category",
        "product_created": "product",
        "product_updated": "product",
        "product_deleted": "product",
    }
    assert dict(RESOURCE_TYPES) == {
        "attribute": "attribute_code",
        "category": "category_code",
        "product": "product_sku",
    }


def test_there_is_a_stored_schema_per_detailed_type_and_the_envelope() -> None:
    stored = sorted(path.name for path in SCHEMAS.glob("*.json"))

    assert stored == sorted([f"{name}.json" for name in ALL_TYPES] + ["envelope.json"])


@pytest.mark.parametrize("detailed", ALL_TYPES)
def test_the_tables_hold_every_required_property_and_enum_of_the_stored_schema(detailed: str) -> None:
    found = list(rules(stored_schema(detailed)))

    assert sorted(path for rule, path, _ in found if rule == "required") == sorted(REQUIRED[detailed])
    # The stored files sort their keys: compare as sets, the enums' own values keep their order.
    assert sorted((path, values) for rule, path, values in found if rule == "enum") == sorted(
        ENUMS.get(detailed, ())
    )


def test_each_schema_is_compiled_once_and_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[Any] = []
    compile_schema = fastjsonschema.compile

    def counting(definition: Any, **options: Any) -> Any:
        compiled.append(definition)
        return compile_schema(definition, **options)

    event_schemas._validator.cache_clear()
    monkeypatch.setattr(fastjsonschema, "compile", counting)
    try:
        for _ in range(3):
            body, name = second("product_child_removed", copy.deepcopy(VALID["product_child_removed"]))
            parse_envelope(body, name=name)
    finally:
        # The next tests compile with the real function again.
        event_schemas._validator.cache_clear()

    # The envelope's schema and product_child_removed's, each once for three requests.
    assert len(compiled) == 2


# --- (a) the reference's examples ---------------------------------------------------------------------


@pytest.mark.parametrize("change", ["created", "updated"])
@pytest.mark.parametrize("section", ALL_TYPES)
def test_each_example_of_the_reference_is_accepted_in_a_request_of_its_kind(
    section: str, change: str, seed_events: dict[str, SeedEvent]
) -> None:
    example = seed_events[section].example
    name = f"{kind_of(section)}_{change}"

    envelope = parse_envelope(request(name, [copy.deepcopy(example)]), name=name)

    assert envelope.events == (DetailedEvent(type=EXAMPLE_TYPE[section], payload=example["payload"]),)
    assert (envelope.name, envelope.kind, envelope.change) == (name, kind_of(section), change)
    assert envelope.entity == ENTITY[kind_of(section)]


@pytest.mark.parametrize("section", ALL_TYPES)
def test_the_valid_events_of_these_tables_are_the_examples_of_the_reference(
    section: str, seed_events: dict[str, SeedEvent]
) -> None:
    example = seed_events[section].example
    if section == "category_name_changed":
        # Its example is typed attribute_name_changed and names no code, which its schema requires.
        assert example == {
            "type": "attribute_name_changed",
            "payload": {"name": VALID[section]["payload"]["name"]},
        }
    else:
        assert example == VALID[section]


@pytest.mark.parametrize("detailed", ALL_TYPES)
def test_each_valid_event_is_accepted_after_another(detailed: str) -> None:
    body, name = second(detailed, copy.deepcopy(VALID[detailed]))

    envelope = parse_envelope(body, name=name)

    assert envelope.events == (
        DetailedEvent(**FIRST[kind_of(detailed)]),
        DetailedEvent(type=detailed, payload=VALID[detailed]["payload"]),
    )


# --- (b) every required property ----------------------------------------------------------------------


@pytest.mark.parametrize(("detailed", "path"), REQUIRED_CASES, ids=[f"{t}:{p}" for t, p in REQUIRED_CASES])
def test_a_missing_required_property_is_refused_at_its_path(detailed: str, path: str) -> None:
    event = copy.deepcopy(VALID[detailed])
    parent, last = parent_of(event, path)
    del parent[last]
    body, name = second(detailed, event)

    refused = refusal(body, name)

    assert refused.path == f"$.synchronization.events[1].{path}"
    assert refused.reason == "is required"
    assert refused.valid == ()


def test_of_several_missing_properties_the_first_the_schema_requires_is_named() -> None:
    event = {"type": "product_created", "payload": {"category_codes": []}}
    body, name = second("product_created", event)

    assert refusal(body, name).path == "$.synchronization.events[1].payload.sku"


# --- (c) every enum -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detailed", "path", "values"), ENUM_CASES, ids=[f"{t}:{p}" for t, p, _ in ENUM_CASES]
)
@pytest.mark.parametrize("outside", ["NOT_A_CHOICE", "text"])
def test_a_value_outside_an_enum_is_refused_with_the_enum(
    detailed: str, path: str, values: tuple[str, ...], outside: str
) -> None:
    event = copy.deepcopy(VALID[detailed])
    parent, last = parent_of(event, path)
    parent[last] = outside
    body, name = second(detailed, event)

    refused = refusal(body, name)

    assert refused.path == f"$.synchronization.events[1].{path}"
    assert refused.valid == values
    assert refused.reason == f"'{outside}' is not one of the valid values"


def test_a_refusal_reads_as_path_reason_and_valid_values() -> None:
    event = copy.deepcopy(VALID["attribute_created"])
    event["payload"]["type"] = "TEXTT"

    refused = refusal(request("attribute_created", [event]), "attribute_created")

    assert str(refused) == (
        "$.synchronization.events[0].payload.type: 'TEXTT' is not one of the valid values; valid: "
        "DATE, FILE, GALLERY, IMAGE, MULTI_SELECT, NUMERIC, PRICE, PRODUCT_RELATION, SELECT, TEXT_AREA, "
        "TEXT, UNIT"
    )
    assert isinstance(refused, ValueError)


# --- (d) types, kinds, names, resources ---------------------------------------------------------------


def test_an_unknown_detailed_type_is_refused_listing_every_type() -> None:
    body, name = second("attribute_created", {"type": "attribute_renamed", "payload": {}})

    refused = refusal(body, name)

    assert refused.path == "$.synchronization.events[1].type"
    assert refused.valid == ALL_TYPES
    assert "'attribute_renamed'" in refused.reason


OTHER_KIND_CASES = [
    ("attribute_updated", "product_value_added", ATTRIBUTE_REQUEST_TYPES),
    ("attribute_created", "category_created", ATTRIBUTE_REQUEST_TYPES),
    ("category_updated", "attribute_option_created", CATEGORY_REQUEST_TYPES),
    ("category_updated", "product_added_to_category", CATEGORY_REQUEST_TYPES),
    ("product_updated", "category_created", PRODUCT_REQUEST_TYPES),
    ("product_updated", "attribute_name_changed", PRODUCT_REQUEST_TYPES),
    ("product_created", "category_name_changed", PRODUCT_REQUEST_TYPES),
]


@pytest.mark.parametrize(
    ("name", "detailed", "valid"), OTHER_KIND_CASES, ids=[f"{t} in {n}" for n, t, _ in OTHER_KIND_CASES]
)
def test_a_detailed_type_of_another_kind_is_refused_listing_the_kinds_types(
    name: str, detailed: str, valid: tuple[str, ...]
) -> None:
    kind = name.split("_", 1)[0]
    body = request(name, [copy.deepcopy(FIRST[kind]), copy.deepcopy(VALID[detailed])])

    refused = refusal(body, name)

    assert refused.path == "$.synchronization.events[1].type"
    assert refused.valid == valid


@pytest.mark.parametrize(
    ("name", "detailed"),
    [
        ("category_updated", "attribute_name_changed"),
        ("category_created", "attribute_name_changed"),
        ("attribute_updated", "category_name_changed"),
        ("attribute_updated", "attribute_name_changed"),
        ("category_updated", "category_name_changed"),
    ],
)
def test_a_name_change_typed_either_way_is_accepted_for_attributes_and_categories(
    name: str, detailed: str
) -> None:
    envelope = parse_envelope(request(name, [copy.deepcopy(VALID[detailed])]), name=name)

    assert envelope.events == (DetailedEvent(**VALID[detailed]),)


def test_a_name_change_keeps_its_own_schema_in_the_other_kinds_request() -> None:
    # category_name_changed requires the code even in an attribute request.
    event = {"type": "category_name_changed", "payload": {"name": _names("Renamed")}}

    refused = refusal(request("attribute_updated", [event]), "attribute_updated")

    assert refused.path == "$.synchronization.events[0].payload.code"


def test_a_body_for_another_event_than_the_paths_is_refused() -> None:
    refused = refusal(request("attribute_created", []), "attribute_updated")

    assert refused.path == "$.name"
    assert refused.valid == ("attribute_updated",)


@pytest.mark.parametrize("name", ["app_installed", "app_uninstalled", "attribute_renamed", ""])
def test_a_path_name_that_is_no_synchronization_event_is_refused_listing_them(name: str) -> None:
    refused = refusal(request("attribute_created", []), name)

    assert refused.path == "$.name"
    assert refused.valid == COARSE


def test_a_body_name_that_is_no_synchronization_event_is_refused_listing_them() -> None:
    body = request("attribute_created", [])
    body["name"] = "attribute_renamed"

    refused = refusal(body, "attribute_created")

    assert refused.path == "$.name"
    assert refused.valid == COARSE


@pytest.mark.parametrize(
    ("name", "sent", "expected"),
    [
        ("attribute_updated", "product_sku", "attribute_code"),
        ("category_created", "attribute_code", "category_code"),
        ("product_updated", "category_code", "product_sku"),
        ("product_deleted", "attribute_code", "product_sku"),
    ],
)
def test_a_resource_of_another_kind_is_refused(name: str, sent: str, expected: str) -> None:
    body = request(name, [], resource_id={"id": "X-1", "type": sent})

    refused = refusal(body, name)

    assert refused.path == "$.resource_id.type"
    assert refused.valid == (expected,)


def test_an_unknown_resource_type_is_refused_listing_the_three() -> None:
    body = request("product_updated", [], resource_id={"id": "X-1", "type": "sku"})

    refused = refusal(body, "product_updated")

    assert refused.path == "$.resource_id.type"
    assert refused.valid == ("attribute_code", "category_code", "product_sku")


@pytest.mark.parametrize(
    ("resource_id", "path", "reason"),
    [
        ({"id": "", "type": "product_sku"}, "$.resource_id.id", "must not be empty"),
        ({"id": 7, "type": "product_sku"}, "$.resource_id.id", "must be a string, not an integer"),
        ({"type": "product_sku"}, "$.resource_id.id", "is required"),
        ({"id": "X-1"}, "$.resource_id.type", "is required"),
        (["X-1"], "$.resource_id", "must be an object, not an array"),
    ],
    ids=["empty id", "numeric id", "no id", "no type", "not an object"],
)
def test_a_malformed_resource_id_is_refused(resource_id: Any, path: str, reason: str) -> None:
    body = request("product_updated", [])
    body["resource_id"] = resource_id

    refused = refusal(body, "product_updated")

    assert (refused.path, refused.reason) == (path, reason)


@pytest.mark.parametrize("name", ["attribute_deleted", "category_deleted", "product_deleted"])
def test_a_deletion_with_detailed_events_is_refused(name: str) -> None:
    kind = name.split("_", 1)[0]

    refused = refusal(request(name, [copy.deepcopy(FIRST[kind])]), name)

    assert refused.path == "$.synchronization.events"
    assert refused.valid == ()


@pytest.mark.parametrize("name", ["attribute_deleted", "category_deleted", "product_deleted"])
def test_a_deletion_without_events_is_accepted(name: str) -> None:
    kind = name.split("_", 1)[0]

    envelope = parse_envelope(request(name, []), name=name)

    assert envelope == Envelope(name=name, kind=kind, change="deleted", entity=ENTITY[kind], events=())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "must be an object, not an array"),
        ("product_updated", "must be an object, not a string"),
        (None, "must be an object, not null"),
        (3, "must be an object, not an integer"),
        (True, "must be an object, not a boolean"),
    ],
    ids=["array", "string", "null", "number", "boolean"],
)
def test_a_body_that_is_not_an_object_is_refused_at_the_root(body: Any, reason: str) -> None:
    refused = refusal(body, "product_updated")

    assert (refused.path, refused.reason) == ("$", reason)


@pytest.mark.parametrize("missing", ["name", "resource_id", "synchronization"])
def test_each_part_of_the_envelope_is_required(missing: str) -> None:
    body = request("product_updated", [])
    del body[missing]

    refused = refusal(body, "product_updated")

    assert (refused.path, refused.reason) == (f"$.{missing}", "is required")


@pytest.mark.parametrize(
    ("synchronization", "path", "reason"),
    [
        ({}, "$.synchronization.events", "is required"),
        ({"events": {}}, "$.synchronization.events", "must be an array, not an object"),
        (
            {"events": [VALID["product_child_removed"], "x"]},
            "$.synchronization.events[1]",
            "must be an object, not a string",
        ),
        (
            {"events": [{"type": 3, "payload": {}}]},
            "$.synchronization.events[0].type",
            "must be a string, not an integer",
        ),
        (
            {"events": [{"type": "product_child_removed", "payload": []}]},
            "$.synchronization.events[0].payload",
            "must be an object, not an array",
        ),
        ("events", "$.synchronization", "must be an object, not a string"),
    ],
    ids=[
        "no events",
        "events not an array",
        "event not an object",
        "type not a string",
        "payload not an object",
        "not an object",
    ],
)
def test_a_malformed_synchronization_is_refused(synchronization: Any, path: str, reason: str) -> None:
    body = request("product_updated", [])
    body["synchronization"] = copy.deepcopy(synchronization)

    refused = refusal(body, "product_updated")

    assert (refused.path, refused.reason) == (path, reason)


WRONG_TYPE_CASES = [
    ("product_child_added", "payload.child_quantity", "2", "must be an integer, not a string"),
    ("product_child_quantity_changed", "payload.child_quantity", 2.5, "must be an integer, not a number"),
    ("attribute_created", "payload.code", 5, "must be a string, not an integer"),
    ("attribute_created", "payload.name", "name", "must be an array, not a string"),
    ("attribute_created", "payload.name[0]", "name", "must be an object, not a string"),
    ("product_created", "payload.category_codes[0]", 7, "must be a string, not an integer"),
    ("product_variant_added", "payload.binding_values[0].value", None, "must be a string, not null"),
]


@pytest.mark.parametrize(
    ("detailed", "path", "wrong", "reason"),
    WRONG_TYPE_CASES,
    ids=[f"{t}:{p}={w!r}" for t, p, w, _ in WRONG_TYPE_CASES],
)
def test_a_value_of_the_wrong_json_type_is_refused_at_its_path(
    detailed: str, path: str, wrong: Any, reason: str
) -> None:
    event = copy.deepcopy(VALID[detailed])
    parent, last = parent_of(event, path)
    parent[last] = wrong
    body, name = second(detailed, event)

    refused = refusal(body, name)

    assert (refused.path, refused.reason) == (f"$.synchronization.events[1].{path}", reason)


# --- (d) product value shapes -------------------------------------------------------------------------

IMAGE = {"url": "https://cdn.example.com/shirt.png", "path": "media/shirt.png"}

ACCEPTED_VALUES: dict[str, Any] = {
    "global string": "Blue",
    "global integer": 42,
    "global decimal": 19.99,
    "global multi-select": ["red", "blue"],
    "empty array": [],
    "global image": IMAGE,
    "global gallery": [IMAGE, IMAGE],
    "local value": [{"language": "en_GB", "value": "Shirt"}],
    "local translation": [{"language": "en_GB", "translation": "Shirt"}],
    "local both": [{"language": "en_GB", "value": "Shirt", "translation": "Shirt"}],
    "local number": [{"language": "en_GB", "value": 3}],
    "local multi-select": [{"language": "en_GB", "value": ["a", "b"]}],
    "local empty multi-select": [{"language": "en_GB", "translation": []}],
    "local image": [{"language": "en_GB", "value": IMAGE}],
    "local gallery": [{"language": "de_DE", "translation": [IMAGE]}],
    "two languages": [{"language": "en_GB", "value": "Shirt"}, {"language": "de_DE", "translation": "Hemd"}],
}

REFUSED_VALUES: dict[str, Any] = {
    "boolean": True,
    "null": None,
    "image without path": {"url": "https://cdn.example.com/shirt.png"},
    "empty object": {},
    "array of numbers": [1, 2],
    "strings and a number": ["a", 1],
    "local without value or translation": [{"language": "en_GB"}],
    "local without language": [{"value": "Shirt"}],
    "local boolean": [{"language": "en_GB", "value": True}],
    "local translation null": [{"language": "en_GB", "translation": None}],
    "local numeric language": [{"language": 5, "value": "Shirt"}],
    "gallery item without url": [{"path": "media/shirt.png"}],
}

SHAPES = (
    "a string",
    "a number",
    "an array of strings",
    "an object with url and path",
    "an array of objects with url and path",
    "an array of objects with language and value or translation",
)


@pytest.mark.parametrize("detailed", ["product_value_added", "product_value_changed"])
@pytest.mark.parametrize("value", list(ACCEPTED_VALUES.values()), ids=list(ACCEPTED_VALUES))
def test_every_value_shape_is_accepted(detailed: str, value: Any) -> None:
    event = copy.deepcopy(VALID[detailed])
    event["payload"]["value"] = copy.deepcopy(value)
    body, name = second(detailed, event)

    envelope = parse_envelope(body, name=name)

    assert envelope.events[1].payload["value"] == value


@pytest.mark.parametrize("detailed", ["product_value_added", "product_value_changed"])
@pytest.mark.parametrize("value", list(REFUSED_VALUES.values()), ids=list(REFUSED_VALUES))
def test_a_value_of_no_accepted_shape_is_refused_listing_the_shapes(detailed: str, value: Any) -> None:
    event = copy.deepcopy(VALID[detailed])
    event["payload"]["value"] = copy.deepcopy(value)
    body, name = second(detailed, event)

    refused = refusal(body, name)

    assert refused.path == "$.synchronization.events[1].payload.value"
    assert refused.valid == ()
    assert "is none of the accepted shapes: " in refused.reason
    for shape in SHAPES:
        assert shape in refused.reason


# --- what is kept -------------------------------------------------------------------------------------


def test_the_envelope_keeps_the_events_in_order_the_entity_and_the_customs() -> None:
    events = [
        VALID["product_created"],
        VALID["product_value_changed"],
        VALID["product_value_added"],
        VALID["product_added_to_category"],
    ]
    body = request(
        "product_created",
        copy.deepcopy(events),
        resource_id={"id": "SHIRT-1", "type": "product_sku"},
        customs={"channel": ["web"]},
    )

    envelope = parse_envelope(body, name="product_created")

    assert envelope == Envelope(
        name="product_created",
        kind="product",
        change="created",
        entity="SHIRT-1",
        events=tuple(DetailedEvent(**event) for event in events),
        customs={"channel": ["web"]},
    )


def test_unknown_properties_are_tolerated_and_kept() -> None:
    event = copy.deepcopy(VALID["product_child_removed"])
    event["payload"]["position"] = 4
    event["id"] = "ev-1"
    body = request("product_updated", [event])
    body["sent_at"] = "2026-12-01T00:00:00Z"

    envelope = parse_envelope(body, name="product_updated")

    assert envelope.events[0].payload == {"child_sku": "Child sku", "position": 4}


def test_the_first_invalid_event_is_the_one_refused() -> None:
    first = copy.deepcopy(VALID["product_child_added"])
    first["payload"]["child_quantity"] = "many"
    later = {"type": "product_exploded", "payload": {}}

    refused = refusal(request("product_updated", [first, later]), "product_updated")

    assert refused.path == "$.synchronization.events[0].payload.child_quantity"


def test_the_models_are_frozen() -> None:
    envelope = parse_envelope(
        request("product_updated", [copy.deepcopy(FIRST["product"])]), name="product_updated"
    )

    with pytest.raises(pydantic.ValidationError):
        envelope.entity = "OTHER"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        envelope.events[0].type = "product_created"  # type: ignore[misc]
