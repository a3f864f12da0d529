"""Salla's product writes: Create Product, Update Product (by id or SKU) and Create Product Tag.

Shapes from Salla's Merchant API reference (docs.salla.dev, "Create Product", "Update Product By
SKU", "Create Product Tag"): a product body carries ``name``, ``price`` (a number), ``product_type``
(required on create), ``status`` (``sale`` | ``out`` | ``hidden``), ``quantity`` /
``unlimited_quantity``, ``sale_price``, ``cost_price``, ``sku``, ``mpn``, ``gtin``, ``description``,
``images`` (``[{original, thumbnail, alt, default, sort}]``, replacing the product's images) and
``tags`` (ids of product tags). Validation failures are 422 ``alert.invalid_fields`` naming every
failed field, in Arabic (the store's language) or English with ``Accept-Language: en``.

As the reference warns, a created product is ``hidden`` until it has an image and ``out`` (of stock)
until it has a quantity; the sample answer shows a requested ``out`` with stock becoming ``sale``.
So on create: no image -> ``hidden``; else a requested ``hidden`` stays hidden; else no stock (a
managed quantity of 0) -> ``out``; else ``sale``. A product hidden for want of an image shows once an
update gives it one; an update that changes the stock of a product on sale or out of stock moves it
between ``sale`` and ``out``; a ``status`` given in an update is taken as is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from mercator_sandbox.dataset import RecordState, Store
from mercator_sandbox.flavors.base import ApiError
from mercator_sandbox.writes import (
    IdSequence,
    WrittenImage,
    WrittenProduct,
    cents_of,
    is_integer,
    slugify,
)

PRODUCT_STATUSES = ("sale", "out", "hidden")
# The writable statuses; the reference's enum also lists "deleted", which is what Delete Product does.
WRITABLE_STATUSES = PRODUCT_STATUSES
PRODUCT_TYPES = ("product", "service", "group_products", "codes", "digital", "food", "booking", "donating")

# (rule key) -> (Arabic, English); {n} is an index into a list field. The Arabic texts of the
# required name/price/product_type, the taken SKU and images.N.original are the reference's own.
MESSAGES: Mapping[str, tuple[str, str]] = {
    "name.required": ("حقل اسم المنتج مطلوب.", "The name field is required."),
    "name.string": ("يجب أن يكون حقل اسم المنتج نصًا.", "The name must be a string."),
    "price.required": ("سعر المنتج مطلوب", "The price field is required."),
    "price.numeric": ("يجب أن يكون سعر المنتج رقمًا.", "The price must be a number."),
    "price.min": ("يجب أن تكون قيمة سعر المنتج مساوية أو أكبر من 0.", "The price must be at least 0."),
    "sale_price.numeric": ("يجب أن يكون سعر التخفيض رقمًا.", "The sale price must be a number."),
    "sale_price.min": (
        "يجب أن تكون قيمة سعر التخفيض مساوية أو أكبر من 0.",
        "The sale price must be at least 0.",
    ),
    "cost_price.numeric": ("يجب أن يكون سعر التكلفة رقمًا.", "The cost price must be a number."),
    "product_type.required": ("حقل نوع المنتج مطلوب.", "The product type field is required."),
    "product_type.in": ("نوع المنتج المختار غير صالح.", "The selected product type is invalid."),
    "status.in": ("حالة المنتج المختارة غير صالحة.", "The selected status is invalid."),
    "quantity.integer": ("يجب أن تكون الكمية عددًا صحيحًا.", "The quantity must be an integer."),
    "quantity.min": ("يجب أن تكون قيمة الكمية مساوية أو أكبر من 0.", "The quantity must be at least 0."),
    "sku.unique": ("قيمة حقل رمز التخزين SKU مُستخدمة من قبل", "The sku has already been taken."),
    "sku.string": ("يجب أن يكون حقل رمز التخزين SKU نصًا.", "The sku must be a string."),
    "description.string": ("يجب أن يكون حقل وصف المنتج نصًا.", "The description must be a string."),
    "images.array": ("يجب أن يكون حقل الصور مصفوفة.", "The images must be an array."),
    "images.original": ("حقل images.{n}.original مطلوب.", "The images.{n}.original field is required."),
    "tags.array": ("يجب أن يكون حقل الوسوم مصفوفة.", "The tags must be an array."),
    "tags.exists": ("قيمة الحقل tags.{n} المختارة غير صالحة.", "The selected tags.{n} is invalid."),
    "tag_name.required": ("حقل اسم الوسم مطلوب", "The tag name field is required."),
}


def language(accept_language: str) -> int:
    """0 for Arabic (the store's language), 1 for English when the client asks for it."""
    return 1 if accept_language.strip().lower().startswith("en") else 0


class Errors:
    """Laravel-style validation: every failed field with its messages, in the client's language."""

    def __init__(self, lang: int, messages: Mapping[str, tuple[str, str]] = MESSAGES) -> None:
        self.lang = lang
        self.messages = messages
        self.fields: dict[str, list[str]] = {}

    def add(self, field_name: str, rule: str, **values: Any) -> None:
        self.fields.setdefault(field_name, []).append(self.messages[rule][self.lang].format(**values))

    def raise_any(self) -> None:
        if self.fields:
            raise ApiError(422, "alert.invalid_fields", fields=self.fields)


class SallaProductWriter:
    """Validates product bodies and builds the content a write leaves; keeps the store's product tags."""

    def __init__(self, store: Store, content_of: Callable[[RecordState], WrittenProduct]) -> None:
        self.store = store
        self.content_of = content_of
        self.tags: dict[int, str] = {}
        self._tag_ids = IdSequence(1_366_932_222)
        self._image_ids = IdSequence(1_712_603_963)

    # --- tags -----------------------------------------------------------------------------------

    def tag(self, raw_name: str | None, lang: int) -> tuple[int, str]:
        """Create Product Tag: the tag named so (an existing one when the name is taken)."""
        name = (raw_name or "").strip()
        if not name:
            errors = Errors(lang)
            errors.add("tag_name", "tag_name.required")
            errors.raise_any()
        for tag_id, existing in self.tags.items():
            if existing.lower() == name.lower():
                return tag_id, existing
        tag_id = self._tag_ids.take()
        self.tags[tag_id] = name
        return tag_id, name

    def tag_id(self, name: str) -> int:
        """The id of a tag a product carries (tags only get onto products by id, so it exists)."""
        return next((tag_id for tag_id, known in self.tags.items() if known == name), 0)

    # --- products -------------------------------------------------------------------------------

    def create(self, fields: dict[str, Any], lang: int) -> tuple[WrittenProduct, int]:
        """The content and status (an index into PRODUCT_STATUSES) of a product created from ``fields``."""
        errors = self._validate(fields, lang, current=None)
        errors.raise_any()
        # A product's type is set when it is created and never changes.
        extra = {"origin": "api", "product_type": fields["product_type"]}
        base = WrittenProduct(name="", quantity=0, extra=extra)
        content = self._apply(base, fields)
        requested = fields.get("status") or "sale"
        if not content.images:
            status = "hidden"
            content = dataclasses.replace(content, extra={**content.extra, "hidden_for_images": True})
        elif requested == "hidden":
            status = "hidden"
        else:
            status = "out" if self._out_of_stock(content) else "sale"
        return content, PRODUCT_STATUSES.index(status)

    def update(self, state: RecordState, fields: dict[str, Any], lang: int) -> tuple[WrittenProduct, int]:
        """The content and status of ``state`` once ``fields`` are written (fields not given stay)."""
        current = self.content_of(state)
        errors = self._validate(fields, lang, current=state)
        errors.raise_any()
        content = self._apply(current, fields)
        status = PRODUCT_STATUSES[state.status]
        extra = dict(content.extra)
        if fields.get("status") is not None and not content.images and fields["status"] != "hidden":
            # Salla shows no product without an image: asking for it on sale keeps it hidden until
            # an image arrives (the same rule as on creation).
            status = "hidden"
            extra["hidden_for_images"] = True
        elif fields.get("status") is not None:
            status = fields["status"]
            extra.pop("hidden_for_images", None)
        elif extra.get("hidden_for_images") and content.images:
            extra.pop("hidden_for_images")
            status = "out" if self._out_of_stock(content) else "sale"
        elif status in ("sale", "out") and ("quantity" in fields or "unlimited_quantity" in fields):
            status = "out" if self._out_of_stock(content) else "sale"
        return dataclasses.replace(content, extra=extra), PRODUCT_STATUSES.index(status)

    @staticmethod
    def _out_of_stock(content: WrittenProduct) -> bool:
        return content.manage_stock and not content.quantity

    def _validate(self, fields: dict[str, Any], lang: int, *, current: RecordState | None) -> Errors:
        errors = Errors(lang)
        creating = current is None
        self._check_text(errors, fields, "name", required=creating)
        self._check_money(errors, fields, "price", required=creating)
        self._check_money(errors, fields, "sale_price", required=False)
        if fields.get("cost_price") is not None:
            try:
                cents_of(fields["cost_price"])
            except ValueError:
                errors.add("cost_price", "cost_price.numeric")
        product_type = fields.get("product_type")
        if product_type in (None, "") and creating:
            errors.add("product_type", "product_type.required")
        elif product_type not in (None, "") and product_type not in PRODUCT_TYPES:
            errors.add("product_type", "product_type.in")
        status = fields.get("status")
        if status is not None and status not in WRITABLE_STATUSES:
            errors.add("status", "status.in")
        quantity = fields.get("quantity")
        if quantity is not None and not fields.get("unlimited_quantity"):
            if not is_integer(quantity):
                errors.add("quantity", "quantity.integer")
            elif quantity < 0:
                errors.add("quantity", "quantity.min")
        self._check_text(errors, fields, "description", required=False)
        self._check_sku(errors, fields, current)
        self._check_images(errors, fields)
        self._check_tags(errors, fields)
        return errors

    @staticmethod
    def _check_text(errors: Errors, fields: dict[str, Any], name: str, *, required: bool) -> None:
        value = fields.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required or (name in fields and name == "name"):
                errors.add(name, f"{name}.required")
        elif not isinstance(value, str):
            errors.add(name, f"{name}.string")

    @staticmethod
    def _check_money(errors: Errors, fields: dict[str, Any], name: str, *, required: bool) -> None:
        value = fields.get(name)
        if value is None or value == "":
            if required:
                errors.add(name, f"{name}.required")
            return
        try:
            cents = cents_of(value)
        except ValueError:
            errors.add(name, f"{name}.numeric")
            return
        if cents < 0:
            errors.add(name, f"{name}.min")

    def _check_sku(self, errors: Errors, fields: dict[str, Any], current: RecordState | None) -> None:
        sku = fields.get("sku")
        if sku is None or sku == "":
            return
        if not isinstance(sku, str):
            errors.add("sku", "sku.string")
            return
        own = current.id if current is not None else None
        table = self.store.table("products")
        if any(state.id != own and self.content_of(state).sku == sku for state in table.records.values()):
            errors.add("sku", "sku.unique")

    @staticmethod
    def _check_images(errors: Errors, fields: dict[str, Any]) -> None:
        images = fields.get("images")
        if images is None:
            return
        if not isinstance(images, list):
            errors.add("images", "images.array")
            return
        for index, image in enumerate(images):
            original = image.get("original") if isinstance(image, dict) else None
            if not isinstance(original, str) or not original.strip():
                errors.add(f"images.{index}.original", "images.original", n=index)

    def _check_tags(self, errors: Errors, fields: dict[str, Any]) -> None:
        tags = fields.get("tags")
        if tags is None:
            return
        if not isinstance(tags, list):
            errors.add("tags", "tags.array")
            return
        for index, tag in enumerate(tags):
            if self._tag_of(tag) is None:
                errors.add(f"tags.{index}", "tags.exists", n=index)

    def _tag_of(self, raw: Any) -> str | None:
        if isinstance(raw, bool):
            return None
        try:
            tag_id = int(raw)
        except (TypeError, ValueError):
            return None
        return self.tags.get(tag_id)

    def _apply(self, content: WrittenProduct, fields: dict[str, Any]) -> WrittenProduct:
        """``content`` with the (validated) ``fields`` written over it."""
        changes: dict[str, Any] = {}
        extra = dict(content.extra)
        if fields.get("name") is not None:
            changes["name"] = fields["name"].strip()
            changes["handle"] = slugify(changes["name"])
        if fields.get("price") not in (None, ""):
            changes["price_cents"] = cents_of(fields["price"])
        if "sale_price" in fields:
            sale = fields["sale_price"]
            changes["sale_cents"] = cents_of(sale) or None if sale not in (None, "") else None
        if fields.get("description") is not None:
            changes["description"] = fields["description"]
        if fields.get("sku") is not None:
            changes["sku"] = fields["sku"]
        if fields.get("unlimited_quantity"):
            changes.update(quantity=None, manage_stock=False)
        elif fields.get("quantity") is not None:
            changes.update(quantity=fields["quantity"], manage_stock=True)
        elif fields.get("unlimited_quantity") is False and not content.manage_stock:
            changes.update(quantity=0, manage_stock=True)
        if fields.get("images") is not None:
            changes["images"] = tuple(
                WrittenImage(self._image_ids.take(), image["original"].strip(), str(image.get("alt") or ""))
                for image in fields["images"]
            )
            images = fields["images"]
            flagged = [i for i, image in enumerate(images) if image.get("default") or image.get("main")]
            extra["main_image"] = flagged[0] if flagged else 0
        if fields.get("tags") is not None:
            changes["tags"] = tuple(dict.fromkeys(self._tag_of(tag) or "" for tag in fields["tags"]))
        if fields.get("cost_price") is not None:
            extra["cost_cents"] = cents_of(fields["cost_price"])
        for key in ("mpn", "gtin"):
            if key in fields:
                extra[key] = fields[key]
        return dataclasses.replace(content, **changes, extra=extra)
