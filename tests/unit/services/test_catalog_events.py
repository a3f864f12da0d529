"""CatalogEventIntake: a PIM's requests verified, validated, claimed and queued in their entity's group.

The ports are in-memory fakes: integrations, the vault, the shipped ``pim`` connector (and ``salla``,
which is no catalog-events source), a claim store with the three states DynamoCatalog.claim_request
answers (new, pending, sent), and a FIFO queue that keeps each OrderedMessage. Tokens are signed with
PyJWT, as the PIM signs them (docs/catalog-events.md, "The token").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import jwt
import pytest

from mercator.connector import load_shipped
from mercator.domain.deliveries import Headers
from mercator.domain.messages import MAX_BODY_BYTES, CatalogEventsMessage, OrderedMessage
from mercator.services.catalog_events import (
    CatalogEventIntake,
    CatalogIntakeResult,
    CatalogPayloadTooLargeError,
    CatalogRequest,
    MalformedCatalogRequestError,
    NotACatalogSourceError,
    RequestInFlightError,
    RequestState,
    entity_group,
)
from mercator.services.connectors import ConnectorCatalog
from mercator.signatures.primitives import VerificationError
from tests.unit.services.fakes import FakeClock, FakeIntegrations, FakeVault
from tests.unit.services.support import make_integration

SECRET = "pim-unit-app-secret-of-thirty-two-bytes"  # 39 bytes: HS256 asks 32
INSTALLATION = "pim-unit-installation"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

PIM = make_integration("pim", integration_id="pim-1")
PIM_OFF = make_integration("pim", integration_id="pim-off", status="disabled")
SALLA = make_integration("salla", integration_id="salla-1")


# --- fakes of the ports ----------------------------------------------------------------------------


@dataclass
class FakeRequests:
    """Claims by (integration, request key), with DynamoCatalog.claim_request's rule: new when unseen
    or pending for longer than ``resend_after``; otherwise the state it is in."""

    states: dict[tuple[str, str], tuple[RequestState, datetime]] = field(default_factory=dict)
    claims: list[str] = field(default_factory=list)

    def claim_request(
        self, integration_id: str, request_key: str, at: datetime, *, resend_after: timedelta
    ) -> RequestState:
        self.claims.append(request_key)
        found = self.states.get((integration_id, request_key))
        if found is not None:
            state, since = found
            if state == "sent" or since > at - resend_after:
                return state
        self.states[(integration_id, request_key)] = ("pending", at)
        return "new"

    def request_sent(self, integration_id: str, request_key: str, at: datetime) -> None:
        self.states[(integration_id, request_key)] = ("sent", at)

    def state(self, integration_id: str, request_key: str) -> RequestState | None:
        found = self.states.get((integration_id, request_key))
        return None if found is None else found[0]


@dataclass
class FakeOrderedQueue:
    """A FIFO queue keeping what was sent; ``fail_next`` makes the next send fail (SQS unreachable)."""

    sent: list[OrderedMessage] = field(default_factory=list)
    fail_next: bool = False

    def send_ordered(self, messages: list[OrderedMessage]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the CatalogEvents queue is unreachable")
        self.sent.extend(messages)


@dataclass
class Intake:
    service: CatalogEventIntake
    requests: FakeRequests
    queue: FakeOrderedQueue
    clock: FakeClock


@pytest.fixture
def intake() -> Intake:
    requests, queue, clock = FakeRequests(), FakeOrderedQueue(), FakeClock(NOW)
    credentials = {"appSecret": SECRET, "installationId": INSTALLATION}
    service = CatalogEventIntake(
        integrations=FakeIntegrations(PIM, PIM_OFF, SALLA),
        vault=FakeVault(
            {
                PIM.credentials_arn: credentials,
                PIM_OFF.credentials_arn: credentials,
                SALLA.credentials_arn: {"appSecret": SECRET},
            }
        ),
        connectors=ConnectorCatalog({"pim": load_shipped("pim"), "salla": load_shipped("salla")}),
        requests=requests,
        queue=queue,
        clock=clock,
    )
    return Intake(service, requests, queue, clock)


# --- requests --------------------------------------------------------------------------------------


def token(*, synchronization: str = "sync-1", installation: str = INSTALLATION, secret: str = SECRET) -> str:
    issued = int(NOW.timestamp())
    claims = {
        "app_installation_id": installation,
        "synchronization_id": synchronization,
        "iat": issued,
        "nbf": issued,
        "exp": issued + 300,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def value_changed(value: str = "Shirt", **payload: Any) -> dict[str, Any]:
    return {
        "type": "product_value_changed",
        "payload": {
            "attribute_code": "name",
            "attribute_type": "TEXT",
            "attribute_scope": "local",
            "value": [{"language": "en_GB", "value": value}],
            **payload,
        },
    }


def envelope(sku: str = "SHIRT-1", *events: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "product_updated",
        "resource_id": {"id": sku, "type": "product_sku"},
        "synchronization": {"resource_customs": None, "events": list(events) or [value_changed()]},
    }


def request(
    body: bytes | dict[str, Any] | None = None,
    *,
    name: str = "product_updated",
    integration_id: str = "pim-1",
    app_token: str | None = None,
    headers: dict[str, str] | None = None,
) -> CatalogRequest:
    raw = json.dumps(envelope() if body is None else body).encode() if not isinstance(body, bytes) else body
    sent = {"X-APP-TOKEN": token() if app_token is None else app_token} if headers is None else headers
    return CatalogRequest(integration_id=integration_id, name=name, headers=Headers(sent), body=raw)


def nothing_claimed_or_queued(intake: Intake) -> None:
    assert intake.requests.claims == []
    assert intake.requests.states == {}
    assert intake.queue.sent == []


# --- accepted, duplicates, in flight -------------------------------------------------------------------


def test_an_accepted_request_is_queued_once_in_its_entitys_group_and_its_claim_marked_sent(
    intake: Intake,
) -> None:
    # Given a verified, valid product request
    sent = request()

    # When it is received
    result = intake.service.receive(sent)

    # Then it is accepted with its one detailed event
    assert result == CatalogIntakeResult(HTTPStatus.ACCEPTED, "accepted", 1)
    # And one message went to the product's group, deduplicated by the request's key
    [message] = intake.queue.sent
    assert message.group == entity_group("pim-1", "product", "SHIRT-1")
    assert message.group.startswith("product-")
    body = CatalogEventsMessage.parse(message.body)
    assert body == CatalogEventsMessage(
        integration_id="pim-1",
        request_key=message.dedup_id,
        name="product_updated",
        envelope=envelope(),
        synchronization_id="sync-1",
        received_at=NOW,
    )
    # And the request's claim, by that key, is marked sent
    assert intake.requests.claims == [message.dedup_id]
    assert intake.requests.state("pim-1", message.dedup_id) == "sent"


def test_requests_of_one_entity_share_a_group_and_another_entity_has_its_own(intake: Intake) -> None:
    # Given two requests about SHIRT-1 and one about SHIRT-2
    intake.service.receive(request(envelope("SHIRT-1", value_changed("Shirt"))))
    intake.service.receive(request(envelope("SHIRT-1", value_changed("Tee"))))
    intake.service.receive(request(envelope("SHIRT-2", value_changed("Shirt"))))

    # Then SHIRT-1's two are in one group, SHIRT-2's in another
    first, second, other = (message.group for message in intake.queue.sent)
    assert first == second
    assert other != first
    # And each has a key of its own
    assert len({message.dedup_id for message in intake.queue.sent}) == 3


def test_the_same_request_again_is_a_duplicate_and_is_not_queued_again(intake: Intake) -> None:
    # Given a request accepted once
    intake.service.receive(request())

    # When the PIM sends it again, same body, same synchronization
    again = intake.service.receive(request())

    # Then it is answered duplicate, and nothing more is queued
    assert again == CatalogIntakeResult(HTTPStatus.OK, "duplicate", 1)
    assert len(intake.queue.sent) == 1


def test_the_same_body_in_another_synchronization_is_accepted_again(intake: Intake) -> None:
    # Given a request accepted in synchronization sync-1
    intake.service.receive(request())

    # When the same body comes in synchronization sync-2
    later = intake.service.receive(request(app_token=token(synchronization="sync-2")))

    # Then it is a new request: accepted, and queued in the same entity's group with another key
    assert later == CatalogIntakeResult(HTTPStatus.ACCEPTED, "accepted", 1)
    first, second = intake.queue.sent
    assert first.group == second.group
    assert first.dedup_id != second.dedup_id
    assert CatalogEventsMessage.parse(second.body).synchronization_id == "sync-2"


def test_another_body_in_the_same_synchronization_is_another_request(intake: Intake) -> None:
    # Given a request accepted in sync-1
    intake.service.receive(request())

    # When another change of the same product comes in sync-1
    other = intake.service.receive(request(envelope("SHIRT-1", value_changed("Tee"))))

    # Then it is accepted too
    assert other.outcome == "accepted"
    assert len(intake.queue.sent) == 2


def test_a_copy_of_a_request_still_being_queued_is_in_flight_until_resend_after(intake: Intake) -> None:
    # Given a request whose first attempt claimed it and stopped before it was queued
    intake.queue.fail_next = True
    with pytest.raises(RuntimeError):
        intake.service.receive(request())
    [key] = intake.requests.claims
    assert intake.requests.state("pim-1", key) == "pending"

    # When a copy comes 10 seconds later
    intake.clock.advance(seconds=10)
    # Then it is in flight: nothing is queued
    with pytest.raises(RequestInFlightError):
        intake.service.receive(request())
    assert intake.queue.sent == []

    # And a copy after the 30 s resend_after takes the claim over and is queued
    intake.clock.advance(seconds=21)
    assert intake.service.receive(request()).outcome == "accepted"
    assert [message.dedup_id for message in intake.queue.sent] == [key]
    assert intake.requests.state("pim-1", key) == "sent"


# --- not a catalog source ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("integration_id", "named"),
    [
        ("nobody", "no active integration 'nobody'"),
        ("pim-off", "no active integration 'pim-off'"),
        ("salla-1", "integration 'salla-1' is not a catalog-events source"),
    ],
)
def test_an_unknown_disabled_or_non_pim_integration_is_not_a_catalog_source(
    intake: Intake, integration_id: str, named: str
) -> None:
    # Given a request for an integration that is unknown, disabled, or of a store connector
    sent = request(integration_id=integration_id)

    # When it is received, Then it is refused as no catalog source, and nothing is claimed or queued
    with pytest.raises(NotACatalogSourceError, match=named):
        intake.service.receive(sent)
    nothing_claimed_or_queued(intake)


def test_a_handshake_for_a_non_pim_integration_is_not_a_catalog_source(intake: Intake) -> None:
    with pytest.raises(NotACatalogSourceError):
        intake.service.handshake(
            request({"shared_secret": SECRET}, name="handshake", integration_id="salla-1")
        )


# --- verification ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no X-APP-TOKEN header"),
        ({"X-APP-TOKEN": ""}, "no X-APP-TOKEN header"),
        ({"X-APP-TOKEN": "not-a-jwt"}, "X-APP-TOKEN is not a JWT"),
        (
            {"X-APP-TOKEN": token(secret="another-installations-secret-000")},
            "X-APP-TOKEN's signature does not match the app secret",
        ),
        (
            {"X-APP-TOKEN": token(installation="someone-elses-installation")},
            "X-APP-TOKEN is for another app installation",
        ),
    ],
    ids=["missing", "empty", "not-a-jwt", "other-secret", "other-installation"],
)
def test_a_request_that_does_not_verify_is_refused_before_anything_is_claimed(
    intake: Intake, headers: dict[str, str], reason: str
) -> None:
    # Given a valid body with no token, a malformed one, or one signed for someone else
    sent = request(headers=headers)

    # When it is received, Then it is not verified, and nothing is claimed or queued
    with pytest.raises(VerificationError) as refused:
        intake.service.receive(sent)
    assert refused.value.reason == reason
    nothing_claimed_or_queued(intake)


def test_the_token_is_looked_up_whatever_the_header_case(intake: Intake) -> None:
    # Given the token under API Gateway's lower-cased header name
    sent = request(headers={"x-app-token": token()})

    # Then the request verifies
    assert intake.service.receive(sent).outcome == "accepted"


def test_an_expired_token_is_refused(intake: Intake) -> None:
    # Given a token that expired 300 s after NOW, received 10 minutes after NOW (past the 60 s leeway)
    intake.clock.advance(minutes=10)

    with pytest.raises(VerificationError) as refused:
        intake.service.receive(request())
    assert refused.value.reason == "X-APP-TOKEN has expired"
    nothing_claimed_or_queued(intake)


def test_an_unverified_request_is_refused_before_its_body_is_read(intake: Intake) -> None:
    # Given a body that is not JSON and no token
    sent = request(b"{not json", headers={})

    # Then the refusal is the token's, not the body's
    with pytest.raises(VerificationError):
        intake.service.receive(sent)


# --- malformed bodies ---------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_malformed_at_the_root(intake: Intake) -> None:
    with pytest.raises(MalformedCatalogRequestError) as refused:
        intake.service.receive(request(b'{"name": "product_updated",'))

    assert (refused.value.path, refused.value.valid) == ("$", ())
    assert str(refused.value).startswith("the body is not JSON")
    nothing_claimed_or_queued(intake)


def test_a_body_that_is_not_utf8_is_malformed(intake: Intake) -> None:
    with pytest.raises(MalformedCatalogRequestError) as refused:
        intake.service.receive(request(b'{"name": "\xff\xfe"}'))

    assert refused.value.path == "$"
    nothing_claimed_or_queued(intake)


def test_a_schema_violation_in_a_later_event_refuses_the_whole_request_naming_path_and_choices(
    intake: Intake,
) -> None:
    # Given a request whose first event is valid and whose second has a scope no schema knows
    body = envelope("SHIRT-1", value_changed("Shirt"), value_changed("Tee", attribute_scope="regional"))

    # When it is received
    with pytest.raises(MalformedCatalogRequestError) as refused:
        intake.service.receive(request(body))

    # Then it names the second event's scope and the valid scopes
    assert refused.value.path == "$.synchronization.events[1].payload.attribute_scope"
    assert refused.value.valid == ("local", "global")
    # And not even the valid first event is claimed or queued
    nothing_claimed_or_queued(intake)


def test_an_event_of_another_kind_is_refused_with_the_kinds_types(intake: Intake) -> None:
    # Given a product request carrying a category's event
    body = envelope("SHIRT-1", {"type": "category_created", "payload": {"name": []}})

    with pytest.raises(MalformedCatalogRequestError) as refused:
        intake.service.receive(request(body))

    assert refused.value.path == "$.synchronization.events[0].type"
    assert "product_value_changed" in refused.value.valid
    assert "category_created" not in refused.value.valid
    nothing_claimed_or_queued(intake)


def test_a_body_naming_another_event_than_the_path_is_refused(intake: Intake) -> None:
    # Given a product_updated body sent to .../consume/product_created
    with pytest.raises(MalformedCatalogRequestError) as refused:
        intake.service.receive(request(name="product_created"))

    assert (refused.value.path, refused.value.valid) == ("$.name", ("product_created",))
    nothing_claimed_or_queued(intake)


def test_an_unknown_coarse_event_is_refused_with_the_known_ones(intake: Intake) -> None:
    with pytest.raises(MalformedCatalogRequestError) as refused:
        intake.service.receive(request(name="product_renamed"))

    assert refused.value.path == "$.name"
    assert refused.value.valid == (
        "attribute_created",
        "attribute_updated",
        "attribute_deleted",
        "category_created",
        "category_updated",
        "category_deleted",
        "product_created",
        "product_updated",
        "product_deleted",
    )
    nothing_claimed_or_queued(intake)


# --- app events and the handshake -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["app_installed", "app_uninstalled"])
def test_app_events_are_acknowledged_without_reading_the_body(intake: Intake, name: str) -> None:
    # Given a verified app event whose body is no envelope at all
    sent = request(b"not json at all", name=name)

    # When it is received, Then it is acknowledged, and nothing is claimed or queued
    assert intake.service.receive(sent) == CatalogIntakeResult(HTTPStatus.OK, "acknowledged")
    nothing_claimed_or_queued(intake)


def test_an_app_event_must_still_verify(intake: Intake) -> None:
    with pytest.raises(VerificationError):
        intake.service.receive(request(b"{}", name="app_installed", headers={}))


def test_a_handshake_with_the_held_secret_is_installed(intake: Intake) -> None:
    result = intake.service.handshake(request({"shared_secret": SECRET}, name="handshake"))

    assert result == CatalogIntakeResult(HTTPStatus.OK, "installed")
    nothing_claimed_or_queued(intake)


@pytest.mark.parametrize(
    "body",
    [{"shared_secret": "another-secret-of-thirty-bytes"}, {"shared_secret": 42}, {}],
    ids=["other-secret", "not-a-string", "missing"],
)
def test_a_handshake_with_another_secret_is_not_verified(intake: Intake, body: dict[str, Any]) -> None:
    with pytest.raises(VerificationError) as refused:
        intake.service.handshake(request(body, name="handshake"))

    assert refused.value.reason == "the handshake's shared_secret is not the integration's app secret"


def test_a_handshake_whose_token_does_not_verify_is_refused_though_its_secret_is_right(
    intake: Intake,
) -> None:
    with pytest.raises(VerificationError):
        intake.service.handshake(
            request({"shared_secret": SECRET}, name="handshake", app_token=token(secret="x" * 32))
        )


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]"], ids=["not-json", "not-an-object"])
def test_a_handshake_body_that_is_no_json_object_is_malformed(intake: Intake, body: bytes) -> None:
    with pytest.raises(MalformedCatalogRequestError, match="not a JSON object"):
        intake.service.handshake(request(body, name="handshake"))


# --- size ---------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_too_large_and_nothing_is_claimed_or_queued(intake: Intake) -> None:
    # Given a valid request padded with whitespace past MAX_BODY_BYTES
    raw = json.dumps(envelope()).encode()
    padded = raw[:-1] + b" " * (MAX_BODY_BYTES + 1 - len(raw)) + raw[-1:]
    assert len(padded) == MAX_BODY_BYTES + 1

    # When it is received, Then it is too large, and nothing is claimed or queued
    with pytest.raises(CatalogPayloadTooLargeError):
        intake.service.receive(request(padded))
    nothing_claimed_or_queued(intake)


def test_a_body_at_the_limit_passes_the_size_check(intake: Intake) -> None:
    # Given the same request padded to exactly MAX_BODY_BYTES of whitespace the message drops
    raw = json.dumps(envelope()).encode()
    padded = raw[:-1] + b" " * (MAX_BODY_BYTES - len(raw)) + raw[-1:]

    # Then it is accepted: the message holds the envelope without the padding
    assert intake.service.receive(request(padded)).outcome == "accepted"


def test_a_body_whose_message_would_be_too_large_is_refused_before_it_is_queued(intake: Intake) -> None:
    # Given a compact body just under MAX_BODY_BYTES, which the message's own fields push over it
    filler = "x" * 4096
    events = [value_changed(filler)] * (MAX_BODY_BYTES // (len(filler) + 150))
    body = envelope("SHIRT-1", *events)
    compact = json.dumps(body, separators=(",", ":")).encode()
    extra = MAX_BODY_BYTES - 40 - len(compact)
    body["synchronization"]["resource_customs"] = "y" * extra
    compact = json.dumps(body, separators=(",", ":")).encode()
    assert MAX_BODY_BYTES - 60 < len(compact) <= MAX_BODY_BYTES

    # When it is received, Then it is too large, and nothing is queued
    with pytest.raises(CatalogPayloadTooLargeError):
        intake.service.receive(request(compact))
    assert intake.queue.sent == []


def test_a_request_refused_as_too_large_is_too_large_again_when_sent_again(intake: Intake) -> None:
    # Given a compact body under MAX_BODY_BYTES whose message is over it, refused as too large
    body = envelope("SHIRT-1", value_changed("x" * 1024))
    compact = json.dumps(body, separators=(",", ":")).encode()
    body["synchronization"]["resource_customs"] = "y" * (MAX_BODY_BYTES - 40 - len(compact))
    sent = request(json.dumps(body, separators=(",", ":")).encode())
    with pytest.raises(CatalogPayloadTooLargeError):
        intake.service.receive(sent)

    # When the PIM sends it again a second later
    intake.clock.advance(seconds=1)

    # Then it is refused as too large again: no copy of it is being queued
    with pytest.raises(CatalogPayloadTooLargeError):
        intake.service.receive(sent)
