"""Handlers imported and run in this process the way Lambda runs them: cold start once, then warm.

Each function's handler module is imported fresh from its file (``CodeUri`` + ``Handler``) with the
function's environment set, because settings are read at import; the module is then kept, like a warm
Lambda instance. Every invocation runs with the same environment applied and its code folder, then its
layers' folders, first on ``sys.path`` (Lambda's task root and /opt/python), all restored afterwards.

On AWS each function has a process of its own, so the layer's modules (``mercator``) are imported once
per function, each time under that function's environment. Here they would be shared by every
function in the process, and whatever a layer module reads at import (the Powertools service name)
would be the first function's. So each function keeps its own copies of its layers' packages: they
are put in ``sys.modules`` while it runs and taken out afterwards, leaving the caller's own imports of
those packages untouched. Objects of a layer's classes therefore differ between a function and the
caller: compare what handlers return by value, not by class.

A handler that runs past its Timeout is not stopped, as Lambda would stop it; its context's remaining
time just stays at zero.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from mercator_local.functions import FunctionSpec
from mercator_local.lambda_context import LocalLambdaContext

Handler = Callable[[Any, LocalLambdaContext], Any]

_module_numbers = itertools.count(1)


# Reentrant: nothing nests invocations today, and a deadlock would be the wrong way to find out.
_INVOCATIONS = threading.RLock()


class HandlerNotFoundError(LookupError):
    """The template names a handler whose file or function does not exist."""


@contextmanager
def applied_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the block, then put back exactly what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous


class WarmFunction:
    """One function's handler: imported on the first invocation, reused by the next ones."""

    def __init__(self, spec: FunctionSpec, environment: Mapping[str, str], clock: Callable[[], float]):
        self.spec = spec
        self.environment = dict(environment)
        self.invocations = 0
        self._clock = clock
        self._layer_modules = ModuleSpace(spec.layer_packages)
        self._paths = [str(spec.code_dir), *(str(folder) for folder in spec.layer_dirs)]
        self._module: ModuleType | None = None
        self._handler: Handler | None = None

    @property
    def started(self) -> bool:
        """Whether the handler module has been imported (the cold start happened)."""
        return self._module is not None

    def invoke(self, event: Any) -> Any:
        """Call the handler with ``event`` and a fresh context; its result or its exception, unchanged.

        One invocation at a time in the whole process, whichever thread asks (the API's server thread,
        the runner): each swaps the process's environment, path and modules for its function's.
        """
        with (
            _INVOCATIONS,
            applied_environment(self.environment),
            _on_path(self._paths),
            self._layer_modules.active(),
        ):
            handler = self._handler or self._cold_start()
            context = LocalLambdaContext.start(
                function_name=self.spec.name,
                arn=self.spec.arn,
                memory_mb=self.spec.memory_mb,
                timeout_seconds=self.spec.timeout_seconds,
                clock=self._clock,
            )
            self.invocations += 1
            return handler(event, context)

    def close(self) -> None:
        """Forget the imported module, so a later stack cold-starts it again."""
        if self._module is not None:
            sys.modules.pop(self._module.__name__, None)
        self._module = None
        self._handler = None
        self._layer_modules.clear()

    def _cold_start(self) -> Handler:
        path = self.spec.module_path
        if not path.is_file():
            raise HandlerNotFoundError(
                f"{self.spec.logical_id}: {path} does not exist (CodeUri {self.spec.code_dir}, "
                f"Handler {self.spec.handler})"
            )
        name = f"_mercator_local_{self.spec.logical_id}_{next(_module_numbers)}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise HandlerNotFoundError(f"{self.spec.logical_id}: {path} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs, as an import would be: dataclasses and pydantic look their module up.
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        handler: Handler | None = getattr(module, self.spec.handler_name, None)
        if not callable(handler):
            sys.modules.pop(name, None)
            raise HandlerNotFoundError(
                f"{self.spec.logical_id}: {path} has no function {self.spec.handler_name}"
            )
        self._module, self._handler = module, handler
        return handler


class ModuleSpace:
    """One function's own imports of some packages, swapped into ``sys.modules`` while it runs."""

    def __init__(self, packages: Sequence[str]) -> None:
        self._packages = tuple(packages)
        self._modules: dict[str, ModuleType] = {}

    @contextmanager
    def active(self) -> Iterator[None]:
        """The function's modules in ``sys.modules`` for the block; the caller's put back after it."""
        if not self._packages:
            yield
            return
        outside = self._take()
        sys.modules.update(self._modules)
        try:
            yield
        finally:
            self._modules = self._take()
            sys.modules.update(outside)

    def clear(self) -> None:
        self._modules = {}

    def _take(self) -> dict[str, ModuleType]:
        taken = {
            name: module
            for name, module in list(sys.modules.items())
            if any(name == package or name.startswith(f"{package}.") for package in self._packages)
        }
        for name in taken:
            del sys.modules[name]
        return taken


@contextmanager
def _on_path(directories: Sequence[str]) -> Iterator[None]:
    sys.path[0:0] = directories
    try:
        yield
    finally:
        # The handler may have put entries of its own in front; remove ours, wherever they are now.
        for directory in directories:
            if directory in sys.path:
                sys.path.remove(directory)
