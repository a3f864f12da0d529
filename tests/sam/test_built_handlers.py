"""The output of `sam build`: each handler imports from its build folder with only the built layer, and
the layer holds the lock's versions in wheels for Lambda, and the mercator package without its samples.

Each import runs in a fresh interpreter started with ``-I -S``: no site-packages, so neither the project's
editable install nor the virtualenv's packages can stand in for a file or a dependency the build left out.
The path order is Lambda's: the function's folder, then the layer's ``python/`` folder, then the standard
library. ``make test`` builds first; pytest alone skips these tests when there is no build.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag
from packaging.utils import canonicalize_name

import cfn_yaml
from tests.sam.support import (
    BUILD_DIR,
    DUMMY_REGION,
    FUNCTION,
    LAYER,
    LAYER_LOCK,
    ROOT,
    dummy_value,
    function_environment,
    function_property,
    lock_pins,
    of_type,
)

pytestmark = pytest.mark.skipif(
    not BUILD_DIR.is_dir(),
    reason=f"no {BUILD_DIR.relative_to(ROOT)}: run `make sam-check` first (`make test` always builds)",
)

SOURCE_TEMPLATE = cfn_yaml.load(ROOT / "template.yaml")
FUNCTION_IDS = sorted(of_type(SOURCE_TEMPLATE, FUNCTION))
LAYER_ID = "SharedLayer"  # the mercator package; ConnectorsLayer holds definitions only, unbuilt
assert LAYER_ID in of_type(SOURCE_TEMPLATE, LAYER)
LAYER_PYTHON = BUILD_DIR / LAYER_ID / "python"

IMPORT_HANDLER = """
import importlib, json, sys
function_dir, layer_dir, handler = sys.argv[1:4]
sys.path[:0] = [function_dir, layer_dir]
module_name, _, attribute = handler.rpartition(".")
module = importlib.import_module(module_name)
import mercator
print(json.dumps({
    "callable": callable(getattr(module, attribute, None)),
    "module": module.__file__,
    "mercator": mercator.__file__,
}))
"""


def _lambda_environment(logical_id: str, function_dir: Path) -> dict[str, str]:
    """What Lambda sets, plus the template's variables with stand-in values; nothing from this shell."""
    memory = function_property(SOURCE_TEMPLATE, logical_id, "MemorySize")
    environment = {
        "AWS_LAMBDA_FUNCTION_NAME": f"mercator-test-{logical_id}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "LAMBDA_TASK_ROOT": str(function_dir),
        "_HANDLER": function_property(SOURCE_TEMPLATE, logical_id, "Handler"),
        "AWS_REGION": DUMMY_REGION,
        "AWS_DEFAULT_REGION": DUMMY_REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        # A call to AWS at import time fails at once on a closed local port instead of leaving the machine.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "TZ": ":UTC",
        "PATH": "/usr/bin:/bin",
    }
    for name, value in function_environment(SOURCE_TEMPLATE, logical_id).items():
        environment[name] = dummy_value(SOURCE_TEMPLATE, value)
    return environment


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_built_handler_imports_with_only_the_built_layer(logical_id: str) -> None:
    # Given the function's build folder and the built layer
    function_dir = BUILD_DIR / logical_id
    handler = function_property(SOURCE_TEMPLATE, logical_id, "Handler")
    module_file = function_dir / f"{handler.rpartition('.')[0].replace('.', '/')}.py"
    code_uri = function_property(SOURCE_TEMPLATE, logical_id, "CodeUri")
    # sam build succeeds even when CodeUri is missing, copying nothing; say so plainly.
    source = f"{code_uri}{module_file.name}"
    assert module_file.is_file(), f"{module_file.relative_to(ROOT)} was not built: is there a {source}?"
    assert (LAYER_PYTHON / "mercator" / "__init__.py").is_file()

    # When a bare interpreter imports the handler as Lambda would
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", IMPORT_HANDLER, str(function_dir), str(LAYER_PYTHON), handler],
        env=_lambda_environment(logical_id, function_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then it imports, exposes a callable handler, and both came from the build
    assert completed.returncode == 0, completed.stderr
    found: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    assert found["callable"] is True, f"{handler} is not a callable in {module_file}"
    assert Path(found["module"]).resolve() == module_file.resolve()
    assert Path(found["mercator"]).resolve().is_relative_to(LAYER_PYTHON.resolve())


def _package_files(root: Path) -> set[str]:
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_built_layer_carries_the_mercator_package_without_the_samples() -> None:
    # The functions load the connector definitions; only the development tools and tests read samples.
    source = _package_files(ROOT / "shared" / "mercator")
    built = _package_files(LAYER_PYTHON / "mercator")
    samples = {name for name in source if name.startswith("connectors/samples/")}
    assert samples
    assert built == source - samples


def test_built_layer_ships_every_shipped_definition_and_no_sample() -> None:
    package = LAYER_PYTHON / "mercator"
    definitions = sorted(path.name for path in (package / "connectors").glob("*.yaml"))
    # The stores' connectors, and the catalog sources: Crystal (an ERP) and a PIM.
    assert definitions == [
        "crystal.yaml",
        "pim.yaml",
        "salla.yaml",
        "shopify.yaml",
        "woocommerce.yaml",
        "zid.yaml",
    ]
    assert not (package / "connectors" / "samples").exists()
    assert [path for path in package.rglob("*") if path.name == "samples"] == []
    # The only JSON is the data CatalogEvents validates with: the PIM's event schemas.
    found = sorted(path.relative_to(package).as_posix() for path in package.rglob("*.json"))
    schemas = sorted(
        f"pim/schemas/{path.name}" for path in (ROOT / "shared/mercator/pim/schemas").glob("*.json")
    )
    assert found == schemas and len(schemas) == 22


def test_built_layer_ships_the_bytecode_of_every_module_for_python311() -> None:
    # Every module of the layer, the mercator package and its dependencies alike, has its bytecode
    # beside it, so a cold start loads instead of compiling.
    modules = sorted(LAYER_PYTHON.rglob("*.py"))
    missing = [
        str(path.relative_to(LAYER_PYTHON))
        for path in modules
        if not (path.parent / "__pycache__" / f"{path.stem}.cpython-311.pyc").is_file()
    ]
    assert modules and missing == []
    # PEP 552: flags 0b01, hash-based and never checked against the source (whose time a zip may not
    # keep), so Lambda never compiles a module again.
    sample = LAYER_PYTHON / "mercator" / "services" / "__pycache__" / "writer.cpython-311.pyc"
    header = sample.read_bytes()[:16]
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == 0b01


def test_built_layer_installs_exactly_the_locked_versions() -> None:
    parser = HeaderParser()
    installed: dict[str, str] = {}
    for metadata in sorted(LAYER_PYTHON.glob("*.dist-info/METADATA")):
        headers = parser.parsestr(metadata.read_text(encoding="utf-8"))
        name = canonicalize_name(headers["Name"])
        assert name not in installed, f"{name} is installed twice"
        installed[name] = headers["Version"]
    assert installed == lock_pins(LAYER_LOCK)


# Lambda's python3.11 is CPython 3.11 on x86_64 Amazon Linux 2, whose glibc 2.26 runs manylinux wheels
# up to manylinux_2_26; this machine may run newer ones, so importing the layer here cannot tell.
_LAMBDA_PLATFORMS = [
    *(f"manylinux_2_{minor}_x86_64" for minor in range(26, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]
_LAMBDA_TAGS = {
    *cpython_tags((3, 11), abis=["cp311"], platforms=_LAMBDA_PLATFORMS),
    *compatible_tags((3, 11), "cp311", platforms=_LAMBDA_PLATFORMS),
}


def test_built_layer_wheels_run_on_lambdas_python() -> None:
    wheels = sorted(LAYER_PYTHON.glob("*.dist-info/WHEEL"))
    assert wheels
    for wheel in wheels:
        tags: set[Tag] = set()
        for line in wheel.read_text().splitlines():
            if line.startswith("Tag:"):
                tags |= parse_tag(line.partition(":")[2].strip())
        assert tags & _LAMBDA_TAGS, f"{wheel.parent.name}: {sorted(map(str, tags))}"


def test_built_template_points_at_the_build_folders() -> None:
    built = cfn_yaml.load(BUILD_DIR / "template.yaml")
    for logical_id in FUNCTION_IDS:
        assert built["Resources"][logical_id]["Properties"]["CodeUri"] == logical_id
    assert built["Resources"][LAYER_ID]["Properties"]["ContentUri"] == LAYER_ID
    # The connectors layer is not built: its folder is zipped as it is, from where it stands.
    connectors = built["Resources"]["ConnectorsLayer"]["Properties"]["ContentUri"]
    assert (BUILD_DIR / connectors).resolve() == ROOT / "connectors-layer"
