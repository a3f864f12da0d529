"""What a workflow webhook's receiver answers is never stored with the execution nor handed back.

A tenant's webhook address is theirs to choose; were the receiver's body kept in the execution's
reason, resuming would make Mercator a way to read whatever that address answers.
"""

from __future__ import annotations

import base64

import httpx
import pytest

from mercator.outbound.webhook_action import WebhookSender
from mercator.services.dispatch import DispatchService
from tests.unit.services.dispatch_support import DispatchWorld, FakeWorkflows, change, workflow

LEAK = "root:x:0:0:root:/root:/bin/bash"
KEY = "mercator/tenant-7/webhook-keys/orders"
ACTION = {"type": "webhook", "url": "https://hooks.example.com/orders", "secretName": KEY}


class _Secrets:
    def secret_string(self, secret_id: str) -> str:
        return "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, "POST https://hooks.example.com/orders answered 400 Bad Request"),
        (404, "POST https://hooks.example.com/orders answered 404 Not Found"),
        (451, "POST https://hooks.example.com/orders answered 451 Unavailable For Legal Reasons"),
        (599, "POST https://hooks.example.com/orders answered 599 after 2 attempts"),
        (503, "POST https://hooks.example.com/orders answered 503 Service Unavailable after 2 attempts"),
    ],
)
def test_a_failed_webhook_pauses_with_its_status_alone_and_so_does_its_resume(
    status: int, reason: str
) -> None:
    answers = httpx.MockTransport(lambda request: httpx.Response(status, text=f"<pre>{LEAK}</pre>"))
    sender = WebhookSender(httpx.Client(transport=answers), _Secrets(), attempts=2, sleep=lambda _: None)
    world = DispatchWorld(FakeWorkflows(workflow("wf-1", action=ACTION)))
    service: DispatchService = world.service({"webhook": sender})

    service.dispatch(change())
    [paused] = world.executions.of("wf-1")
    resumed = service.resume("tenant-7", paused.id)

    assert (paused.status, paused.reason) == ("paused", reason)
    assert (resumed.status, resumed.reason) == ("paused", reason)
    for execution in world.executions.puts:
        assert LEAK not in execution.model_dump_json()
