"""A record's content hash: what the writer, intake and listings compare to tell a change from a copy."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(record: Any) -> str:
    """sha256 of the record's canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
