"""What the commands that call the Integrations API share: the options naming the API and the key,
and running a call with a client of it.

The API's URL (the stage's) comes from ``--api-url`` or ``MERCATOR_API_URL``, the tenant's key from
``--api-key`` or ``MERCATOR_API_KEY``; the key names the tenant and is never printed. A refusal
prints the envelope's ``code: message`` and exits 1; a URL or key that is missing or unusable, or an
API that does not answer, exits 2. httpx is imported only when such a command runs.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from mercator.cli.api_client import IntegrationsApiClient

API_URL_VARIABLE = "MERCATOR_API_URL"
API_KEY_VARIABLE = "MERCATOR_API_KEY"

ApiWork = Callable[["IntegrationsApiClient"], int]


def api_options() -> argparse.ArgumentParser:
    """A parent parser for every API command's ``--api-url`` and ``--api-key``."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--api-url", metavar="URL", help=f"the Integrations API's stage URL (default: ${API_URL_VARIABLE})"
    )
    options.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"the tenant's API key, mk_...; better in ${API_KEY_VARIABLE}, out of the process list",
    )
    return options


def through_api(args: argparse.Namespace, err: TextIO, call: ApiWork) -> int:
    """Run ``call`` with a client of the API the options name; refusals and failures said on ``err``."""
    from mercator.cli.api_client import (  # noqa: PLC0415 - httpx only for the commands that need it
        ApiError,
        ApiSetupError,
        ApiUnreachableError,
        IntegrationsApiClient,
    )

    prefix = f"mercator {args.command} {args.action}"
    url = args.api_url or os.environ.get(API_URL_VARIABLE) or ""
    key = args.api_key or os.environ.get(API_KEY_VARIABLE) or ""
    if not url.strip():
        err.write(f"{prefix}: give the Integrations API's URL with --api-url or ${API_URL_VARIABLE}\n")
        return 2
    if not key.strip():
        err.write(f"{prefix}: give the tenant's API key with ${API_KEY_VARIABLE} or --api-key\n")
        return 2
    try:
        with IntegrationsApiClient(url, key, transport=getattr(args, "api_transport", None)) as client:
            return call(client)
    except ApiError as exc:
        err.write(f"{prefix}: {exc.code}: {exc.message}\n")
        return 1
    except (ApiSetupError, ApiUnreachableError) as exc:
        err.write(f"{prefix}: {exc}\n")
        return 2
