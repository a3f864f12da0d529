"""Keys rotated in Secrets Manager reach a warm dispatch Lambda once the vault's copy ages (five
minutes), not only after a cold start: the VAPID key of send_push and a webhook's signing key."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mercator.domain.entities import PushSubscription
from mercator.domain.workflows import PushAction, WebhookAction
from mercator.outbound.push import PushSender
from mercator.outbound.webhook_action import WebhookSender
from mercator.state.secrets import MAX_AGE_SECONDS, SecretsVault
from tests.secret_cache_clock import CacheClock
from tests.unit.outbound.conftest import FakeClock, FakeSleep, change_event, make_workflow

TENANT = "tenant-1"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public(key: ec.EllipticCurvePrivateKey) -> str:
    point = serialization.PublicFormat.UncompressedPoint
    return b64url(key.public_key().public_bytes(serialization.Encoding.X962, point))


def vapid_text(key: ec.EllipticCurvePrivateKey) -> str:
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return json.dumps({"privateKey": b64url(raw), "subject": "mailto:ops@mercator.example"})


class OneSubscriber:
    def __init__(self) -> None:
        browser = ec.generate_private_key(ec.SECP256R1())
        self.subscription = PushSubscription(
            tenant_id=TENANT,
            endpoint="https://push.example/send/sub-1",
            p256dh=public(browser),
            auth=b64url(random.Random(5).randbytes(16)),
        )

    def list(self, tenant_id: str) -> list[PushSubscription]:
        return [self.subscription]

    def remove(self, tenant_id: str, endpoint: str) -> bool:
        return False


@pytest.fixture
def cache_clock(monkeypatch: pytest.MonkeyPatch) -> CacheClock:
    return CacheClock().install(monkeypatch)


def test_a_rotated_vapid_key_signs_once_the_vaults_copy_ages(
    secretsmanager: Any, clock: FakeClock, sleep: FakeSleep, cache_clock: CacheClock
) -> None:
    first, second = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    arn = secretsmanager.create_secret(Name="mercator/vapid/push", SecretString=vapid_text(first))["ARN"]
    signed_by: list[str] = []

    def push_service(request: httpx.Request) -> httpx.Response:
        params = dict(part.split("=", 1) for part in request.headers["Authorization"][6:].split(","))
        signed_by.append(params["k"])
        return httpx.Response(201)

    sender = PushSender(
        httpx.Client(transport=httpx.MockTransport(push_service)),
        OneSubscriber(),
        SecretsVault(secretsmanager),
        arn,
        sleep=sleep,
        clock=clock,
    )
    action = PushAction(type="send_push", title="Order {code}", body="New order")
    workflow = make_workflow(action)

    sender.run(action, change_event(), workflow)
    secretsmanager.put_secret_value(SecretId=arn, SecretString=vapid_text(second))
    sender.run(action, change_event(), workflow)
    cache_clock.advance(MAX_AGE_SECONDS + 1)
    sender.run(action, change_event(), workflow)

    assert signed_by == [public(first), public(first), public(second)]


def test_a_rotated_signing_key_signs_once_the_vaults_copy_ages(
    secretsmanager: Any, clock: FakeClock, sleep: FakeSleep, cache_clock: CacheClock
) -> None:
    name = f"mercator/{TENANT}/webhook-keys/warehouse"
    first, second = b"first-signing-key-0123456789abcd", b"second-signing-key-0123456789abc"
    secretsmanager.create_secret(Name=name, SecretString="whsec_" + base64.b64encode(first).decode())
    reads: list[str] = []
    secretsmanager.meta.events.register(
        "provide-client-params.secrets-manager.GetSecretValue",
        lambda params, **_: reads.append(params["SecretId"]),
    )
    signatures: list[str] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        signatures.append(request.headers["webhook-signature"])
        return httpx.Response(200)

    sender = WebhookSender(
        httpx.Client(transport=httpx.MockTransport(receiver)),
        SecretsVault(secretsmanager),
        sleep=sleep,
        clock=clock,
    )
    action = WebhookAction(type="webhook", url="https://hooks.example/in", secretName=name)
    workflow = make_workflow(action)

    for _ in range(3):
        sender.run(action, change_event(), workflow)
    secretsmanager.put_secret_value(SecretId=name, SecretString="whsec_" + base64.b64encode(second).decode())
    cache_clock.advance(MAX_AGE_SECONDS + 1)
    sender.run(action, change_event(), workflow)

    assert reads == [name, name]  # three actions on one read, then one more after max_age
    assert signatures[0] == signatures[1] == signatures[2]  # same key, id and (fake) time
    assert signatures[3] != signatures[0]
