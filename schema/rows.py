"""Typed row objects without the dataclass `__init__`.

A list page builds one typed object per row (`Fan.from_doc`, ...). Strawberry types are
dataclasses whose generated `__init__` takes every field as a keyword argument: for a fan's
36 fields that call costs more than reading the document (issue 15). `build` makes the
same instance (same class, same attribute values) from a dict of every field, checking the
names as the constructor would: a missing or unknown field is a TypeError, never a row
without an attribute.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

_FIELDS: dict[type, frozenset[str]] = {}


def field_names(cls: type) -> frozenset[str]:
    """The fields the dataclass `__init__` of a Strawberry type sets (private ones
    included; fields with a resolver are not instance attributes)."""
    names = _FIELDS.get(cls)
    if names is None:
        fields = dataclasses.fields(cls)
        for field in fields:
            if not field.init and (
                field.default is not dataclasses.MISSING
                or field.default_factory is not dataclasses.MISSING
            ):
                # `__init__` would set it without being given it: not one `build` makes.
                raise TypeError(f"{cls.__name__}.{field.name} is set by __init__ only")
        names = _FIELDS[cls] = frozenset(field.name for field in fields if field.init)
    return names


def build(cls: type[T], values: dict[str, Any]) -> T:
    """`cls(**values)` without the keyword-argument call; `values` becomes the instance's
    attribute dict (the caller hands over a fresh dict)."""
    if values.keys() != field_names(cls):
        missing = sorted(field_names(cls) - values.keys())
        unknown = sorted(values.keys() - field_names(cls))
        raise TypeError(f"{cls.__name__}: missing fields {missing}, unknown fields {unknown}")
    row = object.__new__(cls)
    row.__dict__ = values
    return row
