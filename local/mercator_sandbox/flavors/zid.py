"""Zid (Merchant API v1): ``/v1`` products, listed, read, created and updated, and orders with their
delivery (listed, read, and moved along with tracking: ``zid_shipments.py``).

No customers or carts are served. The product endpoints are described here; orders, their
change-order-status endpoint, ``order.create`` / ``order.status.update`` and the store's own
shipping (``Sandbox.ship`` / ``set_shipment_status``) in ``zid_shipments.py``. Sources of the
product endpoints: Zid's reference (docs.zid.sa:
"Retrieve a list of products", "Create a new product", "Bulk update of products", "Create Product
Types", "Rate Limiting"), the official SDK (github.com/zidsa/sdk-python @ 9f81472:
``zid/resources/products/_base.py``, ``zid/http.py``, ``zid/models/product/_base.py``) and the samples
shipped with Mercator's Zid connector (``samples/zid/products_list.json``, the reference's own
example, whose second record every product here is rendered from).

Routes (relative to ``/v1``; every Zid product URL ends in ``/``):

* ``GET /products/``: Django REST Framework's page-number pagination, the reference's envelope
  ``{total_products_count, normal_products_count, voucher_products_count, grouped_products_count,
  downloadable_products_count, dynamic_bundle_products_count, donation_item_count,
  crowd_funding_count, next, previous, count, results}``. ``count`` counts the products the filters
  match, ``total_products_count`` (and ``normal_products_count``: every product here is a normal one)
  the store's; the other counts are 0. ``next`` / ``previous`` are the request's own URL with another
  ``page`` (DRF drops ``page`` from the link to page 1), null at the ends.
  Parameters: ``page`` (default 1; a page past the last, or one that is not a whole number of at
  least 1, is DRF's 404 ``{"detail": "Invalid page."}``, except page 1 of an empty listing),
  ``page_size`` (default 10; "capped at 50. Any value above 50 will default to a maximum of 50"; a
  value that is not a positive whole number is ignored, as DRF does), ``search``, ``ordering``
  (``created_at``, ``updated_at``, each also with ``-`` for descending; any other value is ignored,
  as DRF's OrderingFilter does) and ``is_published`` (``true`` / ``false``). Unknown parameters are
  ignored.
  ``search``: the SDK documents it as "Search products by name" and the reference documents no SKU
  filter. The sandbox matches the name (either language, case-insensitive, anywhere in it) **and
  also the exact SKU**: whether Zid's search matches SKUs is unknown (the connector's ``push.find``
  relies on it), so a product is findable by its SKU here; a real store may not find it that way.
  Default order: newest first (creation time descending, ties by id), as in the reference's example
  (a product created 2026-02-11 listed before one created 2025-12-15). An assumption: the store's
  ``default_products_ordering`` setting may differ.
* ``GET /products/{id}/``: the product itself (no envelope). Ids are uuids (see :func:`product_uuid`);
  an unknown or deleted product is DRF's 404 ``{"detail": "Not found."}``.
* ``POST /products/``: creates a product (201, the product itself); ``PATCH /products/{id}/``
  writes the fields given (200, the product). Bodies and refusals in ``zid_writes.py``: a refusal is
  a 400 whose whole body maps each failed field to DRF's messages; a body that is not JSON is a 400
  ``{"detail": "JSON parse error - ..."}``.

Credentials: ``Authorization: Bearer <authorization token>``, the store token in ``X-Manager-Token``
or ``Access-Token`` (the reference's product examples use either) and ``Store-Id``, any non-empty
values. ``Role: Manager`` is sent by the SDK and the connector but not required here (the list
reference does not mark it required). Anything missing is a 401 ``{"message": "Unauthenticated",
"error_code": "ERROR_SESSION_INVALID"}`` (the official SDK's 401 body and error code; an
assumption, the reference shows no error body).

Records: the reference's product model. ``name``, ``description`` and ``short_description`` are
``{"ar", "en"}`` objects; ``price`` / ``sale_price`` JSON numbers (``100`` or ``12.5``) with
``formatted_price`` ``" SAR 1,000.00"``; ``quantity`` a whole number, or null when ``is_infinite``;
``keywords`` the tags (a list of strings); ``is_published`` the visibility; ``images`` ``[{id, image:
{large, full_size, medium, thumbnail, small}, alt_text, display_order}]``; one stock at the store's
one location mirroring quantity and ``is_infinite``; ``created_at`` / ``updated_at`` ISO 8601 in UTC
with microseconds and ``Z``. ``description`` is not in the reference's list example but is in the
SDK's product model; it is served in every view (lists, details, webhooks), so the connector's
``description`` mapping reads it. A written product (``writes.py``) keeps its localized texts in
``extra``; a generated one has the same text in both languages, about one in ten is infinite and
about one in ten unpublished.

Errors: DRF's ``{"detail": ...}`` for 404s (``"Not found."``), 429s and 5xx, and the 401 above.

Rate limit: "60 requests per application per store", "only active for product endpoints", a leaky
bucket (docs.zid.sa "Rate Limiting"): a bucket of 60 draining one request a second. A refusal is a
429 ``{"detail": "Request was throttled. Expected available in N seconds."}`` (DRF's throttle text)
with ``Retry-After`` in whole seconds (at least 1); the reference documents no rate-limit headers, so
admitted answers carry none.

Webhooks: ``product.create`` (a created product), ``product.update`` (a written or touched one) and
``product.delete`` (a deleted one; the body ``{"id": uuid}``, as the connector's sample) go out on
the store's changes; ``product.publish`` is only sent through ``WebhookEmitter.emit``. Orders send
``order.create`` (a created order) and ``order.status.update`` (a status change, through the API or the
store's own shipping); ``order.payment_status.update`` only through ``WebhookEmitter.emit``; the body is
the full order (the "Order schema"). The body is the record itself (no event name in it) and no
signature: Zid sends the HTTP Basic credentials
given when the webhook was created, here ``Authorization: Basic`` of :data:`WEBHOOK_USERNAME` and the
webhook config's ``secret`` as the password. Zid registers one ``target_url`` per event (the
connector puts the event in its query, ``?event=product.update``); the sandbox's emitter posts every
event to the one configured URL, so a receiver that routes on that query sees one event name only.

Helpers: :func:`product_uuid` / :meth:`Zid.record_id` convert between the store's integer record ids
(what ``Sandbox.products()`` and ``Store`` use) and Zid's uuids.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar

from starlette.datastructures import URL
from starlette.requests import Request

from mercator_sandbox.dataset import ChangeKind, Query, RecordState, ResourceSpec, Store
from mercator_sandbox.facts import amount
from mercator_sandbox.flavors.base import Answer, ApiError, DeliveryContext, Endpoint, Flavor, View
from mercator_sandbox.flavors.zid_shipments import ORDER_SPEC, ORDERS, ORDERS_PATH, ZidOrders
from mercator_sandbox.flavors.zid_writes import (
    PRODUCT_STATUSES,
    PUBLISHED,
    UNPUBLISHED,
    ZidProductWriter,
    boolean,
    localized_text,
)
from mercator_sandbox.mutations import ServedPage
from mercator_sandbox.ratelimit import Admission, RateLimitConfig
from mercator_sandbox.shipments import CarrierStatus, ShipmentView
from mercator_sandbox.templates import Template
from mercator_sandbox.writes import ProductView, WrittenImage, WrittenProduct, decimal_of

API = "/v1"
PRODUCTS = "products"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 50
CURRENCY = "SAR"
STORE_ID = 13_579
STOREFRONT = "https://mercator-sandbox.zid.store"
MEDIA = "https://media.zid.store/thumbs"
WEBHOOK_USERNAME = "zid-webhooks"
IMAGE_SIZES = ("large", "full_size", "medium", "thumbnail", "small")
IMAGE_SUFFIXES = {
    "large": "large",
    "full_size": "full",
    "medium": "medium",
    "thumbnail": "thumb",
    "small": "small",
}
# ordering parameter -> (indexed field, descending)
ORDERINGS: Mapping[str, tuple[str, bool]] = {
    "created_at": ("created", False),
    "-created_at": ("created", True),
    "updated_at": ("updated", False),
    "-updated_at": ("updated", True),
}
DEFAULT_ORDERING = "-created_at"
COUNTS = (
    "total_products_count",
    "normal_products_count",
    "voucher_products_count",
    "grouped_products_count",
    "downloadable_products_count",
    "dynamic_bundle_products_count",
    "donation_item_count",
    "crowd_funding_count",
)
CATEGORY_NAMES_AR: Mapping[str, str] = {
    "Clothing": "ملابس",
    "Kitchen": "مطبخ",
    "Food": "أغذية",
    "Stationery": "قرطاسية",
    "Bags": "حقائب",
    "Beauty": "تجميل",
    "Shoes": "أحذية",
    "Electronics": "إلكترونيات",
}
LOCATION: Mapping[str, Any] = {
    "id": "8ee590fe-d02d-4c50-9184-f628bb8b115a",
    "name": {"ar": "الرياض", "en": "Riyadh"},
    "type": "PHYSICAL",
    "full_address": "6137 King Abdul Aziz Branch Rd, Riyadh",
}
EVENTS = ("product.create", "product.update", "product.publish", "product.delete")
CHANGE_EVENTS: Mapping[str, str] = {
    "created": "product.create",
    "updated": "product.update",
    "deleted": "product.delete",
}
ORDER_EVENTS = ("order.create", "order.status.update", "order.payment_status.update")
# Zid sends nothing when an order is deleted; any other change of an order here is a status change
# (tracking alone moves updated_at without a change event: see zid_shipments.py).
ORDER_CHANGE_EVENTS: Mapping[str, str] = {"created": "order.create", "updated": "order.status.update"}
UNAUTHENTICATED = {"message": "Unauthenticated", "error_code": "ERROR_SESSION_INVALID"}
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://zid-sandbox.test/")
# 48 bits that scramble the number in the last group of a derived uuid.
ID_MASK = NAMESPACE.int & (1 << 48) - 1

TEMPLATE = Template("zid/products_list.json", "results", 1)


@lru_cache(maxsize=262_144)
def derived_uuid(kind: str, number: int) -> str:
    """A version 4 style uuid for ``kind`` ``number``, the same on every run. Its last group holds
    ``number`` (scrambled with a fixed mask, so the uuids do not look sequential), so the number
    can be read back (:func:`number_of`)."""
    text = str(uuid.uuid5(NAMESPACE, f"{kind}/{number}"))
    return f"{text[:14]}4{text[15:24]}{number ^ ID_MASK:012x}"


def number_of(kind: str, text: str) -> int | None:
    """The number :func:`derived_uuid` made ``text`` from, or None when it did not make it."""
    wanted = text.strip().lower()
    head, _, last = wanted.rpartition("-")
    if not head or len(last) != 12:
        return None
    try:
        number = int(last, 16) ^ ID_MASK
    except ValueError:
        return None
    return number if derived_uuid(kind, number) == wanted else None


def product_uuid(record_id: int) -> str:
    """The ``id`` Zid answers for the product record ``record_id``."""
    return derived_uuid(PRODUCTS, record_id)


def zid_time(epoch: int) -> str:
    """ISO 8601 in UTC with microseconds and ``Z`` (``2026-02-11T10:20:25.000000Z``)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def formatted(cents: int) -> str:
    """Zid's formatted price: ``" SAR 1,000.00"``."""
    return f" {CURRENCY} {cents // 100:,}.{cents % 100:02d}"


class Zid(Flavor):
    name = "zid"
    prefix = API
    endpoints = (
        Endpoint(PRODUCTS, "list", "/products/"),
        Endpoint(PRODUCTS, "write", "/products/", "POST", action="create"),
        Endpoint(PRODUCTS, "details", "/products/{id}/"),
        Endpoint(PRODUCTS, "write", "/products/{id}/", "PATCH", action="update"),
        Endpoint(ORDERS, "list", ORDERS_PATH),
        Endpoint(ORDERS, "details", ORDERS_PATH + "/{id}/view"),
        Endpoint(ORDERS, "write", ORDERS_PATH + "/{id}/change-order-status", "POST", action="change_status"),
    )
    specs: ClassVar[Mapping[str, ResourceSpec]] = {
        PRODUCTS: ResourceSpec(1_000, (0.9, 0.1), max_update_delay=60 * 86400),
        ORDERS: ORDER_SPEC,
    }
    platform_rate_limit = RateLimitConfig(rate=1.0, burst=60)
    default_max_per_page = MAX_PAGE_SIZE
    credentials_hint = (
        "any values: Authorization: Bearer <authorization>, X-Manager-Token (or Access-Token), Store-Id"
    )
    sample_headers: ClassVar[dict[str, str]] = {
        "Authorization": "Bearer zid-sandbox-authorization",
        "X-Manager-Token": "zid-sandbox-manager-token",
        "Access-Token": "zid-sandbox-manager-token",
        "Store-Id": str(STORE_ID),
        "Role": "Manager",
        "Accept-Language": "en",
    }

    def __init__(self, store: Store, *, max_per_page: int | None = None) -> None:
        super().__init__(store, max_per_page=max_per_page)
        self.writer = ZidProductWriter(store, self._content)
        self.orders = ZidOrders(store, self.catalog, product_uuid)

    # --- requests -------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> bool:
        headers = request.headers
        scheme, _, token = headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else ""
        return bool(bearer and self.access_token(headers) and headers.get("store-id", "").strip())

    def access_token(self, headers: Mapping[str, str]) -> str | None:
        """The store token: ``X-Manager-Token``, else ``Access-Token`` (Zid's ``access_token``)."""
        found = {name.lower(): value.strip() for name, value in headers.items()}
        return found.get("x-manager-token") or found.get("access-token") or None

    def list_page(self, request: Request, endpoint: Endpoint) -> Answer:
        if endpoint.resource == ORDERS:
            return self.orders.list_page(request)
        params = request.query_params
        page_size = self._page_size(params.get("page_size"))
        query = self._query(params)
        listing = self.store.select(PRODUCTS, query)
        count = len(listing)
        pages = max(1, math.ceil(count / page_size))
        page = self._page(params.get("page"), pages)
        start = min((page - 1) * page_size, count)
        stop = min(start + page_size, count)
        origin = f"{request.url.scheme}://{request.url.netloc}"
        results = [
            self.render(PRODUCTS, self.store.get(PRODUCTS, i), "list", origin) for i in listing[start:stop]
        ]
        body: dict[str, Any] = dict.fromkeys(COUNTS, 0)
        body["total_products_count"] = body["normal_products_count"] = self.store.count(PRODUCTS)
        body["next"] = str(request.url.include_query_params(page=page + 1)) if page < pages else None
        body["previous"] = self._previous(request.url, page)
        body["count"] = count
        body["results"] = results
        return Answer(body, page=ServedPage(PRODUCTS, query, stop, len(results)))

    def _page_size(self, raw: str | None) -> int:
        """DRF's page size: a positive whole number, cut to the cap; anything else is the default."""
        try:
            size = int(raw) if raw is not None else DEFAULT_PAGE_SIZE
        except ValueError:
            return min(DEFAULT_PAGE_SIZE, self.max_per_page)
        if size <= 0:
            size = DEFAULT_PAGE_SIZE
        return min(size, self.max_per_page)

    @staticmethod
    def _page(raw: str | None, pages: int) -> int:
        """The page asked for; DRF's 404 "Invalid page." when it is not a page of the listing."""
        invalid = ApiError(404, "Invalid page.", code="invalid_page")
        try:
            page = int(raw) if raw is not None and raw != "" else 1
        except ValueError:
            raise invalid from None
        if page < 1 or page > pages:
            raise invalid
        return page

    @staticmethod
    def _previous(url: URL, page: int) -> str | None:
        if page <= 1:
            return None
        if page == 2:
            return str(url.remove_query_params("page"))
        return str(url.include_query_params(page=page - 1))

    def _query(self, params: Mapping[str, str]) -> Query:
        order, descending = ORDERINGS.get(params.get("ordering", ""), ORDERINGS[DEFAULT_ORDERING])
        published = boolean(params.get("is_published", ""))
        statuses = None if published is None else frozenset({PUBLISHED if published else UNPUBLISHED})
        return Query(
            order=order,
            descending=descending,
            statuses=statuses,
            ids=self._search(params.get("search", "")),
        )

    def _search(self, raw: str) -> frozenset[int] | None:
        """The products ``search`` finds: the name in either language contains it (case-insensitive),
        or the SKU is exactly it (see the module docstring); None when there is no search."""
        text = raw.strip()
        if not text:
            return None
        needle = text.casefold()

        def matches(state: RecordState) -> bool:
            content = self._content(state)
            names = self._localized(content, "name").values()
            return content.sku == text or any(needle in name.casefold() for name in names)

        return self.product_ids(matches)

    def details(self, request: Request, endpoint: Endpoint, raw_id: str) -> Answer:
        if endpoint.resource == ORDERS:
            return self.orders.details(raw_id)
        return super().details(request, endpoint, raw_id)

    def find(self, resource: str, raw_id: str, *, trashed: bool = False) -> RecordState:
        """The live product whose uuid is ``raw_id``; DRF's 404 otherwise."""
        record_id = number_of(PRODUCTS, raw_id)
        state = self.store.find(resource, record_id) if record_id is not None else None
        if state is None:
            raise ApiError(404, self.not_found_message(resource), code="not_found")
        return state

    def record_id(self, product_id: str) -> int | None:
        """The record id of the live product whose uuid is ``product_id``; None if there is none."""
        record_id = number_of(PRODUCTS, product_id)
        return record_id if record_id is not None and self.store.find(PRODUCTS, record_id) else None

    @staticmethod
    def product_uuid(record_id: int) -> str:
        """The ``id`` (a uuid) Zid answers for the product record ``record_id``."""
        return product_uuid(record_id)

    def write(self, request: Request, endpoint: Endpoint, body: bytes) -> Answer:
        """Create a product (201) or update one (200); the answer is the product itself. Orders:
        change-order-status (``zid_shipments.py``)."""
        if endpoint.resource == ORDERS:
            return self.orders.change_status(request, body)
        fields = self._body(body)
        origin = f"{request.url.scheme}://{request.url.netloc}"
        if endpoint.action == "create":
            content, status = self.writer.create(fields)
            state = self.store.insert(PRODUCTS, status=status, written=content)
            return Answer(self.render(PRODUCTS, state, "details", origin), 201)
        state = self.find(PRODUCTS, request.path_params["id"])
        content, status = self.writer.update(state, fields)
        state = self.store.write(PRODUCTS, state.id, content, status=status)
        return Answer(self.render(PRODUCTS, state, "details", origin))

    @staticmethod
    def _body(body: bytes) -> dict[str, Any]:
        """The body as a JSON object; DRF's parse error, or its refusal of a body that is no object."""
        try:
            fields = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            detail = f"JSON parse error - {exc}"
            raise ApiError(400, detail, code="parse_error", body={"detail": detail}) from None
        if not isinstance(fields, dict):
            message = f"Invalid data. Expected a dictionary, but got {type(fields).__name__}."
            raise ApiError(400, message, code="invalid", body={"non_field_errors": [message]})
        return fields

    def not_found_message(self, resource: str) -> str:
        return "Not found."

    def no_route(self) -> ApiError:
        return ApiError(404, "Not found.", code="not_found")

    def unauthorized(self, endpoint: Endpoint | None) -> ApiError:
        return ApiError(401, "Unauthenticated", code="unauthorized", body=dict(UNAUTHENTICATED))

    def wrap_details(self, resource: str, record: dict[str, Any]) -> Any:
        return record

    def error_body(self, error: ApiError, endpoint: Endpoint | None) -> Any:
        if error.status == 401:
            return dict(UNAUTHENTICATED)
        if error.status == 500:
            return {"detail": "A server error occurred."}
        return {"detail": error.message}

    def budget_headers(self, admission: Admission) -> dict[str, str]:
        return {}

    def throttled(self, retry_after: float, admission: Admission | None) -> Answer:
        wait = max(1, math.ceil(retry_after))
        unit = "second" if wait == 1 else "seconds"
        detail = f"Request was throttled. Expected available in {wait} {unit}."
        return Answer({"detail": detail}, 429, {"Retry-After": str(wait)})

    # --- records --------------------------------------------------------------------------------

    def render(self, resource: str, state: RecordState, view: View, origin: str) -> dict[str, Any]:
        if resource == ORDERS:
            return self.orders.render(state, full=True)
        if resource != PRODUCTS:
            raise ValueError(f"the Zid sandbox serves no resource {resource!r}")
        return self._product(state)

    def _content(self, state: RecordState) -> WrittenProduct:
        """What the product is: as written through the API, else as its facts make it."""
        if state.written is not None:
            return state.written
        facts = self.catalog.product(state.id)
        infinite = state.variant % 10 == 0
        style = facts.title.split(" ", 1)[0]
        description = f"<p>{facts.title} by {facts.vendor}.</p>"
        return WrittenProduct(
            name=facts.title,
            description=description,
            sku=facts.sku,
            handle=facts.handle,
            price_cents=facts.price_cents,
            sale_cents=facts.sale_cents,
            quantity=None if infinite else facts.stock,
            manage_stock=not infinite,
            images=tuple(
                WrittenImage(
                    state.id * 10 + index, f"{MEDIA}/{derived_uuid('images', state.id * 10 + index)}-full.jpg"
                )
                for index in range(facts.images)
            ),
            tags=(facts.category, style),
            extra={
                "name": {"ar": facts.title, "en": facts.title},
                "description": {"ar": description, "en": description},
                "short_description": {"ar": "", "en": ""},
                "category": facts.category,
            },
        )

    @staticmethod
    def _localized(content: WrittenProduct, name: str) -> dict[str, str]:
        texts = content.extra.get(name)
        return dict(texts) if isinstance(texts, Mapping) else {"ar": "", "en": ""}

    def _product(self, state: RecordState) -> dict[str, Any]:
        content = self._content(state)
        product_id = product_uuid(state.id)
        infinite = not content.manage_stock
        quantity = None if infinite else content.quantity
        sale = content.sale_cents
        category = content.extra.get("category")
        template = TEMPLATE.fresh()
        values: dict[str, Any] = {
            "id": product_id,
            "product_class": None,
            "sku": content.sku,
            "barcode": "",
            "parent_id": None,
            "name": self._localized(content, "name"),
            "slug": content.handle,
            "price": amount(content.price_cents),
            "short_description": self._localized(content, "short_description"),
            "sale_price": None if sale is None else amount(sale),
            "formatted_price": formatted(content.price_cents),
            "formatted_sale_price": None if sale is None else formatted(sale),
            "currency": CURRENCY,
            "currency_symbol": f" {CURRENCY} ",
            "attributes": [],
            "categories": [self._category(category)] if isinstance(category, str) else [],
            "display_order": None,
            "has_options": False,
            "has_fields": False,
            "images": [self._image(image, position) for position, image in enumerate(content.images, 1)],
            "videos": [],
            "is_draft": bool(content.extra.get("is_draft", False)),
            "quantity": quantity,
            "is_infinite": infinite,
            "html_url": f"{STOREFRONT}/products/{content.handle}",
            "keywords": list(content.tags),
            "requires_shipping": True,
            "is_taxable": True,
            "structure": "standalone",
            "rating": self._rating(),
            "store_id": STORE_ID,
            "purchase_restrictions": dict.fromkeys(template["purchase_restrictions"]),
            "metafields": [],
            "meta": {},
            "badge": None,
            "cost": 0,
            "is_published": PRODUCT_STATUSES[state.status] == "published",
            "waiting_customers_count": None,
            "group_products": None,
            "stocks": [
                {
                    "id": derived_uuid("stocks", state.id),
                    "location": {**LOCATION, "name": dict(LOCATION["name"])},
                    "available_quantity": quantity,
                    "is_infinite": infinite,
                }
            ],
            "sold_products_count": None,
            "created_at": zid_time(int(content.extra.get("created_at", state.created))),
            "updated_at": zid_time(state.updated),
        }
        record: dict[str, Any] = {}
        for key, value in template.items():
            record[key] = values.get(key, value)
            if key == "short_description":
                record["description"] = self._localized(content, "description")
        return record

    @staticmethod
    def _category(name: str) -> dict[str, Any]:
        return {
            "id": str(1_346_690 + sum(map(ord, name)) % 5_000),
            "name": {"en": name, "ar": CATEGORY_NAMES_AR.get(name, name)},
            "slug": name.lower(),
            "description": {"en": "", "ar": ""},
            "cover_image": None,
            "image": None,
            "display_order": None,
            "meta": {"childs": [], "parents": []},
        }

    @staticmethod
    def _image(image: WrittenImage, position: int) -> dict[str, Any]:
        full = image.src
        sizes = {
            size: full.replace("-full.", f"-{IMAGE_SUFFIXES[size]}.") if "-full." in full else full
            for size in IMAGE_SIZES
        }
        return {
            "id": derived_uuid("images", image.id),
            "image": sizes,
            "alt_text": image.alt,
            "display_order": position,
        }

    @staticmethod
    def _rating() -> dict[str, Any]:
        rating: dict[str, Any] = {"average": 0, "total_count": 0}
        for stars in range(1, 6):
            rating[f"{stars}_ratings"] = {"percentage": 0, "count": 0}
        return rating

    def product_view(self, state: RecordState) -> ProductView:
        """``name`` / ``description`` in English, else Arabic; ``price`` the regular price;
        ``quantity`` None when the product is infinite; ``visible`` its ``is_published``; ``images``
        the full-size URLs; ``tags`` its keywords; ``handle`` None (Zid's slug is not a handle a
        client writes). ``id`` is the record id: :func:`product_uuid` gives Zid's."""
        content = self._content(state)
        return ProductView(
            id=state.id,
            sku=content.sku,
            handle=None,
            name=localized_text(self._localized(content, "name")),
            description=localized_text(self._localized(content, "description")),
            price=decimal_of(content.price_cents),
            quantity=content.quantity if content.manage_stock else None,
            visible=PRODUCT_STATUSES[state.status] == "published",
            images=[image.src for image in content.images],
            tags=list(content.tags),
        )

    # --- shipments: the order is the shipment ---------------------------------------------------

    def shipments(self, order_id: int | None = None) -> list[ShipmentView]:
        return self.orders.shipments(order_id)

    def ship(
        self, order_id: int, *, carrier: str, tracking_number: str, tracking_url: str | None = None
    ) -> ShipmentView:
        return self.orders.ship(
            order_id, carrier=carrier, tracking_number=tracking_number, tracking_url=tracking_url
        )

    def set_shipment_status(self, shipment_id: int, status: CarrierStatus) -> ShipmentView:
        return self.orders.report(shipment_id, status)

    # --- webhooks -------------------------------------------------------------------------------

    def events(self, resource: str) -> tuple[str, ...]:
        return {PRODUCTS: EVENTS, ORDERS: ORDER_EVENTS}.get(resource, ())

    def event_for(self, resource: str, change: ChangeKind) -> str | None:
        return {PRODUCTS: CHANGE_EVENTS, ORDERS: ORDER_CHANGE_EVENTS}.get(resource, {}).get(change)

    def delivery_body(self, resource: str, state: RecordState, event: str, context: DeliveryContext) -> Any:
        if event == "product.delete":
            return {"id": product_uuid(state.id)}
        return self.render(resource, state, "webhook", context.source)

    def delivery_headers(
        self, resource: str, event: str, body: bytes, secret: str, context: DeliveryContext
    ) -> dict[str, str]:
        credentials = base64.b64encode(f"{WEBHOOK_USERNAME}:{secret}".encode()).decode()
        return {"Content-Type": "application/json", "Authorization": f"Basic {credentials}"}
