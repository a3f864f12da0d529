"""The local stack: moto's AWS server on loopback with the template's resources, and a runner.

One stack at a time per process: moto keeps its state in module globals, so two servers would share
it. The server starts empty (moto's state is reset), and is stopped, its port closed, on exit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import boto3  # type: ignore[import-untyped]
import httpx
from moto.server import ThreadedMotoServer

from mercator_local import moto_transactions
from mercator_local.api import ApiGateway, serving_api
from mercator_local.event_source import SqsEventSource
from mercator_local.functions import FunctionSpec, function_spec
from mercator_local.handlers import WarmFunction, applied_environment
from mercator_local.intrinsics import Physical, Resolver, TemplateError, references
from mercator_local.resources import (
    create_bucket,
    create_event_bus,
    create_queue,
    create_secret,
    create_table,
)
from mercator_local.runner import Runner
from mercator_local.template import BUCKET, EVENT_BUS, FUNCTION, QUEUE, SECRET, TABLE, Template
from mercator_sandbox import Sandbox
from mercator_sandbox.serve import serving

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
HOST = "127.0.0.1"

# Dummy credentials: the local server accepts any, and real ones must never reach it.
_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "mercator-local",
    "AWS_SECRET_ACCESS_KEY": "mercator-local",
    "AWS_SESSION_TOKEN": "mercator-local",
}


class LocalStack:
    """``with LocalStack() as stack:`` the template's resources on a local AWS endpoint.

    Inside the block, ``AWS_ENDPOINT_URL``, the region and dummy credentials are set in this process's
    environment (boto3 honours them), and ``stack.runner`` invokes the functions with their own
    environments. ``retry_after_seconds`` is how long a failed SQS message stays invisible before it
    is redelivered (Lambda leaves it for the queue's visibility timeout; see ``event_source``).
    ``parameters`` override the template's parameter defaults; ``clock`` drives the handlers'
    remaining time and the runner's waits, ``sleep`` its pauses.

    The sandbox stores and workflow receivers listen on loopback over plain http, which the egress
    guard refuses everywhere else: ``allow_loopback_egress`` (on by default here, never in a
    deployment) sets ``EGRESS_ALLOW_LOOPBACK=true`` for every function of this stack.
    """

    _active: ClassVar[bool] = False

    def __init__(
        self,
        template: Path = DEFAULT_TEMPLATE,
        *,
        stack_name: str = "mercator-local",
        region: str = "eu-central-1",
        parameters: Mapping[str, str] | None = None,
        retry_after_seconds: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = 30.0,
        allow_loopback_egress: bool = True,
    ) -> None:
        self.template = Template.load(Path(template))
        self.allow_loopback_egress = allow_loopback_egress
        self.stack_name = stack_name
        self.region = region
        self.parameters = self.template.parameter_values(parameters or {})
        self._retry_after = retry_after_seconds
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait_seconds
        self._entered = False
        self._exit = ExitStack()
        self.endpoint_url = ""
        self.tables: dict[str, str] = {}
        self.queues: dict[str, Physical] = {}
        self._tables: dict[str, Physical] = {}
        self.buckets: dict[str, Physical] = {}
        self.event_buses: dict[str, Physical] = {}
        self.secrets: dict[str, Physical] = {}
        self._dead_letters: dict[str, str] = {}
        self.functions: dict[str, FunctionSpec] = {}
        self._warm: dict[str, WarmFunction] = {}
        self._runner: Runner | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a LocalStack runs once; make a new one to start again")
        if LocalStack._active:
            raise RuntimeError("a local stack is already running in this process; moto's state is global")
        LocalStack._active = self._entered = True
        self._exit.callback(_release_slot)
        try:
            self._start_server()
            self._exit.enter_context(applied_environment(self.aws_environment))
            self._create_resources()
            self._prepare_functions()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._exit.close()

    def _start_server(self) -> None:
        # The server logs every request at INFO through werkzeug; a run's output should be the handlers'.
        werkzeug = logging.getLogger("werkzeug")
        self._exit.callback(werkzeug.setLevel, werkzeug.level)
        werkzeug.setLevel(logging.WARNING)
        # Each webhook delivery is a transaction: at the cost of its items, not of whole tables.
        moto_transactions.install()
        server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._exit.callback(_stop_promptly, server, host, port)
        self.endpoint_url = f"http://{host}:{port}"
        # A fresh server in a process that ran one before would still hold that one's resources.
        self._reset_server()
        self._exit.callback(self._reset_server)

    def _reset_server(self) -> None:
        httpx.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()

    # --- AWS ----------------------------------------------------------------------------------------

    @property
    def aws_environment(self) -> dict[str, str]:
        """What points boto3 at this stack: endpoint, region, dummy credentials."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **_CREDENTIALS,
        }

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` on this stack's server."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def table_name(self, logical_id: str) -> str:
        return str(_lookup(self.tables, logical_id, "table"))

    def queue_url(self, logical_id: str) -> str:
        return self._queue(logical_id).ref

    def queue_arn(self, logical_id: str) -> str:
        return self._queue(logical_id).attributes["Arn"]

    def _queue(self, logical_id: str) -> Physical:
        queue: Physical = _lookup(self.queues, logical_id, "queue")
        return queue

    def secret_arn(self, logical_id: str) -> str:
        """The ARN of a secret the template declares (what its Ref gives)."""
        secret: Physical = _lookup(self.secrets, logical_id, "secret")
        return secret.ref

    def create_secret(self, name: str, values: Mapping[str, str]) -> str:
        """A Secrets Manager secret whose SecretString is ``values`` as JSON; returns its ARN."""
        response = self.client("secretsmanager").create_secret(
            Name=name, SecretString=json.dumps(dict(values))
        )
        return str(response["ARN"])

    def receive_all(self, logical_id: str) -> list[dict[str, Any]]:
        """Take every visible message out of a queue (deleting them): for looking into DLQs and the
        Trigger queue, which no local function consumes."""
        sqs, url = self.client("sqs"), self.queue_url(logical_id)
        taken: list[dict[str, Any]] = []
        while messages := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", []):
            taken.extend(messages)
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return taken

    # --- functions and the runner -------------------------------------------------------------------

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            raise RuntimeError("the local stack is not running; use it in a with block")
        return self._runner

    def environment(self, function: str) -> dict[str, str]:
        """Everything a function's handler sees in its environment while it runs here."""
        return dict(_lookup(self._warm, function, "function").environment)

    def serve_sandbox(self, sandbox: Sandbox) -> str:
        """Serve a sandbox store over HTTP on loopback until the stack stops; returns its origin.

        The handlers reach it with their own httpx clients, through an integration whose
        ``settings["baseUrl"]`` is ``sandbox.base_url(origin)``.
        """
        if self._runner is None:
            raise RuntimeError("the local stack is not running; use it in a with block")
        return self._exit.enter_context(serving(sandbox, HOST))

    def serve_api(self, api: str | None = None) -> str:
        """Serve the functions' ``Type: Api`` events over HTTP on loopback, as API Gateway REST would,
        until the stack stops; returns the base URL (``{url}/webhooks/acme`` reaches ``/webhooks/{id}``).

        ``api`` serves one API's routes only (logical id; ``ServerlessRestApi`` for SAM's implicit one).
        """
        if self._runner is None:
            raise RuntimeError("the local stack is not running; use it in a with block")
        app = ApiGateway(self._warm, stack_name=self.stack_name, region=self.region, api=api)
        return self._exit.enter_context(serving_api(app, HOST))

    def dead_letter_queue(self, logical_id: str) -> str:
        """The logical id of the queue that ``logical_id``'s RedrivePolicy sends dead letters to."""
        return str(_lookup(self._dead_letters, logical_id, "queue with a RedrivePolicy"))

    # --- building ----------------------------------------------------------------------------------

    def _resolver(self) -> Resolver:
        created = {**self._tables, **self.queues, **self.buckets, **self.event_buses, **self.secrets}
        return Resolver(
            stack_name=self.stack_name,
            region=self.region,
            parameters=self.parameters,
            conditions=self.template.conditions,
            mappings=self.template.mappings,
            physical=created.get,
        )

    def _create_resources(self) -> None:
        dynamodb, sqs = self.client("dynamodb"), self.client("sqs")
        for logical_id in self._creation_order():
            resource = self.template.resources[logical_id]
            resolver = self._resolver()
            condition = resource.get("Condition")
            if condition is not None and not resolver.condition(str(condition), f"Resources.{logical_id}"):
                continue
            properties = resolver.resolve(
                resource.get("Properties", {}), f"Resources.{logical_id}.Properties"
            )
            if resource["Type"] == TABLE:
                physical = create_table(
                    dynamodb,
                    stack_name=self.stack_name,
                    region=self.region,
                    logical_id=logical_id,
                    properties=properties,
                )
                self._tables[logical_id] = physical
                self.tables[logical_id] = physical.ref
            elif resource["Type"] == BUCKET:
                self.buckets[logical_id] = create_bucket(
                    self.client("s3"),
                    stack_name=self.stack_name,
                    region=self.region,
                    logical_id=logical_id,
                    properties=properties,
                )
            elif resource["Type"] == EVENT_BUS:
                self.event_buses[logical_id] = create_event_bus(
                    self.client("events"), logical_id=logical_id, properties=properties
                )
            elif resource["Type"] == SECRET:
                self.secrets[logical_id] = create_secret(
                    self.client("secretsmanager"),
                    stack_name=self.stack_name,
                    logical_id=logical_id,
                    properties=properties,
                )
            else:
                self.queues[logical_id] = create_queue(
                    sqs, stack_name=self.stack_name, logical_id=logical_id, properties=properties
                )
                self._note_dead_letter_queue(logical_id, properties.get("RedrivePolicy"))

    def _note_dead_letter_queue(self, logical_id: str, redrive: Any) -> None:
        if redrive is None:
            return
        policy = json.loads(redrive) if isinstance(redrive, str) else redrive
        target = policy["deadLetterTargetArn"]
        for queue_id, physical in self.queues.items():
            if physical.attributes["Arn"] == target:
                self._dead_letters[logical_id] = queue_id
                return
        raise TemplateError(
            f"Resources.{logical_id}.Properties.RedrivePolicy: {target} is not a queue of the stack"
        )

    def _creation_order(self) -> list[str]:
        """Tables, queues, buckets, buses and secrets, each after the ones its properties refer to (a DLQ
        before its source)."""
        pending = {
            **self.template.of_type(TABLE),
            **self.template.of_type(QUEUE),
            **self.template.of_type(BUCKET),
            **self.template.of_type(EVENT_BUS),
            **self.template.of_type(SECRET),
        }
        order: list[str] = []
        visiting: set[str] = set()

        def visit(logical_id: str) -> None:
            if logical_id in order:
                return
            if logical_id in visiting:
                raise TemplateError(f"Resources.{logical_id}: its properties refer back to it in a cycle")
            visiting.add(logical_id)
            for dependency in sorted(references(pending[logical_id].get("Properties", {}))):
                if dependency in pending:
                    visit(dependency)
            visiting.discard(logical_id)
            order.append(logical_id)

        for logical_id in pending:
            visit(logical_id)
        return order

    def _prepare_functions(self) -> None:
        resolver = self._resolver()
        queues_by_arn = {
            physical.attributes["Arn"]: logical_id for logical_id, physical in self.queues.items()
        }
        sqs = self.client("sqs")
        sources: list[SqsEventSource] = []
        for logical_id in self.template.of_type(FUNCTION):
            spec = function_spec(
                self.template,
                logical_id,
                stack_name=self.stack_name,
                region=self.region,
                resolver=resolver,
                queues_by_arn=queues_by_arn,
            )
            self.functions[logical_id] = spec
            warm = WarmFunction(spec, {**self._runtime_environment(spec), **spec.environment}, self._clock)
            self._warm[logical_id] = warm
            self._exit.callback(warm.close)
            sources.extend(
                SqsEventSource(
                    function=warm,
                    source=source,
                    queue_url=self.queue_url(source.queue),
                    queue_arn=self.queue_arn(source.queue),
                    region=self.region,
                    sqs=sqs,
                    retry_after_seconds=self._retry_after,
                )
                for source in spec.sqs_sources
                if source.enabled
            )
        dead_letters = list(dict.fromkeys(self._dead_letters.values()))
        self._runner = Runner(
            functions=self._warm,
            sources=sources,
            queue_urls={logical_id: physical.ref for logical_id, physical in self.queues.items()},
            dead_letter_queues=dead_letters,
            sqs=sqs,
            stack_name=self.stack_name,
            region=self.region,
            clock=self._clock,
            sleep=self._sleep,
            max_wait_seconds=self._max_wait,
        )

    def _runtime_environment(self, spec: FunctionSpec) -> dict[str, str]:
        """The variables the Lambda runtime sets itself, as ``sam local invoke`` sets them."""
        return {
            **self.aws_environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_seconds),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            # Powertools reads this to leave X-Ray alone, as under sam local: no daemon listens here.
            "AWS_SAM_LOCAL": "true",
            # The local stores and receivers are on loopback (mercator.providers.egress).
            **({"EGRESS_ALLOW_LOOPBACK": "true"} if self.allow_loopback_egress else {}),
        }


def _stop_promptly(server: ThreadedMotoServer, host: str, port: int) -> None:
    """Stop the server without waiting out its half-second poll: connections wake its loop."""
    stopping = threading.Thread(target=server.stop, name="mercator-local-stop")
    stopping.start()
    while stopping.is_alive():
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            pass
        stopping.join(timeout=0.01)


def _release_slot() -> None:
    LocalStack._active = False


def _lookup(items: Mapping[str, Any], logical_id: str, kind: str) -> Any:
    if logical_id not in items:
        raise KeyError(f"no {kind} {logical_id!r} in the local stack ({kind}s: {', '.join(items) or 'none'})")
    return items[logical_id]
