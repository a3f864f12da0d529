"""Lambda authorizers on the local stack: read from SAM's Auth, asked as API Gateway asks, cached."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercator_local import LocalStack, TemplateError, WarmFunction
from mercator_local.api import ApiGateway, api_id
from mercator_local.api_auth import LambdaAuthorizer
from mercator_local.authorizers import Grant, MalformedAuthorizerResponseError, Statement, grant_of
from mercator_local.functions import FunctionSpec, function_spec
from mercator_local.intrinsics import Resolver
from mercator_local.template import Template

STACK = "auth-test"
REGION = "eu-west-1"

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  CacheSeconds:
    Type: Number
    Default: 60
Globals:
  Function:
    Environment:
      Variables:
        LOG_PATH: {log_path}
  Api:
    Auth:
      DefaultAuthorizer: TokenAuthorizer
      Authorizers:
        TokenAuthorizer:
          FunctionArn: !GetAtt AuthorizerFunction.Arn
          Identity:
            ValidationExpression: '^Bearer [a-z0-9-]+$'
            ReauthorizeEvery: 0
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
              ReauthorizeEvery: !Ref CacheSeconds
          UncachedAuthorizer:
            FunctionArn: !GetAtt [AuthorizerFunction, Arn]
            FunctionPayloadType: REQUEST
            Identity:
              Headers: [Authorization]
              QueryStrings: [tenant]
              ReauthorizeEvery: 0
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
            Path: /items/{{id}}
            Method: get
        CreateItem:
          Type: Api
          Properties:
            RestApiId: !Ref TenantApi
            Path: /items
            Method: post
        Health:
          Type: Api
          Properties:
            RestApiId: !Ref TenantApi
            Path: /health
            Method: get
            Auth:
              Authorizer: NONE
        Report:
          Type: Api
          Properties:
            RestApiId: !Ref TenantApi
            Path: /reports
            Method: get
            Auth:
              Authorizer: UncachedAuthorizer
        Legacy:
          Type: Api
          Properties:
            Path: /legacy
            Method: get
"""

# The authorizer's answer follows the token's last word, so each test asks for the answer it checks.
AUTHORIZER = """\
import json
import os


def _policy(effect, resource, principal="user-1", context=None):
    answer = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
    if context is not None:
        answer["context"] = context
    return answer


def handler(event, context):
    with open(os.environ["LOG_PATH"], "a", encoding="utf-8") as log:
        log.write(json.dumps(event) + "\\n")
    if event["type"] == "TOKEN":
        token = event["authorizationToken"]
    else:
        token = {name.lower(): value for name, value in event["headers"].items()}["authorization"]
    word = token.split()[-1]
    arn = event["methodArn"]
    stage = "/".join(arn.split("/")[:2])
    if word == "unauthorized":
        raise Exception("Unauthorized")
    if word == "broken":
        raise RuntimeError("the authorizer broke")
    if word == "nested":
        return _policy("Allow", stage + "/*/*", context={"tenant": {"id": "acme"}})
    if word == "no-policy":
        return {"principalId": "user-1"}
    if word == "deny":
        return _policy("Deny", [stage + "/*/*"])
    if word == "get-only":
        return _policy("Allow", stage + "/GET/items/*")
    context = {"tenantId": word, "count": 3, "admin": True}
    return _policy("Allow", stage + "/*/*", principal="key-" + word, context=context)
"""

ECHO = """\
import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"authorizer": event["requestContext"].get("authorizer")})}
"""


@dataclass
class App:
    template: Path
    log: Path

    def authorizer_events(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]


def write_app(folder: Path, template: str = TEMPLATE) -> App:
    log = folder / "authorizer.log"
    for code_dir, source in (("authorizer", AUTHORIZER), ("echo", ECHO)):
        (folder / code_dir).mkdir(parents=True, exist_ok=True)
        (folder / code_dir / "app.py").write_text(source, encoding="utf-8")
    path = folder / "template.yaml"
    path.write_text(template.format(log_path=json.dumps(str(log))), encoding="utf-8")
    return App(template=path, log=log)


def spec_of(template_path: Path, logical_id: str = "EchoFunction") -> FunctionSpec:
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


TENANT_API = api_id(STACK, "TenantApi")
IMPLICIT_API = api_id(STACK, "ServerlessRestApi")


def arn(path: str, method: str = "GET", api: str = TENANT_API, stage: str = "v1") -> str:
    return f"arn:aws:execute-api:{REGION}:123456789012:{api}/{stage}/{method}/{path}"


# --- reading Auth from the template -------------------------------------------------------------------


def test_each_route_gets_the_authorizer_sam_would_give_it(tmp_path: Path) -> None:
    routes = {route.name: route.authorizer for route in spec_of(write_app(tmp_path).template).api_routes}

    key = LambdaAuthorizer(
        name="KeyAuthorizer",
        function="AuthorizerFunction",
        payload_type="REQUEST",
        headers=("Authorization",),
        reauthorize_seconds=60,  # the CacheSeconds parameter's default
    )
    assert routes["GetItem"] == routes["CreateItem"] == key
    # Auth: {Authorizer: NONE} opens the route despite the API's default
    assert routes["Health"] is None
    # A named authorizer overrides the default
    assert routes["Report"] == LambdaAuthorizer(
        name="UncachedAuthorizer",
        function="AuthorizerFunction",
        payload_type="REQUEST",
        headers=("Authorization",),
        query_strings=("tenant",),
        reauthorize_seconds=0,
    )
    # The implicit API takes Globals.Api's Auth: a TOKEN authorizer (SAM's default payload type)
    # reading the Authorization header
    assert routes["Legacy"] == LambdaAuthorizer(
        name="TokenAuthorizer",
        function="AuthorizerFunction",
        payload_type="TOKEN",
        headers=("Authorization",),
        reauthorize_seconds=0,
        validation_expression="^Bearer [a-z0-9-]+$",
    )


def test_a_template_without_auth_leaves_every_route_open(tmp_path: Path) -> None:
    # Given no Globals.Api and no DefaultAuthorizer on TenantApi
    globals_api = TEMPLATE[TEMPLATE.index("  Api:\n    Auth:") : TEMPLATE.index("Resources:")]
    template = TEMPLATE.replace(globals_api, "").replace("        DefaultAuthorizer: KeyAuthorizer\n", "")

    routes = spec_of(write_app(tmp_path, template).template).api_routes

    # Only the route naming its authorizer is guarded
    assert [route.name for route in routes if route.authorizer is not None] == ["Report"]


def _auth_block(authorizer: str) -> str:
    """The template with TenantApi's KeyAuthorizer declared as ``authorizer`` (YAML under its name)."""
    start = TEMPLATE.index("          KeyAuthorizer:\n")
    end = TEMPLATE.index("          UncachedAuthorizer:\n")
    body = textwrap.indent(textwrap.dedent(authorizer), " " * 12)
    return TEMPLATE[:start] + "          KeyAuthorizer:\n" + body + TEMPLATE[end:]


INVALID = [
    (
        "FunctionArn: arn:aws:lambda:eu-west-1:123456789012:function:elsewhere\n",
        r"KeyAuthorizer\.FunctionArn: must be !GetAtt <function>\.Arn of a function of this template",
    ),
    ("FunctionArn: !GetAtt TenantApi.Arn\n", r"\(functions: AuthorizerFunction, EchoFunction\)"),
    ("UserPoolArn: arn:aws:cognito-idp:eu-west-1:123456789012:userpool/x\n", r"Cognito user pool"),
    (
        "FunctionArn: !GetAtt AuthorizerFunction.Arn\nFunctionPayloadType: JWT\n",
        r"FunctionPayloadType: 'JWT' is not one of REQUEST, TOKEN",
    ),
    (
        "FunctionArn: !GetAtt AuthorizerFunction.Arn\nFunctionPayloadType: REQUEST\n",
        r"KeyAuthorizer\.Identity: a REQUEST authorizer whose results are cached \(ReauthorizeEvery 300\)",
    ),
    (
        "FunctionArn: !GetAtt AuthorizerFunction.Arn\nFunctionPayloadType: REQUEST\n"
        "Identity:\n  StageVariables: [tier]\n",
        r"Identity\.StageVariables: identity from StageVariables is not emulated",
    ),
    (
        "FunctionArn: !GetAtt AuthorizerFunction.Arn\nFunctionPayloadType: REQUEST\n"
        "Identity:\n  Headers: Authorization\n",
        r"Identity\.Headers: must be a list of names, got 'Authorization'",
    ),
    (
        "FunctionArn: !GetAtt AuthorizerFunction.Arn\nIdentity:\n  ReauthorizeEvery: 3601\n",
        r"Identity\.ReauthorizeEvery: must be whole seconds from 0 to 3600, got 3601",
    ),
    (
        "FunctionArn: !GetAtt AuthorizerFunction.Arn\nIdentity:\n  ValidationExpression: '^(Bearer'\n",
        r"Identity\.ValidationExpression: not a regular expression",
    ),
]


@pytest.mark.parametrize(("declaration", "message"), INVALID)
def test_an_authorizer_the_local_stack_cannot_run_is_a_template_error(
    tmp_path: Path, declaration: str, message: str
) -> None:
    with pytest.raises(
        TemplateError, match=r"Resources\.TenantApi\.Properties\.Auth\.Authorizers\..*" + message
    ):
        spec_of(write_app(tmp_path, _auth_block(declaration)).template)


ROUTE_REFUSALS = [
    ("Authorizer: Missing", r"Events\.Report\.Properties\.Auth\.Authorizer: no authorizer 'Missing' in "),
    ("Authorizer: AWS_IAM", r"Events\.Report\.Properties\.Auth\.Authorizer: AWS_IAM authorization is not"),
]


@pytest.mark.parametrize(("auth", "message"), ROUTE_REFUSALS)
def test_a_route_naming_an_unknown_or_unemulated_authorizer_is_a_template_error(
    tmp_path: Path, auth: str, message: str
) -> None:
    template = TEMPLATE.replace("Authorizer: UncachedAuthorizer", auth)

    with pytest.raises(TemplateError, match=message):
        spec_of(write_app(tmp_path, template).template)


# --- policies -----------------------------------------------------------------------------------------


def test_an_explicit_deny_wins_over_an_allow() -> None:
    grant = Grant(
        principal_id="p",
        statements=(
            Statement("Allow", ("execute-api:*",), ("arn:aws:execute-api:eu-west-1:1:api/v1/*/*",)),
            Statement("Deny", ("execute-api:Invoke",), ("arn:aws:execute-api:eu-west-1:1:api/v1/DELETE/*",)),
        ),
        context={},
    )

    assert grant.allows("arn:aws:execute-api:eu-west-1:1:api/v1/GET/items/1")
    assert not grant.allows("arn:aws:execute-api:eu-west-1:1:api/v1/DELETE/items/1")
    # Nothing covers another stage
    assert not grant.allows("arn:aws:execute-api:eu-west-1:1:api/v2/GET/items/1")


def test_wildcards_match_as_in_iam() -> None:
    grant = grant_of(
        {
            "principalId": 42,
            "policyDocument": {
                "Statement": {
                    "Action": "EXECUTE-API:INVOKE",
                    "Effect": "Allow",
                    "Resource": "arn:*/v?/GET/a*",
                }
            },
        }
    )

    assert grant.principal_id == "42"
    # * spans slashes; ? is one character; actions compare without case
    assert grant.allows("arn:aws:execute-api:r:1:api/v1/GET/a/b/c")
    assert not grant.allows("arn:aws:execute-api:r:1:api/v10/GET/a")
    assert not grant.allows("arn:aws:execute-api:r:1:api/v1/get/a")


def test_context_values_become_strings() -> None:
    grant = grant_of(
        {
            "principalId": "p",
            "policyDocument": {"Statement": [{"Action": "*", "Effect": "Allow", "Resource": "*"}]},
            "context": {"tenantId": "acme", "count": 3, "ratio": 0.5, "admin": True, "gone": None},
        }
    )

    assert grant.request_context() == {
        "principalId": "p",
        "tenantId": "acme",
        "count": "3",
        "ratio": "0.5",
        "admin": "true",
    }


ALLOW_ALL = {"Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}]}
MALFORMED_ANSWERS = [
    ("allow", "the result is str, not an object"),
    ({"policyDocument": ALLOW_ALL}, "principalId None is not an identifier"),
    ({"principalId": "", "policyDocument": ALLOW_ALL}, "principalId '' is not an identifier"),
    ({"principalId": "p"}, "policyDocument is missing or not an object"),
    (
        {"principalId": "p", "policyDocument": {"Statement": []}},
        "policyDocument.Statement holds no statements",
    ),
    (
        {
            "principalId": "p",
            "policyDocument": {"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]},
        },
        r"Statement\[0\]\.Effect 'allow' is neither Allow nor Deny",
    ),
    (
        {"principalId": "p", "policyDocument": {"Statement": [{"Effect": "Allow", "Resource": "*"}]}},
        r"Statement\[0\]\.Action is not a string or a list of strings",
    ),
    ({"principalId": "p", "policyDocument": ALLOW_ALL, "context": ["a"]}, "context is not an object"),
    (
        {"principalId": "p", "policyDocument": ALLOW_ALL, "context": {"tenant": {"id": "a"}}},
        "context.tenant is dict; values must be strings, numbers or booleans",
    ),
]


@pytest.mark.parametrize(("answer", "problem"), MALFORMED_ANSWERS)
def test_an_answer_api_gateway_cannot_use_is_named(answer: Any, problem: str) -> None:
    with pytest.raises(MalformedAuthorizerResponseError, match=problem):
        grant_of(answer)


# --- the gateway in process ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class InProcess:
    app: App
    authorizer: WarmFunction
    echo: WarmFunction
    clock: Clock
    client: httpx.AsyncClient


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[InProcess]:
    app = write_app(tmp_path)
    clock = Clock()
    warm = {
        logical_id: WarmFunction(spec, spec.environment, time.monotonic)
        for logical_id in ("AuthorizerFunction", "EchoFunction")
        if (spec := spec_of(app.template, logical_id))
    }
    gateway = ApiGateway(warm, stack_name=STACK, region=REGION, clock=clock)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield InProcess(app, warm["AuthorizerFunction"], warm["EchoFunction"], clock, client)
    for function in warm.values():
        function.close()


def bearer(word: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {word}"}


@pytest.mark.anyio
async def test_an_allowed_request_reaches_its_route_with_the_principal_and_context(
    gateway: InProcess,
) -> None:
    response = await gateway.client.get("/items/42", params={"view": "full"}, headers=bearer("acme"))

    assert response.status_code == 200
    assert response.json()["authorizer"] == {
        "principalId": "key-acme",
        "tenantId": "acme",
        "count": "3",
        "admin": "true",
    }
    (event,) = gateway.app.authorizer_events()
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == arn("items/42")
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/items/{id}", "/items/42", "GET")
    # (In process the ASGI transport sends header names in lower case; over HTTP they keep their spelling.)
    assert event["headers"]["authorization"] == "Bearer acme"
    assert event["multiValueHeaders"]["authorization"] == ["Bearer acme"]
    assert event["queryStringParameters"] == {"view": "full"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] is None
    assert event["requestContext"]["apiId"] == TENANT_API
    assert event["requestContext"]["stage"] == "v1"
    assert event["requestContext"]["resourcePath"] == "/items/{id}"
    assert "authorizer" not in event["requestContext"]
    assert "body" not in event


@pytest.mark.anyio
@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}, {"Authorization": "   "}, {"X-Api-Key": "k"}])
async def test_a_missing_identity_source_is_401_and_nothing_runs(
    gateway: InProcess, headers: dict[str, str]
) -> None:
    response = await gateway.client.get("/items/42", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert gateway.authorizer.invocations == gateway.echo.invocations == 0


@pytest.mark.anyio
async def test_an_authorizer_raising_unauthorized_is_401_and_is_asked_again(gateway: InProcess) -> None:
    first = await gateway.client.get("/items/1", headers=bearer("unauthorized"))
    second = await gateway.client.get("/items/1", headers=bearer("unauthorized"))

    for response in (first, second):
        assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert gateway.authorizer.invocations == 2
    assert gateway.echo.invocations == 0


@pytest.mark.anyio
async def test_a_deny_is_403_and_is_cached_like_an_allow(gateway: InProcess) -> None:
    first = await gateway.client.get("/items/1", headers=bearer("deny"))
    second = await gateway.client.post("/items", headers=bearer("deny"))

    for response in (first, second):
        assert response.status_code == 403
        assert response.json() == {"message": "User is not authorized to access this resource"}
        assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert gateway.authorizer.invocations == 1
    assert gateway.echo.invocations == 0


@pytest.mark.anyio
async def test_a_cached_stage_wide_allow_serves_the_callers_other_routes(gateway: InProcess) -> None:
    await gateway.client.get("/items/1", headers=bearer("acme"))
    created = await gateway.client.post("/items", headers=bearer("acme"))
    other = await gateway.client.get("/items/2", headers=bearer("globex"))

    assert created.json()["authorizer"]["tenantId"] == "acme"
    assert other.json()["authorizer"]["tenantId"] == "globex"
    # One call per identity: acme's second request came from the cache
    assert [event["methodArn"] for event in gateway.app.authorizer_events()] == [
        arn("items/1"),
        arn("items/2"),
    ]


@pytest.mark.anyio
async def test_a_cached_policy_naming_one_method_refuses_the_others(gateway: InProcess) -> None:
    read = await gateway.client.get("/items/7", headers=bearer("get-only"))
    write = await gateway.client.post("/items", headers=bearer("get-only"))

    assert read.status_code == 200
    assert write.status_code == 403
    assert gateway.authorizer.invocations == 1


@pytest.mark.anyio
async def test_the_cache_expires_after_reauthorize_every(gateway: InProcess) -> None:
    await gateway.client.get("/items/1", headers=bearer("acme"))
    gateway.clock.now += 59.9
    await gateway.client.get("/items/1", headers=bearer("acme"))
    assert gateway.authorizer.invocations == 1

    gateway.clock.now += 0.1  # 60 seconds after the answer: CacheSeconds
    await gateway.client.get("/items/1", headers=bearer("acme"))

    assert gateway.authorizer.invocations == 2


@pytest.mark.anyio
async def test_an_uncached_authorizer_is_asked_every_time_with_every_identity_source(
    gateway: InProcess,
) -> None:
    without_tenant = await gateway.client.get("/reports", headers=bearer("acme"))
    for _ in range(2):
        allowed = await gateway.client.get("/reports", params={"tenant": "acme"}, headers=bearer("acme"))
        assert allowed.status_code == 200

    assert without_tenant.status_code == 401
    assert gateway.authorizer.invocations == 2


@pytest.mark.anyio
async def test_an_open_route_runs_without_the_authorizer(gateway: InProcess) -> None:
    response = await gateway.client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"authorizer": None}
    assert gateway.authorizer.invocations == 0


@pytest.mark.anyio
async def test_a_token_authorizer_gets_the_token_and_its_validation_expression_is_checked(
    gateway: InProcess,
) -> None:
    refused = await gateway.client.get("/legacy", headers={"Authorization": "Basic abc"})
    assert refused.status_code == 401
    assert gateway.authorizer.invocations == 0

    allowed = await gateway.client.get("/legacy", headers=bearer("acme"))

    assert allowed.json()["authorizer"]["tenantId"] == "acme"
    assert gateway.app.authorizer_events() == [
        {
            "type": "TOKEN",
            "authorizationToken": "Bearer acme",
            "methodArn": arn("legacy", api=IMPLICIT_API, stage="Prod"),
        }
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("word", ["broken", "nested", "no-policy"])
async def test_a_failing_or_malformed_authorizer_is_a_500_with_no_message(
    gateway: InProcess, word: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await gateway.client.get("/items/1", headers=bearer(word))

    assert response.status_code == 500
    assert response.json() == {"message": None}
    assert response.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    assert gateway.echo.invocations == 0
    assert any(record.getMessage().startswith("authorizer KeyAuthorizer") for record in caplog.records)


def test_a_gateway_without_the_authorizer_function_is_refused(tmp_path: Path) -> None:
    spec = spec_of(write_app(tmp_path).template)
    echo = WarmFunction(spec, spec.environment, time.monotonic)

    with pytest.raises(KeyError, match="whose function AuthorizerFunction is not among the served functions"):
        ApiGateway({"EchoFunction": echo}, stack_name=STACK, region=REGION)


# --- over HTTP on the local stack ---------------------------------------------------------------------


@dataclass
class Served:
    app: App
    url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    app = write_app(tmp_path_factory.mktemp("authorizer-app"))
    with LocalStack(app.template, stack_name=STACK, region=REGION) as stack:
        yield Served(app=app, url=stack.serve_api("TenantApi"))


def test_the_local_stack_serves_guarded_routes_over_http(served: Served) -> None:
    allowed = httpx.get(f"{served.url}/items/9", headers=bearer("initech"))
    denied = httpx.get(f"{served.url}/items/9", headers=bearer("deny"))
    missing = httpx.get(f"{served.url}/items/9")
    open_route = httpx.get(f"{served.url}/health")

    assert allowed.status_code == 200
    assert allowed.json()["authorizer"] == {
        "principalId": "key-initech",
        "tenantId": "initech",
        "count": "3",
        "admin": "true",
    }
    assert (denied.status_code, missing.status_code, open_route.status_code) == (403, 401, 200)
    events = served.app.authorizer_events()
    assert [event["methodArn"] for event in events] == [arn("items/9")] * 2
    # Header names reach the authorizer as the client spelled them
    assert events[0]["headers"]["Authorization"] == "Bearer initech"
