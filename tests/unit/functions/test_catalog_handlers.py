"""The CatalogEvents and CatalogApply handlers, with fake services injected through build_services.

CatalogEvents: API Gateway proxy events (events/catalog_events/) in, each refusal mapped to its status
in one place. CatalogApply: SQS FIFO batches; a request that waits fails with the rest of its group,
is held back for delay_seconds(attempt), and its last attempt is told so.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from types import ModuleType
from typing import Any

import pytest

from mercator.domain.messages import CatalogEventsMessage
from mercator.services.catalog_apply import ApplyResult, CatalogWaitingError
from mercator.services.catalog_events import (
    CatalogIntakeResult,
    CatalogPayloadTooLargeError,
    CatalogRequest,
    MalformedCatalogRequestError,
    NotACatalogSourceError,
    RequestInFlightError,
)
from mercator.signatures.primitives import VerificationError
from tests.unit.functions.conftest import LambdaContext, Loader, load_event

QUEUES = "https://sqs.eu-central-1.amazonaws.com/123456789012"
EVENTS_ENV = {
    "STATE_TABLE": "mercator-dev-StateTable",
    "RECORDS_TABLE": "mercator-dev-RecordsTable",
    "TRIGGER_QUEUE_URL": f"{QUEUES}/mercator-dev-TriggerQueue",
    "CATALOG_EVENTS_QUEUE_URL": f"{QUEUES}/mercator-dev-CatalogEventsQueue.fifo",
}
APPLY_ENV = {
    **EVENTS_ENV,
    "CATALOG_DLQ_URL": f"{QUEUES}/mercator-dev-CatalogDLQ",
    "CATALOG_MAX_ATTEMPTS": "4",
    "CATALOG_RETRY_BASE_SECONDS": "10",
}
PRODUCT_CREATED = "catalog_events/product_created.json"
SCOPE = "$.synchronization.events[0].payload.attribute_scope"
NOT_A_SCOPE = f"{SCOPE}: 'regional' is not one of the valid values"


# --- CatalogEvents ------------------------------------------------------------------------------------


@dataclass
class FakeIntake:
    """Answers ``result``, or raises ``error``; keeps the requests it was handed."""

    result: CatalogIntakeResult = field(
        default_factory=lambda: CatalogIntakeResult(HTTPStatus.ACCEPTED, "accepted", 1)
    )
    error: Exception | None = None
    received: list[tuple[str, CatalogRequest]] = field(default_factory=list)

    def receive(self, request: CatalogRequest) -> CatalogIntakeResult:
        return self._answer("receive", request)

    def handshake(self, request: CatalogRequest) -> CatalogIntakeResult:
        return self._answer("handshake", request)

    def _answer(self, call: str, request: CatalogRequest) -> CatalogIntakeResult:
        self.received.append((call, request))
        if self.error is not None:
            raise self.error
        return self.result


def events_app(load_app: Loader, intake: FakeIntake) -> ModuleType:
    app = load_app("catalog_events", EVENTS_ENV)
    app.build_services = lambda settings: intake
    return app


def call(app: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = app.lambda_handler(event, LambdaContext(function_name="mercator-dev-CatalogEvents"))
    return response["statusCode"], json.loads(response["body"])


def handshake_event(body: str) -> dict[str, Any]:
    """The product_created file's request turned into the PIM's handshake POST."""
    event = load_event(PRODUCT_CREATED)
    event.update(
        httpMethod="POST",
        path="/pim/pim-demo/handshake",
        resource="/pim/{integrationId}/handshake",
        pathParameters={"integrationId": "pim-demo"},
        body=body,
    )
    event["requestContext"].update(httpMethod="POST", resourcePath="/pim/{integrationId}/handshake")
    return event


def test_a_put_hands_the_service_the_integration_name_headers_and_body(load_app: Loader) -> None:
    # Given the product_created request of events/
    intake = FakeIntake()
    app = events_app(load_app, intake)
    event = load_event(PRODUCT_CREATED)

    # When it is handled
    call(app, event)

    # Then the service receives it as sent
    [(called, request)] = intake.received
    assert (called, request.integration_id, request.name) == ("receive", "pim-demo", "product_created")
    assert request.body == event["body"].encode()
    assert request.headers.get("x-app-token") == event["headers"]["X-APP-TOKEN"]


def test_a_base64_body_is_decoded_before_the_service_sees_it(load_app: Loader) -> None:
    intake = FakeIntake()
    app = events_app(load_app, intake)
    event = load_event(PRODUCT_CREATED)
    raw = event["body"].encode()
    event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)

    call(app, event)

    assert intake.received[0][1].body == raw


def test_a_body_that_is_not_base64_is_refused_400_at_the_root(load_app: Loader) -> None:
    intake = FakeIntake()
    app = events_app(load_app, intake)
    event = load_event(PRODUCT_CREATED)
    event.update(body="not base64!", isBase64Encoded=True)

    assert call(app, event) == (
        400,
        {"status": "refused", "message": "the body is not valid base64", "path": "$", "valid": []},
    )
    assert intake.received == []


@pytest.mark.parametrize(
    ("result", "status", "body"),
    [
        (CatalogIntakeResult(HTTPStatus.ACCEPTED, "accepted", 3), 202, {"status": "accepted", "events": 3}),
        (CatalogIntakeResult(HTTPStatus.OK, "duplicate", 3), 200, {"status": "duplicate", "events": 3}),
        (CatalogIntakeResult(HTTPStatus.OK, "acknowledged"), 200, {"status": "acknowledged"}),
    ],
    ids=["accepted", "duplicate", "acknowledged"],
)
def test_each_answer_of_the_service_is_its_status_and_body(
    load_app: Loader, result: CatalogIntakeResult, status: int, body: dict[str, Any]
) -> None:
    app = events_app(load_app, FakeIntake(result=result))

    assert call(app, load_event(PRODUCT_CREATED)) == (status, body)


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (
            NotACatalogSourceError("no active integration 'pim-demo'"),
            404,
            {"status": "refused", "message": "no active integration 'pim-demo'"},
        ),
        (
            VerificationError("X-APP-TOKEN's signature does not match the app secret"),
            401,
            {"status": "refused", "message": "the request could not be verified"},
        ),
        (
            MalformedCatalogRequestError(NOT_A_SCOPE, path=SCOPE, valid=("local", "global")),
            400,
            {
                "status": "refused",
                "message": "$.synchronization.events[0].payload.attribute_scope: 'regional' is not one "
                "of the valid values",
                "path": "$.synchronization.events[0].payload.attribute_scope",
                "valid": ["local", "global"],
            },
        ),
        (
            MalformedCatalogRequestError("the body is not JSON: Expecting value"),
            400,
            {
                "status": "refused",
                "message": "the body is not JSON: Expecting value",
                "path": "$",
                "valid": [],
            },
        ),
        (
            CatalogPayloadTooLargeError(
                "the request is larger than the 200 KiB one entity's changes may take"
            ),
            413,
            {
                "status": "refused",
                "message": "the request is larger than the 200 KiB one entity's changes may take",
            },
        ),
        (
            RequestInFlightError("a copy of this request is being accepted right now; send it again"),
            503,
            {
                "status": "refused",
                "message": "a copy of this request is being accepted right now; send it again",
            },
        ),
    ],
    ids=["not-a-source", "unverified", "malformed-with-choices", "malformed", "too-large", "in-flight"],
)
def test_each_refusal_is_its_status_with_a_refused_body(
    load_app: Loader, error: Exception, status: int, body: dict[str, Any]
) -> None:
    # Given a service that refuses the request
    app = events_app(load_app, FakeIntake(error=error))

    # When the request is handled, Then the refusal is answered with its status
    assert call(app, load_event(PRODUCT_CREATED)) == (status, body)


def test_an_unverified_answer_never_names_the_reason_or_the_token(load_app: Loader) -> None:
    event = load_event(PRODUCT_CREATED)
    token = event["headers"]["X-APP-TOKEN"]
    app = events_app(load_app, FakeIntake(error=VerificationError(f"bad token {token}")))

    status, body = call(app, event)

    assert status == 401
    assert token not in json.dumps(body)
    assert "bad token" not in json.dumps(body)


def test_an_unexpected_error_is_not_answered_as_a_refusal(load_app: Loader) -> None:
    # Given a service whose queue is unreachable
    app = events_app(load_app, FakeIntake(error=RuntimeError("SQS is unreachable")))

    # Then the error reaches Lambda (a 500 the PIM retries), not a 4xx it would give up on
    with pytest.raises(RuntimeError, match="SQS is unreachable"):
        call(app, load_event(PRODUCT_CREATED))


def test_a_handshake_goes_to_the_services_handshake_and_is_answered_installed(load_app: Loader) -> None:
    intake = FakeIntake(result=CatalogIntakeResult(HTTPStatus.OK, "installed"))
    app = events_app(load_app, intake)

    answer = call(app, handshake_event('{"shared_secret": "s"}'))

    assert answer == (200, {"status": "installed"})
    [(called, request)] = intake.received
    assert (called, request.integration_id, request.body) == (
        "handshake",
        "pim-demo",
        b'{"shared_secret": "s"}',
    )


def test_a_handshake_with_another_secret_is_401(load_app: Loader) -> None:
    error = VerificationError("the handshake's shared_secret is not the integration's app secret")
    app = events_app(load_app, FakeIntake(error=error))

    assert call(app, handshake_event('{"shared_secret": "other"}')) == (
        401,
        {"status": "refused", "message": "the request could not be verified"},
    )


# --- CatalogApply ---------------------------------------------------------------------------------------


@dataclass
class FakeApply:
    """Applies every request but those in ``waiting``; keeps (request key, last_attempt) of each call."""

    waiting: set[str] = field(default_factory=set)
    calls: list[tuple[str, bool]] = field(default_factory=list)

    def apply(self, message: CatalogEventsMessage, *, last_attempt: bool) -> ApplyResult:
        self.calls.append((message.request_key, last_attempt))
        if message.request_key in self.waiting and not last_attempt:
            raise CatalogWaitingError(f"{message.request_key} waits for a category")
        if message.request_key in self.waiting:
            return ApplyResult("dead_lettered", reason="still waiting")
        return ApplyResult("applied", 1)


@dataclass
class FakeHold:
    calls: list[list[tuple[str, int]]] = field(default_factory=list)

    def hold(self, receipts: list[tuple[str, int]]) -> None:
        self.calls.append(list(receipts))


def apply_app(load_app: Loader, service: FakeApply, hold: FakeHold) -> ModuleType:
    app = load_app("catalog_apply", APPLY_ENV)
    app.build_services = lambda settings: service
    app.build_hold = lambda: hold
    return app


def sqs_record(number: int, group: str, *, receives: int = 1) -> dict[str, Any]:
    """The CatalogEvents FIFO queue's record of request ``k<number>`` in message group ``group``."""
    message = CatalogEventsMessage(
        integration_id="pim-demo",
        request_key=f"k{number}",
        name="product_updated",
        envelope={"name": "product_updated"},
        synchronization_id="sync-1",
        received_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )
    return {
        "messageId": f"m{number}",
        "receiptHandle": f"receipt-{number}",
        "body": message.body(),
        "attributes": {
            "ApproximateReceiveCount": str(receives),
            "SentTimestamp": "1796115600000",
            "SenderId": "AROA5EXAMPLE:mercator-dev-CatalogEvents",
            "ApproximateFirstReceiveTimestamp": "1796115600100",
            "SequenceNumber": f"1888000000000000000{number}",
            "MessageGroupId": group,
            "MessageDeduplicationId": f"k{number}",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:mercator-dev-CatalogEventsQueue.fifo",
        "awsRegion": "eu-central-1",
    }


def handle(app: ModuleType, *records: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = app.lambda_handler(
        {"Records": [copy.deepcopy(record) for record in records]},
        LambdaContext(function_name="mercator-dev-CatalogApply"),
    )
    return response


def test_a_waiting_request_fails_with_the_rest_of_its_group_while_other_groups_go_on(
    load_app: Loader,
) -> None:
    # Given a batch: k1 (group A) waits, k2 is group B's, k3 comes after k1 in group A
    service, hold = FakeApply(waiting={"k1"}), FakeHold()
    app = apply_app(load_app, service, hold)

    # When it is handled
    response = handle(app, sqs_record(1, "A", receives=3), sqs_record(2, "B"), sqs_record(3, "A"))

    # Then k1 and k3 fail, k2 succeeds, and k3 was never applied ahead of k1
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert service.calls == [("k1", False), ("k2", False)]
    # And both are held back: k1 at its 3rd attempt for 10 * 2**2 = 40 s, k3 at its 1st for 10 s
    assert hold.calls == [[("receipt-1", 40), ("receipt-3", 10)]]


def test_a_batch_that_all_applies_holds_nothing(load_app: Loader) -> None:
    service, hold = FakeApply(), FakeHold()
    app = apply_app(load_app, service, hold)

    response = handle(app, sqs_record(1, "A"), sqs_record(2, "A"), sqs_record(3, "B"))

    assert response == {"batchItemFailures": []}
    assert service.calls == [("k1", False), ("k2", False), ("k3", False)]
    assert hold.calls == []


@pytest.mark.parametrize(("receives", "last"), [(1, False), (3, False), (4, True), (6, True)])
def test_the_attempt_at_catalog_max_attempts_is_the_last(load_app: Loader, receives: int, last: bool) -> None:
    # Given CATALOG_MAX_ATTEMPTS=4 and a request received for the given time
    service, hold = FakeApply(), FakeHold()
    app = apply_app(load_app, service, hold)

    # When it is handled
    handle(app, sqs_record(1, "A", receives=receives))

    # Then it is told it is the last attempt from the 4th receipt on
    assert service.calls == [("k1", last)]


def test_a_request_still_waiting_at_its_last_attempt_is_dead_lettered_and_its_group_goes_on(
    load_app: Loader,
) -> None:
    # Given k1 waiting, received for the 4th (last) time, and k2 after it in its group
    service, hold = FakeApply(waiting={"k1"}), FakeHold()
    app = apply_app(load_app, service, hold)

    # When the batch is handled
    response = handle(app, sqs_record(1, "A", receives=4), sqs_record(2, "A"))

    # Then k1 is dead-lettered by the service (no failure), and k2 is applied after it
    assert response == {"batchItemFailures": []}
    assert service.calls == [("k1", True), ("k2", False)]
    assert hold.calls == []


@pytest.mark.parametrize(
    ("attempt", "seconds"), [(0, 10), (1, 10), (2, 20), (4, 80), (7, 640), (8, 900), (12, 900)]
)
def test_the_hold_doubles_with_each_attempt_up_to_fifteen_minutes(
    load_app: Loader, attempt: int, seconds: int
) -> None:
    app = apply_app(load_app, FakeApply(), FakeHold())

    assert app.delay_seconds(attempt) == seconds


def test_a_body_that_is_no_catalog_request_fails_alone(load_app: Loader) -> None:
    # Given a record whose body is not a CatalogEventsMessage, in group A, and a good one in group B
    service, hold = FakeApply(), FakeHold()
    app = apply_app(load_app, service, hold)
    broken = sqs_record(1, "A", receives=2)
    broken["body"] = '{"kind": "push_job"}'

    # When the batch is handled
    response = handle(app, broken, sqs_record(2, "B"))

    # Then it fails and is held back; the other group's request is applied
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert service.calls == [("k2", False)]
    assert hold.calls == [[("receipt-1", 20)]]
