"""``mercator api-keys``: create, list and revoke tenants' keys of the Integrations API.

The keys live in the state table (``STATE_TABLE``), reached directly, not through the API. The table
keeps hashes, so a key is printed once, when created, on standard output; nothing prints it again.
A missing table name, AWS refusing, or an unknown key exits with status 1.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO, TypeVar

from mercator.cli.aws import aws_errors, state_table_name
from mercator.cli.output import FORMATS, write_table

if TYPE_CHECKING:
    from mercator.cli.output import Commands
    from mercator.state.api_keys import DynamoApiKeys

_Answer = TypeVar("_Answer")


def register(commands: Commands) -> None:
    api_keys = commands.add_parser(
        "api-keys", help="create, list and revoke tenants' API keys (the state table is $STATE_TABLE)"
    )
    actions = api_keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="make a tenant's key and print it; it cannot be shown again, only revoked"
    )
    create.add_argument("--tenant", required=True, metavar="TENANT")
    create.set_defaults(handler=_create)
    listing = actions.add_parser("list", help="print a tenant's key ids and their dates (never the keys)")
    listing.add_argument("--tenant", required=True, metavar="TENANT")
    listing.add_argument("--format", choices=FORMATS, default="text")
    listing.set_defaults(handler=_list)
    revoke = actions.add_parser("revoke", help="refuse a key from now on (API Gateway may cache it 5 min)")
    revoke.add_argument("key_id", metavar="KEYID", help="the 16 hex characters after mk_")
    revoke.set_defaults(handler=_revoke)


def _create(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # A tenant id the store will not take raises ValueError.
    issued = _ask(args, err, lambda keys: keys.create(args.tenant), invalid=(ValueError,))
    if issued is None:
        return 1
    err.write(
        f"created API key {issued.key_id} for tenant {issued.tenant_id}. Keep it now: Mercator stores "
        "only its hash and cannot show it again.\n"
    )
    out.write(issued.key + "\n")
    return 0


def _list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    found = _ask(args, err, lambda keys: keys.for_tenant(args.tenant))
    if found is None:
        return 1
    if args.format == "json":
        rows = [
            {
                "keyId": key.key_id,
                "tenantId": key.tenant_id,
                "createdAt": key.created_at.isoformat(),
                "revoked": key.revoked,
                "revokedAt": None if key.revoked_at is None else key.revoked_at.isoformat(),
            }
            for key in found
        ]
        out.write(json.dumps(rows, indent=2) + "\n")
        return 0
    table = [
        (
            key.key_id,
            "revoked" if key.revoked else "active",
            key.created_at.isoformat(timespec="seconds"),
            "" if key.revoked_at is None else key.revoked_at.isoformat(timespec="seconds"),
        )
        for key in found
    ]
    write_table(out, ("KEY ID", "STATUS", "CREATED", "REVOKED"), table)
    return 0


def _revoke(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # A malformed key id raises ValueError; an unknown one, a StateError.
    revoked = _ask(args, err, lambda keys: keys.revoke(args.key_id), invalid=(ValueError,))
    if revoked is None:
        return 1
    at = revoked.revoked_at.isoformat(timespec="seconds") if revoked.revoked_at else "now"
    err.write(f"revoked API key {revoked.key_id} of tenant {revoked.tenant_id} (since {at})\n")
    return 0


def _ask(
    args: argparse.Namespace,
    err: TextIO,
    question: Callable[[DynamoApiKeys], _Answer],
    *,
    invalid: tuple[type[Exception], ...] = (),
) -> _Answer | None:
    """The key store's answer, or None after saying on ``err`` why there is none."""
    prefix = f"mercator api-keys {args.action}"
    keys = _api_keys(err, prefix)
    if keys is None:
        return None
    refusals = (*invalid, *aws_errors())
    try:
        return question(keys)
    except refusals as exc:
        err.write(f"{prefix}: {exc}\n")
        return None


def _api_keys(err: TextIO, prefix: str) -> DynamoApiKeys | None:
    """The API key store on the state table, or None after saying what is missing."""
    table = state_table_name()
    if table is None:
        err.write(f"{prefix}: set STATE_TABLE to the name of Mercator's state table\n")
        return None
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - only these commands talk to AWS

    from mercator.state.api_keys import DynamoApiKeys  # noqa: PLC0415

    try:
        return DynamoApiKeys(boto3.client("dynamodb"), table)
    except aws_errors() as exc:
        err.write(f"{prefix}: cannot reach AWS: {exc}\n")
        return None
