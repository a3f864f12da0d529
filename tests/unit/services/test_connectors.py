"""The connector catalog: given definitions first, shipped ones loaded once per name."""

from __future__ import annotations

import pytest

from mercator.connector import ConnectorDefinition, DefinitionError, load_shipped
from mercator.services.connectors import ConnectorCatalog


def test_a_shipped_connector_is_loaded_once_and_then_served_from_the_catalog() -> None:
    calls: list[str] = []

    def loader(name: str) -> ConnectorDefinition:
        calls.append(name)
        return load_shipped(name)

    catalog = ConnectorCatalog(loader=loader)

    first = catalog.get("salla")
    again = catalog.get("salla")
    catalog.get("zid")

    assert first is again
    assert calls == ["salla", "zid"]


def test_a_given_definition_wins_over_the_shipped_one() -> None:
    shopify = load_shipped("shopify")

    assert ConnectorCatalog({"shopify": shopify}, loader=pytest.fail).get("shopify") is shopify


def test_a_definition_given_under_another_name_is_refused() -> None:
    with pytest.raises(ValueError, match="connector 'shopify' was given under the name 'salla'"):
        ConnectorCatalog({"salla": load_shipped("shopify")})


def test_an_unknown_connector_names_the_shipped_ones() -> None:
    with pytest.raises(
        DefinitionError, match="no shipped connector 'bigstore'; shipped: crystal, pim, salla, shopify"
    ):
        ConnectorCatalog().get("bigstore")
