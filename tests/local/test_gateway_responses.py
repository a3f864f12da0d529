"""Gateway responses on the local API Gateway: the API's own answers shaped as its template declares."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from mercator_local import TemplateError, WarmFunction
from mercator_local.api import ApiGateway
from mercator_local.functions import FunctionSpec, function_spec
from mercator_local.gateway_responses import (
    GatewayRefusal,
    GatewayRequest,
    GatewayResponse,
    GatewayResponses,
    HeaderValue,
    gateway_answer,
)
from mercator_local.intrinsics import Resolver
from mercator_local.template import Template

STACK = "responses-test"
REGION = "eu-west-1"

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Realm:
    Type: String
    Default: mercator
Resources:
  TenantApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Auth:
        DefaultAuthorizer: KeyAuthorizer
        Authorizers:
          KeyAuthorizer:
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            FunctionPayloadType: REQUEST
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 0
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: 401
          ResponseParameters:
            Headers:
              WWW-Authenticate: !Sub "'Bearer realm=${Realm}'"
              X-Trace: method.request.header.x-trace
              X-Item: method.request.path.id
          ResponseTemplates:
            application/json: >-
              {"error": {"code": "UNAUTHORIZED", "message": $context.error.messageString},
              "raw": "$context.error.message", "request": "${context.requestId}",
              "type": "$context.error.responseType"}
        ACCESS_DENIED:
          StatusCode: 404
          ResponseTemplates:
            application/json: '{"error": {"code": "FORBIDDEN", "message": $context.error.messageString}}'
        DEFAULT_4XX:
          ResponseParameters:
            Headers:
              Access-Control-Allow-Origin: "'*'"
        DEFAULT_5XX:
          StatusCode: 503
          ResponseTemplates:
            text/plain: 'unavailable on $context.stage'
  PlainApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v2
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: authorizer/
      Handler: app.handler
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      Events:
        GetItem:
          Type: Api
          Properties:
            RestApiId: !Ref TenantApi
            Path: /items/{id}
            Method: get
        PostItem:
          Type: Api
          Properties:
            RestApiId: !Ref TenantApi
            Path: /items/{id}
            Method: post
        PlainItem:
          Type: Api
          Properties:
            RestApiId: !Ref PlainApi
            Path: /plain/{id}
            Method: get
"""

# The token's last word picks the authorizer's answer, so each test asks for the one it checks.
AUTHORIZER = """\
def handler(event, context):
    word = {k.lower(): v for k, v in event["headers"].items()}["authorization"].split()[-1]
    if word == "unauthorized":
        raise Exception("Unauthorized")
    if word == "broken":
        raise RuntimeError("the authorizer broke")
    effect = "Deny" if word == "deny" else "Allow"
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}
    return {"principalId": word, "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}
"""

ECHO = """\
def handler(event, context):
    if event["pathParameters"]["id"] == "raise":
        raise RuntimeError("the echo handler broke")
    return {"statusCode": 200, "body": event["pathParameters"]["id"]}
"""


def write_app(folder: Path, template: str = TEMPLATE) -> Path:
    for code_dir, source in (("authorizer", AUTHORIZER), ("echo", ECHO)):
        (folder / code_dir).mkdir(parents=True, exist_ok=True)
        (folder / code_dir / "app.py").write_text(source, encoding="utf-8")
    path = folder / "template.yaml"
    path.write_text(template, encoding="utf-8")
    return path


def spec_of(template_path: Path, logical_id: str) -> FunctionSpec:
    template = Template.load(template_path)
    resolver = Resolver(
        stack_name=STACK,
        region=REGION,
        parameters=template.parameter_values({}),
        conditions=template.conditions,
        mappings=template.mappings,
        physical=lambda _: None,
    )
    return function_spec(
        template, logical_id, stack_name=STACK, region=REGION, resolver=resolver, queues_by_arn={}
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def functions(tmp_path: Path) -> Iterator[dict[str, WarmFunction]]:
    template = write_app(tmp_path)
    warm = {
        logical_id: WarmFunction(spec_of(template, logical_id), {}, time.monotonic)
        for logical_id in ("AuthorizerFunction", "EchoFunction")
    }
    yield warm
    for function in warm.values():
        function.close()


async def _client(functions: dict[str, WarmFunction], api: str | None) -> AsyncIterator[httpx.AsyncClient]:
    app = ApiGateway(functions, stack_name=STACK, region=REGION, api=api, max_payload_bytes=16)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def tenant_api(functions: dict[str, WarmFunction]) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(functions, "TenantApi"):
        yield client


@pytest.fixture
async def every_api(functions: dict[str, WarmFunction]) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(functions, None):
        yield client


def _bearer(word: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {word}"}


# --- served -------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_request_without_a_key_gets_the_declared_401(tenant_api: httpx.AsyncClient) -> None:
    response = await tenant_api.get("/items/42", headers={"X-Trace": "t-1"})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"] == "Bearer realm=mercator"
    # Mapped from the request: its header and its path parameter
    assert response.headers["x-trace"] == "t-1"
    assert response.headers["x-item"] == "42"
    request_id = response.headers["x-amzn-requestid"]
    assert response.json() == {
        "error": {"code": "UNAUTHORIZED", "message": "Unauthorized"},
        "raw": "Unauthorized",
        "request": request_id,
        "type": "UNAUTHORIZED",
    }
    # A type declared on its own does not take DEFAULT_4XX's headers
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.anyio
async def test_a_header_mapped_from_a_request_value_that_is_missing_is_left_out(
    tenant_api: httpx.AsyncClient,
) -> None:
    response = await tenant_api.get("/items/42", headers=_bearer("unauthorized"))

    assert response.status_code == 401
    assert "x-trace" not in response.headers
    assert response.json()["error"] == {"code": "UNAUTHORIZED", "message": "Unauthorized"}


@pytest.mark.anyio
async def test_a_denied_request_gets_the_declared_status_and_body(tenant_api: httpx.AsyncClient) -> None:
    response = await tenant_api.get("/items/42", headers=_bearer("deny"))

    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "AccessDeniedException"
    assert response.json() == {
        "error": {"code": "FORBIDDEN", "message": "User is not authorized to access this resource"}
    }


@pytest.mark.anyio
async def test_an_undeclared_4xx_keeps_its_status_and_body_and_takes_default_4xx_headers(
    tenant_api: httpx.AsyncClient,
) -> None:
    missing = await tenant_api.get("/nothing/here")
    too_long = await tenant_api.post("/items/42", headers=_bearer("allow"), content=b"x" * 17)

    assert missing.status_code == 403
    assert missing.json() == {"message": "Missing Authentication Token"}
    assert missing.headers["access-control-allow-origin"] == "*"
    assert too_long.status_code == 413
    assert too_long.json() == {"message": "Request Too Long"}
    assert too_long.headers["access-control-allow-origin"] == "*"


@pytest.mark.anyio
async def test_default_5xx_sets_status_and_template_of_every_undeclared_5xx(
    tenant_api: httpx.AsyncClient,
) -> None:
    failing_handler = await tenant_api.get("/items/raise", headers=_bearer("allow"))
    failing_authorizer = await tenant_api.get("/items/42", headers=_bearer("broken"))

    for response in (failing_handler, failing_authorizer):
        assert response.status_code == 503
        # The only template is text/plain, so that is what is sent
        assert response.headers["content-type"] == "text/plain"
        assert response.text == "unavailable on v1"
    assert failing_authorizer.headers["x-amzn-errortype"] == "AuthorizerConfigurationException"


@pytest.mark.anyio
async def test_a_passed_request_is_untouched_by_gateway_responses(tenant_api: httpx.AsyncClient) -> None:
    response = await tenant_api.get("/items/42", headers=_bearer("allow"))

    assert (response.status_code, response.text) == (200, "42")
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.anyio
async def test_an_api_without_gateway_responses_answers_as_api_gateway_does(
    every_api: httpx.AsyncClient,
) -> None:
    failing = await every_api.get("/plain/raise")
    # Serving two APIs, a request no route serves belongs to neither: API Gateway's own answer
    missing = await every_api.get("/nothing/here")

    assert (failing.status_code, failing.json()) == (502, {"message": "Internal server error"})
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})
    assert "access-control-allow-origin" not in missing.headers


# --- the answer itself ----------------------------------------------------------------------------------

REQUEST = GatewayRequest(
    request_id="req-1",
    api_id="abc123",
    stage="dev",
    method="GET",
    headers=(("User-Agent", "tests/1"), ("X-Tenant", "a"), ("x-tenant", "b")),
    query=(("page", "1"), ("page", "2")),
)


def test_message_string_is_a_json_string_literal_even_with_quotes_inside() -> None:
    template = '{"message": $context.error.messageString, "agent": "$context.identity.userAgent"}'
    responses = GatewayResponses(
        by_type=(("UNAUTHORIZED", GatewayResponse(templates=(("application/json", template),))),)
    )
    refusal = GatewayRefusal(401, 'the key "k1" is revoked', "UnauthorizedException", "UNAUTHORIZED")

    answer = gateway_answer(refusal, responses, REQUEST)

    assert answer.status == 401
    assert json.loads(answer.body) == {"message": 'the key "k1" is revoked', "agent": "tests/1"}


def test_a_null_message_is_json_null_in_the_template_and_empty_as_text() -> None:
    template = '{"message": $context.error.messageString, "text": "$context.error.message"}'
    responses = GatewayResponses(
        by_type=(("DEFAULT_5XX", GatewayResponse(templates=(("application/json", template),))),)
    )
    refusal = GatewayRefusal(500, None, "AuthorizerConfigurationException", "AUTHORIZER_CONFIGURATION_ERROR")

    answer = gateway_answer(refusal, responses, REQUEST)

    assert (answer.status, json.loads(answer.body)) == (500, {"message": None, "text": ""})


def test_request_values_take_the_last_one_sent_and_header_names_ignore_case() -> None:
    headers = (
        ("X-From-Header", HeaderValue("header", "X-TENANT")),
        ("X-From-Query", HeaderValue("querystring", "page")),
        ("Content-Type", HeaderValue("static", "application/problem+json")),
    )
    responses = GatewayResponses(by_type=(("DEFAULT_4XX", GatewayResponse(status=400, headers=headers)),))

    answer = gateway_answer(
        GatewayRefusal(403, "no", "AccessDeniedException", "ACCESS_DENIED"), responses, REQUEST
    )

    assert answer.status == 400  # DEFAULT_4XX's status code replaces that of the types it stands for
    found = dict(answer.headers)
    assert found["X-From-Header"] == "b"
    assert found["X-From-Query"] == "2"
    # A declared header replaces the gateway's own of the same name
    assert [name for name, _ in answer.headers].count("Content-Type") == 1
    assert found["Content-Type"] == "application/problem+json"
    assert json.loads(answer.body) == {"message": "no"}


def test_without_declarations_the_answer_is_api_gateways_own() -> None:
    answer = gateway_answer(
        GatewayRefusal(401, "Unauthorized", "UnauthorizedException", "UNAUTHORIZED"),
        GatewayResponses(),
        REQUEST,
    )

    assert answer.status == 401
    assert answer.headers == (
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", "req-1"),
        ("x-amzn-ErrorType", "UnauthorizedException"),
    )
    assert answer.body == b'{"message": "Unauthorized"}'


# --- reading the template -------------------------------------------------------------------------------


def test_globals_api_gateway_responses_reach_the_implicit_api_and_merge_into_explicit_ones(
    tmp_path: Path,
) -> None:
    template = TEMPLATE.replace(
        "Resources:\n",
        "Globals:\n  Api:\n    GatewayResponses:\n      THROTTLED:\n        StatusCode: 503\nResources:\n",
        1,
    ).replace(
        "            RestApiId: !Ref PlainApi\n            Path: /plain/{id}\n",
        "            Path: /plain/{id}\n",
    )

    routes = {
        route.name: route for route in spec_of(write_app(tmp_path, template), "EchoFunction").api_routes
    }

    throttled = GatewayResponse(status=503)
    assert routes["PlainItem"].rest_api == "ServerlessRestApi"
    assert routes["PlainItem"].gateway_responses == GatewayResponses(by_type=(("THROTTLED", throttled),))
    tenant = routes["GetItem"].gateway_responses
    assert tenant.get("THROTTLED") == throttled
    assert tenant.get("ACCESS_DENIED") == GatewayResponse(
        status=404,
        templates=(
            ("application/json", '{"error": {"code": "FORBIDDEN", "message": $context.error.messageString}}'),
        ),
    )


def _with_declaration(declaration: str) -> str:
    """The template with one more gateway response on TenantApi (YAML under GatewayResponses)."""
    marker = "        DEFAULT_4XX:\n"
    return TEMPLATE.replace(marker, textwrap.indent(textwrap.dedent(declaration), " " * 8) + marker, 1)


INVALID = [
    (
        "NOT_A_TYPE:\n  StatusCode: 400\n",
        r"NOT_A_TYPE: 'NOT_A_TYPE' is not a gateway response type \(ACCESS_DENIED, ",
    ),
    ("THROTTLED:\n  StatusCode: 700\n", r"THROTTLED\.StatusCode: must be an HTTP status code .* got 700"),
    ("THROTTLED:\n  Body: x\n", r"THROTTLED: the local stack does not know Body"),
    (
        "THROTTLED:\n  ResponseParameters:\n    Paths: {p: \"'x'\"}\n",
        r"THROTTLED\.ResponseParameters: Paths are not emulated",
    ),
    (
        "THROTTLED:\n  ResponseParameters:\n    Headers: {Retry-After: '30'}\n",
        r"THROTTLED\.ResponseParameters\.Headers\.Retry-After: must be a static value .* got '30'",
    ),
    (
        'THROTTLED:\n  ResponseTemplates:\n    application/json: \'{"t": "$context.authorizer.tenantId"}\'\n',
        r"THROTTLED\.ResponseTemplates\.application/json: \$context\.authorizer\.tenantId is not substituted",
    ),
]


@pytest.mark.parametrize(("declaration", "message"), INVALID)
def test_a_gateway_response_the_local_stack_cannot_give_is_a_template_error(
    tmp_path: Path, declaration: str, message: str
) -> None:
    with pytest.raises(
        TemplateError, match=r"Resources\.TenantApi\.Properties\.GatewayResponses\." + message
    ):
        spec_of(write_app(tmp_path, _with_declaration(declaration)), "EchoFunction")
