"""Products written through a platform's API: the content they keep, and the parsing the flavors share.

A generated product is rendered from facts derived from its seed (``facts.py``). Once a client
creates or updates a product, its :class:`~mercator_sandbox.dataset.RecordState` carries a
:class:`WrittenProduct` (``state.written``): the content as the platform stored it, in
platform-neutral fields (name, description, sku, handle, prices in cents, stock, images, tags, ...)
plus a few platform-specific ones in ``extra``. Every view (lists, details, webhooks) renders a
product from that content when it has some, from its facts otherwise; only written records carry
content, so a store of generated records stays as compact as before.

The product's status stays where every product keeps it, in ``state.status`` (an index into the
flavor's statuses), so status filters and listings work the same for written and generated products.

``Store.write`` and ``Store.insert(..., written=...)`` (``dataset.py``) apply a write: the update time
moves to the store's present (always forward), ``revision`` grows and the ``updated`` / ``created``
change notification goes out, which fires the platform's product webhooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypedDict


@dataclass(frozen=True, slots=True)
class WrittenImage:
    """An image of a written product: the platform's id for it, its URL and its alt text."""

    id: int
    src: str
    alt: str = ""


@dataclass(frozen=True, slots=True)
class WrittenVariant:
    """A variant of a written product (Shopify's products are made of variants)."""

    id: int
    inventory_item_id: int
    title: str
    sku: str
    price_cents: int
    compare_at_cents: int | None
    tracked: bool  # Shopify's inventory_management "shopify" (else null: stock not tracked)
    policy: str  # Shopify's inventory_policy: deny | continue
    quantity: int
    option1: str | None = None


@dataclass(frozen=True, slots=True)
class WrittenProduct:
    """A product's content as written through the API; a write replaces it with a changed copy."""

    name: str
    description: str = ""
    short_description: str = ""
    sku: str = ""
    handle: str = ""
    price_cents: int = 0  # the regular price
    sale_cents: int | None = None  # a lower price it sells for, if any
    quantity: int | None = None  # None: stock is not managed (or unlimited)
    manage_stock: bool = True
    backorders: str = "no"  # WooCommerce's: no | notify | yes
    images: tuple[WrittenImage, ...] = ()
    tags: tuple[str, ...] = ()
    vendor: str = ""
    product_type: str = ""
    variants: tuple[WrittenVariant, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)  # platform-specific fields


class ProductView(TypedDict):
    """A product in platform-neutral terms, for tests to compare a store with its source."""

    id: int
    sku: str
    handle: str | None  # None on platforms without handles (Salla)
    name: str
    description: str
    price: Decimal  # the regular price, with two decimals
    quantity: int | None  # None when the store does not count stock for it
    visible: bool  # the platform's published / on-sale / active state
    images: list[str]
    tags: list[str]


class IdSequence:
    """Ids the platform hands out for things a write creates (images, variants, tags), never reused."""

    def __init__(self, start: int) -> None:
        self._next = start

    def take(self) -> int:
        value = self._next
        self._next += 1
        return value


def cents_of(value: Any) -> int:
    """A price (a JSON number or numeric text) in cents, rounded half up; ValueError if not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a number: {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not a number: {value!r}")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def decimal_of(cents: int) -> Decimal:
    """Cents as a Decimal with two places: ``1250`` is ``Decimal("12.50")``."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def is_integer(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int)


_NOT_HANDLE = re.compile(r"[^\w]+|_+")


def slugify(text: str) -> str:
    """A URL handle from a name, the way the platforms make one: lower case, words joined by hyphens."""
    return _NOT_HANDLE.sub("-", text.strip().lower()).strip("-")


def unique_handle(base: str, taken: Callable[[str], bool], *, first_suffix: int) -> str:
    """``base``, or ``base-N`` with the first free N from ``first_suffix`` on, when ``base`` is taken."""
    if not taken(base):
        return base
    number = first_suffix
    while taken(f"{base}-{number}"):
        number += 1
    return f"{base}-{number}"


def split_tags(raw: str) -> tuple[str, ...]:
    """Tags from comma-separated text, trimmed, empty ones dropped, duplicates kept once (first wins)."""
    seen: dict[str, str] = {}
    for part in raw.split(","):
        tag = part.strip()
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return tuple(seen.values())
