"""The ``mercator`` command line: validate and preview connector definitions, print their schema.

Errors in definitions or inputs are printed as ``file: path: message`` lines with exit status 1; the
command never shows a traceback for a user's mistake.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from mercator.connector import DefinitionError, load_definition, shipped_definitions
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
