"""Resource families: what one EventBridge schedule covers, whatever each connector calls the resource.

A schedule names a family (``{"resource": "carts"}``); every connector resource whose content type
belongs to that family is synced on it: Salla's ``abandoned_carts`` and Shopify's ``abandoned_carts``
alike, or a connector's ``checkouts`` if it called them that.
"""

from __future__ import annotations

from mercator.connector import ConnectorDefinition, Resource

FAMILIES: dict[str, str] = {
    "products": "core:product",
    "customers": "core:customer",
    "orders": "ecommerce:orders",
    "carts": "ecommerce:carts",
    "shipments": "ecommerce:shipments",
}


class UnknownFamilyError(ValueError):
    """A schedule named a family Mercator does not sync."""

    def __init__(self, family: str) -> None:
        self.family = family
        super().__init__(f"unknown resource family {family!r}; valid: {', '.join(FAMILIES)}")


def content_type_of(family: str) -> str:
    """The content type of a family's records; UnknownFamilyError for any other name."""
    try:
        return FAMILIES[family]
    except KeyError:
        raise UnknownFamilyError(family) from None


def family_resources(definition: ConnectorDefinition, family: str) -> list[Resource]:
    """The connector's enabled resources of ``family`` (none when the connector's sync is disabled)."""
    content_type = content_type_of(family)
    if not definition.sync.syncConfiguration.enabled:
        return []
    return [
        resource
        for resource in definition.resources.values()
        if resource.enabled and resource.contentType == content_type
    ]
