"""A sandbox store served to the local stack with an integration registered on it, and what tests read.

``Storefront`` is one flavor's store as a merchant's integration sees it: registered under a fixed id
with ``register_integration`` (credentials in Secrets Manager, ``baseUrl`` pointing at the sandbox, a
high ``rateLimitPerSecond`` so the shared bucket does not pace a test), synced by firing
the template's schedules and draining the queues through the real handlers. Tests compare the
records table (``rows``) with the oracle (``expected``), which reads the store on its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mercator.connector import ConnectorDefinition, Resource, load_shipped
from mercator.domain.entities import Cursor, RunStats
from mercator.services.registration import register_integration
from mercator.state.cursors import DynamoCursors, DynamoRunLog
from mercator.state.integrations import DynamoIntegrations
from mercator.state.secrets import SecretsVault
from mercator_local import LocalStack, RunReport
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from tests.e2e.oracle import Expected, StoreOracle

FLAVORS: tuple[FlavorName, ...] = ("salla", "shopify", "woocommerce")
TENANT = "acme"
SYNC_FUNCTION = "ScheduledSyncFunction"
CONTENT_TYPES = {
    "products": "core:product",
    "customers": "core:customer",
    "orders": "ecommerce:orders",
    "carts": "ecommerce:carts",
}
FAMILIES = tuple(CONTENT_TYPES)
# The integration's own budget: as many requests per second as Mercator allows, so the shared
# rate bucket never holds a test back (the store itself is built without a rate limit).
RATE_LIMIT = 1000

# Credentials in each platform's form; the base URL comes from the integration's settings, so the
# names only a connector's base URL uses (a store's domain) are not needed.
CREDENTIALS: dict[FlavorName, dict[str, str]] = {
    "salla": {"accessToken": "salla-e2e-access-token"},
    "shopify": {"accessToken": "shpat_e2e_access_token", "shopDomain": "acme-e2e.myshopify.com"},
    "woocommerce": {"consumerKey": "ck_e2e_key", "consumerSecret": "cs_e2e_secret"},
}

# Connector resource keys whose sandbox resource has another name.
_SANDBOX_RESOURCE = {"abandoned_carts": "carts"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]
# (request path, query parameters, JSON body) -> the body to send instead, or None to send it as is.
AnswerHook = Callable[[str, dict[str, str], Any], Any]
# (request path, query parameters) -> the HTTP status to refuse the request with, or None to let it in.
Refusal = Callable[[str, dict[str, str]], int | None]


class SteppingClock:
    """The handlers' clock: monotonic time, plus ``step`` seconds more at every reading once it is set.

    An invocation reads it when it starts (its deadline) and whenever it asks for its remaining
    time, so a step makes the deadline come near after a known number of such questions. Real time
    still passes underneath, so the runner's wait for messages in flight ends as it would.
    """

    def __init__(self) -> None:
        self.skipped = 0.0
        self.step = 0.0

    def __call__(self) -> float:
        reading = time.monotonic() + self.skipped
        self.skipped += self.step
        return reading


def still_store_time() -> float:
    """The sandbox store's clock, standing still: records rendered from the store's present (a Salla
    cart's age in minutes) read the same to the sync and to the oracle after it."""
    return 0.0


class AnswerTap:
    """ASGI middleware in front of the sandbox: refusals first, then each 200 JSON answer passes the hooks.

    A refusal answers a request with an error status before the store sees it (a provider failing
    mid-listing). A hook may change the store (the answer is already built, so this is a change
    between two requests) or return another body (a corrupted record). Both run in the server's
    thread, one request at a time, like the store itself.
    """

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.hooks: list[AnswerHook] = []
        self.refusals: list[Refusal] = []
        self.seen: list[tuple[str, dict[str, str]]] = []  # (path, query) of every request, in order

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope["query_string"].decode()))
        self.seen.append((scope["path"], query))
        for refusal in list(self.refusals):
            status = refusal(scope["path"], query)
            if status is not None:
                await _refuse(send, status)
                return
        if not self.hooks:
            await self.app(scope, receive, send)
            return
        started: Message = {}
        chunks: list[bytes] = []

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = self._passed(scope, started, b"".join(chunks))
            headers = [
                (name, value) for name, value in started["headers"] if name.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**started, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, answer)

    def _passed(self, scope: Scope, started: Message, body: bytes) -> bytes:
        content_type = dict(started["headers"]).get(b"content-type", b"")
        if started["status"] != 200 or not content_type.startswith(b"application/json"):
            return body
        query = dict(parse_qsl(scope["query_string"].decode()))
        document = json.loads(body)
        changed = False
        for hook in list(self.hooks):
            replacement = hook(scope["path"], query, document)
            if replacement is not None:
                document, changed = replacement, True
        if not changed:
            return body
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


async def _refuse(send: Send, status: int) -> None:
    body = json.dumps({"error": "refused in front of the store"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class Row:
    """One item of the records table."""

    code: str
    record: dict[str, Any]
    version: int
    written_at: int
    content_hash: str
    deleted: bool = False


class Storefront:
    """One flavor's sandbox store, served to the local stack, with an integration registered on it."""

    def __init__(self, stack: LocalStack, sandbox: Sandbox, tap: AnswerTap, origin: str, integration_id: str):
        self.stack = stack
        self.sandbox = sandbox
        self.tap = tap
        self.origin = origin
        self.integration_id = integration_id
        self.flavor: FlavorName = sandbox.config.flavor
        self.definition: ConnectorDefinition = load_shipped(self.flavor)
        self.oracle = StoreOracle(self.flavor, self.definition, sandbox.base_url(origin), sandbox.credentials)
        # Fire every schedule twice, as an EventBridge retry or a duplicated delivery would.
        self.duplicate_schedules = False

    # --- the store ----------------------------------------------------------------------------------

    def resources(self, family: str) -> list[Resource]:
        """The connector's resources of ``family`` (the store serves each of them)."""
        return [
            resource
            for resource in self.definition.resources.values()
            if resource.enabled and resource.contentType == CONTENT_TYPES[family]
        ]

    def resource(self, family: str) -> Resource:
        (only,) = self.resources(family)
        return only

    @staticmethod
    def store_resource(resource: Resource) -> str:
        """The sandbox's name of a connector resource (``abandoned_carts`` is ``carts`` there)."""
        return _SANDBOX_RESOURCE.get(resource.name, resource.name)

    def store_ids(self, resource: Resource) -> set[str]:
        return {str(record_id) for record_id in self.sandbox.store.ids(self.store_resource(resource))}

    def list_path(self, resource: Resource) -> str:
        """The request path of the resource's list endpoint on this store."""
        return urlsplit(self.sandbox.base_url(self.origin)).path + resource.endpoints.list.url

    def page_requests(self, resource: Resource) -> list[str]:
        """The pages of the resource's listing requested so far, in order: page numbers, or Shopify's
        ``page_info`` cursors ("first" for the first page)."""
        path = self.list_path(resource)
        return [
            query.get("page_info") or query.get("page") or ("first" if self.flavor == "shopify" else "1")
            for seen_path, query in self.tap.seen
            if seen_path == path
        ]

    def details_path(self, resource: Resource, record_id: str) -> str:
        details = resource.endpoints.details
        if details is None:
            raise ValueError(f"{self.flavor} {resource.name} has no details endpoint")
        return urlsplit(self.sandbox.base_url(self.origin)).path + details.url.replace("{id}", record_id)

    def expected(self, family: str) -> Expected:
        """What the records table must hold for ``family``, by the oracle; every resource of it merged."""
        merged = Expected()
        for resource in self.resources(family):
            one = self.oracle.expected(resource)
            assert set(one.listed_ids) == self.store_ids(resource), (
                f"the store lists other {resource.name} than it holds"
            )
            merged.listed_ids += one.listed_ids
            merged.records |= one.records
            merged.failures |= one.failures
            merged.codes |= one.codes
        return merged

    # --- Mercator -----------------------------------------------------------------------------------

    def sync(self, *families: str) -> RunReport:
        """Fire each family's schedule, then work the SyncJobs and Enrich queues until both are empty;
        the change events stay on the Trigger queue for the test to read."""
        for family in families:
            self.stack.runner.invoke_schedule(SYNC_FUNCTION, family)
            if self.duplicate_schedules:
                self.stack.runner.invoke_schedule(SYNC_FUNCTION, family)
        report = self.stack.runner.run_until_idle(skip=["TriggerQueue"])
        assert report.idle, "the queues did not drain"
        return report

    def rows(self, family: str) -> dict[str, Row]:
        """The records table's items of ``family`` for this tenant, by code."""
        dynamodb = self.stack.client("dynamodb")
        query: dict[str, Any] = {
            "TableName": self.stack.table_name("RecordsTable"),
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"TENANT#{TENANT}#TYPE#{CONTENT_TYPES[family]}"}},
            "ConsistentRead": True,
        }
        rows: dict[str, Row] = {}
        while True:
            answer = dynamodb.query(**query)
            for item in answer["Items"]:
                row = Row(
                    code=item["code"]["S"],
                    record=json.loads(item["record"]["S"]),
                    version=int(item["version"]["N"]),
                    written_at=int(item["written_at"]["N"]),
                    content_hash=item["content_hash"]["S"],
                    deleted=item.get("deleted", {}).get("BOOL") is True,
                )
                rows[row.code] = row
            if "LastEvaluatedKey" not in answer:
                return rows
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def table_size(self) -> int:
        """Items in the whole records table, whatever their tenant or content type."""
        dynamodb = self.stack.client("dynamodb")
        scan: dict[str, Any] = {"TableName": self.stack.table_name("RecordsTable"), "Select": "COUNT"}
        total = 0
        while True:
            answer = dynamodb.scan(**scan)
            total += int(answer["Count"])
            if "LastEvaluatedKey" not in answer:
                return total
            scan["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def records(self, family: str) -> dict[str, dict[str, Any]]:
        """Just the mapped records of ``family`` in the records table, by code."""
        return {code: row.record for code, row in self.rows(family).items()}

    def changes(self) -> list[dict[str, Any]]:
        """The change events on the Trigger queue, taken off it."""
        return [json.loads(message["Body"]) for message in self.stack.receive_all("TriggerQueue")]

    def dead_letters(self) -> list[dict[str, Any]]:
        """The Enrich DLQ's letters, taken off it."""
        return [json.loads(message["Body"]) for message in self.stack.receive_all("EnrichDLQ")]

    def cursor(self, resource: Resource) -> Cursor:
        cursors = DynamoCursors(self.stack.client("dynamodb"), self.stack.table_name("StateTable"))
        cursor = cursors.get(self.integration_id, resource.name)
        assert cursor is not None, f"no cursor of {resource.name}"
        return cursor

    def enriched(self, resource: Resource, run_id: str) -> RunStats:
        """What DetailEnrichment counted for one run (its run log)."""
        run_log = DynamoRunLog(self.stack.client("dynamodb"), self.stack.table_name("StateTable"))
        return run_log.get(self.integration_id, resource.name, run_id)


def open_storefront(stack: LocalStack, sandbox: Sandbox) -> Storefront:
    """Serve ``sandbox`` behind an AnswerTap and register an integration of its flavor on it, under the
    fixed id ``<tenant>-<flavor>``."""
    tap = AnswerTap(sandbox.app)
    # uvicorn serves whatever app the sandbox holds when serving starts.
    sandbox.app = tap  # type: ignore[assignment]
    origin = stack.serve_sandbox(sandbox)
    flavor = sandbox.config.flavor
    integration = register_integration(
        DynamoIntegrations(stack.client("dynamodb"), stack.table_name("StateTable")),
        SecretsVault(stack.client("secretsmanager")),
        load_shipped(flavor),
        tenant_id=TENANT,
        integration_id=f"{TENANT}-{flavor}",
        credentials=CREDENTIALS[flavor],
        settings={"baseUrl": sandbox.base_url(origin), "rateLimitPerSecond": RATE_LIMIT},
    )
    return Storefront(stack, sandbox, tap, origin, integration.id)


def change_counts(changes: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Change events per (content type, change)."""
    counts: dict[tuple[str, str], int] = {}
    for change in changes:
        key = (change["content_type"], change["change"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def codes_of(changes: list[dict[str, Any]], content_type: str) -> list[str]:
    return sorted(change["code"] for change in changes if change["content_type"] == content_type)


def without(records: Mapping[str, Any], *codes: str) -> dict[str, Any]:
    return {code: record for code, record in records.items() if code not in codes}
