"""AWS::SecretsManager::Secret on the local stack: created as CloudFormation creates it, Ref its ARN."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mercator_local import LocalStack

STACK = "secret-test"

# The secret that names a queue comes first, so the stack must create the queue before it.
TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
Resources:
  PlainSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub mercator/plain-${Stage}
      Description: A value written in the template.
      SecretString: !Sub '{"token": "abc", "queue": "${WorkQueue}"}'
  WorkQueue:
    Type: AWS::SQS::Queue
  KeySecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      GenerateSecretString:
        PasswordLength: 48
        ExcludePunctuation: true
        ExcludeCharacters: abcXYZ0
  CredentialsSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: mercator/credentials
      GenerateSecretString:
        SecretStringTemplate: '{"username": "merchant"}'
        GenerateStringKey: password
        PasswordLength: 20
        ExcludeNumbers: true
        ExcludePunctuation: true
  EmptySecret:
    Type: AWS::SecretsManager::Secret
  ReaderFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: reader/
      Handler: app.handler
      Environment:
        Variables:
          PLAIN_SECRET: !Ref PlainSecret
          KEY_SECRET: !GetAtt KeySecret.Id
"""

# Reads the secrets its environment names, with nothing but the environment to find the server.
READER = """\
import os

import boto3


def handler(event, context):
    client = boto3.client("secretsmanager")
    return {
        name: client.get_secret_value(SecretId=os.environ[name])["SecretString"]
        for name in ("PLAIN_SECRET", "KEY_SECRET")
    }
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    folder = tmp_path_factory.mktemp("secrets-app")
    (folder / "reader").mkdir()
    (folder / "reader" / "app.py").write_text(READER, encoding="utf-8")
    template = folder / "template.yaml"
    template.write_text(TEMPLATE, encoding="utf-8")
    with LocalStack(template, stack_name=STACK, region="eu-west-1") as running:
        yield running


def _describe(stack: LocalStack, logical_id: str) -> dict[str, Any]:
    described: dict[str, Any] = stack.client("secretsmanager").describe_secret(
        SecretId=stack.secret_arn(logical_id)
    )
    return described


def _value(stack: LocalStack, logical_id: str) -> str:
    return str(
        stack.client("secretsmanager").get_secret_value(SecretId=stack.secret_arn(logical_id))["SecretString"]
    )


def test_a_written_secret_keeps_its_name_description_and_resolved_value(stack: LocalStack) -> None:
    described = _describe(stack, "PlainSecret")

    assert described["Name"] == "mercator/plain-dev"
    assert described["Description"] == "A value written in the template."
    queue_url = stack.queue_url("WorkQueue")
    assert json.loads(_value(stack, "PlainSecret")) == {"token": "abc", "queue": queue_url}


def test_ref_and_id_are_the_arn_cloudformation_gives(stack: LocalStack) -> None:
    arn = _describe(stack, "PlainSecret")["ARN"]

    assert arn.startswith("arn:aws:secretsmanager:eu-west-1:123456789012:secret:mercator/plain-dev-")
    assert stack.secret_arn("PlainSecret") == arn
    assert stack.secrets["KeySecret"].attributes["Id"] == stack.secret_arn("KeySecret")


def test_a_generated_password_follows_the_templates_rules(stack: LocalStack) -> None:
    value = _value(stack, "KeySecret")

    assert len(value) == 48
    assert set(value) <= set(string.ascii_letters + string.digits)
    assert set(value).isdisjoint("abcXYZ0")
    # Without a Name, CloudFormation names the secret after the stack and the resource
    assert _describe(stack, "KeySecret")["Name"] == f"{STACK}-KeySecret"


def test_a_generated_password_goes_under_its_key_in_the_string_template(stack: LocalStack) -> None:
    value = json.loads(_value(stack, "CredentialsSecret"))

    assert set(value) == {"username", "password"}
    assert value["username"] == "merchant"
    assert len(value["password"]) == 20
    assert set(value["password"]) <= set(string.ascii_letters)


def test_two_generated_secrets_differ(stack: LocalStack) -> None:
    assert json.loads(_value(stack, "CredentialsSecret"))["password"] != _value(stack, "KeySecret")[:20]


def test_a_secret_with_neither_value_is_created_empty(stack: LocalStack) -> None:
    assert _describe(stack, "EmptySecret")["Name"] == f"{STACK}-EmptySecret"
    with pytest.raises(ClientError) as raised:
        _value(stack, "EmptySecret")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_function_reads_the_secrets_its_environment_names(stack: LocalStack) -> None:
    environment = stack.environment("ReaderFunction")

    read = stack.runner.invoke("ReaderFunction", {})

    assert environment["PLAIN_SECRET"] == stack.secret_arn("PlainSecret")
    assert environment["KEY_SECRET"] == stack.secret_arn("KeySecret")
    assert read == {"PLAIN_SECRET": _value(stack, "PlainSecret"), "KEY_SECRET": _value(stack, "KeySecret")}


def test_an_unknown_secret_names_the_stacks_secrets(stack: LocalStack) -> None:
    with pytest.raises(KeyError, match=r"no secret 'Missing' .*PlainSecret, KeySecret"):
        stack.secret_arn("Missing")
