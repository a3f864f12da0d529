"""Lambda containers: warm instances of the template's functions, each in a process of its own.

The runner invokes one handler at a time in this process: an invocation swaps the process's
environment, path and layer modules for its function's (see :mod:`mercator_local.handlers`), so two
invocations can never overlap there. Lambda runs concurrent invocations in separate execution
environments, so on AWS two deliveries of one SQS message, or a sync and a webhook touching the same
record, really do run at the same moment. A :class:`Container` is one such environment: a process
(forked from multiprocessing's fork server, so it inherits none of this process's threads or locks)
that imports the function's handler on its first invocation, like a cold start, keeps it warm, and
runs the invocations it is sent one at a time, against the same local server and sandbox stores as
the runner. Several containers, of one function or of several, run at the same time.

    with containers(stack, "ScheduledSyncFunction", "ScheduledSyncFunction") as (first, second):
        one, other = invoke_together([(first, event), (second, event)])
        one.result, one.error, one.overlaps(other)

The handler's context counts its deadline down in real time from the function's Timeout. Each
invocation's start and end are read from the machine's monotonic clock, which every process on the
machine shares, so a caller can tell whether invocations overlapped. The runner and the stack are
left as they are: containers are an addition for tests of what concurrent invocations do.
Development only: not part of the Lambda layer.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from mercator_local.functions import FunctionSpec
from mercator_local.handlers import WarmFunction

if TYPE_CHECKING:
    from mercator_local.stack import LocalStack

# How long a container may take to stop once asked, before it is terminated.
_STOP_SECONDS = 10.0
# Imported once by the fork server, so each container starts with them loaded: this module (and with it
# the local stack's own imports) and the handlers' heaviest third-party packages. The layer's packages
# (mercator) are imported afresh by each container's first invocation, as a cold start does.
_PRELOAD = ["mercator_local.containers", "boto3", "botocore.session", "aws_lambda_powertools", "pydantic"]


def _context() -> multiprocessing.context.ForkServerContext:
    """Processes forked from a server process that imported ``_PRELOAD``: nothing of this process's
    threads or locks is inherited (as with ``spawn``), and a container starts in a fraction of the time."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


@dataclass(frozen=True)
class Invocation:
    """One invocation in a container: the handler's result, or its exception (type, message and
    traceback) when it raised; when it started and ended on the machine's monotonic clock."""

    function: str
    result: Any
    error: str | None
    started: float
    ended: float

    def overlaps(self, other: Invocation) -> bool:
        """Whether the two invocations ran, for a while at least, at the same time."""
        return self.started < other.ended and other.started < self.ended


class ContainerError(RuntimeError):
    """A container stopped, or could not be reached, before it answered."""


class Container:
    """One function's execution environment: a process running its handler, warm between invocations."""

    def __init__(self, spec: FunctionSpec, environment: Mapping[str, str]) -> None:
        # The child needs only what invokes the handler; API routes stay with the API emulation.
        self.spec = replace(spec, api_routes=())
        context = _context()
        self._connection, child = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(self.spec, dict(environment), child),
            name=f"mercator-container-{spec.logical_id}",
            daemon=True,
        )
        self._lock = threading.Lock()
        self._process.start()
        child.close()

    @classmethod
    def of(cls, stack: LocalStack, function: str, overrides: Mapping[str, str] | None = None) -> Container:
        """A container of ``function`` (logical id) with the environment the stack gives it, and
        ``overrides`` over it (a setting one test needs otherwise, as a function's configuration would)."""
        return cls(stack.functions[function], {**stack.environment(function), **(overrides or {})})

    @property
    def function(self) -> str:
        return self.spec.logical_id

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def invoke(self, event: Any) -> Invocation:
        """Run the handler with ``event`` in this container and wait for it; one at a time per container,
        as Lambda runs one invocation at a time in an execution environment."""
        with self._lock:
            try:
                self._connection.send(event)
                answer = self._connection.recv()
            except (EOFError, OSError) as e:
                raise ContainerError(
                    f"the {self.function} container (pid {self.pid}) stopped before it answered"
                ) from e
        if not isinstance(answer, Invocation):
            raise ContainerError(f"the {self.function} container answered {answer!r}")
        return answer

    def close(self) -> None:
        """Stop the process: asked first, terminated if it does not stop in time."""
        with self._lock:
            if self._process.is_alive():
                with suppress(OSError):
                    self._connection.send(None)
            self._process.join(_STOP_SECONDS)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(_STOP_SECONDS)
            self._connection.close()

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@contextmanager
def containers(stack: LocalStack, *functions: str) -> Iterator[list[Container]]:
    """One container per name in ``functions`` (a name twice: two containers of that function), started
    one after the other without waiting for any to be ready; all stopped when the block ends."""
    with ExitStack() as stop:
        started: list[Container] = []
        for function in functions:
            container = Container.of(stack, function)
            stop.callback(container.close)
            started.append(container)
        yield started


def invoke_together(
    calls: Sequence[tuple[Container, Any]], *, delays: Sequence[float] | None = None
) -> list[Invocation]:
    """Invoke each container with its event at the same moment; the invocations, in the order given.

    One thread per call waits at a barrier until every thread is ready, so the events leave for their
    containers within a few microseconds of each other. ``delays`` (seconds, one per call) hold some
    calls back after the barrier, to vary which invocation reaches which step first while they still
    run side by side. A container given twice runs its events one after the other, as Lambda's one
    environment would.
    """
    if not calls:
        return []
    waits = list(delays) if delays is not None else [0.0] * len(calls)
    if len(waits) != len(calls) or any(wait < 0 for wait in waits):
        raise ValueError(f"one delay of 0 s or more per call, got {waits} for {len(calls)} call(s)")
    barrier = threading.Barrier(len(calls))
    answers: list[Invocation | BaseException | None] = [None] * len(calls)

    def call(index: int, container: Container, event: Any) -> None:
        try:
            barrier.wait()
            if waits[index]:
                time.sleep(waits[index])
            answers[index] = container.invoke(event)
        except BaseException as e:  # handed to the caller below
            answers[index] = e

    threads = [
        threading.Thread(target=call, args=(index, container, event), name=f"invoke-{index}")
        for index, (container, event) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    invocations: list[Invocation] = []
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
        assert answer is not None
        invocations.append(answer)
    return invocations


def _serve(spec: FunctionSpec, environment: dict[str, str], connection: Connection) -> None:
    """The container's process: invoke the handler with each event received, until None arrives."""
    function = WarmFunction(spec, environment, time.monotonic)
    try:
        while True:
            try:
                event = connection.recv()
            except EOFError:
                return
            if event is None:
                return
            started = time.monotonic()
            try:
                result, error = function.invoke(event), None
            except Exception as e:  # the caller reads it, as Lambda reports a function error
                result = None
                error = f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
            connection.send(Invocation(spec.logical_id, result, error, started, time.monotonic()))
    finally:
        function.close()
        connection.close()
