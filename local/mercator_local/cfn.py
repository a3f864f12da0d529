"""Reading template.yaml with the project's CloudFormation YAML loader (``local/cfn_yaml.py``).

``cfn_yaml`` is a single module beside this package, not an installed one, so it is loaded from its
file; a copy already imported under that name is reused.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from mercator_local.intrinsics import TemplateError

_LOADER_MODULE = "cfn_yaml"
_LOADER_PATH = Path(__file__).resolve().parent.parent / "cfn_yaml.py"


def read_template(path: Path) -> dict[str, Any]:
    """The template at ``path`` with short tags in their long form; TemplateError if it is not valid."""
    loader = _cfn_yaml()
    try:
        document: dict[str, Any] = loader.load(path)
    except loader.CfnYamlError as exc:
        raise TemplateError(str(exc)) from None
    return document


def _cfn_yaml() -> ModuleType:
    module = sys.modules.get(_LOADER_MODULE)
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location(_LOADER_MODULE, _LOADER_PATH)
    if spec is None or spec.loader is None:
        raise TemplateError(f"the CloudFormation YAML loader is missing: {_LOADER_PATH}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_LOADER_MODULE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[_LOADER_MODULE]
        raise
    return module
