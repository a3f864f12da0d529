"""template.yaml against the shared contract: runtimes, queues and their DLQs, tables, schedules, policies."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mercator.settings import CatalogApplySettings, PushSettings
from tests.sam.support import (
    API,
    FUNCTION,
    LAYER,
    QUEUE,
    ROOT,
    SECRET,
    TABLE,
    events,
    function_environment,
    function_property,
    of_type,
    policy_templates,
    referenced,
    strings,
)

FUNCTIONS = {
    "ScheduledSyncFunction": "functions/scheduled_sync/",
    "CatalogPushFunction": "functions/catalog_push/",
    "DetailEnrichmentFunction": "functions/detail_enrichment/",
    "WebhookIntakeFunction": "functions/webhook_intake/",
    "TriggerDispatchFunction": "functions/trigger_dispatch/",
    "ApiAuthorizerFunction": "functions/api_authorizer/",
    "ManagementApiFunction": "functions/management_api/",
    "OAuthFunction": "functions/oauth/",
    "CatalogEventsFunction": "functions/catalog_events/",
    "CatalogApplyFunction": "functions/catalog_apply/",
}
CONTRACT_VARIABLES = {
    "STATE_TABLE": "StateTable",
    "RECORDS_TABLE": "RecordsTable",
    "SYNC_JOBS_QUEUE_URL": "SyncJobsQueue",
    "ENRICH_QUEUE_URL": "EnrichQueue",
    "ENRICH_DLQ_URL": "EnrichDLQ",
    "TRIGGER_QUEUE_URL": "TriggerQueue",
}
POWERTOOLS_VARIABLES = ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL")
FOURTEEN_DAYS = 14 * 24 * 60 * 60


def _key_schema(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """(attribute, key type) of a table's or an index's key schema, in order."""
    return [(key["AttributeName"], key["KeyType"]) for key in definition["KeySchema"]]


def _attribute_types(table: dict[str, Any]) -> dict[str, str]:
    return {item["AttributeName"]: item["AttributeType"] for item in table["AttributeDefinitions"]}


# --- Functions and the layer ----------------------------------------------------------------------


def test_the_functions_are_exactly_the_contracts(template: dict[str, Any]) -> None:
    assert set(of_type(template, FUNCTION)) == set(FUNCTIONS)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_runs_python311_from_its_folder_with_the_shared_layer(
    template: dict[str, Any], logical_id: str
) -> None:
    assert function_property(template, logical_id, "Runtime") == "python3.11"
    assert function_property(template, logical_id, "Handler") == "app.lambda_handler"
    assert function_property(template, logical_id, "CodeUri") == FUNCTIONS[logical_id]
    assert function_property(template, logical_id, "Layers") == [
        {"Ref": "SharedLayer"},
        {"Ref": "ConnectorsLayer"},
    ]
    assert function_property(template, logical_id, "Tracing") == "Active"
    # The built layer's native wheels (pydantic-core, PyYAML) are imported on this x86_64 machine.
    assert function_property(template, logical_id, "Architectures") == ["x86_64"]


def test_timeouts_leave_sync_and_push_room_to_checkpoint(template: dict[str, Any]) -> None:
    assert function_property(template, "ScheduledSyncFunction", "Timeout") == 300
    assert function_property(template, "DetailEnrichmentFunction", "Timeout") == 300
    # A push run checkpoints after every page and continues itself near the deadline, as a sync job does.
    assert function_property(template, "CatalogPushFunction", "Timeout") == 300


def test_the_layer_is_shared_built_for_python311(template: dict[str, Any]) -> None:
    layers = of_type(template, LAYER)
    assert list(layers) == ["SharedLayer", "ConnectorsLayer"]
    layer = layers["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.11"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64"]
    # Built by shared/Makefile's target for the layer, which installs the lock for that runtime.
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "x86_64"}
    makefile = (ROOT / "shared" / "Makefile").read_text()
    assert re.search(r"^build-SharedLayer:", makefile, re.MULTILINE)
    assert "--python-version=3.11" in makefile and "-r requirements.txt" in makefile


def test_the_connectors_layer_lands_in_the_folder_the_functions_read(template: dict[str, Any]) -> None:
    # A layer's files land under /opt: connectors-layer/connectors/ becomes /opt/connectors/.
    layer = of_type(template, LAYER)["ConnectorsLayer"]
    assert layer["Properties"]["ContentUri"] == "connectors-layer/"
    assert "Metadata" not in layer  # zipped as it is: no build
    assert (ROOT / "connectors-layer" / "connectors").is_dir()
    assert template["Globals"]["Function"]["Environment"]["Variables"]["CONNECTORS_DIR"] == {
        "Ref": "ConnectorsDir"
    }
    assert template["Parameters"]["ConnectorsDir"]["Default"] == "/opt/connectors"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_environment_names_the_contracts_resources(
    template: dict[str, Any], logical_id: str
) -> None:
    environment = function_environment(template, logical_id)
    for variable, resource in CONTRACT_VARIABLES.items():
        assert environment.get(variable) == {"Ref": resource}, variable
    for variable in POWERTOOLS_VARIABLES:
        assert variable in environment, variable
    assert environment["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}


def test_powertools_settings_are_global(template: dict[str, Any]) -> None:
    global_variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(POWERTOOLS_VARIABLES) <= set(global_variables)


def test_sync_deadline_margin_is_the_contract_default(template: dict[str, Any]) -> None:
    environment = function_environment(template, "ScheduledSyncFunction")
    assert environment["SYNC_DEADLINE_MARGIN_SECONDS"] == "30"


def test_catalog_push_names_its_own_queues_and_the_settings_default_margin(template: dict[str, Any]) -> None:
    # Given CatalogPush's environment as SAM merges it
    environment = function_environment(template, "CatalogPushFunction")
    declared = PushSettings.model_fields["deadline_margin_seconds"].default

    # Then its queues are the push ones, and its margin is what the settings take when none is set
    assert environment["PUSH_JOBS_QUEUE_URL"] == {"Ref": "PushJobsQueue"}
    assert environment["PUSH_DLQ_URL"] == {"Ref": "PushDLQ"}
    assert float(environment["PUSH_DEADLINE_MARGIN_SECONDS"]) == declared == 30


def test_the_api_queues_shipments_where_catalog_push_takes_its_jobs(template: dict[str, Any]) -> None:
    # POST /api/shipments sends ShipmentPushJobs; CatalogPush consumes that queue and tells them apart.
    api = function_environment(template, "ManagementApiFunction")
    push = function_environment(template, "CatalogPushFunction")
    consumed = {
        referenced(props["Queue"])
        for function, _, props in events(template, "SQS")
        if function == "CatalogPushFunction"
    }

    assert api["PUSH_JOBS_QUEUE_URL"] == push["PUSH_JOBS_QUEUE_URL"] == {"Ref": "PushJobsQueue"}
    assert consumed == {"PushJobsQueue"}


# --- Event sources --------------------------------------------------------------------------------


def test_every_queue_has_its_consumer(template: dict[str, Any]) -> None:
    consumers = {(function, referenced(props["Queue"])) for function, _, props in events(template, "SQS")}
    assert consumers == {
        ("ScheduledSyncFunction", "SyncJobsQueue"),
        ("DetailEnrichmentFunction", "EnrichQueue"),
        ("TriggerDispatchFunction", "TriggerQueue"),
        ("CatalogPushFunction", "PushJobsQueue"),
        ("CatalogApplyFunction", "CatalogEventsQueue"),
    }


def test_every_sqs_event_reports_item_failures_and_caps_concurrency(template: dict[str, Any]) -> None:
    found = list(events(template, "SQS"))
    assert found, "the template declares no SQS event"
    for function, name, props in found:
        where = f"{function}.Events.{name}"
        assert props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], where
        maximum = props.get("ScalingConfig", {}).get("MaximumConcurrency")
        assert maximum is not None, f"{where}: no ScalingConfig.MaximumConcurrency"
        # Lambda accepts 2..1000; a parameter must not let a deployer pick anything else.
        parameter = template["Parameters"][referenced(maximum)]
        assert parameter["Type"] == "Number", where
        assert parameter["MinValue"] >= 2, where
        assert parameter["MaxValue"] <= 1000, where
        assert 2 <= parameter["Default"] <= 1000, where


def test_sqs_batching_matches_the_work(template: dict[str, Any]) -> None:
    by_function = {function: props for function, _, props in events(template, "SQS")}
    # A sync job runs until close to the deadline, so one per invocation.
    assert by_function["ScheduledSyncFunction"]["BatchSize"] == 1
    # So does a push job: one store's run per invocation.
    assert by_function["CatalogPushFunction"]["BatchSize"] == 1
    assert by_function["DetailEnrichmentFunction"]["BatchSize"] == 2
    assert by_function["DetailEnrichmentFunction"]["MaximumBatchingWindowInSeconds"] == 5


def test_one_sync_schedule_per_resource_family_and_one_catalog_push_schedule(
    template: dict[str, Any],
) -> None:
    # Given every schedule, by the function it invokes
    found = list(events(template, "Schedule"))
    syncs = {
        json.loads(props["Input"])["resource"]: props["Schedule"]
        for function, _, props in found
        if function == "ScheduledSyncFunction"
    }
    pushes = {
        json.loads(props["Input"])["push"]: props["Schedule"]
        for function, _, props in found
        if function == "CatalogPushFunction"
    }

    # Then sync lists each resource family at its own rate, and push writes the catalog at its own
    assert syncs == {
        "products": {"Ref": "ProductsSyncRate"},
        "customers": {"Ref": "CustomersSyncRate"},
        "orders": {"Ref": "OrdersSyncRate"},
        "carts": {"Ref": "CartsSyncRate"},
        "shipments": {"Ref": "ShipmentsSyncRate"},
    }
    assert pushes == {"products": {"Ref": "CatalogPushRate"}}
    # And no other function runs on a schedule, nor either of these on more than those
    assert len(found) == len(syncs) + len(pushes)
    assert {function for function, _, _ in found} == {"ScheduledSyncFunction", "CatalogPushFunction"}


@pytest.mark.parametrize(
    "parameter",
    [
        "ProductsSyncRate",
        "CustomersSyncRate",
        "OrdersSyncRate",
        "CartsSyncRate",
        "ShipmentsSyncRate",
        "CatalogPushRate",
    ],
)
def test_schedule_rate_defaults_pass_their_own_pattern(template: dict[str, Any], parameter: str) -> None:
    declaration = template["Parameters"][parameter]
    assert re.fullmatch(declaration["AllowedPattern"], declaration["Default"])
    for invalid in ("15 minutes", "every(5 minutes)", ""):
        assert not re.fullmatch(declaration["AllowedPattern"], invalid), invalid


# --- Queues ---------------------------------------------------------------------------------------


def test_every_queue_either_has_a_dlq_or_is_one(template: dict[str, Any]) -> None:
    queues = of_type(template, QUEUE)
    sources = {name: queue for name, queue in queues.items() if "RedrivePolicy" in queue["Properties"]}
    dead_letter_targets = {
        referenced(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]): name
        for name, queue in sources.items()
    }
    assert set(sources) == {
        "SyncJobsQueue",
        "EnrichQueue",
        "TriggerQueue",
        "PushJobsQueue",
        "CatalogEventsQueue",
    }
    assert dead_letter_targets == {
        "SyncJobsDLQ": "SyncJobsQueue",
        "EnrichDLQ": "EnrichQueue",
        "TriggerDLQ": "TriggerQueue",
        "PushDLQ": "PushJobsQueue",
        "CatalogEventsDLQ": "CatalogEventsQueue",
    }
    # CatalogApply's own dead letters (a request still waiting, a product that does not map), each
    # with its reason: a queue no redrive targets, sent to by the function that writes them.
    reasoned = {"CatalogDLQ"}
    assert function_property(template, "CatalogApplyFunction", "Environment")["Variables"][
        "CATALOG_DLQ_URL"
    ] == {"Ref": "CatalogDLQ"}
    # The schedules' own dead letters (EventBridge's and Lambda's): tests/sam/test_template_hardening.py
    schedule_targets = {
        referenced(props["DeadLetterConfig"]["Arn"]) for _, _, props in events(template, "Schedule")
    }
    assert schedule_targets == {"ScheduleDLQ"}
    # No queue is left without a role: every queue is a source with a DLQ or some DLQ.
    assert set(queues) == set(sources) | set(dead_letter_targets) | schedule_targets | reasoned


def test_redrive_after_five_receives(template: dict[str, Any]) -> None:
    for name, queue in of_type(template, QUEUE).items():
        redrive = queue["Properties"].get("RedrivePolicy")
        if redrive is not None:
            if name == "CatalogEventsQueue":
                # A request waiting for another entity is tried CATALOG_MAX_ATTEMPTS times and then
                # dead-lettered with its reason by CatalogApply: SQS's redrive must come after that.
                default = CatalogApplySettings.model_fields["max_attempts"].default
                assert redrive["maxReceiveCount"] > default, name
                continue
            assert redrive["maxReceiveCount"] == 5, name
            assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][1] == "Arn", name


def test_dead_letters_outlive_their_sources(template: dict[str, Any]) -> None:
    queues = of_type(template, QUEUE)
    for name, queue in queues.items():
        redrive = queue["Properties"].get("RedrivePolicy")
        if redrive is None:
            continue
        dlq = queues[referenced(redrive["deadLetterTargetArn"])]["Properties"]
        assert dlq["MessageRetentionPeriod"] == FOURTEEN_DAYS, name
        # SQS keeps a message's first enqueue time, so a DLQ must keep messages longer than its source.
        assert queue["Properties"].get("MessageRetentionPeriod", 345600) < dlq["MessageRetentionPeriod"]


def test_every_queue_is_encrypted(template: dict[str, Any]) -> None:
    for name, queue in of_type(template, QUEUE).items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, name


def test_visibility_timeout_is_six_consumer_timeouts_plus_the_batching_window(
    template: dict[str, Any],
) -> None:
    queues = of_type(template, QUEUE)
    checked = 0
    for function, name, props in events(template, "SQS"):
        timeout = function_property(template, function, "Timeout")
        window = props.get("MaximumBatchingWindowInSeconds", 0)
        visibility = queues[referenced(props["Queue"])]["Properties"]["VisibilityTimeout"]
        assert visibility >= 6 * timeout + window, f"{function}.Events.{name}"
        checked += 1
    # SyncJobs, Enrich, Trigger, PushJobs and CatalogEvents: every consumed queue.
    assert checked == 5


# --- Tables ---------------------------------------------------------------------------------------


def test_state_table_keys_match_the_contract(template: dict[str, Any]) -> None:
    table = template["Resources"]["StateTable"]["Properties"]
    assert _key_schema(table) == [("pk", "HASH"), ("sk", "RANGE")]
    assert _attribute_types(table) == {"pk": "S", "sk": "S", "gsi1pk": "S", "gsi1sk": "S"}
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "gsi1"
    assert _key_schema(index) == [("gsi1pk", "HASH"), ("gsi1sk", "RANGE")]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}


def test_records_table_keys_match_the_contract(template: dict[str, Any]) -> None:
    table = template["Resources"]["RecordsTable"]["Properties"]
    assert _key_schema(table) == [("pk", "HASH"), ("sk", "RANGE")]
    assert _attribute_types(table) == {"pk": "S", "sk": "S"}
    assert "GlobalSecondaryIndexes" not in table


def test_tables_are_on_demand_recoverable_encrypted_and_kept(template: dict[str, Any]) -> None:
    tables = of_type(template, TABLE)
    assert set(tables) == {"StateTable", "RecordsTable"}
    for name, table in tables.items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", name
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert properties["SSESpecification"] == {"SSEEnabled": True}, name
        assert table["DeletionPolicy"] == "Retain", name
        assert table["UpdateReplacePolicy"] == "Retain", name
        assert properties["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}, name


# --- Least privilege ------------------------------------------------------------------------------


def test_no_full_access_policy_anywhere(template: dict[str, Any]) -> None:
    offending = [text for text in strings(template) if "fullaccess" in text.lower()]
    assert offending == []


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_policies_are_sam_templates_scoped_to_this_stack(template: dict[str, Any], logical_id: str) -> None:
    for name, parameters in policy_templates(template, logical_id):
        if name in {"DynamoDBCrudPolicy", "DynamoDBReadPolicy"}:
            assert referenced(parameters["TableName"]) in {"StateTable", "RecordsTable"}
        elif name == "SQSSendMessagePolicy":
            queue = parameters["QueueName"]
            assert queue["Fn::GetAtt"][1] == "QueueName"
            assert referenced(queue) in of_type(template, QUEUE)
        elif name == "EventBridgePutEventsPolicy":
            assert parameters["EventBusName"] == {"Ref": "EventBus"}
        elif name == "Statement":
            pass  # inline statements (secrets, the archive, SES): tests/sam/test_least_privilege.py
        else:
            pytest.fail(f"{logical_id}: unexpected policy {name}")


def _sends(template: dict[str, Any], logical_id: str) -> set[str]:
    return {
        referenced(parameters["QueueName"])
        for name, parameters in policy_templates(template, logical_id)
        if name == "SQSSendMessagePolicy"
    }


def test_each_function_sends_only_where_the_flow_goes(template: dict[str, Any]) -> None:
    # Sync continues itself, hands batches to enrichment, emits change events for records it maps and
    # dead-letters listed records that fail mapping or validation.
    assert _sends(template, "ScheduledSyncFunction") == {
        "SyncJobsQueue",
        "EnrichQueue",
        "TriggerQueue",
        "EnrichDLQ",
    }
    # Enrichment emits change events and dead-letters records that fail mapping or validation.
    assert _sends(template, "DetailEnrichmentFunction") == {"TriggerQueue", "EnrichDLQ"}
    # Intake announces changes, hands thin deliveries to enrichment, dead-letters what it cannot map.
    assert _sends(template, "WebhookIntakeFunction") == {"TriggerQueue", "EnrichQueue", "EnrichDLQ"}
    # Push continues itself and dead-letters the products a store refused; it never feeds the inbound
    # flow (its writes come back as the store's own webhooks and listings).
    assert _sends(template, "CatalogPushFunction") == {"PushJobsQueue", "PushDLQ"}
    # Dispatch ends the flow: the event bus and the workflows' own destinations.
    assert _sends(template, "TriggerDispatchFunction") == set()
    # A PIM's requests go to the FIFO queue; CatalogApply announces the products it changed and
    # dead-letters, with the reason, what cannot be applied.
    assert _sends(template, "CatalogEventsFunction") == {"CatalogEventsQueue"}
    assert _sends(template, "CatalogApplyFunction") == {"TriggerQueue", "CatalogDLQ"}
    # The API queues a tenant's shipment for CatalogPush to write (pushTracking), and nothing else.
    assert _sends(template, "ManagementApiFunction") == {"PushJobsQueue"}
    # The other functions answering requests feed no queue.
    for answering in ("ApiAuthorizerFunction", "OAuthFunction"):
        assert _sends(template, answering) == set(), answering


def _tables(template: dict[str, Any], logical_id: str, policy: str) -> set[str]:
    return {
        referenced(parameters["TableName"])
        for name, parameters in policy_templates(template, logical_id)
        if name == policy
    }


# Tables each function writes (DynamoDBCrudPolicy).
CRUD_TABLES = {
    "ScheduledSyncFunction": {"StateTable", "RecordsTable"},
    "DetailEnrichmentFunction": {"StateTable", "RecordsTable"},
    "WebhookIntakeFunction": {"StateTable", "RecordsTable"},
    # Dispatch reads workflows and writes executions; it never touches records.
    "TriggerDispatchFunction": {"StateTable"},
    # Removing an integration purges its records too.
    "ManagementApiFunction": {"StateTable", "RecordsTable"},
    # Installs write integrations and single-use state nonces; never records.
    "OAuthFunction": {"StateTable"},
    # Integrations, rate buckets, the push ledger and leases; the canonical catalog is only read.
    "CatalogPushFunction": {"StateTable"},
    "ApiAuthorizerFunction": set(),
    # Integrations are read and each request claimed; no record is written on intake.
    "CatalogEventsFunction": {"StateTable"},
    # The catalog state and the canonical catalog.
    "CatalogApplyFunction": {"StateTable", "RecordsTable"},
}
# Tables a function only reads (DynamoDBReadPolicy), never one it also writes.
READ_TABLES = {
    # The authorizer looks API keys up.
    "ApiAuthorizerFunction": {"StateTable"},
    # Push reads the canonical catalog (DynamoRecords.written_by queries it) and never writes a record.
    "CatalogPushFunction": {"RecordsTable"},
}


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_function_reaches_its_tables(template: dict[str, Any], logical_id: str) -> None:
    names = [name for name, _ in policy_templates(template, logical_id)]

    assert _tables(template, logical_id, "DynamoDBCrudPolicy") == CRUD_TABLES[logical_id]
    assert _tables(template, logical_id, "DynamoDBReadPolicy") == READ_TABLES.get(logical_id, set())
    assert not CRUD_TABLES[logical_id] & READ_TABLES.get(logical_id, set())
    if logical_id == "ApiAuthorizerFunction":
        # It looks keys up, nothing more: read-only on the state table, no secrets at all.
        assert names == ["DynamoDBReadPolicy"]


# --- The Integrations API -------------------------------------------------------------------------

INTEGRATIONS_ROUTES = {
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
    ("get", "/api/openapi.json"),
    ("get", "/oauth/{connector}/install"),
    ("get", "/oauth/{connector}/start"),
    ("get", "/oauth/{connector}/callback"),
}


def _api_routes(template: dict[str, Any], api: str) -> dict[tuple[str, str], str | None]:
    """(method, path) of every Api event on ``api`` → the authorizer SAM puts on it (None: open)."""
    auth = template["Resources"][api]["Properties"].get("Auth", {})
    routes: dict[tuple[str, str], str | None] = {}
    for _, _, props in events(template, "Api"):
        if referenced(props["RestApiId"]) != api:
            continue
        chosen = props.get("Auth", {}).get("Authorizer", auth.get("DefaultAuthorizer"))
        routes[(props["Method"], props["Path"])] = None if chosen in (None, "NONE") else chosen
    return routes


def test_every_integrations_api_route_is_protected_but_the_document_and_the_oauth_browser_routes(
    template: dict[str, Any],
) -> None:
    routes = _api_routes(template, "IntegrationsApi")

    assert set(routes) == INTEGRATIONS_ROUTES
    open_routes = {route for route, authorizer in routes.items() if authorizer is None}
    # The document describes the API to anyone; the merchant's browser opens the install's start
    # address, and the platform sends that browser to the callback.
    assert open_routes == {
        ("get", "/api/openapi.json"),
        ("get", "/oauth/{connector}/start"),
        ("get", "/oauth/{connector}/callback"),
    }
    assert {authorizer for authorizer in routes.values() if authorizer is not None} == {"ApiKeyAuthorizer"}


def test_every_api_event_names_its_api_explicitly(template: dict[str, Any]) -> None:
    # An Api event without RestApiId would land on SAM's implicit API, open to all.
    apis = {referenced(props["RestApiId"]) for _, _, props in events(template, "Api")}
    assert apis == set(of_type(template, API)) == {"IntegrationsApi", "WebhookApi"}


def test_the_api_key_authorizer_reads_the_authorization_header(template: dict[str, Any]) -> None:
    auth = template["Resources"]["IntegrationsApi"]["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]

    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["ApiAuthorizerFunction", "Arn"]}
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    # A revoked key must stop working within minutes: API Gateway caches the answer this long.
    assert 0 < authorizer["Identity"]["ReauthorizeEvery"] <= 300


@pytest.mark.parametrize(
    ("response_type", "status", "code", "message"),
    [
        ("UNAUTHORIZED", 401, "UNAUTHORIZED", "Unauthorized"),
        ("ACCESS_DENIED", 403, "FORBIDDEN", "User is not authorized to access this resource"),
        ("MISSING_AUTHENTICATION_TOKEN", 404, "NOT_FOUND", "No such route"),
    ],
)
def test_the_gateways_refusals_use_the_apis_error_envelope(
    template: dict[str, Any], response_type: str, status: int, code: str, message: str
) -> None:
    declared = template["Resources"]["IntegrationsApi"]["Properties"]["GatewayResponses"][response_type]
    # API Gateway substitutes $context.error.messageString with the message as a quoted JSON string.
    body = declared["ResponseTemplates"]["application/json"].replace(
        "$context.error.messageString", json.dumps(message)
    )

    assert int(declared["StatusCode"]) == status
    assert json.loads(body) == {"success": False, "error": {"code": code, "message": message}}


def test_the_gateways_own_failures_use_the_apis_error_envelope(template: dict[str, Any]) -> None:
    declared = template["Resources"]["IntegrationsApi"]["Properties"]["GatewayResponses"]["DEFAULT_5XX"]
    body = declared["ResponseTemplates"]["application/json"].replace(
        "$context.error.messageString", json.dumps("Internal server error")
    )
    assert json.loads(body) == {
        "success": False,
        "error": {"code": "INTERNAL_ERROR", "message": "Internal server error"},
    }


def test_the_webhook_api_has_no_authorizer(template: dict[str, Any]) -> None:
    # Providers sign their deliveries; intake checks the signature itself.
    api = template["Resources"]["WebhookApi"]["Properties"]
    assert "Auth" not in api
    assert "Api" not in template.get("Globals", {})
    routes = _api_routes(template, "WebhookApi")
    # Providers sign deliveries; a PIM signs its requests with its app token (CatalogEvents checks it).
    assert routes == {
        ("post", "/webhooks/{integrationId}"): None,
        ("put", "/pim/{integrationId}/consume/{name}"): None,
        ("post", "/pim/{integrationId}/handshake"): None,
    }
    for _, _, props in events(template, "Api"):
        if referenced(props["RestApiId"]) == "WebhookApi":
            assert "Auth" not in props


def test_the_oauth_state_key_is_generated_and_reaches_only_the_oauth_function(
    template: dict[str, Any],
) -> None:
    (secret_id,) = of_type(template, SECRET)
    generate = template["Resources"][secret_id]["Properties"]["GenerateSecretString"]

    # A signing key of 64 letters and digits, made by Secrets Manager and never written anywhere
    assert generate == {"PasswordLength": 64, "ExcludePunctuation": True}
    assert "SecretString" not in template["Resources"][secret_id]["Properties"]
    users = {
        logical_id
        for logical_id in FUNCTIONS
        if {"Ref": secret_id} in function_environment(template, logical_id).values()
    }
    assert users == {"OAuthFunction"}
    assert function_environment(template, "OAuthFunction")["OAUTH_STATE_KEY_SECRET"] == {"Ref": secret_id}
    # Under its kind's own prefix (mercator.domain.secret_names), granted to the OAuth function by its ARN
    assert template["Resources"][secret_id]["Properties"]["Name"] == {
        "Fn::Sub": "mercator/oauth-state/key-${Stage}"
    }


def test_the_oauth_callback_address_comes_from_a_parameter_never_from_the_request(
    template: dict[str, Any],
) -> None:
    # A parameter, not !Sub of IntegrationsApi: the API invokes the function, so the function's
    # environment cannot reference the API (a circular dependency).
    assert function_environment(template, "OAuthFunction")["OAUTH_BASE_URL"] == {"Ref": "OAuthBaseUrl"}
    declaration = template["Parameters"]["OAuthBaseUrl"]
    assert declaration["Type"] == "String" and declaration["Default"] == ""
    pattern = declaration["AllowedPattern"]
    for accepted in (
        "",
        "https://75324b2de6.execute-api.eu-central-1.amazonaws.com/dev",
        "https://api.shop-sync.example",
        "https://api.shop-sync.example/mercator/v1",
    ):
        assert re.fullmatch(pattern, accepted), accepted
    for refused in (
        "http://75324b2de6.execute-api.eu-central-1.amazonaws.com/dev",
        "https://api.shop-sync.example/?next=x",
        "https://api.shop-sync.example/#x",
        "https://user@api.shop-sync.example",
        "api.shop-sync.example",
    ):
        assert not re.fullmatch(pattern, refused), refused


# --- Outputs --------------------------------------------------------------------------------------


def test_outputs_name_tables_queues_and_functions(template: dict[str, Any]) -> None:
    outputs = {name: output["Value"] for name, output in template["Outputs"].items()}
    expected_refs = {
        "StateTableName": "StateTable",
        "RecordsTableName": "RecordsTable",
        "SyncJobsQueueUrl": "SyncJobsQueue",
        "EnrichQueueUrl": "EnrichQueue",
        "TriggerQueueUrl": "TriggerQueue",
        "EnrichDLQUrl": "EnrichDLQ",
        "PushJobsQueueUrl": "PushJobsQueue",
        "PushDLQUrl": "PushDLQ",
    }
    for output, resource in expected_refs.items():
        assert outputs[output] == {"Ref": resource}, output
    for logical_id in FUNCTIONS:
        assert outputs[f"{logical_id}Arn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
