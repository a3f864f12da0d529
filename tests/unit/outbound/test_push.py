"""The send_push action: a push service stand-in decrypts each message with the subscriber's keys and
checks the VAPID token's ES256 signature with Mercator's public key."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import http_ece
import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from mercator.domain.workflows import ActionFailedError, PushAction
from mercator.outbound.push import MAX_PAYLOAD_BYTES, PushSender, render
from mercator.state.secrets import SecretsVault
from mercator.state.subscriptions import DynamoPushSubscriptions
from tests.unit.outbound.conftest import REGION, FakeClock, FakeSleep, change_event, make_workflow

VAPID_SECRET = "mercator/vapid"
SUBJECT = "mailto:ops@mercator.example"
TENANT = "tenant-1"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclass
class Browser:
    """One subscriber: its push endpoint, its key pair and auth secret (only it can read its messages)."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: random.Random().randbytes(16))

    @property
    def p256dh(self) -> str:
        return b64url(point(self.key))

    def read(self, body: bytes) -> Any:
        return json.loads(
            http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        )


@dataclass
class PushService:
    """Answers per endpoint (scripted, last one repeats) and checks every request's VAPID token."""

    vapid_public: ec.EllipticCurvePublicKey
    answers: dict[str, list[int]] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)
    tokens_valid: list[bool] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        self.tokens_valid.append(self.token_holds(request, self.vapid_public))
        script = self.answers.get(str(request.url), [201])
        status = script.pop(0) if len(script) > 1 else script[0]
        return httpx.Response(status)

    @staticmethod
    def token_parts(request: httpx.Request) -> tuple[str, str]:
        scheme, _, params = request.headers["Authorization"].partition(" ")
        assert scheme == "vapid"
        parts = dict(part.split("=", 1) for part in params.split(","))
        return parts["t"], parts["k"]

    @classmethod
    def token_holds(cls, request: httpx.Request, public: ec.EllipticCurvePublicKey) -> bool:
        token, _ = cls.token_parts(request)
        signed, _, signature = token.rpartition(".")
        raw = unb64url(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            public.verify(der, signed.encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    @classmethod
    def claims(cls, request: httpx.Request) -> Any:
        token, _ = cls.token_parts(request)
        header, claims, _ = token.split(".")
        assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
        return json.loads(unb64url(claims))


@dataclass
class World:
    sender: PushSender
    service: PushService
    subscriptions: DynamoPushSubscriptions
    vapid: ec.EllipticCurvePrivateKey

    def subscribe(self, browser: Browser, tenant: str = TENANT) -> Browser:
        self.subscriptions.add(tenant, browser.endpoint, browser.p256dh, b64url(browser.auth))
        return browser


WorldFactory = Callable[..., World]


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def raw(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


@pytest.fixture
def make_world(table: str, secretsmanager: Any, clock: FakeClock, sleep: FakeSleep) -> WorldFactory:
    def make(
        *, key_form: Callable[[ec.EllipticCurvePrivateKey], str] = pem, secret: str | None = None
    ) -> World:
        vapid = ec.generate_private_key(ec.SECP256R1())
        text = (
            secret if secret is not None else json.dumps({"privateKey": key_form(vapid), "subject": SUBJECT})
        )
        arn = secretsmanager.create_secret(Name=VAPID_SECRET, SecretString=text)["ARN"]
        service = PushService(vapid.public_key())
        subscriptions = DynamoPushSubscriptions(boto3.client("dynamodb", region_name=REGION), table)
        sender = PushSender(
            httpx.Client(transport=httpx.MockTransport(service)),
            subscriptions,
            SecretsVault(secretsmanager),
            arn,
            sleep=sleep,
            clock=clock,
            rng=random.Random(3),
        )
        return World(sender, service, subscriptions, vapid)

    return make


def push_action(
    title: str = "Order {code} from {customer.name}", body: str = "Total {total} {currency}"
) -> PushAction:
    return PushAction(type="send_push", title=title, body=body, url="https://admin.example/orders/{code}")


@pytest.mark.parametrize("key_form", [pem, raw], ids=["pem", "raw-base64url"])
def test_each_subscriber_reads_its_notification_and_the_token_verifies(
    make_world: WorldFactory, clock: FakeClock, key_form: Callable[[ec.EllipticCurvePrivateKey], str]
) -> None:
    # Given two subscribed browsers of the tenant
    world = make_world(key_form=key_form)
    first = world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/abc123"))
    second = world.subscribe(Browser("https://updates.push.services.mozilla.com/wpush/v2/def456"))
    action = push_action()

    # When the action runs
    outcome = world.sender.run(action, change_event(), make_workflow(action))

    # Then each got a message only its own keys decrypt, with the title and body rendered
    assert outcome == f"pushed to 2 of 2 subscriptions of tenant {TENANT!r}"
    by_url = {str(request.url): request for request in world.service.seen}
    for browser in (first, second):
        message = browser.read(by_url[browser.endpoint].content)
        assert message["title"] == "Order 981 from Sara Al-Harbi"
        assert message["body"] == "Total 120.5 SAR"
        assert message["url"] == "https://admin.example/orders/981"
        assert message["data"]["code"] == "981"
    # And every request carries a VAPID token signed by Mercator's key, for that push service
    assert world.service.tokens_valid == [True, True]
    request = by_url[first.endpoint]
    assert PushService.token_parts(request)[1] == b64url(point(world.vapid))
    assert PushService.claims(request) == {
        "aud": "https://fcm.googleapis.com",
        "sub": SUBJECT,
        "exp": int(clock.now) + 12 * 3600,
    }
    assert request.headers["Content-Encoding"] == "aes128gcm"
    assert request.headers["TTL"] == "86400"


def test_a_message_is_unreadable_without_the_right_keys(make_world: WorldFactory) -> None:
    world = make_world()
    browser = world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/abc123"))
    world.sender.run(push_action(), change_event(), make_workflow(push_action()))
    body = world.service.seen[0].content

    # The right keys read it; another private key, or the right key with another auth secret, do not
    assert browser.read(body)["title"].startswith("Order 981")
    stranger = Browser(browser.endpoint)
    with pytest.raises(http_ece.ECEException, match="Decryption error"):
        stranger.read(body)
    wrong_auth = Browser(browser.endpoint, key=browser.key, auth=bytes(16))
    with pytest.raises(http_ece.ECEException, match="Decryption error"):
        wrong_auth.read(body)
    # And the token does not verify under another VAPID key
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert PushService.token_holds(world.service.seen[0], other) is False


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_removed_and_the_others_still_get_it(
    make_world: WorldFactory, status: int
) -> None:
    world = make_world()
    gone = world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/gone"))
    kept = world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/kept"))
    world.service.answers[gone.endpoint] = [status]

    outcome = world.sender.run(push_action(), change_event(), make_workflow(push_action()))

    assert outcome == f"pushed to 1 of 2 subscriptions of tenant {TENANT!r}; 1 gone (404/410) and removed"
    assert [s.endpoint for s in world.subscriptions.list(TENANT)] == [kept.endpoint]


def test_when_every_subscription_is_gone_the_action_fails_for_good(make_world: WorldFactory) -> None:
    world = make_world()
    browser = world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/gone"))
    world.service.answers[browser.endpoint] = [410]

    with pytest.raises(ActionFailedError) as caught:
        world.sender.run(push_action(), change_event(), make_workflow(push_action()))

    assert caught.value.retryable is False
    assert "1 gone (404/410) and removed" in caught.value.reason
    assert world.subscriptions.list(TENANT) == []


def test_push_service_errors_are_retried(make_world: WorldFactory, sleep: FakeSleep) -> None:
    world = make_world()
    browser = world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/flaky"))
    world.service.answers[browser.endpoint] = [503, 201]

    outcome = world.sender.run(push_action(), change_event(), make_workflow(push_action()))

    assert outcome == f"pushed to 1 of 1 subscriptions of tenant {TENANT!r}"
    assert len(world.service.seen) == 2
    assert len(sleep.calls) == 1


def test_an_unreachable_push_service_fails_retryably_showing_only_its_host(make_world: WorldFactory) -> None:
    world = make_world()
    browser = world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/secret-capability-token"))
    world.service.answers[browser.endpoint] = [500]

    with pytest.raises(ActionFailedError) as caught:
        world.sender.run(push_action(), change_event(), make_workflow(push_action()))

    assert caught.value.retryable is True
    assert "fcm.googleapis.com answered 500 after 3 attempts" in caught.value.reason
    assert "secret-capability-token" not in caught.value.reason
    assert world.subscriptions.list(TENANT) != []  # a failing service does not drop the subscription


def test_a_refused_message_fails_for_good(make_world: WorldFactory) -> None:
    world = make_world()
    browser = world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/x"))
    world.service.answers[browser.endpoint] = [403]

    with pytest.raises(ActionFailedError) as caught:
        world.sender.run(push_action(), change_event(), make_workflow(push_action()))

    assert caught.value.retryable is False
    assert "1 refused (fcm.googleapis.com answered 403)" in caught.value.reason


def test_only_the_workflow_tenants_subscriptions_are_used(make_world: WorldFactory) -> None:
    world = make_world()
    world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/other-tenant"), tenant="tenant-2")

    with pytest.raises(ActionFailedError) as caught:
        world.sender.run(push_action(), change_event(), make_workflow(push_action()))

    assert caught.value.retryable is False
    assert f"tenant {TENANT!r} has no push subscriptions" in caught.value.reason
    assert world.service.seen == []


def test_without_a_vapid_secret_push_is_not_set_up(make_world: WorldFactory) -> None:
    world = make_world()
    sender = PushSender(
        httpx.Client(transport=httpx.MockTransport(world.service)), world.subscriptions, None, None
    )  # type: ignore[arg-type]

    with pytest.raises(ActionFailedError) as caught:
        sender.run(push_action(), change_event(), make_workflow(push_action()))

    assert caught.value.retryable is False
    assert "VAPID_SECRET_ARN" in caught.value.reason


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("not json", "is not JSON"),
        (json.dumps({"subject": SUBJECT}), "has no privateKey"),
        (json.dumps({"privateKey": b64url(bytes(range(1, 33)))}), "needs a subject"),
        (json.dumps({"privateKey": b64url(b"short"), "subject": SUBJECT}), "raw privateKey of 5 bytes"),
        (
            json.dumps(
                {
                    "privateKey": "-----BEGIN PRIVATE KEY-----\nZm9v\n-----END PRIVATE KEY-----",
                    "subject": SUBJECT,
                }
            ),
            "cannot be read",
        ),
    ],
)
def test_a_malformed_vapid_secret_fails_for_good_without_quoting_it(
    make_world: WorldFactory, secret: str, message: str
) -> None:
    world = make_world(secret=secret)
    world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/x"))

    with pytest.raises(ActionFailedError) as caught:
        world.sender.run(push_action(), change_event(), make_workflow(push_action()))

    assert caught.value.retryable is False
    assert message in caught.value.reason
    assert "Zm9v" not in caught.value.reason
    assert world.service.seen == []


def test_a_long_body_is_shortened_to_fit_one_message(make_world: WorldFactory) -> None:
    world = make_world()
    browser = world.subscribe(Browser("https://fcm.googleapis.com/fcm/send/x"))
    record = {"code": "981", "note": "ملاحظة طويلة " * 600}
    action = push_action(title="Order {code}", body="{note}")

    world.sender.run(action, change_event(record), make_workflow(action))

    message = browser.read(world.service.seen[0].content)
    encoded = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(encoded) <= MAX_PAYLOAD_BYTES
    assert message["title"] == "Order 981"
    assert message["body"].endswith("…")
    assert message["body"].startswith("ملاحظة طويلة")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{code}", "981"),
        ("{customer.name} bought {items[0].name}", "Sara bought Mug"),
        ("Missing: [{nothing.here}]", "Missing: []"),
        ("{paid} / {items[0]}", 'false / {"name":"Mug"}'),
        ("{not a path!}", "{not a path!}"),
        ("no fields", "no fields"),
    ],
)
def test_render_fills_fields_from_the_record(template: str, expected: str) -> None:
    record = {"code": 981, "paid": False, "customer": {"name": "Sara"}, "items": [{"name": "Mug"}]}
    assert render(template, record) == expected
