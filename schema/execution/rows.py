"""Rows: a selection set of plain fields compiled into one Python function (issue 15).

The executor (`schema.execution.executor`) asks for a row plan of a selection set whose fields
are all plain; `row_function` returns the compiled function (cached per plan), which builds a
row's response dict or returns `FALLBACK` for the executor's general path.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import date, datetime
from keyword import iskeyword
from math import isfinite
from types import CoroutineType, GeneratorType
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLLeafType,
)
from graphql.pyutils import Undefined
from graphql.type.scalars import (
    serialize_boolean,
    serialize_float,
    serialize_id,
    serialize_int,
    serialize_string,
)

from schema.rows import DOCUMENT, DOCUMENT_FIELDS

# --- rows: a selection set of plain fields only, completed without paths or infos ---------
#
# A row plan is a tuple of entries (response name, attribute, kind, nullable, extra). It
# exists only when every field of a selection set is plain (a leaf, a plain object or a
# plain list, each with a row plan of its own) or `__typename`, and no field node carries
# arguments or directives. Its compiled function builds the response dict of a row, or returns
# `FALLBACK` as soon as one value is not what graphql-core completes to itself (a null in
# a non-null field, a value of another type than the leaf's own, an int out of range, a
# coercion that fails or gives null, anything that could be awaitable or an exception):
# the caller then runs the general path for the whole object, which reads the same
# attributes again and reports the errors with their paths. So a row that completes here
# is exactly what graphql-core would have answered, without its per-field machinery.

(
    K_STR, K_INT, K_BOOL, K_FLOAT, K_ENUM, K_LEAF, K_OBJECT, K_LEAF_LIST, K_OBJECT_LIST,
    K_TYPENAME, K_PREFETCHED,
) = range(11)  # fmt: skip
Entry = tuple[str, str, int, bool, Any]
# One object's response dict, or FALLBACK; the second argument holds the operation's values
# of batched fields by (id of the field node, id of the source): (source, value).
Prefetched = dict[tuple[int, int], tuple[Any, Any]]
Row = Callable[[Any, Prefetched], Any]
FALLBACK: Any = object()
UNKNOWN: Any = object()
MIN_INT, MAX_INT = -(2**31), 2**31 - 1

# Strawberry enum members' names, per enum type (computed by the type's own coercion).
_ENUM_NAMES: weakref.WeakKeyDictionary[GraphQLEnumType, _EnumNames] = weakref.WeakKeyDictionary()


def leaf_kind(leaf: GraphQLLeafType) -> tuple[int, Any]:
    """How a row completes a leaf: by exact value type for graphql-core's own scalars
    (whose coercion returns such a value unchanged), by a cache of names for Strawberry
    enums, else by the leaf's coercion."""
    coerce = leaf.coerce_output_value
    if coerce is serialize_string or coerce is serialize_id:
        return K_STR, None
    if coerce is serialize_int:
        return K_INT, None
    if coerce is serialize_boolean:
        return K_BOOL, None
    if coerce is serialize_float:
        return K_FLOAT, None
    wrapped = getattr(leaf, "wrapped_cls", None)
    if isinstance(leaf, GraphQLEnumType) and isinstance(wrapped, type):
        names = _ENUM_NAMES.get(leaf)
        if names is None:
            names = _ENUM_NAMES[leaf] = _EnumNames(wrapped, coerce)
        return K_ENUM, names
    return K_LEAF, coerce


class _EnumNames:
    """A Strawberry enum: its class, the names found so far by member id, its coercion
    (one per enum type, compared by identity)."""

    __slots__ = ("coerce", "names", "wrapped")

    def __init__(self, wrapped: type, coerce: Callable[[Any], Any]) -> None:
        self.wrapped = wrapped
        self.names: dict[int, tuple[Any, str]] = {}
        self.coerce = coerce


def _enum_name(extra: _EnumNames, value: Any) -> Any:
    """A Strawberry enum member's name by the type's own coercion, remembered per member
    (members live as long as their class), or FALLBACK."""
    if type(value) is not extra.wrapped:
        return FALLBACK
    try:
        name = extra.coerce(value)
    except Exception:
        return FALLBACK
    if type(name) is not str:
        return FALLBACK
    extra.names[id(value)] = (value, name)
    return name


def _leaf_value(kind: int, extra: Any, value: Any) -> Any:
    """A present leaf value as graphql-core completes it, or FALLBACK."""
    kind_of = type(value)
    if kind == K_STR:
        return value if kind_of is str else FALLBACK
    if kind == K_INT:
        return value if kind_of is int and MIN_INT <= value <= MAX_INT else FALLBACK
    if kind == K_BOOL:
        return value if kind_of is bool else FALLBACK
    if kind == K_FLOAT:
        return value if kind_of is float and isfinite(value) else FALLBACK
    if kind == K_ENUM:
        hit = extra.names.get(id(value))
        return hit[1] if hit is not None and hit[0] is value else _enum_name(extra, value)
    if not (PLAIN_TYPES.get(kind_of) or plain_type(kind_of)):
        return FALLBACK
    try:
        coerced = extra(value)
    except Exception:
        return FALLBACK
    return FALLBACK if coerced is None or coerced is Undefined else coerced


def _object_list_value(row: Row, nullable: bool, value: Any, prefetched: Prefetched) -> Any:
    if type(value) is not list:
        return FALLBACK
    completed: list[Any] = []
    append = completed.append
    for item in value:
        if item is None:
            if not nullable:
                return FALLBACK
            append(None)
            continue
        if not (PLAIN_TYPES.get(type(item)) or plain_type(type(item))):
            return FALLBACK
        done = row(item, prefetched)
        if done is FALLBACK:
            return FALLBACK
        append(done)
    return completed


def _leaf_list_value(kind: int, nullable: bool, extra: Any, value: Any) -> Any:
    if type(value) is not list:
        return FALLBACK
    completed: list[Any] = []
    append = completed.append
    for item in value:
        if item is None:
            if not nullable:
                return FALLBACK
            append(None)
            continue
        if kind == K_STR and type(item) is str:
            append(item)
            continue
        done = _leaf_value(kind, extra, item)
        if done is FALLBACK:
            return FALLBACK
        append(done)
    return completed


# Compiled rows by plan: operations with the same selections share them (bounded).
_ROWS: dict[tuple[tuple[Entry, ...], type | None], Row] = {}
MAX_ROWS = 1024


def row_function(entries: list[Entry], document_type: type | None = None) -> Row:
    """The compiled function of a row plan (the same plan: the same function).

    `document_type`: the object type's class when it is document-backed
    (`schema.rows.document_rows`): a row of that class holding only its document is read
    straight from the document by the fields' own computations (no attribute, no descriptor).
    """
    key = (tuple(entries), document_type)
    row = _ROWS.get(key)
    if row is None:
        if len(_ROWS) >= MAX_ROWS:
            _ROWS.clear()
        row = _ROWS[key] = _compile_row(entries, document_type)
    return row


def _reads(
    entries: list[Entry], document_type: type | None, namespace: dict[str, Any]
) -> list[str]:
    """The lines reading each attribute entry's value into `v<index>`."""
    attributes = [
        (index, entry[1]) for index, entry in enumerate(entries)
        if entry[2] not in (K_TYPENAME, K_PREFETCHED)
    ]  # fmt: skip
    by_attribute = [f"        v{index} = src.{attribute}" for index, attribute in attributes]
    computes = DOCUMENT_FIELDS.get(document_type) if document_type is not None else None
    if not attributes or computes is None or any(a not in computes for _, a in attributes):
        return by_attribute
    namespace["C"] = document_type
    lines = [
        "        if type(src) is C and len(src.__dict__) == 1:",
        f"            d = src.{DOCUMENT}",
    ]
    for index, attribute in attributes:
        namespace[f"c{index}"] = computes[attribute]
        lines.append(f"            v{index} = c{index}(d)")
    return [*lines, "        else:", *(f"    {line}" for line in by_attribute)]


def _compile_row(entries: list[Entry], document_type: type | None) -> Row:
    """Python source for one row plan, compiled: one attribute read (or, for a row holding
    only its document, one computation from it) and an exact type test per field, the
    response dict built in one expression (no loop over the plan)."""
    namespace: dict[str, Any] = {
        "FB": FALLBACK, "Undefined": Undefined, "isfinite": isfinite, "MIN": MIN_INT,
        "MAX": MAX_INT, "PLAIN": PLAIN_TYPES, "plain_type": plain_type,
        "enum_name": _enum_name, "objects": _object_list_value, "leaves": _leaf_list_value,
    }  # fmt: skip
    if any(not entry[1].isidentifier() or iskeyword(entry[1]) for entry in entries if entry[1]):
        raise ValueError("row attributes are Python identifiers")  # Strawberry's python names
    lines = ["def row(src, pre):", "    try:", *_reads(entries, document_type, namespace)]
    keys = []
    for index, (response_name, _, kind, nullable, extra) in enumerate(entries):
        v = f"v{index}"
        keys.append(f"{response_name!r}: {v}")
        if kind == K_TYPENAME:
            namespace[f"x{index}"] = extra
            lines.append(f"        {v} = x{index}")
            continue
        if kind == K_PREFETCHED:
            # A batched field's value, resolved for the whole list before its rows; a row
            # whose source was not among them takes the general path (its own resolver).
            namespace[f"x{index}"] = extra[1]
            lines += [
                f"        hit = pre.get(({extra[0]!r}, id(src)))",
                "        if hit is None or hit[0] is not src:",
                "            return FB",
                f"        {v} = hit[1]",
            ]
        test = {
            K_STR: f"type({v}) is not str",
            K_INT: f"type({v}) is not int or not MIN <= {v} <= MAX",
            K_BOOL: f"type({v}) is not bool",
            K_FLOAT: f"type({v}) is not float or not isfinite({v})",
        }.get(kind)
        body: list[str]
        if test is not None:
            body = [f"if {test}:", "    return FB"]
        elif kind == K_ENUM:
            namespace[f"x{index}"] = extra
            namespace[f"n{index}"] = extra.names
            body = [
                f"hit = n{index}.get(id({v}))",
                f"if hit is not None and hit[0] is {v}:",
                f"    {v} = hit[1]",
                "else:",
                f"    {v} = enum_name(x{index}, {v})",
                f"    if {v} is FB:",
                "        return FB",
            ]
        elif kind == K_LEAF:
            namespace[f"x{index}"] = extra
            body = [
                f"if not (PLAIN.get(type({v})) or plain_type(type({v}))):",
                "    return FB",
                f"{v} = x{index}({v})",
                f"if {v} is None or {v} is Undefined:",
                "    return FB",
            ]
        elif kind in (K_OBJECT, K_PREFETCHED):
            if kind == K_OBJECT:
                namespace[f"x{index}"] = extra
            body = [
                f"if not (PLAIN.get(type({v})) or plain_type(type({v}))):",
                "    return FB",
                f"{v} = x{index}({v}, pre)",
                f"if {v} is FB:",
                "    return FB",
            ]
        elif kind == K_OBJECT_LIST:
            namespace[f"x{index}"] = extra[0]
            body = [
                f"{v} = objects(x{index}, {extra[1]!r}, {v}, pre)",
                f"if {v} is FB:",
                "    return FB",
            ]
        else:  # K_LEAF_LIST
            item_kind, item_nullable, item_extra = extra
            namespace[f"x{index}"] = item_extra
            body = [
                f"{v} = leaves({item_kind!r}, {item_nullable!r}, x{index}, {v})",
                f"if {v} is FB:",
                "    return FB",
            ]
        if nullable:
            lines.append(f"        if {v} is not None:")
            lines += [f"            {line}" for line in body]
        else:
            lines.append(f"        if {v} is None:")
            lines.append("            return FB")
            lines += [f"        {line}" for line in body]
    lines += ["    except Exception:", "        return FB", f"    return {{{', '.join(keys)}}}"]
    exec("\n".join(lines), namespace)  # noqa: S102 - source built above from the plan only
    function: Row = namespace["row"]
    return function


# Per value type: True when graphql-core would treat its values as plain (neither an
# awaitable, an exception nor Undefined), so they need no per-value check.
PLAIN_TYPES: dict[type, bool] = dict.fromkeys((str, int, float, bool, datetime, date), True)


def plain_value(value: Any) -> bool:
    return plain_type(type(value))


def plain_type(kind: type) -> bool:
    plain = PLAIN_TYPES.get(kind)
    if plain is None:
        plain = not (
            issubclass(kind, BaseException)
            or hasattr(kind, "__await__")
            or kind in (CoroutineType, GeneratorType, type(Undefined))
        )
        PLAIN_TYPES[kind] = plain
    return plain
