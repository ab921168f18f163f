"""Typed row objects read from their stored documents on demand.

A list page builds one typed object per row (`Fan.from_doc`, ...). Strawberry types are
dataclasses whose generated `__init__` takes every field as a keyword argument, computed
whether selected or not: for a fan's 36 fields that cost more than the dozen a page selects
(issue 15). `document_rows` builds rows that hold only their document and compute a field
when it is read, with the field names checked as the constructor would check them (a missing
or unknown field is a TypeError when the type is declared, never a row without an attribute).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from gateway.storage.mongo import Document

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
                # `__init__` would set it without being given it: not a field of a row.
                raise TypeError(f"{cls.__name__}.{field.name} is set by __init__ only")
        names = _FIELDS[cls] = frozenset(field.name for field in fields if field.init)
    return names


Compute = Callable[[Document], Any]

# The field computations of each document-backed type (`document_rows`), for the executor's
# compiled rows, which read a row's selected fields straight from its document.
DOCUMENT_FIELDS: dict[type, dict[str, Compute]] = {}
DOCUMENT = "_doc"


class _FromDocument:
    """A field of a document-backed row: computed from the row's document on each read,
    never kept on the instance (a non-data descriptor: a value set on the instance wins).

    Not kept, so a row read by a resolver (`member.id` for a batch's keys) still holds only
    its document and stays on the compiled rows' direct path (`schema.execution.rows`); a
    field is rarely read twice, and its computation is a dict read or two."""

    __slots__ = ("compute",)

    def __init__(self, compute: Compute) -> None:
        self.compute = compute

    def __get__(self, row: Any, owner: type | None = None) -> Any:
        if row is None:
            return self
        return self.compute(row.__dict__[DOCUMENT])


def document_rows(cls: type[T], fields: dict[str, Compute]) -> Callable[[Document], T]:
    """A builder of `cls` rows from stored documents that computes each field only when it
    is read (a page of fans selects a dozen of their 36 fields; issue 15).

    `fields` gives every field's computation from the document, as the constructor's
    arguments would have been computed (a missing or unknown field is a TypeError at once).
    A row built so holds only its document; reading a field computes it, so the row
    answers every read as the eagerly built instance would (equal values), as long as the
    document is not changed afterwards (rows are built from read results, never written).
    The executor's compiled rows read the selected fields straight from the document.
    """
    if fields.keys() != field_names(cls):
        missing = sorted(field_names(cls) - fields.keys())
        unknown = sorted(fields.keys() - field_names(cls))
        raise TypeError(f"{cls.__name__}: missing fields {missing}, unknown fields {unknown}")
    for name, compute in fields.items():
        setattr(cls, name, _FromDocument(compute))
    DOCUMENT_FIELDS[cls] = dict(fields)
    new = object.__new__

    def from_document(doc: Document) -> T:
        row = new(cls)
        row.__dict__[DOCUMENT] = doc
        return row

    return from_document
