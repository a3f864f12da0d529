"""The ``mercator`` command line: connector definitions, and a tenant's integrations and workflows.

Validates and previews connector definitions and prints their schema; configures a tenant's
integrations and workflows through the Integrations API; replays archived deliveries; manages API keys.

Errors in definitions or inputs are printed as ``file: path: message`` lines with exit status 1; the
command never shows a traceback for a user's mistake. The API's refusals are printed as ``code:
message`` with exit status 1; an API that cannot be reached, or is not named, exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mercator.connector import DefinitionError, Problem, load_definition, shipped_definitions
from mercator.connector.checklist import check
from mercator.connector.documents import MAX_PAYLOAD_BYTES, DocumentError, load_json_file
from mercator.connector.mapper import PayloadShapeError
from mercator.connector.preview import map_for_preview
from mercator.connector.schema import definition_json_schema
from mercator.domain.errors import StateError
from mercator.mapping import FUNCTIONS, TRANSFORMS

if TYPE_CHECKING:
    import httpx

    from mercator.api_client import IntegrationsApiClient
    from mercator.state.api_keys import DynamoApiKeys


def main(argv: Sequence[str] | None = None, *, api_transport: httpx.BaseTransport | None = None) -> int:
    """Run one command; ``api_transport`` carries the API commands' requests instead of the network."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.api_transport = api_transport
    handler = args.handler
    return int(handler(args, sys.stdout, sys.stderr))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mercator", description=__doc__.splitlines()[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check definitions against the submission checklist")
    validate.add_argument("files", nargs="*", type=Path, metavar="FILE")
    validate.add_argument(
        "--shipped", action="store_true", help="validate every connector shipped with Mercator"
    )
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.set_defaults(handler=_validate)

    preview = commands.add_parser("preview", help="map a payload with a definition and print the records")
    preview.add_argument("file", type=Path, metavar="FILE")
    target = preview.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--resource", metavar="NAME", help="a resource key: the input is a list or details response"
    )
    target.add_argument(
        "--event", metavar="NAME", help="a webhook handler event: the input is a delivery body"
    )
    preview.add_argument("--input", type=Path, required=True, metavar="PAYLOAD.json")
    preview.set_defaults(handler=_preview)

    schema = commands.add_parser("schema", help="print the JSON Schema of connector definitions")
    schema.set_defaults(handler=_schema)

    functions = commands.add_parser(
        "functions", help="list the transforms and compute functions with their docs"
    )
    functions.set_defaults(handler=_functions)

    # The sandbox parses its own options (mercator_sandbox.serve), imported only when the command runs;
    # "+" as the only prefix keeps this parser from claiming them.
    sandbox = commands.add_parser(
        "sandbox",
        help="serve a generated store (Salla, Shopify, WooCommerce) to develop connectors offline",
        add_help=False,
        prefix_chars="+",
    )
    sandbox.add_argument("args", nargs=argparse.REMAINDER)
    sandbox.set_defaults(handler=_sandbox)
    _integrations_parser(commands)
    _workflows_parser(commands)
    _replay_parser(commands)
    _api_keys_parser(commands)
    return parser


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    files: list[Path] = list(args.files) + (shipped_definitions() if args.shipped else [])
    if not files:
        err.write("mercator validate: give definition files or --shipped\n")
        return 2
    reports = [_validate_one(file) for file in files]
    failed = any(report["problems"] for report in reports)
    if args.format == "json":
        out.write(json.dumps({"valid": not failed, "files": reports}, indent=2) + "\n")
    else:
        for report in reports:
            for found in report["problems"]:
                problem = Problem(found["path"], found["message"], found["line"], found["column"])
                out.write(problem.render(found["file"]) + "\n")  # file:line:column: path: message
            if not report["problems"]:
                out.write(f"{report['file']}: ok ({report['summary']})\n")
    return 1 if failed else 0


def _validate_one(file: Path) -> dict[str, Any]:
    """One file's report; each problem gives its file, line and column (null where not known), path
    and message, whether loading refused the file or the checklist found it wanting."""
    try:
        definition = load_definition(file)
    except DefinitionError as exc:
        problems, summary = exc.problems, ""
    else:
        problems = [
            Problem(finding.path, finding.message).at(definition.position_of(finding.location))
            for finding in check(definition)
        ]
        summary = f"{len(definition.resources)} resources, {len(definition.handlers)} webhook handlers"
    reported = [
        {"file": str(file), "line": p.line, "column": p.column, "path": p.path, "message": p.message}
        for p in problems
    ]
    return {"file": str(file), "problems": reported, "summary": summary}


def _preview(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        definition = load_definition(args.file)
    except DefinitionError as exc:
        err.write(exc.render() + "\n")
        return 1
    try:
        payload = load_json_file(args.input, limit=MAX_PAYLOAD_BYTES, what="a preview input")
    except DocumentError as exc:
        for problem in exc.problems:
            where = f"{problem.path}: " if problem.path else ""
            err.write(f"{args.input}: not readable JSON: {where}{problem.message}\n")
        return 1
    try:
        outcome = map_for_preview(
            definition, payload, resource_key=args.resource, event=args.event, file=args.file
        )
    except KeyError as exc:
        err.write(f"{args.file}: {exc.args[0]}\n")
        return 1
    except PayloadShapeError as exc:
        err.write(f"{args.input}: {exc}\n")
        return 1
    if isinstance(outcome, str):
        err.write(f"{args.input}: {outcome}\n")
        return 0
    for record in outcome.records:
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    for failure in outcome.failures:
        err.write(f"{args.input}: record {failure.index}: {failure.reason}\n")
    return 1 if outcome.failures else 0


def _schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    out.write(json.dumps(definition_json_schema(), indent=2) + "\n")
    return 0


def _functions(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    for title, registry, usage in (
        ("Transforms", TRANSFORMS, "transform: NAME  (or a list, applied in order)"),
        ("Compute functions", FUNCTIONS, "transform: compute, fn: NAME, args: {...}"),
    ):
        out.write(f"{title}  ({usage})\n\n")
        for entry in registry:
            out.write(f"  {entry.name}\n")
            for line in entry.doc.splitlines():
                out.write(f"      {line}\n".rstrip() + "\n")
            for param, description in entry.params.items():
                out.write(f"      args.{param}: {description}\n")
            out.write("\n")
    return 0


def _sandbox(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        from mercator_sandbox.serve import run  # noqa: PLC0415 - a development tool, absent from the layer
    except ImportError:
        err.write("the sandbox store is a development tool: install Mercator with pip install -e '.[dev]'\n")
        return 2
    return run(args.args)


# Replaying archived deliveries: AWS is reached through boto3's usual configuration (credentials,
# region, AWS_ENDPOINT_URL for a local stack), with the WebhookIntake function's environment.


def _replay_parser(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="run archived webhook deliveries through intake again (environment as for WebhookIntake)",
        description=(
            "Replays deliveries kept in the archive bucket: each is mapped and written again, newer-only, "
            "and announced when it changes a record. The environment names the tables, bucket and queues "
            "as for the WebhookIntake function: STATE_TABLE, RECORDS_TABLE, ARCHIVE_BUCKET, "
            "ENRICH_QUEUE_URL, ENRICH_DLQ_URL, TRIGGER_QUEUE_URL."
        ),
    )
    chosen = replay.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--key", action="append", metavar="KEY", help="an archive object key (repeatable)")
    chosen.add_argument("--integration", metavar="ID", help="every archived delivery of this integration")
    replay.add_argument("--format", choices=("text", "json"), default="text")
    replay.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mercator.services.intake import IntakeError  # noqa: PLC0415
    from mercator.settings import SettingsError, WebhookSettings  # noqa: PLC0415
    from mercator.state.archive import S3DeliveryArchive  # noqa: PLC0415
    from mercator.wiring import webhook_intake  # noqa: PLC0415

    prefix = "mercator replay"
    try:
        settings = WebhookSettings.from_environ()
    except SettingsError as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - only the AWS commands import it

    refusals: tuple[type[Exception], ...] = (IntakeError, *_aws_errors())
    try:
        intake = webhook_intake(settings)
        archive = S3DeliveryArchive(boto3.client("s3"), settings.archive_bucket)
        keys = args.key or list(archive.keys(args.integration))
    except refusals as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    failed = 0
    results: list[dict[str, Any]] = []
    for key in keys:
        try:
            result = intake.replay(archive.get(key))
        except refusals as exc:
            failed += 1
            results.append({"key": key, "error": str(exc)})
            continue
        results.append(
            {"key": key, "outcome": result.outcome.value, "event": result.event, "code": result.code}
        )
    if args.format == "json":
        out.write(json.dumps(results, indent=2) + "\n")
    else:
        for row in results:
            done = row.get("error") or " ".join(str(row[name]) for name in ("outcome", "event", "code"))
            out.write(f"{row['key']}  {done}\n")
    err.write(f"replayed {len(keys) - failed} of {len(keys)} deliveries\n")
    return 1 if failed else 0


# Integrations and workflows: clients of the Integrations API. The API's URL (the stage's) comes from
# --api-url or MERCATOR_API_URL, the tenant's key from --api-key or MERCATOR_API_KEY; the key names
# the tenant and is never printed. A refusal prints the envelope's code and message and exits 1; no
# answer at all exits 2.

_API_URL_VARIABLE = "MERCATOR_API_URL"
_API_KEY_VARIABLE = "MERCATOR_API_KEY"
_TEXT_OR_JSON = ("text", "json")


def _api_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--api-url", metavar="URL", help=f"the Integrations API's stage URL (default: ${_API_URL_VARIABLE})"
    )
    options.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"the tenant's API key, mk_...; better in ${_API_KEY_VARIABLE}, out of the process list",
    )
    return options


def _integrations_parser(commands: Any) -> None:
    api = _api_options()
    integrations = commands.add_parser(
        "integrations", help="configure, list, disable and remove the tenant's integrations (through the API)"
    )
    actions = integrations.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[api], help="print the tenant's integrations")
    listing.add_argument("--status", choices=("active", "disabled", "all"), default="all")
    listing.add_argument("--format", choices=_TEXT_OR_JSON, default="text")
    listing.set_defaults(handler=_integrations_list)
    configure = actions.add_parser(
        "configure",
        aliases=["register"],
        parents=[api],
        help="connect a store: the API checks the credentials with it, stores them and prints the guid",
    )
    configure.add_argument(
        "--provider", required=True, metavar="NAME", help="a shipped connector: salla, ..."
    )
    configure.add_argument(
        "--credentials-file",
        required=True,
        type=Path,
        metavar="CREDENTIALS.json",
        help="a JSON object of credential names to values",
    )
    for flag, help_text in (
        ("--auto-import-orders", "sync orders and abandoned carts (default: on)"),
        ("--sync-products", "sync products (default: on)"),
        ("--push-tracking", "let update_status workflows set order statuses in the store (default: off)"),
    ):
        configure.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_text)
    configure.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="baseUrl=URL or rateLimitPerSecond=N (repeatable); numbers and true/false are sent as such",
    )
    configure.add_argument("--format", choices=_TEXT_OR_JSON, default="text")
    configure.set_defaults(handler=_integrations_configure)
    disable = actions.add_parser(
        "disable", parents=[api], help="stop the integration's schedules and webhooks; it keeps its data"
    )
    disable.add_argument("integration_id", metavar="ID")
    disable.add_argument("--format", choices=_TEXT_OR_JSON, default="text")
    disable.set_defaults(handler=_integrations_disable)
    remove = actions.add_parser(
        "remove", parents=[api], help="delete the integration, its credentials and sync state"
    )
    remove.add_argument("integration_id", metavar="ID")
    remove.add_argument("--purge", action="store_true", help="also delete the records it wrote")
    remove.set_defaults(handler=_integrations_remove)


def _workflows_parser(commands: Any) -> None:
    api = _api_options()
    workflows = commands.add_parser(
        "workflows", help="configure the tenant's workflows and resume paused runs (through the API)"
    )
    actions = workflows.add_subparsers(dest="action", required=True, metavar="ACTION")
    triggers = actions.add_parser(
        "triggers", parents=[api], help="print the triggers of the tenant's integrations for an entity type"
    )
    triggers.add_argument("entity_type", metavar="ENTITY", help="Order, Customer, Product, Cart, Shipment")
    triggers.add_argument("--format", choices=_TEXT_OR_JSON, default="text")
    triggers.set_defaults(handler=_workflows_triggers)
    listing = actions.add_parser("list", parents=[api], help="print the tenant's workflows of an entity type")
    listing.add_argument("entity_type", metavar="ENTITY")
    listing.add_argument("--managed", action="store_true", help="include managed workflows")
    listing.add_argument("--format", choices=_TEXT_OR_JSON, default="text")
    listing.set_defaults(handler=_workflows_list)
    configure = actions.add_parser(
        "configure", parents=[api], help="create a workflow, or update the one the file's guid names"
    )
    configure.add_argument(
        "--file",
        required=True,
        type=Path,
        metavar="WORKFLOW.json",
        help="the request body: name, entityType, triggerId, action, conditions (and guid to update)",
    )
    configure.add_argument("--format", choices=_TEXT_OR_JSON, default="text")
    configure.set_defaults(handler=_workflows_configure)
    toggle = actions.add_parser("toggle", parents=[api], help="turn a workflow off, or on again")
    toggle.add_argument("guid", metavar="GUID")
    toggle.add_argument("--format", choices=_TEXT_OR_JSON, default="text")
    toggle.set_defaults(handler=_workflows_toggle)
    delete = actions.add_parser("delete", parents=[api], help="delete a workflow")
    delete.add_argument("guid", metavar="GUID")
    delete.set_defaults(handler=_workflows_delete)
    resume = actions.add_parser("resume", parents=[api], help="run a paused workflow execution again")
    resume.add_argument("execution_id", metavar="EXECUTION_ID")
    resume.add_argument("--format", choices=_TEXT_OR_JSON, default="text")
    resume.set_defaults(handler=_workflows_resume)


_ApiWork = Callable[["IntegrationsApiClient"], int]


def _through_api(args: argparse.Namespace, err: TextIO, call: _ApiWork) -> int:
    """Run ``call`` with a client of the API the options name; refusals and failures said on ``err``."""
    from mercator.api_client import (  # noqa: PLC0415 - httpx only for the commands that need it
        ApiError,
        ApiSetupError,
        ApiUnreachableError,
        IntegrationsApiClient,
    )

    prefix = f"mercator {args.command} {args.action}"
    url = args.api_url or os.environ.get(_API_URL_VARIABLE) or ""
    key = args.api_key or os.environ.get(_API_KEY_VARIABLE) or ""
    if not url.strip():
        err.write(f"{prefix}: give the Integrations API's URL with --api-url or ${_API_URL_VARIABLE}\n")
        return 2
    if not key.strip():
        err.write(f"{prefix}: give the tenant's API key with ${_API_KEY_VARIABLE} or --api-key\n")
        return 2
    try:
        with IntegrationsApiClient(url, key, transport=getattr(args, "api_transport", None)) as client:
            return call(client)
    except ApiError as exc:
        err.write(f"{prefix}: {exc.code}: {exc.message}\n")
        return 1
    except (ApiSetupError, ApiUnreachableError) as exc:
        err.write(f"{prefix}: {exc}\n")
        return 2


def _integrations_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        found = [
            integration
            for integration in api.integrations()
            if args.status == "all" or integration.get("status") == args.status
        ]
        if args.format == "json":
            _write_json(out, found)
        else:
            _write_integrations(out, found)
        return 0

    return _through_api(args, err, call)


def _integrations_configure(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mercator.api_client import setting_value  # noqa: PLC0415

    prefix = f"mercator integrations {args.action}"
    try:
        settings: dict[str, Any] = {
            name: setting_value(value) for name, value in (_setting(text) for text in args.setting)
        }
        credentials = _credentials_file(args.credentials_file)
    except ValueError as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    for name, chosen in (
        ("autoImportOrders", args.auto_import_orders),
        ("syncProducts", args.sync_products),
        ("pushTracking", args.push_tracking),
    ):
        if chosen is not None:
            settings[name] = chosen

    def call(api: IntegrationsApiClient) -> int:
        integration = api.configure_integration(args.provider, credentials, settings)
        err.write(
            f"configured integration {integration.get('guid')} ({integration.get('provider')}, "
            f"{integration.get('status')})\n"
        )
        if args.format == "json":
            _write_json(out, integration)
        else:
            out.write(f"{integration.get('guid')}\n")
        return 0

    return _through_api(args, err, call)


def _integrations_disable(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        disabled = api.disable_integration(args.integration_id)
        if args.format == "json":
            _write_json(out, disabled)
        else:
            out.write(f"{disabled.get('guid')}  {disabled.get('status')}\n")
        return 0

    return _through_api(args, err, call)


def _integrations_remove(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        api.remove_integration(args.integration_id, purge=args.purge)
        purged = " and the records it wrote" if args.purge else "; its records stay"
        err.write(f"removed integration {args.integration_id}{purged}\n")
        return 0

    return _through_api(args, err, call)


def _workflows_triggers(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        found = api.triggers(args.entity_type)
        if args.format == "json":
            _write_json(out, found)
            return 0
        _write_table(
            out,
            ("ID", "PROVIDER", "CODE", "NAME"),
            [_cells(trigger, "guid", "provider", "code", "name") for trigger in found],
        )
        return 0

    return _through_api(args, err, call)


def _workflows_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        found = api.workflows(args.entity_type, managed=args.managed)
        if args.format == "json":
            _write_json(out, found)
            return 0
        _write_table(
            out,
            ("ID", "ACTIVE", "MANAGED", "TRIGGER", "ACTION", "NAME"),
            [
                (
                    str(workflow.get("guid")),
                    _yes_no(workflow.get("isActive")),
                    _yes_no(workflow.get("isManaged")),
                    *_cells(workflow, "trigger", "action", "name"),
                )
                for workflow in found
            ],
        )
        return 0

    return _through_api(args, err, call)


def _workflows_configure(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        workflow = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        err.write(f"mercator workflows configure: {args.file}: cannot read: {exc.strerror or exc}\n")
        return 1
    except json.JSONDecodeError as exc:
        err.write(f"mercator workflows configure: {args.file}: not JSON: {exc}\n")
        return 1
    if not isinstance(workflow, dict):
        err.write(f"mercator workflows configure: {args.file}: must be a JSON object (the request body)\n")
        return 1

    def call(api: IntegrationsApiClient) -> int:
        configured = api.configure_workflow(workflow)
        state = "active" if configured.get("isActive") else "inactive"
        err.write(f"configured workflow {configured.get('guid')} ({configured.get('name')}, {state})\n")
        if args.format == "json":
            _write_json(out, configured)
        else:
            out.write(f"{configured.get('guid')}\n")
        return 0

    return _through_api(args, err, call)


def _workflows_toggle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        toggled = api.toggle_workflow(args.guid)
        if args.format == "json":
            _write_json(out, toggled)
        else:
            out.write(f"{toggled.get('guid')}  {'active' if toggled.get('isActive') else 'inactive'}\n")
        return 0

    return _through_api(args, err, call)


def _workflows_delete(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        api.delete_workflow(args.guid)
        err.write(f"deleted workflow {args.guid}\n")
        return 0

    return _through_api(args, err, call)


def _workflows_resume(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        execution = api.resume_execution(args.execution_id)
        if args.format == "json":
            _write_json(out, execution)
            return 0
        reason = execution.get("reason")
        out.write(f"{execution.get('guid')}  {execution.get('status')}{f': {reason}' if reason else ''}\n")
        return 0

    return _through_api(args, err, call)


def _write_integrations(out: TextIO, integrations: Sequence[Mapping[str, Any]]) -> None:
    rows = [
        (
            *_cells(integration, "guid", "provider", "status"),
            "(all)" if integration.get("resources") is None else ",".join(integration["resources"]),
            str(integration.get("connectedAt")),
        )
        for integration in integrations
    ]
    _write_table(out, ("ID", "PROVIDER", "STATUS", "RESOURCES", "CONNECTED"), rows)


def _cells(item: Mapping[str, Any], *names: str) -> tuple[str, ...]:
    return tuple("" if item.get(name) is None else str(item[name]) for name in names)


def _yes_no(value: Any) -> str:
    return "yes" if value is True else "no"


def _write_json(out: TextIO, value: Any) -> None:
    out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _write_table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell, two spaces apart; the header first."""
    table = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        )


# The state table: the API-key commands reach AWS through boto3's usual configuration (credentials,
# region, AWS_ENDPOINT_URL for a local stack); the state table's name comes from STATE_TABLE, as for
# the functions.


def _state_table_name() -> str | None:
    # The functions read STATE_TABLE through mercator.settings; the command reads the same variable.
    return os.environ.get("STATE_TABLE") or None


def _aws_errors() -> tuple[type[Exception], ...]:
    """What a failed AWS call raises: the adapters' domain errors, and botocore's own (no region, no
    credentials, no connection), which are not client errors the adapters map."""
    from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped]  # noqa: PLC0415

    return StateError, BotoCoreError


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--setting {text!r} must be NAME=VALUE")
    return name.strip(), value


def _credentials_file(path: Path) -> dict[str, str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        # Only the position: the decoder's message could quote a credential.
        raise ValueError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(document, dict) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in document.items()
    ):
        raise ValueError(f"{path}: must be a JSON object of credential names to text values")
    return document


# API keys of the Integrations API: the table keeps hashes, so a key is printed once, when created.


def _api_keys_parser(commands: Any) -> None:
    api_keys = commands.add_parser(
        "api-keys", help="create, list and revoke tenants' API keys (the state table is $STATE_TABLE)"
    )
    actions = api_keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="make a tenant's key and print it; it cannot be shown again, only revoked"
    )
    create.add_argument("--tenant", required=True, metavar="TENANT")
    create.set_defaults(handler=_api_keys_create)
    listing = actions.add_parser("list", help="print a tenant's key ids and their dates (never the keys)")
    listing.add_argument("--tenant", required=True, metavar="TENANT")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.set_defaults(handler=_api_keys_list)
    revoke = actions.add_parser("revoke", help="refuse a key from now on (API Gateway may cache it 5 min)")
    revoke.add_argument("key_id", metavar="KEYID", help="the 16 hex characters after mk_")
    revoke.set_defaults(handler=_api_keys_revoke)


def _api_keys_create(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    prefix = "mercator api-keys create"
    keys = _api_keys(err, prefix)
    if keys is None:
        return 1
    refusals: tuple[type[Exception], ...] = (ValueError, *_aws_errors())
    try:
        issued = keys.create(args.tenant)
    except refusals as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    err.write(
        f"created API key {issued.key_id} for tenant {issued.tenant_id}. Keep it now: Mercator stores "
        "only its hash and cannot show it again.\n"
    )
    out.write(issued.key + "\n")
    return 0


def _api_keys_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    prefix = "mercator api-keys list"
    keys = _api_keys(err, prefix)
    if keys is None:
        return 1
    try:
        found = keys.for_tenant(args.tenant)
    except _aws_errors() as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    if args.format == "json":
        rows = [
            {
                "keyId": key.key_id,
                "tenantId": key.tenant_id,
                "createdAt": key.created_at.isoformat(),
                "revoked": key.revoked,
                "revokedAt": None if key.revoked_at is None else key.revoked_at.isoformat(),
            }
            for key in found
        ]
        out.write(json.dumps(rows, indent=2) + "\n")
        return 0
    table = [
        (
            key.key_id,
            "revoked" if key.revoked else "active",
            key.created_at.isoformat(timespec="seconds"),
            "" if key.revoked_at is None else key.revoked_at.isoformat(timespec="seconds"),
        )
        for key in found
    ]
    _write_table(out, ("KEY ID", "STATUS", "CREATED", "REVOKED"), table)
    return 0


def _api_keys_revoke(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    prefix = "mercator api-keys revoke"
    keys = _api_keys(err, prefix)
    if keys is None:
        return 1
    refusals: tuple[type[Exception], ...] = (ValueError, *_aws_errors())  # an unknown key is a StateError
    try:
        revoked = keys.revoke(args.key_id)
    except refusals as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    at = revoked.revoked_at.isoformat(timespec="seconds") if revoked.revoked_at else "now"
    err.write(f"revoked API key {revoked.key_id} of tenant {revoked.tenant_id} (since {at})\n")
    return 0


def _api_keys(err: TextIO, prefix: str) -> DynamoApiKeys | None:
    """The API key store on the state table, or None after saying what is missing."""
    table = _state_table_name()
    if table is None:
        err.write(f"{prefix}: set STATE_TABLE to the name of Mercator's state table\n")
        return None
    import boto3  # noqa: PLC0415 - only these commands talk to AWS

    from mercator.state.api_keys import DynamoApiKeys  # noqa: PLC0415

    try:
        return DynamoApiKeys(boto3.client("dynamodb"), table)
    except _aws_errors() as exc:
        err.write(f"{prefix}: cannot reach AWS: {exc}\n")
        return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
