"""Mercator's main job, run locally: validate every shipped connector and preview it with its samples.

For each connector this prints the checklist verdict, then every resource's sample responses and every
webhook handler's sample deliveries mapped into canonical records (one example record each), and
the customer extracted from each delivery. Exit status 1 if any connector fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mercator.connector import ConnectorDefinition, DefinitionError, load_definition, shipped_definitions
from mercator.connector.checklist import check
from mercator.connector.mapper import (
    MapOutcome,
    extract_customer,
    map_delivery,
    map_details_response,
    map_list_response,
    map_records,
)


def _read(definition: ConnectorDefinition, relative: str) -> Any:
    return json.loads(definition.resolve(relative).read_text(encoding="utf-8"))


def _line(label: str, outcome: MapOutcome) -> str:
    status = "ok" if not outcome.failures else f"{len(outcome.failures)} FAILED"
    return f"    {label:<42} {len(outcome.records):>3} {outcome.content_type:<17} {status}"


def _example(outcome: MapOutcome) -> str:
    if not outcome.records:
        return ""
    text = json.dumps(outcome.records[0], ensure_ascii=False, sort_keys=True)
    return "        e.g. " + (text if len(text) <= 150 else text[:147] + "...")


def demo_connector(file: Path) -> bool:
    try:
        definition = load_definition(file)
    except DefinitionError as exc:
        print(exc.render())
        return False
    findings = check(definition)
    verdict = "passes the checklist" if not findings else f"{len(findings)} checklist problem(s)"
    print(f"\n{definition.displayName} ({file.name}): {verdict}")
    for finding in findings:
        print(f"    ! {finding.path}: {finding.message}")
    ok = not findings
    for key, resource in definition.resources.items():
        samples = [("list", resource.samples.list, map_list_response)]
        samples.append(("details", resource.samples.details, map_details_response))
        for kind, relative, mapper in samples:
            if relative:
                outcome = mapper(definition, key, _read(definition, relative))
                print(_line(f"resource {key} ({kind})", outcome))
                print(_example(outcome))
                ok &= not outcome.failures
    for event, handler in definition.handlers.items():
        for relative in handler.samples:
            body = _read(definition, relative)
            if handler.enrich is None:
                outcome = map_delivery(definition, event, body)
                print(_line(f"event {event} [{handler.operation}]", outcome))
                ok &= not outcome.failures
            customer = extract_customer(definition, event, body)
            if customer is not None and customer.records:
                print(_line("  + customer extracted", customer))
    catalog = definition.catalogEvents
    if catalog is not None and catalog.products.sample:
        document = _read(definition, catalog.products.sample)
        outcome = map_records(catalog.products.mapping, "core:product", [document])
        print(_line("catalog product document", outcome))
        print(_example(outcome))
        ok &= not outcome.failures
    return ok


def main() -> int:
    files = shipped_definitions()
    print(f"Mercator: {len(files)} shipped connectors")
    results = [demo_connector(file) for file in files]
    print(f"\n{sum(results)} of {len(results)} connectors valid and mapping every sample")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
