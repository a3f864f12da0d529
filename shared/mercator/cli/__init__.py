"""The ``mercator`` command line: connector definitions, and a tenant's integrations and workflows.

Validates and previews connector definitions and prints their schema; configures a tenant's
integrations and workflows through the Integrations API; replays archived deliveries; manages API keys.

Errors in definitions or inputs are printed as ``file: path: message`` lines with exit status 1; the
command never shows a traceback for a user's mistake. The API's refusals are printed as ``code:
message`` with exit status 1; an API that cannot be reached, or is not named, exits with status 2.

Each command group is a module of this package with ``register(commands)`` (mercator.cli.output);
a new group is its module plus its entry in ``_GROUPS``. The groups import only what parsing needs:
boto3, httpx and the wiring are imported when a command that uses them runs, so ``mercator --help``
and ``mercator validate`` start without them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mercator.cli import (
    catalog_commands,
    definitions,
    integration_commands,
    key_commands,
    push_commands,
    replay,
    sandbox,
    workflow_commands,
)

if TYPE_CHECKING:
    import httpx

    from mercator.cli.output import Group

# In the order `mercator --help` lists them.
_GROUPS: tuple[Group, ...] = (
    definitions,
    sandbox,
    integration_commands,
    workflow_commands,
    replay,
    push_commands,
    catalog_commands,
    key_commands,
)


def main(argv: Sequence[str] | None = None, *, api_transport: httpx.BaseTransport | None = None) -> int:
    """Run one command; ``api_transport`` carries the API commands' requests instead of the network."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.api_transport = api_transport
    handler = args.handler
    return int(handler(args, sys.stdout, sys.stderr))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mercator", description=__doc__.splitlines()[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in _GROUPS:
        group.register(commands)
    return parser
