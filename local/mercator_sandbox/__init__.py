"""The sandbox store: a provider emulator for developing and testing connectors offline.

A generated, deterministic storefront served as an ASGI app in the shape of a real platform
(``salla``, ``shopify`` or ``woocommerce``): the platform's URL prefix, endpoints, credentials,
list envelopes, pagination, filters, errors, rate-limit headers, record shapes (taken from the
samples shipped with Mercator's connectors) and signed webhooks. Fault knobs make it misbehave the
ways real stores do. Development only: it is not part of the Lambda layer.

Public API::

    sandbox = Sandbox(
        "salla", seed=7, sizes={"orders": 20_000, "products": 2_000},
        faults=Faults(error_rate=0.01), rate_limit=RateLimitConfig(rate=20, burst=20),
        webhooks=WebhookConfig(url="http://receiver/webhooks", secret="s"),
        clock=fake_clock, sleep=fake_sleep, webhook_client=httpx.AsyncClient(...),
        oauth=OAuthServerConfig(access_token_seconds=3600),   # /oauth/authorize and /oauth/token
    )
    sandbox.app                   # the ASGI app (Starlette); also create_app(flavor, config)
    sandbox.base_url(origin)      # e.g. "http://127.0.0.1:8900/admin/v2", for a connector's baseUrl
    sandbox.credentials           # request headers the store accepts
    sandbox.client()              # an authenticated httpx.AsyncClient over ASGITransport
    sandbox.store.ids(resource)   # live ids now; .touch/.insert/.delete(resource, ...) change records
    sandbox.store.delete(resource, id, force=False)   # the platform's delete: trash on WooCommerce
    sandbox.store.trashed_ids(resource)               # WooCommerce orders and products in the trash
    sandbox.advance_clock(1_800)  # jump the store's wall time; every answer carries its Date header
    sandbox.flavor.event_log      # Shopify: the Events API's log (destroy events of deletions)
    sandbox.set_faults(**knobs)   # change faults at run time, e.g. in the middle of a listing
    sandbox.set_faults(lost_write_answers={"count": 1})   # the next write lands, its answer is a 502
    sandbox.products()            # every live product, platform-neutral: id, sku, handle, name,
                                  # description, price (Decimal), quantity, visible, images, tags
    sandbox.store.write(resource, id, content)   # what a product write does (writes.WrittenProduct)
    sandbox.counters.snapshot()   # requests per endpoint, 429s, 5xx, faults, mutations, webhooks
    sandbox.emitter.emit(resource, record_id, event); await sandbox.emitter.flush()
    sandbox.oauth.issue(); sandbox.oauth.counters.snapshot()   # tokens, token calls per grant type

Resources are named ``orders``, ``products``, ``customers`` and ``carts`` on every flavor (carts
are Salla's abandoned carts and Shopify's abandoned checkouts; WooCommerce has none). Served from
the command line with ``mercator sandbox`` (:mod:`mercator_sandbox.serve`).

Catalog writes: clients create and update products in each platform's own request shapes, with the
platform's validation errors (Salla: ``POST /products``, ``PUT /products/{id}``, ``PUT
/products/sku/{sku}``, ``GET /products/sku/{sku}``, ``POST /products/tags``; Shopify: ``POST
/products.json``, ``PUT /products/{id}.json``, ``GET /locations.json``, ``POST
/inventory_levels/set.json``, ``GET /products.json?handle=...``; WooCommerce: ``POST /products``,
``PUT /products/{id}``, ``GET /products?sku=...``; see each flavor). A written product keeps what was
written (``writes.py``) and every view (lists, details, webhooks) shows it; each write moves the
record's update time to the store's present, bumps its revision and fires the platform's
product-created / product-updated webhook. Writes go through the same pipeline as every request:
credentials, the rate budget, the faults (``lost_write_answers`` loses the answer of a write that
landed).
"""

from mercator_sandbox.app import Sandbox, SandboxConfig, Sizes, create_app
from mercator_sandbox.counters import Counters
from mercator_sandbox.dataset import (
    AlreadyTrashedError,
    Query,
    RecordState,
    Store,
    UnknownRecordError,
    Window,
)
from mercator_sandbox.faults import Faults, LostWriteAnswers, MutationKind, Mutations
from mercator_sandbox.oauth import OAuthCounters, OAuthServer, OAuthServerConfig
from mercator_sandbox.ratelimit import RateLimitConfig
from mercator_sandbox.webhooks import Delivery, DeliveryResult, WebhookConfig, WebhookEmitter
from mercator_sandbox.writes import ProductView, WrittenImage, WrittenProduct, WrittenVariant

__all__ = [
    "AlreadyTrashedError",
    "Counters",
    "Delivery",
    "DeliveryResult",
    "Faults",
    "LostWriteAnswers",
    "MutationKind",
    "Mutations",
    "OAuthCounters",
    "OAuthServer",
    "OAuthServerConfig",
    "ProductView",
    "Query",
    "RateLimitConfig",
    "RecordState",
    "Sandbox",
    "SandboxConfig",
    "Sizes",
    "Store",
    "UnknownRecordError",
    "WebhookConfig",
    "WebhookEmitter",
    "Window",
    "WrittenImage",
    "WrittenProduct",
    "WrittenVariant",
    "create_app",
]
