"""The ``mercator`` command line: validate and preview connector definitions, print their schema.

Errors in definitions or inputs are printed as ``file: path: message`` lines with exit status 1; the
command never shows a traceback for a user's mistake.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from mercator.connector import DefinitionError, load_definition, load_shipped, shipped_definitions
from mercator.connector.checklist import check
from mercator.connector.schema import definition_json_schema
from mercator.mapping import FUNCTIONS, TRANSFORMS
from mercator.services.mapper import (
    MapOutcome,
    PayloadShapeError,
    map_delivery,
    map_details_response,
    map_list_response,
)
from mercator.state.errors import StateError

if TYPE_CHECKING:
    from mercator.state.api_keys import DynamoApiKeys
    from mercator.state.integrations import DynamoIntegrations
    from mercator.state.secrets import SecretsVault


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
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
            if report["problems"]:
                for problem in report["problems"]:
                    out.write(f"{report['file']}: {problem['path'] or '(document)'}: {problem['message']}\n")
            else:
                out.write(f"{report['file']}: ok ({report['summary']})\n")
    return 1 if failed else 0


def _validate_one(file: Path) -> dict[str, Any]:
    try:
        definition = load_definition(file)
    except DefinitionError as exc:
        return {"file": str(file), "problems": [p.as_dict() for p in exc.problems], "summary": ""}
    findings = check(definition)
    summary = f"{len(definition.resources)} resources, {len(definition.handlers)} webhook handlers"
    return {"file": str(file), "problems": [f.as_dict() for f in findings], "summary": summary}


def _preview(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        definition = load_definition(args.file)
    except DefinitionError as exc:
        err.write(exc.render() + "\n")
        return 1
    try:
        payload = json.loads(args.input.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        err.write(f"{args.input}: not readable JSON: {exc}\n")
        return 1
    try:
        outcome = _map_for_preview(definition, args, payload)
    except (KeyError, PayloadShapeError) as exc:
        err.write(f"{args.file}: {exc.args[0] if isinstance(exc, KeyError) else exc}\n")
        return 1
    for record in outcome.records:
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    for failure in outcome.failures:
        err.write(f"{args.input}: record {failure.index}: {failure.reason}\n")
    return 1 if outcome.failures else 0


def _map_for_preview(definition: Any, args: argparse.Namespace, payload: Any) -> MapOutcome:
    if args.resource is not None:
        if args.resource not in definition.resources:
            raise KeyError(f"no resource {args.resource!r}; resources: {', '.join(definition.resources)}")
        resource = definition.resources[args.resource]
        if resource.responseMapping.records_in(payload) is not None:
            return map_list_response(definition, args.resource, payload)
        return map_details_response(definition, args.resource, payload)
    if args.event not in definition.handlers:
        raise KeyError(f"no handler for event {args.event!r}; handled: {', '.join(definition.handlers)}")
    return map_delivery(definition, args.event, payload)


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


# Integrations: registered here until the management API exists. AWS is reached through boto3's usual
# configuration (credentials, region, AWS_ENDPOINT_URL for a local stack); the state table's name comes
# from STATE_TABLE, as for the functions.


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


def _integrations_parser(commands: Any) -> None:
    integrations = commands.add_parser(
        "integrations", help="register and list integrations (the state table is $STATE_TABLE)"
    )
    actions = integrations.add_subparsers(dest="action", required=True, metavar="ACTION")
    register = actions.add_parser(
        "register", help="store an integration's credentials in Secrets Manager and the integration, active"
    )
    register.add_argument("--connector", required=True, metavar="NAME", help="a shipped connector")
    register.add_argument("--tenant", required=True, metavar="TENANT")
    register.add_argument(
        "--credentials-file",
        required=True,
        type=Path,
        metavar="CREDENTIALS.json",
        help="a JSON object of credential names to values",
    )
    register.add_argument("--id", dest="integration_id", metavar="ID", help="default: a new random id")
    register.add_argument(
        "--resources", metavar="KEY,KEY", help="resource keys to sync; default: every enabled resource"
    )
    register.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an integration setting, e.g. baseUrl=http://127.0.0.1:8000 (repeatable)",
    )
    register.set_defaults(handler=_integrations_register)
    listing = actions.add_parser("list", help="print the registered integrations")
    listing.add_argument("--status", choices=("active", "disabled", "all"), default="all")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.set_defaults(handler=_integrations_list)


def _integrations_register(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mercator.state.registration import RegistrationError, register_integration  # noqa: PLC0415

    prefix = "mercator integrations register"
    names = [path.stem for path in shipped_definitions()]
    if args.connector not in names:
        err.write(f"{prefix}: unknown connector {args.connector!r}; shipped connectors: {', '.join(names)}\n")
        return 1
    try:
        definition = load_shipped(args.connector)
    except DefinitionError as exc:
        err.write(exc.render() + "\n")
        return 1
    try:
        settings = dict(_setting(text) for text in args.setting)
        credentials = _credentials_file(args.credentials_file)
    except ValueError as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    resources = (
        None if args.resources is None else [k.strip() for k in args.resources.split(",") if k.strip()]
    )
    aws = _aws(err, prefix)
    if aws is None:
        return 1
    integrations, vault = aws
    refusals: tuple[type[Exception], ...] = (RegistrationError, *_aws_errors())
    try:
        integration = register_integration(
            integrations,
            vault,
            definition,
            tenant_id=args.tenant,
            credentials=credentials,
            integration_id=args.integration_id,
            resources=resources,
            settings=settings,
        )
    except refusals as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    err.write(
        f"registered integration {integration.id} ({integration.connector}, tenant {integration.tenant_id}); "
        f"credentials in {integration.credentials_arn}\n"
    )
    out.write(integration.id + "\n")
    return 0


def _integrations_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    prefix = "mercator integrations list"
    aws = _aws(err, prefix)
    if aws is None:
        return 1
    integrations, _ = aws
    statuses: tuple[Literal["active", "disabled"], ...] = (
        ("active", "disabled") if args.status == "all" else (args.status,)
    )
    try:
        found = [integration for status in statuses for integration in integrations.with_status(status)]
    except _aws_errors() as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    found.sort(key=lambda integration: (integration.tenant_id, integration.id))
    if args.format == "json":
        out.write(json.dumps([i.model_dump(mode="json") for i in found], indent=2) + "\n")
        return 0
    rows = [("ID", "TENANT", "CONNECTOR", "STATUS", "RESOURCES", "CREATED")] + [
        (
            i.id,
            i.tenant_id,
            i.connector,
            i.status,
            ",".join(i.resources) if i.resources is not None else "(all)",
            i.created_at.isoformat(timespec="seconds"),
        )
        for i in found
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        )
    return 0


def _state_table_name() -> str | None:
    # The functions read STATE_TABLE through mercator.settings; the command reads the same variable.
    return os.environ.get("STATE_TABLE") or None


def _aws(err: TextIO, prefix: str) -> tuple[DynamoIntegrations, SecretsVault] | None:
    """The integrations table and the secrets vault, or None after saying what is missing."""
    table = _state_table_name()
    if table is None:
        err.write(f"{prefix}: set STATE_TABLE to the name of Mercator's state table\n")
        return None
    import boto3  # noqa: PLC0415 - only these commands talk to AWS

    from mercator.state.integrations import DynamoIntegrations  # noqa: PLC0415
    from mercator.state.secrets import SecretsVault  # noqa: PLC0415

    try:
        dynamodb, secretsmanager = boto3.client("dynamodb"), boto3.client("secretsmanager")
    except _aws_errors() as exc:
        err.write(f"{prefix}: cannot reach AWS: {exc}\n")
        return None
    return DynamoIntegrations(dynamodb, table), SecretsVault(secretsmanager)


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
    table = [("KEY ID", "STATUS", "CREATED", "REVOKED")] + [
        (
            key.key_id,
            "revoked" if key.revoked else "active",
            key.created_at.isoformat(timespec="seconds"),
            "" if key.revoked_at is None else key.revoked_at.isoformat(timespec="seconds"),
        )
        for key in found
    ]
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    for row in table:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        )
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
