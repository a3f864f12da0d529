"""``mercator sandbox``: serve a generated store to develop connectors offline.

The store (``mercator_sandbox``) is a development tool, absent from the Lambda layer: it is imported
only when the command runs, and its absence exits with status 2.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from mercator.cli.output import Commands


def register(commands: Commands) -> None:
    # The sandbox parses its own options (mercator_sandbox.serve); "+" as the only prefix keeps this
    # parser from claiming them.
    sandbox = commands.add_parser(
        "sandbox",
        help="serve a generated store (Salla, Shopify, WooCommerce) to develop connectors offline",
        add_help=False,
        prefix_chars="+",
    )
    sandbox.add_argument("args", nargs=argparse.REMAINDER)
    sandbox.set_defaults(handler=_sandbox)


def _sandbox(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        from mercator_sandbox.serve import run  # noqa: PLC0415 - a development tool, absent from the layer
    except ImportError:
        err.write("the sandbox store is a development tool: install Mercator with pip install -e '.[dev]'\n")
        return 2
    return run(args.args)
