"""A small SAM application of our own for the local runner: a template and two handlers in tmp_path.

The worker handler decides each record's fate from its body, so a test says what should happen by
what it sends: ``{"id": "a", "fail_times": 2}`` fails the first two deliveries, ``"raise_times"``
makes the whole invocation raise, ``"forward": true`` sends the body on to the Out queue (through
boto3 with nothing but the environment to find the local server), ``"bad_report": true`` reports a
failure with an identifier that is not in the batch. Both handlers append what they saw to a JSON
lines log, which the tests read.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mercator_local import LocalStack

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Marker:
    Type: String
    Default: from-template
  Stage:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Timeout: 20
    Layers:
      - !Ref SharedLayer
    Environment:
      Variables:
        MARKER: !Ref Marker
        LOG_PATH: {log_path}
        STAGE_LABEL: !If [IsProd, production, development]
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  WorkDLQ:
    Type: AWS::SQS::Queue
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 120
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDLQ.Arn
        maxReceiveCount: 3
  OutQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub ${{AWS::StackName}}-out
  OrderedQueue:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
      VisibilityTimeout: 120
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Handler: app.lambda_handler
      MemorySize: 256
      Environment:
        Variables:
          OUT_QUEUE_URL: !Ref OutQueue
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt WorkQueue.Arn
            BatchSize: 4
            FunctionResponseTypes: [ReportBatchItemFailures]
        Ordered:
          Type: SQS
          Properties:
            Queue: !GetAtt OrderedQueue.Arn
            BatchSize: 4
            FunctionResponseTypes: [ReportBatchItemFailures]
        Nightly:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
            Input: '{{"resource": "products"}}'
        Hourly:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
  SinkFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: sink/
      Handler: handler.main
      Timeout: 7
      Environment:
        Variables:
          MARKER: sink-own
      Events:
        Out:
          Type: SQS
          Properties:
            Queue: !GetAtt OutQueue.Arn
            BatchSize: 10
"""

WORKER = """\
import json
import os

import boto3
import tinylayer

COLD_STARTS = 1  # module state survives between invocations of a warm function
MARKER_AT_IMPORT = os.environ["MARKER"]
SQS = boto3.client("sqs")  # created at cold start, as real handlers do


def _log(entry):
    with open(os.environ["LOG_PATH"], "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\\n")


def lambda_handler(event, context):
    if "Records" not in event:
        _log({"function": "worker", "event": event})
        return {
            "event": event,
            "marker_at_import": MARKER_AT_IMPORT,
            "cold_starts": COLD_STARTS,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "function_name": context.function_name,
            "memory": context.memory_limit_in_mb,
            "arn": context.invoked_function_arn,
            "request_id": context.aws_request_id,
            "stage_label": os.environ["STAGE_LABEL"],
            "layer_marker": tinylayer.MARKER_AT_IMPORT,
        }
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        count = int(record["attributes"]["ApproximateReceiveCount"])
        _log({"function": "worker", "id": body["id"], "count": count, "record": record})
        if count <= body.get("raise_times", 0):
            raise RuntimeError(f"record {body['id']} breaks the whole batch")
        if body.get("bad_report"):
            failures.append({"itemIdentifier": "not-a-message-of-this-batch"})
        elif count <= body.get("fail_times", 0):
            failures.append({"itemIdentifier": record["messageId"]})
        elif body.get("forward"):
            SQS.send_message(QueueUrl=os.environ["OUT_QUEUE_URL"], MessageBody=record["body"])
    return {"batchItemFailures": failures}
"""

SINK = """\
import json
import os

import tinylayer


def main(event, context):
    for record in event["Records"]:
        entry = {
            "function": "sink",
            "id": json.loads(record["body"])["id"],
            "marker": os.environ["MARKER"],
            "layer_marker": tinylayer.MARKER_AT_IMPORT,
        }
        with open(os.environ["LOG_PATH"], "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\\n")
    # Without ReportBatchItemFailures Lambda ignores this: every message counts as handled.
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
"""


# A layer package that, like mercator.observability, reads the environment once, at import.
LAYER = """\
import os

MARKER_AT_IMPORT = os.environ["MARKER"]
"""


@dataclass
class App:
    """The application's files: its template and the log its handlers write."""

    template: Path
    log: Path

    def entries(self, function: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]
        return [line for line in lines if function is None or line["function"] == function]

    def worker_ids(self) -> list[tuple[str, int]]:
        """(id, ApproximateReceiveCount) of every record the worker saw, in order."""
        return [(entry["id"], entry["count"]) for entry in self.entries("worker") if "id" in entry]


def write_app(folder: Path) -> App:
    """The template and both handlers' files in ``folder``."""
    log = folder / "handlers.log"
    template = folder / "template.yaml"
    template.write_text(TEMPLATE.format(log_path=json.dumps(str(log))), encoding="utf-8")
    files = (
        ("worker", "app.py", WORKER),
        ("sink", "handler.py", SINK),
        ("layer/tinylayer", "__init__.py", LAYER),
    )
    for code_dir, name, source in files:
        (folder / code_dir).mkdir(parents=True)
        (folder / code_dir / name).write_text(textwrap.dedent(source), encoding="utf-8")
    return App(template=template, log=log)


def send_ordered(stack: LocalStack, queue: str, *bodies: dict[str, Any]) -> list[str]:
    """Send each body to a FIFO queue (logical id), in the message group its ``group`` names."""
    sqs = stack.client("sqs")
    return [
        sqs.send_message(
            QueueUrl=stack.queue_url(queue),
            MessageBody=json.dumps(body),
            MessageGroupId=body["group"],
            MessageDeduplicationId=body["id"],
        )["MessageId"]
        for body in bodies
    ]


def send(stack: LocalStack, queue: str, *bodies: dict[str, Any]) -> list[str]:
    """Send each body as JSON to a queue (logical id); returns the message ids in order."""
    sqs = stack.client("sqs")
    return [
        sqs.send_message(QueueUrl=stack.queue_url(queue), MessageBody=json.dumps(body))["MessageId"]
        for body in bodies
    ]
