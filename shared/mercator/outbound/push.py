"""The ``send_push`` workflow action: a Web Push notification to every subscription of the tenant.

Each message is encrypted for its subscriber (RFC 8291, ``aes128gcm``: a fresh sender key and salt
per message, keyed with the subscriber's ``p256dh`` and ``auth``), so the push service carries it
without being able to read it, and is sent with a VAPID token (RFC 8292) that proves it comes from
the holder of Mercator's VAPID key. A push service that answers 404 or 410 no longer knows the
subscription (the browser dropped it): Mercator forgets it. Messages go through the egress guard
(mercator.providers.egress): a subscription whose endpoint is not https on a public address is
refused for good, and a push service's answer is reported by its status only.

The VAPID key is a Secrets Manager secret: ``{"privateKey": <PEM, or base64url of the raw 32-byte
P-256 scalar>, "subject": "mailto:..." or "https://..."}``. Each action asks the vault for it, which
keeps a secret for minutes (mercator.state.secrets), so a rotated key signs soon after, not only
after a cold start.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urlsplit

import http_ece
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from mercator.domain.entities import PushSubscription
from mercator.domain.errors import CredentialsError
from mercator.domain.messages import ChangeEvent
from mercator.domain.workflows import ActionFailedError, PushAction, Workflow
from mercator.mapping import CompiledPath, PathSyntaxError, compile_path
from mercator.outbound.actions import ACTION_RUNNERS
from mercator.outbound.context import expect_action, secret_failure
from mercator.outbound.delivery import PostResult, RetryingPoster
from mercator.outbound.webhook_action import SecretSource

# What one aes128gcm record of 4096 bytes leaves for the notification: the header (16-byte salt,
# 4-byte record size, key id length and the 65-byte sender key), the 16-byte tag and the delimiter.
MAX_PAYLOAD_BYTES = 4096 - (16 + 4 + 1 + 65) - 16 - 1
TOKEN_LIFETIME_SECONDS = 12 * 3600  # RFC 8292 allows at most 24 hours
_GONE = frozenset({404, 410})
_FIELD = re.compile(r"\{([^{}]+)\}")
_ELLIPSIS = "…"


class SubscriptionStore(Protocol):
    """The push subscriptions the sender reads and prunes (mercator.state.subscriptions)."""

    def list(self, tenant_id: str) -> list[PushSubscription]: ...

    def remove(self, tenant_id: str, endpoint: str) -> bool: ...


@dataclass(frozen=True)
class VapidKey:
    """Mercator's VAPID identity: the signing key and the contact the push services see."""

    private_key: ec.EllipticCurvePrivateKey
    subject: str

    @property
    def public_key(self) -> str:
        """The application server key browsers subscribe with (base64url, uncompressed point)."""
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class _Sent:
    subscription: PushSubscription
    result: PostResult

    @property
    def status(self) -> int | None:
        return self.result.response.status_code if self.result.response is not None else None


@ACTION_RUNNERS.register(PushAction)
class PushSender:
    """ActionRunner for ``send_push`` actions."""

    def __init__(
        self,
        http: httpx.Client,
        subscriptions: SubscriptionStore,
        vault: SecretSource,
        vapid_secret_arn: str | None,
        *,
        ttl_seconds: int = 86_400,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError(f"ttl_seconds must be zero or more, not {ttl_seconds}")
        self._subscriptions = subscriptions
        self._vault = vault
        self._secret = vapid_secret_arn or None
        self._ttl = ttl_seconds
        self._clock = clock
        self._timeout = timeout
        self._poster = RetryingPoster(http, attempts=attempts, sleep=sleep, clock=clock, rng=rng)
        # The key last read and its secret's text: parsed again only when the text changes.
        self._parsed: tuple[str, VapidKey] | None = None

    def run(self, action: Any, event: ChangeEvent, workflow: Workflow) -> str:
        push = expect_action(action, PushAction)
        key = self._vapid_key()
        subscribers = self._subscriptions.list(workflow.tenant_id)
        if not subscribers:
            raise ActionFailedError(
                f"tenant {workflow.tenant_id!r} has no push subscriptions; save one with "
                "POST /api/integrations/save-vapid-subscription",
                retryable=False,
            )
        payload = notification(push, event, workflow)
        sent = [self._send(subscription, payload, key) for subscription in subscribers]
        for outcome in sent:
            if outcome.status in _GONE:
                self._subscriptions.remove(workflow.tenant_id, outcome.subscription.endpoint)
        return _summary(workflow.tenant_id, sent)

    def _send(self, subscription: PushSubscription, payload: bytes, key: VapidKey) -> _Sent:
        endpoint = subscription.endpoint
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        claims = {"aud": audience, "sub": key.subject, "exp": int(self._clock()) + TOKEN_LIFETIME_SECONDS}
        authorization = Vapid02(private_key=key.private_key).sign(claims)["Authorization"]
        body = encrypt(payload, subscription)
        headers = {
            "Authorization": authorization,
            "TTL": str(self._ttl),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Urgency": "normal",
        }

        def build() -> httpx.Request:
            return self._poster.http.build_request(
                "POST", endpoint, content=body, headers=headers, timeout=self._timeout
            )

        # The endpoint's path is the subscription's capability: only its host is ever shown.
        return _Sent(subscription, self._poster.post(build, shown=parts.netloc))

    def _vapid_key(self) -> VapidKey:
        if self._secret is None:
            raise ActionFailedError(
                "Web Push is not set up: no VAPID key secret is configured (VAPID_SECRET_ARN)",
                retryable=False,
            )
        try:
            text = self._vault.secret_string(self._secret)
        except CredentialsError as exc:
            raise secret_failure(exc, "the VAPID key could not be read") from None
        if self._parsed is not None and self._parsed[0] == text:
            return self._parsed[1]
        try:
            key = vapid_key(text)
        except ValueError as exc:
            raise ActionFailedError(f"the VAPID key secret {self._secret!r} {exc}", retryable=False) from None
        self._parsed = (text, key)
        return key


def vapid_key(secret_text: str) -> VapidKey:
    """The VAPID key in a secret's text; ValueError says what is wrong without quoting the key."""
    try:
        document = json.loads(secret_text)
    except json.JSONDecodeError:
        raise ValueError('is not JSON (expected {"privateKey": ..., "subject": ...})') from None
    if not isinstance(document, dict):
        raise ValueError('must be a JSON object {"privateKey": ..., "subject": ...}')
    private, subject = document.get("privateKey"), document.get("subject")
    if not isinstance(private, str) or not private.strip():
        raise ValueError("has no privateKey (PEM, or base64url of the raw P-256 key)")
    if not isinstance(subject, str) or not subject.startswith(("mailto:", "https://")):
        raise ValueError("needs a subject: a mailto: address or an https:// URL push services can contact")
    return VapidKey(_private_key(private.strip()), subject)


def _private_key(text: str) -> ec.EllipticCurvePrivateKey:
    if "-----BEGIN" in text:
        try:
            loaded = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError(
                "holds a PEM privateKey that cannot be read (expected an unencrypted key)"
            ) from None
        if not isinstance(loaded, ec.EllipticCurvePrivateKey) or not isinstance(loaded.curve, ec.SECP256R1):
            raise ValueError("holds a PEM privateKey that is not a P-256 (prime256v1) key")
        return loaded
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("holds a privateKey that is neither PEM nor base64url") from None
    if len(raw) != 32:
        raise ValueError(f"holds a raw privateKey of {len(raw)} bytes; a P-256 key has 32")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError:
        raise ValueError("holds a raw privateKey that is not a valid P-256 scalar") from None


def encrypt(payload: bytes, subscription: PushSubscription) -> bytes:
    """``payload`` encrypted for one subscriber (RFC 8291), with a sender key made for this message."""
    sender = ec.generate_private_key(ec.SECP256R1())
    encrypted: bytes = http_ece.encrypt(
        payload,
        private_key=sender,
        dh=subscription.public_key(),
        auth_secret=subscription.auth_secret(),
        version="aes128gcm",
    )
    return encrypted


def notification(action: PushAction, event: ChangeEvent, workflow: Workflow) -> bytes:
    """The JSON a service worker receives, shortened to fit one Web Push message."""
    message: dict[str, Any] = {
        "title": render(action.title, event.record),
        "body": render(action.body, event.record),
        "data": {
            "tenantId": event.tenant_id,
            "workflow": workflow.guid,
            "trigger": workflow.trigger,
            "contentType": event.content_type,
            "code": event.code,
            "eventId": event.id,
        },
    }
    if action.url:
        message["url"] = render(action.url, event.record)
    for field in ("body", "title"):
        excess = len(_encoded(message)) - MAX_PAYLOAD_BYTES
        if excess <= 0:
            break
        message[field] = _shortened(message[field], excess + len(_ELLIPSIS.encode()))
    encoded = _encoded(message)
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise ActionFailedError(
            f"the notification is {len(encoded)} bytes even with its title and body shortened; "
            f"Web Push carries at most {MAX_PAYLOAD_BYTES}: shorten the url",
            retryable=False,
        )
    return encoded


def render(template: str, record: dict[str, Any]) -> str:
    """``template`` with each ``{path}`` replaced by the record's value there (missing: empty)."""

    def value(match: re.Match[str]) -> str:
        path = _path(match.group(1).strip())
        if path is None:
            return match.group(0)
        found = path.get(record)
        if found is None:
            return ""
        if isinstance(found, bool):
            return "true" if found else "false"
        if isinstance(found, dict | list):
            return json.dumps(found, ensure_ascii=False, separators=(",", ":"))
        return str(found)

    return _FIELD.sub(value, template)


@lru_cache(maxsize=256)
def _path(text: str) -> CompiledPath | None:
    try:
        return compile_path(text)
    except PathSyntaxError:
        return None  # not a field reference: the braces stay as written


def _encoded(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def _shortened(text: str, drop_bytes: int) -> str:
    encoded = text.encode()
    keep = max(0, len(encoded) - drop_bytes)
    return encoded[:keep].decode("utf-8", errors="ignore") + (_ELLIPSIS if text else "")


def _summary(tenant_id: str, sent: Sequence[_Sent]) -> str:
    delivered = [s for s in sent if s.result.final and s.status is not None and 200 <= s.status < 300]
    gone = [s for s in sent if s.status in _GONE]
    refused = [s for s in sent if s.result.final and s not in delivered and s not in gone]
    unreachable = [s for s in sent if not s.result.final]
    notes = []
    if gone:
        notes.append(f"{len(gone)} gone (404/410) and removed")
    if refused:
        notes.append(f"{len(refused)} refused ({_describe(refused[0])})")
    if unreachable:
        notes.append(f"{len(unreachable)} not reached ({_describe(unreachable[0])})")
    detail = "; ".join(notes)
    if delivered:
        told = f"pushed to {len(delivered)} of {len(sent)} subscriptions of tenant {tenant_id!r}"
        return f"{told}; {detail}" if detail else told
    raise ActionFailedError(
        f"no push subscription of tenant {tenant_id!r} took the notification: {detail}",
        retryable=bool(unreachable),
    )


def _describe(sent: _Sent) -> str:
    host = urlsplit(sent.subscription.endpoint).netloc
    tries = f" after {sent.result.attempts} attempts" if sent.result.attempts > 1 else ""
    if sent.status is None:
        return f"{host} {sent.result.problem or 'got no answer'}{tries}"
    extra = f" and {sent.result.problem}" if sent.result.problem else ""
    return f"{host} answered {sent.status}{extra}{tries}"
