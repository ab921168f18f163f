"""Batched fields in the executor: resolved once for all the items of a list.

Before the items of a list are completed (a plain list field, or a list a resolver returned),
the batched fields below the item type (through plain object fields: `edges → node →
history`) are resolved by one call of their batch resolver each (`schema.execution.batch`)
for the distinct sources below the items; each source's value is kept by (field node,
source) and the rows complete with it (`execute_field`, or a compiled row's
`K_PREFETCHED` entry). A field is batched only where that answers exactly what its own
resolver would: no field extension (permissions), exception handler, fragment variables,
directive or field middleware, arguments that coerce and are all immutable, and a batch
that answers one value per source; otherwise each row resolves it as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

from graphql import GraphQLField, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLOutputType
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from graphql.pyutils.undefined import UndefinedType
from strawberry.types.field import StrawberryField

from schema.execution.batch import BatchResolver, batch_resolver
from schema.execution.fields import ArgumentsOnce, immutable
from schema.execution.resolvers import Convert, argument_converter
from schema.execution.rows import UNKNOWN, plain_value
from schema.execution.selections import COMPLETED, DEFINITION, Selection

# How deep below a list item (through plain object fields) batched fields are looked for.
MAX_BATCH_DEPTH = 3


class Batch(NamedTuple):
    """A batched field below the items of a list: the plain attributes leading from an
    item to the field's source, the source's type, and the field."""

    attributes: tuple[str, ...]
    parent_type: GraphQLObjectType
    field_details_list: FieldDetailsList
    field_def: GraphQLField
    definition: StrawberryField
    resolver: BatchResolver
    convert: Convert  # its arguments' conversion (`schema.execution.resolvers`)


class Prefetching(ArgumentsOnce):
    """An executor mixin resolving the batched fields below a list's items in one call each
    (see the module docstring); the executor provides its selections and completion."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Values of batched fields resolved for a whole list, by (id of the field node, id
        # of the source): (source, value), the source kept alive beside its id.
        self._prefetched: dict[tuple[int, int], tuple[Any, Any]] = {}

    def _selection(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> Selection:
        raise NotImplementedError

    def _complete_read(
        self,
        parent_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        raise NotImplementedError

    async def _after(
        self, prefetching: Awaitable[None], complete: Callable[[], AwaitableOrValue[list[Any]]]
    ) -> list[Any]:
        """A list's items completed once the batched fields below them are resolved."""
        await prefetching
        completed = complete()
        if self.is_awaitable(completed):
            completed = await completed
        return completed  # type: ignore[return-value]

    def _batches_of(
        self,
        parent_type: GraphQLObjectType,
        selection: Selection,
        attributes: tuple[str, ...],
        depth: int,
    ) -> list[Batch]:
        """The batched fields of a selection and of its plain objects' selections."""
        found: list[Batch] = []
        for _, field_details_list, plan in selection.fields:
            if any(details.node.directives for details in field_details_list):
                continue
            if plan is None:
                batch = batch_of(parent_type, field_details_list, attributes, self.schema)
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
        selection: Selection,
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
        self, batches: list[Batch], value: list[Any], path: Path
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
                source = follow(item, batch.attributes)
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
        self, batch: Batch, sources: list[Any], path: Path
    ) -> Awaitable[Sequence[Any]] | None:
        """The batch resolver's awaitable, or None where the rows must resolve one by one
        (arguments that do not coerce or convert, or are not all immutable)."""
        nodes = [details.node for details in batch.field_details_list]
        info = self.build_resolve_info(batch.field_def, nodes, batch.parent_type, path)
        strawberry_schema = self.schema._strawberry_schema  # type: ignore[attr-defined]
        try:
            arguments = self._arguments_of(batch.field_def, batch.field_details_list)
            if not immutable(arguments):
                return None
            strawberry_info = strawberry_schema.config.info_class(
                _raw_info=info, _field=batch.definition
            )
            kwargs = batch.convert(arguments, strawberry_info)
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
        outcomes: list[Any]
        if len(calls) == 1:  # the usual case: no task to gather one awaitable
            try:
                outcomes = [await calls[0][2]]
            except Exception as error:
                outcomes = [error]
        else:
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


def batch_of(
    parent_type: GraphQLObjectType,
    field_details_list: FieldDetailsList,
    attributes: tuple[str, ...],
    schema: Any,
) -> Batch | None:
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
    return Batch(
        attributes, parent_type, field_details_list, field_def, definition, resolver,
        argument_converter(definition, strawberry_schema),
    )


def follow(item: Any, attributes: tuple[str, ...]) -> Any:
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
