"""The shape of the mercator package: its layers, its import cycles, and what its services load.

Given the import contracts in pyproject.toml ([tool.importlinter]), when the package's import graph
is built, then every contract holds: no layer imports a higher one, state and providers never import
each other, no package's modules import each other in a cycle, and the domain, mapping, definitions,
signatures, API shapes and services import neither boto3 nor httpx, even indirectly. Each service
module is also imported alone in a fresh interpreter, which must not have loaded httpx or botocore.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import mercator.services

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "shared" / "mercator"
# A module this long holds more than one concern; split it by what it does.
MAX_MODULE_LINES = 772
IO_LIBRARIES = ("boto3", "botocore", "httpx", "httpcore")

SERVICE_MODULES = sorted(
    info.name for info in pkgutil.iter_modules(mercator.services.__path__, prefix="mercator.services.")
)


def test_the_import_contracts_hold() -> None:
    # In its own process: the linter configures logging, which would change what later tests capture.
    lint_imports = Path(sys.executable).with_name("lint-imports")

    linted = subprocess.run(
        [str(lint_imports), "--config", "pyproject.toml", "--no-cache"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )

    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_there_are_service_modules_to_check() -> None:
    assert "mercator.services.intake" in SERVICE_MODULES
    assert "mercator.services.sync_runs" in SERVICE_MODULES


@pytest.mark.parametrize("module", SERVICE_MODULES)
def test_a_service_module_loads_no_aws_or_http_library(module: str) -> None:
    probe = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps(sorted(name for name in {IO_LIBRARIES!r} if name in sys.modules)))\n"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout

    assert json.loads(loaded) == [], f"{module} loads {loaded.strip()}"


@pytest.mark.parametrize("module", ["mercator.wiring.adapters", "mercator.wiring.factories"])
def test_the_composition_root_loads_no_http_client_until_a_function_calls_stores(module: str) -> None:
    # WebhookIntake and the authorizer call no store: their cold start must not pay for httpx.
    probe = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(sorted(name for name in ('httpx', 'httpcore') if name in sys.modules))\n"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout

    assert loaded.strip() == "[]"


def test_the_probe_sees_a_module_that_loads_httpx() -> None:
    # The same probe on an adapter that does load httpx: the check above can fail.
    probe = (
        "import importlib, sys\n"
        "importlib.import_module('mercator.providers.client')\n"
        "print('httpx' in sys.modules)\n"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout

    assert loaded.strip() == "True"


def test_no_module_in_the_layer_passes_the_size_mark() -> None:
    sizes = {
        str(path.relative_to(LAYER)): len(path.read_text(encoding="utf-8").splitlines())
        for path in LAYER.rglob("*.py")
    }

    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}

    assert too_long == {}


def test_module_names_are_unique_across_the_layer() -> None:
    names: dict[str, list[str]] = {}
    for path in LAYER.rglob("*.py"):
        if path.name != "__init__.py":
            names.setdefault(path.stem, []).append(str(path.relative_to(LAYER)))

    shared = {name: paths for name, paths in names.items() if len(paths) > 1}

    assert shared == {}
