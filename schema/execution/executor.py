"""The executor: graphql-core's, with a fast path for plain fields and lists.

Most fields of a list page are plain attribute reads (`Product.name`, `Edge.node`,
`Connection.edges`): Strawberry's basic resolver (`getattr`, no resolver, no permission, no
field extension). For each of them graphql-core builds a path, a resolve info, calls the
resolver, checks for awaitables and walks `complete_value`, and for each list item
`complete_list_item_value`: a few microseconds per field and item, most of an operation's
CPU on a 50-row page (issue 15).

`FastExecutor.execute_fields` compiles each selection set once per operation (or once for
all executions of a cached operation: `schema.execution.operations`) into its fields' plans
(`schema.execution.selections`), reads a plain field's attribute itself, coerces a leaf
with the type's own `coerce_output_value`, goes straight to the sub-selection of a plain
object (no `is_type_of`) and completes a plain list of leaves or plain objects in one
loop. It takes
the fast path only when that gives exactly what graphql-core would; everything else (None
on a non-null field or item, a coercion error or null, exceptions, awaitables, fields with
arguments, resolvers, permissions or directives, abstract types, lists of lists, values that
are not lists) completes through graphql-core's own code with the value already read, so
errors, their paths and null propagation are graphql-core's. `tests/test_fast_execution.py`
runs an operation corpus under both executors and compares the responses byte for byte.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Sequence
from functools import partial
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfoHelpers,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution.prefetch import Prefetching, batch_of
from schema.execution.resolvers import direct_resolver
from schema.execution.roots import FastRoots
from schema.execution.rows import (
    FALLBACK,
    K_LEAF_LIST,
    K_OBJECT,
    K_OBJECT_LIST,
    K_PREFETCHED,
    K_TYPENAME,
    PLAIN_TYPES,
    UNKNOWN,
    Entry,
    Row,
    leaf_kind,
    plain_type,
    plain_value,
    row_function,
)
from schema.execution.selections import (
    COMPLETED,
    DEFINITION,
    MAX_PLANS,
    Item,
    Plain,
    Selection,
    compile_selection,
)


def _helpers_without_cycle(
    executor: StrawberryGraphQLCoreExecutionContext,
) -> GraphQLResolveInfoHelpers:
    """graphql-core's resolver helpers, reaching the executor through a weak reference.

    graphql-core stores bound methods of the executor on the executor: a reference cycle
    that kept every operation (its context, loaders and documents) alive until the cyclic
    collector ran, so a request's rows were promoted and paid for in full collections (issue
    15: a third of a `history` page's CPU was `gc`). Without the cycle, reference counting
    frees an operation as soon as its response is built.
    """
    reference = weakref.ref(executor)

    def live() -> StrawberryGraphQLCoreExecutionContext:
        current = reference()
        if current is None:  # pragma: no cover - resolvers run while their executor does
            raise RuntimeError("the operation's executor has finished")
        return current

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return live().gather_async_work(values)

    def track(values: Sequence[Any]) -> None:
        live().track_async_work(values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


class FastExecutor(Prefetching, FastRoots, StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; plain fields skip the per-field machinery, a field's
    arguments are coerced once per operation (`schema.execution.fields`), batched fields
    are resolved once per list (`schema.execution.prefetch`), the executions of a
    cached operation share its plan (`schema.execution.operations`), and a planned
    one-field query is resolved and completed directly (`schema.execution.roots`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _helpers_without_cycle(self)
        self._strawberry_schema = getattr(self.schema, "_strawberry_schema", None)
        # Plans per selection set (graphql-core memoizes the selection sets per field, so
        # the rows of a list share one): keyed by id, kept alive here; in the operation's
        # plan when it has one, so its executions compile each selection once.
        self._compiled: dict[int, Selection] = (
            self._plan.selections if self._plan is not None else {}
        )

    def resolver_of(self, field_def: GraphQLField) -> Any:
        # Strawberry's resolver without its per-call wrapper chain, where that is the same.
        direct = direct_resolver(field_def, self._strawberry_schema)
        return direct if direct is not None else super().resolver_of(field_def)

    def _selection(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> Selection:
        selection = self._compiled.get(id(grouped_field_set))
        if selection is None or selection.grouped_field_set is not grouped_field_set:
            fields = compile_selection(parent_type, grouped_field_set)
            selection = Selection(grouped_field_set, fields)
            if len(self._compiled) >= MAX_PLANS:
                # A subscription's per-event executors share this dict (graphql-core copies
                # the executor) and collect new selection sets per event: keep it bounded.
                self._compiled.clear()
            self._compiled[id(grouped_field_set)] = selection
        return selection

    def _row_of(self, parent_type: GraphQLObjectType, selection: Selection) -> Row | None:
        """The selection's row plan (None: some field needs graphql-core), built once."""
        row = selection.row
        if row is UNKNOWN:
            row = selection.row = self._build_row(parent_type, selection)
        return row

    def _build_row(self, parent_type: GraphQLObjectType, selection: Selection) -> Row | None:
        entries: list[Entry] = []
        for response_name, field_details_list, plan in selection.fields:
            if any(details.node.directives for details in field_details_list):
                return None
            if plan is not None and any(details.node.arguments for details in field_details_list):
                return None
            if plan is None:
                if field_details_list[0].node.name.value == "__typename":
                    entries.append((response_name, "", K_TYPENAME, False, parent_type.name))
                    continue
                prefetched = self._prefetched_entry(parent_type, response_name, field_details_list)
                if prefetched is None:
                    return None
                entries.append(prefetched)
                continue
            if plan.leaf is not None:
                kind, extra = leaf_kind(plan.leaf)
                entries.append((response_name, plan.attribute, kind, plan.nullable, extra))
            elif plan.object_type is not None:
                sub = self._sub_row(plan.object_type, field_details_list)
                if sub is None:
                    return None
                entries.append((response_name, plan.attribute, K_OBJECT, plan.nullable, sub))
            elif plan.items is not None:
                items = plan.items
                if items.leaf is not None:
                    kind, extra = leaf_kind(items.leaf)
                    item_extra: Any = (kind, items.nullable, extra)
                    entries.append(
                        (response_name, plan.attribute, K_LEAF_LIST, plan.nullable, item_extra)
                    )
                else:
                    object_type = items.object_type
                    if object_type is None:  # pragma: no cover - leaf or object items only
                        return None
                    sub = self._sub_row(object_type, field_details_list)
                    if sub is None:
                        return None
                    entries.append(
                        (response_name, plan.attribute, K_OBJECT_LIST, plan.nullable,
                         (sub, items.nullable))
                    )  # fmt: skip
            else:  # pragma: no cover - every plan is one of the three
                return None
        definition = (parent_type.extensions or {}).get(DEFINITION)
        return row_function(entries, getattr(definition, "origin", None))

    def _prefetched_entry(
        self,
        parent_type: GraphQLObjectType,
        response_name: str,
        field_details_list: FieldDetailsList,
    ) -> Entry | None:
        """A batched field of a plain object type as a row entry: its value comes from the
        list's batch (a row whose source has none falls back to the general path)."""
        batch = batch_of(parent_type, field_details_list, (), self.schema)
        if batch is None:
            return None
        return_type = batch.field_def.type
        inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if not isinstance(inner, GraphQLObjectType) or inner.is_type_of is not None:
            return None
        sub = self._sub_row(inner, field_details_list)
        if sub is None:
            return None
        node_id = id(field_details_list[0].node)
        return (response_name, "", K_PREFETCHED, inner is return_type, (node_id, sub))

    def _sub_row(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Row | None:
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            object_type, field_details_list
        )
        if new_defer_usages:
            return None
        return self._row_of(object_type, self._selection(object_type, grouped_field_set))

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
        selection = self._selection(parent_type, grouped_field_set)
        if position_context is None:
            row = selection.row
            if row is UNKNOWN:
                row = self._row_of(parent_type, selection)
            if row is not None:
                done = row(source_value, self._prefetched)
                if done is not FALLBACK:
                    return done  # type: ignore[no-any-return]
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        plain_types = PLAIN_TYPES
        try:
            for response_name, field_details_list, plan in selection.fields:
                if plan is None:
                    value = Undefined
                else:
                    try:
                        value = getattr(source_value, plan.attribute)
                    except Exception:
                        value = Undefined  # graphql-core reads again and reports the error
                if value is None and plan is not None:
                    if plan.nullable:
                        results[response_name] = None
                        continue
                    result = self._complete_read(
                        parent_type, field_details_list,
                        Path(path, response_name, parent_type.name), value, position_context,
                    )  # fmt: skip
                elif plan is None or not (plain_types.get(type(value)) or plain_value(value)):
                    if plan is not None and isinstance(value, Exception):
                        result = self._complete_read(
                            parent_type, field_details_list,
                            Path(path, response_name, parent_type.name), value,
                            position_context,
                        )  # fmt: skip
                    else:
                        # Not a plain field, or a read graphql-core must see fail or await.
                        result = self.execute_field(
                            parent_type,
                            source_value,
                            field_details_list,
                            Path(path, response_name, parent_type.name),
                            position_context,
                        )
                elif plan.coerce is not None:
                    try:
                        coerced = plan.coerce(value)
                    except Exception:
                        coerced = None
                    if coerced is not None and coerced is not Undefined:
                        results[response_name] = coerced
                        continue
                    # A coercion that fails or gives null: graphql-core raises its error.
                    result = self._complete_read(
                        parent_type, field_details_list,
                        Path(path, response_name, parent_type.name), value, position_context,
                    )  # fmt: skip
                elif plan.items is not None:
                    result = self._complete_list(
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
                    if type(result) not in COMPLETED and is_awaitable(result):
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
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_field` with the resolver's value already in hand (read
        here, or resolved by a batch): its completion, errors handled as the field's."""
        nodes = [details.node for details in field_details_list]
        field_def = parent_type.fields[nodes[0].name.value]
        info = self.build_resolve_info(field_def, nodes, parent_type, path)
        return self.complete_resolved(
            field_def.type, field_details_list, info, path, value, position_context
        )

    def _complete_object(
        self,
        plan: Plain,
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

    def _complete_list(
        self,
        parent_type: GraphQLObjectType,
        plan: Plain,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `complete_list_value` of a present list of leaves or plain
        objects, in one loop. A list it would complete differently (not a `list`, an item
        that is null where it must not be, awaitable, an exception, a leaf that does not
        coerce, a field with a directive such as `@stream`) is handed to graphql-core
        whole before any item is completed, so its errors and paths are graphql-core's."""
        items = plan.items
        if items is None:  # pragma: no cover - only list plans come here
            raise TypeError("not a list field")
        if type(value) is not list or not _list_items_plain(value, items, field_details_list):
            return self._complete_read(
                parent_type, field_details_list, path, value, position_context
            )
        leaf = items.leaf
        if leaf is not None:
            coerced: list[Any] = []
            for item in value:
                if item is None:
                    coerced.append(None)
                    continue
                leaf_value = _coerced(leaf, item)
                if leaf_value is Undefined:
                    # A coercion that fails or gives null: graphql-core raises its error.
                    return self._complete_read(
                        parent_type, field_details_list, path, value, position_context
                    )
                coerced.append(leaf_value)
            return coerced
        try:
            completed = self._complete_object_items(
                items, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.return_type, field_details_list, path)
            return None
        if completed is Undefined:
            return self._complete_read(
                parent_type, field_details_list, path, value, position_context
            )
        if self.is_awaitable(completed):
            # As graphql-core's `execute_field`: an item's error raised on to the list is
            # this field's (null when it may be, else raised on to its parent).
            return self._await_completed(completed, plan.return_type, field_details_list, path)
        return completed

    def _complete_object_items(
        self,
        items: Item,
        field_details_list: FieldDetailsList,
        path: Path,
        value: list[Any],
        position_context: Any,
    ) -> Any:
        """`complete_iterable_value` + `complete_list_item_value` for object items that are
        present or allowed to be null (checked by the caller). Batched fields below the
        items are resolved first, once for the whole list (`schema.execution.batch`)."""
        object_type = items.object_type
        if object_type is None:  # pragma: no cover - only object items come here
            raise TypeError("not an object list")
        try:
            grouped_field_set, new_defer_usages, _ = self.collect_subfields(
                object_type, field_details_list
            )
        except Exception:
            return Undefined  # graphql-core raises it, with the first item's path
        plain = not new_defer_usages and position_context is None
        selection = self._selection(object_type, grouped_field_set)
        row = self._row_of(object_type, selection) if plain else None
        if plain and value:
            prefetching = self._prefetch_below(object_type, selection, value, path)
            if prefetching is not None:
                return self._after(
                    prefetching,
                    partial(
                        self._complete_items, object_type, items, field_details_list, path,
                        value, grouped_field_set, (), None, row,
                    ),
                )  # fmt: skip
        return self._complete_items(
            object_type, items, field_details_list, path, value, grouped_field_set,
            new_defer_usages, position_context, row,
        )  # fmt: skip

    def _complete_items(
        self,
        object_type: GraphQLObjectType,
        items: Item,
        field_details_list: FieldDetailsList,
        path: Path,
        value: list[Any],
        grouped_field_set: GroupedFieldSet,
        new_defer_usages: Any,
        position_context: Any,
        row: Row | None,
    ) -> Any:
        execute = self.execute_collected_subfields
        is_awaitable = self.is_awaitable
        prefetched = self._prefetched
        item_type = items.item_type
        completed: list[Any] = []
        append = completed.append
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(value):
                if item is None:
                    append(None)
                    continue
                if row is not None:
                    done = row(item, prefetched)
                    if done is not FALLBACK:
                        append(done)
                        continue
                item_path = Path(path, index, None)
                try:
                    result = execute(
                        object_type, item, item_path, grouped_field_set, new_defer_usages,
                        position_context,
                    )  # fmt: skip
                except Exception as raw_error:
                    # Raises again for a non-null item: the list field's error then.
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    append(None)
                    continue
                if is_awaitable(result):
                    append(self._await_completed(result, item_type, field_details_list, item_path))
                    awaitable_indices.append(index)
                else:
                    append(result)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed

        async def get_completed() -> list[Any]:
            if len(awaitable_indices) == 1:
                index = awaitable_indices[0]
                completed[index] = await completed[index]
            else:
                awaited = await gather_with_cancel(*(completed[i] for i in awaitable_indices))
                for index, sub_result in zip(awaitable_indices, awaited, strict=True):
                    completed[index] = sub_result
            return completed

        return get_completed()


def _list_items_plain(value: list[Any], items: Item, field_details_list: FieldDetailsList) -> bool:
    """True when every item is plain (or null where null is allowed) and no field node
    carries a directive (`@stream` is graphql-core's to handle)."""
    for details in field_details_list:
        if details.node.directives:
            return False
    nullable = items.nullable
    for item in value:
        if item is None:
            if not nullable:
                return False
        elif not plain_type(type(item)):
            return False
    return True


def _coerced(leaf: GraphQLLeafType, value: Any) -> Any:
    """The leaf's output value of a present value, or Undefined where graphql-core's
    completion must decide (a coercion that fails or gives null: it raises the error)."""
    try:
        coerced = leaf.coerce_output_value(value)
    except Exception:
        return Undefined
    return Undefined if coerced is None else coerced
