"""product_view: one product of the catalog state, resolved in the definition's languages, as the PIM
source definition's mapping reads it.

The expected documents are written by hand from the module's docstring: values in the first language
that has one, options by name (falling back to the code), codes and localized values beside them,
only the categories the catalog knows, a variable product's options and variants, a grouping
product's children, and nothing of what was deleted since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from mercator.pim.catalog_model import (
    CatalogAttribute,
    CatalogCategory,
    CatalogOption,
    CatalogProduct,
    StoredValue,
)
from mercator.pim.product_view import product_view

UPDATED_AT = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
LANGUAGES = ["de_DE", "en_GB"]


@dataclass
class FakeKnown:
    """The catalog as product_view reads it: plain dicts."""

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


def attribute(
    code: str,
    type_: str,
    scope: Any = "global",
    options: dict[str, CatalogOption] | None = None,
    **names: str,
) -> CatalogAttribute:
    return CatalogAttribute(code=code, type=type_, scope=scope, names=names, options=options or {})


def glob(value: Any) -> StoredValue:
    return StoredValue(scope="global", value=value)


def local(**per_language: Any) -> StoredValue:
    return StoredValue(scope="local", value=per_language)


def catalog() -> FakeKnown:
    return FakeKnown(
        attributes={
            item.code: item
            for item in (
                attribute("name", "TEXT", "local", en_GB="Name"),
                attribute("description", "TEXT_AREA", "local"),
                attribute("subtitle", "TEXT", "local"),
                attribute("price", "PRICE"),
                attribute("image", "IMAGE"),
                attribute(
                    "color",
                    "SELECT",
                    options={
                        "o1": option("red", en_GB="Red", de_DE="Rot"),
                        "o2": option("blue", en_GB="Blue"),
                        "o3": option("green"),
                        "o4": option("white", fr_FR="Blanc"),
                    },
                    en_GB="Colour",
                    de_DE="Farbe",
                ),
                attribute(
                    "size",
                    "SELECT",
                    options={
                        "o1": option("s", en_GB="Small", de_DE="Klein"),
                        "o2": option("m", en_GB="Medium"),
                    },
                ),
                attribute(
                    "tags",
                    "MULTI_SELECT",
                    options={
                        "o1": option("new", en_GB="New", de_DE="Neu"),
                        "o2": option("eco", en_GB="Eco"),
                        "o3": option("vintage"),
                    },
                ),
                attribute(
                    "finish",
                    "SELECT",
                    "local",
                    options={
                        "o1": option("matte", en_GB="Matte", de_DE="Matt"),
                        "o2": option("gloss", en_GB="Gloss"),
                    },
                ),
            )
        },
        categories={
            "shirts": CatalogCategory(code="shirts", names={"en_GB": "Shirts", "de_DE": "Hemden"}),
            "sale": CatalogCategory(code="sale", names={"en_GB": "Sale"}),
            "plain": CatalogCategory(code="plain"),
        },
    )


# --- a simple product ----------------------------------------------------------------------------


def test_a_simple_product_is_resolved_in_the_definitions_languages() -> None:
    # Given a simple product with values of every shape and categories, one of them unknown
    product = CatalogProduct(
        sku="SHIRT-1",
        type="SIMPLE-PRODUCT",
        categories=["sale", "gone", "shirts", "plain"],
        values={
            "name": local(en_GB="Shirt", de_DE="Hemd"),
            "description": local(en_GB="Cotton"),
            "subtitle": local(fr_FR="Chemise"),
            "price": glob(19.9),
            "image": glob({"url": "https://cdn.example/a.png", "path": "a.png"}),
            "color": glob("o2"),
            "tags": glob(["o1", "o2", "o3"]),
            "finish": local(de_DE="o1", en_GB="o2"),
        },
    )
    # When it is viewed in German, then English
    view = product_view(product, catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then every value is in the first language that has one, options by name, codes beside them
    assert view == {
        "sku": "SHIRT-1",
        "type": "SIMPLE-PRODUCT",
        "kind": "simple",
        "values": {
            "name": "Hemd",
            "description": "Cotton",
            "subtitle": None,
            "price": 19.9,
            "image": {"url": "https://cdn.example/a.png", "path": "a.png"},
            "color": "Blue",
            "tags": ["Neu", "Eco", "vintage"],
            "finish": "Matt",
        },
        "codes": {
            "color": "blue",
            "tags": ["new", "eco", "vintage"],
            "finish": {"de_DE": "matte", "en_GB": "gloss"},
        },
        "localized": {
            "name": {"en_GB": "Shirt", "de_DE": "Hemd"},
            "description": {"en_GB": "Cotton"},
            "subtitle": {"fr_FR": "Chemise"},
            "finish": {"de_DE": "Matt", "en_GB": "Gloss"},
        },
        "categories": [
            {"code": "sale", "name": "Sale", "names": {"en_GB": "Sale"}},
            {"code": "shirts", "name": "Hemden", "names": {"en_GB": "Shirts", "de_DE": "Hemden"}},
            {"code": "plain", "name": "plain", "names": {}},
        ],
        "children": [],
        "options": [],
        "variants": [],
        "updatedAt": "2024-05-01T12:30:00+00:00",
    }


@pytest.mark.parametrize(
    ("languages", "name", "finish"),
    [
        pytest.param(["de_DE", "en_GB"], "Hemd", "Matt", id="german-first"),
        pytest.param(["en_GB", "de_DE"], "Shirt", "Matte", id="english-first"),
        pytest.param(["fr_FR", "en_GB"], "Shirt", "Matte", id="first-language-absent"),
        pytest.param(["fr_FR"], None, None, id="no-language-has-one"),
    ],
)
def test_a_local_value_is_the_one_of_the_first_language_that_has_one(
    languages: list[str], name: str | None, finish: str | None
) -> None:
    # Given a product with a local text and a local select in two languages
    product = CatalogProduct(
        sku="SHIRT-1",
        type="SIMPLE-PRODUCT",
        values={"name": local(en_GB="Shirt", de_DE="Hemd"), "finish": local(en_GB="o1", de_DE="o1")},
    )
    # When it is viewed in the given languages
    view = product_view(product, catalog(), languages=languages, updated_at=UPDATED_AT)
    # Then each value is the first of those languages', and localized keeps them all
    assert view["values"] == {"name": name, "finish": finish}
    assert view["localized"]["name"] == {"en_GB": "Shirt", "de_DE": "Hemd"}


@pytest.mark.parametrize(
    ("option_id", "shown"),
    [
        pytest.param("o1", "Rot", id="name-in-first-language"),
        pytest.param("o2", "Blue", id="name-in-later-language"),
        pytest.param("o3", "green", id="no-names-falls-back-to-code"),
        pytest.param("o4", "white", id="names-in-other-languages-fall-back-to-code"),
    ],
)
def test_an_option_is_shown_by_its_name_in_the_first_language_that_has_one(
    option_id: str, shown: str
) -> None:
    # Given a product whose select holds an option
    product = CatalogProduct(sku="SHIRT-1", type="SIMPLE-PRODUCT", values={"color": glob(option_id)})
    # When it is viewed
    view = product_view(product, catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then the value is the option's name, or its code without one
    assert view["values"]["color"] == shown


def test_an_option_code_change_shows_in_codes_but_not_in_names() -> None:
    # Given a product whose select holds o1 (red), and red's code changed since to scarlet
    known = catalog()
    known.attributes["color"].options["o1"].code = "scarlet"
    product = CatalogProduct(
        sku="SHIRT-1", type="SIMPLE-PRODUCT", values={"color": glob("o1"), "tags": glob(["o1"])}
    )
    # When it is viewed
    view = product_view(product, known, languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then the code is the option's current one, its name unchanged
    assert view["codes"] == {"color": "scarlet", "tags": ["new"]}
    assert view["values"] == {"color": "Rot", "tags": ["Neu"]}


# --- a variable product --------------------------------------------------------------------------


def variable_catalog() -> FakeKnown:
    known = catalog()
    known.products.update(
        {
            "SHIRT-V-1": CatalogProduct(
                sku="SHIRT-V-1", type="SIMPLE-PRODUCT", values={"name": local(en_GB="Red shirt")}
            ),
            "SHIRT-V-2": CatalogProduct(
                sku="SHIRT-V-2",
                type="SIMPLE-PRODUCT",
                values={"price": glob(21.0), "tags": glob(["o2"]), "finish": local(de_DE="o1")},
            ),
            "SHIRT-V-3": CatalogProduct(sku="SHIRT-V-3", type="SIMPLE-PRODUCT"),
        }
    )
    return known


def test_a_variable_product_has_options_from_its_bindings_and_its_variants_resolved() -> None:
    # Given a variable product bound on color and size, whose variants are listed out of sku order,
    # one of them a product the catalog does not know
    product = CatalogProduct(
        sku="SHIRT-V",
        type="VARIABLE-PRODUCT",
        values={"name": local(en_GB="Shirt")},
        bindings=["color", "size"],
        variants={
            "SHIRT-V-2": {"color": "o2", "size": "o1"},
            "SHIRT-V-GONE": {"color": "o3", "size": "o2"},
            "SHIRT-V-1": {"color": "o1", "size": "o1"},
            "SHIRT-V-3": {"color": "o2", "size": "o2"},
        },
    )
    # When it is viewed
    view = product_view(product, variable_catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then its options list the names its known variants take, in variant order, once each
    assert view["kind"] == "variable"
    assert view["options"] == [
        {"code": "color", "name": "Farbe", "values": ["Blue", "Rot"]},
        {"code": "size", "name": "size", "values": ["Klein", "Medium"]},
    ]
    # And its known variants are resolved as products, with their option of each binding
    assert view["variants"] == [
        {
            "sku": "SHIRT-V-2",
            "values": {"price": 21.0, "tags": ["Eco"], "finish": "Matt"},
            "codes": {"tags": ["eco"], "finish": {"de_DE": "matte"}},
            "localized": {"finish": {"de_DE": "Matt"}},
            "options": [
                {"code": "color", "name": "Farbe", "value": "Blue", "valueCode": "blue"},
                {"code": "size", "name": "size", "value": "Klein", "valueCode": "s"},
            ],
        },
        {
            "sku": "SHIRT-V-1",
            "values": {"name": "Red shirt"},
            "codes": {},
            "localized": {"name": {"en_GB": "Red shirt"}},
            "options": [
                {"code": "color", "name": "Farbe", "value": "Rot", "valueCode": "red"},
                {"code": "size", "name": "size", "value": "Klein", "valueCode": "s"},
            ],
        },
        {
            "sku": "SHIRT-V-3",
            "values": {},
            "codes": {},
            "localized": {},
            "options": [
                {"code": "color", "name": "Farbe", "value": "Blue", "valueCode": "blue"},
                {"code": "size", "name": "size", "value": "Medium", "valueCode": "m"},
            ],
        },
    ]
    # And its own values are there as for any product
    assert view["values"] == {"name": "Shirt"}
    assert view["children"] == []


def test_a_binding_whose_attribute_was_deleted_is_left_out() -> None:
    # Given a variable product bound on color and on material, an attribute deleted since
    product = CatalogProduct(
        sku="SHIRT-V",
        type="VARIABLE-PRODUCT",
        bindings=["material", "color"],
        variants={"SHIRT-V-1": {"material": "o1", "color": "o1"}},
    )
    # When it is viewed
    view = product_view(product, variable_catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then material is neither among its options nor among its variant's
    assert view["options"] == [{"code": "color", "name": "Farbe", "values": ["Rot"]}]
    assert view["variants"][0]["options"] == [
        {"code": "color", "name": "Farbe", "value": "Rot", "valueCode": "red"}
    ]


@pytest.mark.parametrize(
    "chosen",
    [
        pytest.param({"color": "o1", "size": "o9"}, id="option-deleted-since"),
        pytest.param({"color": "o1"}, id="binding-not-given"),
    ],
)
def test_a_variants_option_that_is_not_there_is_left_out(chosen: dict[str, str]) -> None:
    # Given a variable product whose variant has no (longer an) option of size
    product = CatalogProduct(
        sku="SHIRT-V", type="VARIABLE-PRODUCT", bindings=["color", "size"], variants={"SHIRT-V-1": chosen}
    )
    # When it is viewed
    view = product_view(product, variable_catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then the variant has its color alone, and size takes no value
    assert view["variants"][0]["options"] == [
        {"code": "color", "name": "Farbe", "value": "Rot", "valueCode": "red"}
    ]
    assert view["options"] == [
        {"code": "color", "name": "Farbe", "values": ["Rot"]},
        {"code": "size", "name": "size", "values": []},
    ]


def test_a_variable_product_without_known_variants_has_its_options_with_no_values() -> None:
    # Given a variable product whose only variant is unknown to the catalog
    product = CatalogProduct(
        sku="SHIRT-V", type="VARIABLE-PRODUCT", bindings=["color"], variants={"SHIRT-V-GONE": {"color": "o1"}}
    )
    # When it is viewed
    view = product_view(product, variable_catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then it has no variants and its option takes no value
    assert view["variants"] == []
    assert view["options"] == [{"code": "color", "name": "Farbe", "values": []}]


# --- a grouping product --------------------------------------------------------------------------


def test_a_grouping_product_lists_its_children_with_quantities_in_order() -> None:
    # Given a grouping product with two children
    known = catalog()
    for sku in ("CHILD-1", "CHILD-2"):
        known.products[sku] = CatalogProduct(sku=sku, type="SIMPLE-PRODUCT")
    product = CatalogProduct(
        sku="BUNDLE-1",
        type="GROUPING-PRODUCT",
        categories=["shirts"],
        children={"CHILD-2": 3, "CHILD-1": 1},
    )
    # When it is viewed
    view = product_view(product, known, languages=["en_GB"], updated_at=UPDATED_AT)
    # Then it is a grouping with its children as held, and no options or variants
    assert view == {
        "sku": "BUNDLE-1",
        "type": "GROUPING-PRODUCT",
        "kind": "grouping",
        "values": {},
        "codes": {},
        "localized": {},
        "categories": [{"code": "shirts", "name": "Shirts", "names": {"en_GB": "Shirts", "de_DE": "Hemden"}}],
        "children": [{"sku": "CHILD-2", "quantity": 3}, {"sku": "CHILD-1", "quantity": 1}],
        "options": [],
        "variants": [],
        "updatedAt": "2024-05-01T12:30:00+00:00",
    }


# --- a product whose product_created is still to come ---------------------------------------------


@pytest.mark.parametrize(
    ("type_", "kind"),
    [
        pytest.param("SIMPLE-PRODUCT", "simple", id="simple"),
        pytest.param("GROUPING-PRODUCT", "grouping", id="grouping"),
        pytest.param("VARIABLE-PRODUCT", "variable", id="variable"),
        pytest.param(None, "simple", id="type-still-to-come"),
    ],
)
def test_the_kind_follows_the_pims_type_and_is_simple_while_the_type_is_to_come(
    type_: Any, kind: str
) -> None:
    # Given a product of the PIM's type (or none yet: changed before its product_created)
    product = CatalogProduct(sku="SHIRT-1", type=type_, values={"price": glob(5)})
    # When it is viewed
    view = product_view(product, catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then its type is as held and its kind the matching one, simple meanwhile
    assert (view["type"], view["kind"]) == (type_, kind)
    assert view["values"] == {"price": 5}


# --- what was deleted since ----------------------------------------------------------------------


def test_a_value_of_a_deleted_attribute_is_left_out() -> None:
    # Given a product with values of attributes deleted since: a text, a local text and a select
    product = CatalogProduct(
        sku="SHIRT-1",
        type="SIMPLE-PRODUCT",
        values={
            "legacy": glob("old"),
            "legacy_local": local(en_GB="old"),
            "old_color": glob("o1"),
            "price": glob(5),
        },
    )
    # When it is viewed
    view = product_view(product, catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then only the value of the attribute still known is there, in values, codes and localized alike
    assert view["values"] == {"price": 5}
    assert view["codes"] == {}
    assert view["localized"] == {}


def test_a_deleted_option_is_left_out() -> None:
    # Given a product whose multi-select, select and local select hold an option deleted since (o9)
    product = CatalogProduct(
        sku="SHIRT-1",
        type="SIMPLE-PRODUCT",
        values={
            "tags": glob(["o9", "o1", "o2"]),
            "color": glob("o9"),
            "finish": local(en_GB="o9", de_DE="o1"),
        },
    )
    # When it is viewed
    view = product_view(product, catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then the deleted option has neither a name nor a code
    assert view["values"]["tags"] == ["Neu", "Eco"]
    assert view["codes"]["tags"] == ["new", "eco"]
    assert view["values"]["color"] is None
    assert view["codes"]["color"] is None
    assert view["localized"]["finish"] == {"en_GB": None, "de_DE": "Matt"}
    assert view["codes"]["finish"] == {"en_GB": None, "de_DE": "matte"}


def test_a_local_select_whose_first_languages_option_was_deleted_shows_the_next_languages() -> None:
    # Given a local select whose German option was deleted since, its English one still there
    product = CatalogProduct(
        sku="SHIRT-1", type="SIMPLE-PRODUCT", values={"finish": local(de_DE="o9", en_GB="o2")}
    )
    # When it is viewed in German, then English
    view = product_view(product, catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then the value is the English one, the first language that has one
    assert view["values"]["finish"] == "Gloss"


def test_a_local_selects_options_are_named_in_each_language_of_localized() -> None:
    # Given a local select holding matte (Matte, Matt) in English and German
    product = CatalogProduct(
        sku="SHIRT-1", type="SIMPLE-PRODUCT", values={"finish": local(en_GB="o1", de_DE="o1")}
    )
    # When it is viewed in German, then English
    view = product_view(product, catalog(), languages=LANGUAGES, updated_at=UPDATED_AT)
    # Then localized names the option in each language of its own
    assert view["localized"]["finish"] == {"en_GB": "Matte", "de_DE": "Matt"}
