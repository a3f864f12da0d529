"""``mercator sandbox``: arguments reach the sandbox's own parser, which builds the described store."""

from __future__ import annotations

import io
import socket
import sys
from collections.abc import Sequence

import httpx
import pytest

from mercator.cli import main
from mercator_sandbox import RateLimitConfig, Sandbox, serve

EXAMPLE = [
    "--flavor", "salla", "--port", "8900", "--seed", "7",
    "--orders", "20000", "--products", "2000", "--customers", "2000", "--carts", "500",
    "--rate-limit", "20", "--burst", "20", "--latency-ms", "100", "--jitter-ms", "50",
    "--webhook-url", "http://127.0.0.1:9000/webhooks/salla", "--webhook-secret", "S",
]  # fmt: skip


def test_the_subcommand_forwards_every_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[Sequence[str]] = []

    def fake_run(argv: Sequence[str]) -> int:
        received.append(list(argv))
        return 0

    monkeypatch.setattr(serve, "run", fake_run)
    assert main(["sandbox", *EXAMPLE]) == 0
    assert main(["sandbox", "--help"]) == 0
    assert received == [EXAMPLE, ["--help"]]


def test_without_the_dev_install_it_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "mercator_sandbox.serve", None)  # makes the import fail
    assert main(["sandbox", "--flavor", "salla"]) == 2
    assert capsys.readouterr().err == (
        "the sandbox store is a development tool: install Mercator with pip install -e '.[dev]'\n"
    )


def test_the_documented_example_builds_that_store() -> None:
    config = serve.config_from(serve.parser().parse_args(EXAMPLE))
    assert config.flavor == "salla"
    assert config.seed == 7
    assert config.sizes.model_dump() == {
        "orders": 20_000,
        "products": 2_000,
        "customers": 2_000,
        "carts": 500,
    }
    assert config.rate_limit == RateLimitConfig(rate=20, burst=20)
    assert (config.faults.latency_ms, config.faults.jitter_ms) == (100, 50)
    assert config.webhooks is not None
    assert (config.webhooks.url, config.webhooks.secret) == ("http://127.0.0.1:9000/webhooks/salla", "S")
    assert config.webhooks.source == "http://127.0.0.1:8900"


def test_defaults_and_the_faults_json() -> None:
    args = serve.parser().parse_args(
        ["--flavor", "woocommerce", "--faults", '{"error_rate": 0.1, "hang_rate": 0.01}']
    )
    config = serve.config_from(args)
    assert config.rate_limit == "platform"
    assert config.webhooks is None
    assert (config.faults.error_rate, config.faults.hang_rate) == (0.1, 0.01)
    assert serve.config_from(serve.parser().parse_args(["--no-rate-limit"])).rate_limit is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate-limit", "5"], "--rate-limit and --burst go together"),
        (["--webhook-url", "http://x/hooks"], "--webhook-url and --webhook-secret go together"),
        (["--orders", "-1"], "sizes.orders"),
        (["--latency-ms", "10", "--jitter-ms", "50"], "jitter_ms must not exceed latency_ms"),
    ],
)
def test_bad_options_exit_2_before_serving(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve.uvicorn, "run", lambda *a, **k: pytest.fail("must not serve"))
    assert serve.run(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_faults_json_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        serve.parser().parse_args(["--faults", "[1, 2]"])
    assert exit_info.value.code == 2
    assert "must be a JSON object of fault knobs" in capsys.readouterr().err


def test_run_prints_the_base_url_and_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: list[tuple[str, int]] = []
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, host, port, **_: served.append((host, port)))
    argv = ["--flavor", "shopify", "--port", "8901", "--orders", "10", "--products", "5", "--customers", "5"]
    assert serve.run([*argv, "--carts", "5"]) == 0
    out = capsys.readouterr().out
    assert served == [("127.0.0.1", 8901)]
    assert "base URL:    http://127.0.0.1:8901/admin/api/2025-01\n" in out
    assert "X-Shopify-Access-Token" in out
    assert "rate limit:  2 req/s, burst 40" in out


def test_describe_names_every_resource() -> None:
    sandbox = Sandbox("woocommerce", sizes={"orders": 3, "products": 2, "customers": 1, "carts": 0})
    out = io.StringIO()
    serve.describe(sandbox, "http://localhost:9", out)
    assert out.getvalue().startswith(
        "Mercator sandbox store (woocommerce), seed 0: 3 orders, 2 products, 1 customers\n"
    )
    assert "base URL:    http://localhost:9/wp-json/wc/v3\n" in out.getvalue()
    assert "rate limit:  none\n" in out.getvalue()


def test_serving_in_the_background_answers_over_http_and_stops_with_the_block() -> None:
    sandbox = Sandbox("salla", seed=3, sizes={"orders": 3, "products": 2, "customers": 2, "carts": 1})
    with serve.serving(sandbox) as origin:
        response = httpx.get(f"{sandbox.base_url(origin)}/orders", headers=sandbox.credentials)
        port = int(origin.rsplit(":", 1)[1])

    assert response.status_code == 200
    assert response.json()["pagination"]["total"] == 3
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
