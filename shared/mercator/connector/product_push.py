"""A connector's ``push`` block: how Mercator writes the tenant's canonical products into the store.

The reverse of a resource's ``apiMapping``: each ``body`` is a mapping, in the same vocabulary,
from a ``core:product`` record to the platform's request JSON. What the mapping reads besides the
product's own fields sits under ``store``: ``store.key`` (the product's key, below), ``store.id``
(the store's id of the product, once known), every name of ``ids`` kept from the store's answers
(a Shopify variant id) and every name of ``context`` (values read once per push run, such as a
Shopify location id).

One product is pushed as:

1. ``find`` (when the store's id is not tracked yet): look the product up by its ``key`` (a SKU, or
   a handle made from it), so a create whose answer was lost is never repeated as a second product;
2. ``create`` (nothing found) or ``update`` (the store's id known or found);
3. each of ``then`` in order (stock set through another endpoint, for instance).

``{name}`` placeholders in endpoint URLs and params are filled from ``store`` (``{id}``, ``{key}``,
``{variantId}``...); ``[[credential]]`` placeholders as in every other endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any, Literal, Self
from urllib.parse import quote

from pydantic import Field, PrivateAttr, field_validator, model_validator

from mercator.connector.base import DefinitionModel, RecordPath, located_error, mapping_error
from mercator.connector.endpoints import QueryValue, endpoint_url, query_names, query_value
from mercator.connector.mappings import MappingSpec, RuleSpec
from mercator.domain.content_types import CONTENT_TYPES
from mercator.mapping import (
    CompiledMapping,
    CompiledPath,
    MappingDefinitionError,
    compile_mapping,
    compile_path,
)

STORE = "store"
# The names ``store`` always holds, besides ``ids`` and ``context``.
BUILT_IN_NAMES = ("id", "key")
_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")
_FIRST_SEGMENT = re.compile(r"^\$?\.?([A-Za-z_][A-Za-z0-9_]*)")
_RULE_PATH_KEYS = ("path", "paths")


class PushEndpoint(DefinitionModel):
    """One call of a push: method, URL (``{name}`` filled from ``store``) and query parameters."""

    url: str = Field(min_length=1, description="path under baseUrl (or absolute); may hold {id}, {key}...")
    method: Literal["GET", "POST", "PUT", "PATCH"] = "GET"
    params: dict[str, QueryValue] = Field(default_factory=dict, description="query parameters")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return endpoint_url(value)

    @model_validator(mode="after")
    def _one_place_per_param(self) -> Self:
        for name in self.params:
            if name in query_names(self.url):
                raise located_error(("params", name), f"{name!r} is also in the url's query string")
        return self

    def placeholders(self) -> Iterator[tuple[tuple[str, ...], str]]:
        """Each ``{name}`` with where it is written."""
        for name in _PLACEHOLDER.findall(self.url):
            yield ("url",), name
        for param, value in self.params.items():
            if isinstance(value, str):
                for name in _PLACEHOLDER.findall(value):
                    yield ("params", param), name

    def filled(self, store: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        """The URL (values quoted as one path segment) and params with ``store``'s values filled in."""

        def value(match: re.Match[str], *, quoted: bool) -> str:
            found = store.get(match.group(1))
            if found is None or found == "":
                raise MissingStoreValueError(match.group(1))
            return quote(str(found), safe="") if quoted else str(found)

        url = _PLACEHOLDER.sub(lambda m: value(m, quoted=True), self.url)
        params = {
            name: _PLACEHOLDER.sub(lambda m: value(m, quoted=False), raw)
            if isinstance(raw, str)
            else query_value(raw)
            for name, raw in self.params.items()
        }
        return url, params


class MissingStoreValueError(KeyError):
    """A ``{name}`` placeholder whose value the push does not have (an id the store never answered)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"no value for {{{self.name}}}: the store's answers so far did not give it"


class _BodyCall(DefinitionModel):
    """A call that sends a JSON body mapped from the product."""

    endpoint: PushEndpoint
    body: MappingSpec = Field(description="core:product (and store.*) → the request's JSON body")
    clear: list[str] = Field(
        default_factory=list,
        description="body fields sent as null when the product has no value (the store then clears "
        "them: a sale price once the sale is over); dotted, [] for each item: product.variants[].x",
    )

    _body: CompiledMapping | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile_body(self) -> Self:
        if self.endpoint.method == "GET":
            raise located_error(("endpoint", "method"), "a call with a body writes: POST, PUT or PATCH")
        try:
            self._body = compile_mapping(self.body, scope="push body")
        except MappingDefinitionError as exc:
            raise mapping_error("body", exc) from None
        return self

    def request_body(self, source: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body for ``source`` (the product with its ``store`` values), without nulls: a
        field the product does not have is left to the store rather than sent empty."""
        assert self._body is not None
        body = pruned(self._body(source), {tuple(path.split(".")) for path in self.clear})
        return body if isinstance(body, dict) else {}


class WriteCall(_BodyCall):
    """A create or update: the body, and where the product sits in the store's answer."""

    record: RecordPath | None = Field(
        None, description="where the product sits in the answer (absent: the answer is the product)"
    )

    _record: CompiledPath | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile_record(self) -> Self:
        self._record = compile_path(self.record) if self.record else None
        return self

    def product_in(self, answer: Any) -> Any:
        return self._record.get(answer) if self._record else answer


class ThenCall(_BodyCall):
    """A call after every create or update (stock set through its own endpoint); with ``when``, only
    for a product that has a value there."""

    when: RecordPath | None = Field(
        None, description="a path in the product (or store.*): the call is made only when it has a value"
    )

    _when: CompiledPath | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile_when(self) -> Self:
        self._when = compile_path(self.when) if self.when else None
        return self

    def applies(self, source: Mapping[str, Any]) -> bool:
        if self._when is None:
            return True
        value = self._when.get(source)
        return value is not None and value not in ("", [])


class FindCall(DefinitionModel):
    """How to look a product up by its key before creating it."""

    endpoint: PushEndpoint
    records: RecordPath | None = Field(
        None,
        description="where the found product (an object) or products (a list) sit in the answer; "
        "absent: the answer itself",
    )
    match: RecordPath = Field(
        description="path, in a found product, of the value that must equal the key (a search may "
        "answer near matches)"
    )
    notFound: list[int] = Field(
        default_factory=lambda: [404], description="statuses that mean no product has the key"
    )

    _records: CompiledPath | None = PrivateAttr(None)
    _match: CompiledPath | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> Self:
        if self.endpoint.method != "GET":
            raise located_error(("endpoint", "method"), "a find is a GET")
        self._records = compile_path(self.records) if self.records else None
        self._match = compile_path(self.match)
        return self

    def found(self, answer: Any, key: str) -> Any | None:
        """The product of ``answer`` whose ``match`` value is ``key``; None when there is none."""
        assert self._match is not None
        found = self._records.get(answer) if self._records else answer
        candidates = found if isinstance(found, list) else [found] if isinstance(found, dict) else []
        for candidate in candidates:
            value = self._match.get(candidate)
            if value is not None and not isinstance(value, dict | list) and str(value) == key:
                return candidate
        return None


class ContextValue(DefinitionModel):
    """A value read once per push run (a Shopify store's location id)."""

    endpoint: PushEndpoint
    path: RecordPath = Field(description="where the value sits in the answer")

    _path: CompiledPath | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> Self:
        if self.endpoint.method != "GET":
            raise located_error(("endpoint", "method"), "a context value is read with a GET")
        self._path = compile_path(self.path)
        return self

    def value_in(self, answer: Any) -> Any:
        assert self._path is not None
        return self._path.get(answer)


class StoreWrites(DefinitionModel):
    """What a push block reads off records and the store's answers, once its subclass has compiled
    ``_key`` (its key rule), ``_ids`` and ``_refusal``."""

    _key: CompiledMapping | None = PrivateAttr(None)
    _ids: dict[str, CompiledPath] = PrivateAttr(default_factory=dict)
    _refusal: CompiledPath | None = PrivateAttr(None)

    def key_of(self, record: Mapping[str, Any]) -> str | None:
        """The record's key as text; None when it has none (it cannot be found in the store)."""
        assert self._key is not None
        value = self._key(record).get("key")
        if value is None or isinstance(value, dict | list | bool):
            return None
        text = str(value).strip()
        return text or None

    def ids_in(self, answer: Any) -> dict[str, str]:
        """The ``ids`` values the store's answer holds, as text (those it lacks are left out)."""
        found: dict[str, str] = {}
        for name, path in self._ids.items():
            value = path.get(answer)
            if value is not None and not isinstance(value, dict | list | bool) and str(value) != "":
                found[name] = str(value)
        return found

    def refusal_in(self, answer: Any) -> Any:
        """The reasons of a refused write: what sits at ``refusal``, or the whole answer."""
        if self._refusal is None:
            return answer
        found = self._refusal.get(answer)
        return answer if found is None else found


class ProductPush(StoreWrites):
    """How canonical products are written into the store."""

    key: RuleSpec = Field(
        description="the rule that makes a product's key from the product (its SKU, or a handle made "
        "from it): find looks the product up by it"
    )
    find: FindCall
    create: WriteCall
    update: WriteCall
    ids: dict[str, RecordPath] = Field(
        description="values kept from the product as the store answers it (created, updated or "
        "found): id is required (the store's id of the product); others (a variant id) are read by "
        "later bodies and URLs as store.<name>"
    )
    then: list[ThenCall] = Field(default_factory=list, description="calls after every create or update")
    context: dict[str, ContextValue] = Field(
        default_factory=dict, description="values read once per push run, as store.<name>"
    )
    refusal: RecordPath | None = Field(
        None,
        description="where a refused write's reasons (field errors) sit in the store's answer; absent: "
        "the whole answer",
    )

    @model_validator(mode="after")
    def _compile(self) -> Self:
        if "id" not in self.ids:
            raise located_error("ids", "ids needs id: the path of the store's id in the product it answers")
        clash = sorted(set(self.ids) & set(self.context)) or sorted(set(BUILT_IN_NAMES) & set(self.context))
        if clash:
            raise located_error(("context", clash[0]), f"{clash[0]!r} is already a name of store.*")
        try:
            self._key = compile_mapping({"key": self.key}, scope="push key")
        except MappingDefinitionError as exc:
            raise mapping_error("key", exc.__class__(exc.location[1:], exc.message)) from None
        self._ids = {name: compile_path(path) for name, path in self.ids.items()}
        self._refusal = compile_path(self.refusal) if self.refusal else None
        self._check_names()
        return self

    def _check_names(self) -> None:
        """Every ``{name}`` and ``store.<name>`` is one the push has; every body path reads a product
        field or ``store``."""
        names = sorted({*BUILT_IN_NAMES, *self.ids, *self.context})
        fields = sorted({*CONTENT_TYPES["core:product"].model_fields, STORE})
        calls: list[tuple[tuple[str | int, ...], PushEndpoint, MappingSpec | None]] = [
            (("find",), self.find.endpoint, None),
            (("create",), self.create.endpoint, self.create.body),
            (("update",), self.update.endpoint, self.update.body),
            *((("then", i), call.endpoint, call.body) for i, call in enumerate(self.then)),
            *((("context", name), value.endpoint, None) for name, value in self.context.items()),
        ]
        for where, endpoint, body in calls:
            check_placeholders(where, endpoint, names)
            if body is not None:
                for inner, path in body_paths(body):
                    check_path((*where, "body", *inner), path, fields, names)
        for index, call in enumerate(self.then):
            if call.when:
                check_path(("then", index, "when"), call.when, fields, names)
        if isinstance(self.key, dict) and not _is_rule(self.key):
            raise located_error("key", "key is one rule (a path or a rule object), not a nested object")
        for inner, path in body_paths({"key": self.key}):
            check_path(inner, path, fields, [name for name in names if name != "key"])


def with_store(record: Mapping[str, Any], store: Mapping[str, Any]) -> dict[str, Any]:
    """What a push block's bodies map: the record, and what the store is known to hold under ``store``."""
    return {**record, STORE: dict(store)}


def check_placeholders(where: tuple[str | int, ...], endpoint: PushEndpoint, names: list[str]) -> None:
    """Every ``{name}`` of the endpoint is one ``store`` holds."""
    for place, name in endpoint.placeholders():
        if name not in names:
            raise located_error(
                (*where, "endpoint", *place),
                f"unknown placeholder {{{name}}}; valid: {', '.join('{' + n + '}' for n in names)}",
            )


def pruned(value: Any, kept: Collection[tuple[str, ...]] = (), at: tuple[str, ...] = ()) -> Any:
    """``value`` without null fields, at every depth, but those at a ``kept`` path (``("product",
    "variants[]", "price")``); a list keeps its items, nulls dropped."""
    if isinstance(value, dict):
        return {
            name: pruned(item, kept, (*at, name))
            for name, item in value.items()
            if item is not None or (*at, name) in kept
        }
    if isinstance(value, list):
        inside = (*at[:-1], f"{at[-1]}[]") if at else at
        return [pruned(item, kept, inside) for item in value if item is not None]
    return value


def _is_rule(value: Any) -> bool:
    return isinstance(value, dict) and any(key in value for key in ("path", "paths", "value", "transform"))


def body_paths(spec: Any, place: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """The source paths a mapping reads from its record (item mappings of mapItems read items, not
    the record, and are left out)."""
    if isinstance(spec, str):
        yield place, spec
        return
    if not isinstance(spec, dict):
        return
    if _is_rule(spec):
        for key in _RULE_PATH_KEYS:
            written = spec.get(key)
            if isinstance(written, str):
                yield (*place, key), written
            elif isinstance(written, list):
                for index, item in enumerate(written):
                    if isinstance(item, str):
                        yield (*place, key, index), item
        return
    for name, rule in spec.items():
        yield from body_paths(rule, (*place, name))


def check_path(
    place: tuple[str | int, ...],
    path: str,
    fields: list[str],
    names: list[str],
    content_type: str = "core:product",
) -> None:
    """A body path reads a field of ``content_type`` or one of ``store``'s ``names``."""
    first = _FIRST_SEGMENT.match(path)
    if first is None:
        return  # a literal-looking or bracketed path: the mapping compiler has judged its syntax
    field = first.group(1)
    if field not in fields:
        raise located_error(
            place,
            f"{path!r} reads {field!r}, which a {content_type} does not have; valid: {', '.join(fields)}",
        )
    if field == STORE:
        rest = path[first.end() :].lstrip(".")
        name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", rest)
        if name is None or name.group(0) not in names:
            raise located_error(place, f"{path!r}: store holds {', '.join(names)}")
