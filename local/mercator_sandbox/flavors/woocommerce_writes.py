"""WooCommerce's product writes (wc/v3): ``POST /products`` and ``PUT`` (or ``POST``/``PATCH``)
``/products/{id}``.

As WooCommerce's REST controller (``WC_REST_Products_Controller``) and WordPress's schema
validation do them:

- Every parameter is checked against the product schema first; any failure is a 400
  ``rest_invalid_param`` naming them all (``{"code": "rest_invalid_param", "message": "Invalid
  parameter(s): regular_price", "data": {"status": 400, "params": {"regular_price": "regular_price is
  not of type string."}, "details": {...}}}``): prices, texts and enums are strings, ``stock_quantity``
  an integer, ``manage_stock`` a boolean, ``images`` and ``tags`` arrays of objects; enums
  (``status``, ``type``, ``catalog_visibility``, ``backorders``, ``stock_status``) answer "``status``
  is not one of draft, pending, private, publish, future, auto-draft, and trash.".
- A SKU another product already has is a 400 ``product_invalid_sku`` ("Invalid or duplicated
  SKU.", with ``resource_id`` of that product and a ``unique_sku`` suggestion); nothing is saved.
- Prices are kept the way ``wc_format_decimal`` cleans them with the default decimal separator
  (``"$1,299.50"`` is ``1299.50``; text with no digits is no price). ``price`` is the sale price
  when one is set, else the regular price.
- Stock: with ``manage_stock`` the quantity decides ``stock_status`` (``instock`` above 0, else
  ``onbackorder`` when backorders are allowed, else ``outofstock``); without it the quantity is null
  and ``stock_status`` is as given (``instock`` by default).
- ``images`` replace the product's images, in order (the first is the featured image): ``{src}``
  adds an image, ``{id}`` reuses an uploaded one (an unknown id is a 400
  ``woocommerce_product_invalid_image_id``). The sandbox keeps ``src`` as written (it does not copy
  files into its uploads).
- ``tags``: ``{name}`` uses the tag of that name, created when missing; ``{id}`` a tag by id
  (unknown ids are dropped, as ``wp_set_object_terms`` drops them).
- Defaults on create: ``status`` publish, ``type`` simple, ``catalog_visibility`` visible, name
  "Product" when none is given; the slug is the given one (or the name) made URL-safe and unique with
  ``-2``, ``-3`` ... The sandbox stores the statuses draft, pending, private and publish; ``future``,
  ``auto-draft`` and ``trash`` are refused like unknown values (delete a product to trash it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

from mercator_sandbox.dataset import RecordState, Store
from mercator_sandbox.flavors.base import ApiError
from mercator_sandbox.writes import (
    IdSequence,
    WrittenImage,
    WrittenProduct,
    cents_of,
    slugify,
    unique_handle,
)

PRODUCT_STATUSES = ("publish", "draft", "pending", "private")
STATUS_ENUM = ("draft", "pending", "private", "publish", "future", "auto-draft", "trash")
ENUMS: Mapping[str, tuple[str, ...]] = {
    "status": STATUS_ENUM,
    "type": ("simple", "grouped", "external", "variable"),
    "catalog_visibility": ("visible", "catalog", "search", "hidden"),
    "backorders": ("no", "notify", "yes"),
    "stock_status": ("instock", "outofstock", "onbackorder"),
}
STRINGS = ("name", "slug", "description", "short_description", "sku", "regular_price", "sale_price")
BOOLEANS = ("manage_stock", "featured")
# The order of the product schema's properties: WordPress checks (and reports) parameters in it.
SCHEMA_ORDER = (
    "name",
    "slug",
    "type",
    "status",
    "featured",
    "catalog_visibility",
    "description",
    "short_description",
    "sku",
    "regular_price",
    "sale_price",
    "manage_stock",
    "stock_quantity",
    "stock_status",
    "backorders",
    "tags",
    "images",
)
TRUE_TEXT = ("true", "1")
FALSE_TEXT = ("false", "0")
_NOT_DECIMAL = re.compile(r"\.(?![^.]+$)|[^0-9.-]")


def listed(values: tuple[str, ...]) -> str:
    """WordPress's ``%l`` list: ``a, b, and c``."""
    if len(values) < 3:
        return " and ".join(values)
    return f"{', '.join(values[:-1])}, and {values[-1]}"


def boolean(value: Any) -> bool | None:
    """A value WordPress reads as a boolean (``rest_is_boolean``), or None when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in TRUE_TEXT + FALSE_TEXT:
        return value.lower() in TRUE_TEXT
    return None


def integer(value: Any) -> int | None:
    """A value WordPress reads as an integer (``rest_is_integer``: a whole number, maybe as text)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def price_cents(text: str) -> int | None:
    """A price as ``wc_format_decimal`` cleans it with the default "." separator (every character but
    digits, "-" and the last "." goes: ``"$1,299.50"`` is 1299.50); None when no number is left."""
    cleaned = _NOT_DECIMAL.sub("", text)
    if not cleaned or cleaned in (".", "-"):
        return None
    try:
        return cents_of(cleaned)
    except ValueError:
        return None


class WooProductWriter:
    """Validates product bodies and builds the content a write leaves; keeps tags and uploads."""

    def __init__(self, store: Store, content_of: Callable[[RecordState], WrittenProduct]) -> None:
        self.store = store
        self.content_of = content_of
        self.tags: dict[int, str] = {}
        self.uploads: dict[int, WrittenImage] = {}  # attachments, by id, for images given as {id}
        self.upload_names: dict[int, str] = {}
        self._term_ids = IdSequence(31)
        self._attachment_ids = IdSequence(100_001)

    def tag_slug(self, name: str) -> str:
        return slugify(name)

    def tag_id(self, name: str) -> int:
        return next((tag_id for tag_id, known in self.tags.items() if known == name), 0)

    # --- products -------------------------------------------------------------------------------

    def create(self, fields: dict[str, Any]) -> tuple[WrittenProduct, int]:
        """The content and status (an index into PRODUCT_STATUSES) of a product created from ``fields``."""
        self._validate(fields)
        now = self.store.time.now_seconds()
        base = WrittenProduct(
            name="Product",
            manage_stock=False,
            extra={
                "origin": "api",
                "type": "simple",
                "catalog_visibility": "visible",
                "created_at": now,
                "regular_set": False,
            },
        )
        self._check_sku(fields, own=None)
        content = self._apply(base, fields, own=None)
        return content, PRODUCT_STATUSES.index(fields.get("status") or "publish")

    def update(self, state: RecordState, fields: dict[str, Any]) -> tuple[WrittenProduct, int]:
        """The content and status of ``state`` once ``fields`` are written (fields not given stay)."""
        self._validate(fields)
        self._check_sku(fields, own=state)
        content = self._apply(self.content_of(state), fields, own=state)
        status = fields.get("status") or PRODUCT_STATUSES[state.status]
        return content, PRODUCT_STATUSES.index(status)

    def _validate(self, fields: dict[str, Any]) -> None:
        """WordPress's schema validation: every invalid parameter at once, as a 400."""
        invalid: dict[str, str] = {}
        codes: dict[str, str] = {}

        def refuse(name: str, message: str, code: str) -> None:
            invalid.setdefault(name, message)
            codes.setdefault(name, code)

        for name in STRINGS + tuple(ENUMS):
            value = fields.get(name)
            if value is not None and not isinstance(value, str):
                refuse(name, f"{name} is not of type string.", "rest_invalid_type")
        for name, allowed in ENUMS.items():
            value = fields.get(name)
            if isinstance(value, str) and value not in allowed:
                refuse(name, f"{name} is not one of {listed(allowed)}.", "rest_not_in_enum")
        status = fields.get("status")
        if isinstance(status, str) and status in STATUS_ENUM and status not in PRODUCT_STATUSES:
            refuse("status", f"status is not one of {listed(STATUS_ENUM)}.", "rest_not_in_enum")
        for name in BOOLEANS:
            if name in fields and boolean(fields[name]) is None:
                refuse(name, f"{name} is not of type boolean.", "rest_invalid_type")
        if fields.get("stock_quantity") is not None and integer(fields["stock_quantity"]) is None:
            refuse("stock_quantity", "stock_quantity is not of type integer.", "rest_invalid_type")
        if "stock_quantity" in fields and fields["stock_quantity"] is None:
            refuse("stock_quantity", "stock_quantity is not of type integer.", "rest_invalid_type")
        for name in ("images", "tags"):
            value = fields.get(name)
            if value is None:
                continue
            if not isinstance(value, list):
                refuse(name, f"{name} is not of type array.", "rest_invalid_type")
                continue
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    refuse(name, f"{name}[{index}] is not of type object.", "rest_invalid_type")
        if invalid:
            names = sorted(invalid, key=SCHEMA_ORDER.index)
            raise ApiError(
                400,
                f"Invalid parameter(s): {', '.join(names)}",
                code="rest_invalid_param",
                fields={name: [invalid[name]] for name in names},
                data={"detail_codes": codes},
            )

    def _check_sku(self, fields: dict[str, Any], *, own: RecordState | None) -> None:
        sku = fields.get("sku")
        if not sku:
            return
        own_id = own.id if own is not None else None
        table = self.store.table("products")
        holder = next(
            (
                state.id
                for state in sorted(table.records.values(), key=lambda state: state.id)
                if state.id != own_id and self.content_of(state).sku == sku
            ),
            None,
        )
        if holder is not None:
            raise ApiError(
                400,
                "Invalid or duplicated SKU.",
                code="product_invalid_sku",
                data={"resource_id": holder, "unique_sku": f"{sku}-1"},
            )

    def _slug(self, wanted: str, own: RecordState | None) -> str:
        own_id = own.id if own is not None else None
        records = self.store.table("products")
        states = list(records.records.values()) + list(records.trashed.values())

        def taken(slug: str) -> bool:
            return any(state.id != own_id and self.content_of(state).handle == slug for state in states)

        return unique_handle(slugify(wanted) or "product", taken, first_suffix=2)

    def _apply(
        self, content: WrittenProduct, fields: dict[str, Any], *, own: RecordState | None
    ) -> WrittenProduct:
        """``content`` with the (validated) ``fields`` written over it."""
        changes: dict[str, Any] = {}
        extra = dict(content.extra)
        if fields.get("name"):
            changes["name"] = fields["name"]
        for name in ("description", "short_description", "sku"):
            if fields.get(name) is not None:
                changes[name] = fields[name]
        if fields.get("slug"):
            changes["handle"] = self._slug(fields["slug"], own)
        elif own is None:
            changes["handle"] = self._slug(changes.get("name", content.name), own)
        if fields.get("regular_price") is not None:
            changes["price_cents"] = price_cents(fields["regular_price"])
            extra["regular_set"] = changes["price_cents"] is not None
            changes["price_cents"] = changes["price_cents"] or 0
        if fields.get("sale_price") is not None:
            changes["sale_cents"] = price_cents(fields["sale_price"])
        for name in ("type", "catalog_visibility", "stock_status"):
            if fields.get(name) is not None:
                extra[name] = fields[name]
        if "featured" in fields:
            extra["featured"] = boolean(fields["featured"])
        if fields.get("backorders") is not None:
            changes["backorders"] = fields["backorders"]
        manage = boolean(fields["manage_stock"]) if "manage_stock" in fields else content.manage_stock
        changes["manage_stock"] = bool(manage)
        if not manage:
            changes["quantity"] = None
        elif fields.get("stock_quantity") is not None:
            changes["quantity"] = integer(fields["stock_quantity"])
        elif content.quantity is None:
            changes["quantity"] = 0
        if fields.get("images") is not None:
            changes["images"] = tuple(self._image(image) for image in fields["images"])
        if fields.get("tags") is not None:
            names = [self._tag(tag) for tag in fields["tags"]]
            changes["tags"] = tuple(dict.fromkeys(tag_name for tag_name in names if tag_name))
        return dataclasses.replace(content, **changes, extra=extra)

    def _image(self, fields: dict[str, Any]) -> WrittenImage:
        if fields.get("id"):
            image = self.uploads.get(integer(fields["id"]) or 0)
            if image is None:
                raise ApiError(
                    400,
                    f"#{fields['id']} is an invalid image ID.",
                    code="woocommerce_product_invalid_image_id",
                )
            return image
        src = str(fields.get("src") or "").strip()
        if not src:
            raise ApiError(400, "Error getting remote image .", code="woocommerce_product_image_upload_error")
        name = PurePosixPath(urlparse(src).path).stem or "image"
        image = WrittenImage(self._attachment_ids.take(), src, str(fields.get("alt") or ""))
        self.uploads[image.id] = image
        self.upload_names[image.id] = str(fields.get("name") or name)
        return image

    def _tag(self, fields: dict[str, Any]) -> str | None:
        if fields.get("name"):
            name = str(fields["name"]).strip()
            for known in self.tags.values():
                if known.lower() == name.lower():
                    return known
            self.tags[self._term_ids.take()] = name
            return name
        tag_id = integer(fields.get("id"))
        return self.tags.get(tag_id) if tag_id is not None else None
