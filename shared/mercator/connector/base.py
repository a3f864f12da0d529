"""Building blocks shared by every connector-definition model.

Definitions are written by people, so every rejection must say where and what would have been
accepted: unknown keys list the valid keys (with a close match when there is one), and tagged unions
(pagination ``type``, verification ``strategy``, auth ``type``, event-name ``from``) list their tags
when the tag is missing or wrong. What a person wrote is echoed through ``shown``, so that a
look-alike or invisible character shows as an escape instead of reading like the valid key.
"""

from __future__ import annotations

import difflib
import unicodedata
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


def shown(value: object) -> str:
    """``value`` quoted for a message, each character that is not printable ASCII escaped.

    A key typed with a look-alike letter (a Cyrillic \\u0430 for an a) or holding an invisible one (a
    zero-width space) reads exactly like the valid key it is not; escaped, the difference shows:
    ``'b\\u0430seUrl'``.
    """
    return ascii(value)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a word that is none of ``choices`` but close to ``x``, else "".

    When the word holds characters that are not printable ASCII, the hint names them and says what
    they are (a look-alike, an invisible character): a suggestion must never read the same as the
    word without saying why it differs.
    """
    options = list(choices)
    unusual = list(dict.fromkeys(ch for ch in word if not " " <= ch <= "~"))
    # difflib misses "cafe" typed with two Cyrillic letters (half of it differs); matching the plain
    # characters, position by position, does not.
    read = next(((o, kind) for o in options if unusual and (kind := _reads_as(word, o, unusual))), None)
    close = [read[0]] if read else difflib.get_close_matches(word, options, n=1)
    if not close:
        return ""
    suggestion = f"did you mean {shown(close[0])}?"
    if not unusual:
        return f" ({suggestion})"
    kind = read[1] if read else "non-ASCII"
    characters = (
        f"{kind} characters"
        if len(unusual) > 1
        else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} character"
    )
    return f" (it has {characters}, {_named(unusual)}; {suggestion})"


def _reads_as(word: str, option: str, unusual: list[str]) -> str:
    """Why ``word`` would read as ``option``: "invisible" when it is ``option`` once its invisible
    characters are dropped, "look-alike" when only its unusual characters differ and at least half
    of it is the same plain characters (a word of another script is no look-alike); "" otherwise."""
    if "".join(ch for ch in word if not _invisible(ch)) == option:
        return "invisible"
    if len(word) != len(option):
        return ""
    pairs = list(zip(word, option, strict=True))
    same = sum(a == b for a, b in pairs)
    return "look-alike" if 2 * same >= len(word) and all(a == b or a in unusual for a, b in pairs) else ""


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Zs", "Zl", "Zp"}


def _named(unusual: list[str]) -> str:
    # Three are enough to see the mistake; a word of another script would list all its letters.
    names = [f"{shown(ch)[1:-1]} {unicodedata.name(ch, f'U+{ord(ch):04X}')}" for ch in unusual[:3]]
    return " and ".join(names) if len(unusual) <= 3 else f"{', '.join(names)} and more"


def unknown_key_error(key: str, allowed: Iterable[str]) -> PydanticCustomError:
    choices = sorted(allowed)
    hint = did_you_mean(key, choices)
    return located_error((key,), f"unknown key {shown(key)}{hint}; valid keys: {', '.join(choices)}")


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
            given = data[key]
            hint = did_you_mean(given, valid) if isinstance(given, str) else ""
            message = f"{key} {shown(given)} is not supported{hint}; valid: {', '.join(valid)}"
            raise located_error((key,), message)
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
