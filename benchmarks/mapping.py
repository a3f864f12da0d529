"""Mapping engine benchmark: compiled mapping vs a hand-written mapper vs a naive per-record interpreter.

Generates Salla ``order.*`` webhook deliveries (envelope ``{event, merchant, created_at, data}``) shaped
like the real sample in ``shared/mercator/connectors/samples/salla/order_created.json``, maps each into
the ``ecommerce:orders`` shape three ways and checks that all three agree before timing them:

(a) ``compile_mapping(ORDER_MAPPING)`` once, then one call per record (the engine);
(b) ``hand_map_order``: what a careful engineer would write by hand for exactly that mapping, reusing the
    same conversions from ``mercator.mapping.transforms``/``functions``;
(c) ``naive_map``: walks the same definition for every record and parses every path with
    ``jsonpath_ng.ext.parse`` each time (the approach the compile-once engine replaces).

Figures are reported, not asserted: the process exits 0 unless the three outputs differ (exit 1).

    .venv/bin/python benchmarks/mapping.py [--orders 50000] [--naive-orders 2000] [--first-discount]
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import math
import random
import string
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jsonpath_ng.ext.parser import parse as parse_jsonpath  # jsonpath_ng.ext.parse itself

from mercator.domain.content_types import validate_record
from mercator.mapping import FUNCTIONS, TRANSFORMS, compile_mapping
from mercator.mapping.engine import RULE_KEYS
from mercator.mapping.functions import concat, lookup, phone_number, sum_numbers
from mercator.mapping.transforms import (
    coalesce,
    join_codes,
    to_integer,
    to_iso_datetime,
    to_number_or_null,
    to_string,
)

Record = dict[str, Any]
Mapper = Callable[[Record], Record]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SAMPLE = REPO / "shared" / "mercator" / "connectors" / "samples" / "salla" / "order_created.json"

TARGET_VS_HAND = 0.4  # a/b: the engine keeps at least 40% of hand-written throughput
TARGET_VS_NAIVE = 30.0  # a/c: compile-once is at least 30x a per-record JSONPath interpreter

# ---------------------------------------------------------------------------------------------------
# The mapping, as a connector author would write it in YAML (webhooks.handlers.order.*.mapping)
# ---------------------------------------------------------------------------------------------------

PAYMENT_STATUS_BY_ORDER_STATUS: dict[str, str] = {
    "payment_pending": "pending",
    "under_review": "pending",
    "in_progress": "paid",
    "completed": "paid",
    "shipped": "paid",
    "delivered": "paid",
    "restored": "refunded",
    "canceled": "voided",
}

ITEM_MAPPING: dict[str, Any] = {
    "code": {"path": "id", "transform": "toString"},
    "productCode": {"path": "product.id", "transform": "toString"},
    "name": {"paths": ["name", "product.name"], "transform": "coalesce"},
    "sku": {"paths": ["sku", "product.sku"], "transform": "coalesce"},
    "quantity": {"path": "quantity", "transform": "toInteger"},
    "unitPrice": {
        "paths": ["amounts.price_without_tax", "product.price"],
        "transform": ["coalesce", "toNumberOrNull"],
    },
    "totalAmount": {"path": "amounts.total.amount", "transform": "toNumberOrNull"},
    "imageUrl": "product.thumbnail",
}

ORDER_MAPPING: dict[str, Any] = {
    "code": {"path": "$.data.id", "transform": "toString"},
    "orderNumber": {"path": "data.reference_id", "transform": "toString"},
    "status": {"path": "data.status.slug", "default": "pending"},
    "paymentStatus": {
        "path": "data.status.slug",
        "transform": "compute",
        "fn": "lookup",
        "args": {"table": PAYMENT_STATUS_BY_ORDER_STATUS, "default": "pending"},
    },
    "paymentMethod": {"path": "data.payment_method", "transform": ["trim", "lowercase"]},
    "currency": {
        "paths": ["data.currency", "data.amounts.total.currency"],
        "transform": ["coalesce", "uppercase"],
    },
    "totalAmount": {"path": "$.data.amounts.total.amount", "transform": "toNumberOrNull"},
    "subtotalAmount": {"path": "data.amounts.sub_total", "transform": "toNumberOrNull"},
    "shippingAmount": {
        "path": "data.amounts.shipping_cost.amount",
        "transform": "toNumberOrNull",
        "default": 0,
    },
    "taxAmount": {"path": "data.amounts.tax.amount.amount", "transform": "toNumberOrNull"},
    # As in connectors/salla.yaml: every discount, through a real JSONPath wildcard (jsonpath-ng at run time).
    "discountAmount": {"path": "$.data.amounts.discounts[*].discount", "transform": "compute", "fn": "sum"},
    "discountCodes": {"path": "data.amounts.discounts", "transform": "joinCodes"},
    "createdAt": {"path": "data.date", "transform": "toIsoDatetime"},
    "updatedAt": {"paths": ["data.updated_at", "data.date"], "transform": ["coalesce", "toIsoDatetime"]},
    "customer": {
        "code": {"path": "data.customer.id", "transform": "toString"},
        "name": {
            "paths": ["data.customer.first_name", "data.customer.last_name"],
            "transform": "compute",
            "fn": "concat",
        },
        "email": {"path": "data.customer.email", "transform": ["trim", "lowercase"]},
        "phone": {
            "paths": ["data.customer.mobile_code", "data.customer.mobile"],
            "transform": "compute",
            "fn": "phoneNumber",
        },
    },
    "items": {"path": "$.data.items", "transform": "mapItems", "mapping": ITEM_MAPPING},
    "shippingAddress": {
        "name": "data.shipping.receiver.name",
        "line1": {
            "paths": ["data.shipping.address.street_number", "data.shipping.address.shipping_address"],
            "transform": ["coalesce", "trim"],
        },
        "line2": "data.shipping.address.block",
        "city": "data.shipping.address.city",
        "postalCode": {"path": "data.shipping.address.postal_code", "transform": "trim"},
        "country": {
            "paths": ["data.shipping.address.country_code", "data.shipping.address.country"],
            "transform": ["coalesce", "uppercase"],
        },
        "phone": {"path": "data.shipping.receiver.phone", "transform": "toString"},
    },
    "url": {"paths": ["data.urls.customer", "data.urls.admin"], "transform": "coalesce"},
    "attributes": {
        "platform": {"value": "salla"},
        "event": "event",
        "merchant": {"path": "merchant", "transform": "toString"},
        "source": {"path": "data.source", "default": "store"},
        "itemCount": {"path": "data.items", "transform": "compute", "fn": "count"},
    },
}

# --first-discount: only the first discount, through a plain indexed path (no jsonpath-ng at run time), to
# see the engine's own overhead apart from the cost of jsonpath-ng's matching.
FIRST_DISCOUNT_RULE: dict[str, Any] = {
    "path": "data.amounts.discounts[0].discount",
    "transform": "toNumberOrNull",
}


def build_mapping(*, first_discount: bool = False) -> dict[str, Any]:
    spec = copy.deepcopy(ORDER_MAPPING)
    if first_discount:
        spec["discountAmount"] = copy.deepcopy(FIRST_DISCOUNT_RULE)
    return spec


def count_fields(spec: dict[str, Any]) -> int:
    """Destination fields, nested objects and the item mapping included."""
    total = 0
    for rule in spec.values():
        if isinstance(rule, dict) and not RULE_KEYS & set(rule):
            total += count_fields(rule)
        else:
            total += 1
            if isinstance(rule, dict) and isinstance(rule.get("mapping"), dict):
                total += count_fields(rule["mapping"])
    return total


# ---------------------------------------------------------------------------------------------------
# (b) The hand-written mapper
# ---------------------------------------------------------------------------------------------------


def build_hand_mapper(*, first_discount: bool = False) -> Mapper:
    """The mapper a careful engineer writes for exactly ORDER_MAPPING (or its --first-discount variant)."""
    table = PAYMENT_STATUS_BY_ORDER_STATUS

    def hand_map_order(record: Record) -> Record:
        data = record.get("data") or {}
        status_slug = (data.get("status") or {}).get("slug")
        amounts = data.get("amounts") or {}
        total = amounts.get("total") or {}
        discounts = amounts.get("discounts")
        date = data.get("date")
        customer = data.get("customer") or {}
        shipping = data.get("shipping") or {}
        receiver = shipping.get("receiver") or {}
        address = shipping.get("address") or {}
        urls = data.get("urls") or {}
        items = data.get("items")

        payment_method = data.get("payment_method")
        if isinstance(payment_method, str):
            payment_method = payment_method.strip().lower() or None
        currency = data.get("currency") or total.get("currency")
        shipping_amount = to_number_or_null((amounts.get("shipping_cost") or {}).get("amount"))
        if first_discount:
            first = discounts[0] if isinstance(discounts, list) and discounts else None
            discount_amount = to_number_or_null(first.get("discount") if isinstance(first, dict) else None)
        else:
            discount_amount = sum_numbers(
                [d["discount"] for d in discounts if isinstance(d, dict) and "discount" in d]
                if isinstance(discounts, list)
                else []
            )
        email = customer.get("email")
        if isinstance(email, str):
            email = email.strip().lower() or None
        line1 = address.get("street_number") or address.get("shipping_address")
        postal_code = address.get("postal_code")
        if isinstance(postal_code, str):
            postal_code = postal_code.strip() or None
        country = address.get("country_code") or address.get("country")

        mapped_items = []
        for item in items or ():
            product = item.get("product") or {}
            item_amounts = item.get("amounts") or {}
            mapped_items.append(
                {
                    "code": to_string(item.get("id")),
                    "productCode": to_string(product.get("id")),
                    "name": item.get("name") or product.get("name"),
                    "sku": item.get("sku") or product.get("sku"),
                    "quantity": to_integer(item.get("quantity")),
                    "unitPrice": to_number_or_null(
                        item_amounts.get("price_without_tax") or product.get("price")
                    ),
                    "totalAmount": to_number_or_null((item_amounts.get("total") or {}).get("amount")),
                    "imageUrl": product.get("thumbnail"),
                }
            )

        return {
            "code": to_string(data.get("id")),
            "orderNumber": to_string(data.get("reference_id")),
            "status": status_slug or "pending",
            "paymentStatus": lookup(status_slug, table=table, default="pending"),
            "paymentMethod": payment_method,
            "currency": currency.upper() if isinstance(currency, str) else currency,
            "totalAmount": to_number_or_null(total.get("amount")),
            "subtotalAmount": to_number_or_null(amounts.get("sub_total")),
            "shippingAmount": 0 if shipping_amount is None else shipping_amount,
            "taxAmount": to_number_or_null(((amounts.get("tax") or {}).get("amount") or {}).get("amount")),
            "discountAmount": discount_amount,
            "discountCodes": join_codes(discounts),
            "createdAt": to_iso_datetime(date),
            "updatedAt": to_iso_datetime(data.get("updated_at") or date),
            "customer": {
                "code": to_string(customer.get("id")),
                "name": concat([customer.get("first_name"), customer.get("last_name")]),
                "email": email,
                "phone": phone_number([customer.get("mobile_code"), customer.get("mobile")]),
            }
            if customer
            else None,
            "items": mapped_items,
            "shippingAddress": {
                "name": receiver.get("name"),
                "line1": (line1.strip() or None) if isinstance(line1, str) else line1,
                "line2": address.get("block"),
                "city": address.get("city"),
                "postalCode": postal_code,
                "country": country.upper() if isinstance(country, str) else country,
                "phone": to_string(receiver.get("phone")),
            }
            if shipping
            else None,
            "url": urls.get("customer") or urls.get("admin"),
            "attributes": {
                "platform": "salla",
                "event": record.get("event"),
                "merchant": to_string(record.get("merchant")),
                "source": data.get("source") or "store",
                "itemCount": len(items) if items is not None else 0,
            },
        }

    return hand_map_order


# ---------------------------------------------------------------------------------------------------
# (c) The naive interpreter: the same definition walked per record, every path parsed per record
# ---------------------------------------------------------------------------------------------------


def naive_get(path: str, record: Any) -> Any:
    text = path.strip()
    expression = parse_jsonpath(text if text.startswith("$") else f"$.{text}")
    try:
        values = [match.value for match in expression.find(record)]
    except (TypeError, AttributeError, KeyError, IndexError, ValueError):
        values = []
    if any(token in text for token in ("*", "..", "?", ":")):
        return values
    return values[0] if values else None


def naive_rule(rule: Any, record: Any) -> Any:
    if isinstance(rule, str):
        return naive_get(rule, record)
    if not isinstance(rule, dict):
        return rule
    if set(rule) == {"object"}:
        return naive_nested(rule["object"], record)
    if not RULE_KEYS & set(rule):
        return naive_nested(rule, record)
    names = rule.get("transform") or []
    names = [names] if isinstance(names, str) else names
    if "path" in rule:
        value = naive_get(rule["path"], record)
    elif "paths" in rule:
        value = [naive_get(path, record) for path in rule["paths"]]
    elif "value" in rule:
        value = copy.deepcopy(rule["value"])
    else:
        value = record
    args = rule.get("args", {})
    for name in names:
        if name == "coalesce":
            value = coalesce(value)
        elif name == "mapItems":
            items = list(value.values()) if isinstance(value, dict) else value or []
            value = [naive_map(rule["mapping"], item) for item in items]
        elif name == "compute":
            value = FUNCTIONS[rule["fn"]].func(value, **args)
        elif TRANSFORMS[name].params and args and "compute" not in names:
            value = TRANSFORMS[name].func(value, **args)
        else:
            value = TRANSFORMS[name].func(value)
    if "default" in rule and (value is None or value == ""):
        value = copy.deepcopy(rule["default"])
    return value


def naive_map(spec: dict[str, Any], record: Any) -> Record:
    return {name: naive_rule(rule, record) for name, rule in spec.items()}


def naive_nested(spec: dict[str, Any], record: Any) -> Record | None:
    """A nested object is null when none of its fields is found (the engine's rule)."""
    value = naive_map(spec, record)
    return value if any(field is not None for field in value.values()) else None


# ---------------------------------------------------------------------------------------------------
# Orders in the Salla shape
# ---------------------------------------------------------------------------------------------------

STATUSES = [
    ("under_review", "بإنتظار المراجعة"),
    ("payment_pending", "بانتظار الدفع"),
    ("in_progress", "قيد التنفيذ"),
    ("completed", "تم التنفيذ"),
    ("shipped", "تم الشحن"),
    ("delivered", "تم التوصيل"),
    ("canceled", "ملغي"),
    ("restored", "مسترجع"),
]
PAYMENT_METHODS = ["bank", "cod", "credit_card", "mada", "apple_pay", "stc_pay", "Tabby", " tamara "]
CURRENCIES = ["SAR", "SAR", "SAR", "AED", "KWD", "sar"]
TIMEZONES = ["Asia/Riyadh", "Asia/Riyadh", "Asia/Dubai", "Asia/Kuwait", "Africa/Cairo", "UTC"]
FIRST_NAMES = ["Mohammed", "Ahmed", "Fatimah", "Sara", "Omar", "Noura", "Khalid", "Layla", "محمد", "نورة"]
LAST_NAMES = ["Ali", "Alharbi", "Alqahtani", "Alotaibi", "Alshehri", "Hassan", "العتيبي", "الزهراني"]
EMAIL_DOMAINS = ["gmail.com", "Hotmail.com", "outlook.sa", "icloud.com", "yahoo.com"]
MOBILE_CODES = ["+966", "+966", "+966", "+971", "+965", "00966"]
CITIES = [
    ("SA", "السعودية", "جدة"),
    ("SA", "السعودية", "الرياض"),
    ("AE", "الامارات", "دبي"),
    ("KW", "الكويت", "الكويت"),
]
PRODUCTS = [
    ("بيتزا", "PZ"),
    ("Cotton T-Shirt", "TS"),
    ("Arabic Coffee 500g", "AC"),
    ("عطر العود", "OUD"),
    ("Wireless Earbuds", "WE"),
    ("Dates Box (Sukkari)", "DT"),
    ("Abaya Classic", "AB"),
    ("Phone Case", "PC"),
]
DISCOUNT_CODES = ["new offer", "RAMADAN10", "WELCOME", "FREESHIP", "vip-15", "EID2022"]
EVENTS = ["order.created", "order.updated", "order.status.updated", "order.payment.updated"]
_TOKEN_CHARS = string.ascii_letters + string.digits
_EPOCH = datetime(2022, 1, 1, tzinfo=UTC)


def load_sample(path: Path) -> Record:
    with path.open(encoding="utf-8") as handle:
        sample: Record = json.load(handle)
    return sample


def _money(amount: Any, currency: str) -> Record:
    return {"amount": amount, "currency": currency}


def _amount(rng: random.Random, value: float) -> Any:
    """Salla sends numbers; some integrations hand us numeric text: vary the form, not the value."""
    roll = rng.random()
    if roll < 0.08:
        return f"{value:,.2f}"
    if roll < 0.5 and value == int(value):
        return int(value)
    return value


def _salla_date(rng: random.Random, moment: datetime) -> Record:
    date: Record = {"date": moment.strftime("%Y-%m-%d %H:%M:%S.000000"), "timezone_type": 3}
    if rng.random() < 0.95:
        date["timezone"] = rng.choice(TIMEZONES)
    return date


def _item(rng: random.Random, base_item: Record, item_id: int, currency: str) -> tuple[Record, float]:
    name, prefix = rng.choice(PRODUCTS)
    product_id = 720881993 + rng.randrange(5000)
    price = round(rng.uniform(5, 900), rng.choice([0, 2]))
    quantity = rng.randint(1, 10)
    line_total = round(price * quantity, 2)
    sku = f"{prefix}-{product_id % 100000:05d}-{rng.choice('SMLX')}"
    product = {
        **base_item["product"],  # options, promotion and the rest: shared, never read by the mapping
        "id": product_id,
        "name": name,
        "sku": sku,
        "price": _money(price, currency),
        "url": f"https://salla.sa/dev-wofftr4xsra5xtlv/p{product_id}",
        "thumbnail": f"https://cdn.salla.sa/bYQEn/{product_id}.jpg" if rng.random() < 0.9 else None,
    }
    amounts: Record = {
        "price_without_tax": _money(_amount(rng, price), currency),
        "total_discount": _money(0, currency),
        "tax": {"percent": "15.00", "amount": _money(round(line_total * 0.15, 2), currency)},
        "total": _money(_amount(rng, line_total), currency),
    }
    if rng.random() < 0.05:
        del amounts["price_without_tax"]  # coalesce falls back to product.price
    item: Record = {
        **base_item,
        "id": item_id,
        "name": name,
        "sku": sku,
        "quantity": str(quantity) if rng.random() < 0.15 else quantity,
        "currency": currency,
        "amounts": amounts,
        "product": product,
    }
    roll = rng.random()
    if roll < 0.08:
        del item["sku"]  # coalesce falls back to product.sku
    elif roll < 0.12:
        item["sku"] = ""
    return item, line_total


def _discounts(rng: random.Random) -> tuple[Any, float]:
    roll = rng.random()
    if roll < 0.05:
        return None, 0.0
    if roll < 0.55:
        return [], 0.0
    entries = []
    total = 0.0
    for code in rng.sample(DISCOUNT_CODES, rng.choice([1, 1, 1, 2])):
        value = round(rng.uniform(2, 60), 2)
        total += value
        entries.append(
            {
                "title": code,
                "type": "special",
                "code": code,
                "discount": f"{value:.2f}",
                "discounted_shipping": 0,
            }
        )
    return entries, total


def _customer(rng: random.Random, base: Record, index: int) -> Record | None:
    if rng.random() < 0.04:
        return None  # guest checkout
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = f"{first if first.isascii() else 'user'}.{last if last.isascii() else 'x'}{index}"
    address = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
    roll = rng.random()
    email = f"  {address.upper()} " if roll < 0.2 else None if roll < 0.23 else address
    customer: Record = {
        **base,  # avatar, birthday, urls ...: shared
        "id": 225167971 + index,
        "first_name": first,
        "last_name": last if rng.random() < 0.9 else rng.choice([None, ""]),
        "mobile": rng.randrange(500000000, 599999999) if rng.random() < 0.97 else None,
        "mobile_code": rng.choice(MOBILE_CODES),
        "email": email,
    }
    if rng.random() < 0.05:
        del customer["mobile_code"]
    return customer


def _shipping(rng: random.Random, base: Record, customer: Record | None) -> Record | None:
    if rng.random() < 0.05:
        return None  # picked up at a branch
    country_code, country, city = rng.choice(CITIES)
    name = (
        " ".join(filter(None, [customer.get("first_name"), customer.get("last_name")]))
        if customer
        else "Guest"
    )
    street = rng.choice(["ابو امية الضمري", "King Fahd Rd", "شارع التحلية", ""])
    return {
        **base,
        "receiver": {
            "name": name,
            "email": customer.get("email") if customer else None,
            "phone": rng.choice([f"9665{rng.randrange(10**8):08d}", 971501960991, None]),
        },
        "address": {
            "country": country,
            "country_code": country_code
            if rng.random() < 0.9
            else rng.choice(["", None, country_code.lower()]),
            "city": city,
            "shipping_address": f" {street or 'شارع'}، الحي {rng.randrange(1, 99)}, {city}, {country}",
            "street_number": street,
            "block": rng.choice(["الزهراء", "السلام", "Al Olaya", None]),
            "postal_code": rng.choice(["", "23233", " 11564 ", "70633"]),
            "geo_coordinates": {"lat": 0, "lng": 0},
        },
    }


def make_order(rng: random.Random, sample: Record, index: int) -> Record:
    """One delivery: fresh objects for everything the mapping reads, shared ones for what it does not."""
    base = sample["data"]
    currency = rng.choice(CURRENCIES)
    order_id = 2116149737 + index * 7 + rng.randrange(7)
    token = "".join(rng.choices(_TOKEN_CHARS, k=32))
    created = _EPOCH + timedelta(seconds=rng.randrange(3 * 365 * 86400))

    items, subtotal = [], 0.0
    for line in range(rng.randint(1, 5)):
        item, line_total = _item(rng, base["items"][0], 70815337 + index * 5 + line, currency.upper())
        items.append(item)
        subtotal += line_total
    discounts, discount_total = _discounts(rng)
    shipping_cost = rng.choice([0, 15, 15, 25, 30.5])
    tax = round(subtotal * 0.15, 2)
    amounts: Record = {
        "sub_total": _money(_amount(rng, round(subtotal, 2)), currency),
        "shipping_cost": _money(shipping_cost, currency),
        "cash_on_delivery": _money(0, currency),
        "tax": {"percent": "15.00", "amount": _money(tax, currency)},
        "discounts": discounts,
        "total": _money(
            _amount(rng, round(subtotal + shipping_cost + tax - discount_total, 2)), currency.upper()
        ),
    }
    if discounts is None and rng.random() < 0.5:
        del amounts["discounts"]
    if rng.random() < 0.05:
        del amounts["shipping_cost"]  # default 0

    slug, status_name = rng.choice(STATUSES)
    customer = _customer(rng, base["customer"], index)
    data: Record = {
        **base,  # shipments, bank, source_details, ...: shared
        "id": order_id,
        "reference_id": 41027662 + index if rng.random() < 0.97 else None,
        "urls": {
            **base["urls"],
            "customer": f"https://salla.sa/dev-wofftr4xsra5xtlv/order/{token}",
            "admin": f"https://s.salla.sa/orders/order/{token}",
        },
        "date": _salla_date(rng, created),
        "status": {
            "id": 566146469 + STATUSES.index((slug, status_name)),
            "name": status_name,
            "slug": slug if rng.random() < 0.97 else "",
            "customized": {"id": 986688842, "name": status_name},
        },
        "payment_method": rng.choice(PAYMENT_METHODS) if rng.random() < 0.95 else None,
        "currency": currency,
        "amounts": amounts,
        "shipping": _shipping(rng, base["shipping"], customer),
        "customer": customer,
        "items": items,
        "source": rng.choice(["store", "store", "api", "pos", ""]),
    }
    if rng.random() < 0.08:
        del data["currency"]  # coalesce falls back to amounts.total.currency
    if rng.random() < 0.6:
        data["updated_at"] = _salla_date(rng, created + timedelta(seconds=rng.randrange(1, 20 * 86400)))
    roll = rng.random()
    if roll < 0.1:
        del data["urls"]["customer"]  # coalesce falls back to urls.admin
    elif roll < 0.15:
        data["urls"]["customer"] = ""
    moment = created.astimezone(UTC) + timedelta(hours=3, seconds=3)
    return {
        "event": rng.choice(EVENTS),
        "merchant": 1305146709 + rng.randrange(40),
        "created_at": moment.strftime("%a %b %d %Y %H:%M:%S GMT+0300"),
        "data": data,
        "pickup_branch": sample.get("pickup_branch"),
    }


def generate_orders(count: int, seed: int, sample: Record) -> list[Record]:
    rng = random.Random(seed)
    collecting = gc.isenabled()
    gc.disable()  # building ~10M long-lived objects: a collection every 700 of them only costs time
    try:
        orders = [make_order(rng, sample, index) for index in range(count)]
    finally:
        if collecting:
            gc.enable()
    if len({order["data"]["id"] for order in orders}) != count:
        raise AssertionError("generated order ids are not distinct")
    return orders


# ---------------------------------------------------------------------------------------------------
# Checking and timing
# ---------------------------------------------------------------------------------------------------


def first_difference(expected: Any, actual: Any, where: str = "") -> str | None:
    if type(expected) is not type(actual):
        kinds = f"{type(expected).__name__} vs {type(actual).__name__}"
        return f"{where or '(record)'}: {expected!r} != {actual!r} ({kinds})"
    if isinstance(expected, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in expected or key not in actual:
                return f"{where}.{key}: present in only one output"
            found = first_difference(expected[key], actual[key], f"{where}.{key}" if where else key)
            if found:
                return found
        return None
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return f"{where}: {len(expected)} elements != {len(actual)}"
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found = first_difference(left, right, f"{where}[{index}]")
            if found:
                return found
        return None
    return None if expected == actual else f"{where}: {expected!r} != {actual!r}"


def check_same(label: str, reference: Sequence[Record], mapper: Mapper, records: Sequence[Record]) -> int:
    """Compare ``mapper`` with the engine's output on every record; print each difference (up to 5)."""
    mismatches = 0
    for index, (record, expected) in enumerate(zip(records, reference, strict=False)):
        actual = mapper(record)
        # Compare values and their types (1 vs 1.0 vs True would pass a plain ==).
        problem = first_difference(expected, actual)
        if problem:
            mismatches += 1
            if mismatches <= 5:
                print(f"  MISMATCH {label} order #{index} (id {record['data'].get('id')}): {problem}")
    return mismatches


def best_time(mapper: Mapper, records: Sequence[Record], repeat: int) -> float:
    """Best wall time of ``repeat`` passes; GC is paused while timing, as timeit does."""
    best = math.inf
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            for record in records:
                mapper(record)
            elapsed = time.perf_counter() - start
        finally:
            gc.enable()
        best = min(best, elapsed)
    return best


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio >= target else "MISS"


def same_outputs(
    engine: Mapper, hand: Mapper, naive: Mapper, records: Sequence[Record], naive_records: Sequence[Record]
) -> bool:
    """(a) vs (b) on every record, (a) vs (c) on the records (c) is timed on; print what differs."""
    print("Checking outputs (values and their types) ...")
    reference = [engine(record) for record in records]
    bad_hand = check_same("(b) hand-written", reference, hand, records)
    bad_naive = check_same("(c) naive", reference, naive, naive_records)
    total, subset = len(records), len(naive_records)
    print(f"  (a) == (b) on all {total:,} orders: {f'{bad_hand:,} DIFFER' if bad_hand else 'OK'}")
    naive_verdict = f"{bad_naive:,} DIFFER" if bad_naive else "OK"
    print(f"  (a) == (c) on the {subset:,} orders (c) is timed on: {naive_verdict}")
    if bad_hand or bad_naive:
        return False
    invalid = 0
    for output in reference[:2000]:
        try:
            validate_record("ecommerce:orders", output)
        except ValueError as exc:
            invalid += 1
            if invalid <= 3:
                print(f"  note: mapped order {output.get('code')} is not a valid ecommerce:orders: {exc}")
    print(f"  ecommerce:orders validation of the first {min(2000, total):,} outputs: {invalid} invalid")
    return True


def run(
    orders: int,
    naive_orders: int,
    seed: int,
    repeat: int,
    sample_path: Path,
    *,
    first_discount: bool = False,
) -> int:
    spec = build_mapping(first_discount=first_discount)
    engine = compile_mapping(spec, connector="salla", scope="webhook order.created")
    hand = build_hand_mapper(first_discount=first_discount)

    def naive(record: Record) -> Record:
        return naive_map(spec, record)

    started = time.perf_counter()
    records = generate_orders(orders, seed, load_sample(sample_path))
    naive_records = records[: min(naive_orders, orders)]
    items = sum(len(order["data"]["items"]) for order in records)
    elapsed = time.perf_counter() - started
    print(f"Generated {len(records):,} distinct Salla orders, {items:,} items (seed {seed}, {elapsed:.1f}s)")
    print(f"  shaped like {sample_path}")
    discount = "discounts[0] (--first-discount)" if first_discount else "$.data.amounts.discounts[*] + sum"
    print(
        f"Mapping: {count_fields(spec)} destination fields, {len(spec)} top-level; discountAmount: {discount}"
    )

    if not same_outputs(engine, hand, naive, records, naive_records):
        print("FAIL: the three implementations do not produce the same output; not timing them.")
        return 1

    gc.collect()
    gc.freeze()  # the generated records are long-lived: keep them out of the collector's way
    try:
        print(f"Timing (best of {repeat}, time.perf_counter, GC paused during each pass) ...")
        engine_time = best_time(engine, records, repeat)
        hand_time = best_time(hand, records, repeat)
        naive_time = best_time(naive, naive_records, repeat)
    finally:
        gc.unfreeze()

    engine_rate = len(records) / engine_time
    hand_rate = len(records) / hand_time
    naive_rate = len(naive_records) / naive_time
    vs_hand = engine_rate / hand_rate
    vs_naive = engine_rate / naive_rate
    print()
    print(f"  (a) engine (compiled once)     {engine_rate:>10,.0f} records/s   all {len(records):,} orders")
    print(f"  (b) hand-written               {hand_rate:>10,.0f} records/s   all {len(records):,} orders")
    print(
        f"  (c) naive (parse every path)   {naive_rate:>10,.0f} records/s   "
        f"SUBSET: the first {len(naive_records):,} orders"
    )
    print()
    print(f"  a/b = {vs_hand:7.2f}   target >= {TARGET_VS_HAND:g}   {verdict(vs_hand, TARGET_VS_HAND)}")
    print(f"  a/c = {vs_naive:7.1f}   target >= {TARGET_VS_NAIVE:g}    {verdict(vs_naive, TARGET_VS_NAIVE)}")
    print("  (figures are reported, not asserted)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--orders", type=int, default=50_000, help="orders to generate and map (default 50,000)"
    )
    parser.add_argument(
        "--naive-orders",
        type=int,
        default=2_000,
        help="orders the naive interpreter is checked and timed on (default 2,000; ~20 ms per order)",
    )
    parser.add_argument("--seed", type=int, default=20220626, help="random seed for the generated orders")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per implementation; best is kept")
    parser.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE, help="the Salla order webhook sample")
    parser.add_argument(
        "--first-discount",
        action="store_true",
        help="map discountAmount from discounts[0] instead of the [*] wildcard (no jsonpath-ng at run time)",
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.naive_orders < 1 or args.repeat < 1:
        parser.error("--orders, --naive-orders and --repeat must be positive")
    return run(
        args.orders,
        args.naive_orders,
        args.seed,
        args.repeat,
        args.sample,
        first_discount=args.first_discount,
    )


if __name__ == "__main__":
    sys.exit(main())
