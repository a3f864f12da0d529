"""The catalog a PIM's events build, and how one entity's detailed events apply to it, in order.

Three kinds of entity, each kept whole in one item of the catalog state:

- an attribute: its type, scope, localized names and options. Options have an id of their own
  (``o1``, ``o2``...), given when first heard of, so a product refers to the option, not its code: an
  option code change renames it everywhere it is used by changing the attribute alone;
- a category: its localized names;
- a product: its type, categories, values per attribute (per language for a local attribute),
  bindings, variants (each variant product's option per binding) and children with quantities.

``apply_events`` is pure. It reads the other entities an event refers to through ``Known`` and
raises ``Waiting`` when one is not known yet (a value for an attribute not yet created, a child whose
product is unknown): the caller retries later, bounded. What an entity's own earlier events should
have brought is read leniently, since waiting cannot bring it (the PIM sends one entity's events in
order): an option renamed or named before it was created is created then, and a removal of what is
not there changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

EntityKind = Literal["attribute", "category", "product"]
Scope = Literal["local", "global"]
ProductType = Literal["SIMPLE-PRODUCT", "GROUPING-PRODUCT", "VARIABLE-PRODUCT"]
OPTION_TYPES = frozenset({"SELECT", "MULTI_SELECT"})
_T = TypeVar("_T", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CatalogOption(_Model):
    code: str
    names: dict[str, str] = Field(default_factory=dict)


class CatalogAttribute(_Model):
    code: str
    type: str
    scope: Scope
    names: dict[str, str] = Field(default_factory=dict)
    options: dict[str, CatalogOption] = Field(default_factory=dict, description="by option id")
    next_option: int = 1
    deleted_options: list[str] = Field(default_factory=list, description="codes of deleted options")

    def option_id(self, code: str) -> str | None:
        return next((key for key, option in self.options.items() if option.code == code), None)

    def option_code(self, option_id: str) -> str | None:
        option = self.options.get(option_id)
        return None if option is None else option.code

    @property
    def has_options(self) -> bool:
        return self.type in OPTION_TYPES


class CatalogCategory(_Model):
    code: str
    names: dict[str, str] = Field(default_factory=dict)


class StoredValue(_Model):
    """A product's value of one attribute: the bare value (global) or one per language (local), with
    option ids in place of option codes."""

    scope: Scope
    value: Any


class CatalogProduct(_Model):
    sku: str
    type: ProductType | None = Field(None, description="None until its product_created is heard of")
    categories: list[str] = Field(default_factory=list)
    values: dict[str, StoredValue] = Field(default_factory=dict)
    bindings: list[str] = Field(default_factory=list)
    variants: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="variant sku -> binding attribute -> option id"
    )
    children: dict[str, int] = Field(default_factory=dict)


CatalogEntity = CatalogAttribute | CatalogCategory | CatalogProduct


@dataclass(frozen=True)
class StoredEntity:
    """An entity as the catalog state holds it: ``entity`` None once deleted; ``version`` counts its
    writes (0: never written); ``applied`` the keys of the last requests applied to it; ``uses`` what
    a product refers to (``references``); ``unmapped`` the hash of the reason it last failed to map
    (dead-lettered once per reason)."""

    kind: EntityKind
    code: str
    entity: CatalogEntity | None
    version: int
    updated_at: datetime | None
    applied: tuple[str, ...] = ()
    uses: frozenset[str] = frozenset()
    unmapped: str | None = None


class Waiting(Exception):  # noqa: N818 - a state to wait in, not a failure
    """An event needs an entity (or option) the catalog does not know yet; retried later."""


class CatalogConflictError(ValueError):
    """An event contradicts the catalog in a way no wait resolves (an option code already taken)."""


class VersionConflictError(Exception):
    """Another invocation wrote the entity since it was read: read it again and apply again."""


class Known(Protocol):
    """The other entities an event may refer to, as the catalog holds them now."""

    def attribute(self, code: str) -> CatalogAttribute | None: ...

    def category(self, code: str) -> CatalogCategory | None: ...

    def product(self, sku: str) -> CatalogProduct | None: ...


@dataclass
class Applied:
    """An entity after its events: None when deleted; the variant products it took on or let go."""

    entity: CatalogEntity | None
    variants_added: set[str] = field(default_factory=set)
    variants_removed: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Event:
    type: str
    payload: Mapping[str, Any]


def apply_events(
    kind: EntityKind,
    code: str,
    current: CatalogEntity | None,
    *,
    change: Literal["created", "updated", "deleted"],
    events: Sequence[Event],
    known: Known,
) -> Applied:
    """``current`` after one request's detailed events, applied in order."""
    if change == "deleted":
        # A variable product's variants are let go with it: sold on their own again.
        former = set(current.variants) if isinstance(current, CatalogProduct) else set()
        return Applied(None, variants_removed=former)
    if kind == "attribute":
        return Applied(_attribute(code, _of(current, CatalogAttribute), events))
    if kind == "category":
        return Applied(_category(code, _of(current, CatalogCategory), events))
    return _product(code, _of(current, CatalogProduct), events, known)


def _of(entity: CatalogEntity | None, kind: type[_T]) -> _T | None:
    return entity if isinstance(entity, kind) else None


def _names(items: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {str(item["language"]): str(item["value"]) for item in items}


# --- attributes --------------------------------------------------------------------------------


def _attribute(code: str, attribute: CatalogAttribute | None, events: Sequence[Event]) -> CatalogAttribute:
    for event in events:
        payload = event.payload
        if event.type == "attribute_created":
            # Created again (a replay, or after a deletion Mercator missed): its options stay known.
            attribute = CatalogAttribute(
                code=code,
                type=payload["type"],
                scope=payload["scope"],
                names=_names(payload["name"]),
                options=attribute.options if attribute is not None else {},
                next_option=attribute.next_option if attribute is not None else 1,
                deleted_options=attribute.deleted_options if attribute is not None else [],
            )
            continue
        if attribute is None:
            raise Waiting(f"attribute {code!r} is not known yet ({event.type} before attribute_created)")
        attribute = _attribute_change(attribute, event)
    if attribute is None:
        raise Waiting(f"attribute {code!r} is not known yet")
    return attribute


def _attribute_change(attribute: CatalogAttribute, event: Event) -> CatalogAttribute:
    payload = event.payload
    updated = attribute.model_copy(deep=True)
    if event.type in ("attribute_name_changed", "category_name_changed"):
        updated.names = _names(payload["name"])
    elif event.type == "attribute_option_created":
        _upsert_option(updated, payload["option_code"]).names = _names(payload["option_name"])
    elif event.type == "attribute_option_name_changed":
        if payload["option_code"] not in updated.deleted_options:
            _upsert_option(updated, payload["option_code"]).names = _names(payload["option_name"])
    elif event.type == "attribute_option_code_changed":
        _rename_option(updated, payload["previous_option_code"], payload["option_code"])
    elif event.type == "attribute_option_deleted":
        option_id = updated.option_id(payload["option_code"])
        if option_id is not None:
            del updated.options[option_id]
        if payload["option_code"] not in updated.deleted_options:
            updated.deleted_options.append(payload["option_code"])
    return updated


def _upsert_option(attribute: CatalogAttribute, option_code: str) -> CatalogOption:
    option_id = attribute.option_id(option_code)
    if option_id is None:
        option_id = f"o{attribute.next_option}"
        attribute.next_option += 1
        attribute.options[option_id] = CatalogOption(code=option_code)
        if option_code in attribute.deleted_options:
            attribute.deleted_options.remove(option_code)
    return attribute.options[option_id]


def _rename_option(attribute: CatalogAttribute, previous: str, new: str) -> None:
    previous_id = attribute.option_id(previous)
    new_id = attribute.option_id(new)
    if previous_id is None:
        if previous in attribute.deleted_options:
            return  # a deleted option renamed: still deleted
        # Renamed already (a replay), or renamed before Mercator heard of it: the option is `new` now.
        _upsert_option(attribute, new)
        return
    if new_id is not None and new_id != previous_id:
        raise CatalogConflictError(
            f"attribute {attribute.code!r}: option {previous!r} cannot take the code {new!r}, which "
            "another of its options has"
        )
    attribute.options[previous_id].code = new
    if new in attribute.deleted_options:
        attribute.deleted_options.remove(new)  # the code names a live option again


# --- categories --------------------------------------------------------------------------------


def _category(code: str, category: CatalogCategory | None, events: Sequence[Event]) -> CatalogCategory:
    for event in events:
        if event.type == "category_created":
            category = CatalogCategory(code=code, names=_names(event.payload["name"]))
            continue
        if category is None:
            raise Waiting(f"category {code!r} is not known yet ({event.type} before category_created)")
        if event.type in ("category_name_changed", "attribute_name_changed"):
            category = category.model_copy(update={"names": _names(event.payload["name"])})
    if category is None:
        raise Waiting(f"category {code!r} is not known yet")
    return category


# --- products ----------------------------------------------------------------------------------


def _product(sku: str, product: CatalogProduct | None, events: Sequence[Event], known: Known) -> Applied:
    applied = Applied(product)
    for event in events:
        payload = event.payload
        if event.type == "product_created":
            categories = list(dict.fromkeys(payload["category_codes"]))
            for category in categories:
                _need_category(known, category, sku)
            current = applied.entity if isinstance(applied.entity, CatalogProduct) else None
            if current is None:
                applied.entity = CatalogProduct(sku=sku, type=payload["type"], categories=categories)
            else:
                # Categories it was added to before its creation was heard of stay.
                kept = list(dict.fromkeys([*current.categories, *categories]))
                applied.entity = current.model_copy(update={"type": payload["type"], "categories": kept})
            continue
        current = applied.entity if isinstance(applied.entity, CatalogProduct) else None
        # Its own product_created comes first or never (one entity's requests arrive in order): a
        # change heard of before it makes the product known, its type still to come.
        base = current.model_copy(deep=True) if current is not None else CatalogProduct(sku=sku)
        applied.entity = _product_change(base, event, known, applied)
    if not isinstance(applied.entity, CatalogProduct):
        raise Waiting(f"product {sku!r} is not known yet")
    return applied


def _product_change(product: CatalogProduct, event: Event, known: Known, applied: Applied) -> CatalogProduct:
    payload = event.payload
    kind = event.type
    if kind == "product_added_to_category":
        _need_category(known, payload["category_code"], product.sku)
        if payload["category_code"] not in product.categories:
            product.categories.append(payload["category_code"])
    elif kind == "product_removed_from_category":
        if payload["category_code"] in product.categories:
            product.categories.remove(payload["category_code"])
    elif kind in ("product_value_added", "product_value_changed"):
        attribute = _need_attribute(known, payload["attribute_code"], product.sku)
        product.values[attribute.code] = _stored_value(attribute, payload, product.sku)
    elif kind == "product_value_removed":
        product.values.pop(payload["attribute_code"], None)
    elif kind == "product_binding_added":
        _need_attribute(known, payload["attribute_code"], product.sku)
        if payload["attribute_code"] not in product.bindings:
            product.bindings.append(payload["attribute_code"])
    elif kind == "product_binding_removed":
        if payload["attribute_code"] in product.bindings:
            product.bindings.remove(payload["attribute_code"])
    elif kind == "product_variant_added":
        variant = payload["variant_sku"]
        if known.product(variant) is None:
            raise Waiting(f"product {product.sku!r}: its variant {variant!r} is not known yet")
        product.variants[variant] = _binding_values(known, payload["binding_values"], product.sku)
        applied.variants_added.add(variant)
        applied.variants_removed.discard(variant)
    elif kind == "product_variant_removed":
        if product.variants.pop(payload["variant_sku"], None) is not None:
            applied.variants_removed.add(payload["variant_sku"])
            applied.variants_added.discard(payload["variant_sku"])
    elif kind in ("product_child_added", "product_child_quantity_changed"):
        child = payload["child_sku"]
        if child not in product.children and known.product(child) is None:
            raise Waiting(f"product {product.sku!r}: its child {child!r} is not known yet")
        product.children[child] = int(payload["child_quantity"])
    elif kind == "product_child_removed":
        product.children.pop(payload["child_sku"], None)
    return product


def _need_category(known: Known, code: str, sku: str) -> CatalogCategory:
    category = known.category(code)
    if category is None:
        raise Waiting(f"product {sku!r}: category {code!r} is not known yet")
    return category


def _need_attribute(known: Known, code: str, sku: str) -> CatalogAttribute:
    attribute = known.attribute(code)
    if attribute is None:
        raise Waiting(f"product {sku!r}: attribute {code!r} is not known yet")
    return attribute


def _binding_values(known: Known, bindings: Sequence[Mapping[str, Any]], sku: str) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for binding in bindings:
        attribute = _need_attribute(known, binding["attribute_code"], sku)
        chosen[attribute.code] = _option(attribute, str(binding["value"]), sku)
    return chosen


def _option(attribute: CatalogAttribute, code: str, sku: str) -> str:
    option_id = attribute.option_id(code)
    if option_id is None:
        raise Waiting(f"product {sku!r}: option {code!r} of attribute {attribute.code!r} is not known yet")
    return option_id


def _stored_value(attribute: CatalogAttribute, payload: Mapping[str, Any], sku: str) -> StoredValue:
    """The event's value with option codes turned into option ids (for the attribute's own type)."""
    value = payload["value"]
    if payload["attribute_scope"] == "local" and _translations(value):
        return StoredValue(
            scope="local",
            value={
                str(item["language"]): _ids(attribute, item.get("value", item.get("translation")), sku)
                for item in value
            },
        )
    return StoredValue(scope="global", value=_ids(attribute, value, sku))


def _translations(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, Mapping) and "language" in item for item in value)


def _ids(attribute: CatalogAttribute, value: Any, sku: str) -> Any:
    if not attribute.has_options:
        return value
    if isinstance(value, list):
        return [_option(attribute, str(code), sku) for code in value]
    if isinstance(value, str):
        return _option(attribute, value, sku)
    return value


def references(entity: CatalogEntity | None) -> frozenset[str]:
    """What a product refers to, so a change of any of them maps it again: its attributes (values and
    bindings), categories and variant products."""
    if not isinstance(entity, CatalogProduct):
        return frozenset()
    return frozenset(
        {
            *(f"attribute:{code}" for code in (*entity.values, *entity.bindings)),
            *(f"category:{code}" for code in entity.categories),
            *(f"variant:{sku}" for sku in entity.variants),
        }
    )


# --- the catalog as the PIM sees it --------------------------------------------------------------


def value_codes(attribute: CatalogAttribute | None, stored: StoredValue) -> Any:
    """A stored value with its option ids turned back into the options' current codes."""

    def codes(value: Any) -> Any:
        # An option deleted since is no value any more: left out of a list, None on its own.
        if attribute is None or not attribute.has_options:
            return value
        if isinstance(value, list):
            return [code for item in value if (code := attribute.option_code(item)) is not None]
        if isinstance(value, str):
            return attribute.option_code(value)
        return value

    if stored.scope == "local" and isinstance(stored.value, Mapping):
        return {language: codes(value) for language, value in stored.value.items()}
    return codes(stored.value)


def snapshot(
    attributes: Mapping[str, CatalogAttribute],
    categories: Mapping[str, CatalogCategory],
    products: Mapping[str, CatalogProduct],
) -> dict[str, Any]:
    """The whole catalog as plain JSON, option codes as they are now (what ``mercator catalog`` shows
    and what the tests compare with the PIM's own view)."""
    return {
        "attributes": {
            code: {
                "type": attribute.type,
                "scope": attribute.scope,
                "names": attribute.names,
                "options": {option.code: option.names for option in attribute.options.values()},
            }
            for code, attribute in sorted(attributes.items())
        },
        "categories": {code: {"names": category.names} for code, category in sorted(categories.items())},
        "products": {
            sku: {
                "type": product.type,
                "categories": sorted(product.categories),
                "values": {
                    code: value_codes(attributes.get(code), stored) for code, stored in product.values.items()
                },
                "bindings": sorted(product.bindings),
                "variants": {
                    variant: {
                        code: (attributes[code].option_code(option) if code in attributes else None) or option
                        for code, option in chosen.items()
                    }
                    for variant, chosen in product.variants.items()
                },
                "children": dict(product.children),
            }
            for sku, product in sorted(products.items())
        },
    }
