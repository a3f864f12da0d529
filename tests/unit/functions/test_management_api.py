"""The ManagementApi handler: every route of the Integrations API through API Gateway proxy events.

The service behind it is the real one on moto, checking credentials against sandbox stores in
process. Every answer is checked against the OpenAPI document the function serves: its status must
be declared for the route and its body must match the declared schema.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from moto import mock_aws

from mercator.connector import load_shipped
from mercator.domain.entities import RunCheckpoint
from mercator.domain.workflows import Workflow, WorkflowExecution, execution_id, trigger_id
from mercator.services.management import ManagementService
from mercator.settings import ManagementSettings, SettingsError
from mercator_local.api_events import (
    CALLS,
    SAMPLE_CREDENTIALS,
    SAMPLE_TENANT,
    ApiCall,
    api_event,
    events,
    render,
)
from mercator_local.webhook_events import delivery_event
from mercator_local.webhook_signing import signed_headers
from tests.fake_aws import use_fake_aws
from tests.unit.functions.conftest import EVENTS, Loader
from tests.unit.outbound.conftest import change_event
from tests.unit.services.management_world import (
    CREDENTIALS,
    GUARDED_SALLA_BASE_URL,
    NOW,
    REGION,
    SALLA_BASE_URL,
    SECRET_VALUES,
    ManagementWorld,
    management_world,
)

A, B = SAMPLE_TENANT, "tenant-b"
MANAGEMENT_ENV = {
    "STATE_TABLE": "mercator-dev-StateTable",
    "RECORDS_TABLE": "mercator-dev-RecordsTable",
    "EVENT_BUS_NAME": "mercator-dev",
    "SENDER_EMAIL": "notifications@example.com",
    "PUSH_JOBS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/mercator-dev-PushJobsQueue",
}
WEBHOOK_ENV = {
    "STATE_TABLE": "mercator-dev-StateTable",
    "RECORDS_TABLE": "mercator-dev-RecordsTable",
    "ARCHIVE_BUCKET": "archive",
    "ENRICH_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/enrich",
    "ENRICH_DLQ_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq",
    "TRIGGER_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/trigger",
}
CALL = {call.name: call for call in CALLS}
SIGNING_SECRET = f"mercator/{A}/webhook-keys/workflow-signing-key"


class Context:
    function_name = "ManagementApiFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:ManagementApiFunction"
    aws_request_id = "0f6b7c2e-1a3d-4e5f-9b8c-7d6e5f4a3b2c"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementWorld]:
    use_fake_aws(monkeypatch, REGION)
    with management_world() as built:
        yield built


@pytest.fixture
def botocore_level() -> Iterator[None]:
    """The function quiets botocore when it builds its service, as in Lambda; other tests get the level
    back."""
    botocore = logging.getLogger("botocore")
    level = botocore.level
    yield
    botocore.setLevel(level)


@pytest.fixture
def app(load_app: Loader, world: ManagementWorld, botocore_level: None) -> ModuleType:
    module = load_app("management_api", MANAGEMENT_ENV)

    def build_services(settings: ManagementSettings) -> ManagementService:
        # The injected service skips the function's factory, which quiets botocore before it builds a
        # client (test_build_services_wires_the_service_on_aws): done here as the factory does it.
        logging.getLogger("botocore").setLevel(logging.INFO)
        return world.service

    module.build_services = build_services
    return module


@pytest.fixture
def document(app: ModuleType) -> dict[str, Any]:
    status, body = raw_call(app, api_event(CALL["openapi"]))
    assert status == 200
    return body


class Api:
    """Calls the handler and checks every answer against the OpenAPI document."""

    def __init__(self, app: ModuleType, document: dict[str, Any]) -> None:
        self.app = app
        self.document = document
        self.bodies: list[str] = []

    def __call__(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        response = self.app.lambda_handler(event, Context())
        self.bodies.append(response["body"])
        status, body = response["statusCode"], json.loads(response["body"])
        declared = self.document["paths"][event["resource"]][event["httpMethod"].lower()]["responses"]
        assert str(status) in declared, (
            f"{status} is not declared for {event['httpMethod']} {event['resource']}"
        )
        schema = declared[str(status)]["content"]["application/json"]["schema"]
        Draft202012Validator({**schema, "components": self.document["components"]}).validate(body)
        return status, body

    def send(
        self,
        name: str,
        *,
        tenant: str = A,
        path: str | None = None,
        parameters: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Route ``name`` of the sample calls, with what the test changes."""
        sample = CALL[name]
        call = ApiCall(
            name=sample.name,
            method=sample.method,
            resource=sample.resource,
            path=path or sample.path,
            parameters=sample.parameters if parameters is None else parameters,
            query=sample.query if query is None else query,
            body=sample.body if body is None else body,
        )
        return self(api_event(call, tenant_id=tenant))

    def on_integration(self, name: str, integration_id: str, **options: Any) -> tuple[int, dict[str, Any]]:
        resource = CALL[name].resource
        return self.send(
            name, path=resource.replace("{id}", integration_id), parameters={"id": integration_id}, **options
        )

    def on_workflow(self, name: str, guid: str, **options: Any) -> tuple[int, dict[str, Any]]:
        resource = CALL[name].resource
        return self.send(name, path=resource.replace("{guid}", guid), parameters={"guid": guid}, **options)

    def configure(
        self, connector: str = "salla", *, tenant: str = A, **settings: Any
    ) -> tuple[int, dict[str, Any]]:
        chosen = {"baseUrl": SALLA_BASE_URL} if connector == "salla" else {}
        body = {
            "providerId": connector,
            "providerType": "ecommerce",
            "credentials": CREDENTIALS.get(connector, {"apiKey": "k"}),
            "settings": {**chosen, **settings},
        }
        return self.send("configure_integration", tenant=tenant, body=body)


@pytest.fixture
def api(app: ModuleType, document: dict[str, Any]) -> Api:
    return Api(app, document)


def raw_call(app: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = app.lambda_handler(event, Context())
    return response["statusCode"], json.loads(response["body"])


def error(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}}


def configured(api: Api, connector: str = "salla", *, tenant: str = A) -> str:
    status, body = api.configure(connector, tenant=tenant)
    assert status == 200, body
    guid: str = body["data"]["guid"]
    return guid


def workflow_body(**fields: Any) -> dict[str, Any]:
    body = dict(CALL["configure_workflow"].body or {})
    return body | fields


# The events and the document


def test_the_event_files_are_current() -> None:
    """They are generated by local/mercator_local/api_events.py; a changed route needs a rerun."""
    for name, event in events().items():
        assert (EVENTS / "management_api" / name).read_text() == render(event), f"rerun it for {name}"


def test_every_event_carries_its_tenant_in_the_authorizer_context_only() -> None:
    for name in events():
        event = json.loads((EVENTS / "management_api" / name).read_text())
        assert event["requestContext"]["authorizer"]["tenantId"] == SAMPLE_TENANT
        assert SAMPLE_TENANT not in json.dumps(
            {k: v for k, v in event.items() if k != "requestContext"}
        ).replace(f"mercator/{SAMPLE_TENANT}/", "")


# The seed's routes, the listing of a tenant's integrations the seed lacks, and shipments (pushTracking).
ROUTES = {
    ("get", "/api/integrations"),
    ("post", "/api/integrations/provider/configure"),
    ("get", "/api/integrations/provider/disable/{id}"),
    ("post", "/api/integrations/provider/disable/{id}"),
    ("delete", "/api/integrations/providers/ecommerce/remove/{id}"),
    ("post", "/api/integrations/save-vapid-subscription"),
    ("get", "/api/workflows/triggers/{entityType}"),
    ("get", "/api/workflows/{entityType}/configured"),
    ("post", "/api/workflows/configure"),
    ("get", "/api/workflows/configured/{guid}/toggle"),
    ("delete", "/api/workflows/configured/{guid}"),
    ("get", "/api/workflows/resume-workflow"),
    ("post", "/api/shipments"),
    ("get", "/api/shipments/{shipmentId}"),
}


def test_the_openapi_document_declares_every_route_and_its_answers(document: dict[str, Any]) -> None:
    routes = {(method, path) for path, methods in document["paths"].items() for method in methods}
    assert routes == ROUTES
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            answers = operation["responses"]
            assert {"200", "401", "403", "500"} <= set(answers), (method, path)
            assert "422" not in answers
            for status, answer in answers.items():
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert (ref == "#/components/schemas/ErrorEnvelope") == (status not in ("200", "202")), (
                    method,
                    path,
                    status,
                )
    configure = document["paths"]["/api/integrations/provider/configure"]["post"]
    assert set(configure["responses"]) == {"200", "400", "401", "403", "404", "409", "413", "415", "500"}
    assert configure["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ConfigureIntegrationRequest"
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["mercatorApiKey"]["scheme"] == "bearer"
    credentials = document["components"]["schemas"]["ConfigureIntegrationRequest"]["properties"][
        "credentials"
    ]
    assert credentials["additionalProperties"]["writeOnly"] is True


# Integrations


def test_configure_answers_the_seeds_envelope_for_the_sample_event(world: ManagementWorld, api: Api) -> None:
    status, body = api(json.loads((EVENTS / "management_api" / "configure_integration.json").read_text()))

    assert status == 200
    guid = body["data"]["guid"]
    assert body == {
        "success": True,
        "data": {
            "guid": guid,
            "provider": "salla",
            "status": "active",
            "connectedAt": "2025-06-01T09:00:00Z",
        },
    }
    integration = world.integrations.get(guid)
    assert integration is not None and integration.tenant_id == SAMPLE_TENANT
    assert json.loads(
        world.secrets.get_secret_value(SecretId=integration.credentials_arn)["SecretString"]
    ) == (SAMPLE_CREDENTIALS)


def test_list_answers_the_tenants_integrations_oldest_first_with_their_resources(
    world: ManagementWorld, api: Api
) -> None:
    assert api.send("list_integrations") == (200, {"success": True, "data": []})
    # Given tenant A's Salla integration without products, then a WooCommerce one a minute later,
    # and tenant B's Salla integration
    _, salla = api.configure(syncProducts=False)
    world.clock.advance(minutes=1)
    woo = configured(api, "woocommerce")
    configured(api, tenant=B)
    api.on_integration("disable_integration", woo)

    status, body = api.send("list_integrations")

    assert (status, body) == (
        200,
        {
            "success": True,
            "data": [
                {
                    "guid": salla["data"]["guid"],
                    "provider": "salla",
                    "status": "active",
                    "connectedAt": "2025-06-01T09:00:00Z",
                    "resources": ["orders", "customers", "abandoned_carts", "shipments"],
                },
                {
                    "guid": woo,
                    "provider": "woocommerce",
                    "status": "disabled",
                    "connectedAt": "2025-06-01T09:01:00Z",
                    "resources": ["products", "customers", "orders", "shipments"],
                },
            ],
        },
    )


def test_configure_refusals_answer_the_error_envelope(api: Api) -> None:
    first = configured(api)

    assert api.configure("magento") == (
        404,
        error(
            "NOT_FOUND",
            "Provider not found: 'magento'; providers: crystal, pim, salla, shopify, woocommerce, zid",
        ),
    )
    assert api.configure(baseUrl=GUARDED_SALLA_BASE_URL, tenant=B) == (
        400,
        error(
            "CONFIGURATION_ERROR",
            "Invalid credentials: Salla refused them (401): The access token should be a valid one",
        ),
    )
    assert api.configure() == (
        409,
        error(
            "CONFLICT",
            f"Integration already configured: tenant '{A}' already has integration '{first}' (active) of "
            "connector 'salla'; remove it before configuring salla again",
        ),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"providerId": "salla", "providerType": "erp", "credentials": {"accessToken": "x"}},
            "invalid request: providerType: Input should be 'ecommerce'",
        ),
        (
            {"providerId": "salla", "providerType": "ecommerce", "credentials": {}},
            "invalid request: credentials: Dictionary should have at least 1 item after validation, not 0",
        ),
        (
            {
                "providerId": "salla",
                "providerType": "ecommerce",
                "credentials": {"accessToken": "x"},
                "settings": {"autoImportOrder": True},
            },
            "invalid request: settings.autoImportOrder: Extra inputs are not permitted",
        ),
        (
            {"providerType": "ecommerce", "credentials": {"accessToken": "x"}, "tenantId": "tenant-b"},
            "invalid request: providerId: Field required; tenantId: Extra inputs are not permitted",
        ),
    ],
)
def test_an_invalid_configure_body_names_the_field(api: Api, body: dict[str, Any], message: str) -> None:
    assert api.send("configure_integration", body=body) == (400, error("CONFIGURATION_ERROR", message))


def test_a_body_that_is_not_json_is_a_configuration_error(api: Api) -> None:
    event = api_event(CALL["configure_integration"])
    event["body"] = '{"providerId": "salla",'

    assert api(event) == (400, error("CONFIGURATION_ERROR", "invalid request: the body is not valid JSON"))


def sign_salla_delivery(integration_id: str) -> dict[str, Any]:
    definition = load_shipped("salla")
    assert definition.webhook is not None
    body = definition.resolve("samples/salla/order_created.json").read_bytes()
    headers = signed_headers(definition.webhook.verification, CREDENTIALS["salla"], body, now=NOW)
    return delivery_event(integration_id, body, headers)


@pytest.mark.parametrize("method_event", ["disable_integration", "disable_integration_post"])
def test_disable_stops_webhooks_and_schedules(
    world: ManagementWorld, api: Api, load_app: Loader, method_event: str
) -> None:
    # Given an active integration that takes webhooks and is scheduled
    guid = configured(api)
    webhooks = load_app("webhook_intake", WEBHOOK_ENV)
    webhooks.build_services = lambda settings: world.intake
    assert webhooks.lambda_handler(sign_salla_delivery(guid), Context())["statusCode"] == 200
    assert world.sync.fan_out("orders") == 1
    world.queued("jobs")

    # When it is disabled (by GET or POST)
    status, body = api.on_integration(method_event, guid)

    # Then the API says so, a webhook to it answers 404 and the next schedule skips it
    assert (status, body) == (200, {"success": True, "data": {"guid": guid, "status": "disabled"}})
    assert webhooks.lambda_handler(sign_salla_delivery(guid), Context())["statusCode"] == 404
    assert world.sync.fan_out("orders") == 0
    assert world.queued("jobs") == []


def test_remove_deletes_tracked_ids_and_cursors_and_keeps_records_unless_purged(
    world: ManagementWorld, api: Api, load_app: Loader
) -> None:
    # Given an integration with a record that came by webhook and a sync cursor
    guid = configured(api)
    webhooks = load_app("webhook_intake", WEBHOOK_ENV)
    webhooks.build_services = lambda settings: world.intake
    assert webhooks.lambda_handler(sign_salla_delivery(guid), Context())["statusCode"] == 200
    world.cursors.save_checkpoint(guid, "orders", RunCheckpoint(run_id="run-1", started_at=NOW), attempt="a1")
    assert world.tracking.get_many(guid, "orders", ["2116149737"]) != {}
    assert world.records.get(A, "ecommerce:orders", "2116149737") is not None

    # When it is removed without purge
    status, body = api.on_integration("remove_integration", guid)

    # Then it answers {"success": true}; the tracked id and cursor are gone, the record stays
    assert (status, body) == (200, {"success": True})
    assert world.integrations.get(guid) is None
    assert world.tracking.get_many(guid, "orders", ["2116149737"]) == {}
    assert world.cursors.get(guid, "orders") is None
    assert world.records.get(A, "ecommerce:orders", "2116149737") is not None
    # And removing it again finds nothing
    assert api.on_integration("remove_integration", guid) == (
        404,
        error("NOT_FOUND", f"Integration not found: {guid!r}"),
    )


def test_remove_with_purge_deletes_its_records(world: ManagementWorld, api: Api, load_app: Loader) -> None:
    guid = configured(api)
    webhooks = load_app("webhook_intake", WEBHOOK_ENV)
    webhooks.build_services = lambda settings: world.intake
    webhooks.lambda_handler(sign_salla_delivery(guid), Context())

    status, body = api.on_integration("remove_integration_purge", guid)

    assert (status, body) == (200, {"success": True})
    assert world.records.get(A, "ecommerce:orders", "2116149737") is None


def test_a_push_subscription_is_saved_and_a_bad_one_refused(world: ManagementWorld, api: Api) -> None:
    assert api.send("save_vapid_subscription") == (200, {"success": True})
    assert [s.endpoint for s in world.subscriptions.list(A)] == [
        CALL["save_vapid_subscription"].body["endpoint"]
    ]  # type: ignore[index]

    bad = dict(CALL["save_vapid_subscription"].body or {}) | {
        "keys": {"p256dh": "AAAA", "auth": "BTBZMqHH6r4Tts7J_aSIgg"}
    }
    assert api.send("save_vapid_subscription", body=bad) == (
        400,
        error("CONFIGURATION_ERROR", "keys.p256dh must decode to 65 bytes, not 3"),
    )


# Workflows


def test_triggers_of_the_tenants_connectors(api: Api) -> None:
    assert api.send("workflow_triggers") == (200, {"success": True, "data": []})
    configured(api)

    status, body = api.send("workflow_triggers")

    assert status == 200
    assert body["data"][0] == {
        "guid": trigger_id("salla", "order.created"),
        "name": "Order created",
        "code": "order.created",
        "description": "",
        "provider": "salla",
    }
    assert [t["code"] for t in body["data"]] == [
        "order.created",
        "order.updated",
        "order.status.updated",
        "order.deleted",
        "order_status_changed",
    ]
    assert api.send(
        "workflow_triggers", path="/api/workflows/triggers/Invoice", parameters={"entityType": "Invoice"}
    ) == (
        404,
        error(
            "NOT_FOUND",
            "Entity type not found: 'Invoice'; entity types: Order, Customer, Product, Cart, Shipment",
        ),
    )


def test_configure_list_toggle_and_delete_a_workflow(world: ManagementWorld, api: Api) -> None:
    configured(api)

    status, body = api.send("configure_workflow")
    assert status == 200
    guid = body["data"]["guid"]
    assert body == {
        "success": True,
        "data": {"guid": guid, "name": "Tell the warehouse about paid orders", "isActive": True},
    }

    assert api.send("configured_workflows") == (
        200,
        {
            "success": True,
            "data": [
                {
                    "guid": guid,
                    "name": "Tell the warehouse about paid orders",
                    "entityType": "Order",
                    "trigger": "order.created",
                    "triggerId": trigger_id("salla", "order.created"),
                    "action": "webhook",
                    "isActive": True,
                    "isManaged": False,
                }
            ],
        },
    )
    assert api.on_workflow("toggle_workflow", guid) == (
        200,
        {"success": True, "data": {"guid": guid, "isActive": False}},
    )
    assert api.on_workflow("delete_workflow", guid) == (200, {"success": True})
    assert world.workflows.get(A, guid) is None
    assert api.on_workflow("toggle_workflow", guid) == (
        404,
        error("NOT_FOUND", f"Workflow not found: {guid!r}"),
    )


def test_workflow_refusals_answer_the_error_envelope(api: Api) -> None:
    configured(api)
    unknown = trigger_id("shopify", "orders/create")

    assert api.send("configure_workflow", body=workflow_body(triggerId=unknown)) == (
        400,
        error(
            "CONFIGURATION_ERROR",
            f"trigger {unknown!r} is not a Order trigger of this tenant's integrations; "
            "GET /api/workflows/triggers/Order lists them",
        ),
    )
    assert api.send("configure_workflow", body=workflow_body(action={"type": "send_sms", "to": "+1"})) == (
        400,
        error(
            "CONFIGURATION_ERROR",
            "invalid request: action: Input tag 'send_sms' found using 'type' does not match any of the "
            "expected tags: 'webhook', 'send_email', 'send_push', 'update_status'",
        ),
    )
    assert api.send("configured_workflows", query={"managed": "maybe"}) == (
        400,
        error(
            "CONFIGURATION_ERROR",
            "invalid request: query parameter managed: Input should be a valid boolean, unable to interpret "
            "input",
        ),
    )


def paused(world: ManagementWorld, tenant: str = A) -> WorkflowExecution:
    workflow = Workflow.model_validate(
        {
            "guid": "wf-1",
            "tenant_id": tenant,
            "name": "Tell the warehouse",
            "entity_type": "Order",
            "connector": "salla",
            "trigger": "order.created",
            "action": {"type": "send_email", "recipient": "customer", "template": "order_received"},
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    world.workflows.put(tenant, workflow)
    event = change_event(tenant_id=tenant)
    execution = WorkflowExecution(
        id=execution_id(event, workflow.guid),
        tenant_id=tenant,
        workflow_guid=workflow.guid,
        event=event,
        status="paused",
        attempts=1,
        reason="the template order_received does not exist",
        started_at=NOW,
        finished_at=NOW,
    )
    world.executions.put(tenant, execution)
    return execution


def resume(api: Api, execution: str, *, tenant: str = A) -> tuple[int, dict[str, Any]]:
    return api.send("resume_workflow", tenant=tenant, query={"workflowId": execution})


def test_resume_runs_a_paused_execution_once(world: ManagementWorld, api: Api) -> None:
    execution = paused(world)

    assert resume(api, execution.id) == (
        200,
        {"success": True, "data": {"guid": execution.id, "status": "succeeded", "reason": None}},
    )
    assert resume(api, execution.id) == (
        409,
        error("CONFLICT", f"execution {execution.id!r} is succeeded, not paused"),
    )
    assert world.runner.runs == [("wf-1", "981")]
    assert api.send("resume_workflow", query={}) == (
        400,
        error("CONFIGURATION_ERROR", "invalid request: query parameter workflowId: Field required"),
    )


# Tenant isolation, route by route


def test_tenant_b_gets_404_for_every_id_of_tenant_a_exactly_as_for_a_missing_one(
    world: ManagementWorld, api: Api
) -> None:
    # Given tenant A's integration, workflow and paused execution
    integration = configured(api)
    _, created = api.send("configure_workflow")
    workflow = created["data"]["guid"]
    execution = paused(world).id
    before = (world.integrations.get(integration), world.workflows.get(A, workflow))

    def as_b_and_missing(send: Any, real: str) -> None:
        status, body = send(real)
        missing_status, missing = send("0" * len(real))
        assert status == missing_status == 404
        assert body == json.loads(json.dumps(missing).replace("0" * len(real), real))

    # Then every route answers tenant B about A's ids as about ids that do not exist
    for name in (
        "disable_integration",
        "disable_integration_post",
        "remove_integration",
        "remove_integration_purge",
    ):
        as_b_and_missing(lambda guid, name=name: api.on_integration(name, guid, tenant=B), integration)
    for name in ("toggle_workflow", "delete_workflow"):
        as_b_and_missing(lambda guid, name=name: api.on_workflow(name, guid, tenant=B), workflow)
    as_b_and_missing(
        lambda guid: api.send("configure_workflow", tenant=B, body=workflow_body(guid=guid)), workflow
    )
    as_b_and_missing(lambda guid: resume(api, guid, tenant=B), execution)
    # And B's lists never show A's items
    assert api.send("list_integrations", tenant=B) == (200, {"success": True, "data": []})
    assert api.send("workflow_triggers", tenant=B) == (200, {"success": True, "data": []})
    assert api.send("configured_workflows", tenant=B) == (200, {"success": True, "data": []})
    assert world.subscriptions.list(B) == []
    # And nothing of A's changed
    assert (world.integrations.get(integration), world.workflows.get(A, workflow)) == before
    assert (
        world.executions.get(A, execution) is not None
        and world.executions.get(A, execution).status == "paused"
    )
    assert world.runner.runs == []


def test_tenant_b_configuring_the_same_provider_learns_nothing_of_tenant_a(api: Api) -> None:
    configured(api)

    status, body = api.configure(tenant=B)

    assert status == 200
    assert body["data"]["provider"] == "salla"


def test_the_tenant_comes_from_the_authorizer_only(world: ManagementWorld, api: Api) -> None:
    # A header naming another tenant changes nothing: the request is tenant A's
    event = api_event(CALL["configure_integration"])
    event["headers"]["X-Tenant-Id"] = B
    status, body = api(event)
    assert status == 200
    assert [i.id for i in world.integrations.for_tenant(A)] == [body["data"]["guid"]]
    assert world.integrations.for_tenant(B) == []

    # Without the authorizer's tenant, nothing runs
    event = api_event(CALL["configured_workflows"])
    del event["requestContext"]["authorizer"]
    assert api(event) == (401, error("UNAUTHORIZED", "the request carries no tenant"))


# Secrets


def test_credentials_never_appear_in_a_response_or_a_log_line(
    world: ManagementWorld, api: Api, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    configured(api)  # succeeds
    configured(api, "woocommerce")
    api.configure()  # 409
    api.configure(baseUrl=GUARDED_SALLA_BASE_URL, tenant=B)  # 400: refused by the store
    numbers = {
        "providerId": "shopify",
        "providerType": "ecommerce",
        "credentials": {"accessToken": 7316429958},
    }
    api.send("configure_integration", body=numbers)  # 400: not text
    api.configure("crystal", pushTracking=True)  # 400: before any call

    logged = (
        caplog.text + " ".join(repr(record.__dict__) for record in caplog.records) + capsys.readouterr().out
    )
    answered = " ".join(api.bodies)
    assert "configured" in logged and "401" in logged
    for secret in (*SECRET_VALUES, "7316429958"):
        assert secret not in logged
        assert secret not in answered


def test_an_unexpected_failure_answers_500_in_the_envelope(
    app: ModuleType, api: Api, world: ManagementWorld
) -> None:
    def broken(tenant_id: str, entity_type: str, **options: Any) -> Any:
        raise RuntimeError("the table is gone")

    world.service.workflows = broken  # type: ignore[method-assign]

    assert api.send("configured_workflows") == (
        500,
        error("INTERNAL_ERROR", "the request could not be completed"),
    )


# Settings and wiring


def test_the_settings_need_the_tables_and_the_actions_settings_and_name_what_is_missing() -> None:
    with pytest.raises(SettingsError) as caught:
        ManagementSettings.from_environ({"STATE_TABLE": "s", "SENDER_EMAIL": "not-an-address"})

    message = str(caught.value)
    assert message.startswith("ManagementApi cannot start: ")
    for problem in (
        "environment variable RECORDS_TABLE is not set",
        "environment variable EVENT_BUS_NAME is not set",
        "environment variable PUSH_JOBS_QUEUE_URL is not set",
        "environment variable SENDER_EMAIL: must be an email address",
    ):
        assert problem in message


def test_the_settings_default_the_checks_attempts_and_take_a_blank_vapid_secret_as_none() -> None:
    settings = ManagementSettings.from_environ({**MANAGEMENT_ENV, "VAPID_SECRET_ARN": " "})

    assert settings.credentials_check_attempts == 2
    assert settings.vapid_secret_arn is None
    with pytest.raises(SettingsError, match="CREDENTIALS_CHECK_ATTEMPTS"):
        ManagementSettings.from_environ({**MANAGEMENT_ENV, "CREDENTIALS_CHECK_ATTEMPTS": "9"})


def test_build_services_wires_the_service_on_aws(
    load_app: Loader, monkeypatch: pytest.MonkeyPatch, botocore_level: None
) -> None:
    use_fake_aws(monkeypatch, REGION)
    app = load_app("management_api", MANAGEMENT_ENV)
    with mock_aws():
        built = app.build_services(app.settings)

    assert isinstance(built, ManagementService)
    # botocore's DEBUG lines would print secrets' text: the function never lets them through.
    assert logging.getLogger("botocore").getEffectiveLevel() >= logging.INFO
