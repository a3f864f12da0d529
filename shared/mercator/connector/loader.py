"""Load connector definitions from YAML or JSON with errors a person can act on.

Every problem is reported as ``file: path: message`` where ``path`` is the key path inside the
document (``sync.resources.orders.apiMapping.items.transform``) and the message lists the valid
choices. Loading never lets a traceback reach the user, whatever the file holds: YAML and JSON
syntax errors carry their line and column; files that are not regular files or are over
``MAX_DEFINITION_BYTES``, bytes that are not UTF-8, duplicate keys, nesting past ``MAX_NESTING``,
YAML aliases expanding past ``MAX_YAML_NODES`` and integers past ``MAX_INT_DIGITS`` digits are
refused with their place (mercator.connector.documents). The Lambdas load shipped definitions
through the same path (``load_shipped``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from mercator.connector.definition import ConnectorDefinition
from mercator.connector.documents import (
    MAX_DEFINITION_BYTES,
    DocumentError,
    Problem,
    decode,
    parse_json,
    parse_yaml,
    read_file,
    too_big,
)
from mercator.mapping.engine import format_location

__all__ = [
    "SHIPPED_DIR",
    "DefinitionError",
    "Problem",
    "load_definition",
    "load_shipped",
    "parse_definition",
    "shipped_definitions",
    "validate_definition",
]

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "connectors"


class DefinitionError(DocumentError):
    """A definition that cannot be used; ``problems`` says where and why."""


def load_definition(path: str | Path) -> ConnectorDefinition:
    """Read and validate one definition file (.yaml, .yml or .json)."""
    file = Path(path)
    try:
        text = decode(read_file(file, limit=MAX_DEFINITION_BYTES, what="a definition"), str(file))
    except DocumentError as exc:
        raise DefinitionError(exc.file, exc.problems) from None
    definition = parse_definition(text, str(file), json_only=file.suffix.lower() == ".json")
    definition._source = file.resolve()
    return definition


def parse_definition(
    text: str, file: str = "<definition>", *, json_only: bool = False
) -> ConnectorDefinition:
    """Validate a definition given as text; the same limits as a file's apply."""
    # Characters are never fewer than bytes, so the cheap count settles most texts.
    if len(text) > MAX_DEFINITION_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_DEFINITION_BYTES:
        problem = Problem("", too_big("is larger", "a definition", MAX_DEFINITION_BYTES))
        raise DefinitionError(file, [problem])
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
    """A shipped definition by connector name; the name never leads out of the shipped folder."""
    file = SHIPPED_DIR / f"{name}.yaml"
    if not _CONNECTOR_NAME.fullmatch(name) or not file.exists():
        names = ", ".join(p.stem for p in shipped_definitions())
        raise DefinitionError(str(file), [Problem("", f"no shipped connector {name!r}; shipped: {names}")])
    return load_definition(file)


# The pattern ConnectorDefinition.name takes: no separators, no dots.
_CONNECTOR_NAME = re.compile(r"[a-z][a-z0-9_-]*")


def _parse_document(text: str, file: str, json_only: bool) -> Any:
    try:
        return parse_json(text, file, unique_keys=True) if json_only else parse_yaml(text, file)
    except DocumentError as exc:
        raise DefinitionError(exc.file, exc.problems) from None


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
