"""``mercator sandbox``: serve a sandbox store over HTTP with uvicorn.

Prints the base URL to put in a connector and the credentials the store accepts, then serves until
interrupted. ``--faults`` takes the whole fault model as JSON for knobs without a flag of their own.

A sandbox store stamps its own ``Date`` header in the store's time, so uvicorn is always told not to
add its own (``date_header=False``): every answer carries exactly one ``Date``.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import uvicorn
from pydantic import ValidationError
from starlette.types import ASGIApp

from mercator_sandbox.app import Sandbox, SandboxConfig, Sizes
from mercator_sandbox.flavors import FLAVORS
from mercator_sandbox.ratelimit import RateLimitConfig
from mercator_sandbox.webhooks import WebhookConfig


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mercator sandbox",
        description="Serve a generated store (Salla, Shopify or WooCommerce) for offline connector work.",
    )
    parser.add_argument("--flavor", choices=sorted(FLAVORS), default="salla")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--seed", type=int, default=0, help="same seed and sizes, same records")
    defaults = Sizes()
    for resource in ("orders", "products", "customers", "carts"):
        parser.add_argument(f"--{resource}", type=int, default=getattr(defaults, resource), metavar="N")
    parser.add_argument("--per-page-max", type=int, dest="max_per_page", metavar="N", help="page size cap")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--rate-limit", type=float, metavar="REQ/S", help="the store's budget (needs --burst)"
    )
    budget.add_argument("--no-rate-limit", action="store_true", help="no budget at all")
    parser.add_argument("--burst", type=int, metavar="N", help="requests the budget allows at once")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0, help="probability of a 5xx")
    parser.add_argument("--faults", type=_json_object, metavar="JSON", help="the full fault model as JSON")
    parser.add_argument("--webhook-url", metavar="URL", help="post signed webhooks of every change here")
    parser.add_argument("--webhook-secret", metavar="S", help="the key webhooks are signed with")
    return parser


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object of fault knobs")
    return value


class UsageError(ValueError):
    """Options that do not make a valid sandbox."""


def config_from(args: argparse.Namespace) -> SandboxConfig:
    """The sandbox an argument list describes; UsageError explains what is wrong."""
    if (args.rate_limit is None) != (args.burst is None):
        raise UsageError("--rate-limit and --burst go together")
    if bool(args.webhook_url) != bool(args.webhook_secret):
        raise UsageError("--webhook-url and --webhook-secret go together")
    rate_limit: RateLimitConfig | str | None = "platform"
    faults: dict[str, Any] = dict(args.faults or {})
    faults.setdefault("latency_ms", args.latency_ms)
    faults.setdefault("jitter_ms", args.jitter_ms)
    faults.setdefault("error_rate", args.error_rate)
    try:
        if args.no_rate_limit:
            rate_limit = None
        elif args.rate_limit is not None:
            rate_limit = RateLimitConfig(rate=args.rate_limit, burst=args.burst)
        return SandboxConfig.model_validate(
            {
                "flavor": args.flavor,
                "seed": args.seed,
                "sizes": {name: getattr(args, name) for name in ("orders", "products", "customers", "carts")},
                "max_per_page": args.max_per_page,
                "rate_limit": rate_limit,
                "faults": faults,
                "webhooks": (
                    WebhookConfig(
                        url=args.webhook_url,
                        secret=args.webhook_secret,
                        source=f"http://{args.host}:{args.port}",
                    )
                    if args.webhook_url
                    else None
                ),
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())
        raise UsageError(problems) from None


def describe(sandbox: Sandbox, origin: str, out: TextIO) -> None:
    flavor = sandbox.flavor
    sizes = ", ".join(f"{sandbox.store.count(resource)} {resource}" for resource in sandbox.store.resources)
    out.write(f"Mercator sandbox store ({flavor.name}), seed {sandbox.config.seed}: {sizes}\n")
    out.write(f"  base URL:    {sandbox.base_url(origin)}\n")
    out.write(f"  credentials: {flavor.credentials_hint}\n")
    example = "; ".join(f"{name}: {value}" for name, value in flavor.sample_headers.items())
    out.write(f"               e.g. {example}\n")
    budget = sandbox.bucket.config if sandbox.bucket else None
    out.write(f"  rate limit:  {f'{budget.rate:g} req/s, burst {budget.burst}' if budget else 'none'}\n")
    if sandbox.emitter is not None:
        out.write(f"  webhooks:    {sandbox.emitter.config.url}\n")


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, print where the store is, and serve it until interrupted."""
    args = parser().parse_args(argv)
    try:
        config = config_from(args)
    except UsageError as exc:
        sys.stderr.write(f"mercator sandbox: {exc}\n")
        return 2
    sandbox = Sandbox.from_config(config)
    describe(sandbox, f"http://{args.host}:{args.port}", sys.stdout)
    sys.stdout.flush()
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="warning", date_header=False)
    return 0


@contextmanager
def serving(sandbox: Sandbox, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``sandbox`` with uvicorn on a free port of ``host`` in a background thread; yields the origin.

    For clients that need real HTTP (other threads, handlers with their own httpx client, peer tools);
    the server and its thread are gone when the block ends.
    """
    with serving_app(sandbox.app, host, date_header=False) as origin:
        yield origin


@contextmanager
def serving_app(
    app: ASGIApp,
    host: str = "127.0.0.1",
    *,
    lifespan: Literal["auto", "on", "off"] = "auto",
    date_header: bool = True,
) -> Iterator[str]:
    """Serve any ASGI ``app`` the same way (the demo's workflow receiver, for one).

    ``date_header=False`` leaves the ``Date`` header to the app (a sandbox store stamps its own).
    """
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP, and
    # with Nagle on, an answer's body waits ~40 ms behind its headers for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan=lifespan, log_level="warning", access_log=False, date_header=date_header
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError("the server stopped while starting")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
