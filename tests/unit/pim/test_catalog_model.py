"""apply_events: one entity's detailed events applied in order to the catalog state.

Every expected entity below is written by hand from the module's contract (its docstrings) and the
PIM's synchronization-events reference: what each of the 21 detailed types does to its entity, when a
request waits for another entity, what an entity's own earlier events are read leniently, and how an
option's id lets a code change rename it everywhere without touching a product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from mercator.pim.catalog_model import (
    Applied,
    CatalogAttribute,
    CatalogCategory,
    CatalogConflictError,
    CatalogEntity,
    CatalogOption,
    CatalogProduct,
    EntityKind,
    Event,
    StoredValue,
    Waiting,
    apply_events,
    references,
    snapshot,
    value_codes,
)
from mercator.pim.event_schemas import DETAILED_TYPES

# --- the catalog the events refer to -------------------------------------------------------------


@dataclass
class FakeKnown:
    """The other entities as the catalog holds them now: plain dicts."""

    attributes: dict[str, CatalogAttribute] = field(default_factory=dict)
    categories: dict[str, CatalogCategory] = field(default_factory=dict)
    products: dict[str, CatalogProduct] = field(default_factory=dict)

    def attribute(self, code: str) -> CatalogAttribute | None:
        return self.attributes.get(code)

    def category(self, code: str) -> CatalogCategory | None:
        return self.categories.get(code)

    def product(self, sku: str) -> CatalogProduct | None:
        return self.products.get(sku)


def option(code: str, **names: str) -> CatalogOption:
    return CatalogOption(code=code, names=names)


def color() -> CatalogAttribute:
    return CatalogAttribute(
        code="color",
        type="SELECT",
        scope="global",
        names={"en_GB": "Colour", "de_DE": "Farbe"},
        options={"o1": option("red", en_GB="Red"), "o2": option("blue", en_GB="Blue")},
        next_option=3,
    )


def size() -> CatalogAttribute:
    return CatalogAttribute(
        code="size",
        type="SELECT",
        scope="global",
        names={"en_GB": "Size"},
        options={"o1": option("s", en_GB="S"), "o2": option("m", en_GB="M")},
        next_option=3,
    )


def tags() -> CatalogAttribute:
    return CatalogAttribute(
        code="tags",
        type="MULTI_SELECT",
        scope="global",
        options={"o1": option("new", en_GB="New"), "o2": option("eco", en_GB="Eco")},
        next_option=3,
    )


def finish() -> CatalogAttribute:
    return CatalogAttribute(
        code="finish",
        type="SELECT",
        scope="local",
        options={"o1": option("matte", en_GB="Matte"), "o2": option("gloss", en_GB="Gloss")},
        next_option=3,
    )


def plain(code: str, type_: str, scope: Any) -> CatalogAttribute:
    return CatalogAttribute(code=code, type=type_, scope=scope)


def known() -> FakeKnown:
    """Attributes of every shape, two categories, and the products variants and children name."""
    return FakeKnown(
        attributes={
            attribute.code: attribute
            for attribute in (
                color(),
                size(),
                tags(),
                finish(),
                plain("name", "TEXT", "local"),
                plain("price", "PRICE", "global"),
                plain("image", "IMAGE", "global"),
                plain("related", "PRODUCT_RELATION", "global"),
                plain("attribute_code", "TEXT", "local"),
            )
        },
        categories={
            "shirts": CatalogCategory(code="shirts", names={"en_GB": "Shirts"}),
            "sale": CatalogCategory(code="sale", names={"en_GB": "Sale"}),
        },
        products={
            sku: CatalogProduct(sku=sku, type="SIMPLE-PRODUCT")
            for sku in ("SHIRT-V-1", "SHIRT-V-2", "CHILD-1", "CHILD-2")
        },
    )


def shirt() -> CatalogProduct:
    """A simple product with a local text, a select and a category."""
    return CatalogProduct(
        sku="SHIRT-1",
        type="SIMPLE-PRODUCT",
        categories=["shirts"],
        values={
            "name": StoredValue(scope="local", value={"en_GB": "Shirt"}),
            "color": StoredValue(scope="global", value="o1"),
        },
    )


def variable_shirt() -> CatalogProduct:
    """A variable product bound on color and size with one variant."""
    return CatalogProduct(
        sku="SHIRT-V",
        type="VARIABLE-PRODUCT",
        bindings=["color", "size"],
        variants={"SHIRT-V-1": {"color": "o1", "size": "o1"}},
    )


def bundle() -> CatalogProduct:
    """A grouping product with one child."""
    return CatalogProduct(sku="BUNDLE-1", type="GROUPING-PRODUCT", children={"CHILD-1": 1})


def names(**by_language: str) -> list[dict[str, str]]:
    return [{"language": language, "value": value} for language, value in by_language.items()]


def event(type_: str, **payload: Any) -> Event:
    return Event(type=type_, payload=payload)


def value_event(type_: str, attribute_code: str, value: Any, attribute_type: str, scope: str) -> Event:
    """product_value_added / product_value_changed as the PIM sends them."""
    return event(
        type_,
        attribute_code=attribute_code,
        attribute_type=attribute_type,
        attribute_scope=scope,
        value=value,
    )


def binding(attribute_code: str, value: str) -> dict[str, str]:
    """One of product_variant_added's binding_values."""
    return {
        "attribute_code": attribute_code,
        "attribute_type": "SELECT",
        "attribute_scope": "global",
        "value": value,
    }


def apply(
    kind: EntityKind,
    code: str,
    current: CatalogEntity | None,
    *events: Event,
    catalog: FakeKnown | None = None,
) -> Applied:
    change: Literal["created", "updated"] = (
        "created" if events and events[0].type == f"{kind}_created" else "updated"
    )
    return apply_events(
        kind, code, current, change=change, events=list(events), known=catalog if catalog else known()
    )


# --- each detailed event type, applied alone -----------------------------------------------------

SINGLE_EVENTS = [
    pytest.param(
        "attribute",
        "color",
        None,
        event(
            "attribute_created",
            code="color",
            type="SELECT",
            scope="global",
            name=names(en_GB="Colour", de_DE="Farbe"),
        ),
        CatalogAttribute(
            code="color",
            type="SELECT",
            scope="global",
            names={"en_GB": "Colour", "de_DE": "Farbe"},
            options={},
            next_option=1,
            deleted_options=[],
        ),
        id="attribute_created",
    ),
    pytest.param(
        "attribute",
        "color",
        color(),
        event("attribute_name_changed", name=names(en_GB="Color", de_DE="Farbe")),
        CatalogAttribute(
            code="color",
            type="SELECT",
            scope="global",
            names={"en_GB": "Color", "de_DE": "Farbe"},
            options={"o1": option("red", en_GB="Red"), "o2": option("blue", en_GB="Blue")},
            next_option=3,
        ),
        id="attribute_name_changed",
    ),
    pytest.param(
        "attribute",
        "color",
        color(),
        event("attribute_option_created", option_code="green", option_name=names(en_GB="Green")),
        CatalogAttribute(
            code="color",
            type="SELECT",
            scope="global",
            names={"en_GB": "Colour", "de_DE": "Farbe"},
            options={
                "o1": option("red", en_GB="Red"),
                "o2": option("blue", en_GB="Blue"),
                "o3": option("green", en_GB="Green"),
            },
            next_option=4,
        ),
        id="attribute_option_created",
    ),
    pytest.param(
        "attribute",
        "color",
        color(),
        event(
            "attribute_option_name_changed",
            option_code="red",
            option_name=names(en_GB="Crimson", de_DE="Rot"),
        ),
        CatalogAttribute(
            code="color",
            type="SELECT",
            scope="global",
            names={"en_GB": "Colour", "de_DE": "Farbe"},
            options={"o1": option("red", en_GB="Crimson", de_DE="Rot"), "o2": option("blue", en_GB="Blue")},
            next_option=3,
        ),
        id="attribute_option_name_changed",
    ),
    pytest.param(
        "attribute",
        "color",
        color(),
        event("attribute_option_code_changed", option_code="scarlet", previous_option_code="red"),
        CatalogAttribute(
            code="color",
            type="SELECT",
            scope="global",
            names={"en_GB": "Colour", "de_DE": "Farbe"},
            options={"o1": option("scarlet", en_GB="Red"), "o2": option("blue", en_GB="Blue")},
            next_option=3,
        ),
        id="attribute_option_code_changed",
    ),
    pytest.param(
        "attribute",
        "color",
        color(),
        event("attribute_option_deleted", option_code="red"),
        CatalogAttribute(
            code="color",
            type="SELECT",
            scope="global",
            names={"en_GB": "Colour", "de_DE": "Farbe"},
            options={"o2": option("blue", en_GB="Blue")},
            next_option=3,
            deleted_options=["red"],
        ),
        id="attribute_option_deleted",
    ),
    pytest.param(
        "category",
        "shirts",
        None,
        event("category_created", code="shirts", name=names(en_GB="Shirts", de_DE="Hemden")),
        CatalogCategory(code="shirts", names={"en_GB": "Shirts", "de_DE": "Hemden"}),
        id="category_created",
    ),
    pytest.param(
        "category",
        "shirts",
        CatalogCategory(code="shirts", names={"en_GB": "Shirts"}),
        event("category_name_changed", code="shirts", name=names(en_GB="Tops")),
        CatalogCategory(code="shirts", names={"en_GB": "Tops"}),
        id="category_name_changed",
    ),
    pytest.param(
        "product",
        "SHIRT-1",
        None,
        event(
            "product_created", sku="SHIRT-1", type="SIMPLE-PRODUCT", category_codes=["sale", "shirts", "sale"]
        ),
        CatalogProduct(
            sku="SHIRT-1",
            type="SIMPLE-PRODUCT",
            categories=["sale", "shirts"],
            values={},
            bindings=[],
            variants={},
            children={},
        ),
        id="product_created",
    ),
    pytest.param(
        "product",
        "SHIRT-1",
        shirt(),
        event("product_added_to_category", category_code="sale"),
        CatalogProduct(
            sku="SHIRT-1",
            type="SIMPLE-PRODUCT",
            categories=["shirts", "sale"],
            values={
                "name": StoredValue(scope="local", value={"en_GB": "Shirt"}),
                "color": StoredValue(scope="global", value="o1"),
            },
        ),
        id="product_added_to_category",
    ),
    pytest.param(
        "product",
        "SHIRT-1",
        shirt(),
        event("product_removed_from_category", category_code="shirts"),
        CatalogProduct(
            sku="SHIRT-1",
            type="SIMPLE-PRODUCT",
            categories=[],
            values={
                "name": StoredValue(scope="local", value={"en_GB": "Shirt"}),
                "color": StoredValue(scope="global", value="o1"),
            },
        ),
        id="product_removed_from_category",
    ),
    pytest.param(
        "product",
        "SHIRT-1",
        shirt(),
        value_event("product_value_added", "price", 19.9, "PRICE", "global"),
        CatalogProduct(
            sku="SHIRT-1",
            type="SIMPLE-PRODUCT",
            categories=["shirts"],
            values={
                "name": StoredValue(scope="local", value={"en_GB": "Shirt"}),
                "color": StoredValue(scope="global", value="o1"),
                "price": StoredValue(scope="global", value=19.9),
            },
        ),
        id="product_value_added",
    ),
    pytest.param(
        "product",
        "SHIRT-1",
        shirt(),
        value_event("product_value_changed", "color", "blue", "SELECT", "global"),
        CatalogProduct(
            sku="SHIRT-1",
            type="SIMPLE-PRODUCT",
            categories=["shirts"],
            values={
                "name": StoredValue(scope="local", value={"en_GB": "Shirt"}),
                "color": StoredValue(scope="global", value="o2"),
            },
        ),
        id="product_value_changed",
    ),
    pytest.param(
        "product",
        "SHIRT-1",
        shirt(),
        event("product_value_removed", attribute_code="name", attribute_type="TEXT"),
        CatalogProduct(
            sku="SHIRT-1",
            type="SIMPLE-PRODUCT",
            categories=["shirts"],
            values={"color": StoredValue(scope="global", value="o1")},
        ),
        id="product_value_removed",
    ),
    pytest.param(
        "product",
        "SHIRT-V",
        CatalogProduct(sku="SHIRT-V", type="VARIABLE-PRODUCT", bindings=["color"]),
        event("product_binding_added", attribute_code="size"),
        CatalogProduct(sku="SHIRT-V", type="VARIABLE-PRODUCT", bindings=["color", "size"]),
        id="product_binding_added",
    ),
    pytest.param(
        "product",
        "SHIRT-V",
        variable_shirt(),
        event("product_binding_removed", attribute_code="color"),
        CatalogProduct(
            sku="SHIRT-V",
            type="VARIABLE-PRODUCT",
            bindings=["size"],
            variants={"SHIRT-V-1": {"color": "o1", "size": "o1"}},
        ),
        id="product_binding_removed",
    ),
    pytest.param(
        "product",
        "SHIRT-V",
        variable_shirt(),
        event(
            "product_variant_added",
            variant_sku="SHIRT-V-2",
            binding_values=[
                binding("color", "blue"),
                binding("size", "m"),
            ],
        ),
        CatalogProduct(
            sku="SHIRT-V",
            type="VARIABLE-PRODUCT",
            bindings=["color", "size"],
            variants={
                "SHIRT-V-1": {"color": "o1", "size": "o1"},
                "SHIRT-V-2": {"color": "o2", "size": "o2"},
            },
        ),
        id="product_variant_added",
    ),
    pytest.param(
        "product",
        "SHIRT-V",
        variable_shirt(),
        event("product_variant_removed", variant_sku="SHIRT-V-1"),
        CatalogProduct(sku="SHIRT-V", type="VARIABLE-PRODUCT", bindings=["color", "size"], variants={}),
        id="product_variant_removed",
    ),
    pytest.param(
        "product",
        "BUNDLE-1",
        bundle(),
        event("product_child_added", child_sku="CHILD-2", child_quantity=2),
        CatalogProduct(sku="BUNDLE-1", type="GROUPING-PRODUCT", children={"CHILD-1": 1, "CHILD-2": 2}),
        id="product_child_added",
    ),
    pytest.param(
        "product",
        "BUNDLE-1",
        bundle(),
        event("product_child_quantity_changed", child_sku="CHILD-1", child_quantity=5),
        CatalogProduct(sku="BUNDLE-1", type="GROUPING-PRODUCT", children={"CHILD-1": 5}),
        id="product_child_quantity_changed",
    ),
    pytest.param(
        "product",
        "BUNDLE-1",
        bundle(),
        event("product_child_removed", child_sku="CHILD-1"),
        CatalogProduct(sku="BUNDLE-1", type="GROUPING-PRODUCT", children={}),
        id="product_child_removed",
    ),
]


def test_the_single_event_table_covers_every_detailed_type() -> None:
    # Given the table below, When its event types are listed, Then they are the 21 detailed types
    types = [case.values[3].type for case in SINGLE_EVENTS if isinstance(case.values[3], Event)]
    assert sorted(types) == sorted(DETAILED_TYPES)
    assert len(DETAILED_TYPES) == 21


@pytest.mark.parametrize(("kind", "code", "current", "detailed", "expected"), SINGLE_EVENTS)
def test_each_detailed_event_applies_to_its_entity(
    kind: EntityKind, code: str, current: CatalogEntity | None, detailed: Event, expected: CatalogEntity
) -> None:
    # Given the entity as the catalog holds it (or nothing yet) and the others it may refer to
    before = None if current is None else current.model_copy(deep=True)
    # When one detailed event applies
    applied = apply(kind, code, current, detailed)
    # Then the entity is exactly the expected one, field by field
    assert type(applied.entity) is type(expected)
    assert applied.entity is not None
    assert applied.entity.model_dump() == expected.model_dump()
    # And what was passed in is left as it was (apply_events is pure)
    assert current == before


@pytest.mark.parametrize(
    ("attribute_code", "scope", "value", "stored"),
    [
        pytest.param("name", "global", "Shirt", StoredValue(scope="global", value="Shirt"), id="global-text"),
        pytest.param("price", "global", 19.9, StoredValue(scope="global", value=19.9), id="global-number"),
        pytest.param("color", "global", "blue", StoredValue(scope="global", value="o2"), id="select-to-id"),
        pytest.param(
            "tags",
            "global",
            ["eco", "new"],
            StoredValue(scope="global", value=["o2", "o1"]),
            id="multi-select-ids",
        ),
        pytest.param("tags", "global", [], StoredValue(scope="global", value=[]), id="multi-select-cleared"),
        pytest.param(
            "related",
            "global",
            ["CHILD-1", "CHILD-2"],
            StoredValue(scope="global", value=["CHILD-1", "CHILD-2"]),
            id="product-relation-kept-as-skus",
        ),
        pytest.param(
            "image",
            "global",
            {"url": "https://cdn.example/a.png", "path": "a.png"},
            StoredValue(scope="global", value={"url": "https://cdn.example/a.png", "path": "a.png"}),
            id="image-as-is",
        ),
        pytest.param(
            "name",
            "local",
            [{"language": "en_GB", "value": "Shirt"}, {"language": "de_DE", "value": "Hemd"}],
            StoredValue(scope="local", value={"en_GB": "Shirt", "de_DE": "Hemd"}),
            id="local-text-per-language",
        ),
        pytest.param(
            "finish",
            "local",
            [{"language": "en_GB", "value": "matte"}, {"language": "de_DE", "value": "gloss"}],
            StoredValue(scope="local", value={"en_GB": "o1", "de_DE": "o2"}),
            id="local-select-ids-per-language",
        ),
    ],
)
def test_a_value_is_stored_per_scope_with_option_ids_for_option_codes(
    attribute_code: str, scope: str, value: Any, stored: StoredValue
) -> None:
    # Given a product without the value
    product = CatalogProduct(sku="SHIRT-1", type="SIMPLE-PRODUCT")
    # When the value is added as the PIM sends it
    applied = apply(
        "product",
        "SHIRT-1",
        product,
        event(
            "product_value_added",
            attribute_code=attribute_code,
            attribute_type="TEXT",
            attribute_scope=scope,
            value=value,
        ),
    )
    # Then it is stored in its scope, an option as its id
    assert isinstance(applied.entity, CatalogProduct)
    assert applied.entity.values == {attribute_code: stored}


def test_a_local_value_given_as_translation_is_stored_per_language() -> None:
    # Given the reference's own example of product_value_added, whose item says `translation`
    reference_payload = {
        "attribute_code": "attribute_code",
        "attribute_type": "TEXT",
        "attribute_scope": "local",
        "value": [{"language": "en_GB", "translation": "This is the attribute value"}],
    }
    # When it applies to a product
    applied = apply(
        "product",
        "Product SKU",
        CatalogProduct(sku="Product SKU", type="SIMPLE-PRODUCT"),
        Event("product_value_added", reference_payload),
    )
    # Then the translation is the value in that language
    assert isinstance(applied.entity, CatalogProduct)
    assert applied.entity.values == {
        "attribute_code": StoredValue(scope="local", value={"en_GB": "This is the attribute value"})
    }


def test_translation_items_of_a_local_select_are_option_codes_too() -> None:
    # Given a local select given per language, one item as `value`, the other as `translation`
    value = [{"language": "en_GB", "translation": "gloss"}, {"language": "de_DE", "value": "matte"}]
    # When it is added
    applied = apply(
        "product",
        "SHIRT-1",
        CatalogProduct(sku="SHIRT-1", type="SIMPLE-PRODUCT"),
        value_event("product_value_added", "finish", value, "SELECT", "local"),
    )
    # Then both are option ids
    assert isinstance(applied.entity, CatalogProduct)
    assert applied.entity.values["finish"] == StoredValue(scope="local", value={"en_GB": "o2", "de_DE": "o1"})


def test_a_name_change_typed_attribute_name_changed_renames_a_category() -> None:
    # Given a category, and the reference's example of category_name_changed, typed attribute_name_changed
    category = CatalogCategory(code="shirts", names={"en_GB": "Shirts"})
    renamed = event("attribute_name_changed", name=names(en_GB="This is the new category name"))
    # When it applies in a category request
    applied = apply("category", "shirts", category, renamed)
    # Then the category has the new name
    assert applied.entity == CatalogCategory(code="shirts", names={"en_GB": "This is the new category name"})


def test_a_name_change_typed_category_name_changed_renames_an_attribute() -> None:
    # Given an attribute, When a name change typed the other way applies to it
    applied = apply("attribute", "color", color(), event("category_name_changed", name=names(en_GB="Hue")))
    # Then it is renamed all the same, its options kept
    assert isinstance(applied.entity, CatalogAttribute)
    assert applied.entity.names == {"en_GB": "Hue"}
    assert applied.entity.options == color().options


# --- several events of one request, in order -----------------------------------------------------


def test_an_attributes_events_apply_in_order() -> None:
    # Given a request that creates an attribute, renames it and gives it options
    events = [
        event("attribute_created", code="color", type="SELECT", scope="global", name=names(en_GB="Colour")),
        event("attribute_name_changed", name=names(en_GB="Color", fr_FR="Couleur")),
        event("attribute_option_created", option_code="red", option_name=names(en_GB="Red")),
        event("attribute_option_created", option_code="blue", option_name=names(en_GB="Blue")),
        event("attribute_option_code_changed", option_code="navy", previous_option_code="blue"),
        event("attribute_option_name_changed", option_code="navy", option_name=names(en_GB="Navy")),
        event("attribute_option_deleted", option_code="red"),
    ]
    # When they apply to nothing yet
    applied = apply("attribute", "color", None, *events)
    # Then the attribute is what they bring, one after the other
    assert applied.entity == CatalogAttribute(
        code="color",
        type="SELECT",
        scope="global",
        names={"en_GB": "Color", "fr_FR": "Couleur"},
        options={"o2": option("navy", en_GB="Navy")},
        next_option=3,
        deleted_options=["red"],
    )


def test_a_products_events_apply_in_order() -> None:
    # Given a request creating a variable product, then filling it
    events = [
        event("product_created", sku="SHIRT-V", type="VARIABLE-PRODUCT", category_codes=["shirts"]),
        event("product_added_to_category", category_code="sale"),
        value_event(
            "product_value_added", "name", [{"language": "en_GB", "value": "Shirt"}], "TEXT", "local"
        ),
        value_event(
            "product_value_changed", "name", [{"language": "en_GB", "value": "T-Shirt"}], "TEXT", "local"
        ),
        event("product_binding_added", attribute_code="color"),
        event(
            "product_variant_added",
            variant_sku="SHIRT-V-1",
            binding_values=[binding("color", "blue")],
        ),
        event("product_removed_from_category", category_code="shirts"),
    ]
    # When they apply
    applied = apply("product", "SHIRT-V", None, *events)
    # Then the product has each change, the later over the earlier
    assert applied.entity == CatalogProduct(
        sku="SHIRT-V",
        type="VARIABLE-PRODUCT",
        categories=["sale"],
        values={"name": StoredValue(scope="local", value={"en_GB": "T-Shirt"})},
        bindings=["color"],
        variants={"SHIRT-V-1": {"color": "o2"}},
    )
    assert applied.variants_added == {"SHIRT-V-1"}
    assert applied.variants_removed == set()


def test_an_option_created_in_a_request_is_usable_by_a_product_once_the_attribute_is_stored() -> None:
    # Given an attribute request creating an option, applied and stored
    catalog = known()
    created = apply(
        "attribute",
        "color",
        catalog.attributes["color"],
        event("attribute_option_created", option_code="green", option_name=names(en_GB="Green")),
    )
    assert isinstance(created.entity, CatalogAttribute)
    catalog.attributes["color"] = created.entity
    # When a product then takes that option
    applied = apply(
        "product",
        "SHIRT-1",
        shirt(),
        value_event("product_value_changed", "color", "green", "SELECT", "global"),
        catalog=catalog,
    )
    # Then it holds the new option's id
    assert isinstance(applied.entity, CatalogProduct)
    assert applied.entity.values["color"] == StoredValue(scope="global", value="o3")


def test_product_created_again_takes_the_new_type_and_adds_its_categories_to_those_it_has() -> None:
    # Given a product in category shirts, with values
    # When a product_created for it applies again, in categories sale and shirts
    applied = apply(
        "product",
        "SHIRT-1",
        shirt(),
        event("product_created", sku="SHIRT-1", type="GROUPING-PRODUCT", category_codes=["sale", "shirts"]),
    )
    # Then its type is the event's, its categories those it had then the event's new ones, values kept
    assert applied.entity == CatalogProduct(
        sku="SHIRT-1",
        type="GROUPING-PRODUCT",
        categories=["shirts", "sale"],
        values={
            "name": StoredValue(scope="local", value={"en_GB": "Shirt"}),
            "color": StoredValue(scope="global", value="o1"),
        },
    )


@pytest.mark.parametrize(
    ("early", "expected"),
    [
        pytest.param(
            value_event("product_value_added", "price", 19.9, "PRICE", "global"),
            CatalogProduct(sku="SHIRT-1", values={"price": StoredValue(scope="global", value=19.9)}),
            id="value",
        ),
        pytest.param(
            event("product_added_to_category", category_code="sale"),
            CatalogProduct(sku="SHIRT-1", categories=["sale"]),
            id="category",
        ),
        pytest.param(
            event("product_binding_added", attribute_code="color"),
            CatalogProduct(sku="SHIRT-1", bindings=["color"]),
            id="binding",
        ),
        pytest.param(
            event("product_child_added", child_sku="CHILD-1", child_quantity=2),
            CatalogProduct(sku="SHIRT-1", children={"CHILD-1": 2}),
            id="child",
        ),
        pytest.param(
            event("product_value_removed", attribute_code="price", attribute_type="PRICE"),
            CatalogProduct(sku="SHIRT-1"),
            id="removal",
        ),
    ],
)
def test_a_product_changed_before_its_product_created_is_known_with_its_type_to_come(
    early: Event, expected: CatalogProduct
) -> None:
    # Given no product SHIRT-1 yet
    # When a product_updated request's event for it applies
    applied = apply("product", "SHIRT-1", None, early)
    # Then the product is known from then on, with no type yet
    assert applied.entity == expected
    assert isinstance(applied.entity, CatalogProduct)
    assert applied.entity.type is None


def test_a_product_created_after_its_changes_takes_its_type_and_keeps_what_they_brought() -> None:
    # Given a product heard of first through changes: a category and a value
    early = apply(
        "product",
        "SHIRT-1",
        None,
        event("product_added_to_category", category_code="sale"),
        value_event("product_value_added", "price", 19.9, "PRICE", "global"),
    )
    # When its product_created comes, in categories shirts and sale
    applied = apply(
        "product",
        "SHIRT-1",
        early.entity,
        event("product_created", sku="SHIRT-1", type="SIMPLE-PRODUCT", category_codes=["shirts", "sale"]),
    )
    # Then it has its type, the categories it was added to first, and its value
    assert applied.entity == CatalogProduct(
        sku="SHIRT-1",
        type="SIMPLE-PRODUCT",
        categories=["sale", "shirts"],
        values={"price": StoredValue(scope="global", value=19.9)},
    )


def test_attribute_created_again_keeps_the_options_and_their_ids() -> None:
    # Given an attribute with options, When attribute_created applies to it again
    applied = apply(
        "attribute",
        "color",
        color(),
        event("attribute_created", code="color", type="SELECT", scope="local", name=names(en_GB="Hue")),
        event("attribute_option_created", option_code="green", option_name=names(en_GB="Green")),
    )
    # Then its options keep their ids and a new option takes the next one
    assert applied.entity == CatalogAttribute(
        code="color",
        type="SELECT",
        scope="local",
        names={"en_GB": "Hue"},
        options={
            "o1": option("red", en_GB="Red"),
            "o2": option("blue", en_GB="Blue"),
            "o3": option("green", en_GB="Green"),
        },
        next_option=4,
    )


# --- waiting for another entity ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "current", "events", "missing"),
    [
        pytest.param(
            "product",
            "SHIRT-1",
            None,
            [
                event(
                    "product_created",
                    sku="SHIRT-1",
                    type="SIMPLE-PRODUCT",
                    category_codes=["shirts", "ghost"],
                )
            ],
            "category 'ghost'",
            id="product_created-unknown-category",
        ),
        pytest.param(
            "product",
            "SHIRT-1",
            shirt(),
            [event("product_added_to_category", category_code="ghost")],
            "category 'ghost'",
            id="added-to-unknown-category",
        ),
        pytest.param(
            "product",
            "SHIRT-1",
            shirt(),
            [value_event("product_value_added", "ghost", "x", "TEXT", "global")],
            "attribute 'ghost'",
            id="value-of-unknown-attribute",
        ),
        pytest.param(
            "product",
            "SHIRT-1",
            shirt(),
            [value_event("product_value_changed", "color", "purple", "SELECT", "global")],
            "option 'purple'",
            id="select-unknown-option",
        ),
        pytest.param(
            "product",
            "SHIRT-1",
            shirt(),
            [value_event("product_value_added", "tags", ["new", "vintage"], "MULTI_SELECT", "global")],
            "option 'vintage'",
            id="multi-select-unknown-option",
        ),
        pytest.param(
            "product",
            "SHIRT-1",
            shirt(),
            [
                value_event(
                    "product_value_added",
                    "finish",
                    [{"language": "en_GB", "value": "matte"}, {"language": "de_DE", "value": "satin"}],
                    "SELECT",
                    "local",
                )
            ],
            "option 'satin'",
            id="local-select-unknown-option",
        ),
        pytest.param(
            "product",
            "SHIRT-V",
            variable_shirt(),
            [event("product_binding_added", attribute_code="ghost")],
            "attribute 'ghost'",
            id="binding-unknown-attribute",
        ),
        pytest.param(
            "product",
            "SHIRT-V",
            variable_shirt(),
            [event("product_variant_added", variant_sku="GHOST-1", binding_values=[])],
            "variant 'GHOST-1'",
            id="variant-product-unknown",
        ),
        pytest.param(
            "product",
            "SHIRT-V",
            variable_shirt(),
            [
                event(
                    "product_variant_added",
                    variant_sku="SHIRT-V-2",
                    binding_values=[binding("ghost", "red")],
                )
            ],
            "attribute 'ghost'",
            id="variant-binding-unknown-attribute",
        ),
        pytest.param(
            "product",
            "SHIRT-V",
            variable_shirt(),
            [
                event(
                    "product_variant_added",
                    variant_sku="SHIRT-V-2",
                    binding_values=[binding("color", "purple")],
                )
            ],
            "option 'purple'",
            id="variant-binding-unknown-option",
        ),
        pytest.param(
            "product",
            "BUNDLE-1",
            bundle(),
            [event("product_child_added", child_sku="GHOST-1", child_quantity=1)],
            "child 'GHOST-1'",
            id="child-unknown",
        ),
        pytest.param(
            "product",
            "BUNDLE-1",
            bundle(),
            [event("product_child_quantity_changed", child_sku="GHOST-1", child_quantity=3)],
            "child 'GHOST-1'",
            id="quantity-of-unknown-child",
        ),
        pytest.param(
            "product",
            "SHIRT-1",
            None,
            [value_event("product_value_added", "ghost", 1, "PRICE", "global")],
            "attribute 'ghost'",
            id="product-update-before-created-needing-an-unknown-attribute",
        ),
        pytest.param(
            "attribute",
            "color",
            None,
            [event("attribute_option_created", option_code="red", option_name=names(en_GB="Red"))],
            "attribute 'color' is not known yet",
            id="attribute-update-before-created",
        ),
        pytest.param(
            "category",
            "shirts",
            None,
            [event("category_name_changed", code="shirts", name=names(en_GB="Tops"))],
            "category 'shirts' is not known yet",
            id="category-update-before-created",
        ),
        pytest.param("attribute", "color", None, [], "attribute 'color'", id="attribute-no-events-unknown"),
        pytest.param("category", "shirts", None, [], "category 'shirts'", id="category-no-events-unknown"),
        pytest.param("product", "SHIRT-1", None, [], "product 'SHIRT-1'", id="product-no-events-unknown"),
    ],
)
def test_an_event_needing_what_is_not_known_yet_waits(
    kind: EntityKind, code: str, current: CatalogEntity | None, events: list[Event], missing: str
) -> None:
    # Given a catalog without what the event needs
    # When the request applies, Then it waits, naming what it waits for
    with pytest.raises(Waiting, match=missing):
        apply(kind, code, current, *events)


def test_a_wait_late_in_a_request_leaves_the_entity_as_it_was() -> None:
    # Given a product, and a request whose first event applies and second waits
    product = shirt()
    before = product.model_copy(deep=True)
    events = [
        event("product_added_to_category", category_code="sale"),
        event("product_added_to_category", category_code="ghost"),
    ]
    # When it applies, Then it waits and the product passed in is unchanged
    with pytest.raises(Waiting):
        apply("product", "SHIRT-1", product, *events)
    assert product == before


def test_an_event_waits_until_the_entity_it_needs_is_known() -> None:
    # Given a product waiting for category "new-in"
    catalog = known()
    added = event("product_added_to_category", category_code="new-in")
    with pytest.raises(Waiting):
        apply("product", "SHIRT-1", shirt(), added, catalog=catalog)
    # When the category is known and the request is retried
    catalog.categories["new-in"] = CatalogCategory(code="new-in")
    applied = apply("product", "SHIRT-1", shirt(), added, catalog=catalog)
    # Then it applies
    assert isinstance(applied.entity, CatalogProduct)
    assert applied.entity.categories == ["shirts", "new-in"]


def test_a_childs_quantity_changes_without_waiting_when_it_is_a_child_already() -> None:
    # Given a grouping product whose child the catalog no longer knows
    product = CatalogProduct(sku="BUNDLE-1", type="GROUPING-PRODUCT", children={"GONE-1": 1})
    # When the child's quantity changes
    applied = apply(
        "product",
        "BUNDLE-1",
        product,
        event("product_child_quantity_changed", child_sku="GONE-1", child_quantity=4),
    )
    # Then it applies: what the product holds needs no wait
    assert isinstance(applied.entity, CatalogProduct)
    assert applied.entity.children == {"GONE-1": 4}


# --- lenient reading of an entity's own earlier events -------------------------------------------


@pytest.mark.parametrize(
    ("events", "options", "next_option", "deleted"),
    [
        pytest.param(
            [event("attribute_option_code_changed", option_code="green", previous_option_code="lime")],
            {"o1": option("red", en_GB="Red"), "o2": option("blue", en_GB="Blue"), "o3": option("green")},
            4,
            [],
            id="code-changed-before-created",
        ),
        pytest.param(
            [event("attribute_option_name_changed", option_code="green", option_name=names(en_GB="Green"))],
            {
                "o1": option("red", en_GB="Red"),
                "o2": option("blue", en_GB="Blue"),
                "o3": option("green", en_GB="Green"),
            },
            4,
            [],
            id="named-before-created",
        ),
        pytest.param(
            [
                event("attribute_option_code_changed", option_code="scarlet", previous_option_code="red"),
                event("attribute_option_code_changed", option_code="scarlet", previous_option_code="red"),
            ],
            {"o1": option("scarlet", en_GB="Red"), "o2": option("blue", en_GB="Blue")},
            3,
            [],
            id="code-change-replayed",
        ),
        pytest.param(
            [event("attribute_option_code_changed", option_code="red", previous_option_code="red")],
            {"o1": option("red", en_GB="Red"), "o2": option("blue", en_GB="Blue")},
            3,
            [],
            id="code-changed-to-itself",
        ),
        pytest.param(
            [
                event("attribute_option_deleted", option_code="red"),
                event("attribute_option_name_changed", option_code="red", option_name=names(en_GB="Ruby")),
            ],
            {"o2": option("blue", en_GB="Blue")},
            3,
            ["red"],
            id="deleted-then-renamed-ignored",
        ),
        pytest.param(
            [event("attribute_option_deleted", option_code="purple")],
            {"o1": option("red", en_GB="Red"), "o2": option("blue", en_GB="Blue")},
            3,
            ["purple"],
            id="absent-option-deleted",
        ),
        pytest.param(
            [
                event("attribute_option_deleted", option_code="red"),
                event("attribute_option_deleted", option_code="red"),
            ],
            {"o2": option("blue", en_GB="Blue")},
            3,
            ["red"],
            id="option-deleted-twice",
        ),
        pytest.param(
            [
                event("attribute_option_deleted", option_code="red"),
                event("attribute_option_created", option_code="red", option_name=names(en_GB="Red again")),
            ],
            {"o2": option("blue", en_GB="Blue"), "o3": option("red", en_GB="Red again")},
            4,
            [],
            id="deleted-then-created-is-a-new-option",
        ),
    ],
)
def test_an_attributes_own_earlier_events_are_read_leniently(
    events: list[Event], options: dict[str, CatalogOption], next_option: int, deleted: list[str]
) -> None:
    # Given the color attribute (red o1, blue o2)
    # When events that assume an earlier state of its options apply
    applied = apply("attribute", "color", color(), *events)
    # Then they apply without waiting, to the options as they are
    assert isinstance(applied.entity, CatalogAttribute)
    assert applied.entity.options == options
    assert applied.entity.next_option == next_option
    assert applied.entity.deleted_options == deleted


@pytest.mark.parametrize(
    ("current", "removal"),
    [
        pytest.param(shirt(), event("product_removed_from_category", category_code="sale"), id="category"),
        pytest.param(
            shirt(),
            event("product_value_removed", attribute_code="price", attribute_type="PRICE"),
            id="value",
        ),
        pytest.param(
            shirt(),
            event("product_value_removed", attribute_code="ghost", attribute_type="TEXT"),
            id="unknown-attr",
        ),
        pytest.param(variable_shirt(), event("product_binding_removed", attribute_code="tags"), id="binding"),
        pytest.param(
            variable_shirt(), event("product_variant_removed", variant_sku="SHIRT-V-9"), id="variant"
        ),
        pytest.param(bundle(), event("product_child_removed", child_sku="CHILD-2"), id="child"),
    ],
)
def test_a_removal_of_what_is_absent_changes_nothing(current: CatalogProduct, removal: Event) -> None:
    # Given a product without what the event removes
    # When the removal applies
    applied = apply("product", current.sku, current, removal)
    # Then the product is as it was, and no variant is let go
    assert applied.entity == current
    assert applied.variants_removed == set()
    assert applied.variants_added == set()


@pytest.mark.parametrize(
    ("addition", "field_name", "expected"),
    [
        pytest.param(
            event("product_added_to_category", category_code="shirts"),
            "categories",
            ["shirts"],
            id="category",
        ),
        pytest.param(
            event("product_binding_added", attribute_code="color"),
            "bindings",
            ["color", "size"],
            id="binding",
        ),
    ],
)
def test_an_addition_of_what_is_there_adds_no_duplicate(
    addition: Event, field_name: str, expected: list[str]
) -> None:
    # Given a product that has the category or binding already
    current = shirt() if field_name == "categories" else variable_shirt()
    # When it is added again
    applied = apply("product", current.sku, current, addition)
    # Then it is there once
    assert getattr(applied.entity, field_name) == expected


# --- conflicts -----------------------------------------------------------------------------------


def test_an_option_code_change_onto_another_options_code_is_a_conflict() -> None:
    # Given color with options red and blue
    # When red's code changes to blue
    # Then no wait would resolve it: a conflict naming both codes
    with pytest.raises(CatalogConflictError, match=r"'red'.*'blue'"):
        apply(
            "attribute",
            "color",
            color(),
            event("attribute_option_code_changed", option_code="blue", previous_option_code="red"),
        )


def test_a_conflict_is_not_a_wait() -> None:
    # Given the conflict above, Then it is a ValueError and not Waiting (retrying cannot help)
    assert issubclass(CatalogConflictError, ValueError)
    assert not issubclass(CatalogConflictError, Waiting)


# --- an option code change, seen through the products that use it ---------------------------------


def used_everywhere() -> tuple[dict[str, CatalogAttribute], dict[str, CatalogProduct]]:
    """Attributes, and products using their options as a select, a multi-select, a local select and
    as a variable product's variant bindings."""
    attributes = {attribute.code: attribute for attribute in (color(), size(), tags(), finish())}
    products = {
        "SHIRT-1": CatalogProduct(
            sku="SHIRT-1",
            type="SIMPLE-PRODUCT",
            categories=["shirts"],
            values={
                "color": StoredValue(scope="global", value="o1"),
                "tags": StoredValue(scope="global", value=["o1", "o2"]),
                "finish": StoredValue(scope="local", value={"en_GB": "o1", "de_DE": "o2"}),
            },
        ),
        "SHIRT-V": CatalogProduct(
            sku="SHIRT-V",
            type="VARIABLE-PRODUCT",
            bindings=["size", "color"],
            variants={"SHIRT-V-1": {"color": "o1", "size": "o1"}, "SHIRT-V-2": {"color": "o2", "size": "o2"}},
        ),
    }
    return attributes, products


def test_an_option_code_change_is_seen_everywhere_the_option_is_used_without_touching_products() -> None:
    # Given products using options of color, tags and finish
    attributes, products = used_everywhere()
    untouched = {sku: product.model_copy(deep=True) for sku, product in products.items()}
    categories = {"shirts": CatalogCategory(code="shirts", names={"en_GB": "Shirts"})}
    # When each attribute's first option changes code, applied to the attribute alone
    for code, previous, new in (
        ("color", "red", "scarlet"),
        ("tags", "new", "fresh"),
        ("finish", "matte", "satin"),
    ):
        applied = apply(
            "attribute",
            code,
            attributes[code],
            event("attribute_option_code_changed", option_code=new, previous_option_code=previous),
        )
        assert isinstance(applied.entity, CatalogAttribute)
        attributes[code] = applied.entity
    # Then the products are unchanged, and the catalog shows the new codes wherever they are used
    assert products == untouched
    assert snapshot(attributes, categories, products) == {
        "attributes": {
            "color": {
                "type": "SELECT",
                "scope": "global",
                "names": {"en_GB": "Colour", "de_DE": "Farbe"},
                "options": {"scarlet": {"en_GB": "Red"}, "blue": {"en_GB": "Blue"}},
            },
            "finish": {
                "type": "SELECT",
                "scope": "local",
                "names": {},
                "options": {"satin": {"en_GB": "Matte"}, "gloss": {"en_GB": "Gloss"}},
            },
            "size": {
                "type": "SELECT",
                "scope": "global",
                "names": {"en_GB": "Size"},
                "options": {"s": {"en_GB": "S"}, "m": {"en_GB": "M"}},
            },
            "tags": {
                "type": "MULTI_SELECT",
                "scope": "global",
                "names": {},
                "options": {"fresh": {"en_GB": "New"}, "eco": {"en_GB": "Eco"}},
            },
        },
        "categories": {"shirts": {"names": {"en_GB": "Shirts"}}},
        "products": {
            "SHIRT-1": {
                "type": "SIMPLE-PRODUCT",
                "categories": ["shirts"],
                "values": {
                    "color": "scarlet",
                    "tags": ["fresh", "eco"],
                    "finish": {"en_GB": "satin", "de_DE": "gloss"},
                },
                "bindings": [],
                "variants": {},
                "children": {},
            },
            "SHIRT-V": {
                "type": "VARIABLE-PRODUCT",
                "categories": [],
                "values": {},
                "bindings": ["color", "size"],
                "variants": {
                    "SHIRT-V-1": {"color": "scarlet", "size": "s"},
                    "SHIRT-V-2": {"color": "blue", "size": "m"},
                },
                "children": {},
            },
        },
    }


@pytest.mark.parametrize(
    ("attribute", "stored", "codes"),
    [
        pytest.param(color(), StoredValue(scope="global", value="o2"), "blue", id="select"),
        pytest.param(
            tags(), StoredValue(scope="global", value=["o2", "o1"]), ["eco", "new"], id="multi-select"
        ),
        pytest.param(
            finish(),
            StoredValue(scope="local", value={"en_GB": "o2", "de_DE": "o1"}),
            {"en_GB": "gloss", "de_DE": "matte"},
            id="local-select",
        ),
        pytest.param(
            plain("name", "TEXT", "local"),
            StoredValue(scope="local", value={"en_GB": "o1"}),
            {"en_GB": "o1"},
            id="text-that-looks-like-an-id",
        ),
        pytest.param(None, StoredValue(scope="global", value="o1"), "o1", id="attribute-unknown"),
        pytest.param(color(), StoredValue(scope="global", value=None), None, id="no-value"),
    ],
)
def test_value_codes_turns_option_ids_back_into_codes(
    attribute: CatalogAttribute | None, stored: StoredValue, codes: Any
) -> None:
    # Given a stored value, When read as the PIM sees it, Then option ids are their current codes
    assert value_codes(attribute, stored) == codes


def test_value_codes_follow_an_option_code_change() -> None:
    # Given a product's select value stored as o1 (red)
    stored = StoredValue(scope="global", value="o1")
    assert value_codes(color(), stored) == "red"
    # When red's code changes to scarlet
    applied = apply(
        "attribute",
        "color",
        color(),
        event("attribute_option_code_changed", option_code="scarlet", previous_option_code="red"),
    )
    # Then the same stored value reads as scarlet
    assert isinstance(applied.entity, CatalogAttribute)
    assert value_codes(applied.entity, stored) == "scarlet"


# --- deletion and variants taken on or let go -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "current"),
    [
        pytest.param("attribute", "color", color(), id="attribute"),
        pytest.param("category", "shirts", CatalogCategory(code="shirts"), id="category"),
        pytest.param("product", "SHIRT-V", variable_shirt(), id="product"),
        pytest.param("product", "GHOST-1", None, id="never-known"),
    ],
)
def test_a_deletion_returns_no_entity(kind: EntityKind, code: str, current: CatalogEntity | None) -> None:
    # Given an entity (or none), When a *_deleted request applies, even with stray events
    applied = apply_events(
        kind,
        code,
        current,
        change="deleted",
        events=[event("product_added_to_category", category_code="ghost")],
        known=FakeKnown(),
    )
    # Then the entity is gone and nothing waits; a variable product lets its variants go (they are
    # sold on their own again), nothing else lists a variant
    let_go = {"SHIRT-V-1"} if code == "SHIRT-V" else set()
    assert applied == Applied(None, variants_removed=let_go)
    assert applied.entity is None
    assert applied.variants_added == set()


VARIANT_2 = event(
    "product_variant_added",
    variant_sku="SHIRT-V-2",
    binding_values=[binding("color", "blue")],
)
VARIANT_2_REMOVED = event("product_variant_removed", variant_sku="SHIRT-V-2")
VARIANT_1_REMOVED = event("product_variant_removed", variant_sku="SHIRT-V-1")


@pytest.mark.parametrize(
    ("events", "added", "removed", "variants"),
    [
        pytest.param([VARIANT_2], {"SHIRT-V-2"}, set(), ["SHIRT-V-1", "SHIRT-V-2"], id="added"),
        pytest.param([VARIANT_1_REMOVED], set(), {"SHIRT-V-1"}, [], id="removed"),
        pytest.param(
            [VARIANT_2, VARIANT_2_REMOVED], set(), {"SHIRT-V-2"}, ["SHIRT-V-1"], id="added-then-removed"
        ),
        pytest.param(
            [VARIANT_1_REMOVED, VARIANT_2], {"SHIRT-V-2"}, {"SHIRT-V-1"}, ["SHIRT-V-2"], id="swapped"
        ),
        pytest.param(
            [
                VARIANT_1_REMOVED,
                event(
                    "product_variant_added",
                    variant_sku="SHIRT-V-1",
                    binding_values=[binding("size", "m")],
                ),
            ],
            {"SHIRT-V-1"},
            set(),
            ["SHIRT-V-1"],
            id="removed-then-added-again",
        ),
    ],
)
def test_applied_lists_the_variants_taken_on_and_let_go(
    events: list[Event], added: set[str], removed: set[str], variants: list[str]
) -> None:
    # Given a variable product with variant SHIRT-V-1
    # When variant events apply
    applied = apply("product", "SHIRT-V", variable_shirt(), *events)
    # Then Applied says which variant products it took on and let go, the last event winning
    assert applied.variants_added == added
    assert applied.variants_removed == removed
    assert isinstance(applied.entity, CatalogProduct)
    assert list(applied.entity.variants) == variants


def test_a_variant_added_again_takes_its_new_options() -> None:
    # Given a variable product whose variant SHIRT-V-1 is red and small
    # When it is added again as blue (only color given)
    applied = apply(
        "product",
        "SHIRT-V",
        variable_shirt(),
        event(
            "product_variant_added",
            variant_sku="SHIRT-V-1",
            binding_values=[binding("color", "blue")],
        ),
    )
    # Then its options are the event's
    assert isinstance(applied.entity, CatalogProduct)
    assert applied.entity.variants == {"SHIRT-V-1": {"color": "o2"}}


# --- references ----------------------------------------------------------------------------------


def test_references_of_a_product_are_its_attributes_categories_and_variants() -> None:
    # Given a variable product with values, bindings, categories, variants and a child
    product = CatalogProduct(
        sku="SHIRT-V",
        type="VARIABLE-PRODUCT",
        categories=["shirts", "sale"],
        values={
            "name": StoredValue(scope="local", value={"en_GB": "Shirt"}),
            "color": StoredValue(scope="global", value="o1"),
        },
        bindings=["size", "color"],
        variants={"SHIRT-V-1": {"size": "o1"}, "SHIRT-V-2": {"size": "o2"}},
        children={"CHILD-1": 1},
    )
    # When its references are read, Then they are exactly these (children are not among them)
    assert references(product) == frozenset(
        {
            "attribute:name",
            "attribute:color",
            "attribute:size",
            "category:shirts",
            "category:sale",
            "variant:SHIRT-V-1",
            "variant:SHIRT-V-2",
        }
    )


@pytest.mark.parametrize(
    "entity",
    [
        pytest.param(None, id="deleted"),
        pytest.param(color(), id="attribute"),
        pytest.param(CatalogCategory(code="shirts"), id="category"),
        pytest.param(CatalogProduct(sku="BARE-1", type="SIMPLE-PRODUCT"), id="bare-product"),
    ],
)
def test_references_of_anything_else_are_none(entity: CatalogEntity | None) -> None:
    # Given no product, or one that refers to nothing, Then its references are empty
    assert references(entity) == frozenset()


# --- a bug found while writing these tests ----------------------------------------------------------


def test_an_option_renamed_to_a_deleted_code_takes_later_name_changes() -> None:
    # Given color, whose option red is deleted, and blue then takes the code red
    events = [
        event("attribute_option_deleted", option_code="red"),
        event("attribute_option_code_changed", option_code="red", previous_option_code="blue"),
        # When the (existing) option red is renamed
        event("attribute_option_name_changed", option_code="red", option_name=names(en_GB="Ruby")),
    ]
    applied = apply("attribute", "color", color(), *events)
    # Then the option that is red now has the new name, and red is no longer a deleted code
    assert isinstance(applied.entity, CatalogAttribute)
    assert applied.entity.options == {"o2": option("red", en_GB="Ruby")}
    assert applied.entity.deleted_options == []
