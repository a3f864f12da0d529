"""Crystal (the merchant's ERP): the ``ecom/products`` catalog source that Mercator polls.

Crystal's product specification documents only the model its ``ecom/products`` endpoint returns
(``id``, ``product_number``, ``name``, ``description``, ``short_description``, ``images``, ``tags``,
``allow_backorder``, ``quantity``, ``is_visible``, ``vendor {id, name, code}``, ``price``,
``item_type {id, name}``), that it lists only the products marked for e-commerce, and that a sync
asks for the products updated since the last successful sync (or all of them). Everything else
about the wire format is unknown, so this flavor picks a conventional REST shape and every choice
below is an assumption of ours, not Crystal's documented behaviour:

* Prefix ``/api``. ``GET /api/ecom/products`` lists, ``GET /api/ecom/products/{id}`` answers one
  product by its uuid. There are no writes, no deletions and no other resources.
* Credentials: ``Authorization: Bearer <api key>``, any non-empty key. Anything else is a 401
  ``{"error": {"code": "unauthorized", "message": ...}}``.
* List parameters: ``updated_since`` (ISO 8601; ``Z`` or an offset, a value without a zone is read
  as UTC; whole seconds count, a fraction is dropped), ``page`` (1-based, default 1) and
  ``per_page`` (default 50; a value above the cap, 100 unless the sandbox is configured otherwise,
  is served as the cap and ``meta.per_page`` says so). Unknown parameters are ignored; a value that
  is not a date or a positive whole number is a 400 ``invalid_parameter`` naming the parameter.
* ``updated_since`` is inclusive: a product updated at exactly that second is listed. A client that
  resumes from the ``updated_at`` of the last product it processed then sees again the products that
  share that second (and drops the ones it already has by id) instead of missing one.
* Order: ``updated_at`` ascending, ties by the product's integer id (Crystal's row order; the uuid
  is derived from it). Oldest change first makes ``updated_at`` a checkpoint that only grows along a
  walk: a sync stopped part way can resume from the last ``updated_at`` it handled. A product
  edited (or created) during a walk moves to the end of the listing, where the walk still reaches
  it. The id tie-break makes the order total, so pages never overlap or leave gaps at rest. Page
  numbers are still offsets: a product that moves to the end during a walk shifts the ones after
  it one place back, so the first product of the next page can slip onto a page already read. A
  client that wants no misses walks by ``updated_since`` (the last ``updated_at`` seen, page 1)
  instead of by page number.
* Envelope: ``{"data": [...], "meta": {"current_page": n, "per_page": m, "total": T,
  "last_page": L}}`` (Laravel's paginator names). ``total`` counts the marked products the filter
  matches; ``last_page`` is ``ceil(total / per_page)`` and at least 1 (Laravel's convention); a page
  past the last answers ``"data": []`` with the same meta. Details answer ``{"data": {...}}``.
* Errors: ``{"error": {"code": ..., "message": ...}}`` with the codes ``invalid_parameter`` (400),
  ``unauthorized`` (401), ``not_found`` (404: an unknown route, an id that is not a product's uuid,
  a deleted product, or one not marked for e-commerce), ``rate_limited`` (429) and ``server_error``
  (5xx).
* Rate limit: 10 requests per second with a burst of 10 (a leaky bucket). Admitted answers carry
  ``X-RateLimit-Limit`` (the burst) and ``X-RateLimit-Remaining``; a refusal is a 429 with those and
  ``Retry-After`` (whole seconds, at least 1).
* Webhooks: none. Crystal is polled; ``events`` is empty, no change fires one, and building a
  delivery is refused.

Each product (the seed's fields exactly, plus two timestamps):

* ``id``: a uuid (version 5) derived from the record's integer id alone, so the same seed gives the
  same uuids; ``product_number``: ``"CR-"`` and the integer id in at least six digits.
* ``name``: the product's title; ``description``: HTML (``<p>...</p>``); ``short_description``:
  plain text.
* ``images``: ``[{"url": "https://...", "position": 1}, ...]``, 0 to 3 of them, positions from 1 in
  display order, on a fixed file host (Crystal serves its attachments itself, not from the caller's
  origin).
* ``tags``: a list of strings (the product's category and its style word, e.g. ``["Clothing",
  "Vintage"]``); ``allow_backorder``: a boolean; ``quantity``: a whole number (stock on hand).
* ``is_visible``: always ``true`` (only marked products are ever answered).
* ``vendor``: ``{"id": uuid, "name": ..., "code": ...}``, the same object for every product of one
  vendor; ``code`` is the first three letters of each word of the name, upper case (``"DESROS"``).
* ``price``: a JSON number of the currency's units, rounded to cents (``19.99``). JSON numbers keep
  no trailing zeros, so ``12.50`` is written ``12.5`` and ``12.00`` is ``12.0``. One price: Crystal
  has no sale price.
* ``item_type``: ``{"id": uuid, "name": ...}``, the product's category (``"Kitchen"``).
* ``created_at`` / ``updated_at``: ISO 8601 in UTC with ``Z``, whole seconds
  (``"2024-05-01T12:00:00Z"``). The model lists neither, but an updated-since sync needs the latter.

Marking: a product's mark for e-commerce is its status (``marked`` or ``unmarked``; about one
generated product in ten is unmarked). Unmarked products are never answered: they leave listings
and their details are a 404, and nothing says they left. ``Crystal.unmark(id)`` / ``mark(id)``
change the mark now and move ``updated_at`` forward like an edit, without changing the content;
setting the mark a product already has changes nothing.

Edits: ``Store.touch("products", id)`` is an edit in Crystal: ``updated_at`` moves to the store's
present, the price goes up by 1.00 and the quantity by 5 per edit (name, texts and images stay).
``Store.insert("products", status=0)`` creates a marked product; ``Store.delete`` removes one for
good. ``Crystal.source_products()`` reads every marked product as Crystal would answer it, keyed by
uuid, for comparing a store's catalog with its source; ``source_product(id)`` reads one (None when
Crystal does not answer it), ``product_uuid(record_id)`` and ``record_id(uuid)`` convert between the
store's integer ids and Crystal's uuids, and ``is_marked(id)`` reads the mark. Every helper taking a
product accepts its integer record id or its uuid.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar

from starlette.requests import Request

from mercator_sandbox.dataset import ChangeKind, Query, RecordState, ResourceSpec, Store, Window
from mercator_sandbox.flavors.base import (
    Answer,
    ApiError,
    DeliveryContext,
    Endpoint,
    Flavor,
    View,
    moment,
    whole_number,
)
from mercator_sandbox.mutations import ServedPage
from mercator_sandbox.ratelimit import Admission, RateLimitConfig

API = "/api"
PRODUCTS = "products"
STATUSES = ("marked", "unmarked")
MARKED = STATUSES.index("marked")
UNMARKED = STATUSES.index("unmarked")
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
IMAGE_HOST = "https://files.crystal-sandbox.test"
# Every uuid the flavor derives is a version 5 uuid in this namespace (of a name like "products/123").
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://crystal-sandbox.test/")
# What an edit changes (see the module docstring).
PRICE_STEP_CENTS = 100
QUANTITY_STEP = 5
ERROR_CODES = {400: "invalid_parameter", 401: "unauthorized", 404: "not_found", 429: "rate_limited"}


@lru_cache(maxsize=262_144)
def derived_uuid(kind: str, key: str | int) -> str:
    """The uuid of ``kind`` ``key`` (``products``/123, ``vendors``/Acme), the same on every run."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{key}"))


def product_uuid(record_id: int) -> str:
    """The ``id`` Crystal answers for the product record ``record_id``."""
    return derived_uuid(PRODUCTS, record_id)


def vendor_code(name: str) -> str:
    """The vendor's account code: the first three letters of each word, upper case."""
    return "".join(word[:3] for word in name.split()).upper()


def utc_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Crystal(Flavor):
    name = "crystal"
    prefix = API
    endpoints = (
        Endpoint(PRODUCTS, "list", "/ecom/products"),
        Endpoint(PRODUCTS, "details", "/ecom/products/{id}"),
    )
    specs: ClassVar[Mapping[str, ResourceSpec]] = {
        # Only products: orders flow the other way (from the stores into Crystal) and are not served.
        PRODUCTS: ResourceSpec(1_000, (0.9, 0.1), max_update_delay=90 * 86400),
    }
    platform_rate_limit = RateLimitConfig(rate=10, burst=10)
    default_max_per_page = MAX_PER_PAGE
    credentials_hint = "any API key: Authorization: Bearer <api key>"
    sample_headers: ClassVar[dict[str, str]] = {"Authorization": "Bearer crystal-sandbox-key"}

    def __init__(self, store: Store, *, max_per_page: int | None = None) -> None:
        super().__init__(store, max_per_page=max_per_page)
        self._ids_by_uuid: dict[str, int] = {}
        self._mapped_version = -1  # the products table's version when the uuid map was last filled
        # Mark changes go through Store.touch, which counts them as revisions; they change no content.
        self._mark_changes: dict[int, int] = {}

    # --- requests -------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> bool:
        return self.access_token(request.headers) is not None

    def access_token(self, headers: Mapping[str, str]) -> str | None:
        value = next((value for name, value in headers.items() if name.lower() == "authorization"), "")
        scheme, _, token = value.partition(" ")
        return (token.strip() or None) if scheme.lower() == "bearer" else None

    def list_page(self, request: Request, endpoint: Endpoint) -> Answer:
        params = request.query_params
        page = whole_number(params, "page", 1)
        per_page = min(whole_number(params, "per_page", DEFAULT_PER_PAGE), self.max_per_page)
        since = moment(params, "updated_since", UTC)
        query = self.listing_query(since)
        listing = self.store.select(PRODUCTS, query)
        total = len(listing)
        start = min((page - 1) * per_page, total)
        stop = min(start + per_page, total)
        records = [self._render_product(self.store.get(PRODUCTS, i)) for i in listing[start:stop]]
        meta = {
            "current_page": page,
            "per_page": per_page,
            "total": total,
            "last_page": max(1, math.ceil(total / per_page)),
        }
        return Answer({"data": records, "meta": meta}, page=ServedPage(PRODUCTS, query, stop, len(records)))

    @staticmethod
    def listing_query(since: int | None = None) -> Query:
        """What ``ecom/products`` lists: marked products updated at or after ``since``, oldest first."""
        windows = (Window("updated", since),) if since is not None else ()
        return Query(order="updated", windows=windows, statuses=frozenset({MARKED}))

    def details(self, request: Request, endpoint: Endpoint, raw_id: str) -> Answer:
        state = self._marked(raw_id)
        if state is None:
            raise ApiError(404, self.not_found_message(PRODUCTS), code="not_found")
        return Answer(self.wrap_details(PRODUCTS, self._render_product(state)))

    def not_found_message(self, resource: str) -> str:
        return "Product not found."

    def unauthorized(self, endpoint: Endpoint | None) -> ApiError:
        return ApiError(
            401, "A valid API key is required: Authorization: Bearer <api key>.", code="unauthorized"
        )

    def no_route(self) -> ApiError:
        return ApiError(404, "No such endpoint.", code="not_found")

    def wrap_details(self, resource: str, record: dict[str, Any]) -> Any:
        return {"data": record}

    def error_body(self, error: ApiError, endpoint: Endpoint | None) -> Any:
        code = "server_error" if error.status >= 500 else ERROR_CODES.get(error.status, error.code or "error")
        return {"error": {"code": code, "message": error.message}}

    def budget_headers(self, admission: Admission) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(admission.capacity),
            "X-RateLimit-Remaining": str(admission.remaining),
        }

    def throttled(self, retry_after: float, admission: Admission | None) -> Answer:
        error = ApiError(429, "Too many requests; retry after the time in Retry-After.", code="rate_limited")
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}
        if admission is not None:
            headers.update(self.budget_headers(admission))
        return Answer(self.error_body(error, None), 429, headers)

    # --- the source's own helpers ---------------------------------------------------------------

    @staticmethod
    def product_uuid(record_id: int) -> str:
        """The ``id`` (a uuid) Crystal answers for the product record ``record_id``."""
        return product_uuid(record_id)

    def record_id(self, product_id: str) -> int | None:
        """The integer record id of the live product whose uuid is ``product_id``; None if there is none."""
        found = self._ids_by_uuid.get(product_id)
        table = self.store.table(PRODUCTS)
        if found is None and self._mapped_version != table.version:
            # Products created since the map was filled: map the ones not seen yet.
            for record_id in table.records.keys() - self._ids_by_uuid.values():
                self._ids_by_uuid[product_uuid(record_id)] = record_id
            self._mapped_version = table.version
            found = self._ids_by_uuid.get(product_id)
        return found if found is not None and self.store.find(PRODUCTS, found) is not None else None

    def is_marked(self, product: int | str) -> bool:
        """Whether the product (record id or uuid) is live and marked for e-commerce."""
        state = self._marked(product)
        return state is not None

    def mark(self, product: int | str) -> RecordState:
        """Mark the product now: listed again, ``updated_at`` moved forward (if it was unmarked)."""
        return self._set_mark(product, MARKED)

    def unmark(self, product: int | str) -> RecordState:
        """Unmark the product now: neither listed nor answered, ``updated_at`` moved forward (if marked)."""
        return self._set_mark(product, UNMARKED)

    def source_product(self, product: int | str) -> dict[str, Any] | None:
        """The product as Crystal answers it now, or None when Crystal does not answer it."""
        state = self._marked(product)
        return self._render_product(state) if state is not None else None

    def source_products(self) -> dict[str, dict[str, Any]]:
        """Every product Crystal lists now (the marked ones), keyed by uuid, in listing order."""
        listing = self.store.select(PRODUCTS, self.listing_query())
        records = (self._render_product(self.store.get(PRODUCTS, i)) for i in listing)
        return {record["id"]: record for record in records}

    def _set_mark(self, product: int | str, status: int) -> RecordState:
        record_id = self._resolve(product)
        if record_id is None:
            raise ValueError(f"no live Crystal product {product!r}")
        state = self.store.get(PRODUCTS, record_id)
        if state.status == status:
            return state
        state.status = status
        self._mark_changes[record_id] = self._mark_changes.get(record_id, 0) + 1
        return self.store.touch(PRODUCTS, record_id)

    def _resolve(self, product: int | str) -> int | None:
        if isinstance(product, int):
            return product if self.store.find(PRODUCTS, product) is not None else None
        return self.record_id(product)

    def _marked(self, product: int | str) -> RecordState | None:
        record_id = self._resolve(product)
        state = self.store.find(PRODUCTS, record_id) if record_id is not None else None
        return state if state is not None and state.status == MARKED else None

    # --- records --------------------------------------------------------------------------------

    def render(self, resource: str, state: RecordState, view: View, origin: str) -> dict[str, Any]:
        if resource != PRODUCTS:
            raise ValueError(f"Crystal serves no resource {resource!r}")
        return self._render_product(state)

    def edits(self, state: RecordState) -> int:
        """How many content edits the product has had (its revisions that were not mark changes)."""
        return state.revision - self._mark_changes.get(state.id, 0)

    def _render_product(self, state: RecordState) -> dict[str, Any]:
        facts = self.catalog.product(state.id)
        edits = self.edits(state)
        product_id = product_uuid(state.id)
        style = facts.title.split(" ", 1)[0]
        return {
            "id": product_id,
            "product_number": f"CR-{state.id:06d}",
            "name": facts.title,
            "description": f"<p>{facts.title} by {facts.vendor}.</p>",
            "short_description": f"{facts.title}.",
            "images": [
                {"url": f"{IMAGE_HOST}/attachments/{product_id}/{position}.jpg", "position": position}
                for position in range(1, facts.images + 1)
            ],
            "tags": [facts.category, style],
            "allow_backorder": state.variant % 4 == 0,
            "quantity": facts.stock + QUANTITY_STEP * edits,
            "is_visible": True,
            "vendor": {
                "id": derived_uuid("vendors", facts.vendor),
                "name": facts.vendor,
                "code": vendor_code(facts.vendor),
            },
            "price": round((facts.price_cents + PRICE_STEP_CENTS * edits) / 100, 2),
            "item_type": {"id": derived_uuid("item-types", facts.category), "name": facts.category},
            "created_at": utc_time(state.created),
            "updated_at": utc_time(state.updated),
        }

    # --- webhooks: none, Crystal is polled ------------------------------------------------------

    def events(self, resource: str) -> tuple[str, ...]:
        return ()

    def event_for(self, resource: str, change: ChangeKind) -> str | None:
        return None

    def delivery_body(self, resource: str, state: RecordState, event: str, context: DeliveryContext) -> Any:
        raise NotImplementedError("Crystal sends no webhooks: its products are polled")

    def delivery_headers(
        self, resource: str, event: str, body: bytes, secret: str, context: DeliveryContext
    ) -> dict[str, str]:
        raise NotImplementedError("Crystal sends no webhooks: its products are polled")
