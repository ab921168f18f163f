"""A planned query's root field resolved and completed without the per-field machinery.

Most requests are one root field (`fans(first: 20) { … }`) whose value completes as one
compiled row. graphql-core still walks it through `collect_fields`, `execute_fields`,
`execute_field`, `complete_awaitable_value`, `complete_value`, `complete_object_value` and
`collect_and_execute_subfields` before the row runs, three coroutine frames deep (issue 15:
for a small page, more than the page itself). `FastRoots.execute_operation` answers such an
operation, from its second execution on (its operation plan then holds the collected root
fields), by resolving the field with its direct resolver and completing the value with the
field's row; anything the row does not complete exactly (a null, a value of another type, an
error) goes to the executor's own completion of that value (`complete_resolved`), and an
error of the resolver or its arguments is handled by `handle_field_error`, so data, errors
and null propagation are graphql-core's. Planned queries only (not mutations), with one
root field besides `__typename`s, no directive on a root field or the operation, an object
type without `is_type_of`, no abort signal and no field middleware; any other operation
runs as before.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    OperationType,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path

from schema.execution.fields import ArgumentsOnce
from schema.execution.operations import OperationPlan, PlannedOperations
from schema.execution.resolvers import Resolve, direct_resolver
from schema.execution.rows import FALLBACK, UNKNOWN, Row


class RootField(NamedTuple):
    """The one resolved root field of a planned query."""

    response_name: str
    field_details_list: FieldDetailsList
    field_def: GraphQLField
    return_type: GraphQLOutputType
    resolve: Resolve
    row: Row


class FastRoot(NamedTuple):
    """How a planned query is answered: its response names in order, the resolved field
    (None: only `__typename`s), the root type."""

    names: tuple[str, ...]
    field: RootField | None
    root_type: GraphQLObjectType


class FastRoots(PlannedOperations, ArgumentsOnce):
    """An executor mixin answering planned one-field queries (see the module docstring);
    the executor provides the rows and the completion of a value in hand."""

    _prefetched: dict[tuple[int, int], tuple[Any, Any]]

    def _sub_row(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Row | None:
        raise NotImplementedError

    def execute_operation(self, serially: bool | None = None) -> AwaitableOrValue[Any]:
        plan = self._plan
        root = None if plan is None else plan.fast_root
        if root is UNKNOWN:
            root = self._fast_root(plan)  # type: ignore[arg-type]
        if root is None or root is UNKNOWN or self.abort_signal is not None:
            return super().execute_operation(serially)
        field = root.field
        if field is None:
            return self.finish(self.build_response(dict.fromkeys(root.names, root.root_type.name)))
        return self._resolve_root(root, field)

    def _fast_root(self, plan: OperationPlan) -> FastRoot | Any | None:
        """The plan's fast root, once its root fields are collected (UNKNOWN before)."""
        grouped_field_set = plan.root
        if grouped_field_set is None:
            return UNKNOWN  # the first execution collects them
        plan.fast_root = None
        operation = self.operation
        root_type = self.schema.query_type
        if (
            operation.operation is not OperationType.QUERY
            or operation.directives
            or root_type is None
            or (self.middleware_manager is not None and self.middleware_manager.middlewares)
        ):
            return None
        field: RootField | None = None
        for response_name, field_details_list in grouped_field_set.items():
            nodes = [details.node for details in field_details_list]
            if any(node.directives for node in nodes):
                return None
            if nodes[0].name.value == "__typename":
                continue
            if field is not None:
                return None  # more than one root field: graphql-core's concurrency
            field_def = root_type.fields.get(nodes[0].name.value)
            if field_def is None:
                return None
            resolve = direct_resolver(field_def, getattr(self.schema, "_strawberry_schema", None))
            return_type = field_def.type
            inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
            if (
                resolve is None
                or not isinstance(inner, GraphQLObjectType)
                or inner.is_type_of is not None
            ):
                return None
            row = self._sub_row(inner, field_details_list)
            if row is None:
                return None
            field = RootField(
                response_name, field_details_list, field_def, return_type, resolve, row
            )
        plan.fast_root = FastRoot(tuple(grouped_field_set), field, root_type)
        return plan.fast_root

    async def _resolve_root(self, root: FastRoot, field: RootField) -> Any:
        """graphql-core's execution of the one root field, its value completed by the row
        where the row completes it exactly, else by the executor's own completion."""
        field_details_list, return_type = field.field_details_list, field.return_type
        path = Path(None, field.response_name, root.root_type.name)
        info = self.build_resolve_info(
            field.field_def, [details.node for details in field_details_list],
            root.root_type, path,
        )  # fmt: skip
        try:
            try:
                arguments = self._arguments_of(field.field_def, field_details_list)
                value = await field.resolve(self.root_value, info, **arguments)
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, field_details_list, path)
                completed = None
            else:
                completed = FALLBACK if value is None else field.row(value, self._prefetched)
                if completed is FALLBACK:
                    completed = self.complete_resolved(
                        return_type, field_details_list, info, path, value, None
                    )
                    if self.is_awaitable(completed):
                        completed = await completed
        except GraphQLError as error:
            # A null raised on from a non-null root field: the whole data is null.
            self.collected_errors.add(error, None)
            return self.build_response(None)
        except Exception:
            await self.cancel_incremental_work()
            self.run_async_work_finished_hook()
            raise
        data = {
            name: completed if name == field.response_name else root.root_type.name
            for name in root.names
        }
        return self.build_response(data)
