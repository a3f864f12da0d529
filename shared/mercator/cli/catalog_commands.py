"""``mercator catalog``: the catalog a PIM integration's events built, as Mercator holds it.

The environment names the state table (STATE_TABLE); AWS is reached as boto3 is configured, a local
stack included. ``--format json`` prints the whole catalog (attributes with their options,
categories, products with their values, bindings, variants and children; options by their codes as
they are now), the shape a PIM's own export can be compared with; ``text`` prints counts per kind
and one line per product.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from mercator.cli.aws import aws_errors
from mercator.cli.output import FORMATS, write_table

if TYPE_CHECKING:
    from mercator.cli.output import Commands


def register(commands: Commands) -> None:
    catalog = commands.add_parser(
        "catalog",
        help="show the catalog a PIM integration's events built (environment: STATE_TABLE)",
        description=(
            "Prints the catalog state of a PIM integration (a catalog-events source): its attributes, "
            "categories and products as its events left them. The environment names the state table: "
            "STATE_TABLE."
        ),
    )
    catalog.add_argument("--integration", required=True, metavar="ID", help="the PIM integration")
    catalog.add_argument("--format", choices=FORMATS, default="text")
    catalog.set_defaults(handler=_catalog)


def _catalog(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # boto3 and the adapters load only when this command runs.
    from mercator.domain.errors import StateError  # noqa: PLC0415
    from mercator.settings import CatalogReadSettings, SettingsError  # noqa: PLC0415
    from mercator.wiring.factories import catalog_state  # noqa: PLC0415

    refusals: tuple[type[Exception], ...] = (SettingsError, StateError, *aws_errors())
    try:
        found = catalog_state(CatalogReadSettings.from_environ()).snapshot(args.integration)
    except refusals as exc:
        err.write(f"mercator catalog: {exc}\n")
        return 1
    if args.format == "json":
        out.write(json.dumps(found, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
        return 0
    _write_text(out, found)
    return 0


def _write_text(out: TextIO, found: dict[str, Any]) -> None:
    options = sum(len(attribute["options"]) for attribute in found["attributes"].values())
    out.write(
        f"{len(found['attributes'])} attributes ({options} options), {len(found['categories'])} categories, "
        f"{len(found['products'])} products\n"
    )
    rows = [
        [
            sku,
            product["type"] or "(not created yet)",
            ", ".join(product["categories"]) or "-",
            str(len(product["values"])),
            str(len(product["variants"])),
            str(len(product["children"])),
        ]
        for sku, product in found["products"].items()
    ]
    if rows:
        write_table(out, ["sku", "type", "categories", "values", "variants", "children"], rows)
