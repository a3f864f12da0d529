"""Load connector definitions from YAML or JSON with errors a person can act on.

Every problem is reported as ``file:line:column: path: message`` where ``path`` is the key path
inside the document (``sync.resources.orders.apiMapping.items.transform``), the line and column are
where that key was written (for a missing key, its parent object; ``file: path: message`` for a
definition not read from text) and the message lists the valid choices. Loading never lets a
traceback reach the user, whatever the file holds: YAML and JSON syntax errors carry their line and
column (a ``.json`` file is read as JSON, and says so when it is not); files that are not regular
files or are over ``MAX_DEFINITION_BYTES``, bytes that are not UTF-8, duplicate keys, nesting past
``MAX_NESTING``, YAML aliases expanding past ``MAX_YAML_NODES`` and integers past
``MAX_INT_DIGITS`` digits are refused with their place (mercator.connector.documents). The Lambdas
load shipped definitions through the same path (``load_shipped``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from mercator.connector.base import shown
from mercator.connector.definition import ConnectorDefinition
from mercator.connector.documents import (
    MAX_DEFINITION_BYTES,
    DocumentError,
    JSONSyntaxError,
    Position,
    Positions,
    Problem,
    decode,
    json_with_positions,
    parse_json,
    read_file,
    too_big,
)
from mercator.connector.yaml_documents import parse_yaml, yaml_with_positions
from mercator.mapping.engine import format_location

__all__ = [
    "SHIPPED_DIR",
    "DefinitionError",
    "ExtraConnectors",
    "Problem",
    "connector_names",
    "load_definition",
    "load_extra",
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
    # Where each value was written is needed only to place a problem: the text is read for it again
    # then, and never on a Lambda's cold start, whose shipped definitions load without one.
    return validate_definition(data, file, locate=cache(partial(_positions_of, text, file, json_only)))


def validate_definition(
    data: Any,
    file: str = "<definition>",
    positions: Positions | None = None,
    *,
    locate: Callable[[], Positions | None] | None = None,
) -> ConnectorDefinition:
    """A definition from its parsed document; ``positions`` (where each value was written), or
    ``locate`` to find them when first needed, place its problems and the checklist's findings
    (``position_of``)."""
    if locate is None:
        locate = partial(_given, positions)
    if not isinstance(data, dict):
        problem = Problem("", "a definition must be an object (mapping) at the top level")
        raise DefinitionError(file, [problem.at(_at(locate(), ()))])
    try:
        definition = ConnectorDefinition.model_validate(data)
    except ValidationError as exc:
        placed = locate()
        raise DefinitionError(
            file, [_problem(error, data, placed) for error in exc.errors(include_url=False)]
        ) from None
    definition._locate = locate
    return definition


def _given(positions: Positions | None) -> Positions | None:
    return positions


def _at(positions: Positions | None, location: tuple[str | int, ...]) -> Position | None:
    return positions.of(location) if positions else None


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


@dataclass(frozen=True)
class ExtraConnectors:
    """The connectors a deployment carries beside the shipped ones: the ``<name>.yaml`` files of one
    folder (``CONNECTORS_DIR``), each read once, when the folder is loaded (``load_extra``).

    ``definitions`` are the usable ones by name. ``refused`` are the others by the name their file
    gives: a lookup of one raises its DefinitionError (what is wrong, located in its file).
    ``clashes`` are files that would replace a shipped connector: they are refused too, and the
    shipped connector of that name keeps serving. One refused file never affects another connector.
    """

    folder: Path | None = None
    definitions: Mapping[str, ConnectorDefinition] = field(default_factory=dict)
    refused: Mapping[str, DefinitionError] = field(default_factory=dict)
    clashes: Mapping[str, DefinitionError] = field(default_factory=dict)

    def get(self, name: str) -> ConnectorDefinition | None:
        """The extra connector ``name``, None when the folder has none; DefinitionError when refused."""
        error = self.refused.get(name)
        if error is not None:
            raise DefinitionError(error.file, error.problems)
        return self.definitions.get(name)

    @property
    def problems(self) -> list[DefinitionError]:
        """Why each refused file was refused, clashes included, in file order."""
        return sorted([*self.refused.values(), *self.clashes.values()], key=lambda error: error.file)


def load_extra(folder: Path | None) -> ExtraConnectors:
    """Every ``*.yaml`` of ``folder`` as an extra connector; nothing when ``folder`` is None or absent.

    A file must be named after its connector (``name: acme`` in ``acme.yaml``) and must not take a
    shipped connector's name. A file that breaks either rule, or does not load, is refused alone with
    its located problems; the others load. Nothing is raised: the caller decides what a refusal costs.
    """
    if folder is None or not folder.is_dir():
        return ExtraConnectors(folder)
    shipped = {path.stem for path in shipped_definitions()}
    definitions: dict[str, ConnectorDefinition] = {}
    refused: dict[str, DefinitionError] = {}
    clashes: dict[str, DefinitionError] = {}
    for file in sorted(folder.iterdir()):
        if file.suffix == ".yml":
            refused[file.stem] = DefinitionError(
                str(file), [Problem("", f"only .yaml files are read here; rename it {file.stem}.yaml")]
            )
        if file.suffix != ".yaml":
            continue
        name = file.stem
        if name in shipped:
            clashes[name] = DefinitionError(str(file), [Problem("", _clash(name))])
            continue
        if not _CONNECTOR_NAME.fullmatch(name):
            refused[name] = DefinitionError(
                str(file),
                [
                    Problem(
                        "",
                        f"{file.name!r} is not <connector name>.yaml: a name starts with a lowercase "
                        "letter, then lowercase letters, digits, _ or -",
                    )
                ],
            )
            continue
        try:
            definition = load_definition(file)
        except DefinitionError as exc:
            refused[name] = exc
            continue
        if definition.name != name:
            message = (
                _clash(definition.name)
                if definition.name in shipped
                else f"the connector is named {definition.name!r} but its file is {file.name}; "
                f"name the file {definition.name}.yaml"
            )
            refused[name] = DefinitionError(str(file), [Problem("name", message)])
            continue
        definitions[name] = definition
    return ExtraConnectors(folder, definitions, refused, clashes)


def connector_names(extra: ExtraConnectors | None = None) -> list[str]:
    """Every connector a tenant may configure: the shipped ones, then the usable extra ones."""
    shipped = [path.stem for path in shipped_definitions()]
    return [*shipped, *sorted(set(extra.definitions if extra else ()) - set(shipped))]


def _clash(name: str) -> str:
    return (
        f"{name!r} is a shipped connector, and a deployment's connector never replaces a shipped one "
        "(the shipped one keeps serving); give yours another name, in its file name and its name: key"
    )


def _parse_document(text: str, file: str, json_only: bool) -> Any:
    try:
        return parse_json(text, file, unique_keys=True) if json_only else parse_yaml(text, file)
    except JSONSyntaxError as exc:
        raise DefinitionError(
            exc.file, [_not_json(problem, text, file) for problem in exc.problems]
        ) from None
    except DocumentError as exc:
        raise DefinitionError(exc.file, exc.problems) from None


def _not_json(problem: Problem, text: str, file: str) -> Problem:
    """A JSON syntax error that says why the text was read as JSON, and what else it may be."""
    message = f"not valid JSON: {problem.message}"
    if file.lower().endswith(".json"):
        message += "; the definition was read as JSON because the file name ends in .json"
    # YAML is a superset of JSON: a .json file that does not read as JSON is most often YAML.
    try:
        reads_as_yaml = isinstance(parse_yaml(text, file), dict)
    except DocumentError:
        reads_as_yaml = False
    if reads_as_yaml:
        message += f"; it reads as YAML: rename it {Path(file).stem}.yaml"
    return Problem(problem.path, message, problem.line, problem.column)


def _positions_of(text: str, file: str, json_only: bool) -> Positions | None:
    """Where each value of a definition that parsed once was written."""
    if json_only:
        return json_with_positions(text, file, unique_keys=True)[1]
    return yaml_with_positions(text, file)[1]


def _problem(error: ErrorDetails, data: Any, positions: Positions | None) -> Problem:
    location = _document_location(error["loc"], data, missing=error["type"] == "missing")
    ctx = error.get("ctx") or {}
    location.extend(ctx.get("location", ()))
    message = error["msg"]
    match error["type"]:
        case "missing":
            message = "missing required key"
        case "union_tag_invalid":
            message = f"{shown(ctx.get('tag'))} is not a valid choice; valid: {ctx.get('expected_tags')}"
        case "value_error":
            message = message.removeprefix("Value error, ")
        case "dict_type" | "model_type":
            message = f"must be an object (mapping), got {_kind(error.get('input'))}"
        case "list_type":
            message = f"must be a list, got {_kind(error.get('input'))}"
        case _:
            pass
    # A location the document lacks (a missing key, a place pydantic adds) is its nearest ancestor's.
    return Problem(format_location(location), message).at(positions.of(location) if positions else None)


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
