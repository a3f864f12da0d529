"""``mercator integrations``: list, configure, disable and remove the tenant's integrations through
the Integrations API.

Answers go to standard output (text, or the API's JSON with ``--format json``); what was done goes to
standard error. Exit statuses as for every API command (mercator.cli.api); an unusable
``--setting`` or credentials file exits 1 before any request. No credential is ever printed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mercator.cli.api import api_options, through_api
from mercator.cli.output import FORMATS, cells, write_answer, write_json, write_table

if TYPE_CHECKING:
    from mercator.cli.api_client import IntegrationsApiClient
    from mercator.cli.output import Commands


def register(commands: Commands) -> None:
    api = api_options()
    integrations = commands.add_parser(
        "integrations", help="configure, list, disable and remove the tenant's integrations (through the API)"
    )
    actions = integrations.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[api], help="print the tenant's integrations")
    listing.add_argument("--status", choices=("active", "disabled", "all"), default="all")
    listing.add_argument("--format", choices=FORMATS, default="text")
    listing.set_defaults(handler=_list)
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
        ("--auto-import-orders", "sync orders, abandoned carts and shipments (default: on)"),
        ("--sync-products", "sync products (default: on)"),
        (
            "--push-tracking",
            "write shipments sent with POST /api/shipments into the store, and let update_status "
            "workflows set order statuses there (default: off)",
        ),
    ):
        configure.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_text)
    configure.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="baseUrl=URL or rateLimitPerSecond=N (repeatable); numbers and true/false are sent as such",
    )
    configure.add_argument("--format", choices=FORMATS, default="text")
    configure.set_defaults(handler=_configure)
    disable = actions.add_parser(
        "disable", parents=[api], help="stop the integration's schedules and webhooks; it keeps its data"
    )
    disable.add_argument("integration_id", metavar="ID")
    disable.add_argument("--format", choices=FORMATS, default="text")
    disable.set_defaults(handler=_disable)
    remove = actions.add_parser(
        "remove", parents=[api], help="delete the integration, its credentials and sync state"
    )
    remove.add_argument("integration_id", metavar="ID")
    remove.add_argument("--purge", action="store_true", help="also delete the records it wrote")
    remove.set_defaults(handler=_remove)


def _list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        found = [
            integration
            for integration in api.integrations()
            if args.status == "all" or integration.get("status") == args.status
        ]
        if args.format == "json":
            write_json(out, found)
        else:
            _write_integrations(out, found)
        return 0

    return through_api(args, err, call)


def _configure(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mercator.cli.api_client import setting_value  # noqa: PLC0415 - httpx only when it runs

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
        write_answer(out, args.format, integration, str(integration.get("guid")))
        return 0

    return through_api(args, err, call)


def _disable(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        disabled = api.disable_integration(args.integration_id)
        write_answer(out, args.format, disabled, f"{disabled.get('guid')}  {disabled.get('status')}")
        return 0

    return through_api(args, err, call)


def _remove(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        api.remove_integration(args.integration_id, purge=args.purge)
        purged = " and the records it wrote" if args.purge else "; its records stay"
        err.write(f"removed integration {args.integration_id}{purged}\n")
        return 0

    return through_api(args, err, call)


def _write_integrations(out: TextIO, integrations: Sequence[Mapping[str, Any]]) -> None:
    rows = [
        (
            *cells(integration, "guid", "provider", "status"),
            "(all)" if integration.get("resources") is None else ",".join(integration["resources"]),
            str(integration.get("connectedAt")),
        )
        for integration in integrations
    ]
    write_table(out, ("ID", "PROVIDER", "STATUS", "RESOURCES", "CONNECTED"), rows)


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
