"""The executor: graphql-core's, with a fast path for plain leaf fields.

Most fields of a list page are plain attribute reads of a scalar or enum (`Product.name`,
`Member.status`): Strawberry's basic resolver (`getattr`, no resolver, no permission, no
field extension) and a leaf type. For each of them graphql-core builds a path, a resolve
info, calls the resolver, checks for awaitables and walks `complete_value`, a few
microseconds per field and most of an operation's CPU on a 50-row page (issue 15).

`FastExecutor.execute_fields` reads such a field's attribute itself and coerces it with
the type's own `coerce_output_value`. It takes the fast path only when that gives exactly
what graphql-core would: a value that is neither None, Undefined nor an exception, and a
coercion that returns a value (not None/Undefined) without raising. Everything else (None
on any field, a coercion error, fields with arguments, resolvers or permissions, objects,
lists) completes through graphql-core's own code with the value already read, so errors,
their paths and null propagation are graphql-core's. `tests/test_fast_execution.py` runs
an operation corpus under both executors and compares the responses byte for byte.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable
from datetime import date, datetime
from typing import Any, NamedTuple

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

DEFINITION = "strawberry-definition"
# Types of attribute values that are never awaitable (no awaitable check for them).
NEVER_AWAITABLE = frozenset({str, int, float, bool, datetime, date})


class _Plain(NamedTuple):
    """A plain field: the attribute to read, and the leaf type coercing it or the object
    type whose selection completes it (object types without `is_type_of` only)."""

    attribute: str
    leaf: GraphQLLeafType | None
    object_type: GraphQLObjectType | None
    return_type: GraphQLOutputType
    nullable: bool


# Leaf plans per object type, built once per type (a schema's types live as long as it).
_PLANS: weakref.WeakKeyDictionary[GraphQLObjectType, dict[str, _Plain]] = (
    weakref.WeakKeyDictionary()
)


def _plain_leaf(field: Any) -> _Plain | None:
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
        return _Plain(definition.python_name, inner, None, field.type, inner is field.type)
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return _Plain(definition.python_name, None, inner, field.type, inner is field.type)
    return None


def leaf_plans(parent_type: GraphQLObjectType) -> dict[str, _Plain]:
    plans = _PLANS.get(parent_type)
    if plans is None:
        plans = {}
        for name, field in parent_type.fields.items():
            plan = _plain_leaf(field)
            if plan is not None:
                plans[name] = plan
        _PLANS[parent_type] = plans
    return plans


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; plain leaf fields skip the per-field machinery."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            # A field middleware (an extension's `resolve`) must see every field.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plans = leaf_plans(parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                plan = plans.get(node.name.value) if not node.arguments else None
                value = _read(source_value, plan) if plan is not None else Undefined
                if (
                    plan is None
                    or value is Undefined
                    or (type(value) not in NEVER_AWAITABLE and is_awaitable(value))
                ):
                    # Not a plain field, or a read graphql-core must see fail or await itself.
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                elif value is None and plan.nullable:
                    results[response_name] = None
                    continue
                elif value is None or isinstance(value, Exception):
                    result = self._complete_read(
                        parent_type, plan, field_details_list,
                        Path(path, response_name, parent_type.name), value, position_context,
                    )  # fmt: skip
                elif plan.leaf is not None:
                    coerced = _coerced(plan.leaf, value)
                    if coerced is not Undefined:
                        results[response_name] = coerced
                        continue
                    result = self._complete_read(
                        parent_type, plan, field_details_list,
                        Path(path, response_name, parent_type.name), value, position_context,
                    )  # fmt: skip
                else:
                    result = self._complete_object(
                        plan, field_details_list,
                        Path(path, response_name, parent_type.name), value, position_context,
                    )  # fmt: skip
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                # As graphql-core: settle the awaitables of other fields, which may fail too.
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _complete_read(
        self,
        parent_type: GraphQLObjectType,
        plan: _Plain,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_field` after its resolver call, for a value read here."""
        nodes = [details.node for details in field_details_list]
        field_def = parent_type.fields[nodes[0].name.value]
        info = self.build_resolve_info(field_def, nodes, parent_type, path)
        try:
            completed = self.complete_value(
                plan.return_type, field_details_list, info, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):  # pragma: no cover - leaves complete synchronously
            return self._await_completed(completed, plan.return_type, field_details_list, path)
        return completed

    def _complete_object(
        self,
        plan: _Plain,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `complete_value` of a present object without `is_type_of`: its
        sub-selection; an error below is this field's (null, or raised on to its parent)."""
        object_type = plan.object_type
        if object_type is None:  # pragma: no cover - only object plans come here
            raise TypeError("not an object field")
        try:
            completed = self.collect_and_execute_subfields(
                object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(completed, plan.return_type, field_details_list, path)
        return completed

    async def _await_completed(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


def _read(source: Any, plan: _Plain) -> Any:
    """The attribute, or Undefined when reading it raises (graphql-core reads it again and
    reports the error at the field)."""
    try:
        return getattr(source, plan.attribute)
    except Exception:
        return Undefined


def _coerced(leaf: GraphQLLeafType, value: Any) -> Any:
    """The leaf's output value of a present value, or Undefined where graphql-core's
    completion must decide (a coercion that fails or gives null: it raises the error)."""
    try:
        coerced = leaf.coerce_output_value(value)
    except Exception:
        return Undefined
    return Undefined if coerced is None else coerced
