"""The ``catalogEvents`` block: a PIM that sends its catalog as signed change events, and how its
products become the tenant's canonical ``core:product`` records.

A connector with this block is a catalog source fed by events (``connectors/pim.yaml``): the PIM
calls ``PUT /pim/{integrationId}/consume/{event}`` (docs/catalog-events.md), Mercator keeps the
catalog the events build, and maps each changed product with ``products.apiMapping``, in the same
vocabulary as a resource's ``apiMapping``, from the product document ``mercator.pim.product_view``
describes (``values.<attribute>`` in the first of ``languages`` that has one, ``options``,
``variants``, ``categories``, ``children``). The merchant's attribute codes differ from one PIM to
the next, so the mapping is where a definition says which attribute gives the name, the price, the
images, the stock.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, PrivateAttr, model_validator

from mercator.connector.auth import CredentialName
from mercator.connector.base import DefinitionModel, mapping_error
from mercator.connector.mappings import MappingSpec
from mercator.mapping import CompiledMapping, MappingDefinitionError, compile_mapping

Language = Annotated[str, Field(min_length=2, description="a language code as the PIM writes it (en_GB)")]


class AppToken(DefinitionModel):
    """How requests are verified: the ``X-APP-TOKEN`` JWT, HS256 with the installation's secret."""

    secret: CredentialName = Field(description="the credential holding the app installation's shared secret")
    installation: CredentialName | None = Field(
        None,
        description="the credential holding the PIM's app installation id; when an integration has it, "
        "the token's app_installation_id must equal it",
    )


class CatalogProducts(DefinitionModel):
    """How a catalog product becomes a ``core:product``."""

    apiMapping: MappingSpec = Field(description="core:product fields from the product document")
    variantsStandalone: bool = Field(
        False,
        description="whether a product that is a variant of a variable product is also a product of its "
        "own in the canonical catalog (by default it is sold only as the variant)",
    )
    sample: str | None = Field(
        None, description="file with a product document (relative to the definition), for the checklist"
    )

    _compiled: CompiledMapping | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> CatalogProducts:
        try:
            self._compiled = compile_mapping(self.apiMapping, scope="catalogEvents products")
        except MappingDefinitionError as exc:
            raise mapping_error("apiMapping", exc) from None
        return self

    @property
    def mapping(self) -> CompiledMapping:
        assert self._compiled is not None
        return self._compiled


class CatalogEvents(DefinitionModel):
    """A catalog source that sends its changes as signed events, applied in order per entity."""

    token: AppToken
    languages: list[Language] = Field(
        min_length=1,
        description="the languages localized values and names are read in, first found wins",
    )
    products: CatalogProducts
