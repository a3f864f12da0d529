"""Building blocks shared by every connector-definition model.

Definitions are written by people, so every rejection must say where and what would have been
accepted: unknown keys list the valid keys (with a close match when there is one), and tagged unions
(pagination ``type``, verification ``strategy``, auth ``type``, event-name ``from``) list their tags
when the tag is missing or wrong.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from mercator.mapping import MappingDefinitionError, PathSyntaxError, compile_path


class DefinitionModel(BaseModel):
    """Base of every definition model: unknown keys are errors that name the valid keys."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=False)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = [info.alias or name for name, info in cls.model_fields.items()]
            unknown = [key for key in data if key not in allowed]
            if unknown:
                raise unknown_key_error(str(unknown[0]), allowed)
        return data


def unknown_key_error(key: str, allowed: Iterable[str]) -> PydanticCustomError:
    choices = sorted(allowed)
    close = difflib.get_close_matches(key, choices, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return located_error((key,), f"unknown key {key!r}{hint}; valid keys: {', '.join(choices)}")


def tag_check(key: str, choices: Iterable[str], default: str | None = None) -> BeforeValidator:
    """Check a tagged union's tag before pydantic picks the member, so errors list the tags."""
    valid = list(choices)

    def check(data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if key not in data:
            if default is not None:
                return {key: default, **data}
            raise located_error((key,), f"needs {key!r}: one of {', '.join(valid)}")
        if data[key] not in valid:
            raise located_error((key,), f"{key} {data[key]!r} is not supported; valid: {', '.join(valid)}")
        return data

    return BeforeValidator(check)


def located_error(location: str | tuple[str | int, ...], message: str) -> PydanticCustomError:
    """An error whose place is ``location`` below the model that raises it.

    A text location is split on dots; pass a tuple when a key holds dots (event names do).
    """
    parts = tuple(location.split(".")) if isinstance(location, str) else location
    return PydanticCustomError("definition", "{message}", {"message": message, "location": parts})


def mapping_error(prefix: str, exc: MappingDefinitionError) -> PydanticCustomError:
    return located_error((prefix, *exc.location), exc.message)


def _valid_path(value: str) -> str:
    try:
        compile_path(value)
    except PathSyntaxError as exc:
        raise ValueError(str(exc)) from None
    return value


RecordPath = Annotated[str, AfterValidator(_valid_path)]
"""Text that must compile as a record path (dot path or JSONPath)."""
