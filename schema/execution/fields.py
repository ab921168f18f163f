"""graphql-core's `execute_field`, with each field node's arguments coerced once.

On a list page, a field with arguments under each row (`members { history(first: 3) }`)
is executed once per row, and graphql-core coerces its arguments again each time: the same
literals and variables, the same answer. That coercion was a sixth of a 100-member history
page's CPU (issue 15). `ArgumentsOnce.execute_field` is graphql-core 3.3's `execute_field`
with one change: a field node's coerced arguments are kept for the rest of the operation
when every value is immutable (numbers, strings, booleans, enums, null), so no resolver can
change what the next row receives. Anything else (input objects, lists, fragment variables,
a coercion error) is coerced per row exactly as before.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.execution.executor import Executor
from graphql.execution.values import get_argument_values
from graphql.pyutils import AwaitableOrValue, Path, Undefined
from graphql.pyutils.undefined import UndefinedType

# Argument values a resolver cannot change in place.
IMMUTABLE = (int, float, str, bool, enum.Enum, type(None))


def immutable(values: Mapping[str, Any]) -> bool:
    """True when every value is one a resolver cannot change in place."""
    return all(isinstance(value, IMMUTABLE) for value in values.values())


def immutable_key(values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The values as a key (sorted by name) when every one is immutable, else None."""
    return tuple(sorted(values.items())) if immutable(values) else None


class ArgumentsOnce(Executor[Any]):
    """An executor mixin: arguments coerced once per field node and operation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Coerced arguments by id of the field node, kept alive beside them (so no other
        # node can take its id while the operation runs).
        self._arguments: dict[int, tuple[FieldNode, dict[str, Any]]] = {}

    def _arguments_of(
        self, field_def: GraphQLField, field_details_list: FieldDetailsList
    ) -> dict[str, Any]:
        first = field_details_list[0]
        node = first.node
        if not field_def.args and not node.arguments:
            return {}
        if first.fragment_variable_values is None:
            kept = self._arguments.get(id(node))
            if kept is not None:
                return kept[1]
        args = get_argument_values(
            field_def, node, self.variable_values, first.fragment_variable_values,
            self.hide_suggestions,
        )  # fmt: skip
        if first.fragment_variable_values is None and immutable(args):
            self._arguments[id(node)] = (node, args)
        return args

    def resolver_of(self, field_def: GraphQLField) -> Any:
        """The function resolving the field (with no field middleware installed)."""
        return field_def.resolve or self.field_resolver

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[Any] | UndefinedType:
        first_field_node = field_details_list[0].node
        field_def = self.schema.get_field(parent_type, first_field_node.name.value)
        if not field_def:
            return Undefined

        return_type = field_def.type
        if self.middleware_manager:
            resolve_fn = self.middleware_manager.get_field_resolver(
                field_def.resolve or self.field_resolver
            )
        else:
            resolve_fn = self.resolver_of(field_def)
        info = self.build_resolve_info(
            field_def, [details.node for details in field_details_list], parent_type, path
        )
        try:
            args = self._arguments_of(field_def, field_details_list)
            result = resolve_fn(source, info, **args)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, position_context
                )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return self.complete_resolved(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_resolved(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """The rest of graphql-core's `execute_field` once the resolver returned `result`
        (not awaitable): its completion, an error in it handled as the field's."""
        try:
            completed = self.complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _await_completed(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        """A completed value that was awaitable, an error in it handled as graphql-core does."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
