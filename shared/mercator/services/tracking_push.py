"""pushTracking's work: one tenant shipment written into its store, as the connector's
``push.shipments`` block says (a Shopify fulfillment, a Salla shipment, an order's tracking).

The Integrations API (``POST /api/shipments``, mercator.services.shipment_requests) keeps the
tenant's shipment in the ledger and sends a ShipmentPushJob; CatalogPush runs it. A job writes the
shipment as the ledger has it when the job runs, so a request made after the job was sent is the
one written:

- nothing, when the request in the ledger was settled already (pushed or refused as it is);
- the block's ``lookup`` calls, then ``create`` for a shipment never written, ``update`` (or
  ``create`` again, without an update) for one whose request changed since it was written, or no
  write at all when the store holds it as asked; then the ``then`` calls;
- exactly one shipment per tenant shipment: the ledger holds the create's key (``creating``) before
  the create is sent, and a create is sent once (never retried by the client: the store may have
  taken it). After a lost answer, in this job or a later one, ``find`` looks for the shipment that
  create wrote before creating again;
- a write the store refuses (a 4xx) is settled as ``refused`` with the store's reasons and sent to
  the push DLQ (``resource: shipments:push``, ``detail.kind: shipment``); 401/403, 429 and 5xx fail
  the job, which SQS delivers again (calls are paced by the rate bucket the integration's sync shares);
- the integration must still be active with ``settings.pushTracking`` on, on a connector with
  ``push.shipments``: otherwise the shipment is refused with that reason and nothing is written.

Jobs of one shipment are serialised by a lease lock. What Mercator writes comes back as the store's
own shipment (its webhook, its next listing): inbound data like any other, which needs no echo
suppression (no trigger fires for Mercator's write that would not fire for the merchant's).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import uuid4

from mercator.connector import ConnectorDefinition, DefinitionError
from mercator.connector.product_push import MissingStoreValueError, PushEndpoint, with_store
from mercator.connector.shipment_push import ShipmentPush
from mercator.domain.clock import utc_now
from mercator.domain.dead_letters import DeadLetter
from mercator.domain.entities import Integration
from mercator.domain.messages import ShipmentPushJob
from mercator.domain.provider_errors import ProviderError, ProviderHTTPError
from mercator.mapping import MappingError
from mercator.services.ports import (
    Connectors,
    CredentialsVault,
    IntegrationLookup,
    MessageQueue,
    ProviderSession,
    ProviderSessions,
)
from mercator.services.push_ports import LeaseLock, PushedShipment, ShipmentLedger

logger = logging.getLogger(__name__)

RESOURCE = "shipments:push"
# Statuses that concern every write alike (credentials), not this shipment: the job is retried.
_NEVER_AUTHORISED = frozenset({401, 403})
_CREATE_ATTEMPTS = 3
# The store's reasons kept in the ledger and the dead letter, at most (characters of JSON).
MAX_REASONS_CHARS = 4000

Deadline = Callable[[], float]
Action = Literal["created", "found", "updated", "then", "none"]


class _NoKeyError(Exception):
    """The block's key rule gives the shipment no key: find could never match it."""


class ShipmentBusyError(RuntimeError):
    """Another invocation is writing the same shipment: the job is retried once it is done."""


@dataclass(frozen=True)
class ShipmentOutcome:
    status: Literal["pushed", "refused", "settled", "missing"]
    integration_id: str
    shipment: str
    action: Action = "none"
    requests: int = 0
    throttled: int = 0


@dataclass
class _Write:
    """One job's write: the block, the session, and what the store is known to hold so far."""

    integration: Integration
    definition: ConnectorDefinition
    push: ShipmentPush
    session: ProviderSession
    entry: PushedShipment
    store: dict[str, Any] = field(default_factory=dict)
    key: str | None = None


def tracking_problem(integration: Integration | None, definition: ConnectorDefinition | None) -> str | None:
    """Why Mercator may not write shipments into the integration's store now; None when it may."""
    if integration is None:
        return "the integration no longer exists"
    if integration.status != "active":
        return f"integration {integration.id!r} is disabled"
    if definition is None or definition.push is None or definition.push.shipments is None:
        name = integration.connector if definition is None else definition.name
        return f"connector {name!r} has no push.shipments block: Mercator cannot write shipments to it"
    if integration.settings.get("pushTracking") is not True:
        return (
            f"settings.pushTracking is off for integration {integration.id!r}: configure it with "
            "pushTracking true, then send the shipment again"
        )
    return None


class ShipmentPushService:
    """Runs ShipmentPushJobs; depends only on the ports."""

    def __init__(
        self,
        *,
        integrations: IntegrationLookup,
        vault: CredentialsVault,
        connectors: Connectors,
        sessions: ProviderSessions,
        ledger: ShipmentLedger,
        locks: LeaseLock,
        dead_letters: MessageQueue,
        clock: Callable[[], datetime] = utc_now,
        lease_seconds: float = 900.0,
    ) -> None:
        self.integrations = integrations
        self.vault = vault
        self.connectors = connectors
        self.sessions = sessions
        self.ledger = ledger
        self.locks = locks
        self.dead_letters = dead_letters
        self.clock = clock
        self.lease_seconds = lease_seconds

    async def run_shipment_job(self, job: ShipmentPushJob, deadline: Deadline) -> ShipmentOutcome:
        """Write the job's shipment as the ledger has it now; ShipmentBusyError while another
        invocation writes it."""
        owner = uuid4().hex
        lock = f"shipment#{job.integration_id}#{job.shipment}"
        # Long enough for the invocation; a crashed one frees the shipment a minute after its end.
        lease = min(self.lease_seconds, max(deadline(), 0.0) + 60.0)
        if not self.locks.acquire(lock, owner, lease):
            raise ShipmentBusyError(f"shipment {job.shipment!r} of {job.integration_id!r} is being written")
        try:
            return await self._run(job)
        finally:
            self.locks.release(lock, owner)

    async def _run(self, job: ShipmentPushJob) -> ShipmentOutcome:
        entry = self.ledger.get(job.integration_id, job.shipment)
        if entry is None:
            logger.warning("shipment %s of %s is not in the ledger", job.shipment, job.integration_id)
            return ShipmentOutcome("missing", job.integration_id, job.shipment)
        if entry.settled_hash == entry.request_hash:
            return ShipmentOutcome("settled", job.integration_id, job.shipment)
        integration = self.integrations.get(job.integration_id)
        definition = self._definition(integration)
        problem = tracking_problem(integration, definition)
        if problem is not None or integration is None or definition is None:
            self._refuse(entry, problem or "", None, connector=definition.name if definition else None)
            return ShipmentOutcome("refused", job.integration_id, job.shipment)
        push = definition.push.shipments if definition.push is not None else None
        assert push is not None  # tracking_problem checked it
        session = self.sessions.open(definition, integration, self.vault.credentials(integration))
        writing = _Write(integration, definition, push, session, entry)
        try:
            return await self._push(writing)
        finally:
            await session.aclose()

    def _definition(self, integration: Integration | None) -> ConnectorDefinition | None:
        if integration is None:
            return None
        try:
            return self.connectors.get(integration.connector)
        except DefinitionError as exc:
            logger.error("integration %s names a connector Mercator cannot load: %s", integration.id, exc)
            return None

    async def _push(self, writing: _Write) -> ShipmentOutcome:
        entry, push, stats = writing.entry, writing.push, writing.session.stats
        before = stats.requests, stats.throttled
        action: Action = "none"
        # A job after a crash that followed the write: the store holds it as asked already.
        needs_write = not (entry.written and entry.pushed_hash == entry.request_hash)
        try:
            writing.key = push.key_of(entry.record)
            if writing.key is None:
                raise _NoKeyError(
                    "push.shipments.key gave the shipment no key (its first tracking number, unless the "
                    "connector says otherwise)"
                )
            if needs_write or push.then:
                writing.store = {"order": entry.order_code, "key": writing.key}
                await self._lookups(writing)
                writing.store |= entry.ids | ({"id": entry.provider_id} if entry.provider_id else {})
            if needs_write:
                action = await self._write(writing)
            source = with_store(entry.record, writing.store)
            for index, call in enumerate(push.then):
                if call.applies(source):
                    where = f"push.shipments.then.{index}"
                    await self._send(writing, call.endpoint, call.request_body(source), where=where)
                    action = "then" if action == "none" else action
        except ProviderHTTPError as exc:
            if exc.status in _NEVER_AUTHORISED or exc.status == 429 or exc.status >= 500:
                raise
            reasons = push.refusal_in(exc.answer) if exc.answer is not None else None
            reason = f"the store refused the shipment: {exc.without_body()}"
            self._refuse(writing.entry, reason, reasons, connector=writing.definition.name)
            return self._outcome(writing, "refused", action, before)
        except _NoKeyError as exc:
            self._refuse(writing.entry, str(exc), None, connector=writing.definition.name)
            return self._outcome(writing, "refused", action, before)
        except (MissingStoreValueError, MappingError) as exc:
            reason = f"the connector's push.shipments block cannot write the shipment: {exc}"
            self._refuse(writing.entry, reason, None, connector=writing.definition.name)
            return self._outcome(writing, "refused", action, before)
        settled = writing.entry.model_copy(
            update={
                "state": "pushed",
                "settled_hash": entry.request_hash,
                "reason": None,
                "reasons": None,
                "settled_at": self.clock(),
            }
        )
        self.ledger.save_progress(settled)
        logger.info("shipment %s written to %s (%s)", entry.shipment, entry.integration_id, action)
        return self._outcome(writing, "pushed", action, before)

    async def _lookups(self, writing: _Write) -> None:
        for name, value in writing.push.lookup.items():
            where = f"push.shipments.lookup.{name}"
            answer = await self._send(writing, value.endpoint, None, where=where)
            found = value.value_in(answer)
            if found is None or found == "" or isinstance(found, bool):
                raise MappingError(f"{where}: the store's answer has no value at {value.path}")
            # A list or an object stays what it is, for a body to map (Salla's order lines as packages);
            # a plain value is text, as URLs and bodies read every store.* value.
            writing.store[name] = found if isinstance(found, dict | list) else str(found)

    async def _write(self, writing: _Write) -> Action:
        """Create, find or update the shipment; the ledger says what the store holds after it."""
        push, entry = writing.push, writing.entry
        if entry.written:
            call = push.update or push.create
            where = "push.shipments.update" if push.update else "push.shipments.create"
            source = with_store(entry.record, writing.store)
            answer = await self._send(writing, call.endpoint, call.request_body(source), where=where)
            self._written(writing, call.product_in(answer))
            return "updated"
        return await self._find_or_create(writing)

    async def _find_or_create(self, writing: _Write) -> Action:
        push, key = writing.push, writing.key or ""
        for attempt in range(_CREATE_ATTEMPTS):
            looked_for = writing.entry.creating_key
            if looked_for is not None and push.find is not None:
                found = await self._find(writing, looked_for)
                if found is not None:
                    # The earlier create landed, carrying the request it was sent for.
                    writing.store |= push.ids_in(found)
                    writing.entry = writing.entry.model_copy(update={"creating_key": None})
                    if writing.entry.pushed_hash == writing.entry.request_hash:
                        self._written(writing, found)
                        return "found"
                    self._written(writing, found, pushed_hash=writing.entry.pushed_hash)
                    await self._write(writing)
                    return "updated"
            # Kept before the create is sent: should its answer be lost, the next try looks first.
            writing.entry = writing.entry.model_copy(
                update={"state": "creating", "creating_key": key, "pushed_hash": writing.entry.request_hash}
            )
            self.ledger.save_progress(writing.entry)
            source = with_store(writing.entry.record, writing.store)
            try:
                answer = await self._send(
                    writing,
                    push.create.endpoint,
                    push.create.request_body(source),
                    where="push.shipments.create",
                    # Without find, the block says its create is safe to send again (a status set).
                    once=push.find is not None,
                )
            except ProviderHTTPError as exc:
                if exc.status < 500:
                    # A refusal: nothing was written (and a 429 was not taken either).
                    writing.entry = writing.entry.model_copy(
                        update={"creating_key": None, "pushed_hash": None}
                    )
                    raise
                if attempt + 1 == _CREATE_ATTEMPTS:
                    raise
            except ProviderError:
                # No answer (a timeout, a lost connection): the store may have taken it; look again.
                if attempt + 1 == _CREATE_ATTEMPTS:
                    raise
            else:
                self._written(writing, push.create.product_in(answer))
                return "created"
        raise AssertionError("unreachable")  # pragma: no cover

    def _written(self, writing: _Write, answered: Any, *, pushed_hash: str | None = None) -> None:
        """The store holds the shipment (from ``pushed_hash``, the current request by default): its
        ids are kept before any later call, so a failure after this point never writes it twice."""
        found = writing.push.ids_in(answered if isinstance(answered, dict) else {})
        writing.store |= found
        entry = writing.entry
        writing.entry = entry.model_copy(
            update={
                "creating_key": None,
                "pushed_hash": pushed_hash or entry.request_hash,
                "provider_id": found.get("id", entry.provider_id),
                "ids": entry.ids | {name: value for name, value in found.items() if name != "id"},
            }
        )
        self.ledger.save_progress(writing.entry)

    async def _find(self, writing: _Write, key: str) -> Any | None:
        find = writing.push.find
        assert find is not None
        try:
            answer = await self._send(
                writing, find.endpoint, None, store={**writing.store, "key": key}, where="push.shipments.find"
            )
        except ProviderHTTPError as exc:
            if exc.status in find.notFound:
                return None
            raise
        return find.found(answer, key)

    async def _send(
        self,
        writing: _Write,
        endpoint: PushEndpoint,
        body: dict[str, Any] | None,
        *,
        where: str,
        store: Mapping[str, Any] | None = None,
        once: bool = False,
    ) -> Any:
        url, params = endpoint.filled(writing.store if store is None else store)
        return await writing.session.call(
            endpoint.method, url, params=params, body=body, once=once, where=where
        )

    def _refuse(self, entry: PushedShipment, reason: str, reasons: Any, *, connector: str | None) -> None:
        """Settle the request as refused, with why, and dead-letter it; a new request tries again."""
        kept = bounded(reasons)
        self.ledger.save_progress(
            entry.model_copy(
                update={
                    "state": "refused",
                    "settled_hash": entry.request_hash,
                    "reason": reason,
                    "reasons": kept,
                    "settled_at": self.clock(),
                }
            )
        )
        detail: dict[str, Any] = {"kind": "shipment", "shipment": entry.shipment, "order": entry.order_code}
        if kept is not None:
            detail["store"] = kept
        letter = DeadLetter(
            reason=reason,
            detail=detail,
            raw=entry.record,
            integration_id=entry.integration_id,
            resource=RESOURCE,
            run_id=entry.request_hash,
            connector=connector,
        )
        self.dead_letters.send([letter.body()])
        logger.warning("shipment %s not written to %s: %s", entry.shipment, entry.integration_id, reason)

    @staticmethod
    def _outcome(
        writing: _Write, status: Literal["pushed", "refused"], action: Action, before: tuple[int, int]
    ) -> ShipmentOutcome:
        stats = writing.session.stats
        return ShipmentOutcome(
            status,
            writing.entry.integration_id,
            writing.entry.shipment,
            action,
            requests=stats.requests - before[0],
            throttled=stats.throttled - before[1],
        )


def bounded(reasons: Any) -> Any:
    """The store's reasons as kept: as given, or their JSON cut short when longer than the mark."""
    if reasons is None:
        return None
    text = json.dumps(reasons, ensure_ascii=False, default=str)
    if len(text) <= MAX_REASONS_CHARS:
        return reasons
    return {"excerpt": text[:MAX_REASONS_CHARS] + "…"}
