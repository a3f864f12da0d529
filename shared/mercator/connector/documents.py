"""Read the documents a person hands Mercator (definitions, samples, payloads) at a bounded cost.

Whatever the input, reading ends in a value or in a ``DocumentError`` naming the file and, where it
can, the line, the column and the dotted path of the mistake (``file:line:column: path: message``);
never in a traceback, a hang or a memory blow-up:

- ``read_file`` refuses what is not a regular file (a FIFO, ``/dev/zero``, a directory) before it
  reads a byte, and never reads more than ``limit + 1`` bytes, so a file over its limit is refused
  however it reports its size;
- ``decode`` takes UTF-8 only; a stray byte is reported with its line, column and byte offset;
- ``parse_json`` refuses nesting deeper than ``MAX_NESTING`` objects and lists, integers longer than
  ``MAX_INT_DIGITS`` digits, and duplicate keys where asked to;
- ``json_with_positions`` also says where each value was written (``Positions``), so that a mistake
  found later, in a value already read, can be located too;
- ``load_json_file`` is the three steps for a JSON file;
- ``resolve_inside`` keeps a relative path (a sample) inside a folder, symbolic links followed.

YAML is read with the same limits by mercator.connector.yaml_documents. The limits are documented
in docs/connector-format.md ("Limits").
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import yaml
from yaml.nodes import Node

from mercator.mapping.engine import format_location

MAX_DEFINITION_BYTES = 1 << 20
"""A definition file: 1 MiB, some forty times the largest shipped one."""
MAX_SAMPLE_BYTES = 10 << 20
"""A sample response or delivery named by a definition: 10 MiB."""
MAX_PAYLOAD_BYTES = 10 << 20
"""A payload given to ``mercator preview --input``: 10 MiB."""
MAX_NESTING = 100
"""Objects and lists nested in one another, in any document (shipped definitions nest 10)."""
MAX_YAML_NODES = 100_000
"""Keys, values and items of a YAML definition, each alias counted as what it stands for."""
MAX_INT_DIGITS = 4300
"""Digits of an integer: Python's own default limit for turning text into an int."""
MAX_REPORTED = 20
"""Problems of one kind reported for a document; a file of repeated keys needs no 10,000 lines."""
MAX_POSITIONS = MAX_YAML_NODES
"""Values of a JSON document whose place is remembered; past them, a value's nearest remembered
ancestor stands for it (a YAML definition never holds more: ``MAX_YAML_NODES``)."""

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """A mistake at ``path`` (dotted, "" for the whole document), at ``line`` and ``column`` if known."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def at(self, position: Position | None) -> Problem:
        """The same problem placed at ``position`` (left as it is when None)."""
        if position is None:
            return self
        return Problem(self.path, self.message, position.line, position.column)

    def as_dict(self) -> dict[str, str | int]:
        found: dict[str, str | int] = {"path": self.path, "message": self.message}
        if self.line is not None and self.column is not None:
            found |= {"line": self.line, "column": self.column}
        return found

    def render(self, file: str) -> str:
        """``file:line:column: path: message``, the form editors and terminals turn into links.

        Without a position, ``file: path: message``; a problem of the whole document says so. The
        path's characters that are not printable ASCII are escaped as ``ascii`` does: a key with a
        look-alike or invisible character must not read like the valid key, and a control character
        in a key must not reach the terminal.
        """
        path = "".join(ch if " " <= ch <= "~" else ascii(ch)[1:-1] for ch in self.path)
        if self.line is None or self.column is None:
            return f"{file}: {path or '(document)'}: {self.message}"
        where = f"{file}:{self.line}:{self.column}"
        return f"{where}: {path}: {self.message}" if path else f"{where}: {self.message}"


class DocumentError(ValueError):
    """A document that cannot be used; ``problems`` says where and why."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(problem.render(self.file) for problem in self.problems)


class JSONSyntaxError(DocumentError):
    """A text that is not JSON at all (a syntax error), rather than JSON refused for what it holds."""


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """A place in a text, both counted from 1."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"


def located(location: Location, position: Position | None, message: str) -> Problem:
    """A problem at a dotted path, placed at ``position`` when it is known."""
    return Problem(_short(location), message).at(position)


def _spelled_out(problem: Problem) -> Problem:
    """The problem with its line and column written into its text, the form of ``located`` before
    positions had fields: for readers that show only ``path: message`` inside a longer message."""
    if problem.line is None or problem.column is None:
        return problem
    position = Position(problem.line, problem.column)
    if not problem.path:
        return Problem(str(position), problem.message)
    return Problem(problem.path, f"{problem.message} ({position})")


def _short(location: Location) -> str:
    # A path 100 levels deep is 300 characters of [0]; its two ends say where it is.
    if len(location) <= 24:
        return format_location(location)
    return f"{format_location(location[:10])} ... {format_location(location[-10:])}"


def capped(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_REPORTED:
        return problems
    more = len(problems) - MAX_REPORTED
    return [*problems[:MAX_REPORTED], Problem("", f"and {more:,} more like these")]


# Files


def read_file(path: Path, *, limit: int, what: str, file: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ``what`` names it in the refusal."""
    name = str(path) if file is None else file
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; it changes nothing
    # for a regular file. The type is checked on the open descriptor, so a swap after a stat
    # cannot slip a device in.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DocumentError(name, [Problem("", _cannot_read(exc))]) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(
                name, [Problem("", f"not a regular file ({_file_kind(info.st_mode)}); give a file")]
            )
        if info.st_size > limit:
            raise DocumentError(name, [Problem("", too_big(f"is {info.st_size:,} bytes", what, limit))])
        chunks: list[bytes] = []
        wanted = limit + 1
        while wanted > 0:
            chunk = os.read(fd, min(wanted, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
    except OSError as exc:
        raise DocumentError(name, [Problem("", _cannot_read(exc))]) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        # Files under /proc and the like report a size of 0 whatever they hold.
        raise DocumentError(name, [Problem("", too_big("holds more", what, limit))])
    return data


def _cannot_read(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "cannot read the file: No such file or directory"
    return f"cannot read the file: {exc.strerror or exc}"


def too_big(found: str, what: str, limit: int) -> str:
    """The refusal of a document over its limit: ``found`` says how big it is."""
    return f"{found}; {what} may be at most {limit:,} bytes ({_mib(limit)})"


def _mib(size: int) -> str:
    return f"{size / (1 << 20):g} MiB"


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((kind for test, kind in kinds if test(mode)), "of an unknown kind")


def resolve_inside(base: Path, relative: str, *, what: str) -> Path:
    """``relative`` under ``base``, which it must not leave by ``..``, an absolute path or a link."""
    if PurePosixPath(relative).is_absolute() or PureWindowsPath(relative).is_absolute():
        raise DocumentError(
            relative, [Problem("", f"an absolute path; give {what} relative to the definition's folder")]
        )
    try:
        root = base.resolve()
        target = (root / relative).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a loop of symbolic links
        raise DocumentError(relative, [Problem("", f"cannot be resolved: {exc}")]) from None
    if not target.is_relative_to(root):
        raise DocumentError(
            relative,
            [
                Problem(
                    "",
                    f"leads outside the definition's folder (to {target}); {what} must be a file in "
                    f"{root} or below it",
                )
            ],
        )
    return target


# Text


def decode(data: bytes, file: str) -> str:
    """UTF-8 text; a byte that is not UTF-8 is located by line, column and byte offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        position = Position(
            data.count(b"\n", 0, exc.start) + 1,
            len(data[line_start : exc.start].decode("utf-8", "replace")) + 1,
        )
        message = (
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason}); "
            "save the file as UTF-8"
        )
        raise DocumentError(file, [Problem("", message).at(position)]) from None


def _position(text: str, offset: int) -> Position:
    return Position(text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset))


def mark_position(mark: yaml.Mark | None) -> Position | None:
    return Position(mark.line + 1, mark.column + 1) if mark is not None else None


def node_start(node: Node) -> Position:
    """Where a composed node starts (composed nodes always carry their marks)."""
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def too_deep() -> str:
    return f"nested deeper than {MAX_NESTING} objects and lists; at most {MAX_NESTING} levels are read"


def long_integer(digits: int) -> str:
    return f"an integer of {digits:,} digits; at most {MAX_INT_DIGITS:,} are read (write it as text)"


# Positions


class Positions:
    """Where each value of a parsed document was written, by its location (keys and list indexes).

    A tree with a node per value, so that its size follows the number of values, not that number
    times their depth. A mapping entry is placed at its key, so that an unknown or misspelt key is
    pointed at rather than its value. ``of`` answers for any location: one the document does not
    have (a missing key, a place pydantic adds below a value) is placed at its nearest ancestor.
    """

    __slots__ = ("_below", "position")

    def __init__(self, position: Position) -> None:
        self.position = position
        self._below: dict[Hashable, Positions] | None = None

    def add(self, part: Hashable, position: Position) -> Positions:
        """The node of ``part`` below this one; a part given again keeps its first place."""
        if self._below is None:
            self._below = {}
        return self._below.setdefault(part, Positions(position))

    def of(self, location: Iterable[Hashable]) -> Position:
        node = self
        for part in location:
            below = node._below.get(part) if node._below else None
            if below is None:
                break
            node = below
        return node.position


class _Lines:
    """Positions of ever later offsets in one text, each counted on from the last: linear overall."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0
        self.line = 1
        self.line_start = 0

    def at(self, offset: int) -> Position:
        if offset < self.offset:
            return _position(self.text, offset)
        newlines = self.text.count("\n", self.offset, offset)
        if newlines:
            self.line += newlines
            self.line_start = self.text.rfind("\n", self.offset, offset) + 1
        self.offset = offset
        return Position(self.line, offset - self.line_start + 1)


# JSON

# A string, a structural character, an integer too long to read (group "long"), or any other
# number or literal, whose start is where that value was written.
_JSON_TOKEN = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]'
    rf"|(?P<long>(?<![0-9.eE+-])-?[0-9]{{{MAX_INT_DIGITS + 1},}}(?![0-9.eE]))"
    r"|-?[0-9][0-9.eE+-]*|true|false|null|NaN|-?Infinity",
    re.DOTALL,
)


@dataclass
class _Frame:
    where: Location  # where this object or list is in the document
    is_object: bool
    node: Positions | None = None  # its place, when positions are collected
    key: str | None = None
    entry: Positions | None = None  # the place of the current key's value
    index: int = 0
    expect_key: bool = True
    keys: dict[str, int] = field(default_factory=dict)

    def current(self) -> str | int | None:
        return self.key if self.is_object else self.index


class _Tree:
    """A Positions tree being collected, up to ``MAX_POSITIONS`` values."""

    def __init__(self, text: str) -> None:
        self.root: Positions | None = None
        self.lines = _Lines(text)
        self.left = MAX_POSITIONS

    def add(self, parent: Positions | None, part: Hashable, offset: int) -> Positions | None:
        if parent is None or self.left <= 0:
            return None  # past the budget a value is placed at its nearest placed ancestor
        self.left -= 1
        return parent.add(part, self.lines.at(offset))


def parse_json(text: str, file: str, *, unique_keys: bool = False) -> Any:
    """A JSON document; syntax errors, nesting, long integers and (if asked) duplicate keys located.

    ``json.loads`` reads (its C parser raises RecursionError long before the stack runs out); only a
    document it refuses or finds wanting is scanned again, to say where.
    """
    duplicated = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicated
        found = dict(items)
        duplicated = duplicated or len(found) != len(items)
        return found

    try:
        value = json.loads(text, object_pairs_hook=pairs if unique_keys else None)
    except json.JSONDecodeError as exc:
        raise JSONSyntaxError(file, [Problem("", exc.msg, exc.lineno, exc.colno)]) from None
    except RecursionError:
        _scan_json(text, file, unique_keys=False)  # raises where the nesting passes the limit
        raise DocumentError(file, [Problem("", too_deep())]) from None
    except ValueError as exc:  # an integer past Python's digit limit
        problems = capped(_scan_json(text, file, unique_keys=False))
        raise DocumentError(file, problems or [Problem("", str(exc))]) from None
    if duplicated or _nesting(value) > MAX_NESTING:
        problems = capped(_scan_json(text, file, unique_keys=unique_keys))
        raise DocumentError(file, problems or [Problem("", too_deep())])
    return value


def _nesting(value: Any) -> int:
    """How many objects and lists are nested in ``value``: level by level, without recursion."""
    depth = 0
    level = [value] if isinstance(value, dict | list) else []
    while level and depth <= MAX_NESTING:
        depth += 1
        below: list[Any] = []
        for node in level:
            below += [
                c for c in (node.values() if isinstance(node, dict) else node) if isinstance(c, dict | list)
            ]
        level = below
    return depth


def json_with_positions(text: str, file: str, *, unique_keys: bool = False) -> tuple[Any, Positions | None]:
    """``parse_json``'s value, and where each of its values was written."""
    value = parse_json(text, file, unique_keys=unique_keys)
    tree = _Tree(text)
    _scan_json(text, file, unique_keys=False, tree=tree)
    return value, tree.root


def _scan_json(text: str, file: str, *, unique_keys: bool, tree: _Tree | None = None) -> list[Problem]:
    """Where the problems ``json.loads`` met are: nesting (raised at once), long integers, duplicates;
    and, given a ``tree``, where each value is.

    The scan follows only strings, structural characters, numbers and literals, in one pass without
    recursion.
    """
    frames: list[_Frame] = []
    problems: list[Problem] = []
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        top = frames[-1] if frames else None
        if first in "]}":
            if frames:
                frames.pop()
            continue
        if first in ",:":
            if top is not None:
                top.index += first == ","
                top.expect_key = first == ","
            continue
        if top is not None and first == '"' and top.is_object and top.expect_key:
            key = _json_key(token)
            if unique_keys and key in top.keys:
                first_at = _position(text, top.keys[key])
                again = _position(text, match.start())
                problems.append(located((*top.where, key), again, duplicate_key(key, first_at)))
            top.keys.setdefault(key, match.start())
            top.key = key
            if tree is not None:
                top.entry = tree.add(top.node, key, match.start())
            continue
        # A value starts here.
        node = None
        if tree is not None and tree.left <= 0:
            break  # a tree is only asked of a document already read whole, so nothing else is to find
        if tree is not None:
            if top is None:
                node = tree.root = Positions(tree.lines.at(match.start()))
            elif top.is_object:
                node = top.entry
            else:
                node = tree.add(top.node, top.index, match.start())
        if first in "[{":
            if len(frames) >= MAX_NESTING:
                where = _json_location(frames)
                raise DocumentError(file, [located(where, _position(text, match.start()), too_deep())])
            where = (*top.where, *location_parts(top.current())) if top else ()
            frames.append(_Frame(where, is_object=first == "{", node=node))
        elif match.group("long"):
            problems.append(
                located(
                    _json_location(frames),
                    _position(text, match.start()),
                    long_integer(len(token.lstrip("-"))),
                )
            )
    return problems


def load_json_file(path: Path, *, limit: int, what: str, file: str | None = None) -> Any:
    """A JSON file (a sample, a payload) read by ``read_file``, ``decode`` and ``parse_json``.

    Its problems are shown inside other messages (a checklist finding about a sample, a preview
    input) as ``path: message``, so their line and column are written into that text.
    """
    name = str(path) if file is None else file
    try:
        return parse_json(decode(read_file(path, limit=limit, what=what, file=name), name), name)
    except DocumentError as exc:
        raise DocumentError(exc.file, [_spelled_out(problem) for problem in exc.problems]) from None


def _json_key(token: str) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        return token[1:-1]
    return key if isinstance(key, str) else token[1:-1]


def _json_location(frames: Sequence[_Frame]) -> Location:
    """The path of the value the innermost object or list is at."""
    return (*frames[-1].where, *location_parts(frames[-1].current())) if frames else ()


def location_parts(part: str | int | None) -> Location:
    return () if part is None else (part,)


def duplicate_key(key: object, first: Position) -> str:
    # The problem is placed where the key is given again; the message says where it was first.
    return f"duplicate key {key!r}: given before at {first}; give each key once (the last would silently win)"


# YAML
