"""Every real payload in the team's collection ships, unchanged, as a sample of its connector.

The collection lives beside the project (``../shared/payloads``); where it is absent these tests skip.
The shipped copies are compared as JSON (a copy may be re-indented, never edited), and each one is
referenced by its connector definition, so the connector tests map it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mercator.connector import load_shipped

ROOT = Path(__file__).resolve().parents[3]
COLLECTION = ROOT.parent / "shared" / "payloads"
SAMPLES = ROOT / "shared" / "mercator" / "connectors" / "samples"
CONNECTORS = ("salla", "zid", "shopify", "woocommerce")

# A bare array Shopify never sends as a list response; its content ships wrapped in products_list.json.
KEPT_AS_SOURCE_ONLY = {"shopify/products_list_bare_array.json"}

payload_files = sorted(COLLECTION.glob("*.json")) if COLLECTION.is_dir() else []
needs_collection = pytest.mark.skipif(not payload_files, reason="../shared/payloads is not present")


def _canonical(path: Path) -> str:
    return json.dumps(json.loads(path.read_text(encoding="utf-8")), sort_keys=True)


def _referenced_samples(connector: str) -> set[str]:
    definition = load_shipped(connector)
    files = {
        file
        for resource in definition.resources.values()
        for file in (resource.samples.list, resource.samples.details)
        if file
    }
    files.update(file for handler in definition.handlers.values() for file in handler.samples)
    return {str(definition.resolve(file).relative_to(SAMPLES)) for file in files}


@needs_collection
@pytest.mark.parametrize("payload", payload_files, ids=lambda path: path.name)
def test_real_payload_ships_unchanged_and_is_mapped(payload: Path) -> None:
    connector = payload.name.split("_", 1)[0]
    assert connector in CONNECTORS, f"{payload.name}: no shipped connector for {connector!r}"

    copies = [
        str(copy.relative_to(SAMPLES))
        for copy in (SAMPLES / connector).glob("*.json")
        if _canonical(copy) == _canonical(payload)
    ]

    assert copies, f"{payload.name} has no unchanged copy under samples/{connector}/"
    referenced = _referenced_samples(connector) | KEPT_AS_SOURCE_ONLY
    assert set(copies) & referenced, f"{payload.name}: copies {copies} are not referenced by {connector}.yaml"
