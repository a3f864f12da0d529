"""Write shared/mercator/pim/schemas/: one JSON Schema per detailed PIM synchronization event type.

The source is the PIM's synchronization-events reference, a GitBook page saved as text (the seed,
``<project>/../shared/seeds/002_*.txt`` unless ``--seed PATH`` names another). Each of its sections
is a heading line naming the detailed type (``attribute_option_code_changed``), then the example JSON
object, then the JSON Schema object, in that order. :func:`extract` reads them; :func:`amended` applies
the three amendments docs/catalog-events.md ("The schemas") documents, which touch only the schemas
whose payload ``value`` is a ``oneOf`` (``product_value_added``, ``product_value_changed``).

``python -m mercator_local.pim_schemas`` writes ``<type>.json`` per section heading (keys sorted,
indent 2, trailing newline); ``--check`` writes nothing and exits 1 naming every stale, missing or
extra file, 0 when the folder is current; ``--out DIR`` writes (or checks) another folder.
``envelope.json`` in the same folder is written by hand: the generator neither writes nor checks it.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mercator_local.webhook_events import differences

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "shared" / "mercator" / "pim" / "schemas"
SEED_PATTERN = "002_*.txt"
SEED_FOLDER = ROOT.parent / "shared" / "seeds"

# Schemas in FOLDER the generator does not own (never reported as extra).
HAND_WRITTEN = frozenset({"envelope.json"})

ATTRIBUTE_VALUE_REF = "#/components/schemas/AttributeValue"
AMENDMENTS = (
    "Amended from the reference (docs/catalog-events.md, 'The schemas'): "
    "1. components.schemas.AttributeValue, which the reference refers to and never defines, is any of "
    "the global value shapes; 2. local-value items take the translated value as 'value' or "
    "'translation' (the reference's own example writes 'translation'); 3. the branches of 'value' "
    "overlap (an empty array is every array branch), so they are anyOf, not oneOf."
)

# A section heading: a detailed type's name alone on its line. The page's footer repeats the coarse
# names the same way, so a heading only counts when the example object follows it.
_HEADING = re.compile(r"^[a-z]+(?:_[a-z]+)+$", re.MULTILINE)
# The only text GitBook puts between a heading and its example (the list of coarse events is rendered
# elsewhere on the page, as the footer).
_BETWEEN = re.compile(r"(?:\s*included with events:[^\n{]*)*\s*")


class SeedError(ValueError):
    """The reference does not read as sections of heading, example and schema, or has changed shape
    where an amendment applies."""


@dataclass(frozen=True)
class SeedEvent:
    """One section of the reference: its heading (the detailed type), example and schema as written."""

    type: str
    example: dict[str, Any]
    schema: dict[str, Any]


def extract(seed_text: str) -> dict[str, SeedEvent]:
    """Section heading → its example and schema, in the reference's order."""
    decoder = json.JSONDecoder()
    found: dict[str, SeedEvent] = {}
    for heading in _HEADING.finditer(seed_text):
        between = _BETWEEN.match(seed_text, heading.end())
        assert between is not None  # the pattern matches the empty string
        start = between.end()
        if not seed_text.startswith("{", start):
            continue
        name = heading.group()
        example, end = _object(decoder, seed_text, start, f"{name}'s example")
        start = _skip_space(seed_text, end)
        if not seed_text.startswith("{", start):
            raise SeedError(f"{name}: its example is not followed by its schema")
        schema, _ = _object(decoder, seed_text, start, f"{name}'s schema")
        if not isinstance(example.get("type"), str) or not isinstance(example.get("payload"), dict):
            raise SeedError(f"{name}: the example is not a detailed event (a type and a payload object)")
        if not isinstance(schema.get("properties"), dict):
            raise SeedError(f"{name}: the object after the example is not a schema with properties")
        if name in found:
            raise SeedError(f"{name}: two sections have this heading")
        found[name] = SeedEvent(type=name, example=example, schema=schema)
    if not found:
        raise SeedError("no section (a heading, an example object and a schema object) found")
    return found


def _object(decoder: json.JSONDecoder, text: str, start: int, what: str) -> tuple[dict[str, Any], int]:
    try:
        value, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise SeedError(f"{what} is not JSON: {error}") from error
    if not isinstance(value, dict):
        raise SeedError(f"{what} is not a JSON object")
    return value, end


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def amended(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the documented amendments where it has a payload ``value`` of ``oneOf`` branches
    (a copy; any other schema is returned as a copy unchanged)."""
    result = copy.deepcopy(schema)
    value = result.get("properties", {}).get("payload", {}).get("properties", {}).get("value")
    if not isinstance(value, dict) or "oneOf" not in value:
        return result
    if ATTRIBUTE_VALUE_REF.rsplit("/", 1)[-1] in result.get("components", {}).get("schemas", {}):
        # The reference now defines it: amendment 1 would hide its definition, so a person decides.
        raise SeedError("the reference now defines AttributeValue: review the amendments")
    branches: list[dict[str, Any]] = value.pop("oneOf")
    local = [branch for branch in branches if "language" in branch.get("items", {}).get("properties", {})]
    if len(local) != 1:
        raise SeedError("payload.value has no single branch of local (per language) items")
    item = local[0]["items"]
    translated = item["properties"].get("value")
    if translated != {"oneOf": [{"$ref": ATTRIBUTE_VALUE_REF}]}:
        raise SeedError(f"local items' value is no longer a reference to {ATTRIBUTE_VALUE_REF}")

    # 3: a cleared multi-select ([]) fits every array branch, which oneOf refuses.
    value["anyOf"] = branches
    # 2: the translated value is "value" or, as the reference's own example writes it, "translation".
    item["properties"]["value"] = {"anyOf": [{"$ref": ATTRIBUTE_VALUE_REF}]}
    item["properties"]["translation"] = {"anyOf": [{"$ref": ATTRIBUTE_VALUE_REF}]}
    item["required"] = ["language"]
    item["anyOf"] = [{"required": ["value"]}, {"required": ["translation"]}]
    # 1: a local value is translated, so its shapes are the global ones (every branch but the local).
    result.setdefault("components", {}).setdefault("schemas", {})["AttributeValue"] = {
        "description": "A value of a local attribute in one language: any of the global value shapes.",
        "anyOf": [copy.deepcopy(branch) for branch in branches if branch is not local[0]],
    }
    result["$comment"] = AMENDMENTS
    return result


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files(seed_text: str) -> dict[str, str]:
    """File name → text of every generated schema."""
    return {f"{name}.json": render(amended(event.schema)) for name, event in extract(seed_text).items()}


def default_seed() -> Path | None:
    """The reference beside the project (the first ``002_*.txt`` of ``../shared/seeds``), if any."""
    found = sorted(SEED_FOLDER.glob(SEED_PATTERN)) if SEED_FOLDER.is_dir() else []
    return found[0] if found else None


@dataclass(frozen=True)
class GeneratedFiles:
    """Files made from the reference: how the command is named, where they go, what they are."""

    prog: str
    description: str
    folder: Path
    what: str  # "schemas", "files": what the --check summary counts
    render: Callable[[str], dict[str, str]]  # the reference's text -> file name -> text
    kept: frozenset[str] = frozenset()  # files of the folder written by hand


def run_generator(files: GeneratedFiles, argv: Sequence[str] | None = None) -> int:
    """Write ``files`` from the reference, or with ``--check`` say which are stale, missing or extra."""
    parser = argparse.ArgumentParser(prog=files.prog, description=files.description)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming the stale, missing and extra files, 0 when all are current",
    )
    parser.add_argument(
        "--seed",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"the reference as text (default: ../shared/seeds/{SEED_PATTERN} beside the project)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=files.folder,
        metavar="DIR",
        help=f"the folder to write or check (default: {_shown(files.folder)}/)",
    )
    args = parser.parse_args(argv)
    seed: Path | None = args.seed or default_seed()
    if seed is None or not seed.is_file():
        shown = seed if seed is not None else SEED_FOLDER / SEED_PATTERN
        print(f"no reference at {shown}: name it with --seed PATH", file=sys.stderr)
        return 2
    try:
        expected = files.render(seed.read_text(encoding="utf-8"))
    except SeedError as error:
        print(f"{seed}: {error}", file=sys.stderr)
        return 2
    folder: Path = args.out.resolve()
    if args.check:
        found = differences(folder, expected, kept=files.kept)
        for kind, names in found.items():
            for name in names:
                print(f"{kind}: {_shown(folder / name)}")
        if any(found.values()):
            print(f"run python -m {files.prog.split()[-1]} to rewrite them", file=sys.stderr)
            return 1
        print(f"{_shown(folder)}: {len(expected)} {files.what} current")
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in expected.items():
        (folder / name).write_text(text, encoding="utf-8")
        print(f"wrote {_shown(folder / name)}")
    # Never deleted here: --out may name a folder that holds other files.
    for name in differences(folder, expected, kept=files.kept)["extra"]:
        print(f"extra: {_shown(folder / name)} (nothing of the reference makes it: delete it if stale)")
    return 0


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


SCHEMA_FILES = GeneratedFiles(
    prog="python -m mercator_local.pim_schemas",
    description=(
        "Write the JSON Schema of every detailed PIM synchronization event, from the reference, "
        "into shared/mercator/pim/schemas/ (amended as docs/catalog-events.md says)."
    ),
    folder=FOLDER,
    what="schemas",
    render=expected_files,
    kept=HAND_WRITTEN,
)


def main(argv: Sequence[str] | None = None) -> int:
    return run_generator(SCHEMA_FILES, argv)


if __name__ == "__main__":
    sys.exit(main())
