"""Where the PIM's reference and its schemas are, and its 21 sections, written out by hand (the
tests compare the code's lists against this one, not the code's against itself)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "shared" / "mercator" / "pim" / "schemas"
SEEDS = ROOT.parent / "shared" / "seeds"

DETAILED_TYPES = (
    "attribute_created",
    "attribute_name_changed",
    "attribute_option_code_changed",
    "attribute_option_created",
    "attribute_option_deleted",
    "attribute_option_name_changed",
    "category_created",
    "category_name_changed",
    "product_added_to_category",
    "product_binding_added",
    "product_binding_removed",
    "product_child_added",
    "product_child_quantity_changed",
    "product_child_removed",
    "product_created",
    "product_removed_from_category",
    "product_value_added",
    "product_value_changed",
    "product_value_removed",
    "product_variant_added",
    "product_variant_removed",
)
