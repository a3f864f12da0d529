"""What one change did to a record's plain fields: the old and the new value of each that moved.

A change event carries them (``changes``), so a transition trigger fires only when a field really
moved (``order_status_changed``) and a workflow's conditions can test where it came from
(``{"changes.status.from": "in_transit"}``). Only top-level fields holding one plain value (text,
number, true/false, or null) are compared: they are what a transition names, and they stay small
where a record's lines or addresses would double the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Scalar = str | int | float | bool


class FieldChange(BaseModel):
    """One field's move; ``before`` None: it had no value (``from`` and ``to`` on the wire)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    before: Scalar | None = Field(None, alias="from")
    after: Scalar | None = Field(None, alias="to")


def plain_fields(record: Mapping[str, Any]) -> dict[str, Scalar]:
    """The record's top-level fields that hold one plain value."""
    return {name: value for name, value in record.items() if isinstance(value, str | int | float | bool)}


def field_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, FieldChange]:
    """Each plain top-level field whose value differs between two versions of a record (``before``
    the plain fields of the stored version, None when there was none)."""
    old = plain_fields(before or {})
    new = plain_fields(after)
    moved: dict[str, FieldChange] = {}
    for name in sorted(old.keys() | new.keys()):
        was, now = old.get(name), new.get(name)
        # 1 and 1.0 are one number; True and 1 are not one value.
        comparable = type(was) is type(now) or (_number(was) and _number(now))
        if not (comparable and was == now):
            moved[name] = FieldChange(before=was, after=now)
    return moved


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
