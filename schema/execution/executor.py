"""The executor: graphql-core's, with a fast path for plain fields and lists.

Most fields of a list page are plain attribute reads (`Product.name`, `Edge.node`,
`Connection.edges`): Strawberry's basic resolver (`getattr`, no resolver, no permission, no
field extension). For each of them graphql-core builds a path, a resolve info, calls the
resolver, checks for awaitables and walks `complete_value`, and for each list item
`complete_list_item_value`: a few microseconds per field and item, most of an operation's
CPU on a 50-row page (issue 15).

`FastExecutor.execute_fields` compiles each selection set once per operation into its
fields' plans, reads a plain field's attribute itself, coerces a leaf with the type's own
`coerce_output_value`, goes straight to the sub-selection of a plain object (no
`is_type_of`) and completes a plain list of leaves or plain objects in one loop. It takes
the fast path only when that gives exactly what graphql-core would; everything else (None
on a non-null field or item, a coercion error or null, exceptions, awaitables, fields with
arguments, resolvers, permissions or directives, abstract types, lists of lists, values that
are not lists) completes through graphql-core's own code with the value already read, so
errors, their paths and null propagation are graphql-core's. `tests/test_fast_execution.py`
runs an operation corpus under both executors and compares the responses byte for byte.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

from graphql import (
    BREAK,
    DirectiveNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    ValueNode,
    VariableNode,
    Visitor,
    is_leaf_type,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from graphql.pyutils.undefined import UndefinedType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from schema.execution.batch import BatchResolver, batch_resolver
from schema.execution.fields import IMMUTABLE, ArgumentsOnce
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

DEFINITION = "strawberry-definition"
# Types of completed values that are never awaitable (no awaitable check for them).
COMPLETED = frozenset({str, int, float, bool, dict, list})
# Selection-set plans one operation keeps at most.
MAX_PLANS = 512
# How deep below a list item (through plain object fields) batched fields are looked for.
MAX_BATCH_DEPTH = 3


class _Item(NamedTuple):
    """The items of a plain list field: a leaf type or an object type without
    `is_type_of`, nullable or not."""

    item_type: GraphQLOutputType
    leaf: GraphQLLeafType | None
    object_type: GraphQLObjectType | None
    nullable: bool


class _Plain(NamedTuple):
    """A plain field: the attribute to read, and the leaf type coercing it, the object
    type whose selection completes it (object types without `is_type_of` only), or
    for a list of such leaves or objects, its items."""

    attribute: str
    leaf: GraphQLLeafType | None
    object_type: GraphQLObjectType | None
    return_type: GraphQLOutputType
    nullable: bool
    items: _Item | None = None
    coerce: Callable[[Any], Any] | None = None  # the leaf's coerce_output_value


class _Batch(NamedTuple):
    """A batched field below the items of a list: the plain attributes leading from an
    item to the field's source, the source's type, and the field."""

    attributes: tuple[str, ...]
    parent_type: GraphQLObjectType
    field_details_list: FieldDetailsList
    field_def: GraphQLField
    definition: StrawberryField
    resolver: BatchResolver


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
        leaf = inner
        return _Plain(
            definition.python_name, leaf, None, field.type, inner is field.type,
            coerce=leaf.coerce_output_value,
        )  # fmt: skip
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return _Plain(definition.python_name, None, inner, field.type, inner is field.type)
    if isinstance(inner, GraphQLList):
        item_type = inner.of_type
        item = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        nullable = item is item_type
        if is_leaf_type(item):
            items = _Item(item_type, item, None, nullable)
        elif isinstance(item, GraphQLObjectType) and item.is_type_of is None:
            items = _Item(item_type, None, item, nullable)
        else:
            return None  # lists of lists, abstract items, items with `is_type_of`
        return _Plain(definition.python_name, None, None, field.type, inner is field.type, items)
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


def _compile(
    parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
) -> list[tuple[str, FieldDetailsList, _Plain | None]]:
    """Each response name of a selection with its plan (None: graphql-core executes it)."""
    plans = leaf_plans(parent_type)
    compiled = []
    for response_name, field_details_list in grouped_field_set.items():
        node = field_details_list[0].node
        plan = None if node.arguments else plans.get(node.name.value)
        compiled.append((response_name, field_details_list, plan))
    return compiled


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


class _OperationPlan:
    """What the executions of one operation share when its field collection cannot depend
    on variables (no variable in a directive, no `@defer`/`@stream`, no fragment arguments):
    the root fields collected by its first execution, the collected sub-fields and the
    compiled selections. A cached document is executed again and again (issue 15): its
    fields are then collected and compiled once, not per request."""

    __slots__ = ("operation", "root", "selections", "static", "sub_fields")

    def __init__(self, operation: OperationDefinitionNode, static: bool) -> None:
        self.operation = operation  # kept alive: plans are found by its id
        self.static = static
        self.root: GroupedFieldSet | None = None
        self.sub_fields: dict[Any, Any] = {}
        self.selections: dict[int, _Selection] = {}


# Plans per operation, kept on each schema (they hold its types) and bounded.
PLANS_ATTRIBUTE = "_gateway_operation_plans"
MAX_OPERATION_PLANS = 256


def _operation_plan(
    schema: Any,
    operation: OperationDefinitionNode,
    fragment_definitions: dict[str, FragmentDefinitionNode],
) -> _OperationPlan | None:
    plans: dict[int, _OperationPlan] | None = getattr(schema, PLANS_ATTRIBUTE, None)
    if plans is None:
        plans = {}
        setattr(schema, PLANS_ATTRIBUTE, plans)
    plan = plans.get(id(operation))
    if plan is None or plan.operation is not operation:
        if len(plans) >= MAX_OPERATION_PLANS:
            plans.clear()
        static = _collection_is_static(operation, fragment_definitions)
        plan = plans[id(operation)] = _OperationPlan(operation, static)
    return plan if plan.static else None


def _collection_is_static(
    operation: OperationDefinitionNode, fragment_definitions: dict[str, FragmentDefinitionNode]
) -> bool:
    """Whether collecting the operation's fields gives the same result for any variables."""

    class Finder(Visitor):
        dynamic = False

        def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
            if node.name.value in ("defer", "stream") or any(
                _has_variable(argument.value) for argument in node.arguments or ()
            ):
                self.dynamic = True
                return BREAK
            return None

        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> Any:
            if getattr(node, "arguments", None):
                self.dynamic = True
                return BREAK
            return None

    if any(getattr(f, "variable_definitions", None) for f in fragment_definitions.values()):
        return False  # fragment arguments (experimental)
    for node in (operation, *fragment_definitions.values()):
        finder = Finder()
        visit(node, finder)
        if finder.dynamic:
            return False
    return True


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(field.value) for field in value.fields)
    return False


class FastExecutor(ArgumentsOnce, StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; plain fields skip the per-field machinery, and a field's
    arguments are coerced once per operation (`schema.execution.fields`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _helpers_without_cycle(self)
        # Plans per selection set of this operation (graphql-core memoizes the selection
        # sets per field, so the rows of a list share one): keyed by id, kept alive here.
        self._compiled: dict[int, _Selection] = {}
        # Values of batched fields resolved for a whole list, by (id of the field node, id
        # of the source): (source, value), the source kept alive beside its id.
        self._prefetched: dict[tuple[int, int], tuple[Any, Any]] = {}
        self._plan = _operation_plan(self.schema, self.operation, self.fragment_definitions)
        if self._plan is not None:
            # Collected and compiled once for all executions of the operation.
            self._relevant_sub_fields = self._plan.sub_fields
            self._compiled = self._plan.selections

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        new_defer_usages: Sequence[Any],
    ) -> AwaitableOrValue[dict[str, Any]]:
        plan = self._plan
        if plan is not None and not new_defer_usages:
            # The operation's first collection stands for this one (the same fields, for
            # any variables), so its sub-fields and selections are found in the plan.
            if plan.root is None:
                plan.root = grouped_field_set
            else:
                grouped_field_set = plan.root
        return super().execute_collected_root_fields(
            root_type, root_value, grouped_field_set, serially, new_defer_usages
        )

    def _selection(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> _Selection:
        selection = self._compiled.get(id(grouped_field_set))
        if selection is None or selection.grouped_field_set is not grouped_field_set:
            selection = _Selection(grouped_field_set, _compile(parent_type, grouped_field_set))
            if len(self._compiled) >= MAX_PLANS:
                # A subscription's per-event executors share this dict (graphql-core copies
                # the executor) and collect new selection sets per event: keep it bounded.
                self._compiled.clear()
            self._compiled[id(grouped_field_set)] = selection
        return selection

    def _row_of(self, parent_type: GraphQLObjectType, selection: _Selection) -> Row | None:
        """The selection's row plan (None: some field needs graphql-core), built once."""
        row = selection.row
        if row is UNKNOWN:
            row = selection.row = self._build_row(parent_type, selection)
        return row

    def _build_row(self, parent_type: GraphQLObjectType, selection: _Selection) -> Row | None:
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
        batch = _batch_of(parent_type, field_details_list, (), self.schema)
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

    def _complete_list(
        self,
        parent_type: GraphQLObjectType,
        plan: _Plain,
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
        items: _Item,
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

    async def _after(
        self, prefetching: Awaitable[None], complete: Callable[[], AwaitableOrValue[list[Any]]]
    ) -> list[Any]:
        """A list's items completed once the batched fields below them are resolved."""
        await prefetching
        completed = complete()
        if self.is_awaitable(completed):
            completed = await completed
        return completed  # type: ignore[return-value]

    def _complete_items(
        self,
        object_type: GraphQLObjectType,
        items: _Item,
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

    # --- batched fields (schema.execution.batch) -----------------------------------------

    def _batches_of(
        self,
        parent_type: GraphQLObjectType,
        selection: _Selection,
        attributes: tuple[str, ...],
        depth: int,
    ) -> list[_Batch]:
        """The batched fields of a selection and of its plain objects' selections."""
        found: list[_Batch] = []
        for _, field_details_list, plan in selection.fields:
            if any(details.node.directives for details in field_details_list):
                continue
            if plan is None:
                batch = _batch_of(parent_type, field_details_list, attributes, self.schema)
                if batch is not None:
                    found.append(batch)
            elif plan.object_type is not None and depth < MAX_BATCH_DEPTH:
                grouped_field_set, new_defer_usages, _ = self.collect_subfields(
                    plan.object_type, field_details_list
                )
                if not new_defer_usages:
                    found += self._batches_of(
                        plan.object_type,
                        self._selection(plan.object_type, grouped_field_set),
                        (*attributes, plan.attribute),
                        depth + 1,
                    )
        return found

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        """graphql-core's, after resolving the batched fields below a list of objects that
        a resolver returned (plain list fields complete in `_complete_list`)."""
        item_type = return_type.of_type
        inner = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if (
            type(result) is list
            and result
            and position_context is None
            and isinstance(inner, GraphQLObjectType)
            and inner.is_type_of is None
            and not any(details.node.directives for details in field_details_list)
        ):
            prefetching = self._prefetch_list(inner, field_details_list, result, path)
            if prefetching is not None:
                return self._after(
                    prefetching,
                    partial(
                        super().complete_list_value,
                        return_type, field_details_list, info, path, result, None,
                    ),
                )  # fmt: skip
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _prefetch_list(
        self,
        object_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        value: list[Any],
        path: Path,
    ) -> Awaitable[None] | None:
        try:
            grouped_field_set, new_defer_usages, _ = self.collect_subfields(
                object_type, field_details_list
            )
        except Exception:
            return None  # graphql-core raises it, with the first item's path
        if new_defer_usages:
            return None
        selection = self._selection(object_type, grouped_field_set)
        return self._prefetch_below(object_type, selection, value, path)

    def _prefetch_below(
        self,
        object_type: GraphQLObjectType,
        selection: _Selection,
        value: list[Any],
        path: Path,
    ) -> Awaitable[None] | None:
        """Resolves the batched fields below a list's items, or None when there are none
        (or a field middleware, which must see every field, is installed)."""
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None
        batches = selection.batches
        if batches is UNKNOWN:
            batches = selection.batches = self._batches_of(object_type, selection, (), 0)
        return self._prefetch(batches, value, path) if batches else None

    def _prefetch(
        self, batches: list[_Batch], value: list[Any], path: Path
    ) -> Awaitable[None] | None:
        """Calls each batched field's batch resolver once for the sources below the items;
        None when there is nothing to resolve."""
        calls: list[tuple[list[tuple[int, int]], list[Any], Awaitable[Sequence[Any]]]] = []
        for batch in batches:
            node_id = id(batch.field_details_list[0].node)
            keys: list[tuple[int, int]] = []
            sources: list[Any] = []
            seen: set[int] = set()
            for item in value:
                source = _follow(item, batch.attributes)
                if source is None or id(source) in seen:
                    continue
                seen.add(id(source))
                keys.append((node_id, id(source)))
                sources.append(source)
            call = self._batch_call(batch, sources, path) if sources else None
            if call is not None:
                calls.append((keys, sources, call))
        if not calls:
            return None
        return self._store_batches(calls)

    def _batch_call(
        self, batch: _Batch, sources: list[Any], path: Path
    ) -> Awaitable[Sequence[Any]] | None:
        """The batch resolver's awaitable, or None where the rows must resolve one by one
        (arguments that do not coerce or convert, or are not all immutable)."""
        nodes = [details.node for details in batch.field_details_list]
        info = self.build_resolve_info(batch.field_def, nodes, batch.parent_type, path)
        strawberry_schema = self.schema._strawberry_schema  # type: ignore[attr-defined]
        converter = strawberry_schema.schema_converter
        try:
            arguments = self._arguments_of(batch.field_def, batch.field_details_list)
            if not all(isinstance(v, IMMUTABLE) for v in arguments.values()):
                return None
            strawberry_info = strawberry_schema.config.info_class(
                _raw_info=info, _field=batch.definition
            )
            kwargs = convert_arguments(
                arguments, batch.definition.arguments,
                scalar_registry=converter.scalar_registry, config=strawberry_schema.config,
                info=strawberry_info,
            )  # fmt: skip
            call = batch.resolver(strawberry_info, sources, **kwargs)
        except Exception:
            return None  # each row reports its own error
        return call

    async def _store_batches(
        self, calls: list[tuple[list[tuple[int, int]], list[Any], Awaitable[Sequence[Any]]]]
    ) -> None:
        """Awaits the batch resolvers together (their loaders batch as one) and keeps each
        source's value; a batch that fails leaves its rows to their own resolvers, which
        report their own errors with their own paths."""
        outcomes = await asyncio.gather(*(call for _, _, call in calls), return_exceptions=True)
        prefetched = self._prefetched
        for (keys, sources, _), values in zip(calls, outcomes, strict=True):
            if isinstance(values, BaseException) or len(values) != len(sources):
                if isinstance(values, asyncio.CancelledError):
                    raise values
                continue
            for key, source, field_value in zip(keys, sources, values, strict=True):
                prefetched[key] = (source, field_value)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[Any] | UndefinedType:
        prefetched = self._prefetched
        if prefetched:
            hit = prefetched.get((id(field_details_list[0].node), id(source)))
            if hit is not None and hit[0] is source:
                return self._complete_read(
                    parent_type, field_details_list, path, hit[1], position_context
                )
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


class _Selection:
    """One selection set of an operation: its fields' plans and, once asked, its row plan."""

    __slots__ = ("batches", "fields", "grouped_field_set", "row")

    def __init__(
        self,
        grouped_field_set: GroupedFieldSet,
        fields: list[tuple[str, FieldDetailsList, _Plain | None]],
    ) -> None:
        self.grouped_field_set = grouped_field_set
        self.fields = fields
        self.row: Row | None = UNKNOWN
        self.batches: list[_Batch] = UNKNOWN




def _list_items_plain(value: list[Any], items: _Item, field_details_list: FieldDetailsList) -> bool:
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


def _batch_of(
    parent_type: GraphQLObjectType,
    field_details_list: FieldDetailsList,
    attributes: tuple[str, ...],
    schema: Any,
) -> _Batch | None:
    """The field as a batched field, if it declares a batch resolver and nothing else
    could make a row's answer differ from the batch's: no field extension (permissions),
    no exception handler, no fragment variables."""
    field_def = parent_type.fields.get(field_details_list[0].node.name.value)
    if field_def is None or field_details_list[0].fragment_variable_values is not None:
        return None
    definition = (field_def.extensions or {}).get(DEFINITION)
    if not isinstance(definition, StrawberryField) or definition.extensions:
        return None
    resolver = batch_resolver(definition.metadata)
    if resolver is None:
        return None
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    converter = getattr(strawberry_schema, "schema_converter", None)
    if converter is None or converter._get_field_exception_handlers(definition):
        return None
    return _Batch(attributes, parent_type, field_details_list, field_def, definition, resolver)


def _follow(item: Any, attributes: tuple[str, ...]) -> Any:
    """The object the plain attributes lead to from a list item, or None where the rows'
    own completion must decide (a null, an error, an awaitable or another odd value)."""
    source = item
    for attribute in attributes:
        try:
            source = getattr(source, attribute)
        except Exception:
            return None
        if source is None:
            return None
    if not plain_value(source) or type(source) in COMPLETED:
        return None
    return source
