"""Zid's product writes (Merchant API v1): ``POST /v1/products/`` and ``PATCH /v1/products/{id}/``.

Zid's product service answers in Django REST Framework's forms (the list is DRF's ``{count, next,
previous, results}``, its filters are django-filter's ``id__in`` / ``sale_price__isnull``, every URL
ends in ``/``), so the sandbox validates a product body the way a DRF serializer does: every field
is checked first and every failure is reported at once, as a 400 whose body maps each failed field
to its messages (``{"name": ["This field is required."], "price": ["A valid number is required."]}``,
DRF's own texts); only a body whose fields all pass is checked across fields (the sale price, the
stock), and only then for a taken SKU. The whole answer is the refusal (the connector's ``push``
block says so too). What each field takes:

- ``name`` (required on create) and ``description`` / ``short_description``: a plain string or a
  localized object ``{"ar": ..., "en": ...}`` (docs.zid.sa "Create Product Types": "Supports an
  i18n object such as { "ar": "...", "en": "..." } or a plain string"). A product always answers
  them as objects: a plain string is kept as the text of both languages (an assumption: the
  reference shows no answer to a plain-string name), an object keeps the languages it gives. A name
  with no non-blank text is refused as blank; descriptions may be blank (or null: cleared).
- ``sku``: text, unique per store (the SDK: "must be unique per store"; a taken one is refused on
  ``sku``). A create without one gets Zid's generated form ``Z.<epoch microseconds>`` (the sample
  product ``Z.1770805225810645`` was created at 2026-02-11T10:20:25.81Z).
- ``price`` (required on create) and ``sale_price``: numbers or numeric text (the bulk-update
  example sends ``"12.444"``), at least 0, kept to the cent; ``sale_price`` null clears it and must
  stay below the price (the SDK: "must be less than ``price``").
- ``quantity``: a whole number (DRF's IntegerField: ``5``, ``5.0`` or ``"5"``); ``is_infinite``: a
  boolean (DRF's forms: ``true``, ``"true"``, ``1``, ``"yes"`` ...). A create that is not infinite
  needs a quantity (the SDK: "required if ``is_infinite`` is ``False``"); an infinite product has
  none (its quantity answers null).
- ``keywords``: the tags, a list of strings (trimmed, blanks and repeats dropped).
- ``is_published``: a boolean, the product's visibility (default true on create); ``is_draft``: a
  boolean kept on the product (default false).
- Anything else in the body is ignored, as a serializer ignores unknown fields. Images are not taken
  from a product body (Zid uploads them through its Product Images endpoints): a write keeps the
  product's images.

Defaults and updates: a PATCH writes only the fields it gives. A new product's slug is made from its
name (English, else Arabic) and made unique with ``-2``, ``-3`` ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from mercator_sandbox.dataset import RecordState, Store
from mercator_sandbox.flavors.base import ApiError
from mercator_sandbox.writes import WrittenProduct, cents_of, slugify, unique_handle

PRODUCT_STATUSES = ("published", "unpublished")
PUBLISHED = PRODUCT_STATUSES.index("published")
UNPUBLISHED = PRODUCT_STATUSES.index("unpublished")
LANGUAGES = ("ar", "en")
# The order the serializer declares its fields in: errors are reported in it.
FIELD_ORDER = (
    "name",
    "description",
    "short_description",
    "sku",
    "price",
    "sale_price",
    "quantity",
    "is_infinite",
    "keywords",
    "is_published",
    "is_draft",
)
TRUE_TEXT = frozenset({"t", "y", "yes", "true", "on", "1"})
FALSE_TEXT = frozenset({"f", "n", "no", "false", "off", "0"})

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_BLANK = "This field may not be blank."
NOT_STRING = "Not a valid string."
NOT_NUMBER = "A valid number is required."
NOT_INTEGER = "A valid integer is required."
NOT_BOOLEAN = "Must be a valid boolean."
NOT_NEGATIVE = "Ensure this value is greater than or equal to 0."
SKU_TAKEN = "product with this sku already exists."
SALE_NOT_BELOW = "Sale price must be less than the price."
QUANTITY_NEEDED = "This field is required when is_infinite is false."

Localized = dict[str, str]


def localized_text(value: Mapping[str, str]) -> str:
    """The text a localized object shows: English, else Arabic, else any non-blank language."""
    for language in (*LANGUAGES[::-1], *value):
        text = value.get(language, "")
        if text.strip():
            return text
    return ""


def boolean(value: Any) -> bool | None:
    """A value DRF's BooleanField reads as a boolean, or None when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_TEXT | FALSE_TEXT:
        return value.strip().lower() in TRUE_TEXT
    return None


def integer(value: Any) -> int | None:
    """A value DRF's IntegerField reads as a whole number (``5``, ``5.0``, ``"5"``), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


class ZidProductWriter:
    """Validates product bodies and builds the content (and status) a write leaves."""

    def __init__(self, store: Store, content_of: Callable[[RecordState], WrittenProduct]) -> None:
        self.store = store
        self.content_of = content_of
        self._last_generated_sku = 0

    # --- products -------------------------------------------------------------------------------

    def create(self, fields: dict[str, Any]) -> tuple[WrittenProduct, int]:
        """The content and status (an index into PRODUCT_STATUSES) of a product created from ``fields``."""
        values = self._validate(fields, creating=True)
        self._check_across(values, None, creating=True)
        sku = values.get("sku") or self._generated_sku()
        self._check_sku(sku, own=None)
        now = self.store.time.now_seconds()
        name: Localized = values["name"]
        base = WrittenProduct(
            name=localized_text(name),
            sku=sku,
            handle=self._slug(localized_text(name), own=None),
            manage_stock=True,
            quantity=0,
            extra={
                "origin": "api",
                "created_at": now,
                "name": name,
                "description": {"ar": "", "en": ""},
                "short_description": {"ar": "", "en": ""},
                "is_draft": False,
            },
        )
        content = self._apply(base, values)
        published = values.get("is_published", True)
        return content, PUBLISHED if published else UNPUBLISHED

    def update(self, state: RecordState, fields: dict[str, Any]) -> tuple[WrittenProduct, int]:
        """The content and status of ``state`` once ``fields`` are written (fields not given stay)."""
        values = self._validate(fields, creating=False)
        current = self.content_of(state)
        self._check_across(values, current, creating=False)
        if values.get("sku"):
            self._check_sku(values["sku"], own=state)
        content = self._apply(current, values)
        if "is_published" in values:
            return content, PUBLISHED if values["is_published"] else UNPUBLISHED
        return content, state.status

    # --- validation -----------------------------------------------------------------------------

    def _validate(self, fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        """Every field read, or a 400 naming every field that failed (DRF's field validation)."""
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        for name in FIELD_ORDER:
            if name not in fields:
                if creating and name in ("name", "price"):
                    errors[name] = [REQUIRED]
                continue
            try:
                values[name] = self._field(name, fields[name])
            except ValueError as refusal:
                errors[name] = [str(refusal)]
        if errors:
            raise refused(errors)
        return values

    def _field(self, name: str, value: Any) -> Any:
        """One field's value as the product keeps it; ValueError with DRF's message when invalid."""
        if name == "name":
            return self._localized(value, required=True)
        if name in ("description", "short_description"):
            return {"ar": "", "en": ""} if value is None else self._localized(value, required=False)
        if name == "sku":
            if value is None:
                raise ValueError(NOT_NULL)
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ValueError(NOT_STRING)
            text = str(value).strip()
            if not text:
                raise ValueError(NOT_BLANK)
            return text
        if name in ("price", "sale_price"):
            if value is None:
                if name == "price":
                    raise ValueError(NOT_NULL)
                return None
            try:
                cents = cents_of(value)
            except ValueError:
                raise ValueError(NOT_NUMBER) from None
            if cents < 0:
                raise ValueError(NOT_NEGATIVE)
            return cents
        if name == "quantity":
            if value is None:
                return None
            quantity = integer(value)
            if quantity is None:
                raise ValueError(NOT_INTEGER)
            return quantity
        if name == "keywords":
            if value is None:
                raise ValueError(NOT_NULL)
            if not isinstance(value, list):
                raise ValueError(f'Expected a list of items but got type "{json_type(value)}".')
            words: dict[str, None] = {}
            for item in value:
                if isinstance(item, bool) or not isinstance(item, str | int | float):
                    raise ValueError(NOT_STRING)
                word = str(item).strip()
                if word:
                    words.setdefault(word)
            return tuple(words)
        # is_infinite, is_published, is_draft
        flag = boolean(value)
        if flag is None:
            raise ValueError(NOT_BOOLEAN)
        return flag

    @staticmethod
    def _localized(value: Any, *, required: bool) -> Localized:
        if value is None:
            raise ValueError(NOT_NULL)
        if isinstance(value, str):
            if required and not value.strip():
                raise ValueError(NOT_BLANK)
            return {"ar": value, "en": value}
        if not isinstance(value, dict):
            raise ValueError(NOT_STRING)
        texts: Localized = {}
        for language in LANGUAGES:
            if language not in value or value[language] is None:
                continue
            if not isinstance(value[language], str):
                raise ValueError(NOT_STRING)
            texts[language] = value[language]
        if required and not any(text.strip() for text in texts.values()):
            raise ValueError(NOT_BLANK)
        return texts

    @staticmethod
    def _check_across(values: dict[str, Any], current: WrittenProduct | None, *, creating: bool) -> None:
        """The serializer's ``validate``: the sale price below the price, a stock when not infinite."""
        errors: dict[str, list[str]] = {}
        price = values.get("price", current.price_cents if current is not None else None)
        sale = values.get("sale_price", current.sale_cents if current is not None else None)
        if (
            sale is not None
            and price is not None
            and sale >= price
            and ("sale_price" in values or "price" in values)
        ):
            errors["sale_price"] = [SALE_NOT_BELOW]
        infinite = values.get("is_infinite", not current.manage_stock if current is not None else False)
        if creating and not infinite and values.get("quantity") is None:
            errors["quantity"] = [QUANTITY_NEEDED]
        elif not creating and not infinite and "quantity" in values and values["quantity"] is None:
            errors["quantity"] = [NOT_NULL]
        if errors:
            raise refused(errors)

    def _check_sku(self, sku: str, *, own: RecordState | None) -> None:
        own_id = own.id if own is not None else None
        table = self.store.table("products")
        if any(state.id != own_id and self.content_of(state).sku == sku for state in table.records.values()):
            raise refused({"sku": [SKU_TAKEN]})

    # --- content --------------------------------------------------------------------------------

    def _apply(self, content: WrittenProduct, values: dict[str, Any]) -> WrittenProduct:
        """``content`` with the (validated) ``values`` written over it."""
        changes: dict[str, Any] = {}
        extra = dict(content.extra)
        for name in ("name", "description", "short_description"):
            if name in values:
                extra[name] = values[name]
                changes[name] = localized_text(values[name])
        if "sku" in values:
            changes["sku"] = values["sku"]
        if "price" in values:
            changes["price_cents"] = values["price"]
        if "sale_price" in values:
            changes["sale_cents"] = values["sale_price"]
        infinite = values.get("is_infinite", not content.manage_stock)
        changes["manage_stock"] = not infinite
        if infinite:
            changes["quantity"] = None
        elif values.get("quantity") is not None:
            changes["quantity"] = values["quantity"]
        elif content.quantity is None:
            changes["quantity"] = 0
        if "keywords" in values:
            changes["tags"] = values["keywords"]
        if "is_draft" in values:
            extra["is_draft"] = values["is_draft"]
        return dataclasses.replace(content, **changes, extra=extra)

    def _slug(self, name: str, *, own: RecordState | None) -> str:
        own_id = own.id if own is not None else None
        states = list(self.store.table("products").records.values())

        def taken(slug: str) -> bool:
            return any(state.id != own_id and self.content_of(state).handle == slug for state in states)

        return unique_handle(slugify(name) or "product", taken, first_suffix=2)

    def _generated_sku(self) -> str:
        """Zid's SKU for a product created without one: ``Z.`` and the creation time in microseconds."""
        micros = max(self.store.time.now_seconds() * 1_000_000, self._last_generated_sku + 1)
        self._last_generated_sku = micros
        return f"Z.{micros}"


def refused(errors: Mapping[str, list[str]]) -> ApiError:
    """A 400 whose whole body is the field errors, as DRF answers a failed validation."""
    first = next(iter(errors.items()), ("", [""]))
    return ApiError(400, f"{first[0]}: {first[1][0]}", code="invalid", body=dict(errors))


def json_type(value: Any) -> str:
    """The Python type name DRF's ListField names in its refusal (the parsed JSON value's type)."""
    return type(value).__name__
