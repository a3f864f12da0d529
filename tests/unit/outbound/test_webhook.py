"""The webhook action: signed Standard Webhooks POSTs, checked by a receiver that verifies by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from mercator.domain.errors import CredentialsError
from mercator.domain.workflows import ActionFailedError, WebhookAction, execution_id
from mercator.outbound.webhook_action import WebhookSender
from mercator.state.secrets import SecretsVault
from tests.unit.outbound.conftest import ORDER, FakeClock, FakeSleep, change_event, make_workflow

SECRET_NAME = "mercator/tenant-1/webhook-keys/warehouse-hook"
KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
URL = "https://hooks.example.com/mercator"

Answer = httpx.Response | Exception


@dataclass
class Receiver:
    """The tenant's endpoint: verifies each delivery independently, then gives the next scripted answer."""

    answers: list[Answer]
    key: bytes = KEY
    seen: list[httpx.Request] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        self.verified.append(self.signature_holds(request))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def signature_holds(self, request: httpx.Request) -> bool:
        msg_id = request.headers["webhook-id"]
        timestamp = request.headers["webhook-timestamp"]
        signed = f"{msg_id}.{timestamp}.".encode() + request.content
        expected = base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest()).decode()
        return request.headers["webhook-signature"] == f"v1,{expected}"

    def body(self, index: int = 0) -> Any:
        return json.loads(self.seen[index].content)


class FakeSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def secret_string(self, secret_id: str) -> str:
        try:
            return self.values[secret_id]
        except KeyError:
            raise CredentialsError(
                f"secret {secret_id!r} does not exist", integration_id=None, code="ResourceNotFoundException"
            ) from None


SenderFactory = Callable[..., tuple[WebhookSender, Receiver]]


@pytest.fixture
def make_sender(clock: FakeClock, sleep: FakeSleep) -> SenderFactory:
    def make(*answers: Answer, secrets: Any = None, attempts: int = 4) -> tuple[WebhookSender, Receiver]:
        receiver = Receiver(list(answers) or [httpx.Response(200)])
        http = httpx.Client(transport=httpx.MockTransport(receiver))
        sender = WebhookSender(
            http,
            secrets or FakeSecrets({SECRET_NAME: SECRET}),
            attempts=attempts,
            sleep=sleep,
            clock=clock,
            rng=random.Random(5),
        )
        return sender, receiver

    return make


def webhook_action(url: str = URL, **headers: str) -> WebhookAction:
    return WebhookAction(type="webhook", url=url, secretName=SECRET_NAME, headers=headers)


def test_delivery_is_signed_and_carries_the_record_and_context(
    make_sender: SenderFactory, clock: FakeClock
) -> None:
    # Given a receiver that answers 204
    sender, receiver = make_sender(httpx.Response(204))
    event, action = change_event(), webhook_action(**{"X-Tenant-Token": "abc"})
    workflow = make_workflow(action)

    # When the action runs
    outcome = sender.run(action, event, workflow)

    # Then one POST arrived, its Standard Webhooks signature holds, and the body is the envelope
    assert outcome == "POST https://hooks.example.com/mercator answered 204"
    (request,) = receiver.seen
    assert receiver.verified == [True]
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-timestamp"] == "1714557600"
    assert request.headers["webhook-id"] == execution_id(event, "wf-1")
    assert request.headers["X-Tenant-Token"] == "abc"
    body = receiver.body()
    assert body["type"] == "order.created"
    assert body["timestamp"] == "2024-05-01T10:00:00Z"
    assert body["data"]["record"] == ORDER
    context = body["data"]["context"]
    assert context["eventId"] == event.id
    assert context["tenantId"] == "tenant-1"
    assert context["integrationId"] == "shop-1"
    assert context["workflow"] == {"guid": "wf-1", "name": "Tell the warehouse"}


def test_a_wrong_key_does_not_verify(make_sender: SenderFactory) -> None:
    # The receiver's check is real: the same delivery fails it under another key.
    sender, receiver = make_sender()
    receiver.key = b"another key entirely, 32 bytes.."
    sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))
    assert receiver.verified == [False]


def test_the_message_id_is_stable_per_event_and_workflow(make_sender: SenderFactory) -> None:
    sender, receiver = make_sender()
    event, action = change_event(), webhook_action()

    sender.run(action, event, make_workflow(action))
    sender.run(action, event, make_workflow(action))
    sender.run(action, event, make_workflow(action, guid="wf-2"))
    sender.run(action, change_event(code="982"), make_workflow(action))

    ids = [request.headers["webhook-id"] for request in receiver.seen]
    assert ids[0] == ids[1]
    assert len({ids[0], ids[2], ids[3]}) == 3


def test_server_errors_are_retried_with_full_jitter_then_succeed(
    make_sender: SenderFactory, sleep: FakeSleep
) -> None:
    # Given a receiver that fails twice (500, 503) and then accepts
    sender, receiver = make_sender(httpx.Response(500), httpx.Response(503), httpx.Response(200))

    outcome = sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    # Then three attempts were made, each signed afresh at its own time, with the same id
    assert outcome.endswith("answered 200 after 3 attempts")
    assert len(receiver.seen) == 3
    assert receiver.verified == [True, True, True]
    assert len({request.headers["webhook-id"] for request in receiver.seen}) == 1
    stamps = [int(request.headers["webhook-timestamp"]) for request in receiver.seen]
    assert stamps == sorted(stamps)
    # Full jitter: each wait lies between 0 and base (0.5 s) * 2**attempt
    assert len(sleep.calls) == 2
    assert 0 <= sleep.calls[0] <= 0.5
    assert 0 <= sleep.calls[1] <= 1.0


def test_a_client_error_fails_at_once_and_for_good(make_sender: SenderFactory, sleep: FakeSleep) -> None:
    sender, receiver = make_sender(httpx.Response(400, text='{"error": "unknown field orderz"}'))

    with pytest.raises(ActionFailedError) as caught:
        sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert caught.value.retryable is False
    # The status and its standard description: the receiver's body is never echoed into the reason.
    assert caught.value.reason == "POST https://hooks.example.com/mercator answered 400 Bad Request"
    assert len(receiver.seen) == 1
    assert sleep.calls == []


@pytest.mark.parametrize("status", [408, 429, 502])
def test_timeouts_throttling_and_gateway_errors_are_retried(make_sender: SenderFactory, status: int) -> None:
    sender, receiver = make_sender(httpx.Response(status), httpx.Response(202))

    sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert len(receiver.seen) == 2


def test_retry_after_is_honoured(make_sender: SenderFactory, sleep: FakeSleep) -> None:
    sender, receiver = make_sender(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200))

    sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert sleep.calls == [7.0]
    assert len(receiver.seen) == 2
    first, second = (int(request.headers["webhook-timestamp"]) for request in receiver.seen)
    assert second - first == 7


def test_a_retry_after_longer_than_mercator_waits_ends_the_attempts(
    make_sender: SenderFactory, sleep: FakeSleep
) -> None:
    sender, receiver = make_sender(httpx.Response(503, headers={"Retry-After": "120"}))

    with pytest.raises(ActionFailedError) as caught:
        sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert caught.value.retryable is True
    assert "asks to wait 120 s" in caught.value.reason
    assert len(receiver.seen) == 1
    assert sleep.calls == []


def test_exhausted_retries_fail_retryably(make_sender: SenderFactory, sleep: FakeSleep) -> None:
    sender, receiver = make_sender(httpx.Response(500), attempts=3)

    with pytest.raises(ActionFailedError) as caught:
        sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert caught.value.retryable is True
    assert "answered 500 Internal Server Error after 3 attempts" in caught.value.reason
    assert len(receiver.seen) == 3
    assert len(sleep.calls) == 2


def test_connection_errors_are_retried(make_sender: SenderFactory) -> None:
    sender, receiver = make_sender(
        httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200)
    )

    outcome = sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert outcome.endswith("after 3 attempts")
    assert len(receiver.seen) == 3


def test_unreachable_receiver_fails_retryably_naming_why(make_sender: SenderFactory) -> None:
    sender, _ = make_sender(httpx.ConnectError("refused"), attempts=2)

    with pytest.raises(ActionFailedError) as caught:
        sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert caught.value.retryable is True
    assert "could not be reached (ConnectError) after 2 attempts" in caught.value.reason


def test_a_redirect_is_not_followed(make_sender: SenderFactory) -> None:
    sender, receiver = make_sender(httpx.Response(301, headers={"Location": "https://elsewhere.example"}))

    with pytest.raises(ActionFailedError) as caught:
        sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert caught.value.retryable is False
    assert "redirect" in caught.value.reason
    assert len(receiver.seen) == 1


def test_reasons_show_no_credentials_of_the_url_the_headers_or_the_key(make_sender: SenderFactory) -> None:
    # Given a URL with user info and a token, and a receiver that echoes what it was sent
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text=f"denied {request.headers['X-Api-Key']} {SECRET}")

    sender, receiver = make_sender()
    receiver.answers = [echo(httpx.Request("POST", URL, headers={"X-Api-Key": "key-5bd1e0f2a7c9"}))]
    action = webhook_action(
        "https://ops:pa55w0rd-9@hooks.example.com/in?token=tok-81c3e5", **{"X-Api-Key": "key-5bd1e0f2a7c9"}
    )

    with pytest.raises(ActionFailedError) as caught:
        sender.run(action, change_event(), make_workflow(action))

    reason = caught.value.reason
    assert "answered 403" in reason
    for secret in ("pa55w0rd-9", "tok-81c3e5", "key-5bd1e0f2a7c9", SECRET):
        assert secret not in reason
    assert "hooks.example.com/in" in reason


def test_action_headers_cannot_replace_the_signature(make_sender: SenderFactory) -> None:
    sender, receiver = make_sender()
    action = webhook_action(**{"Webhook-Signature": "v1,forged", "Content-Type": "text/plain"})

    sender.run(action, change_event(), make_workflow(action))

    assert receiver.verified == [True]
    assert receiver.seen[0].headers["content-type"] == "application/json"


def test_a_missing_signing_secret_fails_for_good_before_any_post(make_sender: SenderFactory) -> None:
    sender, receiver = make_sender(secrets=FakeSecrets({}))

    with pytest.raises(ActionFailedError) as caught:
        sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert caught.value.retryable is False
    assert SECRET_NAME in caught.value.reason
    assert receiver.seen == []


def test_a_key_that_is_not_base64_fails_for_good_without_showing_it(make_sender: SenderFactory) -> None:
    sender, receiver = make_sender(secrets=FakeSecrets({SECRET_NAME: "whsec_not base64 at all!"}))

    with pytest.raises(ActionFailedError) as caught:
        sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert caught.value.retryable is False
    assert "not base64" in caught.value.reason
    assert "not base64 at all!" not in caught.value.reason
    assert receiver.seen == []


def test_the_signing_key_comes_from_secrets_manager(make_sender: SenderFactory, secretsmanager: Any) -> None:
    # Given the key stored in (moto's) Secrets Manager
    secretsmanager.create_secret(Name=SECRET_NAME, SecretString=SECRET)
    sender, receiver = make_sender(secrets=SecretsVault(secretsmanager))

    sender.run(webhook_action(), change_event(), make_workflow(webhook_action()))

    assert receiver.verified == [True]


class CountingSecrets(FakeSecrets):
    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: list[str] = []

    def secret_string(self, secret_id: str) -> str:
        self.read.append(secret_id)
        return super().secret_string(secret_id)


@pytest.mark.parametrize(
    "secret_name",
    [
        "mercator/tenant-2/webhook-keys/warehouse-hook",  # another tenant's signing key
        "mercator/credentials/tenant-1/shop-1",  # the tenant's own store credentials
        "mercator/oauth-apps/salla",  # Mercator's OAuth app
        "mercator/vapid/push",  # Mercator's VAPID key
        "mercator/tenant-1/warehouse-hook",  # the tenant's, but not among its signing keys
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/tenant-2/webhook-keys/k-Ab12Cd",
    ],
)
def test_only_the_tenants_own_signing_keys_are_ever_read(
    make_sender: SenderFactory, secret_name: str
) -> None:
    # Given a stored workflow of tenant-1 whose action names a secret that is not one of its signing keys
    secrets = CountingSecrets({secret_name: SECRET})
    sender, receiver = make_sender(secrets=secrets)
    action = WebhookAction(type="webhook", url=URL, secretName=secret_name)

    # When it runs
    with pytest.raises(ActionFailedError) as caught:
        sender.run(action, change_event(), make_workflow(action, tenant_id="tenant-1"))

    # Then it fails for good, saying where signing keys live, without reading the secret or posting
    assert caught.value.retryable is False
    assert "name a secret under mercator/tenant-1/webhook-keys/" in caught.value.reason
    assert secrets.read == []
    assert receiver.seen == []


def test_another_action_type_is_a_programming_error(make_sender: SenderFactory) -> None:
    sender, _ = make_sender()
    workflow = make_workflow(webhook_action())
    with pytest.raises(TypeError, match="runs WebhookAction actions, not dict"):
        sender.run({"type": "webhook"}, change_event(), workflow)
