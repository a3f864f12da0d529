"""Invalid definitions are rejected with the document path of the mistake and the valid choices."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from mercator.connector import DefinitionError, parse_definition, validate_definition

Doc = dict[str, Any]


def valid_definition() -> Doc:
    return {
        "name": "demo",
        "displayName": "Demo store",
        "auth": {"type": "api_key", "credentials": ["accessToken", "webhookSecret"]},
        "webhook": {
            "verification": {"strategy": "hmac", "header": "X-Sig", "encoding": "hex"},
            "eventName": {"from": "body", "path": "event"},
            "customerExtraction": {"mapping": {"code": "data.customer.id", "email": "data.customer.email"}},
        },
        "sync": {
            "baseUrl": "https://api.example.com/v2",
            "headers": {"Authorization": "Bearer [[accessToken]]"},
            "syncConfiguration": {
                "enabled": True,
                "batchSize": 200,
                "rateLimitPerSecond": 10,
                "timeout": 30000,
            },
            "resources": {
                "products": {
                    "name": "products",
                    "displayName": "Products",
                    "contentType": "core:product",
                    "expandDetails": True,
                    "endpoints": {
                        "list": {"url": "/products", "method": "GET"},
                        "details": {"url": "/products/{id}", "method": "GET"},
                    },
                    "pagination": {"paramName": "per_page", "defaultLimit": 60, "maxLimit": 1000},
                    "responseMapping": {"dataProperty": "data", "totalProperty": "pagination.total"},
                    "incremental": {"param": "updated_since", "recordUpdatedAt": "updated_at"},
                    "apiMapping": {
                        "name": "name",
                        "code": {"path": "id", "transform": "toString"},
                        "unitPrice": {
                            "paths": ["price.amount", "regular_price.amount"],
                            "transform": "coalesce",
                        },
                    },
                },
                "orders": {
                    "name": "orders",
                    "displayName": "Orders",
                    "contentType": "ecommerce:orders",
                    "endpoints": {"list": {"url": "/orders"}},
                    "apiMapping": {
                        "code": {"path": "id", "transform": "toString"},
                        "items": {
                            "path": "items",
                            "transform": "mapItems",
                            "mapping": {
                                "name": "name",
                                "quantity": {"path": "qty", "transform": "toInteger"},
                            },
                        },
                    },
                },
            },
            "webhooks": {
                "handlers": {
                    "order.created": {
                        "recordType": "order",
                        "operation": "create",
                        "mapping": {"code": "$.data.id", "status": "$.data.status"},
                    }
                }
            },
        },
        "triggers": [{"event": "order.created", "entityType": "Order"}],
    }


def at(doc: Doc, path: str) -> Any:
    node: Any = doc
    for part in filter(None, path.split("/")):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def set_(path: str, value: Any) -> Callable[[Doc], None]:
    parent, _, key = path.rpartition("/")

    def apply(doc: Doc) -> None:
        at(doc, parent)[key] = value

    return apply


def drop(path: str) -> Callable[[Doc], None]:
    parent, _, key = path.rpartition("/")

    def apply(doc: Doc) -> None:
        del at(doc, parent)[key]

    return apply


def legacy_only(doc: Doc) -> None:
    del doc["sync"]
    doc["webhook"]["ecommerce"] = {"orders": {"create": {}}}


def enriched(resource: str) -> Callable[[Doc], None]:
    """The order.created handler fetching its record through ``resource`` instead of mapping it."""

    def apply(doc: Doc) -> None:
        handler = at(doc, H)
        del handler["mapping"]
        handler["enrich"] = {"resource": resource, "idPath": "data.id"}

    return apply


P = "sync/resources/products"
PD = "sync.resources.products"
H = "sync/webhooks/handlers/order.created"
HD = 'sync.webhooks.handlers["order.created"]'

CASES: list[tuple[str, Callable[[Doc], None], str, list[str]]] = [
    (
        "unknown top-level key",
        set_("snyc", {}),
        "snyc",
        ["unknown key 'snyc'", "did you mean 'sync'", "valid keys:"],
    ),
    (
        "legacy block only",
        legacy_only,
        "webhook.ecommerce",
        ["deprecated", "sync.resources", "sync.webhooks.handlers"],
    ),
    ("no sync block", drop("sync"), "sync", ["needs a sync block"]),
    ("name not a slug", set_("name", "Demo Store"), "name", ["pattern"]),
    (
        "batch size zero",
        set_("sync/syncConfiguration/batchSize", 0),
        "sync.syncConfiguration.batchSize",
        ["greater than or equal to 1"],
    ),
    (
        "timeout not a number",
        set_("sync/syncConfiguration/timeout", "30s"),
        "sync.syncConfiguration.timeout",
        ["integer"],
    ),
    (
        "misspelt syncConfiguration key",
        set_("sync/syncConfiguration/batchsize", 5),
        "sync.syncConfiguration.batchsize",
        ["did you mean 'batchSize'", "rateLimitPerSecond"],
    ),
    ("relative baseUrl", set_("sync/baseUrl", "api.example.com"), "sync.baseUrl", ["absolute"]),
    (
        "plain http baseUrl",
        set_("sync/baseUrl", "http://api.example.com/v2"),
        "sync.baseUrl",
        ["'http://api.example.com/v2' is plain http", "in clear", "use https://"],
    ),
    (
        "header placeholder without credential",
        set_("sync/headers/Authorization", "Bearer [[apiToken]]"),
        "sync.headers.Authorization",
        ["[[apiToken]]", "available: accessToken"],
    ),
    (
        "mustache placeholder",
        set_("sync/headers/Authorization", "Bearer {{accessToken}}"),
        "sync.headers.Authorization",
        ["'{{accessToken}}' is not a placeholder the client fills", "write [[name]]", "accessToken"],
    ),
    (
        "placeholder with spaces",
        set_("sync/headers/Authorization", "Bearer [[ accessToken ]]"),
        "sync.headers.Authorization",
        ["'[[ accessToken ]]' is not a placeholder", "no spaces"],
    ),
    (
        "placeholder missing a closing bracket",
        set_("sync/baseUrl", "https://[[accessToken]/v2"),
        "sync.baseUrl",
        ["'[[accessToken]' is not a placeholder", "accessToken"],
    ),
    (
        "placeholder missing an opening bracket",
        set_(f"{P}/endpoints/list/url", "/products/[accessToken]]"),
        f"{PD}.endpoints.list.url",
        ["'[accessToken]]' is not a placeholder"],
    ),
    (
        "malformed placeholder in a list param",
        set_(f"{P}/endpoints/list/params", {"token": "{{accessToken}}"}),
        f"{PD}.endpoints.list.params.token",
        ["'{{accessToken}}' is not a placeholder"],
    ),
    (
        "placeholder in incremental params",
        set_(f"{P}/incremental/params", {"token": "[[accessToken]]"}),
        f"{PD}.incremental.params.token",
        ["'[[accessToken]]' would be sent as written", "incremental.params are not filled"],
    ),
    (
        "malformed placeholder in incremental params",
        set_(f"{P}/incremental/params", {"token": "{{accessToken}}"}),
        f"{PD}.incremental.params.token",
        ["'{{accessToken}}' would be sent as written"],
    ),
    (
        "placeholder in an updateStatus body",
        set_(
            "sync/actions",
            {
                "updateStatus": {
                    "recordType": "order",
                    "url": "/orders/{id}/status",
                    "body": {"status": "{status}", "by": "[[accessToken]]"},
                }
            },
        ),
        "sync.actions.updateStatus.body.by",
        ["'[[accessToken]]' would be sent as written", "fills only {status} and {id}"],
    ),
    (
        "deletion feed placeholder without credential",
        set_(
            f"{P}/deletions",
            {
                "feed": {
                    "endpoint": {"url": "/events", "params": {"key": "[[apiToken]]"}},
                    "incremental": {"param": "since", "recordUpdatedAt": "at"},
                }
            },
        ),
        f"{PD}.deletions.feed.endpoint.params.key",
        ["[[apiToken]] is not a credential", "available: accessToken"],
    ),
    (
        "unknown content type",
        set_(f"{P}/contentType", "core:order"),
        f"{PD}.contentType",
        ["'core:order'", "core:product, core:customer, ecommerce:orders, ecommerce:carts"],
    ),
    (
        "resource name differs from key",
        set_(f"{P}/name", "items"),
        f"{PD}.name",
        ["must equal its key 'products'"],
    ),
    (
        "neither list nor details endpoint",
        set_(f"{P}/endpoints", {}),
        f"{PD}.endpoints",
        ["needs endpoints.list (listed by the scheduled sync), endpoints.details", "or both"],
    ),
    (
        "pagination on a resource without a list endpoint",
        drop(f"{P}/endpoints/list"),
        f"{PD}.pagination",
        ["pagination applies to endpoints.list, which this resource does not have", "remove it"],
    ),
    (
        "details url without id",
        set_(f"{P}/endpoints/details/url", "/products/x"),
        f"{PD}.endpoints.details.url",
        ["{id}"],
    ),
    (
        "unsupported method",
        set_(f"{P}/endpoints/list/method", "PATCH"),
        f"{PD}.endpoints.list.method",
        ["'GET' or 'POST'"],
    ),
    (
        "list endpoint on another host",
        set_(f"{P}/endpoints/list/url", "https://collector.example.net/products"),
        f"{PD}.endpoints.list.url",
        ["is on 'https://collector.example.net', not on baseUrl's 'https://api.example.com'", "credentials"],
    ),
    (
        "details endpoint on another scheme",
        set_(f"{P}/endpoints/details/url", "http://api.example.com/v2/products/{id}"),
        f"{PD}.endpoints.details.url",
        ["is on 'http://api.example.com', not on baseUrl's 'https://api.example.com'"],
    ),
    (
        "endpoint on a placeholder host beside a fixed baseUrl",
        set_(f"{P}/endpoints/list/url", "https://[[accessToken]]/products"),
        f"{PD}.endpoints.list.url",
        ["not on baseUrl's 'https://api.example.com'"],
    ),
    (
        "expandDetails without details",
        drop(f"{P}/endpoints/details"),
        f"{PD}.endpoints.details",
        ["expandDetails"],
    ),
    (
        "unknown pagination type",
        set_(f"{P}/pagination/type", "pages"),
        f"{PD}.pagination.type",
        ["'pages'", "page_number, offset, link_header, next_url, cursor, none"],
    ),
    (
        "page size above maxLimit",
        set_(f"{P}/pagination/defaultLimit", 5000),
        f"{PD}.pagination.defaultLimit",
        ["5000 is larger than maxLimit 1000"],
    ),
    (
        "page size without paramName",
        drop(f"{P}/pagination/paramName"),
        f"{PD}.pagination.paramName",
        ["defaultLimit and maxLimit set but no paramName", "per_page or limit"],
    ),
    (
        "maxLimit without paramName",
        set_(f"{P}/pagination", {"type": "link_header", "maxLimit": 250}),
        f"{PD}.pagination.paramName",
        ["maxLimit set but no paramName", "add paramName"],
    ),
    (
        "key of another pagination type",
        set_(f"{P}/pagination", {"type": "link_header", "pageParam": "page"}),
        f"{PD}.pagination.pageParam",
        ["unknown key 'pageParam'", "rel"],
    ),
    (
        "next_url without its path",
        set_(f"{P}/pagination", {"type": "next_url"}),
        f"{PD}.pagination.nextUrlPath",
        ["missing required key"],
    ),
    (
        "broken dataProperty path",
        set_(f"{P}/responseMapping/dataProperty", "data..items"),
        f"{PD}.responseMapping.dataProperty",
        ["JSONPath"],
    ),
    (
        "incremental with no way to filter",
        drop(f"{P}/incremental/param"),
        f"{PD}.incremental.param",
        ["param", "stopWhenOlder"],
    ),
    (
        "unknown cursor format",
        set_(f"{P}/incremental/format", "rfc2822"),
        f"{PD}.incremental.format",
        ["'iso8601'", "'epoch_ms'"],
    ),
    (
        "unknown time zone",
        set_(f"{P}/incremental/timezone", "Mars/Base"),
        f"{PD}.incremental.timezone",
        ["Mars/Base"],
    ),
    (
        "unknown transform",
        set_(f"{P}/apiMapping/code/transform", "toStrin"),
        f"{PD}.apiMapping.code.transform",
        ["unknown transform 'toStrin'", "toString", "coalesce"],
    ),
    (
        "unknown transform in an item mapping",
        set_("sync/resources/orders/apiMapping/items/transform", "mapItem"),
        "sync.resources.orders.apiMapping.items.transform",
        ["unknown transform 'mapItem'", "mapItems"],
    ),
    (
        "unknown transform deep in items",
        set_("sync/resources/orders/apiMapping/items/mapping/quantity/transform", "toInt"),
        "sync.resources.orders.apiMapping.items.mapping.quantity.transform",
        ["unknown transform 'toInt'", "toInteger"],
    ),
    (
        "unknown compute function",
        set_(f"{P}/apiMapping/name", {"path": "name", "transform": "compute", "fn": "shout"}),
        f"{PD}.apiMapping.name.fn",
        ["unknown compute function 'shout'", "concat", "lookup"],
    ),
    (
        "paths without coalesce",
        set_(f"{P}/apiMapping/unitPrice/transform", "toNumberOrNull"),
        f"{PD}.apiMapping.unitPrice.transform",
        ["coalesce", "compute"],
    ),
    (
        "unknown rule key",
        set_(f"{P}/apiMapping/code/pth", "id"),
        f"{PD}.apiMapping.code.pth",
        ["unknown rule key 'pth'", "path, paths"],
    ),
    (
        "unknown handler operation",
        set_(f"{H}/operation", "insert"),
        f"{HD}.operation",
        ["'create', 'update', 'upsert' or 'delete'"],
    ),
    (
        "unknown record type",
        set_(f"{H}/recordType", "invoice"),
        f"{HD}.recordType",
        ["'order', 'customer', 'product', 'cart' or 'shipment'"],
    ),
    (
        "handler enriching from an unknown resource",
        enriched("invoices"),
        f"{HD}.enrich.resource",
        ["unknown resource 'invoices'", "products, orders"],
    ),
    (
        "handler enriching from a resource of another content type",
        enriched("products"),
        f"{HD}.enrich.resource",
        ["resource 'products' holds core:product records", "is ecommerce:orders", "use 'orders'"],
    ),
    (
        "handler with both enrich and its own mapping",
        set_(f"{H}/enrich", {"resource": "orders", "idPath": "data.id"}),
        f"{HD}.mapping",
        ["mapped by resources.orders.apiMapping", "remove mapping"],
    ),
    (
        "handler with neither mapping nor enrich",
        drop(f"{H}/mapping"),
        f"{HD}.mapping",
        ["missing required key", "enrich: {resource, idPath}"],
    ),
    (
        "verification secret that is not a credential",
        set_("webhook/verification/secret", "hookKey"),
        "webhook.verification.secret",
        ["'hookKey' is not a credential", "every delivery would be refused", "accessToken, webhookSecret"],
    ),
    (
        "basic verification password that is not a credential",
        set_("webhook/verification", {"strategy": "basic", "username": "webhookSecret", "password": "pw"}),
        "webhook.verification.password",
        ["'pw' is not a credential", "add 'pw' to auth.credentials"],
    ),
    (
        "trigger entity type that disagrees with its handler",
        set_("triggers/0/entityType", "Customer"),
        "triggers[0].entityType",
        ["'Customer' disagrees", "writes 'order' records", "use entityType 'Order'"],
    ),
    (
        "lookup table key read as a boolean",
        set_(
            f"{H}/mapping/status",
            {
                "path": "data.status",
                "transform": "compute",
                "fn": "lookup",
                "args": {"table": {True: "paid"}},
            },
        ),
        f"{HD}.mapping.status.args.table",
        ["key true was read as bool", "quote it: 'true'"],
    ),
    (
        "ping body pattern that is not a regular expression",
        set_("webhook/ping", {"contentType": "application/x-www-form-urlencoded", "bodyPattern": "id=(\\d+"}),
        "webhook.ping.bodyPattern",
        ["bodyPattern 'id=(\\\\d+' is not a regular expression", "missing ), unterminated subpattern"],
    ),
    (
        "ping without a media type",
        set_("webhook/ping", {"bodyPattern": "ok"}),
        "webhook.ping.contentType",
        ["missing required key"],
    ),
    (
        "unknown verification strategy",
        set_("webhook/verification/strategy", "rsa"),
        "webhook.verification.strategy",
        ["'rsa'", "hmac, token, bearer, basic, standard_webhooks, none"],
    ),
    (
        "verification without strategy",
        drop("webhook/verification/strategy"),
        "webhook.verification.strategy",
        ["needs 'strategy'", "standard_webhooks"],
    ),
    (
        "hmac digest encoding",
        set_("webhook/verification/encoding", "base32"),
        "webhook.verification.encoding",
        ["'hex' or 'base64'"],
    ),
    (
        "signed timestamp without header",
        set_("webhook/verification/signedContent", "timestamp.body"),
        "webhook.verification.timestampHeader",
        ["needs timestampHeader"],
    ),
    (
        "event name source",
        set_("webhook/eventName/from", "cookie"),
        "webhook.eventName.from",
        ["header, body, query"],
    ),
    (
        "customer extraction for an unhandled event",
        set_("webhook/customerExtraction/events", ["cart.created"]),
        "webhook.customerExtraction.events[0]",
        ["no handler for 'cart.created'", "order.created"],
    ),
    ("unknown auth type", set_("auth/type", "jwt"), "auth.type", ["oauth2, api_key, basic"]),
    (
        "oauth2 token url",
        set_("auth", {"type": "oauth2", "authorizeUrl": "https://a.example/auth", "tokenUrl": "token"}),
        "auth.tokenUrl",
        ["URL"],
    ),
    (
        "trigger entity type",
        set_("triggers/0/entityType", "Invoice"),
        "triggers[0].entityType",
        ["'Order', 'Customer', 'Product', 'Cart' or 'Shipment'"],
    ),
    (
        "resources not an object",
        set_("sync/resources", ["products"]),
        "sync.resources",
        ["must be an object"],
    ),
]


def test_the_base_definition_is_valid() -> None:
    definition = validate_definition(valid_definition(), "demo.yaml")
    assert set(definition.resources) == {"products", "orders"}


@pytest.mark.parametrize(("mutate", "path", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_definition_names_path_and_choices(
    mutate: Callable[[Doc], None], path: str, fragments: list[str]
) -> None:
    # Given a valid definition with one mistake
    doc = copy.deepcopy(valid_definition())
    mutate(doc)
    # When it is validated
    with pytest.raises(DefinitionError) as caught:
        validate_definition(doc, "demo.yaml")
    # Then the first problem names the file, the document path and what would be valid
    problem = caught.value.problems[0]
    assert caught.value.file == "demo.yaml"
    assert problem.path == path, caught.value.render()
    for fragment in fragments:
        assert fragment in problem.message, problem.message
    assert caught.value.render().startswith(f"demo.yaml: {path}: ")


def test_yaml_syntax_error_gives_line_and_column() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition("name: demo\nsync:\n  baseUrl: [unclosed\n", "broken.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (4, 1)
    assert caught.value.render().startswith("broken.yaml:4:1: expected ',' or ']'")


def test_json_definition_syntax_error_names_line() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition('{"name": "demo",\n "sync": }', "broken.json", json_only=True)
    problem = caught.value.problems[0]
    assert (problem.path, problem.line, problem.column) == ("", 2, 10)


def test_top_level_must_be_an_object() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition("- name: demo\n", "list.yaml")
    assert "must be an object" in caught.value.problems[0].message


def test_every_problem_is_reported_not_only_the_first() -> None:
    doc = valid_definition()
    doc["sync"]["syncConfiguration"]["batchSize"] = 0
    doc["triggers"][0]["entityType"] = "Invoice"
    with pytest.raises(DefinitionError) as caught:
        validate_definition(doc, "demo.yaml")
    paths = {problem.path for problem in caught.value.problems}
    assert paths == {"sync.syncConfiguration.batchSize", "triggers[0].entityType"}


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://api.example.com/v2", "https://API.example.com/v3/products"),
        (
            "https://[[shopDomain]]/admin/api/2025-01",
            "https://[[shopDomain]]/admin/api/2024-10/products.json",
        ),
    ],
)
def test_absolute_endpoint_on_base_url_host_is_accepted(base: str, url: str) -> None:
    doc = valid_definition()
    doc["auth"]["credentials"] = ["accessToken", "shopDomain", "webhookSecret"]
    doc["sync"]["baseUrl"] = base
    doc["sync"]["resources"]["products"]["endpoints"]["list"]["url"] = url
    validate_definition(doc, "demo.yaml")
