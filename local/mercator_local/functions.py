"""What the local runner needs of each AWS::Serverless::Function: code, limits, environment, triggers.

Only the event sources the local stack emulates are read: ``Schedule`` and ``ScheduleV2`` (EventBridge),
``SQS``, and ``Api`` (API Gateway REST, served by :mod:`mercator_local.api`, with the Lambda authorizer
guarding each route, :mod:`mercator_local.api_auth`, and the API's gateway responses,
:mod:`mercator_local.gateway_responses`). Other event types (``HttpApi`` and so on) are
left to the tools that serve them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mercator_local.api_auth import LambdaAuthorizer, route_authorizer
from mercator_local.gateway_responses import GatewayResponses, api_gateway_responses
from mercator_local.intrinsics import ACCOUNT_ID, Resolver, TemplateError
from mercator_local.resources import physical_name
from mercator_local.template import LAYER, Template

# Lambda's own defaults when a template leaves them out.
DEFAULT_TIMEOUT_SECONDS = 3
DEFAULT_MEMORY_MB = 128
DEFAULT_SQS_BATCH_SIZE = 10

API = "AWS::Serverless::Api"
# SAM's name for the REST API it creates for Api events without a RestApiId, and that API's stage.
IMPLICIT_API = "ServerlessRestApi"
IMPLICIT_STAGE = "Prod"
API_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})

_PARAMETER = re.compile(r"\{([A-Za-z0-9_.-]+)(\+?)\}")
_LITERAL = re.compile(r"[^{}/]+")


@dataclass(frozen=True)
class ScheduleSource:
    """An EventBridge schedule: ``input`` is its constant Input, None when it sends the scheduled event."""

    name: str
    expression: str
    input: Any | None
    enabled: bool


@dataclass(frozen=True)
class SqsSource:
    """An SQS event source mapping: which queue (logical id) and how batches are formed and reported."""

    name: str
    queue: str
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None
    enabled: bool


@dataclass(frozen=True)
class PathSegment:
    """One part of a resource path: ``orders`` (literal), ``{id}`` (parameter) or ``{proxy+}`` (greedy)."""

    text: str
    parameter: str | None = None
    greedy: bool = False


@dataclass(frozen=True)
class ApiRoute:
    """An API Gateway REST event: resource ``path``, ``method`` (upper case, ``ANY`` for every method),
    the API serving it (logical id; :data:`IMPLICIT_API` for SAM's implicit one), that API's stage, and
    the Lambda authorizer guarding the route (None: open) and the API's gateway responses."""

    name: str
    path: str
    method: str
    rest_api: str
    stage: str
    authorizer: LambdaAuthorizer | None = None
    gateway_responses: GatewayResponses = field(default_factory=GatewayResponses)

    @property
    def segments(self) -> tuple[PathSegment, ...]:
        """The path's parts; the path was checked when the route was read (:func:`path_segments`)."""
        return path_segments(self.path, f"route {self.name}")


@dataclass(frozen=True)
class FunctionSpec:
    """One function as the template defines it, Globals merged and intrinsics resolved."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, str]
    schedules: tuple[ScheduleSource, ...]
    sqs_sources: tuple[SqsSource, ...]
    layer_dirs: tuple[Path, ...] = ()
    api_routes: tuple[ApiRoute, ...] = ()

    @property
    def layer_packages(self) -> tuple[str, ...]:
        """Top-level packages and modules the function's local layers provide (``shared/`` → mercator)."""
        names: list[str] = []
        for directory in self.layer_dirs:
            for entry in sorted(directory.iterdir()):
                if (entry / "__init__.py").is_file():
                    names.append(entry.name)
                elif entry.suffix == ".py" and entry.is_file():
                    names.append(entry.stem)
        return tuple(dict.fromkeys(names))

    @property
    def module_path(self) -> Path:
        """The file Lambda would import for ``handler`` (``app.lambda_handler`` → ``<CodeUri>/app.py``)."""
        module, _ = self._handler_parts()
        return self.code_dir.joinpath(*module.split(".")).with_suffix(".py")

    @property
    def handler_name(self) -> str:
        return self._handler_parts()[1]

    def schedule(self, key: str) -> ScheduleSource:
        """A schedule by event name (``ProductsSchedule``) or by its Input's resource (``products``)."""
        for schedule in self.schedules:
            if key == schedule.name or (
                isinstance(schedule.input, Mapping) and schedule.input.get("resource") == key
            ):
                return schedule
        known = ", ".join(
            f"{schedule.name} ({schedule.input.get('resource')})"
            if isinstance(schedule.input, Mapping) and "resource" in schedule.input
            else schedule.name
            for schedule in self.schedules
        )
        raise KeyError(f"{self.logical_id} has no schedule {key!r} (schedules: {known or 'none'})")

    def _handler_parts(self) -> tuple[str, str]:
        module, _, name = self.handler.rpartition(".")
        if not module or not name:
            raise TemplateError(
                f"Resources.{self.logical_id}: Handler {self.handler!r} is not module.function"
            )
        return module, name


def function_spec(
    template: Template,
    logical_id: str,
    *,
    stack_name: str,
    region: str,
    resolver: Resolver,
    queues_by_arn: Mapping[str, str],
) -> FunctionSpec:
    """The function ``logical_id`` of ``template``; ``queues_by_arn``: created queue ARN → logical id."""
    properties = template.function_properties(logical_id)
    path = f"Resources.{logical_id}.Properties"

    def resolved(key: str, default: Any = None) -> Any:
        return resolver.resolve(properties[key], f"{path}.{key}") if key in properties else default

    code_uri = resolved("CodeUri")
    if not isinstance(code_uri, str):
        raise TemplateError(f"{path}.CodeUri: the local runner needs a local folder, got {code_uri!r}")
    handler = resolved("Handler")
    if not isinstance(handler, str):
        raise TemplateError(f"{path}.Handler: missing")
    name = str(resolved("FunctionName") or physical_name(stack_name, logical_id))
    variables = resolved("Environment", {}).get("Variables", {})
    environment = {key: _environment_string(value) for key, value in variables.items()}

    schedules: list[ScheduleSource] = []
    sqs_sources: list[SqsSource] = []
    api_routes: list[ApiRoute] = []
    for event_name, event in (properties.get("Events") or {}).items():
        event_path = f"{path}.Events.{event_name}"
        kind = event.get("Type")
        if kind == "Api":
            api_routes.append(
                _api_route(event_name, event.get("Properties", {}), event_path, template, resolver)
            )
            continue
        if kind not in ("Schedule", "ScheduleV2", "SQS"):
            continue
        event_properties = resolver.resolve(event.get("Properties", {}), f"{event_path}.Properties")
        if kind == "SQS":
            sqs_sources.append(_sqs(event_name, event_properties, event_path, queues_by_arn))
        else:
            schedules.append(_schedule(event_name, kind, event_properties, event_path))

    return FunctionSpec(
        logical_id=logical_id,
        name=name,
        arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}",
        code_dir=(template.directory / code_uri).resolve(),
        handler=handler,
        timeout_seconds=int(resolved("Timeout", DEFAULT_TIMEOUT_SECONDS)),
        memory_mb=int(resolved("MemorySize", DEFAULT_MEMORY_MB)),
        environment=environment,
        schedules=tuple(schedules),
        sqs_sources=tuple(sqs_sources),
        layer_dirs=_layer_dirs(template, properties.get("Layers") or [], resolver, f"{path}.Layers"),
        api_routes=tuple(api_routes),
    )


def path_segments(path: str, where: str) -> tuple[PathSegment, ...]:
    """The parts of an API Gateway resource path (``/webhooks/{integrationId}``); TemplateError naming
    ``where`` when it is not one: no leading slash, empty parts, a greedy parameter before the end."""
    if not path.startswith("/"):
        raise TemplateError(f"{where}: a resource path starts with /, got {path!r}")
    if path == "/":
        return ()
    parts = path[1:].split("/")
    segments: list[PathSegment] = []
    for index, part in enumerate(parts):
        parameter = _PARAMETER.fullmatch(part)
        if parameter is not None:
            greedy = parameter.group(2) == "+"
            if greedy and index != len(parts) - 1:
                raise TemplateError(f"{where}: a greedy parameter {part} must be the last part of {path!r}")
            if any(segment.parameter == parameter.group(1) for segment in segments):
                raise TemplateError(f"{where}: parameter {parameter.group(1)!r} appears twice in {path!r}")
            segments.append(PathSegment(text=part, parameter=parameter.group(1), greedy=greedy))
        elif _LITERAL.fullmatch(part):
            segments.append(PathSegment(text=part))
        else:
            raise TemplateError(
                f"{where}: {part!r} in {path!r} is neither a literal part, {{name}} nor {{name+}}"
            )
    return tuple(segments)


def _api_route(
    name: str, raw_properties: Mapping[str, Any], path: str, template: Template, resolver: Resolver
) -> ApiRoute:
    # RestApiId refers to an API the local stack does not create, so it is read as a reference, not resolved.
    rest_api_reference = raw_properties.get("RestApiId")
    properties = resolver.resolve(
        {key: value for key, value in raw_properties.items() if key != "RestApiId"}, f"{path}.Properties"
    )
    resource_path = properties.get("Path")
    if not isinstance(resource_path, str):
        raise TemplateError(f"{path}.Properties.Path: an Api event needs its resource path")
    path_segments(resource_path, f"{path}.Properties.Path")
    method = properties.get("Method")
    if not isinstance(method, str) or method.upper() not in API_METHODS:
        choices = ", ".join(sorted(item.lower() for item in API_METHODS))
        raise TemplateError(f"{path}.Properties.Method: {method!r} is not one of {choices}")
    if rest_api_reference is None:
        rest_api, stage = IMPLICIT_API, _implicit_stage(template, resolver, path)
    else:
        rest_api, stage = _explicit_api(
            rest_api_reference, template, resolver, f"{path}.Properties.RestApiId"
        )
    authorizer = route_authorizer(
        template,
        resolver,
        api=None if rest_api_reference is None else rest_api,
        route_auth=properties.get("Auth"),
        path=path,
    )
    return ApiRoute(
        name=name,
        path=resource_path,
        method=method.upper(),
        rest_api=rest_api,
        stage=stage,
        authorizer=authorizer,
        gateway_responses=api_gateway_responses(
            template, resolver, None if rest_api_reference is None else rest_api
        ),
    )


def _implicit_stage(template: Template, resolver: Resolver, path: str) -> str:
    # The template's own Stage parameter names the stage its users know; without one, SAM's default.
    if "Stage" in (template.body.get("Parameters") or {}):
        return str(resolver.resolve({"Ref": "Stage"}, path))
    return IMPLICIT_STAGE


def _explicit_api(reference: Any, template: Template, resolver: Resolver, path: str) -> tuple[str, str]:
    apis = template.of_type(API)
    logical_id = reference.get("Ref") if isinstance(reference, Mapping) and len(reference) == 1 else None
    if logical_id not in apis:
        known = ", ".join(apis) or "none"
        raise TemplateError(
            f"{path}: must be !Ref to an AWS::Serverless::Api of the template "
            f"(APIs: {known}), got {reference!r}"
        )
    stage_name = apis[logical_id].get("Properties", {}).get("StageName")
    stage = resolver.resolve(stage_name, f"Resources.{logical_id}.Properties.StageName")
    if not isinstance(stage, str) or not stage:
        raise TemplateError(f"Resources.{logical_id}.Properties.StageName: an API needs its stage name")
    return str(logical_id), stage


def _layer_dirs(template: Template, layers: list[Any], resolver: Resolver, path: str) -> tuple[Path, ...]:
    """Folders of the template's own layers (``!Ref SharedLayer`` with a local ContentUri).

    Layers given by ARN live in some AWS account and cannot be loaded here; the handler then needs
    their packages installed in the environment that runs the stack.
    """
    local_layers = template.of_type(LAYER)
    folders: list[Path] = []
    for index, layer in enumerate(layers):
        reference = layer.get("Ref") if isinstance(layer, Mapping) else None
        if reference not in local_layers:
            continue
        content = local_layers[reference].get("Properties", {}).get("ContentUri")
        content = resolver.resolve(content, f"{path}[{index}]")
        if not isinstance(content, str):
            raise TemplateError(
                f"Resources.{reference}.Properties.ContentUri: the local runner needs a folder"
            )
        folder = (template.directory / content).resolve()
        if not folder.is_dir():
            raise TemplateError(f"Resources.{reference}.Properties.ContentUri: {folder} is not a folder")
        folders.append(folder)
    return tuple(folders)


def _schedule(name: str, kind: str, properties: Mapping[str, Any], path: str) -> ScheduleSource:
    expression = properties.get("Schedule" if kind == "Schedule" else "ScheduleExpression")
    if not isinstance(expression, str):
        raise TemplateError(f"{path}.Properties: a {kind} event needs its schedule expression")
    raw_input = properties.get("Input")
    try:
        constant = json.loads(raw_input) if isinstance(raw_input, str) else raw_input
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{path}.Properties.Input: not JSON ({exc})") from None
    state = str(properties.get("State", "ENABLED")).upper()
    enabled = _flag(properties.get("Enabled", True)) and state == "ENABLED"
    return ScheduleSource(name=name, expression=expression, input=constant, enabled=enabled)


def _sqs(name: str, properties: Mapping[str, Any], path: str, queues_by_arn: Mapping[str, str]) -> SqsSource:
    if "FilterCriteria" in properties:
        raise TemplateError(f"{path}.Properties.FilterCriteria: event filtering is not emulated locally")
    arn = properties.get("Queue")
    if not isinstance(arn, str) or arn not in queues_by_arn:
        raise TemplateError(f"{path}.Properties.Queue: {arn!r} is not a queue of this template")
    concurrency = (properties.get("ScalingConfig") or {}).get("MaximumConcurrency")
    return SqsSource(
        name=name,
        queue=queues_by_arn[arn],
        batch_size=int(properties.get("BatchSize", DEFAULT_SQS_BATCH_SIZE)),
        batching_window_seconds=int(properties.get("MaximumBatchingWindowInSeconds", 0)),
        report_batch_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
        maximum_concurrency=int(concurrency) if concurrency is not None else None,
        enabled=_flag(properties.get("Enabled", True)),
    )


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _environment_string(value: Any) -> str:
    # Lambda environment values are strings; YAML booleans arrive the way CloudFormation writes them.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise TemplateError(f"an environment variable must resolve to a string, got {value!r}")
    return str(value)
