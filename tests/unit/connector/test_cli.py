"""The mercator command line: exit codes, located messages, JSON lines, schema and function docs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mercator.cli import main
from mercator.mapping import FUNCTIONS, TRANSFORMS
from tests.unit.connector.conftest import ConnectorWriter, definition_doc


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(write_connector: ConnectorWriter, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_connector()
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0
    assert out == f"{path}: ok (1 resources, 1 webhook handlers)\n"


def test_validate_reports_file_path_and_message(
    write_connector: ConnectorWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    def bad(doc: dict[str, Any]) -> None:
        doc["sync"]["resources"]["products"]["apiMapping"]["code"]["transform"] = "toStr"

    path = write_connector(bad)
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    text = path.read_text()
    key = text.index("transform: toStr\n")
    line, column = text.count("\n", 0, key) + 1, key - text.rfind("\n", 0, key)
    assert out.startswith(
        f"{path}:{line}:{column}: sync.resources.products.apiMapping.code.transform: "
        "unknown transform 'toStr'"
    )


def test_validate_json_format(write_connector: ConnectorWriter, capsys: pytest.CaptureFixture[str]) -> None:
    def no_trigger(doc: dict[str, Any]) -> None:
        doc["triggers"] = []

    path = write_connector(no_trigger)
    code, out, _ = run(capsys, "validate", "--format", "json", str(path))
    report = json.loads(out)
    assert code == 1
    assert report["valid"] is False
    (problem,) = report["files"][0]["problems"]
    assert problem["path"] == 'sync.webhooks.handlers["order.created"]'
    assert set(problem) == {"file", "line", "column", "path", "message"}
    assert problem["file"] == str(path)


def test_validate_missing_file_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "validate", str(tmp_path / "nope.yaml"))
    assert code == 1
    assert "nope.yaml: (document): cannot read the file" in out


def test_validate_needs_files(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate")
    assert code == 2
    assert "give definition files or --shipped" in err


def test_preview_list_response_unwraps_and_maps(
    write_connector: ConnectorWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_connector()
    code, out, err = run(
        capsys,
        "preview",
        str(path),
        "--resource",
        "products",
        "--input",
        str(path.parent / "samples/products.json"),
    )
    assert (code, err) == (0, "")
    records = [json.loads(line) for line in out.splitlines()]
    # price.amount 30 for the first; price null so regular_price.amount "12.5" for the second
    assert records == [
        {"categories": [], "code": "1", "images": [], "name": "Mug", "tags": [], "unitPrice": 30.0},
        {"categories": [], "code": "2", "images": [], "name": "Tea", "tags": [], "unitPrice": 12.5},
    ]


def test_preview_details_response(
    write_connector: ConnectorWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_connector()
    code, out, _ = run(
        capsys,
        "preview",
        str(path),
        "--resource",
        "products",
        "--input",
        str(path.parent / "samples/product.json"),
    )
    assert code == 0
    assert json.loads(out)["code"] == "1"


def test_preview_event(write_connector: ConnectorWriter, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_connector()
    code, out, _ = run(
        capsys,
        "preview",
        str(path),
        "--event",
        "order.created",
        "--input",
        str(path.parent / "samples/order_created.json"),
    )
    record = json.loads(out)
    assert code == 0
    # 2024-05-01T10:00:00+03:00 is 07:00 UTC; "sar" upper-cased; qty "2" → 2
    assert record["createdAt"] == "2024-05-01T07:00:00Z"
    assert record["currency"] == "SAR"
    assert record["items"] == [{"name": "Mug", "quantity": 2.0}]


def test_preview_failures_go_to_stderr_with_exit_1(
    write_connector: ConnectorWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_connector()
    payload = tmp_path / "bad.json"
    payload.write_text(json.dumps({"data": [{"id": 3, "name": "ok"}, {"id": {"x": 1}, "name": "bad"}]}))
    code, out, err = run(capsys, "preview", str(path), "--resource", "products", "--input", str(payload))
    assert code == 1
    assert json.loads(out)["code"] == "3"
    assert (
        "record 1: connector demo, resource products, field code, path 'id': toString expects a scalar" in err
    )


def test_preview_unknown_resource(
    write_connector: ConnectorWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_connector()
    code, _, err = run(
        capsys,
        "preview",
        str(path),
        "--resource",
        "orders",
        "--input",
        str(path.parent / "samples/products.json"),
    )
    assert code == 1
    assert "no resource 'orders'; resources: products" in err


def test_preview_unreadable_input(
    write_connector: ConnectorWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_connector()
    payload = tmp_path / "bad.json"
    payload.write_text("{not json")
    code, _, err = run(capsys, "preview", str(path), "--event", "order.created", "--input", str(payload))
    assert code == 1
    assert "not readable JSON" in err


def test_schema_accepts_a_valid_definition_and_rejects_unknown_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0
    jsonschema.validate(definition_doc(), schema)
    wrong = definition_doc()
    wrong["sync"]["syncConfiguration"] = {"batchsize": 5}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)
    bad_transform = definition_doc()
    bad_transform["sync"]["resources"]["products"]["apiMapping"]["code"]["transform"] = "toStr"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_transform, schema)


def test_functions_lists_every_registered_name_with_its_doc(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "functions")
    assert code == 0
    for entry in [*TRANSFORMS, *FUNCTIONS]:
        assert f"\n  {entry.name}\n" in out
        assert entry.doc.splitlines()[0] in out
    assert "args.separator: text placed between codes" in out


def test_shipped_connectors_validate_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "--shipped")
    assert code == 0, out
    assert out.count(": ok (") >= 4


def test_example_in_docs_is_schema_valid(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    example = yaml.safe_load((Path(__file__).parents[3] / "docs/example-connector.yaml").read_text())
    jsonschema.validate(example, schema)


def test_the_smallest_valid_definition_in_the_docs_passes_the_checklist(
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = Path(__file__).parents[3] / "docs/example-connector.yaml"

    code, out, _ = run(capsys, "validate", str(example))

    assert code == 0, out
    assert out.strip().endswith("ok (1 resources, 1 webhook handlers)")
