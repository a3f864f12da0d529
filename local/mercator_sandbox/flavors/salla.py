"""Salla (Merchant API v2): ``/admin/v2`` orders, products, customers, abandoned carts and shipments.

Lists answer ``{status, success, data, pagination: {count, total, perPage, currentPage, totalPages,
links}}`` with ``page`` / ``per_page`` (15 by default; a larger ``per_page`` than the store's cap,
60 unless configured, is cut to the cap). Every list is newest first. Orders filter their creation
date with ``from_date`` / ``to_date`` (``YYYY-MM-DD``, store time Asia/Riyadh, both days included).

Record shapes follow the shipped samples: a light order in lists (no ``updated_at``: Salla's list
items carry none) and the full order, with ``updated_at``, in details; products carry a plain
``updated_at`` text in store time; customers and carts carry date objects. Webhooks use Salla's
``{event, merchant, created_at, data}`` envelope signed with a hex HMAC-SHA256 of the body.

``POST /orders/{id}/status`` (Update Order Status) takes ``{"slug": ...}`` or ``{"status_id": ...}``,
changes the order in the store (a later listing shows it) and answers the updated order; an unknown
status is a 422 naming the field.

Products are written as in Salla's Merchant API (details in ``salla_writes.py``):
``POST /products`` (Create Product) takes ``{name, price, product_type, status, quantity |
unlimited_quantity, sale_price, cost_price, sku, mpn, gtin, description, images: [{original, alt,
default}], tags: [tag ids]}`` and answers 201 ``{"status": 201, "success": true, "data": <the
product as Product Details shows it>}``; ``PUT /products/{id}`` and ``PUT /products/sku/{sku}``
(Update Product, by id or SKU) write the fields given and answer the same way with 201 (Salla's
"created/updated" code); ``GET /products/sku/{sku}`` (Product Details By SKU) answers the product or
the 404; ``POST /products/tags?tag_name=...`` (Create Product Tag) answers 200 ``{"data": [{id,
name}]}``, the existing tag when the name is taken. Stock is the product's ``quantity`` (null with
``unlimited_quantity``). A refused write is a 422 ``{"status": 422, "success": false, "error":
{"code": "error", "message": "alert.invalid_fields", "fields": {"<field>": ["<message>"]}}}`` naming
every failed field (required name / price / product_type, a numeric price of at least 0, a known
product_type and status, a SKU no other product has, images with an ``original``, known tag ids), in
Arabic or, with ``Accept-Language: en``, English. A created product is ``hidden`` until it has an
image and ``out`` until it has stock, as the reference says.

Shipments (Shipping and Fulfilment API, in ``salla_shipments.py``): ``GET /shipments``, ``GET
/shipments/{id}``, ``POST /shipments``, ``PUT /shipments/{id}``, ``POST /shipments/{id}/cancel`` and
``GET /shipping/companies``, with ``shipment.created`` / ``shipment.updated`` / ``shipment.cancelled``
webhooks; the store is generated with a shipment for each order Salla would have shipped. ``GET
/orders/items?order_id=`` (List Order Items) answers an order's lines.

Credentials: any ``Authorization: Bearer <token>``. Rate limit (the platform's way): a leaky
bucket per store, reported in ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (epoch seconds
when the bucket is empty again); a refusal is a 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from time import time as epoch_now
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from starlette.requests import Request

from mercator_sandbox.dataset import ChangeKind, Query, RecordState, ResourceSpec, Store, Window
from mercator_sandbox.facts import OrderFacts, Person, amount
from mercator_sandbox.flavors.base import (
    Answer,
    ApiError,
    DeliveryContext,
    Endpoint,
    Flavor,
    View,
    json_object,
    origin_of,
    whole_number,
)
from mercator_sandbox.flavors.salla_shipments import SPEC as SHIPMENT_SPEC
from mercator_sandbox.flavors.salla_shipments import SallaShipping
from mercator_sandbox.flavors.salla_writes import PRODUCT_STATUSES, Errors, SallaProductWriter, language
from mercator_sandbox.mutations import ServedPage
from mercator_sandbox.ratelimit import Admission, RateLimitConfig
from mercator_sandbox.shipments import CarrierStatus, ShipmentView
from mercator_sandbox.templates import Template
from mercator_sandbox.writes import ProductView, WrittenImage, WrittenProduct, decimal_of

RIYADH = ZoneInfo("Asia/Riyadh")
CURRENCY = "SAR"
STORE_SLUG = "dev-mercator-sandbox"

# (slug, Arabic name, status id): the order statuses Salla ships with.
ORDER_STATUSES: tuple[tuple[str, str, int], ...] = (
    ("payment_pending", "بانتظار الدفع", 1956875584),
    ("under_review", "بإنتظار المراجعة", 566146469),
    ("in_progress", "قيد التنفيذ", 1939592358),
    ("completed", "تم التنفيذ", 1298199463),
    ("delivering", "جاري التوصيل", 349994915),
    ("delivered", "تم التوصيل", 1723506348),
    ("shipped", "تم الشحن", 814202285),
    ("canceled", "ملغي", 525144736),
)
CART_STATUSES = ("active", "purchased")
PAYMENT_METHODS = ("mada", "credit_card", "bank", "cod", "apple_pay", "stc_pay", "tabby")
# (Arabic city, English city)
CITIES: tuple[tuple[str, str], ...] = (
    ("الرياض", "Riyadh"),
    ("جدة", "Jeddah"),
    ("مكة", "Makkah"),
    ("الدمام", "Dammam"),
    ("المدينة المنورة", "Madinah"),
    ("الخبر", "Khobar"),
)
AVATARS = {
    "male": "https://cdn.assets.salla.network/prod/admin/cp/assets/images/avatar_male.png",
    "female": "https://cdn.assets.salla.network/prod/admin/cp/assets/images/avatar_female.png",
}
IMAGE_HOST = "https://cdn.salla.sa/mercator"
# An image as List Products writes one (products_list.json), for shapes whose sample has none.
IMAGE_SHAPE: Mapping[str, Any] = {
    "id": 0,
    "url": "",
    "main": False,
    "three_d_image_url": "",
    "alt": "image",
    "video_url": "",
    "type": "image",
    "sort": 0,
}

TEMPLATES: Mapping[tuple[str, str], Template] = {
    ("orders", "list"): Template("salla/orders_list.json", "data", 0),
    ("orders", "details"): Template("salla/order_details.json", "data"),
    ("orders", "webhook"): Template("salla/order_created.json", "data"),
    ("order_item", "full"): Template("salla/order_created.json", "data", "items", 0),
    ("products", "list"): Template("salla/products_list.json", "data", 0),
    ("products", "details"): Template("salla/product_details.json", "data"),
    ("products", "webhook"): Template("salla/product_created.json", "data"),
    ("products", "price"): Template("salla/product_price_updated.json", "data"),
    ("customers", "list"): Template("salla/customers_list.json", "data", 0),
    ("customers", "details"): Template("salla/customer_details.json", "data"),
    ("customers", "webhook"): Template("salla/customer_login.json", "data"),
    ("carts", "list"): Template("salla/abandoned_carts_list.json", "data", 0),
    ("carts", "details"): Template("salla/abandoned_cart_details.json", "data"),
    ("carts", "webhook"): Template("salla/abandoned_cart.json", "data"),
}

EVENTS: Mapping[str, Mapping[ChangeKind, str]] = {
    "orders": {"created": "order.created", "updated": "order.updated", "deleted": "order.deleted"},
    "products": {"created": "product.created", "updated": "product.updated", "deleted": "product.deleted"},
    # Salla sends no event when a customer or an abandoned cart is deleted.
    "customers": {"created": "customer.created", "updated": "customer.updated"},
    "carts": {"created": "abandoned.cart", "updated": "abandoned.cart"},
    # A cancellation sends shipment.cancelled instead of shipment.updated (SallaShipping.announcing).
    "shipments": {"created": "shipment.created", "updated": "shipment.updated"},
}
EXTRA_EVENTS: Mapping[str, tuple[str, ...]] = {
    "orders": ("order.status.updated",),
    "products": ("product.price.updated",),
    "customers": ("customer.login",),
    "carts": ("abandoned.cart.purchased",),
    "shipments": ("shipment.creating", "shipment.cancelled"),
}
ORDER_ITEMS_MESSAGES: Mapping[str, tuple[str, str]] = {
    "order_id.required": ("حقل رقم الطلب مطلوب.", "The order id field is required."),
}
# Salla's Saudi Arabia in country ids (the reference's examples of ship_to.country).
SAUDI_ARABIA_ID = 1473353380


def salla_date(epoch: int) -> dict[str, Any]:
    """Salla's date object, in store time."""
    local = datetime.fromtimestamp(epoch, RIYADH)
    return {"date": local.strftime("%Y-%m-%d %H:%M:%S.000000"), "timezone_type": 3, "timezone": "Asia/Riyadh"}


def plain_time(epoch: int, *, micro: bool = False) -> str:
    local = datetime.fromtimestamp(epoch, RIYADH)
    return local.strftime("%Y-%m-%d %H:%M:%S.000000" if micro else "%Y-%m-%d %H:%M:%S")


def js_date(epoch: float) -> str:
    """A JavaScript ``Date.toString()`` in store time: ``Sun Jun 26 2022 12:21:48 GMT+0300``."""
    local = datetime.fromtimestamp(int(epoch), RIYADH)
    return local.strftime("%a %b %d %Y %H:%M:%S GMT%z")


def sar(cents: int) -> dict[str, Any]:
    return {"amount": amount(cents), "currency": CURRENCY}


@dataclass(frozen=True)
class BuyerAddress:
    """Where a buyer's orders and shipments go, as the order webhook and ship_to write it."""

    city: str  # in Arabic, as Salla writes cities
    line: str
    street: str
    postal_code: str


def buyer_address(buyer: Person) -> BuyerAddress:
    city_ar, _ = CITIES[buyer.place % len(CITIES)]
    return BuyerAddress(
        city=city_ar,
        line=f"{buyer.place % 900 + 100} King Fahd Road, {city_ar}",
        street="King Fahd Road",
        postal_code=f"{12_000 + buyer.place % 9_000}",
    )


def receiver_phone(buyer: Person) -> str:
    """The receiver's phone as orders and shipments write it: international digits, no plus."""
    return f"9665{buyer.digits:08d}"


class Salla(Flavor):
    name = "salla"
    prefix = "/admin/v2"
    endpoints = (
        Endpoint("orders", "list", "/orders"),
        # Before /orders/{id}, which would take "items" for an id.
        Endpoint("orders", "read", "/orders/items", action="order_items"),
        Endpoint("orders", "details", "/orders/{id}"),
        Endpoint("orders", "status", "/orders/{id}/status", "POST"),
        Endpoint("products", "list", "/products"),
        Endpoint("products", "write", "/products", "POST", action="create"),
        Endpoint("products", "write", "/products/tags", "POST", action="create_tag"),
        Endpoint("products", "read", "/products/sku/{sku}", action="by_sku"),
        Endpoint("products", "write", "/products/sku/{sku}", "PUT", action="update_by_sku"),
        Endpoint("products", "details", "/products/{id}"),
        Endpoint("products", "write", "/products/{id}", "PUT", action="update"),
        Endpoint("customers", "list", "/customers"),
        Endpoint("customers", "details", "/customers/{id}"),
        Endpoint("carts", "list", "/carts/abandoned"),
        Endpoint("carts", "details", "/carts/abandoned/{id}"),
        Endpoint("shipments", "list", "/shipments"),
        Endpoint("shipments", "write", "/shipments", "POST", action="create_shipment"),
        Endpoint("shipments", "details", "/shipments/{id}"),
        Endpoint("shipments", "write", "/shipments/{id}", "PUT", action="update_shipment"),
        Endpoint("shipments", "write", "/shipments/{id}/cancel", "POST", action="cancel_shipment"),
        Endpoint("shipments", "read", "/shipping/companies", action="shipping_companies"),
    )
    specs: ClassVar[Mapping[str, ResourceSpec]] = {
        "orders": ResourceSpec(1_000_000_000, (0.05, 0.1, 0.15, 0.35, 0.05, 0.15, 0.05, 0.1)),
        "products": ResourceSpec(1_600_000_000, (0.85, 0.1, 0.05), max_update_delay=60 * 86400),
        "customers": ResourceSpec(2_000_000_000, max_update_delay=30 * 86400),
        "carts": ResourceSpec(1_090_000_000, (0.9, 0.1), max_update_delay=86400),
        "shipments": SHIPMENT_SPEC,
    }
    # 120 requests a minute on the basic plan, leaking 2 a second.
    platform_rate_limit = RateLimitConfig(rate=2, burst=120)
    default_max_per_page = 60
    credentials_hint = "any bearer token: Authorization: Bearer <token>"
    sample_headers: ClassVar[dict[str, str]] = {"Authorization": "Bearer sandbox-token"}
    default_per_page = 15

    def __init__(self, store: Store, *, max_per_page: int | None = None) -> None:
        super().__init__(store, max_per_page=max_per_page)
        self.writer = SallaProductWriter(store, self._content)
        self.shipping = SallaShipping(store, self.catalog, self)
        self.shipping.generate()

    # --- requests -------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and bool(token.strip())

    def access_token(self, headers: Mapping[str, str]) -> str | None:
        value = next((value for name, value in headers.items() if name.lower() == "authorization"), "")
        scheme, _, token = value.partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    def list_page(self, request: Request, endpoint: Endpoint) -> Answer:
        params = request.query_params
        page = whole_number(params, "page", 1)
        per_page = min(whole_number(params, "per_page", self.default_per_page), self.max_per_page)
        windows: tuple[Window, ...] = ()
        ids: frozenset[int] | None = None
        if endpoint.resource in ("orders", "shipments"):
            windows = self._date_window(request)
        if endpoint.resource == "shipments":
            ids = self.shipping.matching(params, language(request.headers.get("accept-language", "")))
        query = Query(order="created", descending=True, windows=windows, ids=ids)
        listing = self.store.select(endpoint.resource, query)
        total = len(listing)
        start = min((page - 1) * per_page, total)
        stop = min(start + per_page, total)
        data = [
            self.render(endpoint.resource, self.store.get(endpoint.resource, i), "list", origin_of(request))
            for i in listing[start:stop]
        ]
        total_pages = max(1, math.ceil(total / per_page))
        links: dict[str, str] = {}
        if page < total_pages:
            links["next"] = str(request.url.include_query_params(page=page + 1))
        if page > 1:
            links["previous"] = str(request.url.include_query_params(page=min(page - 1, total_pages)))
        body = {
            "status": 200,
            "success": True,
            "data": data,
            "pagination": {
                "count": len(data),
                "total": total,
                "perPage": per_page,
                "currentPage": page,
                "totalPages": total_pages,
                "links": links,
            },
        }
        return Answer(body, page=ServedPage(endpoint.resource, query, stop, len(data)))

    def _date_window(self, request: Request) -> tuple[Window, ...]:
        params = request.query_params
        lo = self._day(params.get("from_date"), "from_date", time.min)
        hi = self._day(params.get("to_date"), "to_date", time.max)
        if lo is None and hi is None:
            return ()
        return (Window("created", lo, hi),)

    @staticmethod
    def _day(raw: str | None, name: str, at: time) -> int | None:
        if not raw:
            return None
        try:
            day = date.fromisoformat(raw.strip())
        except ValueError:
            raise ApiError(400, f"{name} must be a date like 2024-05-01, got {raw!r}", param=name) from None
        if len(raw.strip()) != 10:
            raise ApiError(400, f"{name} must be a date like 2024-05-01, got {raw!r}", param=name)
        return int(datetime.combine(day, at, RIYADH).timestamp())

    def wrap_details(self, resource: str, record: dict[str, Any]) -> Any:
        return {"status": 200, "success": True, "data": record}

    def update_status(self, request: Request, endpoint: Endpoint, raw_id: str, body: bytes) -> Answer:
        """Update Order Status: ``{"slug": ...}`` or ``{"status_id": ...}``; answers the updated order."""
        state = self.find(endpoint.resource, raw_id)
        try:
            fields = json.loads(body)
        except ValueError:
            raise ApiError(400, "The request body must be JSON") from None
        if not isinstance(fields, dict):
            raise ApiError(400, "The request body must be a JSON object")
        slug, status_id = fields.get("slug"), fields.get("status_id")
        slugs = [entry[0] for entry in ORDER_STATUSES]
        if slug is not None:
            if slug not in slugs:
                raise ApiError(422, f"The selected slug is invalid; valid: {', '.join(slugs)}", param="slug")
            index = slugs.index(slug)
        elif status_id is not None:
            ids = [entry[2] for entry in ORDER_STATUSES]
            if status_id not in ids:
                raise ApiError(422, "The selected status id is invalid", param="status_id")
            index = ids.index(status_id)
        else:
            raise ApiError(422, "The slug field is required when status id is not present", param="slug")
        if state.status != index:
            state.status = index
            self.store.touch(endpoint.resource, state.id)
        record = self.render(endpoint.resource, state, "details", origin_of(request))
        return Answer(self.wrap_details(endpoint.resource, record))

    def write(self, request: Request, endpoint: Endpoint, body: bytes) -> Answer:
        """Create Product (201), Update Product by id or SKU (201), Create Product Tag (200); Create,
        Update and Cancel Shipment (200)."""
        lang = language(request.headers.get("accept-language", ""))
        if endpoint.resource == "shipments":
            return self._write_shipment(request, endpoint, body, lang)
        if endpoint.action == "create_tag":
            tag_id, name = self.writer.tag(request.query_params.get("tag_name"), lang)
            return Answer({"status": 200, "success": True, "data": [{"id": tag_id, "name": name}]})
        fields = json_object(body, ApiError(400, "The request body must be a JSON object"))
        if endpoint.action == "create":
            content, status = self.writer.create(fields, lang)
            state = self.store.insert("products", status=status, written=content)
        else:
            if endpoint.action == "update_by_sku":
                state = self._by_sku(request.path_params["sku"])
            else:
                state = self.find("products", request.path_params["id"])
            content, status = self.writer.update(state, fields, lang)
            state = self.store.write("products", state.id, content, status=status)
        record = self.render("products", state, "details", origin_of(request))
        return Answer({"status": 201, "success": True, "data": record}, 201)

    def _write_shipment(self, request: Request, endpoint: Endpoint, body: bytes, lang: int) -> Answer:
        if endpoint.action == "cancel_shipment":
            state = self.shipping.cancel(self.find("shipments", request.path_params["id"]), lang)
        else:
            fields = json_object(body, ApiError(400, "The request body must be a JSON object"))
            if endpoint.action == "create_shipment":
                state = self.shipping.create(fields, lang)
            else:
                state = self.shipping.update(self.find("shipments", request.path_params["id"]), fields, lang)
        record = self.render("shipments", state, "details", origin_of(request))
        return Answer({"status": 200, "success": True, "data": record})

    def read(self, request: Request, endpoint: Endpoint) -> Answer:
        """Product Details By SKU: the product as Product Details shows it; 404 when no product has it.
        List Shipping Companies: the store's shipping companies. List Order Items: an order's lines."""
        if endpoint.action == "shipping_companies":
            return Answer({"status": 200, "success": True, "data": self.shipping.companies()})
        if endpoint.action == "order_items":
            return Answer({"status": 200, "success": True, "data": self._order_items(request)})
        state = self._by_sku(request.path_params["sku"])
        record = self.render("products", state, "details", origin_of(request))
        return Answer(self.wrap_details("products", record))

    def _order_items(self, request: Request) -> list[dict[str, Any]]:
        """List Order Items (``?order_id=``, required): the order's lines as its details show them."""
        raw = request.query_params.get("order_id", "")
        if not raw:
            errors = Errors(language(request.headers.get("accept-language", "")), ORDER_ITEMS_MESSAGES)
            errors.add("order_id", "order_id.required")
            errors.raise_any()
        order = self.find("orders", raw)
        facts = self.catalog.order(order.variant, placed=order.created)
        return [self._order_item(facts, index) for index in range(len(facts.lines))]

    def _by_sku(self, sku: str) -> RecordState:
        matches = self.product_ids(lambda state: bool(sku) and self._content(state).sku == sku)
        if not matches:
            raise ApiError(404, self.not_found_message("products"), code="not_found")
        return self.store.get("products", min(matches))

    def not_found_message(self, resource: str) -> str:
        return "The content you are trying to access is no longer available"

    def error_body(self, error: ApiError, endpoint: Endpoint | None) -> Any:
        codes = {400: "error", 401: "Unauthorized", 404: "NotFound", 422: "error", 429: "TooManyRequests"}
        body: dict[str, Any] = {
            "status": error.status,
            "success": False,
            "error": {"code": codes.get(error.status, "ServerError"), "message": error.message},
        }
        if error.fields:
            body["error"]["fields"] = error.fields
        elif error.param:
            body["error"]["fields"] = {error.param: [error.message]}
        return body

    def unauthorized(self, endpoint: Endpoint | None) -> ApiError:
        return ApiError(401, "The access token should be a valid one")

    def budget_headers(self, admission: Admission) -> dict[str, str]:
        # A real epoch, not store time: clients compare it with their own wall clock.
        reset = math.ceil(epoch_now() + admission.drained_in)
        return {
            "X-RateLimit-Limit": str(admission.capacity),
            "X-RateLimit-Remaining": str(admission.remaining),
            "X-RateLimit-Reset": str(reset),
        }

    def throttled(self, retry_after: float, admission: Admission | None) -> Answer:
        error = ApiError(429, "Too Many Attempts.")
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}
        if admission is not None:
            headers.update(self.budget_headers(admission))
        return Answer(self.error_body(error, None), 429, headers)

    # --- records --------------------------------------------------------------------------------

    def render(self, resource: str, state: RecordState, view: View, origin: str) -> dict[str, Any]:
        if resource == "orders":
            return self._order(state, view)
        if resource == "products":
            return self._product(state, view)
        if resource == "customers":
            return self._customer(state, view)
        if resource == "carts":
            return self._cart(state, view)
        if resource == "shipments":
            return self.shipping.render(state, view)
        raise ValueError(f"Salla has no resource {resource!r}")

    def _order(self, state: RecordState, view: View) -> dict[str, Any]:
        facts = self.catalog.order(state.variant, placed=state.created)
        slug, status_name, status_id = ORDER_STATUSES[state.status]
        record = TEMPLATES[("orders", view)].fresh()
        record["id"] = state.id
        record["reference_id"] = self.reference_id(state.id)
        record["date"] = salla_date(state.created)
        record["status"] = {
            "id": status_id,
            "name": status_name,
            "slug": slug,
            "customized": {"id": status_id + 1, "name": status_name},
        }
        record["payment_method"] = PAYMENT_METHODS[facts.payment % len(PAYMENT_METHODS)]
        record["is_pending_payment"] = slug == "payment_pending"
        record["can_cancel"] = slug in ("payment_pending", "under_review")
        if view == "list":
            record["total"] = sar(facts.total_cents)
            record["items"] = [
                {
                    "name": line.product.title,
                    "quantity": line.quantity,
                    "thumbnail": self._image(line.product_id, 0),
                }
                for line in facts.lines
            ]
            return record
        token = facts.token
        urls = {
            "customer": f"https://salla.sa/{STORE_SLUG}/order/{token}",
            "admin": f"https://s.salla.sa/orders/order/{token}",
            "digital_content": f"https://salla.sa/{STORE_SLUG}/orders/digital/{token}",
            "rating": f"https://salla.sa/{STORE_SLUG}/rating/{token}",
            "checkout": f"https://salla.sa/{STORE_SLUG}/checkout/{token}",
        }
        record["urls"] = {key: urls.get(key) for key in record["urls"]}
        record["currency"] = CURRENCY
        record["amounts"] = self._amounts(record["amounts"], facts)
        record["customer"] = self._buyer(record["customer"], facts)
        record["items"] = [self._order_item(facts, index) for index in range(len(facts.lines))]
        buyer = facts.customer
        phone = receiver_phone(buyer)
        if view == "details":
            record["checkout_id"] = state.id + 400_000_000
            record["updated_at"] = salla_date(state.updated)
            record["receiver"] = {"name": buyer.name, "email": buyer.email, "phone": phone}
        else:
            shipping = record["shipping"]
            shipping["receiver"] = {"name": buyer.name, "email": buyer.email, "phone": phone}
            address = buyer_address(buyer)
            shipping["address"].update(
                {
                    "country": "SA",
                    "country_code": "SA",
                    "city": address.city,
                    "shipping_address": address.line,
                    "street_number": address.street,
                    "postal_code": address.postal_code,
                }
            )
        return record

    def _amounts(self, template: dict[str, Any], facts: OrderFacts) -> dict[str, Any]:
        discounts = []
        if facts.coupon:
            discount = dict(template["discounts"][0]) if template.get("discounts") else {}
            discount.update(
                {
                    "title": facts.coupon,
                    "type": "normal",
                    "code": facts.coupon.lower(),
                    "discount": f"{facts.discount_cents / 100:.2f}",
                }
            )
            if "currency" in discount:
                discount["currency"] = CURRENCY
            discounts.append(discount)
        template.update(
            {
                "sub_total": sar(facts.subtotal_cents),
                "shipping_cost": sar(facts.shipping_cents),
                "cash_on_delivery": sar(0),
                "tax": {"percent": f"{facts.tax_rate_bp / 100:.2f}", "amount": sar(facts.tax_cents)},
                "discounts": discounts,
                "total": sar(facts.total_cents),
            }
        )
        return template

    def _order_item(self, facts: OrderFacts, index: int) -> dict[str, Any]:
        line = facts.lines[index]
        item = TEMPLATES[("order_item", "full")].fresh()
        product = line.product
        item.update(
            {
                "id": line.line_id,
                "name": product.title,
                "sku": product.sku,
                "quantity": line.quantity,
                "currency": CURRENCY,
                "options": [],
                "notes": "",
            }
        )
        tax = line.total_cents * facts.tax_rate_bp // 10_000
        item["amounts"] = {
            "price_without_tax": sar(line.unit_cents),
            "total_discount": sar(0),
            "tax": {"percent": f"{facts.tax_rate_bp / 100:.2f}", "amount": sar(tax)},
            "total": sar(line.total_cents),
        }
        summary = item["product"]
        summary.update(
            {
                "id": line.product_id,
                "type": "product",
                "status": "sale",
                "sku": product.sku,
                "name": product.title,
                "price": sar(line.unit_cents),
                "sale_price": sar(product.sale_cents or 0),
                "regular_price": sar(product.price_cents),
                "currency": CURRENCY,
                "url": f"https://salla.sa/{STORE_SLUG}/{product.handle}/p{line.product_id}",
                "thumbnail": self._image(line.product_id, 0),
                "has_special_price": product.sale_cents is not None,
                "promotion": {"title": None, "sub_title": None},
                "calories": None,
            }
        )
        return item

    def _buyer(self, template: dict[str, Any], facts: OrderFacts) -> dict[str, Any]:
        customer_id = facts.customer_id if facts.customer_id is not None else 100_000_000 + facts.payment
        state = self.store.lookup("customers", customer_id)
        return self._person(
            template, customer_id, facts.customer, state.updated if state else None, dated=True
        )

    def _person(
        self, record: dict[str, Any], customer_id: int, person: Person, updated: int | None, *, dated: bool
    ) -> dict[str, Any]:
        city_ar, _ = CITIES[person.place % len(CITIES)]
        record.update(
            {
                "id": customer_id,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "mobile": int(f"5{person.digits:08d}"),
                "mobile_code": "+966",
                "email": person.email,
                "avatar": AVATARS[person.gender],
                "gender": person.gender,
                "city": city_ar,
                "country": "السعودية",
            }
        )
        if "urls" in record:
            record["urls"] = {
                "customer": f"https://salla.sa/{STORE_SLUG}/profile",
                "admin": f"https://s.salla.sa/customers/{customer_id}",
            }
        if "birthday" in record:
            year, month, day = person.birthday
            record["birthday"] = salla_date(int(datetime(year, month, day, tzinfo=RIYADH).timestamp()))
        if "country_code" in record:
            record["country_code"] = "SA"
        if "currency" in record:
            record["currency"] = CURRENCY
        if "location" in record:
            record["location"] = ""
        if updated is not None and "updated_at" in record:
            record["updated_at"] = salla_date(updated) if dated else plain_time(updated, micro=True)
        return record

    def _content(self, state: RecordState) -> WrittenProduct:
        """What the product is: as written through the API, else as its facts make it."""
        if state.written is not None:
            return state.written
        product = self.catalog.product(state.id)
        return WrittenProduct(
            name=product.title,
            description=f"<p>{product.title} by {product.vendor}.</p>",
            sku=product.sku,
            handle=product.handle,
            price_cents=product.price_cents,
            sale_cents=product.sale_cents,
            quantity=0 if PRODUCT_STATUSES[state.status] == "out" else product.stock,
            images=tuple(
                WrittenImage(state.id * 10 + index, self._image(state.id, index))
                for index in range(product.images)
            ),
            extra={
                "cost_cents": product.price_cents * 6 // 10,
                "mpn": str(10_000_000 + state.id % 90_000_000),
                "gtin": f"628{state.id % 10**10:010d}",
            },
        )

    def _product(self, state: RecordState, view: View) -> dict[str, Any]:
        content = self._content(state)
        record = TEMPLATES[("products", view)].fresh()
        status = PRODUCT_STATUSES[state.status]
        selling = content.sale_cents or content.price_cents
        stock = content.quantity
        text = isinstance(record.get("quantity"), str) and stock is not None
        url = f"https://salla.sa/{STORE_SLUG}/{content.handle}/p{state.id}"
        main = content.images[content.extra.get("main_image", 0)].src if content.images else None
        cost = content.extra.get("cost_cents")
        record.update(
            {
                "id": state.id,
                "sku": content.sku,
                "name": content.name,
                "type": content.extra.get("product_type", "product"),
                "description": content.description,
                "urls": {"customer": url, "admin": f"https://s.salla.sa/products/{state.id}"},
                "url": url,
                "price": sar(selling),
                "taxed_price": sar(selling),
                "pre_tax_price": sar(selling),
                "tax": sar(0),
                "regular_price": sar(content.price_cents),
                "sale_price": sar(content.sale_cents or 0),
                # The template says whether this shape writes quantity as text or as a number.
                "quantity": str(stock) if text else stock,
                "unlimited_quantity": stock is None,
                "status": status,
                "is_available": status == "sale" and (stock is None or stock > 0),
                "sold_quantity": 0 if content.extra.get("origin") == "api" else state.variant % 500,
                "main_image": main,
                "images": self._images(record.get("images"), content),
                "updated_at": plain_time(state.updated),
                "categories": [],
                "tags": [{"id": self.writer.tag_id(name), "name": name} for name in content.tags],
            }
        )
        for key, value in (
            ("promotion", {"title": None, "sub_title": None}),
            ("metadata", {"title": content.name, "description": content.description, "url": url}),
            ("cost_price", None if cost is None else str(amount(cost))),
            ("calories", None),
            # The product's own codes in every view: the templates hold three different samples' codes.
            ("mpn", content.extra.get("mpn")),
            ("gtin", content.extra.get("gtin")),
        ):
            if key in record:
                record[key] = value
        if "thumbnail" in record:
            record["thumbnail"] = main
        skus = record.get("skus")
        if skus:
            sku = skus[0]
            sku.update(
                {
                    "id": state.id + 300_000_000,
                    "price": sar(selling),
                    "regular_price": sar(content.price_cents),
                    "stock_quantity": stock,
                    "unlimited_quantity": stock is None,
                    "sku": content.sku,
                }
            )
            record["skus"] = [sku]
        return record

    def _images(self, template: Any, content: WrittenProduct) -> list[dict[str, Any]]:
        if not isinstance(template, list):
            return []
        # The webhook sample's product has no images, but Salla sends a product's images in every view.
        shape = template[0] if template else IMAGE_SHAPE
        main = content.extra.get("main_image", 0)
        images = []
        for index, written in enumerate(content.images):
            image = dict(shape)
            image.update({"id": written.id, "url": written.src, "main": index == main, "sort": index})
            if written.alt:
                image["alt"] = written.alt
            images.append(image)
        return images

    @staticmethod
    def _image(product_id: int, index: int) -> str:
        return f"{IMAGE_HOST}/{product_id}-{index}.jpg"

    def product_view(self, state: RecordState) -> ProductView:
        """Salla has no handle; ``visible`` is a product not ``hidden`` (on sale or sold out)."""
        content = self._content(state)
        return ProductView(
            id=state.id,
            sku=content.sku,
            handle=None,
            name=content.name,
            description=content.description,
            price=decimal_of(content.price_cents),
            quantity=content.quantity if content.manage_stock else None,
            visible=PRODUCT_STATUSES[state.status] != "hidden",
            images=[image.src for image in content.images],
            tags=list(content.tags),
        )

    def _customer(self, state: RecordState, view: View) -> dict[str, Any]:
        person = self.catalog.customer(state.id)
        record = TEMPLATES[("customers", view)].fresh()
        # Customer Details writes updated_at as text; the list and the webhooks use a date object.
        record = self._person(record, state.id, person, state.updated, dated=view != "details")
        if "groups" in record:
            record["groups"] = []
        if "full_name" in record:
            record["full_name"] = person.name
        if "created_at" in record:
            record["created_at"] = salla_date(state.created)
        return record

    def _cart(self, state: RecordState, view: View) -> dict[str, Any]:
        facts = self.catalog.order(state.variant, placed=state.created, max_lines=2)
        record = TEMPLATES[("carts", view)].fresh()
        person = facts.customer
        customer_id = facts.customer_id if facts.customer_id is not None else 100_000_000 + facts.payment
        city_ar, _ = CITIES[person.place % len(CITIES)]
        record.update(
            {
                "id": state.id,
                "total": sar(facts.total_cents),
                "subtotal": sar(facts.subtotal_cents),
                "total_discount": sar(facts.discount_cents),
                "checkout_url": f"https://salla.sa/{STORE_SLUG}/checkout/{state.id}",
                "age_in_minutes": max(0, (self.store.time.now_seconds() - state.updated) // 60),
                "created_at": salla_date(state.created),
                "updated_at": salla_date(state.updated),
            }
        )
        record["customer"].update(
            {
                "id": customer_id,
                "name": person.name,
                "mobile": f"+9665{person.digits:08d}",
                "email": person.email,
                "avatar": AVATARS[person.gender],
                "country": "السعودية",
                "city": city_ar,
            }
        )
        record["coupon"] = self._coupon(record.get("coupon"), facts, state) if facts.coupon else None
        record["items"] = [
            self._cart_item(record["items"][0], facts, index) for index in range(len(facts.lines))
        ]
        if "status" in record:
            record["status"] = CART_STATUSES[state.status]
        return record

    @staticmethod
    def _coupon(template: Any, facts: OrderFacts, state: RecordState) -> dict[str, Any] | None:
        if not isinstance(template, dict):
            return None
        coupon = dict(template)
        percent = facts.discount_cents * 100 // max(1, facts.subtotal_cents)
        money_object = isinstance(template.get("amount"), dict)
        coupon.update(
            {
                "id": state.id + 700_000_000,
                "code": (facts.coupon or "").lower(),
                "status": "active",
                "type": "percentage",
                "amount": {"amount": percent, "currency": CURRENCY} if money_object else percent,
            }
        )
        return coupon

    @staticmethod
    def _cart_item(template: dict[str, Any], facts: OrderFacts, index: int) -> dict[str, Any]:
        line = facts.lines[index]
        item = dict(template)
        item.update({"id": line.line_id, "product_id": line.product_id, "quantity": line.quantity})
        if "amounts" in item:
            item["amounts"] = {
                "price_without_tax": sar(line.unit_cents),
                "total_discount": sar(0),
                "tax": {"percent": "0.00", "amount": sar(0)},
                "total": sar(line.total_cents),
            }
        if "weight" in item:
            item["weight"] = 0.25 * line.quantity
        return item

    def _price_model(self, state: RecordState) -> dict[str, Any]:
        content = self._content(state)
        record = TEMPLATES[("products", "price")].fresh()
        record.update(
            {
                "id": state.id,
                "sku": content.sku,
                "cost": amount(content.extra.get("cost_cents") or 0),
                "price": amount(content.price_cents),
                "sale_price": {"amount": amount(content.sale_cents or 0), "expired_at": None},
                "tax": 0,
                "taxed_price": amount(content.price_cents),
                "regular_price": amount(content.price_cents),
                "currency": CURRENCY,
            }
        )
        return record

    # --- shipments (SallaShipping's host, and the platform-neutral contract) ---------------------

    def date_object(self, epoch: int) -> dict[str, Any]:
        return salla_date(epoch)

    def money(self, cents: int) -> dict[str, Any]:
        return sar(cents)

    def order_slugs(self) -> tuple[str, ...]:
        return tuple(entry[0] for entry in ORDER_STATUSES)

    def reference_id(self, order_id: int) -> int:
        return 10_000_000 + order_id % 90_000_000

    def receiver(self, order: RecordState) -> dict[str, Any]:
        buyer = self.catalog.order(order.variant, placed=order.created).customer
        address = buyer_address(buyer)
        return {
            "type": "address",
            "name": buyer.name,
            "email": buyer.email,
            "phone": receiver_phone(buyer),
            "country": "السعودية",
            "country_id": SAUDI_ARABIA_ID,
            "country_code": "SA",
            "city": address.city,
            "address_line": address.line,
            "street_number": address.street,
            "postal_code": address.postal_code,
        }

    def move_order(self, order_id: int, slug: str | None) -> None:
        order = self.store.find("orders", order_id)
        if order is None:
            return  # a deleted order's shipment can still move
        if slug is not None:
            order.status = self.order_slugs().index(slug)
        self.store.touch("orders", order_id)

    def shipments(self, order_id: int | None = None) -> list[ShipmentView]:
        return self.shipping.views(order_id)

    def ship(
        self, order_id: int, *, carrier: str, tracking_number: str, tracking_url: str | None = None
    ) -> ShipmentView:
        return self.shipping.ship(
            order_id, carrier=carrier, tracking_number=tracking_number, tracking_url=tracking_url
        )

    def set_shipment_status(self, shipment_id: int, status: CarrierStatus) -> ShipmentView:
        return self.shipping.set_status(shipment_id, status)

    # --- webhooks -------------------------------------------------------------------------------

    def events(self, resource: str) -> tuple[str, ...]:
        named = tuple(dict.fromkeys(EVENTS.get(resource, {}).values()))
        return named + EXTRA_EVENTS.get(resource, ())

    def event_for(self, resource: str, change: ChangeKind) -> str | None:
        if resource == "shipments" and change == "updated" and self.shipping.announcing:
            return self.shipping.announcing
        return EVENTS.get(resource, {}).get(change)

    def delivery_body(self, resource: str, state: RecordState, event: str, context: DeliveryContext) -> Any:
        if event == "product.price.updated":
            data = self._price_model(state)
        else:
            data = self.render(resource, state, "webhook", context.source)
        return {
            "event": event,
            "merchant": context.store_id,
            "created_at": js_date(context.occurred_at),
            "data": data,
        }

    def delivery_headers(
        self, resource: str, event: str, body: bytes, secret: str, context: DeliveryContext
    ) -> dict[str, str]:
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {
            "Content-Type": "application/json",
            "X-Salla-Signature": signature,
            "X-Salla-Security-Strategy": "Signature",
        }
