"""API Gateway REST on the local stack: routes from Api events, the proxy event, the proxy result, HTTP."""

from __future__ import annotations

import logging
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercator_local import LocalStack, TemplateError, WarmFunction
from mercator_local.api import (
    MAX_PAYLOAD_BYTES,
    ApiGateway,
    HttpRequest,
    MalformedProxyResponseError,
    Route,
    RouteMatch,
    RouteTable,
    http_response,
    proxy_event,
    serving_api,
)
from mercator_local.functions import ApiRoute, FunctionSpec, function_spec
from mercator_local.intrinsics import Resolver
from mercator_local.template import Template

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
Resources:
  HooksApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Sub hooks-${Stage}
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      Environment:
        Variables:
          GREETING: !Sub hello-${Stage}
      Events:
        Hook:
          Type: Api
          Properties:
            Path: /webhooks/{integrationId}
            Method: post
        Files:
          Type: Api
          Properties:
            Path: /files/{proxy+}
            Method: any
            RestApiId: !Ref HooksApi
        Readme:
          Type: Api
          Properties:
            Path: /files/readme
            Method: get
            RestApiId: !Ref HooksApi
        Nightly:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
"""

# The handler's answer depends on the query's mode, so each test asks for the behaviour it checks.
HANDLER = """\
import base64
import json
import os
import threading
import time

_lock = threading.Lock()
_running = 0
PEAK = 0


def handler(event, context):
    global _running, PEAK
    mode = (event.get("queryStringParameters") or {}).get("mode")
    if mode == "raise":
        raise RuntimeError("the echo handler broke")
    if mode == "malformed":
        return {"status": 200, "body": "no statusCode"}
    if mode == "binary":
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png"},
            "body": base64.b64encode(b"\\x89PNG\\x00\\xff").decode(),
            "isBase64Encoded": True,
        }
    if mode == "slow":
        with _lock:
            _running += 1
            PEAK = max(PEAK, _running)
        time.sleep(0.05)
        with _lock:
            _running -= 1
        return {"statusCode": 200, "body": json.dumps({"peak": PEAK})}
    return {
        "statusCode": 200,
        "headers": {"X-Single": "one", "X-Both": "from-headers"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Both": ["m1", "m2"]},
        "body": json.dumps({"event": event, "greeting": os.environ["GREETING"]}),
    }
"""


def write_app(folder: Path, template: str = TEMPLATE) -> Path:
    (folder / "echo").mkdir(parents=True, exist_ok=True)
    (folder / "echo" / "app.py").write_text(HANDLER, encoding="utf-8")
    path = folder / "template.yaml"
    path.write_text(template, encoding="utf-8")
    return path


def spec_of(template_path: Path, logical_id: str = "EchoFunction", **parameters: str) -> FunctionSpec:
    """A function's spec read the way the stack reads it, without starting one (no resources needed)."""
    template = Template.load(template_path)
    resolver = Resolver(
        stack_name="api-test",
        region="eu-west-1",
        parameters=template.parameter_values(parameters),
        conditions=template.conditions,
        mappings=template.mappings,
        physical=lambda _: None,
    )
    return function_spec(
        template, logical_id, stack_name="api-test", region="eu-west-1", resolver=resolver, queues_by_arn={}
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- reading Api events -------------------------------------------------------------------------------


def test_api_events_become_routes_with_their_api_and_stage(tmp_path: Path) -> None:
    # Given the template: Hook on the implicit API, Files and Readme on HooksApi (StageName hooks-${Stage})
    spec = spec_of(write_app(tmp_path))

    assert spec.api_routes == (
        ApiRoute(
            name="Hook",
            path="/webhooks/{integrationId}",
            method="POST",
            rest_api="ServerlessRestApi",
            stage="dev",
        ),
        ApiRoute(name="Files", path="/files/{proxy+}", method="ANY", rest_api="HooksApi", stage="hooks-dev"),
        ApiRoute(name="Readme", path="/files/readme", method="GET", rest_api="HooksApi", stage="hooks-dev"),
    )
    # The schedule next to them is still read
    assert [schedule.name for schedule in spec.schedules] == ["Nightly"]


def test_the_stage_follows_a_parameter_override(tmp_path: Path) -> None:
    spec = spec_of(write_app(tmp_path), Stage="prod")

    assert [route.stage for route in spec.api_routes] == ["prod", "hooks-prod", "hooks-prod"]


def test_the_implicit_api_stage_is_prod_without_a_stage_parameter(tmp_path: Path) -> None:
    template = TEMPLATE.replace("!Sub hooks-${Stage}", "v1").replace("!Sub hello-${Stage}", "hello")
    template = template.replace("    AllowedValues: [dev, prod]\n    Default: dev\n", "    Default: x\n")
    template = template.replace("  Stage:\n    Type: String\n", "  Other:\n    Type: String\n")

    spec = spec_of(write_app(tmp_path, template))

    assert [(route.rest_api, route.stage) for route in spec.api_routes] == [
        ("ServerlessRestApi", "Prod"),
        ("HooksApi", "v1"),
        ("HooksApi", "v1"),
    ]


INVALID_EVENTS = [
    ("Path: webhooks/{id}\nMethod: post", r"Events\.Bad\.Properties\.Path: .*starts with /"),
    ("Path: /files/{proxy+}/meta\nMethod: get", r"greedy parameter \{proxy\+\} must be the last"),
    ("Path: /a//b\nMethod: get", r"'' in '/a//b' is neither"),
    ("Path: /a/{id}/{id}\nMethod: get", r"parameter 'id' appears twice"),
    ("Path: /a/{id\nMethod: get", r"'\{id' in '/a/\{id' is neither"),
    ("Path: /a\nMethod: fetch", r"Events\.Bad\.Properties\.Method: 'fetch' is not one of any, delete"),
    ("Method: get", r"Events\.Bad\.Properties\.Path: an Api event needs its resource path"),
    (
        "Path: /a\nMethod: get\nRestApiId: !Ref EchoFunction",
        r"RestApiId: must be !Ref to an AWS::Serverless::Api of the template \(APIs: HooksApi\)",
    ),
    (
        "Path: /a\nMethod: get\nRestApiId: abc123",
        r"RestApiId: must be !Ref .* got 'abc123'",
    ),
]


@pytest.mark.parametrize(("properties", "message"), INVALID_EVENTS)
def test_an_invalid_api_event_is_named(tmp_path: Path, properties: str, message: str) -> None:
    # Given an Api event named Bad next to the template's own events
    bad = "        Bad:\n          Type: Api\n          Properties:\n" + textwrap.indent(properties, " " * 12)
    template = TEMPLATE.replace("        Nightly:\n", f"{bad}\n        Nightly:\n")

    with pytest.raises(TemplateError, match=message):
        spec_of(write_app(tmp_path, template))


def test_an_api_without_a_stage_name_is_named(tmp_path: Path) -> None:
    template = TEMPLATE.replace("    Properties:\n      StageName: !Sub hooks-${Stage}\n", "")

    with pytest.raises(TemplateError, match=r"Resources\.HooksApi\.Properties\.StageName: an API needs"):
        spec_of(write_app(tmp_path, template))


# --- matching routes ----------------------------------------------------------------------------------


def route(name: str, path: str, method: str, function: str = "Fn") -> Route:
    api = ApiRoute(name=name, path=path, method=method, rest_api="ServerlessRestApi", stage="dev")
    return Route(function=function, api=api, api_id="abc123defg")


TABLE = RouteTable(
    [
        route("Hook", "/webhooks/{integrationId}", "POST"),
        route("HookStatus", "/webhooks/{integrationId}/status", "GET"),
        route("HookHealth", "/webhooks/health", "GET"),
        route("Files", "/files/{proxy+}", "ANY"),
        route("FileMeta", "/files/{name}", "GET"),
        route("Root", "/", "GET"),
    ]
)

MATCHES = [
    ("POST", "/webhooks/acme", "Hook", {"integrationId": "acme"}),
    ("POST", "/webhooks/acme/", "Hook", {"integrationId": "acme"}),
    ("POST", "/webhooks/caf%C3%A9", "Hook", {"integrationId": "café"}),
    ("POST", "/webhooks/a%2Fb", "Hook", {"integrationId": "a/b"}),
    ("GET", "/webhooks/acme/status", "HookStatus", {"integrationId": "acme"}),
    # A literal part wins over a parameter at the same place
    ("GET", "/webhooks/health", "HookHealth", {}),
    # A parameter wins over the greedy one for a single part, for the method it has...
    ("GET", "/files/a.txt", "FileMeta", {"name": "a.txt"}),
    # ...and the greedy one takes every part, for any method
    ("DELETE", "/files/docs/2024/a.txt", "Files", {"proxy": "docs/2024/a.txt"}),
    ("PATCH", "/files/docs/a.txt", "Files", {"proxy": "docs/a.txt"}),
    ("GET", "/", "Root", {}),
]


@pytest.mark.parametrize(("method", "path", "event", "parameters"), MATCHES)
def test_a_request_finds_its_route(method: str, path: str, event: str, parameters: dict[str, str]) -> None:
    found = TABLE.match(method, path)

    assert found is not None
    assert (found.route.api.name, dict(found.path_parameters)) == (event, parameters)


NO_MATCHES = [
    ("POST", "/orders"),  # no such resource
    ("GET", "/webhooks/acme"),  # the resource has POST only
    ("POST", "/webhooks"),  # a parameter needs a part
    ("POST", "/webhooks/acme/extra/more"),  # one part too many
    ("DELETE", "/files/a.txt"),  # the most specific resource, /files/{name}, has GET only
    ("GET", "/files"),  # the greedy parameter needs at least one part
    ("POST", "/"),
]


@pytest.mark.parametrize(("method", "path"), NO_MATCHES)
def test_a_request_no_route_serves_finds_none(method: str, path: str) -> None:
    assert TABLE.match(method, path) is None


def test_two_routes_for_one_method_and_path_are_an_error() -> None:
    with pytest.raises(TemplateError, match=r"POST /hooks/\{id\} is served by both A \(event One\) and B"):
        RouteTable([route("One", "/hooks/{id}", "POST", "A"), route("Two", "/hooks/{id}", "POST", "B")])


def test_one_resource_with_two_parameter_names_is_an_error() -> None:
    with pytest.raises(TemplateError, match=r"are one resource with two parameter names"):
        RouteTable([route("One", "/hooks/{id}", "POST"), route("Two", "/hooks/{key}", "GET")])


def test_one_api_can_be_served_alone(tmp_path: Path) -> None:
    specs = {"EchoFunction": spec_of(write_app(tmp_path))}

    alone = RouteTable.of(specs, stack_name="api-test", api="HooksApi")

    assert [route.api.name for route in alone.routes] == ["Files", "Readme"]
    assert alone.match("POST", "/webhooks/acme") is None
    with pytest.raises(KeyError, match=r"'Hooks' \(APIs with routes: ServerlessRestApi, HooksApi\)"):
        RouteTable.of(specs, stack_name="api-test", api="Hooks")


# --- the proxy event ----------------------------------------------------------------------------------

NOW = datetime(2024, 3, 5, 7, 8, 9, 123_000, tzinfo=UTC)


def request(**changes: Any) -> HttpRequest:
    fields: dict[str, Any] = {
        "method": "POST",
        "raw_path": "/webhooks/acme%20store",
        "query_string": "tag=a&tag=b&empty=&q=caf%C3%A9+au+lait",
        "headers": (
            ("Host", "127.0.0.1:9000"),
            ("X-Salla-Signature", "sig"),
            ("Accept", "text/html"),
            ("Accept", "application/json"),
            ("User-Agent", "Salla-Webhooks/1.0"),
            ("Content-Type", "application/json"),
        ),
        "body": b'{"event": "order.created"}',
        "source_ip": "10.1.2.3",
        "port": 9000,
    }
    return HttpRequest(**{**fields, **changes})


HOOK = RouteMatch(
    route=route("Hook", "/webhooks/{integrationId}", "POST"), path_parameters={"integrationId": "acme store"}
)


def test_the_proxy_event_has_what_api_gateway_sends() -> None:
    event = proxy_event(request(), HOOK, region="eu-west-1", request_id="req-1", now=NOW)

    assert event["resource"] == "/webhooks/{integrationId}"
    assert event["path"] == "/webhooks/acme store"
    assert event["httpMethod"] == "POST"
    # Names as sent; the last value of a repeated header; API Gateway's forwarding headers added
    assert event["headers"] == {
        "Host": "127.0.0.1:9000",
        "X-Salla-Signature": "sig",
        "Accept": "application/json",
        "User-Agent": "Salla-Webhooks/1.0",
        "Content-Type": "application/json",
        "X-Forwarded-For": "10.1.2.3",
        "X-Forwarded-Port": "9000",
        "X-Forwarded-Proto": "http",
    }
    assert event["multiValueHeaders"]["Accept"] == ["text/html", "application/json"]
    assert event["multiValueHeaders"]["X-Salla-Signature"] == ["sig"]
    assert event["queryStringParameters"] == {"tag": "b", "empty": "", "q": "café au lait"}
    assert event["multiValueQueryStringParameters"] == {
        "tag": ["a", "b"],
        "empty": [""],
        "q": ["café au lait"],
    }
    assert event["pathParameters"] == {"integrationId": "acme store"}
    assert event["stageVariables"] is None
    assert event["body"] == '{"event": "order.created"}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == "abc123defg"
    assert context["domainName"] == "abc123defg.execute-api.eu-west-1.amazonaws.com"
    assert context["resourcePath"] == "/webhooks/{integrationId}"
    assert context["httpMethod"] == "POST"
    assert context["path"] == "/dev/webhooks/acme store"
    assert context["stage"] == "dev"
    assert context["requestId"] == "req-1"
    assert context["protocol"] == "HTTP/1.1"
    # 2024-03-05T07:08:09.123Z: 1709622489 s since the epoch
    assert context["requestTimeEpoch"] == 1_709_622_489_123
    assert context["requestTime"] == "05/Mar/2024:07:08:09 +0000"
    assert context["identity"]["sourceIp"] == "10.1.2.3"
    assert context["identity"]["userAgent"] == "Salla-Webhooks/1.0"
    assert context["identity"]["user"] is None
    assert len(context["resourceId"]) == 6


def test_an_event_without_query_parameters_or_body_has_nulls() -> None:
    bare = request(method="GET", raw_path="/", query_string="", headers=(), body=b"")
    match = RouteMatch(route=route("Root", "/", "GET"), path_parameters={})

    event = proxy_event(bare, match, region="eu-west-1", request_id="req-2", now=NOW)

    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["identity"]["userAgent"] is None
    # A forwarding chain the client sent is extended, not replaced
    chained = request(headers=(("x-forwarded-for", "1.1.1.1"),))
    headers = proxy_event(chained, HOOK, region="eu-west-1", request_id="r", now=NOW)["headers"]
    assert headers["X-Forwarded-For"] == "1.1.1.1, 10.1.2.3"
    assert "x-forwarded-for" not in headers


BODIES = [
    ("application/json; charset=utf-8", b'{"a": 1}', '{"a": 1}', False),
    ("application/x-www-form-urlencoded", b"a=1&b=2", "a=1&b=2", False),
    ("text/plain", "héllo".encode(), "héllo", False),
    ("application/xml", b"<a/>", "<a/>", False),
    ("application/vnd.api+json", b"{}", "{}", False),
    ("application/octet-stream", b"\x00\x01\xfe", "AAH+", True),
    ("image/png", b"\x89PNG", "iVBORw==", True),
    # Text types whose bytes are not UTF-8 still reach the handler unchanged
    ("text/plain; charset=latin-1", b"caf\xe9", "Y2Fm6Q==", True),
]


@pytest.mark.parametrize(("content_type", "body", "expected", "encoded"), BODIES)
def test_textual_bodies_arrive_as_text_and_others_in_base64(
    content_type: str, body: bytes, expected: str, encoded: bool
) -> None:
    sent = request(headers=(("content-type", content_type),), body=body)

    event = proxy_event(sent, HOOK, region="eu-west-1", request_id="r", now=NOW)

    assert (event["body"], event["isBase64Encoded"]) == (expected, encoded)


# --- the proxy result ---------------------------------------------------------------------------------


def test_a_proxy_result_becomes_the_response_with_headers_merged() -> None:
    response = http_response(
        {
            "statusCode": "202",
            "headers": {"X-Single": "one", "set-cookie": "dropped", "X-Count": 3, "Content-Length": "99"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"ok": true}',
            "isBase64Encoded": False,
        }
    )

    assert response.status == 202
    # multiValueHeaders win for a name in both; API Gateway's own length header is not the handler's
    assert response.headers == (
        ("X-Single", "one"),
        ("X-Count", "3"),
        ("x-amzn-Remapped-Content-Length", "99"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Content-Type", "application/json"),
    )
    assert response.body == b'{"ok": true}'


def test_a_base64_result_body_is_decoded() -> None:
    response = http_response(
        {"statusCode": 200, "headers": {"content-type": "image/png"}, "body": "AAH+", "isBase64Encoded": True}
    )

    assert response.body == b"\x00\x01\xfe"
    assert response.headers == (("content-type", "image/png"),)


def test_a_result_without_body_has_an_empty_one() -> None:
    assert http_response({"statusCode": 204}).body == b""


MALFORMED = [
    (None, "the result is NoneType, not an object"),
    ("ok", "the result is str, not an object"),
    ({"body": "x"}, "statusCode None is not an HTTP status"),
    ({"statusCode": 99}, "statusCode 99 is not an HTTP status"),
    ({"statusCode": True}, "statusCode True is not an HTTP status"),
    ({"statusCode": 200, "status": 200}, "unknown keys status"),
    ({"statusCode": 200, "body": {"a": 1}}, "body is dict, not a string"),
    ({"statusCode": 200, "headers": ["a"]}, "headers is list, not an object"),
    ({"statusCode": 200, "headers": {"a": {"b": 1}}}, "headers.a is dict, not a header value"),
    ({"statusCode": 200, "multiValueHeaders": {"a": "b"}}, "multiValueHeaders.a is not a list"),
    ({"statusCode": 200, "body": "%%%", "isBase64Encoded": True}, "body is not base64"),
    ({"statusCode": 200, "isBase64Encoded": "yes"}, "isBase64Encoded 'yes' is not a boolean"),
]


@pytest.mark.parametrize(("result", "problem"), MALFORMED)
def test_a_malformed_result_is_rejected(result: Any, problem: str) -> None:
    with pytest.raises(MalformedProxyResponseError, match=problem):
        http_response(result)


# --- the app in process -------------------------------------------------------------------------------


@dataclass
class InProcess:
    warm: WarmFunction
    client: httpx.AsyncClient


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[InProcess]:
    spec = spec_of(write_app(tmp_path))
    warm = WarmFunction(spec, spec.environment, time.monotonic)
    app = ApiGateway({"EchoFunction": warm}, stack_name="api-test", region="eu-west-1", max_payload_bytes=8)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield InProcess(warm=warm, client=client)
    warm.close()


@pytest.mark.anyio
async def test_unknown_routes_and_methods_get_missing_authentication_token(gateway: InProcess) -> None:
    for method, path in (("POST", "/orders"), ("GET", "/webhooks/acme"), ("PUT", "/files/readme")):
        response = await gateway.client.request(method, path)

        assert response.status_code == 403, (method, path)
        assert response.json() == {"message": "Missing Authentication Token"}
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert gateway.warm.invocations == 0


@pytest.mark.anyio
async def test_a_raising_handler_gives_502_and_is_logged(
    gateway: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="mercator_local.api"):
        response = await gateway.client.post("/webhooks/acme?mode=raise")

    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}
    assert gateway.warm.invocations == 1
    [record] = caplog.records
    assert record.getMessage() == "EchoFunction raised while handling POST /webhooks/acme"
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "the echo handler broke"


@pytest.mark.anyio
async def test_a_malformed_result_gives_502_and_is_logged(
    gateway: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="mercator_local.api"):
        response = await gateway.client.post("/webhooks/acme?mode=malformed")

    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}
    assert [record.getMessage() for record in caplog.records] == [
        "EchoFunction returned a malformed proxy response: unknown keys status"
    ]


@pytest.mark.anyio
async def test_a_body_over_the_limit_gets_413_without_invoking(gateway: InProcess) -> None:
    async def streamed() -> AsyncIterator[bytes]:
        yield b"12345"
        yield b"6789"  # the ninth byte passes the limit of 8; no Content-Length announced it

    declared = await gateway.client.post("/files/a", content=b"123456789")
    chunked = await gateway.client.post("/files/a", content=streamed())
    assert gateway.warm.invocations == 0

    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.json() == {"message": "Request Too Long"}
    # Exactly at the limit the function is invoked
    at_limit = await gateway.client.post("/files/a", content=b"12345678")
    assert at_limit.status_code == 200
    assert gateway.warm.invocations == 1


@pytest.mark.anyio
async def test_the_default_limit_is_api_gateways_ten_megabytes(tmp_path: Path) -> None:
    spec = spec_of(write_app(tmp_path))
    warm = WarmFunction(spec, spec.environment, time.monotonic)
    app = ApiGateway({"EchoFunction": warm}, stack_name="api-test", region="eu-west-1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/files/big", content=b"x" * (10 * 1024 * 1024 + 1))

    assert MAX_PAYLOAD_BYTES == 10_485_760
    assert response.status_code == 413
    assert warm.invocations == 0


def test_the_server_is_gone_after_its_block(tmp_path: Path) -> None:
    spec = spec_of(write_app(tmp_path))
    warm = WarmFunction(spec, spec.environment, time.monotonic)
    app = ApiGateway({"EchoFunction": warm}, stack_name="api-test", region="eu-west-1")

    with serving_api(app) as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.post(f"{url}/orders").status_code == 403
    warm.close()

    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{url}/orders")


# --- over HTTP on the local stack ---------------------------------------------------------------------


@dataclass
class Served:
    stack: LocalStack
    url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    template = write_app(tmp_path_factory.mktemp("api-app"))
    with LocalStack(
        template, stack_name="api-test", region="eu-west-1", parameters={"Stage": "prod"}
    ) as stack:
        yield Served(stack=stack, url=stack.serve_api())


def test_a_webhook_reaches_its_function_over_http(served: Served) -> None:
    response = httpx.post(
        f"{served.url}/webhooks/acme?tag=a&tag=b",
        content=b'{"event": "order.created"}',
        headers=[
            ("Content-Type", "application/json"),
            ("X-Salla-Signature", "abc"),
            ("X-Tag", "one"),
            ("X-Tag", "two"),
            ("User-Agent", "Salla-Webhooks/1.0"),
        ],
    )

    assert response.status_code == 200
    answer = response.json()
    event = answer["event"]
    # The function ran with its template environment (Stage overridden to prod)
    assert answer["greeting"] == "hello-prod"
    assert event["resource"] == "/webhooks/{integrationId}"
    assert event["pathParameters"] == {"integrationId": "acme"}
    # Header names as the client spelled them, repeated headers in multiValueHeaders
    assert event["headers"]["X-Salla-Signature"] == "abc"
    assert event["headers"]["X-Tag"] == "two"
    assert event["multiValueHeaders"]["X-Tag"] == ["one", "two"]
    assert event["headers"]["X-Forwarded-Port"] == served.url.rsplit(":", 1)[1]
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert event["body"] == '{"event": "order.created"}'
    # The implicit API's stage is the Stage parameter's value
    assert event["requestContext"]["stage"] == "prod"
    assert event["requestContext"]["path"] == "/prod/webhooks/acme"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["identity"]["userAgent"] == "Salla-Webhooks/1.0"
    # The result's headers, merged, and the request id API Gateway adds
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers.get_list("x-both") == ["m1", "m2"]
    assert response.headers["x-single"] == "one"
    assert response.headers["x-amzn-requestid"] == event["requestContext"]["requestId"]


def test_binary_bodies_travel_base64_both_ways(served: Served) -> None:
    sent = httpx.put(
        f"{served.url}/files/docs/a.bin",
        content=b"\x00\xff",
        headers={"Content-Type": "application/octet-stream"},
    )
    image = httpx.get(f"{served.url}/files/docs/a.png", params={"mode": "binary"})

    event = sent.json()["event"]
    assert (event["body"], event["isBase64Encoded"]) == ("AP8=", True)
    assert event["pathParameters"] == {"proxy": "docs/a.bin"}
    assert event["requestContext"]["stage"] == "hooks-prod"
    assert event["requestContext"]["path"] == "/hooks-prod/files/docs/a.bin"
    assert (image.status_code, image.content) == (201, b"\x89PNG\x00\xff")
    assert image.headers["content-type"] == "image/png"


def test_gateway_answers_over_http(served: Served) -> None:
    unknown = httpx.post(f"{served.url}/orders")
    broken = httpx.post(f"{served.url}/webhooks/acme", params={"mode": "raise"})

    assert (unknown.status_code, unknown.json()) == (403, {"message": "Missing Authentication Token"})
    assert (broken.status_code, broken.json()) == (502, {"message": "Internal server error"})


def test_a_function_handles_one_request_at_a_time(served: Served) -> None:
    # Each slow request holds the handler for 50 ms; were two let in at once, the handler would count both.
    def call(_: int) -> int:
        response = httpx.get(f"{served.url}/files/slow", params={"mode": "slow"}, timeout=10)
        peak: int = response.json()["peak"]
        return peak

    with ThreadPoolExecutor(max_workers=4) as pool:
        peaks = list(pool.map(call, range(4)))

    assert peaks == [1, 1, 1, 1]
