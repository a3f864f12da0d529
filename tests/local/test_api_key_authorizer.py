"""Mercator's own ApiAuthorizer guarding an API on the local stack: keys from the state table, tenants out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mercator.state.api_keys import DynamoApiKeys
from mercator_local import LocalStack

ROOT = Path(__file__).resolve().parents[2]

# The API, table and authorizer as the Integrations API declares them; the route is a small echo.
TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Layers:
      - !Ref SharedLayer
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: {root}/shared/
  StateTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {{AttributeName: pk, AttributeType: S}}
        - {{AttributeName: sk, AttributeType: S}}
        - {{AttributeName: gsi1pk, AttributeType: S}}
        - {{AttributeName: gsi1sk, AttributeType: S}}
      KeySchema:
        - {{AttributeName: pk, KeyType: HASH}}
        - {{AttributeName: sk, KeyType: RANGE}}
      GlobalSecondaryIndexes:
        - IndexName: gsi1
          KeySchema:
            - {{AttributeName: gsi1pk, KeyType: HASH}}
            - {{AttributeName: gsi1sk, KeyType: RANGE}}
          Projection: {{ProjectionType: ALL}}
  IntegrationsApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        DefaultAuthorizer: ApiKeyAuthorizer
        Authorizers:
          ApiKeyAuthorizer:
            FunctionArn: !GetAtt ApiAuthorizerFunction.Arn
            FunctionPayloadType: REQUEST
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 300
  ApiAuthorizerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {root}/functions/api_authorizer/
      Handler: app.lambda_handler
      Environment:
        Variables:
          STATE_TABLE: !Ref StateTable
  TenantEchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      Events:
        Configured:
          Type: Api
          Properties:
            RestApiId: !Ref IntegrationsApi
            Path: /api/workflows/{{entityType}}/configured
            Method: get
        Configure:
          Type: Api
          Properties:
            RestApiId: !Ref IntegrationsApi
            Path: /api/workflows/configure
            Method: post
"""

ECHO = """\
import json


def handler(event, context):
    tenant = event["requestContext"]["authorizer"]["tenantId"]
    return {"statusCode": 200, "body": json.dumps({"tenant": tenant})}
"""


@dataclass
class Served:
    stack: LocalStack
    url: str
    keys: DynamoApiKeys

    def authorizer_calls(self) -> int:
        return self.stack.runner.functions["ApiAuthorizerFunction"].invocations


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("api-key-app")
    (folder / "echo").mkdir()
    (folder / "echo" / "app.py").write_text(ECHO, encoding="utf-8")
    template = folder / "template.yaml"
    template.write_text(TEMPLATE.format(root=ROOT), encoding="utf-8")
    with LocalStack(template, stack_name="api-key-test", region="eu-west-1") as stack:
        keys = DynamoApiKeys(stack.client("dynamodb"), stack.table_name("StateTable"))
        yield Served(stack=stack, url=stack.serve_api(), keys=keys)


def test_a_tenants_key_reaches_every_route_as_that_tenant_with_one_authorizer_call(served: Served) -> None:
    key = served.keys.create("acme").key
    before = served.authorizer_calls()

    listed = httpx.get(
        f"{served.url}/api/workflows/Order/configured", headers={"Authorization": f"Bearer {key}"}
    )
    configured = httpx.post(
        f"{served.url}/api/workflows/configure", headers={"Authorization": f"Bearer {key}"}
    )

    assert (listed.status_code, listed.json()) == (200, {"tenant": "acme"})
    assert (configured.status_code, configured.json()) == (200, {"tenant": "acme"})
    # The stage-wide Allow was cached: the second route did not ask again
    assert served.authorizer_calls() == before + 1


def test_a_revoked_key_or_a_wrong_secret_is_403(served: Served) -> None:
    revoked = served.keys.create("globex")
    served.keys.revoke(revoked.key_id)
    other = served.keys.create("globex").key
    forged = f"mk_{revoked.key_id}.{other.split('.')[1]}"

    for key in (revoked.key, forged):
        response = httpx.get(
            f"{served.url}/api/workflows/Order/configured", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 403
        assert response.json() == {"message": "User is not authorized to access this resource"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-mercator-key"}])
def test_a_request_without_a_key_is_401(served: Served, headers: dict[str, str]) -> None:
    response = httpx.get(f"{served.url}/api/workflows/Order/configured", headers=headers)

    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
