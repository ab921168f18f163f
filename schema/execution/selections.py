"""Selection plans: which fields of a selection set the executor reads itself.

A *plain* field is one graphql-core would resolve with Strawberry's basic resolver (`getattr`:
no resolver, permission, field extension or arguments): `FastExecutor` reads it and completes
it without graphql-core's per-field machinery. A selection set of an operation is compiled
once into its fields' plans (`compile_selection`), kept in a `Selection` with the row plan and
the batched fields found below it once asked.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

from graphql import (
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from strawberry.types.field import StrawberryField

from schema.execution.rows import UNKNOWN, Row

DEFINITION = "strawberry-definition"
# Types of completed values that are never awaitable (no awaitable check for them).
COMPLETED = frozenset({str, int, float, bool, dict, list})
# Selection-set plans one operation keeps at most.
MAX_PLANS = 512


class Item(NamedTuple):
    """The items of a plain list field: a leaf type or an object type without
    `is_type_of`, nullable or not."""

    item_type: GraphQLOutputType
    leaf: GraphQLLeafType | None
    object_type: GraphQLObjectType | None
    nullable: bool


class Plain(NamedTuple):
    """A plain field: the attribute to read, and the leaf type coercing it, the object
    type whose selection completes it (object types without `is_type_of` only), or
    for a list of such leaves or objects, its items."""

    attribute: str
    leaf: GraphQLLeafType | None
    object_type: GraphQLObjectType | None
    return_type: GraphQLOutputType
    nullable: bool
    items: Item | None = None
    coerce: Callable[[Any], Any] | None = None  # the leaf's coerce_output_value


# Leaf plans per object type, built once per type (a schema's types live as long as it).
_PLANS: weakref.WeakKeyDictionary[GraphQLObjectType, dict[str, Plain]] = (
    weakref.WeakKeyDictionary()
)


def _plain_leaf(field: Any) -> Plain | None:
    """The plan of a field that graphql-core would resolve with Strawberry's getattr."""
    if field.args or not getattr(field.resolve, "_is_default", False):
        return None
    definition = (field.extensions or {}).get(DEFINITION)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    if definition.default_resolver is not getattr or definition.is_subscription:
        return None
    inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if is_leaf_type(inner):
        leaf = inner
        return Plain(
            definition.python_name, leaf, None, field.type, inner is field.type,
            coerce=leaf.coerce_output_value,
        )  # fmt: skip
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return Plain(definition.python_name, None, inner, field.type, inner is field.type)
    if isinstance(inner, GraphQLList):
        item_type = inner.of_type
        item = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        nullable = item is item_type
        if is_leaf_type(item):
            items = Item(item_type, item, None, nullable)
        elif isinstance(item, GraphQLObjectType) and item.is_type_of is None:
            items = Item(item_type, None, item, nullable)
        else:
            return None  # lists of lists, abstract items, items with `is_type_of`
        return Plain(definition.python_name, None, None, field.type, inner is field.type, items)
    return None


def leaf_plans(parent_type: GraphQLObjectType) -> dict[str, Plain]:
    plans = _PLANS.get(parent_type)
    if plans is None:
        plans = {}
        for name, field in parent_type.fields.items():
            plan = _plain_leaf(field)
            if plan is not None:
                plans[name] = plan
        _PLANS[parent_type] = plans
    return plans


def compile_selection(
    parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
) -> list[tuple[str, FieldDetailsList, Plain | None]]:
    """Each response name of a selection with its plan (None: graphql-core executes it)."""
    plans = leaf_plans(parent_type)
    compiled = []
    for response_name, field_details_list in grouped_field_set.items():
        node = field_details_list[0].node
        plan = None if node.arguments else plans.get(node.name.value)
        compiled.append((response_name, field_details_list, plan))
    return compiled


class Selection:
    """One selection set of an operation: its fields' plans and, once asked, its row plan."""

    __slots__ = ("batches", "fields", "grouped_field_set", "row")

    def __init__(
        self,
        grouped_field_set: GroupedFieldSet,
        fields: list[tuple[str, FieldDetailsList, Plain | None]],
    ) -> None:
        self.grouped_field_set = grouped_field_set
        self.fields = fields
        self.row: Row | None = UNKNOWN
        self.batches: list[Any] = UNKNOWN  # the batched fields below (schema.execution.prefetch)
