"""CatalogEvents intake: a PIM's requests (docs/catalog-events.md), verified, validated and queued.

For ``PUT /pim/{integrationId}/consume/{name}``:

1. the integration must be an active catalog-events source (its connector has ``catalogEvents``);
2. ``X-APP-TOKEN`` must verify with the integration's app secret (mercator.signatures.app_token);
3. the body must be JSON whose envelope and every detailed event fit their schemas
   (mercator.pim.event_schemas): a refusal names the JSON path and the valid choices, and nothing of
   a refused request is queued;
4. the request is claimed by its key (the token's synchronization_id and the body's hash): a copy of
   a request already queued is answered ``duplicate`` and queued no more;
5. the request goes to the CatalogEvents FIFO queue in its entity's message group, so the requests
   of one entity are applied in the order they were accepted (CatalogApply).

``app_installed`` / ``app_uninstalled`` are verified and acknowledged; ``POST .../handshake`` is
answered 200 when its ``shared_secret`` is the one the integration holds and the token verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal, Protocol

from mercator.connector.catalog_source import CatalogEvents
from mercator.domain.clock import utc_now
from mercator.domain.deliveries import Headers
from mercator.domain.entities import Integration
from mercator.domain.messages import MAX_BODY_BYTES, CatalogEventsMessage, OrderedMessage
from mercator.pim.event_schemas import CatalogEventRefused, Envelope, parse_envelope
from mercator.services.ports import Connectors, CredentialsVault, IntegrationLookup
from mercator.signatures.app_token import AppClaims, verify_app_token
from mercator.signatures.primitives import VerificationError

TOKEN_HEADER = "x-app-token"
TOO_LARGE = f"the request is larger than the {MAX_BODY_BYTES // 1024} KiB one entity's changes may take"
APP_EVENTS = frozenset({"app_installed", "app_uninstalled"})
Clock = Callable[[], datetime]
RequestState = Literal["new", "pending", "sent"]


class CatalogRequestError(Exception):
    """A request refused before anything was queued; the message is safe to return."""


class NotACatalogSourceError(CatalogRequestError):
    pass


class CatalogPayloadTooLargeError(CatalogRequestError):
    pass


class RequestInFlightError(CatalogRequestError):
    """A copy of the request is being queued by another invocation right now: try again shortly."""


class MalformedCatalogRequestError(CatalogRequestError):
    """The body is not what docs/catalog-events.md describes; ``path`` and ``valid`` say where and what."""

    def __init__(self, message: str, *, path: str = "$", valid: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.path = path
        self.valid = valid


class CatalogRequests(Protocol):
    def claim_request(
        self, integration_id: str, request_key: str, at: datetime, *, resend_after: timedelta
    ) -> RequestState: ...

    def request_sent(self, integration_id: str, request_key: str, at: datetime) -> None: ...


class OrderedQueue(Protocol):
    def send_ordered(self, messages: list[OrderedMessage]) -> None: ...


@dataclass(frozen=True)
class CatalogRequest:
    integration_id: str
    name: str
    headers: Headers
    body: bytes


@dataclass(frozen=True)
class CatalogIntakeResult:
    status: HTTPStatus
    outcome: Literal["accepted", "duplicate", "acknowledged", "installed"]
    events: int = 0


class CatalogEventIntake:
    """Verifies, validates, deduplicates and queues a PIM's requests."""

    def __init__(
        self,
        *,
        integrations: IntegrationLookup,
        vault: CredentialsVault,
        connectors: Connectors,
        requests: CatalogRequests,
        queue: OrderedQueue,
        resend_after: timedelta = timedelta(seconds=30),
        clock: Clock = utc_now,
    ) -> None:
        self.integrations = integrations
        self.vault = vault
        self.connectors = connectors
        self.requests = requests
        self.queue = queue
        self.resend_after = resend_after
        self.clock = clock

    def receive(self, request: CatalogRequest) -> CatalogIntakeResult:
        integration, source = self._source(request.integration_id)
        claims = self._verified(integration, source, request.headers)
        if request.name in APP_EVENTS:
            return CatalogIntakeResult(HTTPStatus.OK, "acknowledged")
        envelope, document = self._envelope(request)
        request_key = _request_key(claims, request)
        now = self.clock()
        message = CatalogEventsMessage(
            integration_id=integration.id,
            request_key=request_key,
            name=envelope.name,
            envelope=document,
            synchronization_id=claims.synchronization_id,
            received_at=now,
        )
        body = message.body()
        # Refused before it is claimed: a copy sent again is refused the same way.
        if len(body.encode()) > MAX_BODY_BYTES:
            raise CatalogPayloadTooLargeError(TOO_LARGE)
        state = self.requests.claim_request(integration.id, request_key, now, resend_after=self.resend_after)
        if state == "sent":
            return CatalogIntakeResult(HTTPStatus.OK, "duplicate", len(envelope.events))
        if state == "pending":
            raise RequestInFlightError("a copy of this request is being accepted right now; send it again")
        group = entity_group(integration.id, envelope.kind, envelope.entity)
        self.queue.send_ordered([OrderedMessage(body=body, group=group, dedup_id=request_key)])
        self.requests.request_sent(integration.id, request_key, self.clock())
        return CatalogIntakeResult(HTTPStatus.ACCEPTED, "accepted", len(envelope.events))

    def handshake(self, request: CatalogRequest) -> CatalogIntakeResult:
        """Installation: the PIM sends the shared secret it will sign with; it must be the one held."""
        integration, source = self._source(request.integration_id)
        self._verified(integration, source, request.headers)
        try:
            sent = json.loads(request.body).get("shared_secret")
        except (ValueError, AttributeError):
            raise MalformedCatalogRequestError("the handshake body is not a JSON object") from None
        held = self.vault.credentials(integration).get(source.token.secret, "")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), held.encode()):
            raise VerificationError("the handshake's shared_secret is not the integration's app secret")
        return CatalogIntakeResult(HTTPStatus.OK, "installed")

    def _source(self, integration_id: str) -> tuple[Integration, CatalogEvents]:
        integration = self.integrations.get(integration_id)
        if integration is None or integration.status != "active":
            raise NotACatalogSourceError(f"no active integration {integration_id!r}")
        source = self.connectors.get(integration.connector).catalogEvents
        if source is None:
            raise NotACatalogSourceError(
                f"integration {integration_id!r} is not a catalog-events source (its connector "
                f"{integration.connector!r} has no catalogEvents block)"
            )
        return integration, source

    def _verified(self, integration: Integration, source: CatalogEvents, headers: Headers) -> AppClaims:
        credentials = self.vault.credentials(integration)
        secret = credentials.get(source.token.secret)
        if not secret:
            raise VerificationError(f"the integration holds no {source.token.secret!r} credential")
        expected = credentials.get(source.token.installation) if source.token.installation else None
        now = self.clock().timestamp()
        return verify_app_token(headers.get(TOKEN_HEADER), secret, installation_id=expected or None, now=now)

    def _envelope(self, request: CatalogRequest) -> tuple[Envelope, dict[str, Any]]:
        if len(request.body) > MAX_BODY_BYTES:
            raise CatalogPayloadTooLargeError(TOO_LARGE)
        try:
            document = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedCatalogRequestError(f"the body is not JSON: {exc}") from None
        try:
            envelope = parse_envelope(document, name=request.name)
        except CatalogEventRefused as refused:
            raise MalformedCatalogRequestError(str(refused), path=refused.path, valid=refused.valid) from None
        return envelope, document


def entity_group(integration_id: str, kind: str, code: str) -> str:
    """The FIFO message group of one entity: its requests are applied one after the other, in order.
    Hashed, since a group id takes at most 128 characters of a limited set and a code may not fit."""
    digest = hashlib.sha256(f"{integration_id}\x1f{kind}\x1f{code}".encode()).hexdigest()[:40]
    return f"{kind}-{digest}"


def _request_key(claims: AppClaims, request: CatalogRequest) -> str:
    """A request's identity: its synchronization and name, and its body byte for byte. A retry of
    the request carries the same; the same change in a later synchronization does not."""
    digest = hashlib.sha256()
    for part in (claims.synchronization_id or "-", request.name):
        digest.update(part.encode())
        digest.update(b"\x1f")
    digest.update(request.body)
    return digest.hexdigest()
