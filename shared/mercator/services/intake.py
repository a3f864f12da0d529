"""WebhookIntake: a provider's delivery becomes a verified, deduplicated, newer-only record write.

For one POST to ``/webhooks/{integrationId}``:

1. refuse what cannot be a delivery: too large, unknown or disabled integration, not JSON (a
   platform's ping, such as WooCommerce's form-encoded ``webhook_id=<id>`` on creation, is answered
   and otherwise ignored, for a connector that declares it: see ``ping_rule``);
2. verify it with the connector's ``webhook.verification`` and the integration's credentials (a
   header it reads that was sent twice with different values is refused);
3. read the body within bounds (at most ``MAX_NESTING`` levels, no integer past Python's digit
   limit: a refusal, never a RecursionError), the event name and the dedupe key (the provider's
   delivery id, else the body's sha256);
4. keep the raw body in the archive, so the delivery can be replayed; its headers are kept without
   the verification's headers (token or signature) and without any header holding a credential;
5. an event without a handler is acknowledged and logged; a thin delivery (an id, as BigCommerce
   sends) is claimed and handed to enrichment; otherwise the record is mapped, and its write, its
   tracking entry and the delivery's claim are committed together, newer-only; a delivery that
   cannot be mapped, or whose record is over DynamoDB's item limit, goes to the dead-letter queue;
6. the change event goes to the Trigger queue, and the buyer is extracted into core:customer (only
   by the copy that committed: concurrent copies would otherwise race on the same customer).

A copy of a delivery finds its claim and writes nothing. Should the first copy have stopped between
its commit and its announcement, a copy arriving later than ``resend_after`` sends the claim's
announcements again: TriggerDispatch runs a change once whatever the number of announcements.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal, Protocol

from mercator.connector import ConnectorDefinition
from mercator.connector.documents import DocumentError, parse_json
from mercator.connector.mapper import extract_customer, map_delivery
from mercator.connector.sync import WebhookHandler
from mercator.domain.changes import field_changes
from mercator.domain.clock import utc_now
from mercator.domain.dead_letters import DeadLetter
from mercator.domain.deliveries import (
    Announcement,
    ArchivedDelivery,
    CommitResult,
    DeliveryClaim,
    IncomingDelivery,
    ReadVersion,
    RecordChange,
    json_media_type,
)
from mercator.domain.entities import Integration, StoredRecord
from mercator.domain.errors import ItemTooLargeError, StateAccessError
from mercator.domain.hashing import content_hash
from mercator.domain.messages import ChangeEvent, EnrichBatch
from mercator.services.merge import deep_merge
from mercator.services.ports import (
    Connectors,
    CredentialsVault,
    IntegrationLookup,
    MessageQueue,
)
from mercator.services.writer import ReadyRecord, RecordWriter, code_of, record_updated_at
from mercator.signatures.verification import secret_headers, verify_delivery

Clock = Callable[[], datetime]
_PING_MAX_BYTES = 1024  # a ping is a few bytes: a larger body is never matched against a pattern
_ITEM_LIMIT = "DynamoDB items hold at most 400 KB"
# Reads and guarded writes of one record before a delivery gives up to concurrent writes (and is retried).
_MOVED_ATTEMPTS = 5

logger = logging.getLogger(__name__)


class IntakeError(Exception):
    """A delivery refused before anything was written; the message is safe to return."""


class PayloadTooLargeError(IntakeError):
    pass


class UnknownIntegrationError(IntakeError):
    pass


class UnsupportedMediaTypeError(IntakeError):
    pass


class MalformedDeliveryError(IntakeError):
    pass


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # the record was written and announced
    DUPLICATE = "duplicate"  # a copy of a delivery already taken
    STALE = "stale"  # the stored record is newer: not written
    MERGED = "merged"  # the same version another path brought: what it adds was stored, nothing announced
    UNCHANGED = "unchanged"  # the stored record is the same: not written
    QUEUED = "queued"  # a thin delivery: its record is fetched by enrichment
    IGNORED = "ignored"  # an event the connector has no handler for
    DEAD_LETTERED = "dead_lettered"  # could not be mapped: in the dead-letter queue with its reason
    PING = "ping"  # a platform's check that the endpoint answers


@dataclass(frozen=True)
class IntakeResult:
    outcome: Outcome
    event: str | None = None
    code: str | None = None
    reason: str | None = None
    resent: bool = False

    @property
    def status(self) -> int:
        """The HTTP status: 202 where the delivery was taken but not (yet) turned into a record."""
        waiting = {Outcome.QUEUED, Outcome.IGNORED, Outcome.DEAD_LETTERED}
        return 202 if self.outcome in waiting else 200


class DeliveryLedger(Protocol):
    def commit(self, claim: DeliveryClaim, change: RecordChange) -> CommitResult: ...

    def claim(self, claim: DeliveryClaim) -> DeliveryClaim | None:
        """Claim without a write; the earlier claim when the delivery was claimed before."""
        ...


class DeliveryArchive(Protocol):
    def put(self, delivery: ArchivedDelivery) -> str: ...


class StoredRecords(Protocol):
    def get(self, tenant_id: str, content_type: str, code: str) -> StoredRecord | None: ...


@dataclass(frozen=True)
class _Parsed:
    integration: Integration
    definition: ConnectorDefinition
    event: str
    dedupe_key: str
    payload: Any


class WebhookIntake:
    def __init__(
        self,
        *,
        integrations: IntegrationLookup,
        vault: CredentialsVault,
        connectors: Connectors,
        ledger: DeliveryLedger,
        archive: DeliveryArchive,
        records: StoredRecords,
        writer: RecordWriter,
        triggers: MessageQueue,
        enrich: MessageQueue,
        dead_letters: MessageQueue,
        max_body_bytes: int = 1024 * 1024,
        resend_after: timedelta = timedelta(seconds=30),
        clock: Clock = utc_now,
    ) -> None:
        self.integrations = integrations
        self.vault = vault
        self.connectors = connectors
        self.ledger = ledger
        self.archive = archive
        self.records = records
        self.writer = writer
        self.queues: dict[Literal["trigger", "enrich", "dead_letter"], MessageQueue] = {
            "trigger": triggers,
            "enrich": enrich,
            "dead_letter": dead_letters,
        }
        self.max_body_bytes = max_body_bytes
        self.resend_after = resend_after
        self.clock = clock

    def receive(self, delivery: IncomingDelivery, content_type: str | None) -> IntakeResult:
        """Take one delivery; raises IntakeError or VerificationError when it is refused."""
        if len(delivery.body) > self.max_body_bytes:
            raise PayloadTooLargeError(
                f"the body is {len(delivery.body)} bytes; deliveries may be at most {self.max_body_bytes}"
            )
        integration = self._integration(delivery.integration_id)
        definition = self.connectors.get(integration.connector)
        ping = ping_rule(definition)
        if ping is not None and ping.matches(content_type, delivery.body):
            return IntakeResult(Outcome.PING)
        if not json_media_type(content_type):
            raise UnsupportedMediaTypeError(
                f"deliveries must be application/json, got {content_type or 'no Content-Type'}"
            )
        verification = definition.webhook.verification if definition.webhook else None
        credentials = self.vault.credentials(integration)
        verify_delivery(verification, credentials, delivery.headers, delivery.body, now=delivery.received_at)
        parsed = self._parse(integration, definition, delivery)
        archived = ArchivedDelivery.of(
            delivery,
            dedupe_key=parsed.dedupe_key,
            event=parsed.event,
            secret_headers=secret_headers(verification),
            credentials=credentials.values(),
        )
        self.archive.put(archived)
        return self._take(parsed, delivery.received_at, replay=False)

    def replay(self, archived: ArchivedDelivery) -> IntakeResult:
        """Run an archived delivery again: verified when it arrived, so not again (its credential headers
        were not kept), and not deduplicated; the newer-only rule still holds."""
        integration = self.integrations.get(archived.integration_id)
        if integration is None:
            raise UnknownIntegrationError(f"integration {archived.integration_id!r} does not exist")
        definition = self.connectors.get(integration.connector)
        parsed = self._parse(integration, definition, archived.incoming())
        return self._take(parsed, self.clock(), replay=True)

    def _integration(self, integration_id: str) -> Integration:
        integration = self.integrations.get(integration_id)
        if integration is None or integration.status != "active":
            # The same answer for both, so a caller cannot learn which integrations exist.
            raise UnknownIntegrationError(f"no active integration {integration_id!r}")
        return integration

    def _parse(
        self, integration: Integration, definition: ConnectorDefinition, delivery: IncomingDelivery
    ) -> _Parsed:
        try:
            # The encodings json.loads detects in bytes (UTF-8, with or without a BOM; UTF-16; UTF-32).
            text = delivery.body.decode(json.detect_encoding(delivery.body))
            payload = parse_json(text, "body")
        except UnicodeDecodeError as e:
            raise MalformedDeliveryError(f"the body is not valid JSON: {e}") from None
        except DocumentError as e:
            # Syntax, nesting past MAX_NESTING, integers past Python's digit limit: never a RecursionError.
            raise MalformedDeliveryError(f"the body cannot be read: {e}") from None
        webhook = definition.webhook
        if webhook is None or webhook.eventName is None:
            raise MalformedDeliveryError(
                f"connector {definition.name!r} does not say where the event name is"
            )
        event = webhook.eventName.value_in(delivery.headers, payload, delivery.query)
        if event is None:
            raise MalformedDeliveryError(f"no event name in the {webhook.eventName.describe()}")
        delivery_id = (
            webhook.deliveryId.value_in(delivery.headers, payload, delivery.query)
            if webhook.deliveryId
            else None
        )
        if delivery_id is not None:
            dedupe_key = "id-" + hashlib.sha256(f"{event}\x1f{delivery_id}".encode()).hexdigest()
        else:
            dedupe_key = "body-" + delivery.body_sha256
        return _Parsed(integration, definition, event, dedupe_key, payload)

    def _take(self, parsed: _Parsed, received_at: datetime, *, replay: bool) -> IntakeResult:
        handler = parsed.definition.handlers.get(parsed.event)
        if handler is None:
            reason = f"connector {parsed.definition.name!r} has no handler for {parsed.event!r}"
            logger.info("delivery ignored: %s", reason, extra=_context(parsed))
            return IntakeResult(Outcome.IGNORED, parsed.event, reason=reason)
        claim_key = (
            f"{parsed.dedupe_key}.replay-{received_at.timestamp():.0f}" if replay else parsed.dedupe_key
        )
        if handler.enrich is not None:
            return self._queue_for_enrichment(parsed, handler, claim_key, received_at)
        mapped = map_delivery(parsed.definition, parsed.event, parsed.payload)
        if mapped.failures:
            failure = mapped.failures[0]
            return self._dead_letter(
                parsed,
                handler,
                claim_key=claim_key,
                received_at=received_at,
                reason=failure.reason,
                detail=failure.detail,
            )
        delivered = mapped.records[0]
        code = code_of(delivered)
        integration = parsed.integration
        deleted = handler.operation == "delete"
        change = "deleted" if deleted else "created" if handler.operation == "create" else "updated"
        resource = _resource_of(parsed.definition, handler.contentType)
        for _ in range(_MOVED_ATTEMPTS):
            # The stored version is read first: an update delivery is laid over it, and the change
            # event tells which plain fields moved from it (a status transition). The write lands only
            # over that version, so two deliveries racing for one record never both announce one move.
            stored = self.records.get(integration.tenant_id, handler.contentType, code)
            live = stored if stored is not None and not stored.deleted else None
            record = (
                deep_merge(live.record, delivered) if live and handler.operation == "update" else delivered
            )
            digest = content_hash(record)
            announcement = ChangeEvent(
                change=change,
                integration_id=integration.id,
                tenant_id=integration.tenant_id,
                connector=integration.connector,
                content_type=handler.contentType,
                code=code,
                record=record,
                content_hash=digest,
                source="webhook",
                event=parsed.event,
                changes=None if deleted or live is None else field_changes(live.record, record),
                occurred_at=received_at,
            ).body()
            claim = _claim(
                parsed, claim_key, received_at, Outcome.ACCEPTED, Announcement("trigger", announcement)
            )
            try:
                result = self.ledger.commit(
                    claim,
                    RecordChange(
                        tenant_id=integration.tenant_id,
                        integration_id=integration.id,
                        resource=resource,
                        content_type=handler.contentType,
                        code=code,
                        record=record,
                        content_hash=digest,
                        source_updated_at=record_updated_at(record),
                        deleted=deleted,
                        guard=ReadVersion(stored.content_hash if stored is not None else None),
                    ),
                )
            except ItemTooLargeError:
                # Nothing was written; a retry would be refused the same way, so it is set aside instead.
                size = len(json.dumps(record, ensure_ascii=False, default=str).encode())
                return self._dead_letter(
                    parsed,
                    handler,
                    claim_key=claim_key,
                    received_at=received_at,
                    reason=f"the {handler.contentType} record {code!r} is too large to store: "
                    f"{size} bytes of JSON, and {_ITEM_LIMIT}",
                    detail={"code": code, "contentType": handler.contentType, "recordBytes": size},
                )
            if result.status != "moved":
                break
        else:
            raise StateAccessError(
                f"the {handler.contentType} record {code!r} kept changing under delivery "
                f"{parsed.dedupe_key!r} after {_MOVED_ATTEMPTS} attempts",
                resource="records",
                operation="TransactWriteItems",
                code="TransactionConflict",
            )
        if result.status == "committed":
            self.queues["trigger"].send([announcement])
            self._extract_customer(parsed)
            return IntakeResult(Outcome.ACCEPTED, parsed.event, code)
        if result.status == "duplicate":
            return self._duplicate(parsed, result.earlier, code)
        if result.status == "same_version":
            # A listing or details call brought this version first: the delivery fills in what it
            # knows (the writer lays it over the stored record), announcing nothing new.
            self.writer.write_ready(
                integration,
                resource=_resource_of(parsed.definition, handler.contentType),
                content_type=handler.contentType,
                records=[ReadyRecord(code, record, record_updated_at(record))],
                run_id=None,
                seen_via="webhook",
            )
        # Refused as stale or unchanged, or merged: claim it alone, so its copies count as duplicates.
        refused = Outcome.MERGED if result.status == "same_version" else Outcome(result.status)
        duplicate = self._claim_and_announce(
            parsed, replace(claim, outcome=refused.value, announcements=()), code
        )
        return duplicate or IntakeResult(refused, parsed.event, code)

    def _queue_for_enrichment(
        self, parsed: _Parsed, handler: WebhookHandler, claim_key: str, received_at: datetime
    ) -> IntakeResult:
        assert handler.enrich is not None
        resource = parsed.definition.resources[handler.enrich.resource]
        record_id = handler.enrich.record_id(parsed.payload)
        if record_id is None or record_id == "":
            reason = f"event {parsed.event}: no record id at {handler.enrich.idPath}"
            return self._dead_letter(
                parsed,
                handler,
                claim_key=claim_key,
                received_at=received_at,
                reason=reason,
                detail={"field": handler.enrich.idPath},
            )
        body = EnrichBatch(
            integration_id=parsed.integration.id,
            resource=resource.name,
            run_id=f"webhook-{claim_key}",
            seen_via="webhook",
            records=[_nest(resource.idPath, record_id)],
        ).body()
        claim = _claim(parsed, claim_key, received_at, Outcome.QUEUED, Announcement("enrich", body))
        duplicate = self._claim_and_announce(parsed, claim, str(record_id))
        return duplicate or IntakeResult(Outcome.QUEUED, parsed.event, str(record_id))

    def _extract_customer(self, parsed: _Parsed) -> None:
        outcome = extract_customer(parsed.definition, parsed.event, parsed.payload)
        if outcome is None:
            return
        resource = _resource_of(parsed.definition, "core:customer")
        if outcome.failures:
            # The delivery's own record does not depend on its buyer: it is written, the buyer is not.
            letters = [
                DeadLetter(
                    reason=f"buyer not extracted: {failure.reason}",
                    detail=failure.detail,
                    raw=failure.raw,
                    integration_id=parsed.integration.id,
                    resource=resource,
                    run_id=f"webhook-{parsed.dedupe_key}",
                    connector=parsed.definition.name,
                    event=parsed.event,
                ).body()
                for failure in outcome.failures
            ]
            self.queues["dead_letter"].send(letters)
            logger.warning("buyer sent to the dead-letter queue", extra=_context(parsed))
        ready = [
            ReadyRecord(code_of(record), record, record_updated_at(record)) for record in outcome.records
        ]
        # An order carries part of its buyer: laid over the stored customer, whatever else it holds stays.
        self.writer.write_ready(
            parsed.integration,
            resource=resource,
            content_type="core:customer",
            records=ready,
            run_id=None,
            seen_via="webhook",
            partial=True,
        )

    def _claim_and_announce(
        self, parsed: _Parsed, claim: DeliveryClaim, code: str | None
    ) -> IntakeResult | None:
        """Claim a delivery with what it announces, then announce it; None once announced, the
        duplicate's answer when an earlier copy holds the claim."""
        earlier = self.ledger.claim(claim)
        if earlier is not None:
            return self._duplicate(parsed, earlier, code)
        for announcement in claim.announcements:
            self.queues[announcement.queue].send([announcement.body])
        return None

    def _duplicate(self, parsed: _Parsed, earlier: DeliveryClaim | None, code: str | None) -> IntakeResult:
        resent = False
        if earlier is not None and self.clock() - earlier.received_at >= self.resend_after:
            for announcement in earlier.announcements:
                self.queues[announcement.queue].send([announcement.body])
            resent = bool(earlier.announcements)
            if earlier.outcome == Outcome.ACCEPTED:
                # The first copy may have stopped before its buyer was written; the writer keeps
                # that idempotent.
                self._extract_customer(parsed)
        return IntakeResult(Outcome.DUPLICATE, parsed.event, code, resent=resent)

    def _dead_letter(
        self,
        parsed: _Parsed,
        handler: WebhookHandler,
        *,
        claim_key: str,
        received_at: datetime,
        reason: str,
        detail: dict[str, Any],
    ) -> IntakeResult:
        letter = DeadLetter(
            reason=reason,
            detail=detail,
            raw=parsed.payload,
            integration_id=parsed.integration.id,
            resource=_resource_of(parsed.definition, handler.contentType),
            run_id=f"webhook-{claim_key}",
            connector=parsed.definition.name,
            event=parsed.event,
        ).body()
        claim = _claim(
            parsed, claim_key, received_at, Outcome.DEAD_LETTERED, Announcement("dead_letter", letter)
        )
        # Claimed, so that the platform's retries of the same delivery leave one dead letter.
        duplicate = self._claim_and_announce(parsed, claim, None)
        if duplicate is not None:
            return duplicate
        logger.warning("delivery sent to the dead-letter queue: %s", reason, extra=_context(parsed))
        return IntakeResult(Outcome.DEAD_LETTERED, parsed.event, reason=reason)


def _claim(
    parsed: _Parsed, claim_key: str, received_at: datetime, outcome: Outcome, announcement: Announcement
) -> DeliveryClaim:
    return DeliveryClaim(
        integration_id=parsed.integration.id,
        dedupe_key=claim_key,
        event=parsed.event,
        received_at=received_at,
        outcome=outcome.value,
        announcements=(announcement,),
    )


@dataclass(frozen=True)
class PingRule:
    """How a connector's platform checks that the endpoint answers: the media type it sends, and a
    pattern the whole body matches (any body when None). A ping is answered 200, unverified, and
    nothing of it is kept."""

    media_type: str
    body: re.Pattern[bytes] | None = None

    def matches(self, content_type: str | None, body: bytes) -> bool:
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media != self.media_type or len(body) > _PING_MAX_BYTES:
            return False
        return self.body is None or self.body.fullmatch(body.strip()) is not None


def ping_rule(definition: ConnectorDefinition) -> PingRule | None:
    """The ping ``definition`` declares in ``webhook.ping``; None when it declares none, so that any
    other request is verified like a delivery."""
    declared = definition.webhook.ping if definition.webhook else None
    if declared is None:
        return None
    pattern = declared.bodyPattern
    return PingRule(declared.contentType.strip().lower(), _compiled(pattern) if pattern else None)


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[bytes]:
    return re.compile(pattern.encode("utf-8"))


def _resource_of(definition: ConnectorDefinition, content_type: str) -> str:
    """The resource whose tracked ids a record of ``content_type`` joins (the content type without one)."""
    for name, resource in definition.resources.items():
        if resource.contentType == content_type:
            return name
    return content_type


def _nest(path: str, value: Any) -> dict[str, Any]:
    """A record holding ``value`` at a dotted ``path`` (what enrichment reads the id from)."""
    keys = path.removeprefix("$.").split(".")
    record: dict[str, Any] = {keys[-1]: value}
    for key in reversed(keys[:-1]):
        record = {key: record}
    return record


def _context(parsed: _Parsed) -> dict[str, str]:
    return {
        "integration_id": parsed.integration.id,
        "connector": parsed.definition.name,
        "event": parsed.event,
        "dedupe_key": parsed.dedupe_key,
    }
