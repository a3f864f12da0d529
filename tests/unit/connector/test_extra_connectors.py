"""A deployment's own connectors (CONNECTORS_DIR): loaded beside the shipped ones, each refused alone.

A file that cannot be used (it does not load, is not named after its connector, or takes a shipped
connector's name) is logged and refused on its own; the shipped connectors and the folder's other
definitions keep serving, and the connectors a tenant may configure are listed with the extra ones.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from mercator.connector import DefinitionError, connector_names, load_extra, load_shipped
from mercator.connector.loader import SHIPPED_DIR
from mercator.services.connectors import ConnectorCatalog
from mercator.settings import DEFAULT_CONNECTORS_DIR, SettingsError, WebhookSettings

DOCS = Path(__file__).resolve().parents[3] / "docs"
SHIPPED = ["crystal", "pim", "salla", "shopify", "woocommerce", "zid"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A connectors folder as a layer would carry it: the docs' example as demo.yaml, its samples beside."""
    root = tmp_path / "connectors"
    root.mkdir()
    shutil.copy(DOCS / "example-connector.yaml", root / "demo.yaml")
    shutil.copytree(DOCS / "example-samples", root / "example-samples")
    return root


def _example(name: str) -> str:
    return (DOCS / "example-connector.yaml").read_text().replace("name: demo\n", f"name: {name}\n", 1)


def test_an_extra_connector_loads_beside_the_shipped_ones_and_is_listed(folder: Path) -> None:
    extra = load_extra(folder)

    assert list(extra.definitions) == ["demo"]
    assert extra.problems == []
    assert extra.definitions["demo"].resolve("example-samples/products_list.json").is_file()
    assert connector_names(extra) == [*SHIPPED, "demo"]
    catalog = ConnectorCatalog(extra=extra)
    assert catalog.names() == [*SHIPPED, "demo"]
    assert catalog.get("demo") is extra.definitions["demo"]
    assert catalog.get("salla").source == (SHIPPED_DIR / "salla.yaml").resolve()


def test_a_file_named_like_a_shipped_connector_is_refused_and_the_shipped_one_keeps_serving(
    folder: Path,
) -> None:
    (folder / "salla.yaml").write_text(_example("salla"))

    extra = load_extra(folder)

    assert list(extra.clashes) == ["salla"]
    assert "salla" not in extra.refused
    clash = extra.clashes["salla"]
    assert clash.file == str(folder / "salla.yaml")
    assert clash.problems[0].message.startswith("'salla' is a shipped connector")
    assert "never replaces a shipped one" in clash.problems[0].message
    catalog = ConnectorCatalog(extra=extra)
    assert catalog.get("salla").source == load_shipped("salla").source
    assert catalog.names() == [*SHIPPED, "demo"]


def test_a_definition_that_names_a_shipped_connector_in_another_file_is_refused(folder: Path) -> None:
    (folder / "acme.yaml").write_text(_example("zid"))

    extra = load_extra(folder)

    with pytest.raises(DefinitionError, match=r"acme\.yaml\b.*\bname: 'zid' is a shipped connector"):
        extra.get("acme")
    assert ConnectorCatalog(extra=extra).get("zid").source == load_shipped("zid").source


@pytest.mark.parametrize(
    ("file", "text", "located"),
    [
        ("broken.yaml", "name: broken\nsync: [unclosed\n", r"broken\.yaml\b.*expected ',' or '\]'"),
        (
            "broken.yaml",
            _example("broken").replace("transform: toNumberOrNull", "transform: toNumbr", 1),
            r"broken\.yaml\b.*\bsync\.resources\.products\.apiMapping\.unitPrice\.transform: unknown "
            r"transform 'toNumbr'",
        ),
        (
            "broken.yaml",
            _example("other"),
            r"broken\.yaml\b.*\bname: the connector is named 'other' but its file is broken\.yaml; name "
            r"the file other\.yaml",
        ),
    ],
    ids=["yaml syntax", "validation", "file not named after the connector"],
)
def test_a_broken_definition_is_refused_alone_with_its_located_error(
    folder: Path, file: str, text: str, located: str
) -> None:
    (folder / file).write_text(text)

    extra = load_extra(folder)
    catalog = ConnectorCatalog(extra=extra)

    # Its integrations get the located error; the other extra connector and the shipped ones load.
    with pytest.raises(DefinitionError, match=located):
        catalog.get("broken")
    assert list(extra.definitions) == ["demo"]
    assert catalog.get("demo").name == "demo"
    assert catalog.get("shopify").name == "shopify"
    assert catalog.names() == [*SHIPPED, "demo"]


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("Acme.yaml", "'Acme.yaml' is not <connector name>.yaml"),
        ("acme.yml", "only .yaml files are read here; rename it acme.yaml"),
    ],
)
def test_files_not_named_name_yaml_are_refused(folder: Path, file: str, message: str) -> None:
    (folder / file).write_text(_example("acme"))

    extra = load_extra(folder)

    [refused] = extra.problems
    assert refused.problems[0].message.startswith(message)
    assert list(extra.definitions) == ["demo"]


def test_no_folder_or_an_absent_one_adds_nothing(tmp_path: Path) -> None:
    for folder in (None, tmp_path / "absent"):
        extra = load_extra(folder)
        assert (dict(extra.definitions), extra.problems) == ({}, [])
        assert connector_names(extra) == SHIPPED


def test_the_deployment_catalog_logs_each_refusal_at_cold_start(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (folder / "broken.yaml").write_text("name: broken\nsync: [unclosed\n")
    (folder / "zid.yaml").write_text(_example("zid"))
    caplog.set_level(logging.INFO, logger="mercator")

    catalog = ConnectorCatalog.of_deployment(folder)

    refusals = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert [Path(record.file).name for record in refusals] == ["broken.yaml", "zid.yaml"]  # type: ignore[attr-defined]
    assert all(record.getMessage().startswith("extra connector refused: ") for record in refusals)
    assert "expected ',' or ']'" in refusals[0].getMessage()
    assert f"extra connectors from {folder}: demo" in caplog.text
    assert catalog.names() == [*SHIPPED, "demo"]


# --- the setting ------------------------------------------------------------------------------------


ENV = {
    "STATE_TABLE": "state",
    "RECORDS_TABLE": "records",
    "ARCHIVE_BUCKET": "archive",
    "ENRICH_QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/enrich",
    "ENRICH_DLQ_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/enrich-dlq",
    "TRIGGER_QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/trigger",
}


def test_connectors_dir_defaults_to_the_connectors_layer_and_empty_means_none(folder: Path) -> None:
    assert (
        WebhookSettings.from_environ(ENV).connectors_dir == DEFAULT_CONNECTORS_DIR == Path("/opt/connectors")
    )
    assert WebhookSettings.from_environ({**ENV, "CONNECTORS_DIR": " "}).connectors_dir is None
    assert WebhookSettings.from_environ({**ENV, "CONNECTORS_DIR": str(folder)}).connectors_dir == folder


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("connectors", "environment variable CONNECTORS_DIR: must be an absolute path"),
        ("{file}", "environment variable CONNECTORS_DIR: '{file}' is not a folder"),
    ],
)
def test_a_connectors_dir_that_cannot_be_one_stops_the_cold_start(
    folder: Path, value: str, message: str
) -> None:
    file = str(folder / "demo.yaml")

    with pytest.raises(SettingsError, match=message.format(file=file)):
        WebhookSettings.from_environ({**ENV, "CONNECTORS_DIR": value.format(file=file)})
