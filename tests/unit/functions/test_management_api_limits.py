"""The Integrations API never answers 5xx for a client's mistake, and holds its limits.

Hostile requests through the ManagementApi handler (API Gateway proxy events, the real service on
moto): bodies that are not JSON, too large, too deep or past a field's limit are refused with a 4xx
that says why, and nothing is written. Schemathesis then generates requests from the API's own
OpenAPI document, in process, schema-valid and schema-violating, and checks every answer: declared
for its route, matching its schema, never 5xx, and nothing written on a refusal. Hypothesis reaches
where those requests stop early: any JSON in a workflow for a trigger the tenant has, and any
credentials and store URL for each shipped connector.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.schemas import BaseSchema

from mercator.api.request_checks import (
    MAX_BODY_BYTES,
    MAX_CONDITION_DEPTH,
    MAX_CONDITION_VALUES,
    MAX_CONDITIONS,
    MAX_CREDENTIALS,
    MAX_CREDENTIALS_BYTES,
    MAX_HEADERS,
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
)
from mercator.domain.workflows import trigger_id
from mercator_local.api import HttpRequest, Route, RouteTable, api_id, http_response, proxy_event
from mercator_local.api_events import CALLS, FUNCTION, REST_API, api_event
from mercator_local.functions import ApiRoute
from tests.fake_aws import use_fake_aws
from tests.unit.functions.conftest import Loader
from tests.unit.functions.test_management_api import (
    CALL,
    MANAGEMENT_ENV,
    Api,
    Context,
    configured,
    error,
    raw_call,
    workflow_body,
)
from tests.unit.services.management_world import (
    CREDENTIALS,
    REGION,
    SALLA_BASE_URL,
    ManagementWorld,
    management_world,
)

BODY_ROUTES = ("configure_integration", "save_vapid_subscription", "configure_workflow")
ORDER_CREATED = trigger_id("salla", "order.created")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementWorld]:
    use_fake_aws(monkeypatch, REGION)
    with management_world() as built:
        yield built


@pytest.fixture
def app(load_app: Loader, world: ManagementWorld) -> Iterator[ModuleType]:
    botocore = logging.getLogger("botocore")
    level = botocore.level  # building the service quiets botocore, as in Lambda; put back after
    module = load_app("management_api", MANAGEMENT_ENV)
    module.build_services = lambda settings: world.service
    yield module
    botocore.setLevel(level)


@pytest.fixture
def api(app: ModuleType) -> Api:
    status, document = raw_call(app, api_event(CALL["openapi"]))
    assert status == 200
    return Api(app, document)


# Calls that only read; any other call to AWS that succeeds wrote something.
READS = ("Get", "BatchGet", "TransactGet", "List", "Describe", "Scan", "Query")


@contextmanager
def writes(world: ManagementWorld) -> Iterator[list[str]]:
    """The calls to DynamoDB, Secrets Manager and SQS that write and succeed inside the block."""
    made: list[str] = []

    def record(http_response: Any, model: Any, **_: Any) -> None:
        if http_response.status_code < 300 and not model.name.startswith(READS):
            made.append(model.name)

    clients = (world.dynamodb, world.secrets, world.sqs)
    for client in clients:
        client.meta.events.register("after-call", record)
    try:
        yield made
    finally:
        for client in clients:
            client.meta.events.unregister("after-call", record)


def with_body(
    name: str, body: str, *, content_type: str | None = "application/json", encoded: bool = False
) -> dict[str, Any]:
    """The sample event of route ``name`` carrying ``body`` as sent, with its Content-Type."""
    event = api_event(CALL[name])
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Content-Type", None)
    if content_type is not None:
        event["headers"]["Content-Type"] = content_type
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    if encoded:
        event["body"] = base64.b64encode(body.encode()).decode()
    else:
        event["body"] = body
    event["isBase64Encoded"] = encoded
    return event


def sample_body(name: str, **fields: Any) -> str:
    return json.dumps({**(CALL[name].body or {}), **fields})


def refused(api: Api, world: ManagementWorld, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The answer to ``event``, checked to be a 4xx that wrote nothing."""
    with writes(world) as made:
        status, body = api(event)
    assert 400 <= status < 500, (status, body)
    assert made == []
    return status, body


# Bodies that are not JSON: 415, before anything reads them


NOT_JSON = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=mercator",
    "application/xml",
    "application/vnd.api+json",
    "application/jsonx",
]


@pytest.mark.parametrize("route", BODY_ROUTES)
def test_a_body_not_sent_as_json_is_unsupported_and_names_application_json(
    api: Api, world: ManagementWorld, route: str
) -> None:
    for content_type in NOT_JSON:
        answer = refused(api, world, with_body(route, sample_body(route), content_type=content_type))

        media_type = content_type.split(";")[0]
        assert answer == (
            415,
            error(
                "UNSUPPORTED_MEDIA_TYPE",
                f"the body is sent as {media_type!r}; send it as JSON with Content-Type: application/json",
            ),
        ), content_type


def test_a_json_body_sent_as_a_form_is_not_echoed_back(api: Api, world: ManagementWorld) -> None:
    # curl -d sends application/x-www-form-urlencoded: read as a form, the whole JSON text (the
    # credentials with it) became one field name, quoted in the answer.
    body = sample_body("configure_integration", credentials=CREDENTIALS["salla"])

    status, answer = refused(
        api, world, with_body("configure_integration", body, content_type="application/x-www-form-urlencoded")
    )

    assert status == 415
    assert CREDENTIALS["salla"]["accessToken"] not in json.dumps(answer)


def test_json_is_read_whatever_the_case_and_parameters_of_its_type_or_without_one(
    api: Api, world: ManagementWorld
) -> None:
    configured(api)

    for content_type in ("application/json", "application/json; charset=utf-8", "Application/JSON", None):
        with writes(world) as made:
            status, body = api(
                with_body("configure_workflow", sample_body("configure_workflow"), content_type=content_type)
            )

        assert status == 200, (content_type, body)
        assert made == ["PutItem"]  # the workflow: what a refusal must not do


# Bodies past the reader's limits: 400 saying where


@pytest.mark.parametrize("route", BODY_ROUTES)
def test_a_body_nested_20000_levels_deep_is_an_invalid_request(
    api: Api, world: ManagementWorld, route: str
) -> None:
    for body, where in (
        ("[" * 20_000 + "]" * 20_000, "[0][0][0][0][0][0][0][0][0][0] ... [0][0][0][0][0][0][0][0][0][0]"),
        ('{"a":' * 20_000 + "1" + "}" * 20_000, "a.a.a.a.a.a.a.a.a.a ... a.a.a.a.a.a.a.a.a.a"),
    ):
        answer = refused(api, world, with_body(route, body))

        column = 101 if body.startswith("[") else 501
        assert answer == (
            400,
            error(
                "CONFIGURATION_ERROR",
                f"invalid request: {where}: nested deeper than 100 objects and lists; at most 100 levels are "
                f"read (line 1, column {column})",
            ),
        )


def test_nesting_is_refused_past_100_levels_only(api: Api, world: ManagementWorld) -> None:
    def conditions(levels: int) -> str:
        # The body and its conditions are two levels; the rest is the condition's value.
        value = "[" * (levels - 2) + "]" * (levels - 2)
        return sample_body("configure_workflow").replace(
            '{"totalAmount": {"gte": 100}}', '{"a": ' + value + "}"
        )

    status, answer = refused(api, world, with_body("configure_workflow", conditions(101)))
    assert status == 400
    assert answer["error"]["message"] == (
        "invalid request: conditions.a[0][0][0][0][0][0][0][0] ... [0][0][0][0][0][0][0][0][0][0]: "
        "nested deeper than 100 objects and lists; at most 100 levels are read (line 1, column "
        f"{len(conditions(101)) - 101})"
    )
    status, answer = refused(api, world, with_body("configure_workflow", conditions(100)))
    assert "nested deeper than 100" not in answer["error"]["message"]
    assert f"nested deeper than {MAX_CONDITION_DEPTH} objects and lists" in answer["error"]["message"]


def test_an_integer_of_5000_digits_is_an_invalid_request(api: Api, world: ManagementWorld) -> None:
    body = sample_body("save_vapid_subscription")[:-1] + ', "expirationTime": ' + "9" * 5000 + "}"

    status, answer = refused(api, world, with_body("save_vapid_subscription", body))

    assert (status, answer) == (
        400,
        error(
            "CONFIGURATION_ERROR",
            "invalid request: expirationTime: an integer of 5,000 digits; at most 4,300 are read (write it "
            f"as text) (line 1, column {len(body) - 5000})",
        ),
    )


def test_a_key_given_twice_is_an_invalid_request(api: Api, world: ManagementWorld) -> None:
    # Which of the two would be read is up to the parser: neither is.
    body = (
        '{"providerId": "salla", "providerId": "zid", "providerType": "ecommerce", "credentials": {"a": "b"}}'
    )

    status, answer = refused(api, world, with_body("configure_integration", body))

    assert (status, answer) == (
        400,
        error(
            "CONFIGURATION_ERROR",
            "invalid request: providerId: duplicate key 'providerId': given before at line 1, column 2; "
            "give each key once (the last would silently win) (line 1, column 25)",
        ),
    )


# Bodies too large: 413 with the limit, before they are parsed


@pytest.mark.parametrize("encoded", [False, True], ids=["text", "base64"])
def test_a_workflow_with_500_kb_of_conditions_is_too_large(
    api: Api, world: ManagementWorld, encoded: bool
) -> None:
    configured(api)
    conditions = {f"field{i}": "x" * 100 for i in range(5_000)}
    body = sample_body("configure_workflow", conditions=conditions)
    assert len(body) > 500_000

    status, answer = refused(api, world, with_body("configure_workflow", body, encoded=encoded))

    assert (status, answer) == (
        413,
        error(
            "REQUEST_TOO_LARGE",
            f"the body is {len(body):,} bytes; at most 262,144 bytes (256 KiB) are read",
        ),
    )


def test_the_body_limit_counts_bytes_and_is_inclusive(api: Api, world: ManagementWorld) -> None:
    def padded(size: int) -> str:
        body = sample_body("save_vapid_subscription")
        return body + " " * (size - len(body))  # whitespace after the value is still JSON

    status, _ = api(with_body("save_vapid_subscription", padded(MAX_BODY_BYTES)))
    assert status == 200
    status, _ = refused(api, world, with_body("save_vapid_subscription", padded(MAX_BODY_BYTES + 1)))
    assert status == 413
    # Characters past ASCII count as the bytes they are sent as.
    wide = sample_body("save_vapid_subscription")[:-1] + ', "x": "' + "é" * (MAX_BODY_BYTES // 2) + '"}'
    assert len(wide) < MAX_BODY_BYTES < len(wide.encode())
    assert refused(api, world, with_body("save_vapid_subscription", wide))[0] == 413


# Fields past their limits: 400 naming the field and the limit


def test_conditions_past_their_limits_are_refused_and_at_their_limits_accepted(
    api: Api, world: ManagementWorld
) -> None:
    configured(api)

    def answer(conditions: Any) -> tuple[int, dict[str, Any]]:
        return api.send("configure_workflow", body=workflow_body(conditions=conditions))

    def nested(levels: int) -> Any:
        value: Any = 1
        for _ in range(levels):
            value = [value]
        return value

    at_limits = [
        {f"field{i}": i for i in range(MAX_CONDITIONS)},
        {"tags": {"in": nested(MAX_CONDITION_DEPTH - 1)}},
        {"sku": {"in": list(range(MAX_CONDITION_VALUES - 2))}},
        {"a" * MAX_NAME_CHARS: "x" * MAX_TEXT_CHARS},
    ]
    for conditions in at_limits:
        assert answer(conditions)[0] == 200

    past_limits = [
        (
            {f"field{i}": i for i in range(MAX_CONDITIONS + 1)},
            "conditions: 51 conditions; at most 50 record paths are tested",
        ),
        (
            {"tags": {"in": nested(MAX_CONDITION_DEPTH)}},
            "conditions: condition on 'tags': nested deeper than 5 objects and lists",
        ),
        (
            {"sku": {"in": list(range(MAX_CONDITION_VALUES - 1))}},
            "conditions: more than 1,000 values in all conditions; at most that many are read",
        ),
        (
            {"a" * (MAX_NAME_CHARS + 1): 1},
            "conditions: a record path of 201 characters; at most 200 are read",
        ),
        (
            {"note": {"contains": "x" * (MAX_TEXT_CHARS + 1)}},
            "conditions: condition on 'note': a text of 2,049 characters; at most 2,048 are read",
        ),
    ]
    for conditions, message in past_limits:
        with writes(world) as made:
            assert answer(conditions) == (400, error("CONFIGURATION_ERROR", f"invalid request: {message}"))
        assert made == []


def test_a_condition_on_a_number_json_does_not_have_is_refused(api: Api, world: ManagementWorld) -> None:
    # Python's JSON reader takes them; stored, they would come back as null.
    configured(api)
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        body = sample_body("configure_workflow").replace('{"gte": 100}', '{"gte": ' + literal + "}")

        answer = refused(api, world, with_body("configure_workflow", body))

        assert answer == (
            400,
            error(
                "CONFIGURATION_ERROR",
                "invalid request: conditions: condition on 'totalAmount': NaN and Infinity are not JSON "
                "numbers",
            ),
        ), literal


LONG_ID = "0" * (MAX_ID_CHARS + 1)
TOO_LONG_ID = f"String should have at most {MAX_ID_CHARS} characters"


def test_a_path_parameter_longer_than_an_id_is_an_invalid_request(api: Api, world: ManagementWorld) -> None:
    # An id may be as long as a DynamoDB key; a longer one would be AWS's ValidationException, a 500.
    for name, parameter in (
        ("disable_integration", "id"),
        ("disable_integration_post", "id"),
        ("remove_integration", "id"),
        ("toggle_workflow", "guid"),
        ("delete_workflow", "guid"),
        ("workflow_triggers", "entityType"),
        ("configured_workflows", "entityType"),
    ):
        call = CALL[name]
        event = api_event(call)
        event["path"] = call.path.replace(call.parameters[parameter], LONG_ID)
        event["pathParameters"] = {parameter: LONG_ID}

        assert refused(api, world, event) == (
            400,
            error("CONFIGURATION_ERROR", f"invalid request: path parameter {parameter}: {TOO_LONG_ID}"),
        ), name


def test_an_execution_id_longer_than_an_id_is_an_invalid_request(api: Api, world: ManagementWorld) -> None:
    assert refused(api, world, api_event(CALL["resume_workflow"]) | _query({"workflowId": LONG_ID})) == (
        400,
        error("CONFIGURATION_ERROR", f"invalid request: query parameter workflowId: {TOO_LONG_ID}"),
    )


def _query(parameters: dict[str, str]) -> dict[str, Any]:
    return {
        "queryStringParameters": parameters,
        "multiValueQueryStringParameters": {name: [value] for name, value in parameters.items()},
    }


def configure_body(**fields: Any) -> dict[str, Any]:
    return {
        "providerId": "salla",
        "providerType": "ecommerce",
        "credentials": CREDENTIALS["salla"],
        "settings": {"baseUrl": SALLA_BASE_URL},
    } | fields


def push_body(**fields: Any) -> dict[str, Any]:
    return dict(CALL["save_vapid_subscription"].body or {}) | fields


WEBHOOK = dict((CALL["configure_workflow"].body or {})["action"])
FIELD_LIMITS = [
    ("configure_integration", configure_body(providerId=LONG_ID), f"providerId: {TOO_LONG_ID}"),
    (
        "configure_integration",
        configure_body(credentials={f"k{i}": "v" for i in range(MAX_CREDENTIALS + 1)}),
        "credentials: Dictionary should have at most 20 items after validation, not more",
    ),
    (
        "configure_integration",
        configure_body(credentials={"accessToken": "t" * MAX_CREDENTIALS_BYTES}),
        "credentials: 32,787 bytes in all; at most 32,768 bytes (32 KiB) of credentials are stored",
    ),
    (
        "configure_integration",
        configure_body(credentials={"n" * (MAX_NAME_CHARS + 1): "v"}),
        "credentials.'" + "n" * 60 + "...'.[key]: String should have at most 200 characters",
    ),
    (
        "configure_integration",
        configure_body(settings={"baseUrl": "https://" + "a" * MAX_TEXT_CHARS}),
        "settings.baseUrl: String should have at most 2048 characters",
    ),
    (
        "save_vapid_subscription",
        push_body(endpoint="https://push.example.net/" + "a" * MAX_TEXT_CHARS),
        "endpoint: String should have at most 2048 characters",
    ),
    ("configure_workflow", workflow_body(guid=LONG_ID), f"guid: {TOO_LONG_ID}"),
    ("configure_workflow", workflow_body(triggerId=LONG_ID), f"triggerId: {TOO_LONG_ID}"),
    (
        "configure_workflow",
        workflow_body(name="n" * (MAX_NAME_CHARS + 1)),
        "name: String should have at most 200 characters",
    ),
    (
        "configure_workflow",
        workflow_body(action=WEBHOOK | {"url": "https://warehouse.example.com/" + "a" * MAX_TEXT_CHARS}),
        "action: url: a text of 2,078 characters; at most 2,048 are read",
    ),
    (
        "configure_workflow",
        workflow_body(action=WEBHOOK | {"headers": {f"X-H{i}": "v" for i in range(MAX_HEADERS + 1)}}),
        "action: headers: 21 headers; at most 20 are sent",
    ),
    (
        "configure_workflow",
        workflow_body(action=WEBHOOK | {"headers": {"X-Trace": "a\r\nX-Injected: yes"}}),
        "action: headers.X-Trace: a value is printable ASCII (no line break), at most 2,048 characters",
    ),
    (
        "configure_workflow",
        workflow_body(action=WEBHOOK | {"headers": {"X Trace": "a"}}),
        "action: headers: 'X Trace' is not a header name (letters, digits and !#$%&'*+-.^_`|~, at most 200 "
        "characters)",
    ),
]


def test_a_field_past_its_limit_is_an_invalid_request_naming_it(api: Api, world: ManagementWorld) -> None:
    for route, body, message in FIELD_LIMITS:
        answer = refused(api, world, with_body(route, json.dumps(body)))

        assert answer == (400, error("CONFIGURATION_ERROR", f"invalid request: {message}")), message


def test_credentials_or_urls_no_request_can_carry_are_a_configuration_error(
    api: Api, world: ManagementWorld
) -> None:
    # Both were a 500: httpx cannot encode the header, or refuses the host, before anything is sent.
    unusable_url = (
        "the store's URL, made from settings.baseUrl or the credentials, is not a URL that can be requested"
    )
    for body, message in (
        (
            configure_body(credentials=CREDENTIALS["salla"] | {"accessToken": "salla-at-Q8v3Lm2Zx7Rk4Twé"}),
            "the Salla credentials or settings cannot be used: a value sent in a request header holds "
            "characters other than ASCII",
        ),
        (configure_body(settings={"baseUrl": "http://€.sandbox.test/admin/v2"}), unusable_url),
        (
            {
                "providerId": "woocommerce",
                "providerType": "ecommerce",
                "credentials": CREDENTIALS["woocommerce"] | {"storeUrl": "https://€.sandbox.test"},
            },
            unusable_url,
        ),
    ):
        answer = refused(api, world, with_body("configure_integration", json.dumps(body)))

        assert answer == (400, error("CONFIGURATION_ERROR", message))
    assert world.sent == []


def test_an_invalid_request_names_ten_problems_and_cuts_made_up_names_short(
    api: Api, world: ManagementWorld
) -> None:
    body = configure_body(**{f"unknown{i}": 1 for i in range(29)}, **{"k" * 10_000: 1})

    status, answer = refused(api, world, with_body("configure_integration", json.dumps(body)))

    assert status == 400
    message = answer["error"]["message"]
    assert message.count("Extra inputs are not permitted") == 10
    assert message.endswith("; and 20 more")
    assert len(message) < 1_000


# Generated requests: schemathesis, in process


KEY = "mk_0123456789abcdef.fuzzing-key-not-a-secret"
EXAMPLES = 25
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # As tests/e2e/test_api_conformance.py: a schema-valid request may still be one the API
            # "cannot carry out" (400), name nothing the tenant has (404) or clash with it (409).
            "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409"]},
        }
    }
)


class Gateway:
    """API Gateway in front of the handler, as WSGI: the route matched among the API's, the key
    checked as the authorizer checks it, the proxy event built, the proxy result answered."""

    def __init__(self, app: ModuleType, tenant: str) -> None:
        self.app = app
        self.tenant = tenant
        self.unrouted: list[str] = []  # requests the gateway answered itself: the function never saw them
        resources = dict.fromkeys((call.method, call.resource) for call in CALLS)
        self.routes = RouteTable(
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

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raw_path = environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", ""))
        path, _, query = raw_path.partition("?")
        headers = [
            (name[5:].replace("_", "-").title(), value)
            for name, value in environ.items()
            if name.startswith("HTTP_")
        ] + [
            (name.replace("_", "-").title(), environ[name])
            for name in ("CONTENT_TYPE", "CONTENT_LENGTH")
            if environ.get(name)
        ]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        status, answer_headers, answer = self.answer(environ["REQUEST_METHOD"], path, query, headers, body)
        start_response(f"{status} -", list(answer_headers))
        return [answer]

    def answer(
        self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, Iterable[tuple[str, str]], bytes]:
        match = self.routes.match(method, path)
        if match is None:
            # e.g. GET /api/workflows/configured/configured: the literal resource wins, and has no GET.
            self.unrouted.append(f"{method} {path}")
            return 403, [("Content-Type", "application/json")], b'{"message": "Missing Authentication Token"}'
        presented = next((value for name, value in headers if name.lower() == "authorization"), None)
        if presented != f"Bearer {KEY}":
            # The gateway response of template.yaml for the authorizer's refusal.
            refusal = {"success": False, "error": {"code": "UNAUTHORIZED", "message": "Unauthorized"}}
            return 401, [("Content-Type", "application/json")], json.dumps(refusal).encode()
        event = proxy_event(
            HttpRequest(
                method=method,
                raw_path=path,
                query_string=query,
                headers=tuple(headers),
                body=body,
                source_ip="203.0.113.7",
                port=443,
                scheme="https",
            ),
            match,
            region=REGION,
            request_id=str(uuid.uuid4()),
            now=datetime.now(UTC),
        )
        event["requestContext"]["authorizer"] = {"principalId": "0123456789abcdef", "tenantId": self.tenant}
        result = http_response(self.app.lambda_handler(event, Context()))
        return result.status, result.headers, result.body


@pytest.fixture
def gateway(app: ModuleType, api: Api) -> Gateway:
    # The tenant has an integration, so triggers and workflows have something to list.
    configured(api)
    return Gateway(app, "sample-tenant")


def _failures(gateway: Gateway, mode: GenerationMode, world: ManagementWorld) -> list[str]:
    schema: BaseSchema = schemathesis.openapi.from_wsgi(
        "/api/openapi.json", gateway, config=CONFIG, headers={"Authorization": f"Bearer {KEY}"}
    )
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        # derandomize: the same cases every run, so a failure here is a failure in CI too.
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Case) -> None:
            unrouted = len(gateway.unrouted)
            with writes(world) as made:
                response = case.call(headers={"Authorization": f"Bearer {KEY}"})
            if len(gateway.unrouted) > unrouted:
                return  # API Gateway's own answer; the function never saw the request
            assert response.status_code < 500, (case.as_curl_command(), response.text)
            if 400 <= response.status_code < 500:
                assert made == [], f"{case.as_curl_command()} wrote on {response.status_code}"
            case.validate_response(response, headers={"Authorization": f"Bearer {KEY}"})

        try:
            check()
        except Exception as failure:  # every operation is tried, then all are reported
            failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {failure}")
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_generated_requests_never_get_a_5xx_and_a_refusal_writes_nothing(
    gateway: Gateway, world: ManagementWorld, mode: GenerationMode
) -> None:
    failures = _failures(gateway, mode, world)

    assert not failures, "\n\n".join(failures)


# Generated workflows: any JSON in the fields schemathesis cannot reach past the trigger check


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(
    conditions=st.dictionaries(st.text(max_size=30), JSON_VALUES, max_size=6) | JSON_VALUES,
    action=st.fixed_dictionaries(
        {"type": st.sampled_from(["webhook", "send_email", "send_push", "update_status"])},
        optional={
            "url": JSON_VALUES | st.just("https://warehouse.example.com/hooks"),
            "secretName": st.just("mercator/sample-tenant/key") | JSON_VALUES,
            "headers": st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=3) | JSON_VALUES,
            "recipient": JSON_VALUES,
            "template": JSON_VALUES,
            "title": JSON_VALUES,
            "status": JSON_VALUES,
        },
    ),
    name=JSON_VALUES | st.text(min_size=1, max_size=250),
)
def test_any_workflow_body_is_answered_without_a_5xx_and_stored_only_when_accepted(
    app: ModuleType, world: ManagementWorld, conditions: Any, action: Any, name: Any
) -> None:
    api = Api(app, raw_call(app, api_event(CALL["openapi"]))[1])
    if not world.integrations.for_tenant("sample-tenant"):
        configured(api)
    body = {
        "name": name,
        "entityType": "Order",
        "triggerId": ORDER_CREATED,
        "action": action,
        "conditions": conditions,
    }

    with writes(world) as made:
        status, answer = api(with_body("configure_workflow", json.dumps(body, allow_nan=True)))

    assert status in (200, 400), answer
    assert made == (["PutItem"] if status == 200 else [])


# Generated integrations: any credentials and store URL for the shipped connectors

CREDENTIAL_NAMES = sorted({name for credentials in CREDENTIALS.values() for name in credentials} | {"apiKey"})
TEXTS = st.text(max_size=40) | st.sampled_from(["", " ", "é", "€", "a\nb", "\x00", "https://€.test", "%zz"])


@settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(
    provider=st.sampled_from(["salla", "zid", "shopify", "woocommerce"]),
    credentials=st.dictionaries(st.sampled_from(CREDENTIAL_NAMES), TEXTS, min_size=1, max_size=5),
    base_url=st.none() | TEXTS | st.builds("https://{}/admin/v2".format, TEXTS),
)
def test_any_integration_body_is_answered_without_a_5xx_and_stored_only_when_accepted(
    app: ModuleType, world: ManagementWorld, provider: str, credentials: dict[str, str], base_url: str | None
) -> None:
    api = Api(app, raw_call(app, api_event(CALL["openapi"]))[1])
    tenant = f"tenant-{uuid.uuid4().hex[:12]}"
    body = {"providerId": provider, "providerType": "ecommerce", "credentials": credentials}
    if base_url is not None:
        body["settings"] = {"baseUrl": base_url}
    event = with_body("configure_integration", json.dumps(body))
    event["requestContext"]["authorizer"]["tenantId"] = tenant
    secrets = world.secret_names()

    status, answer = api(event)

    assert status in (200, 400), answer
    stored = world.integrations.for_tenant(tenant)
    assert len(stored) == (status == 200)
    assert len(world.secret_names()) == len(secrets) + (status == 200)
