"""The ``mercator integrations`` and ``workflows`` commands against the real ManagementApi handler.

Requests travel through httpx.MockTransport into an in-process gateway: the route is matched among
the API's routes (events/management_api), the tenant's key is checked against the key store as the
authorizer checks it, and the handler gets the proxy event API Gateway would build. The service
behind it is the real one on moto, checking credentials against sandbox stores in process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from mercator.cli import main
from mercator.cli.api_client import ApiError, ApiSetupError, IntegrationsApiClient, setting_value
from mercator.domain.workflows import Workflow, WorkflowExecution, execution_id, trigger_id
from mercator.state.api_keys import DynamoApiKeys, key_id_of
from mercator_local.api import HttpRequest, Route, RouteTable, api_id, http_response, proxy_event
from mercator_local.api_events import CALLS, FUNCTION, REST_API
from mercator_local.functions import ApiRoute
from tests.fake_aws import use_fake_aws
from tests.unit.outbound.conftest import change_event
from tests.unit.services.management_world import (
    CREDENTIALS,
    GUARDED_SALLA_BASE_URL,
    NOW,
    REGION,
    SALLA_BASE_URL,
    SECRET_VALUES,
    STATE,
    ManagementWorld,
    management_world,
)

ROOT = Path(__file__).resolve().parents[2]
A, B = "tenant-a", "tenant-b"
API_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
MANAGEMENT_ENV = {
    "STATE_TABLE": "mercator-dev-StateTable",
    "RECORDS_TABLE": "mercator-dev-RecordsTable",
    "EVENT_BUS_NAME": "mercator-dev",
    "SENDER_EMAIL": "notifications@example.com",
    "PUSH_JOBS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/mercator-dev-PushJobsQueue",
}
ORDER_CREATED = trigger_id("salla", "order.created")


class Context:
    function_name = FUNCTION
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}"
    aws_request_id = "3c1e9b7a-5d2f-4e8c-a6b0-9f1d2e3c4b5a"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@dataclass
class Gateway:
    """API Gateway in front of the handler: routes, the key check, proxy events; records the requests."""

    app: ModuleType
    keys: DynamoApiKeys
    routes: RouteTable
    requests: list[httpx.Request] = field(default_factory=list)
    log: io.StringIO = field(default_factory=io.StringIO)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        prefix = httpx.URL(API_URL).path
        assert request.url.path.startswith(prefix + "/"), request.url
        path = request.url.raw_path.decode().split("?")[0][len(prefix) :]
        match = self.routes.match(request.method, path)
        if match is None:
            return httpx.Response(403, json={"message": "Missing Authentication Token"})
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or key_id_of(presented) is None:
            return httpx.Response(401, json={"message": "Unauthorized"})
        tenant = self.keys.verify(presented)
        if tenant is None:
            return httpx.Response(403, json={"message": "User is not authorized to access this resource"})
        event = proxy_event(
            HttpRequest(
                method=request.method,
                raw_path=path,
                query_string=request.url.query.decode(),
                headers=tuple(request.headers.multi_items()),
                body=request.read(),
                source_ip="203.0.113.7",
                port=443,
                scheme="https",
            ),
            match,
            region=REGION,
            request_id=str(uuid.uuid4()),
            now=datetime.now(UTC),
        )
        event["requestContext"]["authorizer"] = {"principalId": key_id_of(presented), "tenantId": tenant}
        # What the function prints goes to its log, not to the caller (nor to the command's output).
        with contextlib.redirect_stdout(self.log):
            result = self.app.lambda_handler(event, Context())
        answer = http_response(result)
        return httpx.Response(answer.status, headers=list(answer.headers), content=answer.body)


@dataclass
class Cli:
    """``mercator`` with the tenant's key in the environment; every output is checked for secrets."""

    gateway: Gateway
    keys: dict[str, str]
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *argv: str, tenant: str = A) -> tuple[int, str, str]:
        self.monkeypatch.setenv("MERCATOR_API_URL", API_URL)
        self.monkeypatch.setenv("MERCATOR_API_KEY", self.keys[tenant])
        code = main(list(argv), api_transport=httpx.MockTransport(self.gateway))
        out, err = self.capsys.readouterr()
        for secret in (*self.keys.values(), *SECRET_VALUES):
            assert secret not in out + err + self.gateway.log.getvalue()
        return code, out, err


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementWorld]:
    use_fake_aws(monkeypatch, REGION)
    with management_world() as built:
        yield built


@pytest.fixture
def management_app(monkeypatch: pytest.MonkeyPatch, world: ManagementWorld) -> Iterator[ModuleType]:
    """functions/management_api/app.py, loaded fresh as Lambda would, on the world's service."""
    for name, value in MANAGEMENT_ENV.items():
        monkeypatch.setenv(name, value)
    name = f"mercator_function_management_api_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / "management_api" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    module.build_services = lambda settings: world.service
    yield module
    sys.modules.pop(name, None)


@pytest.fixture
def gateway(world: ManagementWorld, management_app: ModuleType) -> Gateway:
    # One route per method and resource (the sample calls use some twice, with other parameters).
    resources = dict.fromkeys((call.method, call.resource) for call in CALLS)
    routes = RouteTable(
        [
            Route(
                function=FUNCTION,
                api=ApiRoute(
                    name=f"{method} {path}", path=path, method=method, rest_api=REST_API, stage="dev"
                ),
                api_id=api_id("mercator-dev", REST_API),
            )
            for method, path in resources
        ]
    )
    return Gateway(management_app, DynamoApiKeys(world.dynamodb, STATE), routes)


@pytest.fixture
def cli(gateway: Gateway, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    keys = {tenant: gateway.keys.create(tenant).key for tenant in (A, B)}
    return Cli(gateway, keys, monkeypatch, capsys)


@pytest.fixture
def salla_credentials(tmp_path: Path) -> Path:
    path = tmp_path / "salla.json"
    path.write_text(json.dumps(CREDENTIALS["salla"]), encoding="utf-8")
    return path


def configure_salla(cli: Cli, credentials: Path, *options: str, tenant: str = A) -> str:
    code, out, err = cli(
        "integrations",
        "configure",
        "--provider=salla",
        f"--credentials-file={credentials}",
        f"--setting=baseUrl={SALLA_BASE_URL}",
        *options,
        tenant=tenant,
    )
    assert code == 0, err
    return out.strip()


# integrations configure (and register)


def test_configure_prints_the_guid_the_api_assigned_and_the_integration_is_stored(
    world: ManagementWorld, cli: Cli, gateway: Gateway, salla_credentials: Path
) -> None:
    code, out, err = cli(
        "integrations",
        "configure",
        "--provider",
        "salla",
        "--credentials-file",
        str(salla_credentials),
        "--no-sync-products",
        "--push-tracking",
        "--setting",
        f"baseUrl={SALLA_BASE_URL}",
        "--setting",
        "rateLimitPerSecond=2.5",
    )

    assert code == 0
    guid = out.strip()
    assert out == f"{guid}\n"  # alone on stdout: GUID=$(mercator integrations configure ...)
    assert err == f"configured integration {guid} (salla, active)\n"
    integration = world.integrations.get(guid)
    assert integration is not None and integration.tenant_id == A
    assert integration.resources == ["orders", "customers", "abandoned_carts", "shipments"]
    assert integration.settings == {
        "autoImportOrders": True,
        "syncProducts": False,
        "pushTracking": True,
        "baseUrl": SALLA_BASE_URL,
        "rateLimitPerSecond": 2.5,
    }
    # The body the API got: settings as chosen, numbers as numbers, nothing unset sent
    sent = json.loads(gateway.requests[-1].content)
    assert sent["settings"] == {
        "baseUrl": SALLA_BASE_URL,
        "rateLimitPerSecond": 2.5,
        "syncProducts": False,
        "pushTracking": True,
    }
    assert (sent["providerId"], sent["providerType"]) == ("salla", "ecommerce")


def test_register_is_configure_and_json_prints_the_apis_answer(cli: Cli, salla_credentials: Path) -> None:
    code, out, _ = cli(
        "integrations",
        "register",
        "--provider=salla",
        f"--credentials-file={salla_credentials}",
        f"--setting=baseUrl={SALLA_BASE_URL}",
        "--format=json",
    )

    assert code == 0
    answer = json.loads(out)
    assert answer == {
        "guid": answer["guid"],
        "provider": "salla",
        "status": "active",
        "connectedAt": "2025-06-01T09:00:00Z",
    }
    assert uuid.UUID(answer["guid"])


def test_credentials_the_store_refuses_show_the_code_and_the_stores_reason(
    world: ManagementWorld, cli: Cli, salla_credentials: Path
) -> None:
    code, out, err = cli(
        "integrations",
        "configure",
        "--provider=salla",
        f"--credentials-file={salla_credentials}",
        f"--setting=baseUrl={GUARDED_SALLA_BASE_URL}",
    )

    assert (code, out) == (1, "")
    assert err == (
        "mercator integrations configure: CONFIGURATION_ERROR: Invalid credentials: Salla refused them "
        "(401): The access token should be a valid one\n"
    )
    assert world.integrations.for_tenant(A) == []


def test_a_second_integration_of_a_provider_is_a_conflict(cli: Cli, salla_credentials: Path) -> None:
    first = configure_salla(cli, salla_credentials)

    code, _, err = cli(
        "integrations", "register", "--provider=salla", f"--credentials-file={salla_credentials}"
    )

    assert code == 1
    assert err == (
        f"mercator integrations register: CONFLICT: Integration already configured: tenant '{A}' already "
        f"has integration '{first}' (active) of connector 'salla'; remove it before configuring salla again\n"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--provider=magento"],
            "NOT_FOUND: Provider not found: 'magento'; "
            "providers: crystal, pim, salla, shopify, woocommerce, zid",
        ),
        (
            ["--provider=salla", "--setting=label=main"],
            "CONFIGURATION_ERROR: invalid request: settings.label: Extra inputs are not permitted",
        ),
        (
            ["--provider=salla", "--setting=rateLimitPerSecond=0"],
            "CONFIGURATION_ERROR: invalid request: settings.rateLimitPerSecond: Input should be greater "
            "than 0",
        ),
    ],
)
def test_requests_the_api_refuses_show_its_code_and_message(
    cli: Cli, salla_credentials: Path, options: list[str], message: str
) -> None:
    code, out, err = cli("integrations", "configure", f"--credentials-file={salla_credentials}", *options)

    assert (code, out) == (1, "")
    assert err == f"mercator integrations configure: {message}\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"accessToken": "salla-at-Q8v3Lm2Zx7Rk4Tw9"', "not JSON (line 1, column"),
        ('["salla-at-Q8v3Lm2Zx7Rk4Tw9"]', "must be a JSON object of credential names to text values"),
    ],
)
def test_a_bad_credentials_file_is_refused_before_any_request_without_showing_it(
    cli: Cli, gateway: Gateway, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(content, encoding="utf-8")

    code, _, err = cli("integrations", "configure", "--provider=salla", f"--credentials-file={path}")

    assert code == 1
    assert err.startswith(f"mercator integrations configure: {path}: {message}")
    assert gateway.requests == []


# integrations list, disable, remove


def test_list_prints_the_tenants_integrations_as_a_table_or_json(
    world: ManagementWorld, cli: Cli, salla_credentials: Path, tmp_path: Path
) -> None:
    salla = configure_salla(cli, salla_credentials, "--no-auto-import-orders")
    world.clock.advance(minutes=2)
    woo_credentials = tmp_path / "woo.json"
    woo_credentials.write_text(json.dumps(CREDENTIALS["woocommerce"]), encoding="utf-8")
    code, woo, _ = cli(
        "integrations", "configure", "--provider=woocommerce", f"--credentials-file={woo_credentials}"
    )
    woo = woo.strip()
    configure_salla(cli, salla_credentials, tenant=B)
    cli("integrations", "disable", woo)

    code, out, _ = cli("integrations", "list")

    assert code == 0
    # Columns as wide as their widest cell: a guid (36), woocommerce, disabled, WooCommerce's resources
    assert out.splitlines() == [
        f"{'ID':36}  {'PROVIDER':11}  {'STATUS':8}  {'RESOURCES':35}  CONNECTED",
        f"{salla}  {'salla':11}  {'active':8}  {'products,customers':35}  2025-06-01T09:00:00Z",
        f"{woo}  woocommerce  disabled  products,customers,orders,shipments  2025-06-01T09:02:00Z",
    ]
    _, listed, _ = cli("integrations", "list", "--status=active", "--format=json")
    assert json.loads(listed) == [
        {
            "guid": salla,
            "provider": "salla",
            "status": "active",
            "connectedAt": "2025-06-01T09:00:00Z",
            "resources": ["products", "customers"],
        }
    ]
    # Tenant B sees its own Salla integration only
    _, other, _ = cli("integrations", "list", "--format=json", tenant=B)
    assert [i.id for i in world.integrations.for_tenant(B)] == [entry["guid"] for entry in json.loads(other)]
    assert {entry["guid"] for entry in json.loads(other)} & {salla, woo} == set()


def test_disable_prints_the_new_status_and_another_tenants_id_is_not_found(
    world: ManagementWorld, cli: Cli, salla_credentials: Path
) -> None:
    guid = configure_salla(cli, salla_credentials)

    assert cli("integrations", "disable", guid, tenant=B) == (
        1,
        "",
        f"mercator integrations disable: NOT_FOUND: Integration not found: {guid!r}\n",
    )
    assert cli("integrations", "disable", guid) == (0, f"{guid}  disabled\n", "")
    code, out, _ = cli("integrations", "disable", guid, "--format=json")
    assert (code, json.loads(out)) == (0, {"guid": guid, "status": "disabled"})
    assert [i.status for i in world.integrations.for_tenant(A)] == ["disabled"]


def test_remove_deletes_the_integration_and_removing_again_is_not_found(
    world: ManagementWorld, cli: Cli, gateway: Gateway, salla_credentials: Path
) -> None:
    guid = configure_salla(cli, salla_credentials)

    code, out, err = cli("integrations", "remove", guid, "--purge")

    assert (code, out) == (0, "")
    assert err == f"removed integration {guid} and the records it wrote\n"
    assert gateway.requests[-1].url.params["purge"] == "true"
    assert world.integrations.get(guid) is None
    assert world.secret_names() == []
    assert cli("integrations", "remove", guid) == (
        1,
        "",
        f"mercator integrations remove: NOT_FOUND: Integration not found: {guid!r}\n",
    )
    assert "purge" not in gateway.requests[-1].url.params


# workflows


WORKFLOW = {
    "name": "Mail the customer about big orders",
    "entityType": "Order",
    "triggerId": ORDER_CREATED,
    "action": {"type": "send_email", "recipient": "customer", "template": "order_received"},
    "conditions": {"totalAmount": {"gte": 100}},
}


def workflow_file(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / f"workflow-{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_triggers_are_listed_for_an_entity_type_and_an_unknown_type_is_not_found(
    cli: Cli, salla_credentials: Path
) -> None:
    configure_salla(cli, salla_credentials)

    code, out, _ = cli("workflows", "triggers", "Order")

    assert code == 0
    assert out.splitlines() == [
        f"{'ID':36}  PROVIDER  {'CODE':20}  NAME",
        f"{ORDER_CREATED}  {'salla':8}  {'order.created':20}  Order created",
        f"{trigger_id('salla', 'order.updated')}  {'salla':8}  {'order.updated':20}  Order updated",
        f"{trigger_id('salla', 'order.status.updated')}  salla     order.status.updated  "
        "Order status changed",
        f"{trigger_id('salla', 'order.deleted')}  {'salla':8}  {'order.deleted':20}  Order deleted",
        f"{trigger_id('salla', 'order_status_changed')}  salla     order_status_changed  "
        "Order status changed",
    ]
    assert cli("workflows", "triggers", "Invoice") == (
        1,
        "",
        "mercator workflows triggers: NOT_FOUND: Entity type not found: 'Invoice'; entity types: Order, "
        "Customer, Product, Cart, Shipment\n",
    )


def test_a_workflow_is_configured_from_a_file_listed_toggled_and_deleted(
    world: ManagementWorld, cli: Cli, salla_credentials: Path, tmp_path: Path
) -> None:
    configure_salla(cli, salla_credentials)

    code, out, err = cli("workflows", "configure", "--file", str(workflow_file(tmp_path, WORKFLOW)))
    assert code == 0
    guid = out.strip()
    assert err == f"configured workflow {guid} (Mail the customer about big orders, active)\n"
    stored = world.workflows.get(A, guid)
    assert stored is not None and stored.conditions == {"totalAmount": {"gte": 100}}

    code, out, _ = cli("workflows", "list", "Order")
    assert code == 0
    assert out.splitlines() == [
        f"{'ID':36}  ACTIVE  MANAGED  {'TRIGGER':13}  {'ACTION':10}  NAME",
        f"{guid}  {'yes':6}  {'no':7}  order.created  send_email  Mail the customer about big orders",
    ]
    assert cli("workflows", "toggle", guid) == (0, f"{guid}  inactive\n", "")
    _, listed, _ = cli("workflows", "list", "Order", "--managed", "--format=json")
    assert [(w["guid"], w["isActive"]) for w in json.loads(listed)] == [(guid, False)]
    # Updating through the guid in the file keeps the workflow, off as it was
    renamed = {**WORKFLOW, "guid": guid, "name": "Big orders"}
    code, out, _ = cli(
        "workflows", "configure", f"--file={workflow_file(tmp_path, renamed)}", "--format=json"
    )
    assert (code, json.loads(out)) == (0, {"guid": guid, "name": "Big orders", "isActive": False})

    assert cli("workflows", "delete", guid) == (0, "", f"deleted workflow {guid}\n")
    assert world.workflows.get(A, guid) is None
    assert cli("workflows", "toggle", guid) == (
        1,
        "",
        f"mercator workflows toggle: NOT_FOUND: Workflow not found: {guid!r}\n",
    )


def test_a_workflow_the_api_refuses_shows_why_and_a_bad_file_is_named(
    cli: Cli, gateway: Gateway, salla_credentials: Path, tmp_path: Path
) -> None:
    configure_salla(cli, salla_credentials)
    unknown = trigger_id("shopify", "orders/create")

    assert cli(
        "workflows", "configure", f"--file={workflow_file(tmp_path, {**WORKFLOW, 'triggerId': unknown})}"
    ) == (
        1,
        "",
        f"mercator workflows configure: CONFIGURATION_ERROR: trigger {unknown!r} is not a Order trigger of "
        "this tenant's integrations; GET /api/workflows/triggers/Order lists them\n",
    )
    sent = len(gateway.requests)
    listed = tmp_path / "list.json"
    listed.write_text("[]", encoding="utf-8")
    assert cli("workflows", "configure", f"--file={listed}") == (
        1,
        "",
        f"mercator workflows configure: {listed}: must be a JSON object (the request body)\n",
    )
    assert len(gateway.requests) == sent


def paused_execution(world: ManagementWorld) -> WorkflowExecution:
    workflow = Workflow.model_validate(
        {
            "guid": "wf-1",
            "tenant_id": A,
            "name": "Mail the customer",
            "entity_type": "Order",
            "connector": "salla",
            "trigger": "order.created",
            "action": {"type": "send_email", "recipient": "customer", "template": "order_received"},
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    world.workflows.put(A, workflow)
    event = change_event(tenant_id=A)
    execution = WorkflowExecution(
        id=execution_id(event, workflow.guid),
        tenant_id=A,
        workflow_guid=workflow.guid,
        event=event,
        status="paused",
        attempts=1,
        reason="the template order_received does not exist",
        started_at=NOW,
        finished_at=NOW,
    )
    world.executions.put(A, execution)
    return execution


def test_resume_runs_a_paused_execution_and_a_second_resume_is_a_conflict(
    world: ManagementWorld, cli: Cli
) -> None:
    execution = paused_execution(world)

    assert cli("workflows", "resume", execution.id, tenant=B) == (
        1,
        "",
        f"mercator workflows resume: NOT_FOUND: Workflow execution not found: {execution.id!r}\n",
    )
    assert cli("workflows", "resume", execution.id) == (0, f"{execution.id}  succeeded\n", "")
    assert cli("workflows", "resume", execution.id) == (
        1,
        "",
        f"mercator workflows resume: CONFLICT: execution {execution.id!r} is succeeded, not paused\n",
    )
    assert world.runner.runs == [("wf-1", "981")]


# The API's address and the key


def test_without_url_or_key_the_command_says_what_to_set_and_exits_2(
    cli: Cli, gateway: Gateway, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MERCATOR_API_URL", raising=False)
    monkeypatch.delenv("MERCATOR_API_KEY", raising=False)

    assert main(["integrations", "list"]) == 2
    assert capsys.readouterr().err == (
        "mercator integrations list: give the Integrations API's URL with --api-url or $MERCATOR_API_URL\n"
    )
    assert main(["workflows", "list", "Order", f"--api-url={API_URL}"]) == 2
    assert capsys.readouterr().err == (
        "mercator workflows list: give the tenant's API key with $MERCATOR_API_KEY or --api-key\n"
    )


def test_the_options_name_the_api_and_key_in_place_of_the_environment(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MERCATOR_API_URL", "http://127.0.0.1:9/not-this-one")
    monkeypatch.delenv("MERCATOR_API_KEY", raising=False)

    code = main(
        ["integrations", "list", f"--api-url={API_URL}", f"--api-key={cli.keys[B]}"],
        api_transport=httpx.MockTransport(cli.gateway),
    )

    out, err = capsys.readouterr()
    assert (code, out, err) == (0, "ID  PROVIDER  STATUS  RESOURCES  CONNECTED\n", "")
    assert cli.gateway.requests[-1].url == httpx.URL(f"{API_URL}/api/integrations")
    assert cli.gateway.requests[-1].headers["Authorization"] == f"Bearer {cli.keys[B]}"


def test_a_key_that_is_not_a_mercator_key_is_refused_without_being_shown(
    cli: Cli, gateway: Gateway, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mistyped = "sk_live_4f7a9c2e8b1d6035"

    code = main(["integrations", "list", f"--api-url={API_URL}", f"--api-key={mistyped}"])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        "mercator integrations list: the API key is not a Mercator API key (mk_<key id>.<secret>)\n"
    )
    assert gateway.requests == []


def test_a_revoked_key_gets_the_gateways_refusal(cli: Cli, gateway: Gateway) -> None:
    revoked = cli.keys[B]
    key_id = key_id_of(revoked)
    assert key_id is not None
    gateway.keys.revoke(key_id)

    assert cli("integrations", "list", tenant=B) == (
        1,
        "",
        "mercator integrations list: FORBIDDEN: User is not authorized to access this resource\n",
    )


def test_an_api_that_cannot_be_reached_exits_2_and_says_where(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    key = "mk_0123456789abcdef.tycD1L6s0Imzb87jZjSgKM0gRAEsrrJwvQcIQo61fN0"
    monkeypatch.setenv("MERCATOR_API_KEY", key)

    code = main(
        ["workflows", "toggle", "wf-1", "--api-url=http://127.0.0.1:8765"],
        api_transport=httpx.MockTransport(refuse),
    )

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        "mercator workflows toggle: cannot reach the Integrations API at http://127.0.0.1:8765: "
        "[Errno 111] Connection refused\n"
    )
    assert key not in err


# The client


def test_the_client_joins_routes_onto_the_stage_and_keeps_ids_in_one_segment() -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"success": True, "data": {"guid": "x", "isActive": True}})

    key = "mk_0123456789abcdef.tycD1L6s0Imzb87jZjSgKM0gRAEsrrJwvQcIQo61fN0"
    with IntegrationsApiClient(API_URL + "/", key, transport=httpx.MockTransport(answer)) as client:
        client.toggle_workflow("a/b?c")
        client.resume_execution("exec 1")

    assert [url.raw_path.decode() for url in seen] == [
        "/dev/api/workflows/configured/a%2Fb%3Fc/toggle",
        "/dev/api/workflows/resume-workflow?workflowId=exec+1",
    ]
    assert key not in repr(client)


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (429, {"message": "Too Many Requests"}, "HTTP_429", "Too Many Requests"),
        (401, {"message": "Unauthorized"}, "UNAUTHORIZED", "Unauthorized"),
        (500, {"message": None}, "HTTP_500", "Internal Server Error"),
        (502, b"<html>Bad Gateway</html>", "HTTP_502", "Bad Gateway"),
        (
            200,
            {"guid": "x"},
            "UNEXPECTED_ANSWER",
            "the answer is not the Integrations API's; is the API URL ",
        ),
        (200, {"success": True, "data": []}, "UNEXPECTED_ANSWER", "the answer's data is not an object"),
    ],
)
def test_answers_that_are_not_the_envelope_become_errors_with_a_code(
    status: int, body: Any, code: str, message: str
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=content))
    key = "mk_0123456789abcdef.tycD1L6s0Imzb87jZjSgKM0gRAEsrrJwvQcIQo61fN0"

    with (
        IntegrationsApiClient(API_URL, key, transport=transport) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.disable_integration("shop")

    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("api.example.com/dev", "must be an http(s) URL"),
        ("ftp://api.example.com", "must be an http(s) URL"),
        ("https://user:pw@api.example.com", "must not carry a user or password"),
        ("https://api.example.com/dev?stage=1", "must not have a query or fragment"),
    ],
)
def test_an_api_url_that_cannot_be_used_is_refused(url: str, problem: str) -> None:
    key = "mk_0123456789abcdef.tycD1L6s0Imzb87jZjSgKM0gRAEsrrJwvQcIQo61fN0"

    with pytest.raises(ApiSetupError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        IntegrationsApiClient(url, key)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2.5", 2.5),
        ("40", 40),
        ("true", True),
        ("false", False),
        ("http://127.0.0.1:8900/admin/v2", "http://127.0.0.1:8900/admin/v2"),
        ("nan", "nan"),
        ("", ""),
    ],
)
def test_setting_values_are_sent_as_numbers_and_booleans_where_they_read_so(
    text: str, value: str | bool | float
) -> None:
    converted = setting_value(text)

    assert converted == value
    assert type(converted) is type(value)
