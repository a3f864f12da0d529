"""``mercator push``: push the tenant's canonical catalog into one store now.

The environment names the tables and queues as for the CatalogPush function (STATE_TABLE,
RECORDS_TABLE, PUSH_JOBS_QUEUE_URL, PUSH_DLQ_URL); AWS is reached as boto3 is configured, a local
stack included. The plan (create, update, unpublish, unchanged, refuse per product) is printed
first; without ``--dry-run`` the push then runs here, with a progress bar on standard error, under
the store's shared rate budget and the same lease as the scheduled push.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from typing import TYPE_CHECKING, Any, TextIO

from mercator.cli.aws import aws_errors
from mercator.cli.output import FORMATS, write_table

if TYPE_CHECKING:
    from mercator.cli.output import Commands
    from mercator.services.catalog_push import PlannedPush

ACTIONS = ("create", "update", "unpublish", "unchanged", "refuse")
_BAR = 30


def register(commands: Commands) -> None:
    push = commands.add_parser(
        "push",
        help="push the catalog into one store now (environment as for CatalogPush)",
        description=(
            "Prints what pushing the tenant's canonical catalog into the store would do, product by "
            "product, then does it (unless --dry-run). The environment names the tables and queues as "
            "for the CatalogPush function: STATE_TABLE, RECORDS_TABLE, PUSH_JOBS_QUEUE_URL, PUSH_DLQ_URL."
        ),
    )
    push.add_argument("--integration", required=True, metavar="ID", help="the store integration")
    push.add_argument("--dry-run", action="store_true", help="print the plan only; no request to the store")
    push.add_argument("--format", choices=FORMATS, default="text")
    push.set_defaults(handler=_push)


def _push(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # The wiring and the AWS adapters load boto3 and the store client: only this command pays for them.
    from mercator.domain.errors import StateError  # noqa: PLC0415
    from mercator.domain.messages import PushJob  # noqa: PLC0415
    from mercator.domain.provider_errors import ProviderError  # noqa: PLC0415
    from mercator.services.catalog_push import (  # noqa: PLC0415
        PushBusyError,
        PushConfigurationError,
        PushContextError,
    )
    from mercator.settings import PushSettings, SettingsError  # noqa: PLC0415
    from mercator.wiring.factories import catalog_push  # noqa: PLC0415

    prefix = "mercator push"
    refusals: tuple[type[Exception], ...] = (
        PushConfigurationError,
        PushBusyError,
        PushContextError,
        ProviderError,
        StateError,
        *aws_errors(),
    )
    try:
        service = catalog_push(PushSettings.from_environ())
        plan = service.plan(args.integration)
    except SettingsError as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    except refusals as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    _write_plan(out, args.format, plan)
    if args.dry_run:
        return 0
    bar = ProgressBar(err, len(plan))
    try:
        outcome = asyncio.run(
            service.run_push_job(PushJob(integration_id=args.integration), _no_deadline, progress=bar.step)
        )
    except refusals as exc:
        bar.close()
        err.write(f"{prefix}: {exc}\n")
        return 1
    bar.close()
    stats = outcome.stats
    err.write(
        f"pushed: {stats.created} created, {stats.updated} updated, {stats.unpublished} unpublished, "
        f"{stats.unchanged} unchanged, {stats.refused} refused; {stats.requests} request(s), "
        f"{stats.throttled} throttled\n"
    )
    return 1 if stats.refused else 0


def _no_deadline() -> float:
    # Here nothing cuts the run short: it never hands itself on to the queue.
    return float("inf")


def _write_plan(out: TextIO, chosen_format: str, plan: list[PlannedPush]) -> None:
    counts: Counter[str] = Counter(planned.action for planned in plan)
    if chosen_format == "json":
        document: dict[str, Any] = {
            "counts": {action: counts.get(action, 0) for action in ACTIONS},
            "products": [
                {"source": p.source_code, "key": p.key, "action": p.action, "reason": p.reason or None}
                for p in plan
            ],
        }
        out.write(json.dumps(document, indent=2) + "\n")
        return
    rows = [(p.source_code, p.key or "", p.action, p.reason) for p in plan if p.action != "unchanged"]
    if rows:
        write_table(out, ("SOURCE", "KEY", "ACTION", "REASON"), rows)
    out.write(", ".join(f"{counts.get(action, 0)} {action}" for action in ACTIONS) + "\n")


class ProgressBar:
    """``[#####-----]  12/40  update p12`` on one line of standard error, redrawn per product."""

    def __init__(self, err: TextIO, total: int) -> None:
        self.err = err
        self.total = max(total, 1)
        self.done = 0

    def step(self, planned: PlannedPush) -> None:
        self.done += 1
        filled = min(_BAR, _BAR * self.done // self.total)
        bar = "#" * filled + "-" * (_BAR - filled)
        line = f"[{bar}] {self.done:>5}/{self.total}  {planned.action} {planned.source_code}"
        self.err.write(f"\r{line[:100]:<100}")
        self.err.flush()

    def close(self) -> None:
        if self.done:
            self.err.write("\n")
