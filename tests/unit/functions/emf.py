"""Reading the metrics a handler published: Powertools prints them to stdout as CloudWatch EMF lines."""

from __future__ import annotations

import json
from typing import Any


def published_metrics(output: str) -> dict[str, list[float]]:
    """Every value of every metric in the EMF lines of ``output``, by metric name."""
    values: dict[str, list[float]] = {}
    for line in output.splitlines():
        try:
            document: Any = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                name = metric["Name"]
                value = document[name]
                values.setdefault(name, []).extend(value if isinstance(value, list) else [value])
    return values
