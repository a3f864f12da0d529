"""EventBridgePublisher: entries on a moto bus reach a rule's queue; requests of at most 10 entries and
256 KiB; refused entries are retried when that may help, then named in the error."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mercator.domain.errors import MissingResourceError
from mercator.domain.messages import BusEvent
from mercator.outbound.eventbridge import MAX_REQUEST_BYTES, EventBridgePublisher, EventsNotPublishedError
from tests.fake_aws import use_fake_aws

REGION = "eu-central-1"
BUS = "mercator-test-events"
AT = datetime(2025, 1, 1, 6, 0, 3, tzinfo=UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A bus whose rule sends every mercator.salla event to a queue; yields the queue URL."""
    use_fake_aws(monkeypatch, REGION)
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="bus-tap")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="tap", EventBusName=BUS, EventPattern=json.dumps({"source": ["mercator.salla"]}))
        events.put_targets(Rule="tap", EventBusName=BUS, Targets=[{"Id": "tap", "Arn": arn}])
        yield queue_url


class CountingClient:
    """A boto3 EventBridge client that remembers how many entries each request held."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self.requests: list[int] = []

    def put_events(self, **request: Any) -> dict[str, Any]:
        self.requests.append(len(request["Entries"]))
        response: dict[str, Any] = self._client.put_events(**request)
        return response


def delivered(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        found += [json.loads(message["Body"]) for message in messages]
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def order_event(number: int, *, padding: int = 0) -> BusEvent:
    record = {"code": str(number), "status": "under_review", "note": "x" * padding}
    return BusEvent(
        "mercator.salla", "order.created", {"record": record, "context": {"code": str(number)}}, AT
    )


def test_published_events_reach_the_rules_of_the_bus(aws: str) -> None:
    publisher = EventBridgePublisher(boto3.client("events", region_name=REGION), BUS)

    publisher.publish([order_event(1), BusEvent("mercator.zid", "order.created", {"record": {}})])

    [event] = delivered(aws)  # the rule matches mercator.salla only
    assert event["source"] == "mercator.salla"
    assert event["detail-type"] == "order.created"
    assert event["detail"] == {
        "record": {"code": "1", "status": "under_review", "note": ""},
        "context": {"code": "1"},
    }
    assert event["time"] == "2025-01-01T06:00:03Z"


def test_events_go_in_requests_of_at_most_ten(aws: str) -> None:
    client = CountingClient(boto3.client("events", region_name=REGION))

    EventBridgePublisher(client, BUS).publish([order_event(number) for number in range(23)])

    assert client.requests == [10, 10, 3]
    assert sorted(int(event["detail"]["record"]["code"]) for event in delivered(aws)) == list(range(23))


def test_large_events_go_in_requests_under_256_kib(aws: str) -> None:
    client = CountingClient(boto3.client("events", region_name=REGION))
    # Each event is a little over 100 KiB: two fit in one request, three do not
    large = [order_event(number, padding=100 * 1024) for number in range(5)]

    EventBridgePublisher(client, BUS).publish(large)

    assert client.requests == [2, 2, 1]
    assert len(delivered(aws)) == 5


def test_an_event_larger_than_a_request_is_refused_before_sending(aws: str) -> None:
    client = CountingClient(boto3.client("events", region_name=REGION))

    with pytest.raises(ValueError, match=rf"is \d+ bytes; EventBridge takes at most {MAX_REQUEST_BYTES}"):
        EventBridgePublisher(client, BUS).publish([order_event(1, padding=MAX_REQUEST_BYTES)])

    assert client.requests == []


def test_a_bus_that_does_not_exist_is_a_missing_resource(aws: str) -> None:
    publisher = EventBridgePublisher(boto3.client("events", region_name=REGION), "no-such-bus")

    with pytest.raises(MissingResourceError, match="no-such-bus") as caught:
        publisher.publish([order_event(1)])

    assert caught.value.code == "ResourceNotFoundException"


class ScriptedClient:
    """Answers PutEvents with scripted entry errors: ``errors[n]`` for the n-th request, by entry index."""

    exceptions = type("Errors", (), {"ClientError": ClientError})

    def __init__(self, errors: list[dict[int, tuple[str, str]]]) -> None:
        self.errors = errors
        self.sent: list[list[str]] = []

    def put_events(self, **request: Any) -> dict[str, Any]:
        entries = request["Entries"]
        self.sent.append([json.loads(entry["Detail"])["context"]["code"] for entry in entries])
        script = self.errors.pop(0) if self.errors else {}
        results = [
            {"ErrorCode": script[index][0], "ErrorMessage": script[index][1]}
            if index in script
            else {"EventId": f"id-{index}"}
            for index in range(len(entries))
        ]
        return {"FailedEntryCount": len(script), "Entries": results}


def test_a_throttled_entry_is_sent_again_alone() -> None:
    client = ScriptedClient([{1: ("ThrottlingException", "Rate exceeded")}])
    pauses: list[float] = []

    EventBridgePublisher(client, BUS, sleep=pauses.append).publish([order_event(n) for n in range(3)])

    assert client.sent == [["0", "1", "2"], ["1"]]
    assert pauses == [0.2]


def test_an_entry_refused_for_good_is_named_with_its_code_and_message() -> None:
    client = ScriptedClient([{2: ("InvalidArgument", "Parameter DetailType is not valid.")}])

    with pytest.raises(EventsNotPublishedError) as caught:
        EventBridgePublisher(client, BUS, sleep=lambda _: None).publish([order_event(n) for n in range(3)])

    assert client.sent == [["0", "1", "2"]]  # not sent again: it would be refused again
    assert str(caught.value) == (
        f"EventBridge bus {BUS!r} refused 1 event(s): #2 order.created: InvalidArgument: "
        "Parameter DetailType is not valid."
    )
    assert caught.value.code == "InvalidArgument"
    assert [(entry.index, entry.code) for entry in caught.value.failed] == [(2, "InvalidArgument")]


def test_an_entry_still_throttled_after_every_attempt_is_named() -> None:
    throttled = {0: ("ThrottlingException", "Rate exceeded")}
    client = ScriptedClient([throttled, throttled, throttled])
    pauses: list[float] = []

    with pytest.raises(
        EventsNotPublishedError, match=re.escape("#0 order.created: ThrottlingException: Rate exceeded")
    ):
        EventBridgePublisher(client, BUS, max_attempts=3, sleep=pauses.append).publish([order_event(0)])

    assert len(client.sent) == 3
    assert pauses == [0.2, 0.4]
