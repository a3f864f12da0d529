"""Shopify's product writes (REST Admin 2025-01): Product create and update, and inventory levels.

Shapes from the REST Admin reference and its published examples (the 2025-01 examples are embedded
in Shopify's shopify-api-ruby tests): ``{"product": {title, body_html, vendor, product_type, handle,
status, tags, images: [{src} | {id, position}], variants: [{id?, option1, sku, price,
compare_at_price, inventory_management, inventory_policy}], options: [{name}]}}``.

- Create: ``title`` is required (422 ``{"errors": {"title": ["can't be blank"]}}``); ``status``
  defaults to ``active`` (``published_at`` set then); without variants the product gets one
  ``Default Title`` variant priced ``0.00``, not tracked (``inventory_management`` null), policy
  ``deny``; two variants with the same title are refused (``{"errors": {"base": ["The variant
  'Default Title' already exists."]}}``). Without a handle, one is made from the title, made unique
  with ``-1``, ``-2`` ...; an explicit handle already used by another product is refused (422
  ``{"errors": {"handle": ["has already been taken"]}}``, as the 2025-01 product mutations do).
- Update: fields not given stay. ``variants`` given replace the product's variants: one with an
  ``id`` updates that variant in place, one without is matched on ``option1`` (an existing variant
  with that option, ``Default Title`` when none is given, is updated in place, keeping its id, as the
  2019-06 change describes), else it is a new variant; variants left out are deleted. ``images``
  given replace the images the same way (``{id}`` keeps one, ``{src}`` adds one, ``[]`` removes all),
  in the order given, an image's ``position`` placing it there (ahead of an image at that place by
  list order).
- Stock: apps can no longer set inventory through a variant's ``inventory_quantity``; it is
  read-only here and ignored in bodies. ``POST /inventory_levels/set.json`` sets a tracked variant's
  ``available`` at the shop's one location; the variant's ``inventory_quantity`` shows it.
- Tags: comma-separated text or a list, kept in the order given, trimmed, duplicates dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from mercator_sandbox.dataset import RecordState, Store
from mercator_sandbox.flavors.base import ApiError
from mercator_sandbox.writes import (
    IdSequence,
    WrittenImage,
    WrittenProduct,
    WrittenVariant,
    cents_of,
    is_integer,
    slugify,
    split_tags,
    unique_handle,
)

PRODUCT_STATUSES = ("active", "draft", "archived")
INVENTORY_POLICIES = ("deny", "continue")
DEFAULT_TITLE = "Default Title"
INVENTORY_ITEM_OFFSET = 3_000_000_000_000  # a variant's inventory item id is its id plus this
LOCATION_ID = 74_650_000_001  # the shop's one location
SHOP_ID = 74_640_000_001  # the shop itself (GET /shop.json)
BLANK = "can't be blank"
NOT_IN_LIST = "is not included in the list"
MISSING = "Required parameter missing or invalid"


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


class ShopifyProductWriter:
    """Validates product bodies and builds the content a write leaves; finds inventory items."""

    def __init__(self, store: Store, content_of: Callable[[RecordState], WrittenProduct]) -> None:
        self.store = store
        self.content_of = content_of
        self._variant_ids = IdSequence(50_000_000_000_000)
        self._image_ids = IdSequence(90_000_000_000_000)

    # --- products -------------------------------------------------------------------------------

    def create(self, fields: dict[str, Any]) -> tuple[WrittenProduct, int]:
        """The content and status (an index into PRODUCT_STATUSES) of a product created from ``fields``."""
        errors: dict[str, list[str]] = {}
        title = fields.get("title")
        if not isinstance(title, str) or not title.strip():
            errors.setdefault("title", []).append(BLANK)
        self._validate(fields, errors, own=None)
        if errors:
            raise ApiError(422, "Unprocessable Entity", fields=errors)
        status = fields.get("status") or "active"
        handle = self._handle(fields, own=None, title=str(title).strip())
        base = WrittenProduct(name="", handle=handle, extra={"origin": "api"})
        given = fields.get("variants")
        variants_given = given if isinstance(given, list) and given else [{}]
        content = self._apply(dataclasses.replace(base, variants=()), {**fields, "variants": variants_given})
        published = self.store.time.now_seconds() if status == "active" else None
        content = dataclasses.replace(content, extra={**content.extra, "published_at": published})
        return content, PRODUCT_STATUSES.index(status)

    def update(self, state: RecordState, fields: dict[str, Any]) -> tuple[WrittenProduct, int]:
        """The content and status of ``state`` once ``fields`` are written (fields not given stay)."""
        errors: dict[str, list[str]] = {}
        if "title" in fields and (not isinstance(fields["title"], str) or not fields["title"].strip()):
            errors.setdefault("title", []).append(BLANK)
        self._validate(fields, errors, own=state)
        if errors:
            raise ApiError(422, "Unprocessable Entity", fields=errors)
        current = self.content_of(state)
        if fields.get("handle") not in (None, ""):
            current = dataclasses.replace(current, handle=self._handle(fields, own=state, title=current.name))
        content = self._apply(current, fields)
        status = fields.get("status") or PRODUCT_STATUSES[state.status]
        published = content.extra.get("published_at")
        if status == "active" and published is None:
            published = self.store.time.now_seconds()
        elif status != "active":
            published = None
        content = dataclasses.replace(content, extra={**content.extra, "published_at": published})
        return content, PRODUCT_STATUSES.index(status)

    def _validate(
        self, fields: dict[str, Any], errors: dict[str, list[str]], *, own: RecordState | None
    ) -> None:
        status = fields.get("status")
        if status is not None and status not in PRODUCT_STATUSES:
            errors.setdefault("status", []).append(NOT_IN_LIST)
        handle = fields.get("handle")
        if handle not in (None, "") and self._taken(slugify(str(handle)), own):
            errors.setdefault("handle", []).append("has already been taken")
        variants = fields.get("variants")
        if variants is not None and not isinstance(variants, list):
            errors.setdefault("variants", []).append("is invalid")
        for variant in variants if isinstance(variants, list) else []:
            if not isinstance(variant, dict):
                errors.setdefault("variants", []).append("is invalid")
                continue
            for name in ("price", "compare_at_price"):
                value = variant.get(name)
                if value in (None, "") and name == "compare_at_price":
                    continue
                if value is None:
                    continue
                try:
                    cents = cents_of(value)
                except ValueError:
                    errors.setdefault(f"variants.{name}", []).append("is not a number")
                    continue
                if cents < 0:
                    errors.setdefault(f"variants.{name}", []).append("must be greater than or equal to 0")
            policy = variant.get("inventory_policy")
            if policy is not None and policy not in INVENTORY_POLICIES:
                errors.setdefault("variants.inventory_policy", []).append(NOT_IN_LIST)
        images = fields.get("images")
        if images is not None and not isinstance(images, list):
            errors.setdefault("images", []).append("is invalid")
        for image in images if isinstance(images, list) else []:
            src = image.get("src") if isinstance(image, dict) else None
            if not isinstance(image, dict) or (
                "id" not in image and (not isinstance(src, str) or not src.strip())
            ):
                errors.setdefault("images", []).append("is invalid")

    def _taken(self, handle: str, own: RecordState | None) -> bool:
        own_id = own.id if own is not None else None
        return any(
            state.id != own_id and self.content_of(state).handle == handle
            for state in self.store.table("products").records.values()
        )

    def _handle(self, fields: dict[str, Any], *, own: RecordState | None, title: str) -> str:
        given = fields.get("handle")
        if given not in (None, "") and slugify(str(given)):
            return slugify(str(given))
        return unique_handle(slugify(title) or "product", lambda h: self._taken(h, own), first_suffix=1)

    def _apply(self, content: WrittenProduct, fields: dict[str, Any]) -> WrittenProduct:
        """``content`` with the (validated) ``fields`` written over it."""
        changes: dict[str, Any] = {}
        extra = dict(content.extra)
        if isinstance(fields.get("title"), str):
            changes["name"] = fields["title"].strip()
        for key, field_name in (
            ("description", "body_html"),
            ("vendor", "vendor"),
            ("product_type", "product_type"),
        ):
            if fields.get(field_name) is not None:
                changes[key] = str(fields[field_name])
        if fields.get("tags") is not None:
            raw = fields["tags"]
            changes["tags"] = split_tags(",".join(map(str, raw)) if isinstance(raw, list) else str(raw))
        if isinstance(fields.get("options"), list):
            extra["options"] = [
                str(option.get("name")) for option in fields["options"] if isinstance(option, dict)
            ]
        if fields.get("variants") is not None:
            changes["variants"] = self._variants(content.variants, fields["variants"])
        if fields.get("images") is not None:
            changes["images"] = self._images(content.images, fields["images"])
        written = dataclasses.replace(content, **changes, extra=extra)
        first = written.variants[0]
        # The neutral fields follow the first variant: Shopify keeps sku, price and stock on variants.
        return dataclasses.replace(
            written,
            sku=first.sku,
            price_cents=first.price_cents,
            quantity=first.quantity if first.tracked else None,
            manage_stock=first.tracked,
        )

    def _variants(
        self, current: tuple[WrittenVariant, ...], given: list[dict[str, Any]]
    ) -> tuple[WrittenVariant, ...]:
        by_id = {variant.id: variant for variant in current}
        by_option = {variant.option1 or variant.title: variant for variant in current}
        result: list[WrittenVariant] = []
        for fields in given:
            option1 = fields.get("option1")
            existing = by_id.get(fields["id"]) if "id" in fields else by_option.get(option1 or DEFAULT_TITLE)
            if "id" in fields and existing is None:
                raise not_found()
            variant = existing or self._new_variant(option1)
            result.append(self._variant(variant, fields))
        titles = [variant.title for variant in result]
        duplicated = next((title for title in titles if titles.count(title) > 1), None)
        if duplicated is not None:
            raise ApiError(
                422, "Unprocessable Entity", fields={"base": [f"The variant '{duplicated}' already exists."]}
            )
        return tuple(result)

    def _new_variant(self, option1: str | None) -> WrittenVariant:
        variant_id = self._variant_ids.take()
        title = option1 or DEFAULT_TITLE
        return WrittenVariant(
            id=variant_id,
            inventory_item_id=variant_id + INVENTORY_ITEM_OFFSET,
            title=title,
            sku="",
            price_cents=0,
            compare_at_cents=None,
            tracked=False,
            policy="deny",
            quantity=0,
            option1=title,
        )

    @staticmethod
    def _variant(variant: WrittenVariant, fields: dict[str, Any]) -> WrittenVariant:
        changes: dict[str, Any] = {}
        if fields.get("option1") is not None:
            changes.update(option1=str(fields["option1"]), title=str(fields["option1"]))
        if fields.get("sku") is not None:
            changes["sku"] = str(fields["sku"])
        if fields.get("price") is not None:
            changes["price_cents"] = cents_of(fields["price"])
        if "compare_at_price" in fields:
            compare = fields["compare_at_price"]
            changes["compare_at_cents"] = None if compare in (None, "") else cents_of(compare)
        if "inventory_management" in fields:
            changes["tracked"] = fields["inventory_management"] == "shopify"
        if fields.get("inventory_policy") is not None:
            changes["policy"] = fields["inventory_policy"]
        # inventory_quantity is read-only: stock is set through the InventoryLevel resource.
        return dataclasses.replace(variant, **changes)

    def _images(
        self, current: tuple[WrittenImage, ...], given: list[dict[str, Any]]
    ) -> tuple[WrittenImage, ...]:
        by_id = {image.id: image for image in current}
        # (position, 0 when the position was asked for, list order): an asked position wins a tie.
        placed: list[tuple[int, int, int, WrittenImage]] = []
        for index, fields in enumerate(given):
            if "id" in fields:
                image = by_id.get(fields["id"])
                if image is None:
                    raise not_found()
                if fields.get("alt") is not None:
                    image = dataclasses.replace(image, alt=str(fields["alt"]))
            else:
                image = WrittenImage(
                    self._image_ids.take(), fields["src"].strip(), str(fields.get("alt") or "")
                )
            position = fields.get("position")
            asked = isinstance(position, int) and is_integer(position)
            placed.append(
                (
                    position if asked and isinstance(position, int) else index + 1,
                    0 if asked else 1,
                    index,
                    image,
                )
            )
        return tuple(entry[3] for entry in sorted(placed, key=lambda entry: entry[:3]))

    # --- inventory ------------------------------------------------------------------------------

    def inventory_item(self, item_id: int) -> tuple[RecordState, int] | None:
        """The live product and the index of the variant whose inventory item this is; None if none."""
        table = self.store.table("products")
        variant_id = item_id - INVENTORY_ITEM_OFFSET
        candidates = [state for state in table.records.values() if state.written is not None]
        # A generated product's variant ids embed its id (see Shopify._variant_id); look there too.
        rest = variant_id - 40_000_000_000_000
        if 0 <= rest < 10_000_000_000_000:
            generated = table.records.get(table.spec.id_base // 10**12 * 10**12 + rest // 4)
            if generated is not None:
                candidates.append(generated)
        for state in candidates:
            for index, variant in enumerate(self.content_of(state).variants):
                if variant.inventory_item_id == item_id:
                    return state, index
        return None

    def set_inventory(self, fields: dict[str, Any]) -> tuple[RecordState, WrittenProduct, int]:
        """``POST /inventory_levels/set.json``: the product, its new content and the level set."""
        for name in ("location_id", "inventory_item_id", "available"):
            if not is_integer(fields.get(name)):
                raise ApiError(400, MISSING, param=name)
        if fields["location_id"] != LOCATION_ID:
            raise not_found()
        found = self.inventory_item(fields["inventory_item_id"])
        if found is None:
            raise not_found()
        state, index = found
        content = self.content_of(state)
        variant = content.variants[index]
        if not variant.tracked:
            raise ApiError(
                422,
                "Unprocessable Entity",
                body={"errors": ["Inventory item does not have inventory tracking enabled"]},
            )
        variants = list(content.variants)
        variants[index] = dataclasses.replace(variant, quantity=fields["available"])
        first = variants[0]
        written = dataclasses.replace(
            content, variants=tuple(variants), quantity=first.quantity if first.tracked else None
        )
        return state, written, fields["available"]
