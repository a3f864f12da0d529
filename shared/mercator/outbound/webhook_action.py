"""The ``webhook`` workflow action: POST the record to the tenant's URL, signed as Standard Webhooks.

The body is ``{"type": <trigger>, "timestamp": <when the change happened>, "data": {"record",
"context"}}``. ``webhook-id`` is the execution's id (the change event and the workflow), the same on
every attempt and on a resumed execution, so the receiver can drop repeats; ``webhook-timestamp`` and
the signature are made afresh for each attempt, so a retry is never refused as stale.

The signing key is read only from the workflow's own tenant's signing keys
(``mercator/<tenant>/webhook-keys/<name>``, mercator.domain.secret_names): whatever a stored workflow
names, no other tenant's secret and no other kind of secret is ever used to sign. It is asked for on
every action; the vault answers from a copy at most minutes old (mercator.state.secrets), so a burst
of actions costs one Secrets Manager read and a rotated key signs soon after it is stored.

The POST goes through the egress guard (mercator.providers.egress): https to a public address only.
An action's own headers never replace ``Host`` or a hop-by-hop header (the Integrations API refuses
them; one stored before is dropped here). What the receiver answered is reported as its status and
that status's standard description only: its body is never read into a reason, which the tenant
sees and which is stored with the execution.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Protocol

import httpx

from mercator.domain.clock import to_iso
from mercator.domain.errors import CredentialsError
from mercator.domain.messages import ChangeEvent
from mercator.domain.secret_names import is_webhook_key_of, webhook_key_prefix
from mercator.domain.workflows import (
    ActionFailedError,
    WebhookAction,
    Workflow,
    connection_header,
    execution_id,
)
from mercator.outbound.actions import ACTION_RUNNERS
from mercator.outbound.context import event_context, expect_action, secret_failure, shown_url
from mercator.outbound.delivery import PostResult, RetryingPoster
from mercator.signatures.standard_webhooks import sign

# Set by Mercator on every delivery; an action's own headers cannot replace them.
_OWN_HEADERS = ("content-type", "webhook-id", "webhook-timestamp", "webhook-signature")


class SecretSource(Protocol):
    """Where signing keys come from (mercator.state.secrets.SecretsVault).

    Reads may be answered from a cache, as long as a stored change is seen within minutes.
    """

    def secret_string(self, secret_id: str) -> str: ...


@ACTION_RUNNERS.register(WebhookAction)
class WebhookSender:
    """ActionRunner for ``webhook`` actions."""

    def __init__(
        self,
        http: httpx.Client,
        secrets: SecretSource,
        *,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self._secrets = secrets
        self._timeout = timeout
        self._poster = RetryingPoster(http, attempts=attempts, sleep=sleep, clock=clock, rng=rng)

    def run(self, action: Any, event: ChangeEvent, workflow: Workflow) -> str:
        webhook = expect_action(action, WebhookAction)
        if not is_webhook_key_of(workflow.tenant_id, webhook.secretName):
            raise ActionFailedError(
                f"the webhook's signing key (secret {webhook.secretName!r}) is not one of the tenant's "
                f"signing keys: name a secret under {_key_prefix(workflow.tenant_id)}",
                retryable=False,
            )
        try:
            secret = self._secrets.secret_string(webhook.secretName)
        except CredentialsError as exc:
            raise secret_failure(exc, "the webhook's signing key could not be read") from None
        body = json.dumps(
            {
                "type": workflow.trigger,
                "timestamp": to_iso(event.occurred_at),
                "data": {"record": event.record, "context": event_context(event, workflow)},
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        message_id = execution_id(event, workflow.guid)
        extra = {
            name: value
            for name, value in webhook.headers.items()
            if name.lower() not in _OWN_HEADERS and not connection_header(name)
        }
        shown = shown_url(webhook.url)

        def build() -> httpx.Request:
            timestamp = int(self._poster.clock())
            try:
                signature = sign(secret, message_id, timestamp, body)
            except ValueError as exc:
                # The message says what is wrong with the key's form, never the key.
                raise ActionFailedError(
                    f"the webhook's signing key (secret {webhook.secretName!r}) cannot sign: {exc}",
                    retryable=False,
                ) from None
            headers = {
                **extra,
                "Content-Type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature,
            }
            return self._poster.http.build_request(
                "POST", webhook.url, content=body, headers=headers, timeout=self._timeout
            )

        return _outcome(self._poster.post(build, shown=shown), shown)


def _outcome(result: PostResult, shown: str) -> str:
    tries = f" after {result.attempts} attempts" if result.attempts > 1 else ""
    response = result.response
    if result.refused:
        raise ActionFailedError(f"POST {shown} {result.problem}", retryable=False)
    if response is not None and result.final:
        status = response.status_code
        if 200 <= status < 300:
            return f"POST {shown} answered {status}{tries}"
        if 300 <= status < 400:
            raise ActionFailedError(
                f"POST {shown} answered {_status(status)} (a redirect){tries}; point the workflow at the "
                "final address",
                retryable=False,
            )
        raise ActionFailedError(f"POST {shown} answered {_status(status)}{tries}", retryable=False)
    if response is not None:
        what = f"answered {_status(response.status_code)}"
        if result.problem:
            what += f" and {result.problem}"
        raise ActionFailedError(f"POST {shown} {what}{tries}", retryable=True)
    raise ActionFailedError(f"POST {shown} {result.problem or 'got no answer'}{tries}", retryable=True)


def _status(status: int) -> str:
    """A status with its standard description (``404 Not Found``): never the receiver's own words."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _key_prefix(tenant_id: str) -> str:
    try:
        return webhook_key_prefix(tenant_id)
    except ValueError:
        return "mercator/<tenant>/webhook-keys/"
