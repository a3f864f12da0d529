"""``mercator workflows``: the tenant's triggers and workflows, and resuming paused executions,
through the Integrations API.

Answers go to standard output (text tables, or the API's JSON with ``--format json``); what was done
goes to standard error. Exit statuses as for every API command (mercator.cli.api); a workflow file
that cannot be read or is not a JSON object exits 1 before any request.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mercator.cli.api import api_options, through_api
from mercator.cli.output import FORMATS, cells, write_answer, write_json, write_table, yes_no

if TYPE_CHECKING:
    from mercator.cli.api_client import IntegrationsApiClient
    from mercator.cli.output import Commands


def register(commands: Commands) -> None:
    api = api_options()
    workflows = commands.add_parser(
        "workflows", help="configure the tenant's workflows and resume paused runs (through the API)"
    )
    actions = workflows.add_subparsers(dest="action", required=True, metavar="ACTION")
    triggers = actions.add_parser(
        "triggers", parents=[api], help="print the triggers of the tenant's integrations for an entity type"
    )
    triggers.add_argument("entity_type", metavar="ENTITY", help="Order, Customer, Product, Cart, Shipment")
    triggers.add_argument("--format", choices=FORMATS, default="text")
    triggers.set_defaults(handler=_triggers)
    listing = actions.add_parser("list", parents=[api], help="print the tenant's workflows of an entity type")
    listing.add_argument("entity_type", metavar="ENTITY")
    listing.add_argument("--managed", action="store_true", help="include managed workflows")
    listing.add_argument("--format", choices=FORMATS, default="text")
    listing.set_defaults(handler=_list)
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
    configure.add_argument("--format", choices=FORMATS, default="text")
    configure.set_defaults(handler=_configure)
    toggle = actions.add_parser("toggle", parents=[api], help="turn a workflow off, or on again")
    toggle.add_argument("guid", metavar="GUID")
    toggle.add_argument("--format", choices=FORMATS, default="text")
    toggle.set_defaults(handler=_toggle)
    delete = actions.add_parser("delete", parents=[api], help="delete a workflow")
    delete.add_argument("guid", metavar="GUID")
    delete.set_defaults(handler=_delete)
    resume = actions.add_parser("resume", parents=[api], help="run a paused workflow execution again")
    resume.add_argument("execution_id", metavar="EXECUTION_ID")
    resume.add_argument("--format", choices=FORMATS, default="text")
    resume.set_defaults(handler=_resume)


def _triggers(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        found = api.triggers(args.entity_type)
        if args.format == "json":
            write_json(out, found)
            return 0
        write_table(
            out,
            ("ID", "PROVIDER", "CODE", "NAME"),
            [cells(trigger, "guid", "provider", "code", "name") for trigger in found],
        )
        return 0

    return through_api(args, err, call)


def _list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        found = api.workflows(args.entity_type, managed=args.managed)
        if args.format == "json":
            write_json(out, found)
            return 0
        write_table(
            out,
            ("ID", "ACTIVE", "MANAGED", "TRIGGER", "ACTION", "NAME"),
            [
                (
                    str(workflow.get("guid")),
                    yes_no(workflow.get("isActive")),
                    yes_no(workflow.get("isManaged")),
                    *cells(workflow, "trigger", "action", "name"),
                )
                for workflow in found
            ],
        )
        return 0

    return through_api(args, err, call)


def _configure(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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
        write_answer(out, args.format, configured, str(configured.get("guid")))
        return 0

    return through_api(args, err, call)


def _toggle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        toggled = api.toggle_workflow(args.guid)
        state = "active" if toggled.get("isActive") else "inactive"
        write_answer(out, args.format, toggled, f"{toggled.get('guid')}  {state}")
        return 0

    return through_api(args, err, call)


def _delete(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        api.delete_workflow(args.guid)
        err.write(f"deleted workflow {args.guid}\n")
        return 0

    return through_api(args, err, call)


def _resume(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    def call(api: IntegrationsApiClient) -> int:
        execution = api.resume_execution(args.execution_id)
        reason = execution.get("reason")
        line = f"{execution.get('guid')}  {execution.get('status')}{f': {reason}' if reason else ''}"
        write_answer(out, args.format, execution, line)
        return 0

    return through_api(args, err, call)
