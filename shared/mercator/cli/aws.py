"""What the commands that reach AWS share.

AWS is reached through boto3's usual configuration (credentials, region, ``AWS_ENDPOINT_URL`` for a
local stack); tables, buckets and queues are named by the environment variables the functions read.
boto3 and botocore are imported only when such a command runs, so the others start without them.
"""

from __future__ import annotations

import os

from mercator.domain.errors import StateError


def state_table_name() -> str | None:
    # The functions read STATE_TABLE through mercator.settings; the command reads the same variable.
    return os.environ.get("STATE_TABLE") or None


def aws_errors() -> tuple[type[Exception], ...]:
    """What a failed AWS call raises: the adapters' domain errors, and botocore's own (no region, no
    credentials, no connection), which are not client errors the adapters map."""
    from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped]  # noqa: PLC0415

    return StateError, BotoCoreError
