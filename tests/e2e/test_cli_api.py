"""``mercator integrations`` and ``workflows`` over HTTP against the Integrations API on the local stack.

The command runs as a user runs it, in its own process, with the tenant's key in MERCATOR_API_KEY;
the stack serves the API (API-key authorizer in front of ManagementApiFunction) and the webhook
route from template.yaml, and a Salla sandbox store over HTTP, which checks the credentials.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.domain.workflows import trigger_id
from mercator.state.api_keys import DynamoApiKeys
from mercator.state.integrations import DynamoIntegrations
from mercator_local import LocalStack
from mercator_local.template import Template
from mercator_local.webhook_signing import signed_headers
from mercator_sandbox import Sandbox

TENANT = "acme"
FUNCTION = "ManagementApiFunction"
SIZES = {"orders": 3, "products": 2, "customers": 2, "carts": 1}
CREDENTIALS = {"accessToken": "salla-e2e-cli-token", "webhookSecret": "salla-e2e-cli-webhook-secret"}
LIST_ROUTE = ("/api/integrations", "get")


def for_this_test(template: Template) -> Template:
    """The template with ``GET /api/integrations`` routed to ManagementApiFunction, which serves it
    (unless the template routes it already), and WebhookIntake remembering no integration: a warm
    function sees a disabled integration only once its look-up cache (15 s) expires."""
    body = copy.deepcopy(dict(template.body))
    resources = body["Resources"]
    events: dict[str, Any] = resources[FUNCTION]["Properties"]["Events"]
    routed = {(event["Properties"]["Path"], event["Properties"]["Method"]) for event in events.values()}
    if LIST_ROUTE not in routed:
        listing = copy.deepcopy(events["Configure"])
        listing["Properties"].update(Path=LIST_ROUTE[0], Method=LIST_ROUTE[1])
        events["ListIntegrations"] = listing
    resources["WebhookIntakeFunction"]["Properties"]["Environment"]["Variables"][
        "WEBHOOK_LOOKUP_CACHE_SECONDS"
    ] = "0"
    return Template(path=template.path, body=body)


@dataclass
class Served:
    stack: LocalStack
    url: str
    key: str
    store_url: str
    guarded_store_url: str
    folder: Path

    def mercator(self, *argv: str) -> tuple[int, str, str]:
        """``mercator ARGV`` in its own process, as the tenant."""
        env = {**os.environ, "MERCATOR_API_URL": self.url, "MERCATOR_API_KEY": self.key}
        done = subprocess.run(
            [sys.executable, "-m", "mercator.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert self.key not in done.stdout + done.stderr
        assert CREDENTIALS["accessToken"] not in done.stdout + done.stderr
        return done.returncode, done.stdout, done.stderr

    def credentials_file(self) -> Path:
        path = self.folder / "salla.json"
        path.write_text(json.dumps(CREDENTIALS), encoding="utf-8")
        return path

    def configure(self) -> str:
        code, out, err = self.mercator(
            "integrations",
            "configure",
            *("--provider", "salla", "--credentials-file", str(self.credentials_file())),
            *("--setting", f"baseUrl={self.store_url}"),
        )
        assert code == 0, err
        return out.strip()

    def deliver_order(self, integration_id: str) -> int:
        """POST a signed Salla order.created delivery to the integration's webhook; the status."""
        definition = load_shipped("salla")
        assert definition.webhook is not None
        body = definition.resolve("samples/salla/order_created.json").read_bytes()
        headers = signed_headers(definition.webhook.verification, CREDENTIALS, body, now=datetime.now(UTC))
        response = httpx.post(
            f"{self.url}/webhooks/{integration_id}",
            content=body,
            headers={"Content-Type": "application/json", **headers},
        )
        return response.status_code

    def scheduled_jobs(self) -> int:
        """How many sync jobs the orders schedule fans out now."""
        fanned_out = self.stack.runner.invoke_schedule("ScheduledSyncFunction", "orders")
        jobs: int = fanned_out["jobs"]
        return jobs

    def tenant_secrets(self) -> list[str]:
        """The names of the tenant's credentials (the stack has secrets of its own: the OAuth state key)."""
        listed = self.stack.client("secretsmanager").list_secrets()["SecretList"]
        own = f"mercator/credentials/{TENANT}/"
        return sorted(secret["Name"] for secret in listed if secret["Name"].startswith(own))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    stack = LocalStack()
    stack.template = for_this_test(stack.template)
    with stack:
        keys = DynamoApiKeys(stack.client("dynamodb"), stack.table_name("StateTable"))
        store = Sandbox("salla", seed=5, sizes=SIZES, rate_limit=None)
        # A store that accepts only the tokens its own OAuth server issued.
        guarded = Sandbox("salla", seed=5, sizes=SIZES, rate_limit=None, oauth={})
        yield Served(
            stack=stack,
            url=stack.serve_api(),
            key=keys.create(TENANT).key,
            store_url=store.base_url(stack.serve_sandbox(store)),
            guarded_store_url=guarded.base_url(stack.serve_sandbox(guarded)),
            folder=tmp_path,
        )


def test_an_integration_is_configured_listed_disabled_and_removed(served: Served) -> None:
    # Credentials the store refuses are refused with its reason, and nothing is stored
    code, out, err = served.mercator(
        "integrations",
        "configure",
        *("--provider", "salla", "--credentials-file", str(served.credentials_file())),
        *("--setting", f"baseUrl={served.guarded_store_url}"),
    )
    assert (code, out) == (1, "")
    assert err.startswith(
        "mercator integrations configure: CONFIGURATION_ERROR: Invalid credentials: Salla refused them (401)"
    )
    assert served.tenant_secrets() == []

    # Credentials the store takes make an active integration that webhooks and schedules reach
    guid = served.configure()
    integrations = DynamoIntegrations(served.stack.client("dynamodb"), served.stack.table_name("StateTable"))
    stored = integrations.get(guid)
    assert stored is not None and (stored.tenant_id, stored.status) == (TENANT, "active")
    assert served.tenant_secrets() == [f"mercator/credentials/{TENANT}/{guid}"]
    code, out, _ = served.mercator("integrations", "list", "--format", "json")
    assert code == 0
    [listed] = json.loads(out)
    assert (listed["guid"], listed["provider"], listed["status"]) == (guid, "salla", "active")
    assert listed["resources"] == ["orders", "products", "customers", "abandoned_carts", "shipments"]
    assert served.deliver_order(guid) == 200
    assert served.scheduled_jobs() == 1

    # Disabled: its webhook answers 404 and the schedule skips it
    assert served.mercator("integrations", "disable", guid) == (0, f"{guid}  disabled\n", "")
    assert served.deliver_order(guid) == 404
    assert served.scheduled_jobs() == 0
    code, out, _ = served.mercator("integrations", "list")
    assert out.splitlines()[1].split()[:3] == [guid, "salla", "disabled"]

    # Removed: gone from the list, its secret deleted, and a second removal is not found
    code, _, err = served.mercator("integrations", "remove", guid)
    assert (code, err) == (0, f"removed integration {guid}; its records stay\n")
    assert served.mercator("integrations", "list", "--format=json")[1] == "[]\n"
    assert served.tenant_secrets() == []
    assert served.deliver_order(guid) == 404
    assert served.mercator("integrations", "remove", guid) == (
        1,
        "",
        f"mercator integrations remove: NOT_FOUND: Integration not found: {guid!r}\n",
    )


def test_a_workflow_is_configured_listed_toggled_and_deleted(served: Served) -> None:
    served.configure()
    order_created = trigger_id("salla", "order.created")
    code, out, _ = served.mercator("workflows", "triggers", "Order", "--format=json")
    assert code == 0
    assert [trigger["code"] for trigger in json.loads(out)][:2] == ["order.created", "order.updated"]
    workflow = served.folder / "workflow.json"
    workflow.write_text(
        json.dumps(
            {
                "name": "Mail the customer",
                "entityType": "Order",
                "triggerId": order_created,
                "action": {"type": "send_email", "recipient": "customer", "template": "order_received"},
                "conditions": {"status": "paid"},
            }
        ),
        encoding="utf-8",
    )

    code, out, err = served.mercator("workflows", "configure", "--file", str(workflow))
    assert code == 0
    guid = out.strip()
    assert err == f"configured workflow {guid} (Mail the customer, active)\n"
    code, out, _ = served.mercator("workflows", "list", "Order", "--format=json")
    assert json.loads(out) == [
        {
            "guid": guid,
            "name": "Mail the customer",
            "entityType": "Order",
            "trigger": "order.created",
            "triggerId": order_created,
            "action": "send_email",
            "isActive": True,
            "isManaged": False,
        }
    ]
    assert served.mercator("workflows", "toggle", guid) == (0, f"{guid}  inactive\n", "")
    assert served.mercator("workflows", "delete", guid) == (0, "", f"deleted workflow {guid}\n")
    assert served.mercator("workflows", "list", "Order", "--format=json")[1] == "[]\n"
    assert served.mercator("workflows", "resume", "no-such-execution") == (
        1,
        "",
        "mercator workflows resume: NOT_FOUND: Workflow execution not found: 'no-such-execution'\n",
    )


def test_a_request_without_a_valid_key_is_refused_by_the_gateway(served: Served) -> None:
    revoked = DynamoApiKeys(served.stack.client("dynamodb"), served.stack.table_name("StateTable"))
    other = revoked.create(TENANT)
    revoked.revoke(other.key_id)
    env = {**os.environ, "MERCATOR_API_URL": served.url, "MERCATOR_API_KEY": other.key}

    done = subprocess.run(
        [sys.executable, "-m", "mercator.cli", "integrations", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("mercator integrations list: FORBIDDEN: ")
    assert other.key not in done.stderr
