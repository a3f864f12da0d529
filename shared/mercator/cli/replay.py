"""``mercator replay``: run archived webhook deliveries through intake again.

The environment names the tables, bucket and queues as for the WebhookIntake function. Each
delivery's outcome is printed on standard output, the count replayed on standard error; exit status
1 when the settings are missing, AWS refuses, or any delivery failed.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from mercator.cli.aws import aws_errors
from mercator.cli.output import FORMATS

if TYPE_CHECKING:
    from mercator.cli.output import Commands


def register(commands: Commands) -> None:
    replay = commands.add_parser(
        "replay",
        help="run archived webhook deliveries through intake again (environment as for WebhookIntake)",
        description=(
            "Replays deliveries kept in the archive bucket: each is mapped and written again, newer-only, "
            "and announced when it changes a record. The environment names the tables, bucket and queues "
            "as for the WebhookIntake function: STATE_TABLE, RECORDS_TABLE, ARCHIVE_BUCKET, "
            "ENRICH_QUEUE_URL, ENRICH_DLQ_URL, TRIGGER_QUEUE_URL."
        ),
    )
    chosen = replay.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--key", action="append", metavar="KEY", help="an archive object key (repeatable)")
    chosen.add_argument("--integration", metavar="ID", help="every archived delivery of this integration")
    replay.add_argument("--format", choices=FORMATS, default="text")
    replay.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # The wiring and the AWS adapters load boto3 and every service: only this command pays for them.
    from mercator.services.intake import IntakeError  # noqa: PLC0415
    from mercator.settings import SettingsError, WebhookSettings  # noqa: PLC0415
    from mercator.state.archive import S3DeliveryArchive  # noqa: PLC0415
    from mercator.wiring.factories import webhook_intake  # noqa: PLC0415

    prefix = "mercator replay"
    try:
        settings = WebhookSettings.from_environ()
    except SettingsError as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - only the AWS commands import it

    refusals: tuple[type[Exception], ...] = (IntakeError, *aws_errors())
    try:
        intake = webhook_intake(settings)
        archive = S3DeliveryArchive(boto3.client("s3"), settings.archive_bucket)
        keys = args.key or list(archive.keys(args.integration))
    except refusals as exc:
        err.write(f"{prefix}: {exc}\n")
        return 1
    failed = 0
    results: list[dict[str, Any]] = []
    for key in keys:
        try:
            result = intake.replay(archive.get(key))
        except refusals as exc:
            failed += 1
            results.append({"key": key, "error": str(exc)})
            continue
        results.append(
            {"key": key, "outcome": result.outcome.value, "event": result.event, "code": result.code}
        )
    if args.format == "json":
        out.write(json.dumps(results, indent=2) + "\n")
    else:
        for row in results:
            done = row.get("error") or " ".join(str(row[name]) for name in ("outcome", "event", "code"))
            out.write(f"{row['key']}  {done}\n")
    err.write(f"replayed {len(keys) - failed} of {len(keys)} deliveries\n")
    return 1 if failed else 0
