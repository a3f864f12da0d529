"""The Lambda layer's dependencies and the project's: the same ranges, and locks that pin every package
with its hashes, satisfy those ranges and give the layer and the dev environment the same versions."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.sam.support import DEV_LOCK, LAYER_LOCK, ROOT, lock_entries, lock_pins

LAYER_RANGES = ROOT / "shared" / "requirements.in"
DEV_INPUT = ROOT / "requirements-dev.in"


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements(path: Path) -> list[str]:
    """The requirement lines of a requirements input, options such as ``-c`` left out."""
    return [entry.requirement for entry in lock_entries(path) if not entry.requirement.startswith("-")]


def _unmet(ranges: Iterable[str], pins: dict[str, str]) -> list[str]:
    unmet = []
    for text in ranges:
        requirement = Requirement(text)
        version = pins.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{text}: locked at {version or 'nothing'}")
    return unmet


def test_layer_ranges_match_runtime_dependencies() -> None:
    assert sorted(_requirements(LAYER_RANGES)) == sorted(_pyproject()["project"]["dependencies"])


def test_requires_python_311() -> None:
    project = _pyproject()["project"]
    assert project["requires-python"] == ">=3.11,<3.12"


def test_the_distribution_name_is_not_another_projects() -> None:
    # `mercator` on PyPI is an unrelated project; the package still imports as `mercator`.
    project = _pyproject()["project"]
    assert project["name"] == "mercator-sync"
    assert project["scripts"]["mercator"] == "mercator.cli:main"


@pytest.mark.parametrize("lock", [LAYER_LOCK, DEV_LOCK], ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_line_of_the_lock_is_pinned_with_its_hashes(lock: Path) -> None:
    entries = lock_entries(lock)
    assert entries
    names = []
    for entry in entries:
        # An option (-e, -r, --index-url) or a bare name does not parse as a pinned requirement.
        requirement = Requirement(entry.requirement)
        pins = list(requirement.specifier)
        assert requirement.url is None, entry.requirement
        assert len(pins) == 1, entry.requirement
        assert pins[0].operator == "==" and "*" not in pins[0].version, entry.requirement
        assert entry.hashes, f"{entry.requirement}: no --hash"
        for digest in entry.hashes:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{entry.requirement}: {digest}"
        names.append(canonicalize_name(requirement.name))
    assert len(names) == len(set(names)), "a package is pinned twice"


def test_the_layer_lock_satisfies_the_layer_ranges() -> None:
    assert _unmet(_requirements(LAYER_RANGES), lock_pins(LAYER_LOCK)) == []


def test_the_dev_lock_satisfies_the_projects_ranges_and_its_build_backend() -> None:
    pyproject = _pyproject()
    ranges = [
        *pyproject["project"]["dependencies"],
        *pyproject["project"]["optional-dependencies"]["dev"],
        *pyproject["build-system"]["requires"],
    ]
    assert _unmet(ranges, lock_pins(DEV_LOCK)) == []
    # The editable install builds with --no-build-isolation, from what requirements-dev.in added.
    assert sorted(_requirements(DEV_INPUT)) == sorted(pyproject["build-system"]["requires"])


def test_the_dev_environment_runs_the_layers_versions() -> None:
    layer = {canonicalize_name(Requirement(e.requirement).name): e for e in lock_entries(LAYER_LOCK)}
    dev = {canonicalize_name(Requirement(e.requirement).name): e for e in lock_entries(DEV_LOCK)}
    assert set(layer) <= set(dev)
    for name, entry in layer.items():
        assert dev[name].requirement == entry.requirement, name
        assert sorted(dev[name].hashes) == sorted(entry.hashes), name


def test_the_tools_outside_the_locks_are_pinned_exactly() -> None:
    makefile = (ROOT / "Makefile").read_text()
    sam_tools = re.search(r"^SAM_TOOLS\s*:=(.*)$", makefile, re.MULTILINE)
    assert sam_tools is not None
    tools = [Requirement(word.strip("'\"")) for word in sam_tools[1].split()]
    assert sorted(canonicalize_name(tool.name) for tool in tools) == ["aws-sam-cli", "cfn-lint"]
    for tool in tools:
        (pin,) = tool.specifier
        assert pin.operator == "==", str(tool)
    uv_version = re.search(r"^UV_VERSION\s*:=\s*(\S+)\s*$", makefile, re.MULTILINE)
    assert uv_version is not None
    assert str(Version(uv_version[1])) == uv_version[1]
