"""Real record shapes: the connector samples shipped with Mercator, used as templates.

A flavor takes one record out of a sample file (``salla/orders_list.json`` ``data[0]``, say) and
fills a fresh copy of it for every record it renders, so what the sandbox serves has exactly the
keys, nesting and value types of the platform's own payloads.
"""

from __future__ import annotations

import json
import marshal
from typing import Any

from mercator.connector.loader import SHIPPED_DIR

SAMPLES_DIR = SHIPPED_DIR / "samples"

Step = str | int


class Template:
    """One record of a sample file; ``fresh()`` returns a new deep copy to fill in."""

    def __init__(self, file: str, *path: Step) -> None:
        self.file = file
        self.path = path
        self._blob: bytes | None = None

    def fresh(self) -> dict[str, Any]:
        if self._blob is None:
            self._blob = marshal.dumps(self._load())
        # marshal round-trips plain JSON data several times faster than copy.deepcopy.
        record: dict[str, Any] = marshal.loads(self._blob)
        return record

    def _load(self) -> dict[str, Any]:
        source = SAMPLES_DIR / self.file
        node: Any = json.loads(source.read_text(encoding="utf-8"))
        for step in self.path:
            node = node[step]
        if not isinstance(node, dict):
            raise TypeError(f"{source}: {'/'.join(map(str, self.path))} is not a JSON object")
        return node
