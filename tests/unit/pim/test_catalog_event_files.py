"""events/catalog_events/: one signed PIM request per example of the reference, each one CatalogEvents
would accept (the body passes parse_envelope, the token verifies with the demo secret), and, with the
reference beside the project, exactly what ``python -m mercator_local.catalog_event_files`` writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest

from mercator.pim.event_schemas import DetailedEvent, parse_envelope
from mercator_local.catalog_event_files import (
    DEMO_APP_SECRET,
    DEMO_INSTALLATION_ID,
    coarse_name_for,
    envelope_for,
    main,
)
from mercator_local.pim_schemas import SeedEvent

ROOT = Path(__file__).resolve().parents[3]
FOLDER = ROOT / "events" / "catalog_events"
SEEDS = ROOT.parent / "shared" / "seeds"

# File (section of the reference) → the coarse event its request is sent as.
COARSE: dict[str, str] = {
    "attribute_created": "attribute_created",
    "attribute_name_changed": "attribute_updated",
    "attribute_option_code_changed": "attribute_updated",
    "attribute_option_created": "attribute_updated",
    "attribute_option_deleted": "attribute_updated",
    "attribute_option_name_changed": "attribute_updated",
    "category_created": "category_created",
    "category_name_changed": "category_updated",
    "product_added_to_category": "product_updated",
    "product_binding_added": "product_updated",
    "product_binding_removed": "product_updated",
    "product_child_added": "product_updated",
    "product_child_quantity_changed": "product_updated",
    "product_child_removed": "product_updated",
    "product_created": "product_created",
    "product_removed_from_category": "product_updated",
    "product_value_added": "product_updated",
    "product_value_changed": "product_updated",
    "product_value_removed": "product_updated",
    "product_variant_added": "product_updated",
    "product_variant_removed": "product_updated",
}
RESOURCE_ID = {
    "attribute": {"id": "attribute_code", "type": "attribute_code"},
    "category": {"id": "category_code", "type": "category_code"},
    "product": {"id": "Product SKU", "type": "product_sku"},
}


def load(section: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FOLDER / f"{section}.json").read_text(encoding="utf-8"))
    return event


def claims_of(token: str) -> dict[str, Any]:
    # The demo secret is shorter than PyJWT recommends for HS256 (see catalog_event_files).
    with pytest.warns(jwt.InsecureKeyLengthWarning):
        claims: dict[str, Any] = jwt.decode(token, DEMO_APP_SECRET, algorithms=["HS256"])
    return claims


def test_there_is_a_file_per_section_of_the_reference() -> None:
    assert sorted(path.name for path in FOLDER.iterdir()) == sorted(f"{name}.json" for name in COARSE)


@pytest.mark.parametrize("section", list(COARSE))
def test_each_file_is_a_put_of_its_coarse_event_to_the_demo_integration(section: str) -> None:
    event = load(section)
    coarse = COARSE[section]

    assert event["resource"] == "/pim/{integrationId}/consume/{name}"
    assert event["path"] == f"/pim/pim-demo/consume/{coarse}"
    assert event["httpMethod"] == "PUT"
    assert event["pathParameters"] == {"integrationId": "pim-demo", "name": coarse}
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["httpMethod"] == "PUT"
    assert event["requestContext"]["resourcePath"] == "/pim/{integrationId}/consume/{name}"
    assert event["requestContext"]["path"] == f"/dev/pim/pim-demo/consume/{coarse}"
    assert event["headers"]["Content-Type"] == "application/json"
    for name, value in event["headers"].items():
        assert event["multiValueHeaders"][name] == [value]


@pytest.mark.parametrize("section", list(COARSE))
def test_each_body_passes_parse_envelope_with_the_section_example(section: str) -> None:
    event = load(section)
    body = json.loads(event["body"])

    envelope = parse_envelope(body, name=event["pathParameters"]["name"])

    kind = section.split("_", 1)[0]
    assert body["resource_id"] == RESOURCE_ID[kind]
    assert body["synchronization"]["resource_customs"] is None
    assert envelope.entity == RESOURCE_ID[kind]["id"]
    assert len(envelope.events) == 1
    # The reference's example of category_name_changed is typed attribute_name_changed; kept as written.
    expected_type = "attribute_name_changed" if section == "category_name_changed" else section
    assert envelope.events[0].type == expected_type


@pytest.mark.parametrize("section", list(COARSE))
def test_each_token_verifies_with_the_demo_secret(section: str) -> None:
    event = load(section)

    claims = claims_of(event["headers"]["X-APP-TOKEN"])

    assert claims["app_installation_id"] == DEMO_INSTALLATION_ID == "pim-demo-installation"
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (1796083200, 1796083200, 4102444800)
    assert event["multiValueHeaders"]["X-APP-TOKEN"] == [event["headers"]["X-APP-TOKEN"]]


def test_a_token_does_not_verify_with_another_secret() -> None:
    token = load("product_created")["headers"]["X-APP-TOKEN"]

    with pytest.raises(jwt.InvalidSignatureError), pytest.warns(jwt.InsecureKeyLengthWarning):
        jwt.decode(token, "another-secret", algorithms=["HS256"])


def test_each_request_has_its_own_fixed_synchronization_id() -> None:
    ids = {
        section: claims_of(load(section)["headers"]["X-APP-TOKEN"])["synchronization_id"]
        for section in COARSE
    }

    assert len(set(ids.values())) == len(COARSE)
    assert DEMO_APP_SECRET == "pim-demo-app-secret"


@pytest.mark.parametrize(("section", "coarse"), list(COARSE.items()))
def test_coarse_name_for_each_section(section: str, coarse: str) -> None:
    assert coarse_name_for(section) == coarse


def test_coarse_name_for_an_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="app_installed"):
        coarse_name_for("app_installed")


def test_envelope_for_wraps_the_example_as_written() -> None:
    example = {
        "type": "attribute_name_changed",
        "payload": {"name": [{"language": "en_GB", "value": "Tops"}]},
    }
    section = SeedEvent(type="category_name_changed", example=example, schema={})

    envelope = envelope_for(section)

    assert envelope == {
        "name": "category_updated",
        "resource_id": {"id": "category_code", "type": "category_code"},
        "synchronization": {"events": [example], "resource_customs": None},
    }
    assert parse_envelope(envelope, name="category_updated").events == (DetailedEvent(**example),)


def test_the_files_are_what_the_generator_writes_from_the_reference(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = sorted(SEEDS.glob("002_*.txt")) if SEEDS.is_dir() else []
    if not found:
        pytest.skip(f"the reference (002_*.txt) is not in {SEEDS}")

    code = main(["--check", "--seed", str(found[0])])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "21 files current" in out


def test_check_names_a_changed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = sorted(SEEDS.glob("002_*.txt")) if SEEDS.is_dir() else []
    if not found:
        pytest.skip(f"the reference (002_*.txt) is not in {SEEDS}")
    for path in FOLDER.iterdir():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "product_created.json").write_text("{}\n", encoding="utf-8")

    code = main(["--check", "--seed", str(found[0]), "--out", str(tmp_path)])

    assert code == 1
    assert f"stale: {tmp_path / 'product_created.json'}" in capsys.readouterr().out
