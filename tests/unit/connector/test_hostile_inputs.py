"""Hostile definitions, samples and preview inputs: a located refusal, never a traceback or a hang.

Each case is an input and the place and message it must be refused with: through the loader (the
path the Lambdas take), through the checklist, and through ``mercator validate`` and ``preview``,
whose exit status is 1 and whose output holds no traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mercator.cli import main
from mercator.connector import DefinitionError, load_definition, load_shipped, loader
from mercator.connector.checklist import Finding, check
from mercator.connector.documents import (
    MAX_DEFINITION_BYTES,
    MAX_PAYLOAD_BYTES,
    MAX_SAMPLE_BYTES,
    DocumentError,
    parse_json,
)
from mercator.connector.yaml_documents import parse_yaml
from mercator.services.connectors import ConnectorCatalog
from tests.unit.connector.conftest import ORDER_DELIVERY, PRODUCT_DETAILS, PRODUCTS_PAGE, definition_doc

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")

DEEP = 20_000
LONG_INT = "9" * 5_000
LIST_SAMPLE = "sync.resources.products.samples.list"


def demo_yaml(**sentinels: str) -> str:
    """The demo definition as YAML, with ``SENTINEL`` text where each given field's value goes."""
    doc = definition_doc()
    for where, sentinel in sentinels.items():
        *parents, last = where.split("__")
        node: Any = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = sentinel
    return yaml.safe_dump(doc, sort_keys=False, width=1000)


def at(text: str, token: str, offset: int = 0) -> tuple[int, int]:
    """Line and column of ``token`` (plus ``offset`` characters) in ``text``."""
    index = text.index(token) + offset
    return text.count(chr(10), 0, index) + 1, index - text.rfind(chr(10), 0, index)


def deep_path(first: str) -> str:
    # 100 parts: the first key, then 99 list indexes; shortened to its two ends.
    return first + "[0]" * 9 + " ... " + "[0]" * 10


# Definitions


@dataclass(frozen=True)
class Case:
    """A hostile input written into a folder, and the problem it must be refused with."""

    id: str
    write: Callable[[Path], Path]
    path: str
    message: str
    position: tuple[int, int] | None = None  # line and column, where one can be given
    needs: tuple[pytest.MarkDecorator, ...] = ()

    def param(self) -> Any:
        return pytest.param(self, id=self.id, marks=self.needs)

    def where(self, file: Path) -> str:
        """How ``mercator validate`` begins the line of this refusal."""
        if self.position is None:
            return f"{file}: {self.path or '(document)'}: "
        line, column = self.position
        return f"{file}:{line}:{column}: " + (f"{self.path}: " if self.path else "")


def _file(name: str, content: str | bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write


def _non_utf8() -> Case:
    text = demo_yaml()
    broken = text.replace("displayName: Demo store", "displayName: Demo \udcff store")
    offset = broken.index("\udcff")
    return Case(
        "non-utf8-definition",
        _file("demo.yaml", broken.encode("utf-8", "surrogateescape")),
        "",
        f"not UTF-8: byte 0xff at offset {offset} (invalid start byte); save the file as UTF-8",
        at(text, "Demo store", len("Demo ")),
    )


def _deep_yaml() -> Case:
    written = demo_yaml(description="DEEP").replace("DEEP", "[" * DEEP + "]" * DEEP)
    # The root mapping is level 1, so the 100th "[" opens level 101.
    where = at(written, "description: [", len("description: ") + 99)
    return Case(
        "yaml-20000-deep",
        _file("demo.yaml", written),
        deep_path("description"),
        "nested deeper than 100 objects and lists; at most 100 levels are read",
        where,
    )


def _deep_json() -> Case:
    doc = definition_doc()
    doc["description"] = "DEEP"
    written = json.dumps(doc).replace('"DEEP"', "[" * DEEP + "]" * DEEP)
    where = at(written, '"description": [', len('"description": ') + 99)
    return Case(
        "json-20000-deep",
        _file("demo.json", written),
        deep_path("description"),
        "nested deeper than 100 objects and lists; at most 100 levels are read",
        where,
    )


def _long_int_yaml() -> Case:
    text = demo_yaml(sync__syncConfiguration__batchSize="LONG")
    return Case(
        "yaml-5000-digit-integer",
        _file("demo.yaml", text.replace("LONG", LONG_INT)),
        "sync.syncConfiguration.batchSize",
        "an integer of 5,000 digits; at most 4,300 are read (write it as text)",
        at(text, "LONG"),
    )


def _long_int_json() -> Case:
    doc = definition_doc()
    doc["sync"]["syncConfiguration"] = {"batchSize": "LONG"}
    text = json.dumps(doc, indent=1)
    return Case(
        "json-5000-digit-integer",
        _file("demo.json", text.replace('"LONG"', LONG_INT)),
        "sync.syncConfiguration.batchSize",
        "an integer of 5,000 digits; at most 4,300 are read (write it as text)",
        at(text, "LONG", -1),
    )


def billion_laughs() -> str:
    """Nine levels of ten aliases each: a flow mapping that stands for 10**9 fields."""
    levels = ["lol0: &lol0 {" + ", ".join(f"k{i}: id" for i in range(10)) + "}"]
    for level in range(1, 9):
        refs = ", ".join(f"laugh{i}: *lol{level - 1}" for i in range(10))
        levels.append(f"lol{level}: &lol{level} {{{refs}}}")
    return "{" + ", ".join(levels) + "}"


def _alias_bomb() -> Case:
    # The mapping's attributes are a nested object, which the mapping compiler walks field by field.
    text = demo_yaml(sync__resources__products__apiMapping__attributes="BOMB")
    bomb = billion_laughs()
    lol4 = text.replace("BOMB", bomb)
    return Case(
        "alias-bomb-in-mapping",
        _file("demo.yaml", lol4),
        "sync.resources.products.apiMapping.attributes.lol4",
        "holds 222,221 keys, values and items, each alias counted as what it stands for; a definition "
        "may hold at most 100,000",
        at(lol4, "&lol4"),
    )


def _alias_loop() -> Case:
    text = demo_yaml(description="LOOP")
    return Case(
        "alias-inside-itself",
        _file("demo.yaml", text.replace("LOOP", "&loop [*loop]")),
        "description",
        "an alias inside this node refers to the node itself; it never ends",
        at(text, "LOOP"),
    )


def _alias_depth() -> Case:
    # Each half is 60 deep, legal alone; the alias puts one inside the other.
    text = demo_yaml(description="NEST")
    nest = "{a: &half " + "[" * 60 + "]" * 60 + ", b: " + "[" * 60 + "*half" + "]" * 60 + "}"
    written = text.replace("NEST", nest)
    return Case(
        "alias-nesting-past-the-limit",
        _file("demo.yaml", written),
        "description.b" + "[0]" * 8 + " ... " + "[0]" * 10,
        "nested deeper than 100 objects and lists; at most 100 levels are read, counting what aliases "
        "stand for",
        at(written, "[" * 60, 38),
    )


def _duplicate_resource() -> Case:
    text = demo_yaml()
    lines = text.splitlines(keepends=True)
    start = lines.index("    products:\n")
    end = lines.index("  webhooks:\n")
    written = "".join(lines[:end] + lines[start:end] + lines[end:])
    return Case(
        "yaml-duplicate-resource",
        _file("demo.yaml", written),
        "sync.resources.products",
        f"duplicate key 'products': given before at line {start + 1}, column 5; give each key once (the "
        "last would silently win)",
        (end + 1, 5),
    )


def _duplicate_nested_key() -> Case:
    text = demo_yaml()
    lines = text.splitlines(keepends=True)
    name = lines.index("        name: name\n")
    written = "".join([*lines[: name + 1], "        name: title\n", *lines[name + 1 :]])
    return Case(
        "yaml-duplicate-nested-key",
        _file("demo.yaml", written),
        "sync.resources.products.apiMapping.name",
        f"duplicate key 'name': given before at line {name + 1}, column 9; give each key once",
        (name + 2, 9),
    )


def _duplicate_json_key() -> Case:
    text = json.dumps(definition_doc(), indent=1)
    lines = text.splitlines(keepends=True)
    shown = lines.index(' "displayName": "Demo store",\n')
    written = "".join([*lines[: shown + 1], ' "displayName": "Again",\n', *lines[shown + 1 :]])
    return Case(
        "json-duplicate-key",
        _file("demo.json", written),
        "displayName",
        f"duplicate key 'displayName': given before at line {shown + 1}, column 2; give each key once",
        (shown + 2, 2),
    )


def _bad_date() -> Case:
    text = demo_yaml(version="DATE")
    return Case(
        "yaml-impossible-date",
        _file("demo.yaml", text.replace("DATE", "2024-13-45")),
        "version",
        "cannot be read: month must be in 1..12",
        at(text, "DATE"),
    )


def _oversized() -> Case:
    text = demo_yaml()
    padding = "#" * (MAX_DEFINITION_BYTES + 1 - len(text) - 1) + "\n"
    return Case(
        "definition-over-1-mib",
        _file("demo.yaml", text + padding),
        "",
        "is 1,048,577 bytes; a definition may be at most 1,048,576 bytes (1 MiB)",
    )


def _fifo(folder: Path) -> Path:
    path = folder / "demo.yaml"
    os.mkfifo(path)
    return path


def _directory(folder: Path) -> Path:
    path = folder / "demo.yaml"
    path.mkdir()
    return path


def _dev_zero(folder: Path) -> Path:
    return Path("/dev/zero")


DEFINITION_CASES = [
    _non_utf8(),
    _deep_yaml(),
    _deep_json(),
    _long_int_yaml(),
    _long_int_json(),
    _alias_bomb(),
    _alias_loop(),
    _alias_depth(),
    _duplicate_resource(),
    _duplicate_nested_key(),
    _duplicate_json_key(),
    _bad_date(),
    _oversized(),
    Case("definition-is-a-fifo", _fifo, "", "not a regular file (a FIFO); give a file", needs=(needs_fifo,)),
    Case("definition-is-a-directory", _directory, "", "not a regular file (a directory); give a file"),
    Case(
        "definition-is-dev-zero",
        _dev_zero,
        "",
        "not a regular file (a character device); give a file",
        needs=(needs_dev_zero,),
    ),
]


@pytest.mark.parametrize("case", [case.param() for case in DEFINITION_CASES])
def test_loader_refuses_with_place_and_reason(case: Case, tmp_path: Path) -> None:
    # Given a hostile definition file
    path = case.write(tmp_path)
    # When it is loaded
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    # Then the first problem names the file, the place and the reason
    assert caught.value.file == str(path)
    problem = caught.value.problems[0]
    assert problem.path == case.path, caught.value.render()
    assert case.message in problem.message, caught.value.render()
    assert (problem.line, problem.column) == (case.position or (None, None)), caught.value.render()


@pytest.mark.parametrize("case", [case.param() for case in DEFINITION_CASES])
def test_validate_prints_the_refusal_without_a_traceback(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = case.write(tmp_path)
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    assert case.where(path) + case.message in out


@pytest.mark.parametrize("case", [case.param() for case in DEFINITION_CASES])
def test_validate_json_carries_the_refusal(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = case.write(tmp_path)
    code = main(["validate", "--format", "json", str(path)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["valid"] is False
    problem = report["files"][0]["problems"][0]
    assert problem["file"] == str(path)
    assert problem["path"] == case.path
    assert case.message in problem["message"]
    assert (problem["line"], problem["column"]) == (case.position or (None, None))


def test_duplicate_keys_are_all_reported_in_order(tmp_path: Path) -> None:
    text = demo_yaml().replace("name: demo\n", "name: demo\nname: again\n", 1)
    text = text.replace("\n        name: name\n", "\n        name: name\n        name: title\n", 1)
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert [p.path for p in caught.value.problems] == ["name", "sync.resources.products.apiMapping.name"]


def test_a_definition_at_the_limits_is_read(tmp_path: Path) -> None:
    # 100 levels (the root mapping, then 99 lists), a 4,300-digit integer, 1 MiB exactly
    text = demo_yaml(description="DEEP", sync__syncConfiguration__batchSize="BIG")
    text = text.replace("DEEP", "[" * 99 + "]" * 99).replace("BIG", "9" * 4300)
    text += "#" * (MAX_DEFINITION_BYTES - len(text) - 1) + "\n"
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    # pydantic, not the reader, refuses what these fields cannot hold
    assert {p.path for p in caught.value.problems} == {"description", "sync.syncConfiguration.batchSize"}


def test_merge_keys_may_be_overridden_and_aliases_shared() -> None:
    document = parse_yaml("base: &b {x: 1, y: 2}\nc: {<<: *b, x: 3}\nd: *b\n", "merge.yaml")
    assert document == {"base": {"x": 1, "y": 2}, "c": {"x": 3, "y": 2}, "d": {"x": 1, "y": 2}}


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        pytest.param("[" * 100 + "]" * 100, False, id="100-deep"),
        pytest.param("[" * 101 + "]" * 101, True, id="101-deep"),
        pytest.param("9" * 4300, False, id="4300-digits"),
        pytest.param("9" * 4301, True, id="4301-digits"),
        pytest.param("1." + "9" * 5000, False, id="long-fraction-is-a-float"),
    ],
)
def test_json_and_yaml_share_the_limits(text: str, refused: bool) -> None:
    for parse in (parse_json, parse_yaml):
        if refused:
            with pytest.raises(DocumentError):
                parse(text, "limits")
        else:
            parse(text, "limits")


# The runtime loader


def test_shipped_names_cannot_leave_the_shipped_folder() -> None:
    with pytest.raises(DefinitionError) as caught:
        load_shipped("../connectors/salla")
    assert (
        "no shipped connector '../connectors/salla'; shipped: crystal, pim, salla, shopify"
        in caught.value.problems[0].message
    )


@pytest.mark.parametrize(
    "case",
    [case.param() for case in DEFINITION_CASES if case.id.startswith(("yaml", "alias", "definition-is"))],
)
def test_the_lambdas_catalog_refuses_the_same(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a shipped folder holding a hostile evil.yaml
    written = case.write(tmp_path)
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "evil.yaml").symlink_to(written)
    monkeypatch.setattr(loader, "SHIPPED_DIR", shipped)
    # When a function's catalog loads it, Then it is refused as the CLI refuses it
    with pytest.raises(DefinitionError) as caught:
        ConnectorCatalog().get("evil")
    assert case.message in caught.value.problems[0].message


# Samples


@pytest.fixture
def connector(tmp_path: Path) -> Callable[[str], Path]:
    """The demo connector in tmp_path/connector, its list sample replaced by the path given."""
    folder = tmp_path / "connector"
    (folder / "samples").mkdir(parents=True)
    (tmp_path / "outside.json").write_text(json.dumps(PRODUCTS_PAGE))
    for name, body in (
        ("products", PRODUCTS_PAGE),
        ("product", PRODUCT_DETAILS),
        ("order_created", ORDER_DELIVERY),
    ):
        (folder / "samples" / f"{name}.json").write_text(json.dumps(body))

    def write(list_sample: str) -> Path:
        doc = definition_doc()
        doc["sync"]["resources"]["products"]["samples"]["list"] = list_sample
        path = folder / "demo.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return write


@dataclass(frozen=True)
class SampleCase:
    """A hostile list sample made in the connector's folder; the finding's message must hold it."""

    id: str
    make: Callable[[Path], str]  # the connector folder → the samples.list value
    message: Callable[[Path], str]  # the connector folder → the expected message
    needs: tuple[pytest.MarkDecorator, ...] = ()

    def param(self) -> Any:
        return pytest.param(self, id=self.id, marks=self.needs)


def _sample_file(name: str, content: bytes) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        (folder / "samples" / name).write_bytes(content)
        return f"samples/{name}"

    return make


def _sample_fifo(folder: Path) -> str:
    os.mkfifo(folder / "samples" / "pipe.json")
    return "samples/pipe.json"


def _sample_link(target: str) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        (folder / "samples" / "link.json").symlink_to(target)
        return "samples/link.json"

    return make


def _sample_sparse(folder: Path) -> str:
    path = folder / "samples" / "huge.json"
    path.touch()
    os.truncate(path, MAX_SAMPLE_BYTES + 1)
    return "samples/huge.json"


SAMPLE_CASES = [
    SampleCase(
        "non-utf8-sample",
        _sample_file("latin1.json", b'{"data": ["caf\xe9"]}'),
        lambda _: "sample 'samples/latin1.json': line 1, column 15: not UTF-8: byte 0xe9 at offset 14",
    ),
    SampleCase(
        "dev-zero",
        lambda _: "/dev/zero",
        lambda _: "sample '/dev/zero': an absolute path; give a sample relative to the definition's folder",
    ),
    SampleCase(
        "link-to-dev-zero",
        _sample_link("/dev/zero"),
        lambda _: "sample 'samples/link.json': leads outside the definition's folder (to /dev/zero)",
        (needs_dev_zero,),
    ),
    SampleCase(
        "fifo",
        _sample_fifo,
        lambda _: "sample 'samples/pipe.json': not a regular file (a FIFO); give a file",
        (needs_fifo,),
    ),
    SampleCase(
        "dot-dot-escape",
        lambda _: "../outside.json",
        lambda folder: (
            f"sample '../outside.json': leads outside the definition's folder (to "
            f"{folder.parent.resolve() / 'outside.json'}); a sample must be a file in {folder.resolve()}"
        ),
    ),
    SampleCase(
        "absolute-path-outside",
        lambda folder: str(folder.parent / "outside.json"),
        lambda folder: (
            f"sample '{folder.parent / 'outside.json'}': an absolute path; give a sample relative to the "
            "definition's folder"
        ),
    ),
    SampleCase(
        "symlink-escape",
        lambda folder: _sample_link(str(folder.parent / "outside.json"))(folder),
        lambda folder: (
            "sample 'samples/link.json': leads outside the definition's folder "
            f"(to {folder.parent.resolve() / 'outside.json'})"
        ),
    ),
    SampleCase(
        "symlink-loop",
        _sample_link("link.json"),
        lambda _: "sample 'samples/link.json': cannot be resolved: Symlink loop",
    ),
    SampleCase(
        "directory",
        lambda _: "samples",
        lambda _: "sample 'samples': not a regular file (a directory); give a file",
    ),
    SampleCase(
        "over-10-mib",
        _sample_sparse,
        lambda _: (
            "sample 'samples/huge.json': is 10,485,761 bytes; a sample may be at most 10,485,760 bytes "
            "(10 MiB)"
        ),
    ),
    SampleCase(
        "20000-deep",
        _sample_file("deep.json", b'{"data": ' + b"[" * DEEP + b"]" * DEEP + b"}"),
        lambda _: (
            f"sample 'samples/deep.json': {deep_path('data')}: nested deeper than 100 objects and lists"
        ),
    ),
    SampleCase(
        "5000-digit-integer",
        _sample_file("long.json", b'{"data": [{"id": ' + LONG_INT.encode() + b"}]}"),
        lambda _: "sample 'samples/long.json': data[0].id: an integer of 5,000 digits",
    ),
]


def _list_sample_findings(path: Path) -> list[Finding]:
    return [f for f in check(load_definition(path)) if f.path == LIST_SAMPLE]


@pytest.mark.parametrize("case", [case.param() for case in SAMPLE_CASES])
def test_checklist_refuses_the_sample(case: SampleCase, connector: Callable[[str], Path]) -> None:
    # Given the demo connector whose list sample is hostile
    path = connector(case.make(connector("samples/products.json").parent))
    # When the checklist runs, Then the list sample gets one finding saying where and why
    (finding,) = _list_sample_findings(path)
    assert case.message(path.parent) in finding.message


@pytest.mark.parametrize("case", [case.param() for case in SAMPLE_CASES])
def test_validate_reports_the_sample_without_a_traceback(
    case: SampleCase, connector: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = connector(case.make(connector("samples/products.json").parent))
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    # The finding is placed at the key samples.list (endpoints.list holds an object on later lines).
    line, column = at(path.read_text(), "list: ")
    assert f"{path}:{line}:{column}: {LIST_SAMPLE}: {case.message(path.parent)}" in out


def test_samples_may_use_links_and_dots_that_stay_inside(connector: Callable[[str], Path]) -> None:
    folder = connector("samples/products.json").parent
    (folder / "samples" / "link.json").symlink_to(folder / "samples" / "products.json")
    assert _list_sample_findings(connector("samples/../samples/link.json")) == []


# Preview inputs


@dataclass(frozen=True)
class InputCase:
    id: str
    make: Callable[[Path], Path]
    message: str
    needs: tuple[pytest.MarkDecorator, ...] = ()

    def param(self) -> Any:
        return pytest.param(self, id=self.id, marks=self.needs)


def _input_file(content: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "input.json"
        path.write_bytes(content)
        return path

    return make


def _input_fifo(folder: Path) -> Path:
    path = folder / "input.json"
    os.mkfifo(path)
    return path


def _input_sparse(folder: Path) -> Path:
    path = folder / "input.json"
    path.touch()
    os.truncate(path, MAX_PAYLOAD_BYTES + 1)
    return path


INPUT_CASES = [
    InputCase(
        "non-utf8",
        _input_file(b'{"data": [{"id": 1, "name": "\x80"}]}'),
        "not readable JSON: line 1, column 30: not UTF-8: byte 0x80 at offset 29",
    ),
    InputCase(
        "dev-zero",
        lambda _: Path("/dev/zero"),
        "not readable JSON: not a regular file (a character device)",
        (needs_dev_zero,),
    ),
    InputCase("fifo", _input_fifo, "not readable JSON: not a regular file (a FIFO)", (needs_fifo,)),
    InputCase(
        "over-10-mib",
        _input_sparse,
        "not readable JSON: is 10,485,761 bytes; a preview input may be at most 10,485,760 bytes",
    ),
    InputCase(
        "20000-deep",
        _input_file(b'{"data": ' + b"[" * DEEP + b"]" * DEEP + b"}"),
        f"not readable JSON: {deep_path('data')}: nested deeper than 100 objects and lists",
    ),
    InputCase(
        "5000-digit-integer",
        _input_file(b'{"data": [{"id": ' + LONG_INT.encode() + b"}]}"),
        "not readable JSON: data[0].id: an integer of 5,000 digits",
    ),
]


@pytest.mark.parametrize("case", [case.param() for case in INPUT_CASES])
def test_preview_refuses_the_input_without_a_traceback(
    case: InputCase, connector: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    definition = connector("samples/products.json")
    payload = case.make(definition.parent.parent)
    code = main(["preview", str(definition), "--resource", "products", "--input", str(payload)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    assert f"{payload}: {case.message}" in err


def test_preview_refuses_a_hostile_definition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = _alias_bomb()
    path = case.write(tmp_path)
    code = main(["preview", str(path), "--resource", "products", "--input", str(path)])
    _, err = capsys.readouterr()
    assert code == 1
    assert case.where(path) + case.message in err
