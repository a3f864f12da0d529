"""The SQS event source mapping as the runner emulates it, against the small application's handlers."""

from __future__ import annotations

import base64
import hashlib
import json

from aws_lambda_powertools.utilities.parser.models import SqsModel

from mercator_local import LocalStack
from tests.local.application import App, send, send_ordered


def test_a_batch_that_succeeds_is_deleted(stack: LocalStack, app: App) -> None:
    # Given three messages that the worker handles
    send(stack, "WorkQueue", {"id": "a"}, {"id": "b"}, {"id": "c"})

    # When Lambda's poller takes one batch
    outcome = stack.runner.poll_once("WorkQueue")

    # Then all three went to the worker in one invocation and none is left in the queue
    assert outcome is not None
    assert (outcome.function, outcome.succeeded, outcome.failed) == ("WorkerFunction", 3, 0)
    assert sorted(app.worker_ids()) == [("a", 1), ("b", 1), ("c", 1)]
    assert stack.runner.depth("WorkQueue") == 0
    assert stack.runner.poll_once("WorkQueue") is None


def test_batches_hold_at_most_the_batch_size(stack: LocalStack, app: App) -> None:
    send(stack, "WorkQueue", *({"id": str(number)} for number in range(6)))

    report = stack.runner.drain("WorkQueue")

    # BatchSize is 4 in the template: six messages take two invocations, 4 then 2
    assert [len(batch.message_ids) for batch in report.batches] == [4, 2]
    assert report.invocations == {"WorkerFunction": 2}
    assert report.succeeded == {"WorkQueue": 6}
    assert report.idle


def test_a_partial_failure_redelivers_only_the_failed_message(stack: LocalStack, app: App) -> None:
    # Given one message that fails its first delivery among two that do not
    ids = send(stack, "WorkQueue", {"id": "ok-1"}, {"id": "flaky", "fail_times": 1}, {"id": "ok-2"})

    # When the first batch runs
    first = stack.runner.poll_once("WorkQueue")

    # Then only the failed one stays in the queue...
    assert first is not None
    assert first.failed_ids == (ids[1],)
    assert stack.runner.depth("WorkQueue") == 1

    # ...and comes back alone, its receive count now 2, and succeeds
    report = stack.runner.drain("WorkQueue")
    assert [batch.message_ids for batch in report.batches] == [(ids[1],)]
    assert app.worker_ids()[3:] == [("flaky", 2)]
    assert report.failed == {"WorkQueue": 0}
    assert report.dead_letters == {"WorkDLQ": 0}


def test_a_message_failing_every_time_lands_in_the_dlq_after_max_receive_count(
    stack: LocalStack, app: App
) -> None:
    # Given a message that always fails, on a queue whose redrive policy says maxReceiveCount: 3
    (poison,) = send(stack, "WorkQueue", {"id": "poison", "fail_times": 1_000})

    report = stack.runner.drain("WorkQueue")

    # Then the worker saw it exactly three times before SQS moved it to the dead-letter queue
    assert app.worker_ids() == [("poison", 1), ("poison", 2), ("poison", 3)]
    assert report.failed == {"WorkQueue": 3}
    assert report.dead_letters == {"WorkDLQ": 1}
    assert report.idle
    assert stack.runner.depth("WorkQueue") == 0
    dead = stack.receive_all("WorkDLQ")
    assert [message["MessageId"] for message in dead] == [poison]
    assert json.loads(dead[0]["Body"]) == {"id": "poison", "fail_times": 1_000}


def test_a_raising_handler_fails_the_whole_batch(stack: LocalStack, app: App) -> None:
    # Given a batch in which one record makes the handler raise on its first delivery
    send(stack, "WorkQueue", {"id": "innocent"}, {"id": "breaker", "raise_times": 1})

    first = stack.runner.poll_once("WorkQueue")

    # Then both messages failed, the error is reported, and both come back
    assert first is not None
    assert first.failed == 2
    assert first.error == "RuntimeError: record breaker breaks the whole batch"
    assert stack.runner.depth("WorkQueue") == 2
    stack.runner.drain("WorkQueue")
    assert sorted(app.worker_ids()) == [("breaker", 1), ("breaker", 2), ("innocent", 1), ("innocent", 2)]
    assert stack.runner.depth("WorkQueue") == 0


def test_reporting_an_identifier_not_in_the_batch_fails_the_whole_batch(stack: LocalStack, app: App) -> None:
    send(stack, "WorkQueue", {"id": "fine"}, {"id": "confused", "bad_report": True})

    outcome = stack.runner.poll_once("WorkQueue")

    # Lambda cannot tell which message failed, so it keeps them all
    assert outcome is not None
    assert outcome.failed == 2
    assert stack.runner.depth("WorkQueue") == 2


def test_without_report_batch_item_failures_the_response_is_ignored(stack: LocalStack, app: App) -> None:
    # Given the sink, subscribed without ReportBatchItemFailures, which lists every message as failed
    send(stack, "OutQueue", {"id": "one"}, {"id": "two"})

    outcome = stack.runner.poll_once("OutQueue")

    # Then Lambda ignores the list: both messages were handled and deleted
    assert outcome is not None
    assert (outcome.function, outcome.succeeded, outcome.failed) == ("SinkFunction", 2, 0)
    assert stack.runner.depth("OutQueue") == 0


def test_the_handler_gets_the_event_shape_lambda_delivers(stack: LocalStack, app: App) -> None:
    body = json.dumps({"id": "shaped"})
    sent = stack.client("sqs").send_message(
        QueueUrl=stack.queue_url("WorkQueue"),
        MessageBody=body,
        MessageAttributes={
            "tenant": {"DataType": "String", "StringValue": "acme"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )

    stack.runner.poll_once("WorkQueue")

    (record,) = [entry["record"] for entry in app.entries("worker")]
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:123456789012:runner-test-WorkQueue"
    assert record["awsRegion"] == "eu-west-1"
    assert record["receiptHandle"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["attributes"]["SentTimestamp"].isdigit()
    assert record["messageAttributes"]["tenant"] == {
        "stringValue": "acme",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == base64.b64encode(b"\x00\x01").decode()
    # Powertools' own model of Lambda's SQS event accepts it
    parsed = SqsModel.model_validate({"Records": [record]})
    assert parsed.Records[0].attributes.ApproximateReceiveCount == "1"


def test_run_until_idle_follows_messages_from_one_function_to_the_next(stack: LocalStack, app: App) -> None:
    # Given work whose results the worker forwards to the Out queue, where the sink takes them
    send(
        stack,
        "WorkQueue",
        {"id": "w1", "forward": True},
        {"id": "w2", "forward": True, "fail_times": 1},
        {"id": "stays", "fail_times": 1_000},
    )

    report = stack.runner.run_until_idle()

    # Then both forwarded records reached the sink (found through the environment alone), the
    # poison one is dead-lettered, and nothing is left anywhere
    assert sorted(entry["id"] for entry in app.entries("sink")) == ["w1", "w2"]
    assert {entry["marker"] for entry in app.entries("sink")} == {"sink-own"}
    assert report.idle
    assert report.succeeded == {"WorkQueue": 2, "OutQueue": 2}
    # w2 failed once, "stays" three times
    assert report.failed["WorkQueue"] == 4
    assert report.dead_letters == {"WorkDLQ": 1}
    assert report.invocations["SinkFunction"] >= 1
    assert stack.runner.depth("WorkQueue") == stack.runner.depth("OutQueue") == 0


def test_the_round_cap_stops_a_run_that_does_not_settle(stack: LocalStack, app: App) -> None:
    send(stack, "WorkQueue", {"id": "slow", "fail_times": 2})

    report = stack.runner.drain("WorkQueue", max_rounds=1)

    # One failed delivery, and the message still waiting for its second
    assert not report.idle
    assert [batch.failed for batch in report.batches] == [1]
    assert stack.runner.depth("WorkQueue") == 1


def test_a_failed_message_of_a_fifo_queue_waits_until_the_others_were_tried(
    stack: LocalStack, app: App
) -> None:
    # Given a FIFO queue holding a message that fails its first delivery, then six of other groups
    send_ordered(
        stack,
        "OrderedQueue",
        {"id": "waits", "group": "a", "fail_times": 1},
        *({"id": f"other-{n}", "group": f"g{n}"} for n in range(6)),
    )

    # When the queue is worked until empty
    report = stack.runner.drain("OrderedQueue")

    # Then the failed one came back only after every other message had its turn, as a visibility
    # timeout longer than their handling would have it (released at once, it would come back first)
    seen = app.worker_ids()
    assert seen[0] == ("waits", 1)
    assert seen[-1] == ("waits", 2)
    assert sorted(seen[1:-1]) == [(f"other-{n}", 1) for n in range(6)]
    assert report.idle
