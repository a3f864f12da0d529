"""Every definition problem says where it is: ``file:line:column: path: message``.

Each case is a small definition with one mistake and the first line ``mercator validate`` prints
for it, line and column counted by hand: an unknown key points at the key, a missing key at its
parent object, a place the document lacks at its nearest ancestor; look-alike and invisible
characters are escaped and named; a .json file says it was read as JSON; yes and no stay text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mercator.cli import main
from mercator.connector import DefinitionError, Problem, documents, load_definition, validate_definition
from mercator.connector.documents import json_with_positions
from mercator.connector.yaml_documents import parse_yaml, yaml_with_positions

BASE = """\
name: demo
displayName: Demo
auth: {type: api_key, credentials: [accessToken]}
sync:
  baseUrl: https://api.example.com/v2
  resources:
    products:
      name: products
      displayName: Products
      contentType: core:product
      endpoints:
        list: {url: /products}
      responseMapping: {dataProperty: data}
      apiMapping:
        code: {path: id, transform: toString}
        name: name
  webhooks:
    handlers: {}
"""


@dataclass(frozen=True)
class Case:
    """``BASE`` with ``old`` replaced by ``new``, written as ``name``; the first line it is refused with.

    ``expected`` is the whole line, or its start where the message goes on to list valid keys.
    """

    id: str
    old: str
    new: str
    expected: str
    whole: bool = True
    name: str = "demo.yaml"

    def write(self, folder: Path) -> Path:
        assert self.old in BASE or self.old == BASE, self.old
        path = folder / self.name
        text = BASE.replace(self.old, self.new)
        if path.suffix == ".json":
            text = json.dumps(yaml.safe_load(text), indent=2)
        path.write_text(text, encoding="utf-8")
        return path


CASES = [
    Case(
        "unknown-key-points-at-the-key",
        "      displayName: Products\n",
        "      displayNme: Products\n",
        "{file}:9:7: sync.resources.products.displayNme: unknown key 'displayNme' (did you mean "
        "'displayName'?); valid keys: ",
        whole=False,
    ),
    Case(
        "missing-key-points-at-its-parent",
        "  baseUrl: https://api.example.com/v2\n",
        "",
        "{file}:4:1: sync.baseUrl: missing required key",
    ),
    Case(
        "wrong-value-in-a-flow-mapping",
        "transform: toString",
        "transform: toStr",
        "{file}:15:26: sync.resources.products.apiMapping.code.transform: unknown transform 'toStr'; valid: ",
        whole=False,
    ),
    Case(
        "a-place-the-document-lacks-is-its-nearest-ancestor",
        "      responseMapping:",
        "      pagination: {defaultLimit: 60}\n      responseMapping:",
        "{file}:13:7: sync.resources.products.pagination.paramName: defaultLimit set but no paramName",
        whole=False,
    ),
    Case(
        "look-alike-key-is-escaped-and-named",
        "  baseUrl:",
        "  b\u0430seUrl:",
        "{file}:5:3: sync.b\\u0430seUrl: unknown key 'b\\u0430seUrl' (it has a look-alike character, "
        "\\u0430 CYRILLIC SMALL LETTER A; did you mean 'baseUrl'?); valid keys: ",
        whole=False,
    ),
    Case(
        "invisible-character-is-escaped-and-named",
        "      name: products",
        "      name\u200b: products",
        "{file}:8:7: sync.resources.products.name\\u200b: unknown key 'name\\u200b' (it has an invisible "
        "character, \\u200b ZERO WIDTH SPACE; did you mean 'name'?); valid keys: ",
        whole=False,
    ),
    Case(
        "unsupported-tag-points-at-the-tag",
        "type: api_key",
        "type: api_kye",
        "{file}:3:8: auth.type: type 'api_kye' is not supported (did you mean 'api_key'?); valid: oauth2, "
        "api_key, basic",
    ),
    Case(
        "duplicate-key-points-at-the-repeat",
        "  resources:\n",
        "  baseUrl: https://api.example.com/v3\n  resources:\n",
        "{file}:6:3: sync.baseUrl: duplicate key 'baseUrl': given before at line 5, column 3; give each "
        "key once (the last would silently win)",
    ),
    Case(
        "syntax-error",
        "name: name",
        "name: [name",
        "{file}:17:11: expected ',' or ']', but got ':'",
    ),
    Case(
        "top-level-list-points-at-the-document",
        BASE,
        "- name: demo\n",
        "{file}:1:1: a definition must be an object (mapping) at the top level",
    ),
    Case(
        "json-value-points-at-its-key",
        "transform: toString",
        "transform: toStr",
        # json.dumps(indent=2) writes the key 12 spaces in, on line 28
        "{file}:28:13: sync.resources.products.apiMapping.code.transform: unknown transform 'toStr'; ",
        whole=False,
        name="demo.json",
    ),
]

RAW_JSON_CASES = [
    (
        "json-file-holding-yaml",
        BASE,
        "{file}:1:1: not valid JSON: Expecting value; the definition was read as JSON because the file "
        "name ends in .json; it reads as YAML: rename it demo.yaml",
    ),
    (
        "json-file-holding-neither",
        '{"name": "demo",, }',
        "{file}:1:17: not valid JSON: Expecting property name enclosed in double quotes; the definition "
        "was read as JSON because the file name ends in .json",
    ),
]


def _first_line(path: Path) -> str:
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    return caught.value.render().splitlines()[0]


def _matches(line: str, expected: str, whole: bool) -> bool:
    return line == expected if whole else line.startswith(expected)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_problem_is_placed_at_its_line_and_column(case: Case, tmp_path: Path) -> None:
    path = case.write(tmp_path)
    line = _first_line(path)
    assert _matches(line, case.expected.format(file=path), case.whole), line


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in RAW_JSON_CASES], ids=[c[0] for c in RAW_JSON_CASES]
)
def test_a_json_file_that_is_not_json_says_why_it_was_read_as_json(
    text: str, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "demo.json"
    path.write_text(text, encoding="utf-8")
    assert _first_line(path) == expected.format(file=path)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_validate_prints_the_same_line(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = case.write(tmp_path)
    assert main(["validate", str(path)]) == 1
    line = capsys.readouterr().out.splitlines()[0]
    assert _matches(line, case.expected.format(file=path), case.whole), line


def test_validate_json_gives_file_line_column_path_and_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CASES[1].write(tmp_path)  # sync.baseUrl missing
    assert main(["validate", "--format", "json", str(path)]) == 1
    (problem,) = json.loads(capsys.readouterr().out)["files"][0]["problems"]
    assert problem == {
        "file": str(path),
        "line": 4,
        "column": 1,
        "path": "sync.baseUrl",
        "message": "missing required key",
    }


def test_a_checklist_finding_is_placed_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # BASE loads, but its resource has no samples: the finding's place, samples.list, is not in the
    # document, so it is placed at the resource (line 7, column 5).
    path = tmp_path / "demo.yaml"
    path.write_text(BASE, encoding="utf-8")
    message = "missing: add a sample response file (path relative to the definition)"
    assert main(["validate", str(path)]) == 1
    assert f"{path}:7:5: sync.resources.products.samples.list: {message}\n" in capsys.readouterr().out
    assert main(["validate", "--format", "json", str(path)]) == 1
    problems = json.loads(capsys.readouterr().out)["files"][0]["problems"]
    assert {
        "file": str(path),
        "line": 7,
        "column": 5,
        "path": "sync.resources.products.samples.list",
        "message": message,
    } in problems


def test_preview_prints_the_place_of_a_refused_definition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CASES[0].write(tmp_path)  # displayNme
    code = main(["preview", str(path), "--resource", "products", "--input", str(path)])
    assert code == 1
    assert capsys.readouterr().err.startswith(f"{path}:9:7: sync.resources.products.displayNme: ")


def test_a_definition_not_read_from_text_has_no_place() -> None:
    doc = yaml.safe_load(BASE)
    del doc["sync"]["baseUrl"]
    with pytest.raises(DefinitionError) as caught:
        validate_definition(doc, "demo.yaml")
    (problem,) = caught.value.problems
    assert caught.value.render() == "demo.yaml: sync.baseUrl: missing required key"
    assert problem.as_dict() == {"path": "sync.baseUrl", "message": "missing required key"}
    assert validate_definition(yaml.safe_load(BASE)).position_of(("sync",)) is None


def test_problem_as_dict_and_render() -> None:
    placed = Problem("sync.baseUrl", "missing required key", 4, 1)
    assert placed.as_dict() == {
        "path": "sync.baseUrl",
        "message": "missing required key",
        "line": 4,
        "column": 1,
    }
    assert placed.render("demo.yaml") == "demo.yaml:4:1: sync.baseUrl: missing required key"
    assert Problem("", "not UTF-8", 2, 3).render("demo.yaml") == "demo.yaml:2:3: not UTF-8"
    assert Problem("", "cannot read").render("demo.yaml") == "demo.yaml: (document): cannot read"


# Where values are


YAML_DOCUMENT = """\
base: &b {x: 1, y: [10, 20]}
use: *b
merged: {<<: *b, z: 2}
200: ok
nested: {p: &n {q: 1}}
later: *n
"""


@pytest.mark.parametrize(
    ("location", "line", "column"),
    [
        pytest.param((), 1, 1, id="the-document"),
        pytest.param(("base", "x"), 1, 11, id="a-key-in-a-flow-mapping"),
        pytest.param(("base", "y", 1), 1, 25, id="a-list-item"),
        pytest.param(("use", "x"), 2, 1, id="inside-an-alias-is-the-alias"),
        pytest.param(("nested", "p", "q"), 5, 17, id="inside-a-nested-anchor"),
        pytest.param(("later", "q"), 6, 1, id="inside-an-alias-of-a-nested-anchor-is-the-alias"),
        pytest.param(("merged", "x"), 3, 1, id="a-merged-key-is-the-mapping"),
        pytest.param(("merged", "z"), 3, 18, id="a-key-beside-a-merge"),
        pytest.param((200,), 4, 1, id="a-number-key"),
        pytest.param(("base", "x", "deeper", 0), 1, 11, id="deeper-than-the-document"),
        pytest.param(("nowhere",), 1, 1, id="a-missing-key-of-the-document"),
    ],
)
def test_yaml_positions(location: tuple[Any, ...], line: int, column: int) -> None:
    _, positions = yaml_with_positions(YAML_DOCUMENT, "doc.yaml")
    assert positions is not None
    found = positions.of(location)
    assert (found.line, found.column) == (line, column)


JSON_DOCUMENT = '{"a": [1, "two", {"k": null}],\n "b": -2.5e3, "c": true}'


@pytest.mark.parametrize(
    ("location", "line", "column"),
    [
        pytest.param((), 1, 1, id="the-document"),
        pytest.param(("a",), 1, 2, id="a-key"),
        pytest.param(("a", 0), 1, 8, id="a-number-item"),
        pytest.param(("a", 1), 1, 11, id="a-string-item"),
        pytest.param(("a", 2), 1, 18, id="an-object-item"),
        pytest.param(("a", 2, "k"), 1, 19, id="a-key-in-an-item"),
        pytest.param(("b",), 2, 2, id="a-key-on-the-second-line"),
        pytest.param(("c",), 2, 15, id="a-key-after-a-number"),
        pytest.param(("a", 5), 1, 2, id="past-the-list-is-the-list"),
    ],
)
def test_json_positions(location: tuple[Any, ...], line: int, column: int) -> None:
    _, positions = json_with_positions(JSON_DOCUMENT, "doc.json")
    assert positions is not None
    found = positions.of(location)
    assert (found.line, found.column) == (line, column)


def test_json_positions_past_the_budget_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_POSITIONS", 2)
    _, positions = json_with_positions("[1,\n 2,\n 3]", "doc.json")
    assert positions is not None
    assert [(p.line, p.column) for p in map(positions.of, [(0,), (1,), (2,)])] == [(1, 2), (2, 2), (1, 1)]


# YAML 1.2 booleans


@pytest.mark.parametrize(
    ("written", "value"),
    [
        *[
            pytest.param(text, text, id=text)
            for text in ("yes", "no", "on", "off", "y", "n", "Yes", "NO", "On")
        ],
        *[pytest.param(text, True, id=text) for text in ("true", "True", "TRUE")],
        *[pytest.param(text, False, id=text) for text in ("false", "False", "FALSE")],
        pytest.param("tRUE", "tRUE", id="mixed-case-is-text"),
    ],
)
def test_only_true_and_false_are_booleans(written: str, value: object) -> None:
    read = parse_yaml(f"value: {written}\n{written}: key\n", "doc.yaml")
    assert read == {"value": value, value: "key"}
    assert type(read["value"]) is type(value)


def test_a_lookup_table_keeps_its_yes_and_no_keys(tmp_path: Path) -> None:
    table = "{yes: active, no: draft, on: live}"
    path = tmp_path / "demo.yaml"
    path.write_text(
        BASE.replace(
            "        name: name\n",
            "        name: name\n"
            f"        status: {{path: s, transform: compute, fn: lookup, args: {{table: {table}}}}}\n",
        ),
        encoding="utf-8",
    )
    load_definition(path)  # a key read as a boolean would be refused: no source value could match it
    assert parse_yaml(f"table: {table}", "doc.yaml") == {
        "table": {"yes": "active", "no": "draft", "on": "live"}
    }


def test_pyyaml_safe_loader_keeps_its_own_booleans() -> None:
    assert yaml.safe_load("value: yes") == {"value": True}
