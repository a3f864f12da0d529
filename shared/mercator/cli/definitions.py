"""Connector definitions: ``validate``, ``preview``, ``schema`` and ``functions``.

Nothing here reaches AWS or the network. Errors in definitions or inputs are printed as
``file: path: message`` lines with exit status 1; a missing argument exits with status 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mercator.cli.output import FORMATS
from mercator.connector import DefinitionError, Problem, load_definition, shipped_definitions
from mercator.connector.checklist import check
from mercator.connector.documents import MAX_PAYLOAD_BYTES, DocumentError, load_json_file
from mercator.connector.mapper import PayloadShapeError
from mercator.connector.preview import map_for_preview
from mercator.connector.schema import definition_json_schema
from mercator.mapping import FUNCTIONS, TRANSFORMS

if TYPE_CHECKING:
    from mercator.cli.output import Commands


def register(commands: Commands) -> None:
    validate = commands.add_parser("validate", help="check definitions against the submission checklist")
    validate.add_argument("files", nargs="*", type=Path, metavar="FILE")
    validate.add_argument(
        "--shipped", action="store_true", help="validate every connector shipped with Mercator"
    )
    validate.add_argument("--format", choices=FORMATS, default="text")
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
