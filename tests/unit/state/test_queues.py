"""SQS sends: batches by count and size, retries of failed entries, and what is refused for good."""

from __future__ import annotations

import json
import random
from typing import Any

import boto3
import pytest

from mercator.domain.errors import MessagesNotSentError, MissingResourceError
from mercator.state.queues import SqsQueue
from tests.unit.state.conftest import REGION
from tests.unit.state.wrappers import FailingEntries, Recording


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def queue_url(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName="mercator-enrich")["QueueUrl"]
    return url


def received(sqs: Any, queue_url: str) -> list[str]:
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def numbered(count: int) -> list[str]:
    return [json.dumps({"n": number}) for number in range(count)]


def test_bodies_go_in_batches_of_ten(sqs: Any, queue_url: str) -> None:
    recording = Recording(sqs)

    SqsQueue(recording, queue_url).send(numbered(25))

    assert [len(call["Entries"]) for call in recording.calls("send_message_batch")] == [10, 10, 5]
    assert sorted(received(sqs, queue_url)) == sorted(numbered(25))


def test_batches_also_stay_under_the_size_limit(sqs: Any, queue_url: str) -> None:
    recording = Recording(sqs)
    big = [json.dumps({"n": number, "pad": "x" * 100_000}) for number in range(3)]

    SqsQueue(recording, queue_url).send([*big, "small"])

    # Two bodies of ~100 KB fit in 256 KiB, a third does not; the small one joins the third.
    assert [len(call["Entries"]) for call in recording.calls("send_message_batch")] == [2, 2]
    assert sorted(received(sqs, queue_url)) == sorted([*big, "small"])


def test_sending_nothing_calls_nothing(sqs: Any, queue_url: str) -> None:
    recording = Recording(sqs)

    SqsQueue(recording, queue_url).send([])

    assert recording.requests == []


def test_an_entry_failed_by_sqs_is_sent_again(sqs: Any, queue_url: str) -> None:
    failures_left = {json.dumps({"n": 3}): 2, json.dumps({"n": 12}): 1}

    def flaky(body: str) -> tuple[str, bool] | None:
        if failures_left.get(body, 0) > 0:
            failures_left[body] -= 1
            return "InternalError", False
        return None

    client = FailingEntries(sqs, flaky)
    pauses: list[float] = []

    SqsQueue(client, queue_url, sleep=pauses.append, jitter=random.Random(3)).send(numbered(15))

    calls = client.calls("send_message_batch")
    assert [len(call["Entries"]) for call in calls] == [10, 5, 2, 1]
    assert [entry["MessageBody"] for entry in calls[3]["Entries"]] == [json.dumps({"n": 3})]
    assert len(pauses) == 2
    assert 0.05 <= pauses[0] <= 0.1
    assert 0.1 <= pauses[1] <= 0.2
    # Each body arrives once.
    assert sorted(received(sqs, queue_url)) == sorted(numbered(15))


def test_an_entry_that_keeps_failing_raises_after_the_last_attempt(sqs: Any, queue_url: str) -> None:
    doomed = json.dumps({"n": 4})
    client = FailingEntries(sqs, lambda body: ("ServiceUnavailable", False) if body == doomed else None)

    with pytest.raises(
        MessagesNotSentError, match=r"refused 1 of 6 messages .*message 4: ServiceUnavailable"
    ) as e:
        SqsQueue(client, queue_url, max_attempts=3, sleep=lambda _: None).send(numbered(6))

    assert [(refused.index, refused.code, refused.sender_fault) for refused in e.value.failed] == [
        (4, "ServiceUnavailable", False)
    ]
    assert client.failures == [doomed] * 3
    assert sorted(received(sqs, queue_url)) == sorted(set(numbered(6)) - {doomed})


def test_an_entry_refused_as_the_senders_fault_is_not_retried(sqs: Any, queue_url: str) -> None:
    bad = json.dumps({"n": 1})
    client = FailingEntries(sqs, lambda body: ("InvalidMessageContents", True) if body == bad else None)
    pauses: list[float] = []

    with pytest.raises(MessagesNotSentError, match="InvalidMessageContents") as e:
        SqsQueue(client, queue_url, sleep=pauses.append).send(numbered(3))

    assert [refused.index for refused in e.value.failed] == [1]
    assert e.value.failed[0].sender_fault is True
    assert client.failures == [bad]
    assert pauses == []
    assert e.value.resource == queue_url


def test_a_missing_queue_is_named(sqs: Any) -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/mercator-missing"

    with pytest.raises(MissingResourceError, match="mercator-missing does not exist") as e:
        SqsQueue(sqs, url).send(["{}"])

    assert e.value.resource == url
