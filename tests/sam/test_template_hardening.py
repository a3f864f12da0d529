"""template.yaml's operational guards: access logs, schedule retries and dead letters, throttles and
per API key limits, the archive bucket's TLS-only policy and versions, and stateful resources kept."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mercator.state.archive import PREFIX as ARCHIVE_PREFIX
from tests.sam.support import API, events, of_type, referenced

APIS = ("WebhookApi", "IntegrationsApi")
# cfn-lint's I3011 list, as far as this template declares them: these hold data when the stack goes.
STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
)
# (function, event) of every schedule: sync's one per resource family, then push's of the catalog.
SCHEDULES = (
    ("ScheduledSyncFunction", "ProductsSchedule"),
    ("ScheduledSyncFunction", "CustomersSchedule"),
    ("ScheduledSyncFunction", "OrdersSchedule"),
    ("ScheduledSyncFunction", "CartsSchedule"),
    ("ScheduledSyncFunction", "ShipmentsSchedule"),
    ("CatalogPushFunction", "PushSchedule"),
)
# The functions schedules invoke, asynchronously: each fans its schedule out to jobs on its queue.
FAN_OUTS = sorted({function for function, _ in SCHEDULES})


def _resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"][logical_id]
    return resource


# --- Access logs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_each_api_stage_writes_access_logs_to_its_own_kept_log_group(
    template: dict[str, Any], api: str
) -> None:
    setting = _resource(template, api)["Properties"]["AccessLogSetting"]
    group_id = referenced(setting["DestinationArn"])
    group = _resource(template, group_id)

    assert setting["DestinationArn"] == {"Fn::GetAtt": [group_id, "Arn"]}
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    # No function logs there: one group per API stage.
    others = [other for other in APIS if other != api]
    assert all(
        referenced(_resource(template, other)["Properties"]["AccessLogSetting"]["DestinationArn"]) != group_id
        for other in others
    )


@pytest.mark.parametrize("api", APIS)
def test_access_log_lines_name_the_request_never_its_headers_or_body(
    template: dict[str, Any], api: str
) -> None:
    text = _resource(template, api)["Properties"]["AccessLogSetting"]["Format"]
    # API Gateway puts "-" for a value it has not got; every value is quoted, so a line is always JSON.
    line = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "-", text))

    fields = json.loads(text)
    assert set(line) == set(fields)
    assert fields["requestId"] == "$context.requestId"
    assert fields["ip"] == "$context.identity.sourceIp"
    assert fields["route"] == "$context.resourcePath"
    assert fields["method"] == "$context.httpMethod"
    assert fields["status"] == "$context.status"
    assert fields["latencyMs"] == "$context.responseLatency"
    variables = re.findall(r"\$[A-Za-z][A-Za-z.]*", text)
    assert all(variable.startswith("$context.") for variable in variables), variables
    for forbidden in ("header", "body", "$input", "override", "querystring", "path."):
        assert forbidden not in text.lower(), forbidden


def test_api_gateway_may_write_to_cloudwatch_before_the_stages_log(template: dict[str, Any]) -> None:
    account = _resource(template, "ApiGatewayAccount")
    role = _resource(template, referenced(account["Properties"]["CloudWatchRoleArn"]))

    assert account["Type"] == "AWS::ApiGateway::Account"
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
    ]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    # The account's setting outlives this stack's APIs: other APIs may log through the role.
    assert role["DeletionPolicy"] == "Retain"
    for api in APIS:
        assert _resource(template, api)["DependsOn"] == "ApiGatewayAccount", api


# --- Schedules -------------------------------------------------------------------------------------


def test_each_schedule_retries_then_dead_letters(template: dict[str, Any]) -> None:
    schedules = {(function, name): props for function, name, props in events(template, "Schedule")}

    assert set(schedules) == set(SCHEDULES)
    for name, props in schedules.items():
        assert props["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ScheduleDLQ", "Arn"]}}, name
        retry = props["RetryPolicy"]
        assert 1 <= retry["MaximumRetryAttempts"] <= 185, name
        # Retrying past the next tick is pointless; the most frequent default is every 15 minutes.
        assert 60 <= retry["MaximumEventAgeInSeconds"] <= 15 * 60, name


@pytest.mark.parametrize("function", FAN_OUTS)
def test_a_failed_fan_out_is_retried_then_dead_lettered(template: dict[str, Any], function: str) -> None:
    config = _resource(template, function)["Properties"]["EventInvokeConfig"]

    assert config["MaximumRetryAttempts"] == 2
    assert 60 <= config["MaximumEventAgeInSeconds"] <= 15 * 60
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["ScheduleDLQ", "Arn"]},
    }


def test_the_schedule_dlq_keeps_messages_and_takes_them_from_the_schedules_only(
    template: dict[str, Any],
) -> None:
    queue = _resource(template, "ScheduleDLQ")
    policy = _resource(template, "ScheduleDLQPolicy")

    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 60 * 60
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert policy["Properties"]["Queues"] == [{"Ref": "ScheduleDLQ"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": ["ScheduleDLQ", "Arn"]}
    # SAM names each schedule's rule <function><event>: every schedule's rule, and nothing else.
    assert statement["Condition"] == {
        "ArnEquals": {
            "aws:SourceArn": [{"Fn::GetAtt": [f"{function}{name}", "Arn"]} for function, name in SCHEDULES]
        }
    }


# --- Throttling ------------------------------------------------------------------------------------


def _method_settings(template: dict[str, Any], api: str) -> dict[tuple[str, str], dict[str, Any]]:
    settings = _resource(template, api)["Properties"]["MethodSettings"]
    return {(item["ResourcePath"], item["HttpMethod"]): item for item in settings}


@pytest.mark.parametrize(
    ("path", "method"),
    [("/webhooks/{integrationId}", "post"), ("/pim/{integrationId}/consume/{name}", "put")],
)
def test_the_delivery_routes_have_their_own_method_throttle(
    template: dict[str, Any], path: str, method: str
) -> None:
    routes = {
        (props["Path"], props["Method"])
        for _, _, props in events(template, "Api")
        if referenced(props["RestApiId"]) == "WebhookApi"
    }
    assert (path, method) in routes
    # A method setting's resource path writes each / of the route as ~1.
    route = "/" + path.replace("/", "~1")
    settings = _method_settings(template, "WebhookApi")

    assert settings[(route, method.upper())]["ThrottlingRateLimit"] == {"Ref": "WebhookRateLimit"}
    assert settings[(route, method.upper())]["ThrottlingBurstLimit"] == {"Ref": "WebhookBurstLimit"}
    # Separate from the Integrations API's: no setting of one names the other's route or parameters.
    integrations = _method_settings(template, "IntegrationsApi")
    assert (route, method.upper()) not in integrations
    assert all("Webhook" not in json.dumps(item) for item in integrations.values())
    for name in ("WebhookRateLimit", "WebhookBurstLimit"):
        parameter = template["Parameters"][name]
        assert parameter["Type"] == "Number" and parameter["MinValue"] >= 1, name


def test_each_api_key_has_its_own_request_limit_on_the_integrations_api(template: dict[str, Any]) -> None:
    association = _resource(template, "IntegrationsApiWebAclAssociation")["Properties"]
    acl = _resource(template, referenced(association["WebACLArn"]))["Properties"]

    assert association["ResourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${IntegrationsApi}/stages/"
        "${IntegrationsApi.Stage}"
    }
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    (rule,) = acl["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    # Counted per Authorization header: per API key, each of which belongs to one tenant.
    assert rate["AggregateKeyType"] == "CUSTOM_KEYS"
    assert rate["CustomKeys"] == [
        {"Header": {"Name": "authorization", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
    ]
    assert rate["Limit"] == {"Ref": "ApiKeyRequestsPerMinute"}
    assert rate["EvaluationWindowSec"] == 60
    assert template["Parameters"]["ApiKeyRequestsPerMinute"]["MinValue"] >= 10  # WAF's smallest limit
    # Refused in the API's own error envelope, with 429.
    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    body = acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    document = json.loads(body["Content"])
    assert document["success"] is False
    assert document["error"]["code"] == "TOO_MANY_REQUESTS"
    # Sampled requests would show API keys (the Authorization header) in the console.
    assert acl["VisibilityConfig"]["SampledRequestsEnabled"] is False
    assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is False


def test_the_webhook_api_has_no_web_acl(template: dict[str, Any]) -> None:
    # Providers are not tenants: their deliveries are limited by the route's throttle alone.
    associations = of_type(template, "AWS::WAFv2::WebACLAssociation")
    assert [item["Properties"]["ResourceArn"]["Fn::Sub"] for item in associations.values()] == [
        "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${IntegrationsApi}/stages/"
        "${IntegrationsApi.Stage}"
    ]
    assert set(of_type(template, API)) == set(APIS)


# --- The archive bucket ----------------------------------------------------------------------------


def test_the_archive_bucket_refuses_plain_http(template: dict[str, Any]) -> None:
    policies = of_type(template, "AWS::S3::BucketPolicy")
    (policy,) = policies.values()

    assert policy["Properties"]["Bucket"] == {"Ref": "DeliveryArchiveBucket"}
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["DeliveryArchiveBucket", "Arn"]},
        {"Fn::Sub": "${DeliveryArchiveBucket.Arn}/*"},
    ]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_archive_bucket_is_versioned_and_still_forgets_after_the_retention(
    template: dict[str, Any],
) -> None:
    properties = _resource(template, "DeliveryArchiveBucket")["Properties"]

    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Prefix"] == f"{ARCHIVE_PREFIX}/"
    assert rule["ExpirationInDays"] == {"Ref": "DeliveryArchiveDays"}
    # A version stops being current when it expires (or is overwritten): gone a day later.
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


# --- Kept resources --------------------------------------------------------------------------------


def test_every_stateful_resource_is_kept_on_delete_and_replace(template: dict[str, Any]) -> None:
    stateful = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in STATEFUL_TYPES
    }
    assert {
        "StateTable",
        "RecordsTable",
        "DeliveryArchiveBucket",
        "OAuthStateKeySecret",
        "ScheduleDLQ",
    } <= set(stateful)
    for logical_id, resource in stateful.items():
        assert resource.get("DeletionPolicy") == "Retain", logical_id
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id
