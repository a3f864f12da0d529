"""Write docs/content-types.md, the field reference of every content type, from its models.

Each content type's model gives its fields, nested ones included (``items[].name``,
``shippingAddress.city``), with their type, whether a record must have them, the values or formats
they take and their description. Run ``python -m mercator_local.field_reference`` (``make docs``)
after changing records.py; ``--check`` writes nothing and exits 1 with a diff when the file is stale
(a test checks the same).
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from mercator.domain.content_types import CONTENT_TYPES, RECORD_TYPES

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "docs" / "content-types.md"
COMMAND = "python -m mercator_local.field_reference"


@dataclass
class _Type:
    """What an annotation says about a value: its kind, constraints and the model it holds."""

    kind: str
    rules: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    model: type[BaseModel] | None = None
    many: bool = False


@dataclass(frozen=True)
class FieldRow:
    """One line of a content type's table."""

    name: str
    kind: str
    required: bool
    allowed: str
    description: str


_KINDS: dict[Any, tuple[str, list[str]]] = {
    str: ("text", []),
    float: ("number", []),
    int: ("integer", []),
    bool: ("boolean", ["true or false"]),
    dt.datetime: ("date-time", ["ISO 8601 date-time or date, or Unix seconds; written as ISO 8601"]),
}


def _constraint(item: Any, kind: str) -> str | None:
    unit = " characters" if kind == "text" else " items" if kind.startswith("list") else ""
    match item:
        case annotated_types.MinLen(min_length=1) if kind == "text":
            return "not empty"
        case annotated_types.MinLen(min_length=low):
            return f"at least {low}{unit}"
        case annotated_types.MaxLen(max_length=high):
            return f"at most {high}{unit}"
        case annotated_types.Ge(ge=low):
            return f"≥ {low:g}"
        case annotated_types.Gt(gt=low):
            return f"> {low:g}"
        case annotated_types.Le(le=high):
            return f"≤ {high:g}"
        case annotated_types.Lt(lt=high):
            return f"< {high:g}"
    return None


def _rules(constraints: list[Any], kind: str) -> list[str]:
    lows = [item.min_length for item in constraints if isinstance(item, annotated_types.MinLen)]
    highs = [item.max_length for item in constraints if isinstance(item, annotated_types.MaxLen)]
    if lows and highs and lows[0] == highs[0] and kind == "text":
        lengths = annotated_types.MinLen | annotated_types.MaxLen
        rest = [item for item in constraints if not isinstance(item, lengths)]
        return [f"exactly {lows[0]} characters", *_rules(rest, kind)]
    return [text for item in constraints if (text := _constraint(item, kind)) is not None]


def _read(annotation: Any) -> _Type:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extras = get_args(annotation)
        read = _read(base)
        constraints: list[Any] = []
        for extra in extras:
            if isinstance(extra, FieldInfo):
                constraints += extra.metadata
                if extra.description:
                    read.notes.append(extra.description)
            else:
                constraints.append(extra)
        read.rules = _rules(constraints, read.kind) + read.rules
        return read
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return _read(members[0])
        reads = [_read(member) for member in members]
        return _Type(" or ".join(read.kind for read in reads))
    if origin is Literal:
        return _Type("text", [", ".join(f"`{value}`" for value in get_args(annotation))])
    if origin is list:
        item = _read(get_args(annotation)[0])
        kind = "list of objects" if item.model else f"list of {item.kind}"
        rules = [f"each {rule}" for rule in item.rules]
        return _Type(kind, rules, item.notes, item.model, many=True)
    if origin is dict or annotation is dict:
        return _Type("object", ["any JSON object (free-form)"])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _Type("object", model=annotation)
    if annotation in _KINDS:
        kind, rules = _KINDS[annotation]
        return _Type(kind, list(rules))
    raise TypeError(f"no rendering for the annotation {annotation!r}; teach field_reference about it")


def _rows(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[FieldRow, _Type]]:
    hints = get_type_hints(model, include_extras=True)
    for name, info in model.model_fields.items():
        read = _read(hints[name])
        field_rules = _rules(list(info.metadata), read.kind)
        description = info.description or ""
        notes = [note for note in read.notes if note != description]
        allowed = "; ".join([*dict.fromkeys([*field_rules, *read.rules]), *notes])
        yield FieldRow(prefix + name, read.kind, info.is_required(), allowed, description), read
        if read.model is not None:
            yield from _rows(read.model, f"{prefix}{name}{'[]' if read.many else ''}.")


def field_rows(content_type: str) -> list[FieldRow]:
    """Every field of ``content_type``, each nested one after the field that holds it."""
    return [row for row, _ in _rows(CONTENT_TYPES[content_type])]


def _objects(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, type[BaseModel]]]:
    """The objects nested in a model: ``items[]``, ``customer``... with the model describing each."""
    for row, read in _rows(model, prefix):
        if read.model is not None:
            yield f"{row.name}{'[]' if read.many else ''}", read.model


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _doc(model: type[BaseModel], content_type: str | None = None) -> str:
    text = model.__doc__ or ""
    if content_type is not None:
        text = text.removeprefix(f"{content_type}:").strip()
    return _sentence(text) if text.strip() else ""


def render() -> str:
    """The whole of docs/content-types.md."""
    record_types = {content_type: record_type for record_type, content_type in RECORD_TYPES.items()}
    lines = [
        "# Content types",
        "",
        f"<!-- Generated from shared/mercator/domain/content_types.py by `make docs` ({COMMAND}); "
        "do not edit. -->",
        "",
        "Every record Mercator writes has one of these content types: a resource's `contentType` and a",
        "webhook handler's `recordType` name it, and its `apiMapping` or `mapping` must produce a record",
        "that fits. Unknown fields are refused (free-form data goes under `attributes`), text is trimmed",
        "of surrounding whitespace, and fields without a value (null) are left out of the stored record.",
        "",
        "*Required* is for whole records (listings, details, `create` and `upsert` handlers): an `update`",
        "handler's record carries `code` and only the fields that changed. A nested field (`items[].name`)",
        "is required in each object that is given; the object itself may be optional.",
        "",
        "| content type | handler `recordType` | required fields | what it is |",
        "|---|---|---|---|",
    ]
    for content_type, model in CONTENT_TYPES.items():
        required = ", ".join(f"`{name}`" for name, info in model.model_fields.items() if info.is_required())
        record_type = f"`{record_types[content_type]}`" if content_type in record_types else "—"
        lines.append(
            f"| [`{content_type}`](#{_anchor(content_type)}) | {record_type} | {required} | "
            f"{_cell(_doc(model, content_type))} |"
        )
    for content_type, model in CONTENT_TYPES.items():
        lines += ["", f"## {content_type}", "", _doc(model, content_type), ""]
        lines += [
            "| field | type | required | values and format | description |",
            "|---|---|---|---|---|",
        ]
        for row in field_rows(content_type):
            lines.append(
                f"| `{row.name}` | {row.kind} | {'required' if row.required else 'optional'} | "
                f"{_cell(row.allowed)} | {_cell(row.description)} |"
            )
        nested = [(name, doc) for name, held in _objects(model) if (doc := _doc(held))]
        if nested:
            lines.append("")
            lines += [f"- `{name}`: {doc}" for name, doc in nested]
    return "\n".join(lines) + "\n"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but - and _ dropped, spaces as -."""
    return "".join(char for char in heading.lower() if char.isalnum() or char in "-_ ").replace(" ", "-")


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Write docs/content-types.md, the field reference of every content type in records.py.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with a diff when the file is not what records.py gives, 0 when current",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=TARGET,
        metavar="FILE",
        help="the file to write or check (default: docs/content-types.md)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    target: Path = args.out.resolve()
    text = render()
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current == text:
            print(f"{_shown(target)} is current")
            return 0
        if current is None:
            print(f"{_shown(target)} is missing; run `make docs` ({COMMAND}) to write it", file=sys.stderr)
            return 1
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"{_shown(target)} (written)",
            tofile=f"{_shown(target)} (from records.py)",
        )
        sys.stderr.writelines(diff)
        print(f"{_shown(target)} is stale; run `make docs` ({COMMAND}) to rewrite it", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {_shown(target)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
