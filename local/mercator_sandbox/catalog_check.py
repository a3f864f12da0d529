"""A sandbox store's products against a Crystal source's, by SKU, in the fields each store's push block
writes: what the e2e tests and ``make demo`` both check after a catalog push."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mercator_sandbox.app import FlavorName, Sandbox
from mercator_sandbox.flavors.crystal import Crystal

# What each store's push block writes of a product, as Sandbox.products() shows it; the rest the store
# keeps its own: Salla takes tags only as ids of tags made beforehand, Zid images only as uploaded files.
COMPARED: dict[FlavorName, tuple[str, ...]] = {
    "salla": ("name", "description", "price", "quantity", "visible", "images"),
    "shopify": ("name", "description", "price", "quantity", "visible", "images", "tags"),
    "woocommerce": ("name", "description", "price", "quantity", "visible", "images", "tags"),
    "zid": ("name", "description", "price", "quantity", "visible", "tags"),
}


@dataclass
class Mismatch:
    missing: list[str] = field(default_factory=list)  # source SKUs with no product in the store
    duplicated: list[str] = field(default_factory=list)  # SKUs the store holds more than once
    # sku -> field -> (the store's value, the source's)
    differing: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return not (self.missing or self.duplicated or self.differing)

    def lines(self) -> list[str]:
        """Each difference in words."""
        return [
            *(f"{sku}: missing" for sku in self.missing),
            *(f"{sku}: more than one product" for sku in self.duplicated),
            *(
                f"{sku}: {name} is {store!r}, the source says {source!r}"
                for sku, fields in self.differing.items()
                for name, (store, source) in fields.items()
            ),
        ]


def compare(store: Sandbox, source: Sandbox) -> Mismatch:
    """Every product ``source`` offers in ``store`` once, as the source has it; one the source no
    longer offers, present and not visible."""
    crystal = source.flavor
    assert isinstance(crystal, Crystal), "the source is a crystal sandbox"
    flavor = store.config.flavor
    in_store: dict[str, list[dict[str, Any]]] = {}
    for product in store.products():
        in_store.setdefault(str(product["sku"]), []).append(dict(product))
    mismatch = Mismatch(duplicated=sorted(sku for sku, found in in_store.items() if len(found) > 1))
    offered = {record["product_number"]: record for record in crystal.source_products().values()}
    for sku, record in offered.items():
        found = in_store.get(sku)
        if not found:
            mismatch.missing.append(sku)
            continue
        expected = expected_product(record, flavor)
        wrong = {
            name: (found[0][name], expected[name])
            for name in COMPARED[flavor]
            if _normal(name, found[0][name]) != _normal(name, expected[name])
        }
        if wrong:
            mismatch.differing[sku] = wrong
    for sku, found in in_store.items():
        if sku.startswith("CR-") and sku not in offered and found[0]["visible"]:
            mismatch.differing[sku] = {"visible": (True, False)}
    return mismatch


def expected_product(record: dict[str, Any], flavor: FlavorName) -> dict[str, Any]:
    """What the store must show of one source product (Salla keeps a product without an image
    hidden, whatever the request asks: its own rule)."""
    images = [image["url"] for image in sorted(record["images"], key=lambda image: image["position"])]
    visible = record["is_visible"] and (bool(images) or flavor != "salla")
    return {
        "name": record["name"],
        "description": record["description"],
        "price": Decimal(str(record["price"])).quantize(Decimal("0.01")),
        "quantity": record["quantity"],
        "visible": visible,
        "images": images,
        "tags": list(record["tags"]),
    }


def _normal(name: str, value: Any) -> Any:
    if name == "price" and value is not None:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    return value
