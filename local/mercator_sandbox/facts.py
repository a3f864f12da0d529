"""What a record is about, derived from its ``variant`` alone: people, products and order lines.

Every flavor renders the same facts into its own shapes, and an order's buyer and lines are read
from the customers and products the same store lists, so the dataset hangs together (an order's
customer email is that customer's email). Facts are cached per variant: rendering a page asks for
the same products again and again.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from mercator_sandbox.dataset import Store

FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Ahmed", "male"),
    ("Mohammed", "male"),
    ("Omar", "male"),
    ("Khalid", "male"),
    ("Yousef", "male"),
    ("Faisal", "male"),
    ("John", "male"),
    ("Liam", "male"),
    ("Noah", "male"),
    ("Lucas", "male"),
    ("Sara", "female"),
    ("Fatimah", "female"),
    ("Layla", "female"),
    ("Noura", "female"),
    ("Huda", "female"),
    ("Reem", "female"),
    ("Emma", "female"),
    ("Olivia", "female"),
    ("Ava", "female"),
    ("Sofia", "female"),
)
LAST_NAMES: tuple[str, ...] = (
    "Alharbi",
    "Alqahtani",
    "Alghamdi",
    "Alzahrani",
    "Aldosari",
    "Ali",
    "Hassan",
    "Saleh",
    "Smith",
    "Johnson",
    "Brown",
    "Garcia",
    "Silva",
    "Martin",
    "Lee",
    "Walker",
)
ADJECTIVES: tuple[str, ...] = (
    "Classic",
    "Organic",
    "Vintage",
    "Premium",
    "Everyday",
    "Compact",
    "Handmade",
    "Deluxe",
    "Essential",
    "Modern",
)
NOUNS: tuple[tuple[str, str], ...] = (
    ("T-Shirt", "Clothing"),
    ("Hoodie", "Clothing"),
    ("Abaya", "Clothing"),
    ("Mug", "Kitchen"),
    ("Coffee Beans", "Kitchen"),
    ("Dates Box", "Food"),
    ("Notebook", "Stationery"),
    ("Backpack", "Bags"),
    ("Perfume", "Beauty"),
    ("Sneakers", "Shoes"),
    ("Phone Case", "Electronics"),
    ("Headphones", "Electronics"),
)
VENDORS: tuple[str, ...] = ("Acme", "Northwind", "Desert Rose", "Oasis Goods", "Blue Harbor")
COUPONS: tuple[str, ...] = ("WELCOME10", "RAMADAN20", "FREESHIP", "VIP15", "SUMMER5")


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    gender: str
    email: str
    digits: int  # eight digits of a local phone number
    place: int  # picks an address from the flavor's own list
    birthday: tuple[int, int, int]

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class ProductFacts:
    title: str
    handle: str
    sku: str
    category: str
    vendor: str
    price_cents: int
    sale_cents: int | None  # a lower price it currently sells for, if on sale
    stock: int
    images: int
    variant_count: int


@dataclass(frozen=True)
class Line:
    line_id: int
    product_id: int
    quantity: int
    product: ProductFacts

    @property
    def unit_cents(self) -> int:
        return self.product.sale_cents or self.product.price_cents

    @property
    def total_cents(self) -> int:
        return self.unit_cents * self.quantity


@dataclass(frozen=True)
class OrderFacts:
    """An order or a cart: buyer, lines and the money that follows from them."""

    customer_id: int | None  # None: a guest
    customer: Person
    lines: tuple[Line, ...]
    shipping_cents: int
    discount_cents: int
    coupon: str | None
    tax_rate_bp: int  # basis points: 1500 is 15 %
    payment: int  # picks a payment method from the flavor's own list
    token: str  # 32 hex digits, for checkout tokens and order URLs

    @property
    def subtotal_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)

    @property
    def tax_cents(self) -> int:
        return (self.subtotal_cents - self.discount_cents) * self.tax_rate_bp // 10_000

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents + self.shipping_cents + self.tax_cents

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


def money(cents: int) -> str:
    """Cents as platform text: ``"199.00"``."""
    return f"{cents // 100}.{cents % 100:02d}"


def amount(cents: int) -> float | int:
    """Cents as a JSON number the way Salla writes amounts: ``55`` or ``302.5``."""
    return cents // 100 if cents % 100 == 0 else cents / 100


@lru_cache(maxsize=65_536)
def person(variant: int) -> Person:
    rng = random.Random(variant)
    first, gender = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    number = rng.randrange(1, 10_000)
    email = f"{first}.{last}{number}@example.com".lower()
    birthday = (rng.randint(1965, 2004), rng.randint(1, 12), rng.randint(1, 28))
    return Person(
        first, last, gender, email, rng.randrange(10_000_000, 100_000_000), rng.randrange(1 << 16), birthday
    )


@lru_cache(maxsize=65_536)
def product(variant: int) -> ProductFacts:
    rng = random.Random(variant)
    adjective = rng.choice(ADJECTIVES)
    noun, category = rng.choice(NOUNS)
    title = f"{adjective} {noun}"
    handle = f"{title.lower().replace(' ', '-')}-{variant % 100_000}"
    price = rng.randrange(5, 500) * 100 + rng.choice((0, 0, 50, 99))
    sale = price * rng.randint(60, 90) // 100 if rng.random() < 0.2 else None
    return ProductFacts(
        title=title,
        handle=handle,
        sku=f"{noun[:3].upper()}-{variant % 1_000_000:06d}",
        category=category,
        vendor=rng.choice(VENDORS),
        price_cents=price,
        sale_cents=sale,
        stock=rng.randrange(0, 200),
        images=rng.randint(0, 3),
        variant_count=rng.randint(1, 3),
    )


class Catalog:
    """Facts about the records of one store, looked up by id (deleted records included)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._created: dict[str, list[int]] = {}

    def customer(self, customer_id: int) -> Person:
        state = self._store.lookup("customers", customer_id) if "customers" in self._store.resources else None
        return person(state.variant if state else customer_id)

    def product(self, product_id: int) -> ProductFacts:
        state = self._store.lookup("products", product_id) if "products" in self._store.resources else None
        return product(state.variant if state else product_id)

    def order(
        self, variant: int, *, placed: int | None = None, guest_share: float = 0.0, max_lines: int = 3
    ) -> OrderFacts:
        """The facts of an order (or cart) seeded by ``variant``; customers and products are the store's.

        With ``placed`` (the order's creation time), buyer and products are ones that existed then.
        """
        rng = random.Random(variant ^ 0x5EED)
        customers = self._existing("customers", placed)
        products = self._existing("products", placed)
        customer_id: int | None = None
        if customers and rng.random() >= guest_share:
            customer_id = customers[rng.randrange(len(customers))]
        buyer = self.customer(customer_id) if customer_id is not None else person(variant)
        lines = []
        for number in range(rng.randint(1, max_lines)):
            # A store without products still sells something: ids then come from the variant.
            product_id = (
                products[rng.randrange(len(products))] if products else 1_000 + rng.randrange(1_000_000)
            )
            line_id = (variant % 10_000_000) * 10 + number + 1
            lines.append(Line(line_id, product_id, rng.randint(1, 4), self.product(product_id)))
        subtotal = sum(line.total_cents for line in lines)
        coupon = rng.choice(COUPONS) if rng.random() < 0.25 else None
        discount = subtotal * rng.choice((5, 10, 15, 20)) // 100 if coupon else 0
        return OrderFacts(
            customer_id=customer_id,
            customer=buyer,
            lines=tuple(lines),
            shipping_cents=rng.choice((0, 1500, 2500, 3000)),
            discount_cents=discount,
            coupon=coupon,
            tax_rate_bp=rng.choice((0, 500, 1500)),
            payment=rng.randrange(1 << 16),
            token=f"{rng.getrandbits(128):032x}",
        )

    def _existing(self, resource: str, moment: int | None) -> Sequence[int]:
        if resource not in self._store.resources:
            return []
        generated = self._store.generated_ids(resource)
        if moment is None:
            return generated
        times = self._created.get(resource)
        if times is None:
            table = self._store.table(resource)
            # Generated records are live or deleted, never gone; their creation time never changes.
            times = [(table.records.get(i) or table.tombstones[i]).created for i in generated]
            self._created[resource] = times
        count = bisect.bisect_right(times, moment)
        # A store whose first order predates every customer still has buyers: take them all then.
        return generated[:count] if count else generated
