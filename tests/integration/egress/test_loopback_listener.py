"""A tenant cannot make Mercator call a service on its own loopback, except in the local stack.

A real HTTP listener on 127.0.0.1 stands for whatever an instance keeps there (an admin port, a
sidecar, a metadata proxy). Configuring an integration, syncing it, a workflow webhook and a Web Push
message each try to reach it: under the deployment's policy none gets so much as a TCP connection
through, whether the address is written out, named ``localhost`` or behind a public-looking name
that resolves to loopback; under the local stack's ``EGRESS_ALLOW_LOOPBACK`` each one arrives.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import socket
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mercator.api.schemas import ConfigureIntegrationRequest
from mercator.domain.entities import PushSubscription
from mercator.domain.messages import SyncJob
from mercator.domain.workflows import ActionFailedError, PushAction, WebhookAction
from mercator.outbound.push import PushSender
from mercator.outbound.webhook_action import WebhookSender
from mercator.providers.egress import EgressPolicy, system_resolver
from mercator.services.connectors import ConnectorCatalog
from mercator.services.management import ConfigurationError
from mercator.services.registration import register_integration
from mercator.state.secrets import SecretsVault
from tests.fake_aws import use_fake_aws
from tests.unit.outbound.conftest import change_event, make_workflow
from tests.unit.services.management_world import REGION, management_world

TENANT = "tenant-1"
SIGNING_KEY = "mercator/tenant-1/webhook-keys/hook"
# The RFC 8291 example subscription keys (Message Encryption for Web Push, section 5).
P256DH = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
# A name that looks like anyone's store and resolves to loopback (its owner controls its DNS).
DISGUISED = "shop.example.com"


@dataclass
class Listener:
    """What reached the listener: TCP connections accepted, and requests read."""

    port: int = 0
    connections: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listener: Listener) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.listener = listener

    def get_request(self) -> tuple[socket, Any]:
        accepted = super().get_request()
        self.listener.connections += 1
        return accepted


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.listener.requests.append(("GET", self.path))
        # An empty WooCommerce listing: what any JSON service on loopback might as well answer.
        self._answer(200, b"[]", {"X-WP-Total": "0", "X-WP-TotalPages": "0"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.listener.requests.append(("POST", self.path))
        self._answer(201, b"", {})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    server = _Server(found)
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="loopback-listener", daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def resolver(host: str, port: int) -> list[str]:
    return ["127.0.0.1"] if host == DISGUISED else system_resolver(host, port)


DEPLOYED = EgressPolicy(resolver=resolver)
LOCAL = EgressPolicy(allow_loopback=True, resolver=resolver)


def refused_addresses(port: int, *, ipv6: bool = True) -> list[tuple[str, str]]:
    """Every way to write the listener's address, with why the deployment's policy refuses it."""
    mapped = [(f"https://[::ffff:127.0.0.1]:{port}", "::ffff:127.0.0.1 is a loopback address")]
    return [
        (f"http://127.0.0.1:{port}", "http://127.0.0.1 is not https"),
        (f"https://127.0.0.1:{port}", "127.0.0.1 is a loopback address"),
        *(mapped if ipv6 else []),
        (f"https://localhost:{port}", "localhost resolves to a loopback address"),
        (f"https://{DISGUISED}:{port}", f"{DISGUISED} resolves to a loopback address"),
    ]


def woo_store(store_url: str) -> ConfigureIntegrationRequest:
    return ConfigureIntegrationRequest.model_validate(
        {
            "providerId": "woocommerce",
            "providerType": "ecommerce",
            "credentials": {
                "consumerKey": "ck_5e1a9c3f7b2d8e40",
                "consumerSecret": "cs_2b7f4d9a1c6e3f58",
                "storeUrl": store_url,
                "webhookSecret": "woo-whs-Ht7Bq3Wm9Jc5",
            },
        }
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws(monkeypatch, REGION)


# Configure


def test_configure_cannot_reach_loopback_under_the_deployments_policy(aws: None, listener: Listener) -> None:
    with management_world(DEPLOYED) as world:
        for address, problem in refused_addresses(listener.port):
            with pytest.raises(ConfigurationError) as caught:
                world.service.configure(TENANT, woo_store(address))
            assert problem in str(caught.value), str(caught.value)
        # A connector whose stores live on one host refuses the address before the guard sees it
        with pytest.raises(ConfigurationError, match=r"allowed hosts: api\.salla\.dev"):
            world.service.configure(
                TENANT,
                ConfigureIntegrationRequest.model_validate(
                    {
                        "providerId": "salla",
                        "providerType": "ecommerce",
                        "credentials": {"accessToken": "at-1", "webhookSecret": "whs-1"},
                        "settings": {"baseUrl": f"http://127.0.0.1:{listener.port}/admin/v2"},
                    }
                ),
            )

    assert listener.connections == 0


def test_configure_reaches_a_loopback_store_in_the_local_stack(aws: None, listener: Listener) -> None:
    with management_world(LOCAL) as world:
        integration = world.service.configure(TENANT, woo_store(f"http://127.0.0.1:{listener.port}"))

    assert integration.connector == "woocommerce"
    assert [(method, path.partition("?")[0]) for method, path in listener.requests] == [
        ("GET", "/wp-json/wc/v3/products")
    ]


# Sync


@pytest.mark.parametrize("local", [False, True], ids=["deployed", "local"])
def test_a_stored_integration_syncs_from_loopback_only_in_the_local_stack(
    aws: None, listener: Listener, local: bool
) -> None:
    with management_world(LOCAL if local else DEPLOYED) as world:
        # Given a WooCommerce integration stored with the listener as its store (as an integration
        # stored before the guard, or by an operator, could be)
        integration = register_integration(
            world.integrations,
            SecretsVault(world.secrets),
            ConnectorCatalog().get("woocommerce"),
            tenant_id=TENANT,
            credentials=woo_store(f"http://127.0.0.1:{listener.port}").credential_values(),
        )

        # When its products are synced
        job = SyncJob(integration_id=integration.id, resource="products")
        try:
            asyncio.run(world.sync.run_sync_job(job, lambda: 300.0))
            failure = ""
        except Exception as exc:  # the run's failure is what is looked at
            failure = str(exc)

    if local:
        assert [(method, path.partition("?")[0]) for method, path in listener.requests][:1] == [
            ("GET", "/wp-json/wc/v3/products")
        ]
    else:
        assert "was not sent: http://127.0.0.1 is not https" in failure
        assert listener.connections == 0


# Workflow webhooks


@pytest.mark.parametrize("local", [False, True], ids=["deployed", "local"])
def test_a_workflow_webhook_reaches_loopback_only_in_the_local_stack(listener: Listener, local: bool) -> None:
    secrets = _Secrets({SIGNING_KEY: "whsec_" + base64.b64encode(b"k" * 32).decode()})
    addresses = refused_addresses(listener.port) if not local else [(f"http://127.0.0.1:{listener.port}", "")]

    for address, problem in addresses:
        action = WebhookAction(type="webhook", url=f"{address}/hook", secretName=SIGNING_KEY)
        with (LOCAL if local else DEPLOYED).client() as http:
            sender = WebhookSender(http, secrets, sleep=lambda _: None)
            if local:
                assert "answered 201" in sender.run(action, change_event(), make_workflow(action))
                continue
            with pytest.raises(ActionFailedError) as caught:
                sender.run(action, change_event(), make_workflow(action))
        # Refused for good, never retried, with the reason and no answer in it
        assert caught.value.retryable is False
        assert problem in caught.value.reason

    if local:
        assert listener.requests == [("POST", "/hook")]
    else:
        assert listener.connections == 0


# Web Push


@pytest.mark.parametrize("local", [False, True], ids=["deployed", "local"])
def test_a_push_message_reaches_loopback_only_in_the_local_stack(listener: Listener, local: bool) -> None:
    vapid = ec.generate_private_key(ec.SECP256R1())
    raw = vapid.private_numbers().private_value.to_bytes(32, "big")
    key = json.dumps(
        {
            "privateKey": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
            "subject": "mailto:ops@example.com",
        }
    )
    # No IPv6 literal: a VAPID token's audience cannot name one (py_vapid refuses it before any request)
    addresses = (
        refused_addresses(listener.port, ipv6=False)
        if not local
        else [(f"http://127.0.0.1:{listener.port}", "")]
    )
    action = PushAction(type="send_push", title="Order {code}")

    for address, problem in addresses:
        subscriptions = _Subscriptions([PushSubscription(TENANT, f"{address}/push/abc", P256DH, AUTH)])
        with (LOCAL if local else DEPLOYED).client() as http:
            sender = PushSender(http, subscriptions, _Secrets({"vapid": key}), "vapid", sleep=lambda _: None)
            if local:
                assert "pushed to 1 of 1" in sender.run(action, change_event(), make_workflow(action))
                continue
            with pytest.raises(ActionFailedError) as caught:
                sender.run(action, change_event(), make_workflow(action))
        assert caught.value.retryable is False
        assert problem in caught.value.reason
        assert subscriptions.removed == []

    if local:
        assert listener.requests == [("POST", "/push/abc")]
    else:
        assert listener.connections == 0


class _Secrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def secret_string(self, secret_id: str) -> str:
        return self.values[secret_id]


class _Subscriptions:
    def __init__(self, subscriptions: list[PushSubscription]) -> None:
        self.subscriptions = subscriptions
        self.removed: list[str] = []

    def list(self, tenant_id: str) -> list[PushSubscription]:
        return list(self.subscriptions)

    def remove(self, tenant_id: str, endpoint: str) -> bool:
        self.removed.append(endpoint)
        return True
