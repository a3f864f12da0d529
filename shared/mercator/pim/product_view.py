"""The document a PIM source definition maps into ``core:product``: one product of the catalog state,
resolved in the definition's languages.

Everything a mapping may read is here, by name, so the definition says which attribute gives what
(``values.name``, ``values.price``, ``"$.values.images[*].url"``) and never needs the catalog's ids:

- ``sku``, ``type`` (the PIM's), ``kind`` (simple, grouping, variable), ``updatedAt``;
- ``values``: each attribute's value in the first of the languages that has one (a local attribute)
  or as it is (a global one), an option as its name, a multi-select as the list of names;
- ``codes``: each option attribute's option code(s); ``localized``: each local attribute per language;
- ``categories``: ``[{code, name, names}]``, those the catalog knows, in the product's order;
- ``options``: a variable product's bindings, ``[{code, name, values}]``, with the names of the
  option values its variants take, in variant order;
- ``variants``: ``[{sku, values, codes, localized, options: [{code, name, value, valueCode}]}]``, each
  variant product resolved as above, with its option of each binding;
- ``children``: a grouping product's ``[{sku, quantity}]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mercator.pim.catalog_model import CatalogAttribute, CatalogProduct, Known, StoredValue

KINDS = {"SIMPLE-PRODUCT": "simple", "GROUPING-PRODUCT": "grouping", "VARIABLE-PRODUCT": "variable"}


def product_view(
    product: CatalogProduct, known: Known, *, languages: Sequence[str], updated_at: datetime
) -> dict[str, Any]:
    """``product`` as its PIM source definition's mapping reads it."""
    view: dict[str, Any] = {
        "sku": product.sku,
        "type": product.type,
        # A product whose product_created is still to come is sold as a simple one meanwhile.
        "kind": KINDS[product.type or "SIMPLE-PRODUCT"],
        **_values(product, known, languages),
        "categories": [
            {"code": code, "name": _localized(category.names, languages) or code, "names": category.names}
            for code in product.categories
            if (category := known.category(code)) is not None
        ],
        "children": [{"sku": sku, "quantity": quantity} for sku, quantity in product.children.items()],
        "updatedAt": updated_at.isoformat(),
    }
    bindings = [attribute for code in product.bindings if (attribute := known.attribute(code)) is not None]
    variants = []
    taken: dict[str, list[str]] = {attribute.code: [] for attribute in bindings}
    for sku, chosen in product.variants.items():
        variant = known.product(sku)
        if variant is None:
            continue
        options = []
        for attribute in bindings:
            option_id = chosen.get(attribute.code)
            option = attribute.options.get(option_id) if option_id is not None else None
            if option is None:
                continue
            value = _localized(option.names, languages) or option.code
            options.append(
                {
                    "code": attribute.code,
                    "name": _attribute_name(attribute, languages),
                    "value": value,
                    "valueCode": option.code,
                }
            )
            if value not in taken[attribute.code]:
                taken[attribute.code].append(value)
        variants.append({"sku": sku, **_values(variant, known, languages), "options": options})
    view["options"] = [
        {
            "code": attribute.code,
            "name": _attribute_name(attribute, languages),
            "values": taken[attribute.code],
        }
        for attribute in bindings
    ]
    view["variants"] = variants
    return view


def _values(product: CatalogProduct, known: Known, languages: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    codes: dict[str, Any] = {}
    localized: dict[str, Any] = {}
    for code, stored in product.values.items():
        attribute = known.attribute(code)
        if attribute is None:
            continue  # deleted since: a value of nothing
        if stored.scope == "local" and isinstance(stored.value, Mapping):
            # Each language's value in that language first (an option's name in German for de_DE).
            per_language = {
                lang: _shown(attribute, value, [lang, *languages]) for lang, value in stored.value.items()
            }
            localized[code] = per_language
            values[code] = next(
                (per_language[lang] for lang in languages if per_language.get(lang) not in (None, "", [])),
                None,
            )
        else:
            values[code] = _shown(attribute, stored.value, languages)
        if attribute.has_options:
            codes[code] = _codes(attribute, stored)
    return {"values": values, "codes": codes, "localized": localized}


def _shown(attribute: CatalogAttribute, value: Any, languages: Sequence[str]) -> Any:
    """An option id as the option's name; anything else as it is."""
    if not attribute.has_options:
        return value
    if isinstance(value, list):
        return [name for item in value if (name := _option_name(attribute, item, languages)) is not None]
    if isinstance(value, str):
        return _option_name(attribute, value, languages)
    return value


def _option_name(attribute: CatalogAttribute, option_id: str, languages: Sequence[str]) -> str | None:
    option = attribute.options.get(option_id)
    if option is None:
        return None  # an option deleted since
    return _localized(option.names, languages) or option.code


def _codes(attribute: CatalogAttribute, stored: StoredValue) -> Any:
    def code(value: Any) -> Any:
        if isinstance(value, list):
            return [found for item in value if (found := attribute.option_code(item)) is not None]
        return attribute.option_code(value) if isinstance(value, str) else value

    if stored.scope == "local" and isinstance(stored.value, Mapping):
        return {lang: code(value) for lang, value in stored.value.items()}
    return code(stored.value)


def _attribute_name(attribute: CatalogAttribute, languages: Sequence[str]) -> str:
    return _localized(attribute.names, languages) or attribute.code


def _localized(names: Mapping[str, str], languages: Sequence[str]) -> str | None:
    return next((names[lang] for lang in languages if names.get(lang)), None)
