"""YAML read at a bounded cost and located: the guarded loader behind every connector definition.

- ``parse_yaml`` refuses duplicate mapping keys (with both lines), nesting deeper than
  ``MAX_NESTING`` objects and lists (aliases included), documents whose aliases expand past
  ``MAX_YAML_NODES`` values (alias bombs), aliases that contain themselves, and integers longer than
  ``MAX_INT_DIGITS`` digits; a key given explicitly may still override one merged with ``<<``;
- ``yaml_with_positions`` also says where each value was written (``Positions``);
- ``GuardedLoader`` reads YAML 1.2 booleans: only true and false, never yes, no, on or off.

Its problems are reported like every document's (mercator.connector.documents).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mercator.connector.documents import (
    MAX_INT_DIGITS,
    MAX_NESTING,
    MAX_YAML_NODES,
    DocumentError,
    Location,
    Position,
    Positions,
    Problem,
    capped,
    duplicate_key,
    located,
    location_parts,
    long_integer,
    mark_position,
    node_start,
    too_deep,
)


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
                raise _Refused([located(where, mark_position(event.start_mark), too_deep())])
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
            raise _Refused([self._at(node, long_integer(len(digits)))])
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
                where += location_parts(part)
            message = f"{too_deep()}, counting what aliases stand for"
            raise _Refused([located(tuple(where), mark_position(node.start_mark), message)])
        if duplicates:
            raise _Refused(capped([problem for _, problem in sorted(duplicates, key=lambda found: found[0])]))

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
                again = node_start(key_node)
                where = (*self._location(node), _yaml_part(key_node) or "?")
                found.append((again, located(where, again, duplicate_key(key, node_start(first)))))
        return found

    def positions(self, root: Node) -> Positions:
        """Where each value of the composed document is: a mapping entry at its key, an item at its
        start. A node reached again through an alias is walked once, where it is first reached (its
        anchor, in document order); at its aliases, only the entry itself is placed.
        """
        index = Positions(node_start(root))
        walked: set[int] = set()
        stack: list[tuple[Node, Positions]] = [(root, index)]
        while stack:
            node, place = stack.pop()  # depth first, in document order
            if id(node) in walked:
                continue
            walked.add(id(node))
            entries: list[tuple[Hashable, Node, Node]] = []
            if isinstance(node, SequenceNode):
                entries = [(number, item, item) for number, item in enumerate(node.value)]
            elif isinstance(node, MappingNode):
                entries = [
                    (self._key(key_node), key_node, value_node)
                    for key_node, value_node in node.value
                    if key_node.tag != _MERGE_TAG  # merged entries stay placed where they were written
                ]
            below = [(child, place.add(part, node_start(at))) for part, at, child in entries]
            stack += reversed([(child, there) for child, there in below if _is_collection(child)])
        return index

    def _key(self, key_node: Node) -> Hashable:
        """A mapping key as the document's value has it (``200:`` is the number 200)."""
        if isinstance(key_node, ScalarNode):
            # Already constructed by ``_duplicates``, so this neither fails nor costs again.
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                return key
        return _yaml_part(key_node) or "?"

    def _at(self, node: Node, message: str) -> Problem:
        return located(self._location(node), mark_position(node.start_mark), message)

    def _location(self, node: Node) -> Location:
        parts: list[str | int] = []
        step = self._reached.get(id(node))
        while step is not None:
            parent, part = step
            if part is not None:
                parts.append(part)
            step = self._reached.get(id(parent))
        return tuple(reversed(parts))


# YAML 1.2 (its core schema) reads only true and false as booleans. PyYAML follows YAML 1.1, where
# yes, no, on and off are booleans too, so that a lookup table's `no:` key would silently become
# False. The resolvers are copied without the 1.1 one, leaving SafeLoader's own table as it is.
_BOOL_TAG = "tag:yaml.org,2002:bool"

GuardedLoader.add_constructor("tag:yaml.org,2002:int", GuardedLoader.construct_yaml_int)

GuardedLoader.yaml_implicit_resolvers = {
    first: kept
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    if (kept := [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL_TAG])
}
GuardedLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _yaml_part(index: Any) -> str | int | None:
    if isinstance(index, int):
        return index
    if isinstance(index, ScalarNode):
        return str(index.value)
    return None if index is None else "?"


def _is_collection(node: Node) -> bool:
    return isinstance(node, SequenceNode | MappingNode)


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
    return yaml_with_positions(text, file, positions=False)[0]


def yaml_with_positions(text: str, file: str, *, positions: bool = True) -> tuple[Any, Positions | None]:
    """``parse_yaml``'s value, and where each of its values was written (None: an empty document, or
    not asked for)."""
    loader = GuardedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        loader.inspect(root)
        # Before construction, which flattens merges in place.
        placed = loader.positions(root) if positions else None
        return loader.construct_document(root), placed
    except _Refused as exc:
        raise DocumentError(file, exc.problems) from None
    except yaml.MarkedYAMLError as exc:
        problem = Problem("", str(exc.problem or exc)).at(mark_position(exc.problem_mark))
        raise DocumentError(file, [problem]) from None
    except yaml.YAMLError as exc:
        raise DocumentError(file, [Problem("", f"not valid YAML: {exc}")]) from None
    except RecursionError:  # composition stops deep nesting first; this is a second guard
        raise DocumentError(file, [Problem("", too_deep())]) from None
    finally:
        loader.dispose()
