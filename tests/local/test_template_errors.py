"""Templates the local stack cannot build fail naming the offending value, and leave nothing running."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from mercator_local import LocalStack, TemplateError

HEADER = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
  Required:
    Type: String
    Default: set
"""

# (case, resources YAML, message pattern): each fails while the stack is being built
BUILD_FAILURES = [
    (
        "unsupported intrinsic",
        """\
        Queue:
          Type: AWS::SQS::Queue
          Properties:
            QueueName: !ImportValue SharedQueueName
        """,
        r"Resources\.Queue\.Properties\.QueueName: Fn::ImportValue is not supported",
    ),
    (
        "unknown queue property",
        """\
        Queue:
          Type: AWS::SQS::Queue
          Properties:
            VisibilityTimeoutSeconds: 30
        """,
        r"Resources\.Queue\.Properties: the local stack does not know VisibilityTimeoutSeconds",
    ),
    (
        "reference to nothing",
        """\
        Queue:
          Type: AWS::SQS::Queue
          Properties:
            RedrivePolicy:
              deadLetterTargetArn: !GetAtt MissingDLQ.Arn
              maxReceiveCount: 3
        """,
        r"'MissingDLQ' is neither a parameter nor a resource",
    ),
    (
        "attribute a queue does not have",
        """\
        DLQ:
          Type: AWS::SQS::Queue
        Queue:
          Type: AWS::SQS::Queue
          Properties:
            RedrivePolicy:
              deadLetterTargetArn: !GetAtt DLQ.StreamArn
              maxReceiveCount: 3
        """,
        r"DLQ has no attribute 'StreamArn' locally \(known: Arn, QueueName, QueueUrl\)",
    ),
    (
        "redrive policy without its count",
        """\
        DLQ:
          Type: AWS::SQS::Queue
        Queue:
          Type: AWS::SQS::Queue
          Properties:
            RedrivePolicy:
              deadLetterTargetArn: !GetAtt DLQ.Arn
        """,
        r"Resources\.Queue\.Properties\.RedrivePolicy: needs deadLetterTargetArn and maxReceiveCount",
    ),
    (
        "table without keys",
        """\
        Table:
          Type: AWS::DynamoDB::Table
          Properties:
            BillingMode: PAY_PER_REQUEST
        """,
        r"Resources\.Table\.Properties: a table needs AttributeDefinitions",
    ),
    (
        "SQS event on a queue outside the template",
        """\
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            CodeUri: fn/
            Handler: app.handler
            Events:
              Outside:
                Type: SQS
                Properties:
                  Queue: arn:aws:sqs:eu-central-1:123456789012:elsewhere
        """,
        r"Events\.Outside\.Properties\.Queue: 'arn:aws:sqs:.*:elsewhere' is not a queue of this template",
    ),
    (
        "event filtering",
        """\
        Queue:
          Type: AWS::SQS::Queue
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            CodeUri: fn/
            Handler: app.handler
            Events:
              Filtered:
                Type: SQS
                Properties:
                  Queue: !GetAtt Queue.Arn
                  FilterCriteria:
                    Filters: [{Pattern: '{"body": {"kind": ["a"]}}'}]
        """,
        r"FilterCriteria: event filtering is not emulated locally",
    ),
    (
        "unknown secret property",
        """\
        Secret:
          Type: AWS::SecretsManager::Secret
          Properties:
            SecretString: x
            ReplicaRegions: [{Region: eu-west-1}]
        """,
        r"Resources\.Secret\.Properties: the local stack does not know ReplicaRegions",
    ),
    (
        "secret with both a value and a generator",
        """\
        Secret:
          Type: AWS::SecretsManager::Secret
          Properties:
            SecretString: x
            GenerateSecretString: {PasswordLength: 16}
        """,
        r"Resources\.Secret\.Properties: SecretString and GenerateSecretString exclude each other",
    ),
    (
        "unknown generator property",
        """\
        Secret:
          Type: AWS::SecretsManager::Secret
          Properties:
            GenerateSecretString: {PasswordLength: 16, ExcludeSymbols: true}
        """,
        r"Properties\.GenerateSecretString: the local stack does not know ExcludeSymbols",
    ),
    (
        "string template without its key",
        """\
        Secret:
          Type: AWS::SecretsManager::Secret
          Properties:
            GenerateSecretString: {SecretStringTemplate: '{"user": "a"}'}
        """,
        r"GenerateSecretString: SecretStringTemplate and GenerateStringKey go together",
    ),
    (
        "string template that is not a JSON object",
        """\
        Secret:
          Type: AWS::SecretsManager::Secret
          Properties:
            GenerateSecretString: {SecretStringTemplate: '["a"]', GenerateStringKey: password}
        """,
        r"GenerateSecretString\.SecretStringTemplate: must be a JSON object",
    ),
    (
        "password length out of range",
        """\
        Secret:
          Type: AWS::SecretsManager::Secret
          Properties:
            GenerateSecretString: {PasswordLength: 5000}
        """,
        r"GenerateSecretString\.PasswordLength: must be from 1 to 4096, got 5000",
    ),
    (
        "unknown condition",
        """\
        Queue:
          Type: AWS::SQS::Queue
          Properties:
            DelaySeconds: !If [IsLoud, 5, 0]
        """,
        r"no condition named 'IsLoud'",
    ),
    (
        "queues that need each other",
        """\
        A:
          Type: AWS::SQS::Queue
          Properties:
            RedrivePolicy: {deadLetterTargetArn: !GetAtt B.Arn, maxReceiveCount: 2}
        B:
          Type: AWS::SQS::Queue
          Properties:
            RedrivePolicy: {deadLetterTargetArn: !GetAtt A.Arn, maxReceiveCount: 2}
        """,
        r"refer back to it in a cycle",
    ),
]


def _template(tmp_path: Path, resources: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(
        HEADER + "Resources:\n" + textwrap.indent(textwrap.dedent(resources), "  "), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    ("resources", "message"), [case[1:] for case in BUILD_FAILURES], ids=[c[0] for c in BUILD_FAILURES]
)
def test_a_template_the_stack_cannot_build_is_refused_clearly(
    tmp_path: Path, resources: str, message: str
) -> None:
    endpoint_before = os.environ.get("AWS_ENDPOINT_URL")

    with pytest.raises(TemplateError, match=message), LocalStack(_template(tmp_path, resources)):
        pass

    # The failed start stopped its server, restored the environment and freed the slot
    assert os.environ.get("AWS_ENDPOINT_URL") == endpoint_before
    with LocalStack(_template(tmp_path, "Fine:\n  Type: AWS::SQS::Queue\n")) as stack:
        assert list(stack.queues) == ["Fine"]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"Stage": "staging"}, r"Parameters\.Stage: 'staging' is not one of dev, prod"),
        ({"Colour": "blue"}, r"no parameter named Colour \(parameters: Stage, Required\)"),
    ],
)
def test_bad_parameters_are_refused_before_anything_starts(
    tmp_path: Path, parameters: dict[str, str], message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        LocalStack(_template(tmp_path, "Q:\n  Type: AWS::SQS::Queue\n"), parameters=parameters)


def test_a_parameter_without_default_needs_a_value(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Parameters:\n  Needed: {Type: String}\nResources:\n  Q: {Type: AWS::SQS::Queue}\n", encoding="utf-8"
    )

    with pytest.raises(TemplateError, match="parameter Needed has no Default"):
        LocalStack(path)
    assert LocalStack(path, parameters={"Needed": "x"}).parameters == {"Needed": "x"}


def test_a_file_that_is_not_a_template_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Resources: [not, a, mapping]\n", encoding="utf-8")

    with pytest.raises(TemplateError, match="needs a Resources mapping"):
        LocalStack(path)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  Q: !Bogus x\n", encoding="utf-8")

    with pytest.raises(TemplateError, match=r"template\.yaml.*unknown tag !Bogus"):
        LocalStack(path)
