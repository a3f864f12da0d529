"""``python -m mercator_local.try_connector my.yaml``: a connector definition run end to end locally.

1. Loads the definition (located errors: exit 1) and runs the submission checklist (its findings are
   printed; they do not stop the run).
2. Hands it to the functions as a deployment would, as an extra connector in ``CONNECTORS_DIR``: a
   folder holding only it, or ``--connectors-dir`` as it is (its other files load too, and a refused
   one is shown as every function logs it at cold start). A shipped connector's own file runs as the
   shipped connector.
3. Starts the local stack (template.yaml on moto, the real handlers in this process) and serves the
   definition's samples as the store's API on loopback (mercator_local.sample_api).
4. Creates a tenant's API key and configures an integration of the connector through the
   Integrations API: sample credentials (``--credentials NAME=VALUE`` replaces one), the sample API
   as its ``baseUrl``. The API checks the credentials with one list request, as it would a store's.
5. Fires the schedule of every resource family the connector has and works the queues (ScheduledSync,
   DetailEnrichment, TriggerDispatch); prints per resource what was listed and written, and the
   records per content type.
6. Signs every webhook handler's sample deliveries the platform's way and posts each to the webhook
   API, the event name (and a delivery id) where the definition reads them: a header, the query, or
   the body (a sample given to several events is sent as each). Prints each answer: a verified,
   mapped delivery's outcome (accepted, or unchanged, stale... when the record was already there),
   or the refusal with its reason. ``--sign-with NAME=VALUE`` signs with another credential value
   than the integration holds, to see a delivery refused.

Exits 0 only when every list sample was synced (each of its records written, no error, no dead
letter, no request left unanswered) and every sample delivery was taken (verified, read as its
handler's event, mapped). The stack and the servers stop when it ends.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from mercator.cli.api_client import ApiClientError, IntegrationsApiClient
from mercator.connector import ConnectorDefinition, DefinitionError, load_definition, load_extra
from mercator.connector.checklist import check
from mercator.connector.documents import MAX_SAMPLE_BYTES, DocumentError, read_file, resolve_inside
from mercator.connector.loader import SHIPPED_DIR
from mercator.connector.webhook import (
    BodyValue,
    HeaderValue,
    QueryValue,
    StandardWebhooksVerification,
    WebhookConfig,
)
from mercator.domain.entities import MAX_RATE, RunStats
from mercator.services.families import FAMILIES
from mercator.state.api_keys import DynamoApiKeys
from mercator.state.cursors import DynamoCursors, DynamoRunLog
from mercator.state.record_store import DynamoRecords
from mercator_local.handlers import applied_environment
from mercator_local.sample_api import SampleApi, absolute_endpoints, replace_at
from mercator_local.stack import LocalStack
from mercator_local.webhook_events import SAMPLE_CREDENTIALS
from mercator_local.webhook_signing import signed_headers
from mercator_sandbox.serve import serving_app

TENANT = "try-tenant"
CONTENT_TYPES = tuple(FAMILIES.values())
DEAD_LETTER_QUEUES = ("SyncJobsDLQ", "EnrichDLQ", "TriggerDLQ")
# Outcomes of a delivery that was verified, read and mapped: the record is what it brought, or newer.
TAKEN = frozenset({"accepted", "queued", "unchanged", "merged", "stale", "duplicate"})
# A Standard Webhooks secret is base64 behind whsec_; a fixed one, as for the other sample credentials.
STANDARD_WEBHOOKS_SECRET = "whsec_" + base64.b64encode(b"mercator-try-connector-signing-key").decode()
# What an OAuth install brings besides the access token; a try run renews no token.
_NOT_SAMPLED = frozenset({"refreshToken", "expiresAt"})


class TryError(Exception):
    """The run cannot go on; the message says why."""


@dataclass(frozen=True)
class Answer:
    """The webhook API's answer to one sample delivery."""

    event: str
    sample: str
    status: int
    outcome: str  # the intake's outcome (accepted, ...), "refused", or "HTTP <status>"


@dataclass
class Report:
    """What the run prints, line by line; the checks that failed, the deliveries' answers, and the
    records the tenant has when the run ends (content type -> code -> record, deleted ones too)."""

    failures: list[str] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def check(self, ok: bool, text: str, failure: str | None = None) -> None:
        self.say(f"  {'ok  ' if ok else 'FAIL'} {text}")
        if not ok:
            self.failures.append(failure or text)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mercator_local.try_connector",
        description="Run a connector definition end to end on the local stack, against an API served "
        "from its own samples: a scheduled sync, then each sample webhook delivery, signed.",
    )
    parser.add_argument("definition", help="the definition file (.yaml), or a shipped connector's name")
    parser.add_argument(
        "--credentials",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=VALUE",
        help="credential values the integration holds instead of the sample ones",
    )
    parser.add_argument(
        "--sign-with",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=VALUE",
        help="sign the deliveries with these credential values instead of the integration's (a wrong "
        "one shows how a delivery is refused)",
    )
    parser.add_argument(
        "--connectors-dir",
        type=Path,
        metavar="DIR",
        help="the functions' CONNECTORS_DIR, as a deployment's (its other definitions load too); "
        "default: a folder holding only this definition",
    )
    parser.add_argument(
        "--show", type=int, default=1, metavar="N", help="records printed in full per content type (1)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    return try_connector(argv).exit_code


def try_connector(argv: Sequence[str] | None = None) -> Report:
    """The whole run (see the module's docstring); its report, printed as it went."""
    args = parse_args(argv)
    report = Report()
    try:
        credentials = _pairs(args.credentials, "--credentials")
        signing = _pairs(args.sign_with, "--sign-with")
        path = _definition_path(args.definition)
        definition = load_definition(path)
    except DefinitionError as exc:
        report.say(exc.render())
        report.failures.append(str(exc))
        return report
    except TryError as exc:
        report.say(f"try_connector: {exc}")
        report.failures.append(str(exc))
        return report
    with ExitStack() as running, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        try:
            TryRun.start(
                definition,
                path,
                args=args,
                credentials=credentials,
                signing=signing,
                report=report,
                running=running,
            ).run()
        except TryError as exc:
            report.check(False, str(exc))
    report.say()
    if report.failures:
        report.say(f"{definition.name}: {len(report.failures)} check(s) failed:")
        for failure in report.failures:
            report.say(f"  - {failure}")
    else:
        report.say(f"{definition.name}: every sample synced and every sample delivery was accepted")
    return report


def sample_credentials(definition: ConnectorDefinition) -> dict[str, str]:
    """A value for every credential the connector's auth provides: the sample webhook credentials
    where the name is one of theirs, ``try-<name>`` otherwise."""
    names = sorted((definition.auth.provides() if definition.auth else set()) - _NOT_SAMPLED)
    values = {name: SAMPLE_CREDENTIALS.get(name, f"try-{name}") for name in names}
    verification = definition.webhook.verification if definition.webhook else None
    if isinstance(verification, StandardWebhooksVerification):
        values[verification.secret] = STANDARD_WEBHOOKS_SECRET
    return values


@dataclass
class TryRun:
    """One run: the stack, the sample API and the integration configured on them."""

    definition: ConnectorDefinition
    stack: LocalStack
    api: SampleApi
    gateway: str  # the local API Gateway's base URL
    integration_id: str
    signing: dict[str, str]  # the credentials the deliveries are signed with
    report: Report
    show: int

    @classmethod
    def start(
        cls,
        definition: ConnectorDefinition,
        path: Path,
        *,
        args: argparse.Namespace,
        credentials: dict[str, str],
        signing: dict[str, str],
        report: Report,
        running: ExitStack,
    ) -> TryRun:
        """Check the definition, start the stack and the sample API, configure the integration."""
        report.say(f"Connector {definition.name} ({definition.displayName}) from {path}")
        findings = check(definition)
        report.say(
            f"  definition valid: {len(definition.resources)} resources, {len(definition.handlers)} "
            f"webhook handlers, {len(definition.triggers)} triggers; checklist: "
            + ("passes" if not findings else f"{len(findings)} finding(s)")
        )
        for finding in findings:
            report.say(f"    {finding.path}: {finding.message}")
        absolute = absolute_endpoints(definition)
        if absolute:
            raise TryError(
                "calls to absolute URLs would reach the real store, not the sample API: "
                f"{', '.join(absolute)}; write them as paths under sync.baseUrl"
            )
        connectors_dir = _connectors_dir(definition, path, args.connectors_dir, running, report)
        api = SampleApi(definition)
        for problem in api.problems:
            report.check(False, problem)

        # The handlers' metrics stay off; their warnings and errors still show, as JSON lines.
        running.enter_context(applied_environment({"POWERTOOLS_METRICS_DISABLED": "true"}))
        parameters = {"LogLevel": "WARNING", "ConnectorsDir": str(connectors_dir or "")}
        stack = running.enter_context(LocalStack(parameters=parameters, retry_after_seconds=0))
        base_url = api.base_url(running.enter_context(serving_app(api, lifespan="off")))
        gateway = stack.serve_api()
        report.say(f"  local stack at {stack.endpoint_url}; sample API at {base_url}")
        credentials = {**sample_credentials(definition), **credentials}
        key = DynamoApiKeys(stack.client("dynamodb"), stack.table_name("StateTable")).create(TENANT).key
        client = running.enter_context(IntegrationsApiClient(gateway, key))
        settings = {
            "autoImportOrders": True,
            "syncProducts": True,
            "baseUrl": base_url,
            "rateLimitPerSecond": MAX_RATE,
        }
        try:
            integration = client.configure_integration(definition.name, credentials, settings)
        except ApiClientError as exc:
            raise TryError(f"the Integrations API did not configure the integration: {exc}") from None
        report.say(
            f"  integration {integration['guid']} configured through the Integrations API, tenant "
            f"{TENANT}, credentials {', '.join(sorted(credentials))}"
        )
        return cls(
            definition=definition,
            stack=stack,
            api=api,
            gateway=gateway,
            integration_id=str(integration["guid"]),
            signing={**credentials, **signing},
            report=report,
            show=args.show,
        )

    def run(self) -> None:
        self.sync()
        self.deliver()
        records = self.records
        self.report.records = {
            content_type: {record.code: record.record for record in records.scan_type(TENANT, content_type)}
            for content_type in CONTENT_TYPES
        }

    @property
    def records(self) -> DynamoRecords:
        return DynamoRecords(self.stack.client("dynamodb"), self.stack.table_name("RecordsTable"))

    # --- the scheduled sync -------------------------------------------------------------------------

    def sync(self) -> None:
        say = self.report.say
        say()
        say("Scheduled sync")
        resources = {key: resource for key, resource in self.definition.resources.items() if resource.enabled}
        families = [
            family
            for family, content_type in FAMILIES.items()
            if any(resource.contentType == content_type for resource in resources.values())
        ]
        if not self.definition.sync.syncConfiguration.enabled or not families:
            say("  nothing to sync: the connector's sync is disabled or it has no enabled resource")
            return
        for family in families:
            self.stack.runner.invoke_schedule("ScheduledSyncFunction", family)
        if not self.stack.runner.run_until_idle().idle:
            self.report.check(False, "the queues did not empty")
        for key in resources:
            self._synced(key)
        self._unanswered()
        self._dead_letters()
        say()
        say(f"Records in the records table (tenant {TENANT})")
        self._print_records()

    def _synced(self, key: str) -> None:
        resource = self.definition.resources[key]
        if resource.endpoints.list is None:
            self.report.say(
                f"  -    {key}: not listed (no endpoints.list); webhooks that enrich bring its records"
            )
            return
        dynamodb, state = self.stack.client("dynamodb"), self.stack.table_name("StateTable")
        requests = (
            ", ".join(
                f"{kind} {count}"
                for kind in ("list", "details", "sub", "deletions")
                if (count := self.api.requests[(key, kind)])
            )
            or "none"
        )
        cursor = DynamoCursors(dynamodb, state).get(self.integration_id, key)
        if cursor is None or cursor.last_run_stats is None or cursor.last_run_id is None:
            self.report.check(False, f"{key}: no sync run finished (requests: {requests})")
            return
        listing = cursor.last_run_stats
        # Records fetched in detail are written by DetailEnrichment, which counts in the run's log.
        written = (
            DynamoRunLog(dynamodb, state).get(self.integration_id, key, cursor.last_run_id)
            if resource.expandDetails
            else listing
        )
        listed = self.api.listed(key)
        stored = {
            record.code
            for record in self.records.scan_type(TENANT, resource.contentType)
            if not record.deleted
        }
        missing = sorted({code for item in listed if (code := resource.code_of(item))} - stored)
        errors = listing.errors + (written.errors if written is not listing else 0)
        self.report.check(
            not missing and errors == 0 and listing.records == len(listed),
            f"{key} ({resource.contentType}): list sample {len(listed)} records; listed {listing.records} in "
            f"{listing.pages} page(s); {_written(written)}; errors {errors}; requests: {requests}"
            + (f"; not written: {', '.join(missing)}" if missing else ""),
            f"{key}: its list sample's records were not all synced"
            + (f" (not written: {', '.join(missing)})" if missing else ""),
        )

    # --- the webhook deliveries ---------------------------------------------------------------------

    def deliver(self) -> None:
        say = self.report.say
        say()
        say(f"Webhook deliveries, signed, to POST /webhooks/{self.integration_id}")
        if not self.definition.handlers:
            say("  the connector handles no webhook event")
            return
        before = self._versions()
        number = 0
        with httpx.Client(timeout=60) as http:
            for event, handler in self.definition.handlers.items():
                if not handler.samples:
                    self.report.check(False, f"{event}: no sample delivery")
                for sample in handler.samples:
                    number += 1
                    self._post(http, event, sample, f"try-{number}")
        if not self.stack.runner.run_until_idle().idle:
            self.report.check(False, "the queues did not empty")
        self._dead_letters()
        changed = {key for key, version in self._versions().items() if before.get(key) != version}
        say()
        say("Records the deliveries wrote")
        if not changed:
            say("  none")
        self._print_records(only=changed)

    def _post(self, http: httpx.Client, event: str, sample: str, delivery_id: str) -> None:
        webhook = self.definition.webhook
        try:
            body = _as_event(webhook, event, _sample_bytes(self.definition, sample))
            signed = signed_headers(
                webhook.verification if webhook else None, self.signing, body, now=datetime.now(UTC)
            )
        except (DocumentError, ValueError) as exc:
            self.report.check(False, f"{event} {sample}: cannot be sent: {exc}")
            return
        headers = {"Content-Type": "application/json", **signed}
        query: dict[str, str] = {}
        # Where the platform names the event and the delivery outside the body, they are set here.
        named = [(webhook.eventName, event), (webhook.deliveryId, delivery_id)] if webhook else []
        for source, value in named:
            if isinstance(source, HeaderValue):
                headers[source.name] = value
            elif isinstance(source, QueryValue):
                query[source.name] = value
        answer = http.post(
            f"{self.gateway}/webhooks/{self.integration_id}", content=body, headers=headers, params=query
        )
        try:
            document: Any = answer.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            document = None
        document = document if isinstance(document, dict) else {}
        outcome = str(document.get("status") or f"HTTP {answer.status_code}")
        read_as = document.get("event")
        details = [
            f"{name} {document[name]}"
            for name in ("code", "reason", "message")
            if isinstance(document.get(name), str) and document[name]
        ]
        if isinstance(read_as, str) and read_as != event:
            details.insert(0, f"read as event {read_as!r}, not {event!r}")
        self.report.answers.append(Answer(event, sample, answer.status_code, outcome))
        self.report.check(
            outcome in TAKEN and read_as in (None, event),
            f"{event} {sample}: {answer.status_code} {outcome}"
            + (f" ({'; '.join(details)})" if details else ""),
        )

    # --- what was written ---------------------------------------------------------------------------

    def _versions(self) -> dict[tuple[str, str], int]:
        records = self.records
        return {
            (content_type, record.code): record.version
            for content_type in CONTENT_TYPES
            for record in records.scan_type(TENANT, content_type)
        }

    def _print_records(self, *, only: set[tuple[str, str]] | None = None) -> None:
        records = self.records
        for content_type in CONTENT_TYPES:
            found = [
                record
                for record in records.scan_type(TENANT, content_type)
                if only is None or (content_type, record.code) in only
            ]
            if not found:
                continue
            deleted = sum(record.deleted for record in found)
            self.report.say(
                f"  {content_type}: {len(found)} record(s)"
                + (f", {deleted} marked deleted" if deleted else "")
                + f": {', '.join(record.code for record in found)}"
            )
            for record in found[: self.show]:
                shown = json.dumps(record.record, ensure_ascii=False, sort_keys=True)
                self.report.say(f"    {record.code}: {shown}")

    def _unanswered(self) -> None:
        for request in dict.fromkeys(self.api.unmatched):
            self.report.check(False, f"no endpoint of the definition answers {request}")

    def _dead_letters(self) -> None:
        for queue in DEAD_LETTER_QUEUES:
            for message in self.stack.receive_all(queue):
                try:
                    letter: Any = json.loads(message["Body"])
                except json.JSONDecodeError:
                    letter = None
                letter = letter if isinstance(letter, dict) else {}
                where = " ".join(str(letter[key]) for key in ("resource", "event") if letter.get(key))
                reason = letter.get("reason") or message["Body"][:300]
                self.report.check(False, f"dead letter in {queue}: {where + ': ' if where else ''}{reason}")


def _written(stats: RunStats) -> str:
    return f"written: {stats.new} new, {stats.changed} changed, {stats.unchanged} unchanged"


def _as_event(webhook: WebhookConfig | None, event: str, body: bytes) -> bytes:
    """The sample as a delivery of ``event``: where the event name is in the body, it is set there
    (a definition may give one sample to several events: an order's creation and its update)."""
    source = webhook.eventName if webhook else None
    if not isinstance(source, BodyValue):
        return body
    try:
        payload: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return body  # sent as it is: the intake says what is wrong with it
    if source.value_in({}, payload, {}) in (None, event):
        return body
    replace_at(payload, source.path, event)
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


# --- set-up --------------------------------------------------------------------------------------------


def _definition_path(given: str) -> Path:
    path = Path(given)
    if path.suffix or os.sep in given or path.exists():
        return path
    shipped = SHIPPED_DIR / f"{given}.yaml"
    if shipped.is_file():
        return shipped
    raise TryError(f"{given!r} is neither a file nor a shipped connector's name")


def _connectors_dir(
    definition: ConnectorDefinition, path: Path, given: Path | None, running: ExitStack, report: Report
) -> Path | None:
    """The CONNECTORS_DIR the functions get; None when the definition is a shipped one's own file."""
    source = path.resolve()
    if given is None and source.parent == SHIPPED_DIR.resolve():
        report.say("  runs as the shipped connector it is")
        return None
    if given is not None:
        folder = given.resolve()
    else:
        folder = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="mercator-try-")))
        (folder / f"{definition.name}.yaml").symlink_to(source)
    extra = load_extra(folder)
    for error in extra.problems:
        if Path(error.file).stem != definition.name:
            report.say(f"  note: another file of {folder} is refused (every function logs it at cold start):")
            report.say("    " + str(error).replace("\n", "\n    "))
    try:
        served = extra.get(definition.name)
    except DefinitionError as exc:
        raise TryError(f"the functions refuse connector {definition.name!r}: {exc}") from None
    if served is None:
        clash = extra.clashes.get(definition.name)
        if clash is not None:
            raise TryError(f"the functions refuse connector {definition.name!r}: {clash}")
        raise TryError(f"{folder} holds no connector {definition.name!r} (as {definition.name}.yaml)")
    if served.source != source:
        report.say(f"  note: the functions run {served.source}, not {source}")
    report.say(f"  served to the functions as an extra connector, CONNECTORS_DIR={folder}")
    return folder


def _sample_bytes(definition: ConnectorDefinition, sample: str) -> bytes:
    base = definition.source.parent if definition.source else Path.cwd()
    return read_file(resolve_inside(base, sample, what="a sample"), limit=MAX_SAMPLE_BYTES, what="a sample")


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, separator, text = value.partition("=")
        if not separator or not name:
            raise TryError(f"{option} takes NAME=VALUE, got {value!r}")
        pairs[name] = text
    return pairs


if __name__ == "__main__":
    sys.exit(main())
