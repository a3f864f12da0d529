"""Read the documents a person hands Mercator (definitions, samples, payloads) at a bounded cost.

Whatever the input, reading ends in a value or in a ``DocumentError`` naming the file and, where it
can, the line, the column and the dotted path of the mistake; never in a traceback, a hang or a
memory blow-up:

- ``read_file`` refuses what is not a regular file (a FIFO, ``/dev/zero``, a directory) before it
  reads a byte, and never reads more than ``limit + 1`` bytes, so a file over its limit is refused
  however it reports its size;
- ``decode`` takes UTF-8 only; a stray byte is reported with its line, column and byte offset;
- ``parse_yaml`` refuses duplicate mapping keys (with both lines), nesting deeper than
  ``MAX_NESTING`` objects and lists (aliases included), documents whose aliases expand past
  ``MAX_YAML_NODES`` values (alias bombs), aliases that contain themselves, and integers longer than
  ``MAX_INT_DIGITS`` digits;
- ``parse_json`` refuses the same nesting and integers, and duplicate keys where asked to;
- ``load_json_file`` is the three steps for a JSON file;
- ``resolve_inside`` keeps a relative path (a sample) inside a folder, symbolic links followed.

The limits are documented in docs/connector-format.md ("Limits").
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

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

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class DocumentError(ValueError):
    """A document that cannot be used; ``problems`` says where and why."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(f"{self.file}: {p.path or '(document)'}: {p.message}" for p in self.problems)


@dataclass(frozen=True, order=True)
class Position:
    """A place in a text, both counted from 1."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"


def located(location: Location, position: Position | None, message: str) -> Problem:
    """A problem at a dotted path and a line; without a path the line takes the path's place."""
    if not location:
        return Problem(str(position) if position else "", message)
    return Problem(_short(location), f"{message} ({position})" if position else message)


def _short(location: Location) -> str:
    # A path 100 levels deep is 300 characters of [0]; its two ends say where it is.
    if len(location) <= 24:
        return format_location(location)
    return f"{format_location(location[:10])} ... {format_location(location[-10:])}"


def _capped(problems: list[Problem]) -> list[Problem]:
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
        raise DocumentError(
            file,
            [
                Problem(
                    str(position),
                    f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason}); "
                    "save the file as UTF-8",
                )
            ],
        ) from None


def _position(text: str, offset: int) -> Position:
    return Position(text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset))


def _mark(mark: yaml.Mark | None) -> Position | None:
    return Position(mark.line + 1, mark.column + 1) if mark is not None else None


def _too_deep() -> str:
    return f"nested deeper than {MAX_NESTING} objects and lists; at most {MAX_NESTING} levels are read"


def _long_integer(digits: int) -> str:
    return f"an integer of {digits:,} digits; at most {MAX_INT_DIGITS:,} are read (write it as text)"


# JSON

# A string, a structural character, or an integer too long to read; nothing else matters here.
_JSON_TOKEN = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]'
    rf"|(?<![0-9.eE+-])-?[0-9]{{{MAX_INT_DIGITS + 1},}}(?![0-9.eE])",
    re.DOTALL,
)


@dataclass
class _Frame:
    part: str | int | None  # where this object or list is in its parent
    is_object: bool
    key: str | None = None
    index: int = 0
    expect_key: bool = True
    keys: dict[str, int] = field(default_factory=dict)

    def current(self) -> str | int | None:
        return self.key if self.is_object else self.index


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
        raise DocumentError(file, [Problem(f"line {exc.lineno}, column {exc.colno}", exc.msg)]) from None
    except RecursionError:
        _scan_json(text, file, unique_keys=False)  # raises where the nesting passes the limit
        raise DocumentError(file, [Problem("", _too_deep())]) from None
    except ValueError as exc:  # an integer past Python's digit limit
        problems = _capped(_scan_json(text, file, unique_keys=False))
        raise DocumentError(file, problems or [Problem("", str(exc))]) from None
    if duplicated or _nesting(value) > MAX_NESTING:
        problems = _capped(_scan_json(text, file, unique_keys=unique_keys))
        raise DocumentError(file, problems or [Problem("", _too_deep())])
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


def _scan_json(text: str, file: str, *, unique_keys: bool) -> list[Problem]:
    """Where the problems ``json.loads`` met are: nesting (raised at once), long integers, duplicates.

    The scan follows only strings and structural characters, in one pass without recursion.
    """
    frames: list[_Frame] = []
    problems: list[Problem] = []
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        top = frames[-1] if frames else None
        if first in "[{":
            if len(frames) >= MAX_NESTING:
                where = _json_location(frames)
                raise DocumentError(file, [located(where, _position(text, match.start()), _too_deep())])
            frames.append(_Frame(top.current() if top else None, is_object=first == "{"))
        elif first in "]}":
            if frames:
                frames.pop()
        elif top is None:
            continue
        elif first == ",":
            top.index += 1
            top.expect_key = True
        elif first == ":":
            top.expect_key = False
        elif first == '"':
            if top.is_object and top.expect_key:
                key = _json_key(token)
                if unique_keys and key in top.keys:
                    first_at = _position(text, top.keys[key])
                    problems.append(
                        located(
                            (*_container(frames), key),
                            None,
                            _duplicate(key, first_at, _position(text, match.start())),
                        )
                    )
                top.keys.setdefault(key, match.start())
                top.key = key
        else:
            problems.append(
                located(
                    _json_location(frames),
                    _position(text, match.start()),
                    _long_integer(len(token.lstrip("-"))),
                )
            )
    return problems


def load_json_file(path: Path, *, limit: int, what: str, file: str | None = None) -> Any:
    """A JSON file (a sample, a payload) read by ``read_file``, ``decode`` and ``parse_json``."""
    name = str(path) if file is None else file
    return parse_json(decode(read_file(path, limit=limit, what=what, file=name), name), name)


def _json_key(token: str) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        return token[1:-1]
    return key if isinstance(key, str) else token[1:-1]


def _container(frames: Sequence[_Frame]) -> Location:
    """The path of the innermost object or list."""
    return tuple(part for frame in frames for part in _parts(frame.part))


def _json_location(frames: Sequence[_Frame]) -> Location:
    """The path of the value the innermost object or list is at."""
    return (*_container(frames), *_parts(frames[-1].current())) if frames else ()


def _parts(part: str | int | None) -> Location:
    return () if part is None else (part,)


def _duplicate(key: object, first: Position, again: Position) -> str:
    return (
        f"duplicate key {key!r}: given at line {first.line}, column {first.column} and again at "
        f"line {again.line}, column {again.column}; give each key once (the last would silently win)"
    )


# YAML


class _Refused(yaml.YAMLError):
    """Raised inside the loader; ``parse_yaml`` turns it into a DocumentError."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(problems[0].message if problems else "")
        self.problems = list(problems)


_MERGE_TAG = "tag:yaml.org,2002:merge"


class GuardedLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with the guards of this module's contract.

    Composition stops at ``MAX_NESTING``; ``inspect`` then walks the composed graph once (aliases are
    shared nodes, so the walk is linear in the text, however far they would expand) for cycles,
    expanded size and depth, and duplicate keys, before anything is constructed.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._path: list[str | int | None] = []
        self._reached: dict[int, tuple[Node, str | int | None] | None] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._path.append(_yaml_part(index))
        try:
            if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
                return super().compose_node(parent, index)
            if self._depth >= MAX_NESTING:
                where = tuple(part for part in self._path if part is not None)
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _Refused([located(where, _mark(event.start_mark), _too_deep())])
            self._depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        finally:
            self._path.pop()

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            # A scalar the resolver took for a date or number that is not one (2024-13-45).
            raise _Refused([self._at(node, f"cannot be read: {exc}")]) from None

    def construct_yaml_int(self, node: ScalarNode) -> int:
        # Sexagesimal (1:30:00) and binary/hex forms escape int()'s own limit; all are capped.
        digits = str(node.value).replace("_", "").lstrip("+-")
        if len(digits) > MAX_INT_DIGITS:
            raise _Refused([self._at(node, _long_integer(len(digits)))])
        return super().construct_yaml_int(node)

    def inspect(self, root: Node) -> None:
        """Refuse cycles, alias expansion past the budget, depth through aliases and duplicate keys."""
        size: dict[int, int] = {}
        height: dict[int, int] = {}
        open_nodes: set[int] = set()
        duplicates: list[tuple[Position, Problem]] = []
        self._reached = {id(root): None}
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, finished = stack.pop()
            key = id(node)
            children = _yaml_children(node)
            if finished:
                open_nodes.discard(key)
                size[key] = 1 + sum(size[id(child)] for _, child in children)
                below = max((height[id(child)] for _, child in children), default=0)
                height[key] = below + 1 if isinstance(node, SequenceNode | MappingNode) else 0
                if size[key] > MAX_YAML_NODES:
                    raise _Refused(
                        [
                            self._at(
                                node,
                                f"holds {size[key]:,} keys, values and items, each alias counted as "
                                f"what it stands for; a definition may hold at most {MAX_YAML_NODES:,}",
                            )
                        ]
                    )
                continue
            if key in size:
                continue  # an alias of a node already walked
            if key in open_nodes:
                raise _Refused(
                    [self._at(node, "an alias inside this node refers to the node itself; it never ends")]
                )
            open_nodes.add(key)
            stack.append((node, True))
            for part, child in children:
                self._reached.setdefault(id(child), (node, part))
                stack.append((child, False))
            if isinstance(node, MappingNode):
                duplicates += self._duplicates(node)
        if height[id(root)] > MAX_NESTING:
            # Down the deepest branch, through the aliases, to the first level too many.
            node, where = root, list[str | int]()
            for _ in range(MAX_NESTING):
                part, node = max(_yaml_children(node), key=lambda pair: height[id(pair[1])])
                where += _parts(part)
            message = f"{_too_deep()}, counting what aliases stand for"
            raise _Refused([located(tuple(where), _mark(node.start_mark), message)])
        if duplicates:
            raise _Refused(
                _capped([problem for _, problem in sorted(duplicates, key=lambda found: found[0])])
            )

    def _duplicates(self, node: MappingNode) -> list[tuple[Position, Problem]]:
        """Each key given again in this mapping, by where it is given again."""
        seen: dict[Any, ScalarNode] = {}
        found = []
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue  # an explicit key may override a merged one: that is what << is for
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # unhashable: construction refuses it with its line
            if first is not key_node:
                first_at, again = _mark(first.start_mark), _mark(key_node.start_mark)
                assert first_at is not None and again is not None  # composed nodes carry marks
                where = (*self._location(node), _yaml_part(key_node) or "?")
                found.append((again, located(where, None, _duplicate(key, first_at, again))))
        return found

    def _at(self, node: Node, message: str) -> Problem:
        return located(self._location(node), _mark(node.start_mark), message)

    def _location(self, node: Node) -> Location:
        parts: list[str | int] = []
        step = self._reached.get(id(node))
        while step is not None:
            parent, part = step
            if part is not None:
                parts.append(part)
            step = self._reached.get(id(parent))
        return tuple(reversed(parts))


GuardedLoader.add_constructor("tag:yaml.org,2002:int", GuardedLoader.construct_yaml_int)


def _yaml_part(index: Any) -> str | int | None:
    if isinstance(index, int):
        return index
    if isinstance(index, ScalarNode):
        return str(index.value)
    return None if index is None else "?"


def _yaml_children(node: Node) -> list[tuple[str | int | None, Node]]:
    if isinstance(node, SequenceNode):
        return list(enumerate(node.value))
    if isinstance(node, MappingNode):
        children: list[tuple[str | int | None, Node]] = []
        for key_node, value_node in node.value:
            children.append((None, key_node))
            children.append((_yaml_part(key_node), value_node))
        return children
    return []


def parse_yaml(text: str, file: str) -> Any:
    """A YAML document read by ``GuardedLoader``; every refusal located."""
    loader = GuardedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        loader.inspect(root)
        return loader.construct_document(root)
    except _Refused as exc:
        raise DocumentError(file, exc.problems) from None
    except yaml.MarkedYAMLError as exc:
        position = _mark(exc.problem_mark)
        raise DocumentError(file, [Problem(str(position or ""), str(exc.problem or exc))]) from None
    except yaml.YAMLError as exc:
        raise DocumentError(file, [Problem("", f"not valid YAML: {exc}")]) from None
    except RecursionError:  # composition stops deep nesting first; this is a second guard
        raise DocumentError(file, [Problem("", _too_deep())]) from None
    finally:
        loader.dispose()
