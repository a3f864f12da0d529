"""Load connector definitions from YAML or JSON with errors a person can act on.

Every problem is reported as ``file: path: message`` where ``path`` is the key path inside the
document (``sync.resources.orders.apiMapping.items.transform``) and the message lists the valid
choices. Loading never lets a traceback reach the user: YAML syntax errors carry their line and column.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from mercator.connector.definition import ConnectorDefinition
from mercator.mapping.engine import format_location

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "connectors"


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class DefinitionError(ValueError):
    """A definition that cannot be used; ``problems`` says where and why."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(f"{self.file}: {p.path or '(document)'}: {p.message}" for p in self.problems)


def load_definition(path: str | Path) -> ConnectorDefinition:
    """Read and validate one definition file (.yaml, .yml or .json)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(
            str(file), [Problem("", f"cannot read the file: {exc.strerror or exc}")]
        ) from None
    definition = parse_definition(text, str(file), json_only=file.suffix.lower() == ".json")
    definition._source = file.resolve()
    return definition


def parse_definition(
    text: str, file: str = "<definition>", *, json_only: bool = False
) -> ConnectorDefinition:
    data = _parse_document(text, file, json_only)
    return validate_definition(data, file)


def validate_definition(data: Any, file: str = "<definition>") -> ConnectorDefinition:
    if not isinstance(data, dict):
        raise DefinitionError(
            file, [Problem("", "a definition must be an object (mapping) at the top level")]
        )
    try:
        return ConnectorDefinition.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(
            file, [_problem(error, data) for error in exc.errors(include_url=False)]
        ) from None


def shipped_definitions() -> list[Path]:
    """The connector definitions shipped with Mercator."""
    return sorted(SHIPPED_DIR.glob("*.yaml"))


def load_shipped(name: str) -> ConnectorDefinition:
    file = SHIPPED_DIR / f"{name}.yaml"
    if not file.exists():
        names = ", ".join(p.stem for p in shipped_definitions())
        raise DefinitionError(str(file), [Problem("", f"no shipped connector {name!r}; shipped: {names}")])
    return load_definition(file)


def _parse_document(text: str, file: str, json_only: bool) -> Any:
    if json_only:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise DefinitionError(
                file, [Problem(f"line {exc.lineno}, column {exc.colno}", exc.msg)]
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DefinitionError(file, [Problem(where, str(exc.problem or exc))]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError(file, [Problem("", f"not valid YAML: {exc}")]) from None


def _problem(error: ErrorDetails, data: Any) -> Problem:
    location = _document_location(error["loc"], data, missing=error["type"] == "missing")
    ctx = error.get("ctx") or {}
    location.extend(ctx.get("location", ()))
    message = error["msg"]
    match error["type"]:
        case "missing":
            message = "missing required key"
        case "union_tag_invalid":
            message = f"{ctx.get('tag')!r} is not a valid choice; valid: {ctx.get('expected_tags')}"
        case "value_error":
            message = message.removeprefix("Value error, ")
        case "dict_type" | "model_type":
            message = f"must be an object (mapping), got {_kind(error.get('input'))}"
        case "list_type":
            message = f"must be a list, got {_kind(error.get('input'))}"
        case _:
            pass
    return Problem(format_location(location), message)


def _document_location(loc: tuple[int | str, ...], data: Any, *, missing: bool) -> list[str | int]:
    """The error's location in the document, without the union-member tags pydantic inserts."""
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        child = _child(node, part)
        if child is not _ABSENT:
            node = child
        elif not (missing and index == len(loc) - 1):
            continue  # a tag or validator name pydantic added; not part of the document
        path.append(part)  # a missing key belongs in the path though it is not in the document
    return path


_ABSENT = object()


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, dict):
        return node.get(part, _ABSENT)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _ABSENT


def _kind(value: Any) -> str:
    return (
        "null"
        if value is None
        else {"str": "text", "int": "a number", "float": "a number"}.get(
            type(value).__name__, type(value).__name__
        )
    )
