"""The platforms the sandbox store can pretend to be."""

from __future__ import annotations

from mercator_sandbox.flavors.base import Answer, ApiError, DeliveryContext, Endpoint, Flavor
from mercator_sandbox.flavors.crystal import Crystal
from mercator_sandbox.flavors.salla import Salla
from mercator_sandbox.flavors.shopify import Shopify
from mercator_sandbox.flavors.woocommerce import WooCommerce
from mercator_sandbox.flavors.zid import Zid

FLAVORS: dict[str, type[Flavor]] = {
    "salla": Salla,
    "shopify": Shopify,
    "woocommerce": WooCommerce,
    "crystal": Crystal,
    "zid": Zid,
}


def flavor_class(name: str) -> type[Flavor]:
    try:
        return FLAVORS[name]
    except KeyError:
        raise ValueError(f"no sandbox flavor {name!r}; valid: {', '.join(FLAVORS)}") from None


__all__ = [
    "FLAVORS",
    "Answer",
    "ApiError",
    "Crystal",
    "DeliveryContext",
    "Endpoint",
    "Flavor",
    "Salla",
    "Shopify",
    "WooCommerce",
    "Zid",
    "flavor_class",
]
