"""What the command groups share: how a group registers its commands, how a command is called, and
how answers are written.

A group is a module with ``register(commands)``, adding its subcommands to the ``mercator`` parser;
each subcommand sets ``handler``, called with the parsed arguments, standard output and standard
error, and returning the exit status. JSON is indented by two; tables are padded columns.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    # A generic only to type checkers; argparse's class takes no subscript at run time.
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

FORMATS = ("text", "json")


class Group(Protocol):
    """A module of commands: the parser learns them from ``register``."""

    def register(self, commands: Commands) -> None: ...


def write_json(out: TextIO, value: Any) -> None:
    out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def write_answer(out: TextIO, chosen_format: str, value: Any, line: str) -> None:
    """``value`` as JSON when ``--format json`` is chosen, else the one ``line`` of text."""
    if chosen_format == "json":
        write_json(out, value)
    else:
        out.write(line + "\n")


def write_table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell, two spaces apart; the header first."""
    table = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def cells(item: Mapping[str, Any], *names: str) -> tuple[str, ...]:
    """The named fields as table cells, an absent or null one empty."""
    return tuple("" if item.get(name) is None else str(item[name]) for name in names)


def yes_no(value: Any) -> str:
    return "yes" if value is True else "no"
