"""Batched fields (`schema.execution.batch`): a resolver field under every row of a list is
resolved once for the whole list by `FastExecutor`, and answers exactly what graphql-core's
executor answers calling the field's own resolver row by row: the same data, errors, paths
and null propagation, with aliases, variables, fragments, directives, duplicate and null
rows, per-row errors, batches that fail whole, and fields the executor must not batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from inspect import isawaitable
from typing import Any

import pytest
import strawberry
from graphql import DocumentNode, parse
from graphql.execution import ExecutionResult, execute
from strawberry.permission import BasePermission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import FastExecutor
from schema.execution.batch import batched, one
from tests.test_fast_execution import under_both_executors

# Batch resolver calls of the running test: (field, number of sources).
CALLS: list[tuple[str, int]] = []


@strawberry.type
class Double:
    value: int
    label: str


async def doubles(
    info: Any, items: Sequence[Item], times: int = 2, fail_on: str | None = None
) -> list[Double | Exception]:
    """Each item's number times `times`; `fail_on` names the row that gets an error, and
    a negative `times` fails the whole batch."""
    CALLS.append(("double", len(items)))
    if times < 0:
        raise ValueError(f"times must not be negative, got {times}")
    return [
        ValueError(f"no double for {item.label}") if item.label == fail_on
        else Double(value=item.n * times, label=item.label)
        for item in items
    ]  # fmt: skip


async def wrong_length(info: Any, items: Sequence[Item]) -> list[Double]:
    CALLS.append(("short", len(items)))
    return [Double(value=0, label="only one")]


class Never(BasePermission):
    message = "never"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Item:
    label: str
    n: int

    @strawberry.field(metadata=batched(doubles))
    async def double(
        self, info: strawberry.Info, times: int = 2, fail_on: str | None = None
    ) -> Double:
        value: Double = await one(doubles, info, self, times=times, fail_on=fail_on)
        return value

    @strawberry.field(metadata=batched(doubles))
    async def maybe_double(
        self, info: strawberry.Info, times: int = 2, fail_on: str | None = None
    ) -> Double | None:
        value: Double = await one(doubles, info, self, times=times, fail_on=fail_on)
        return value

    @strawberry.field(metadata=batched(wrong_length))
    async def short(self, info: strawberry.Info) -> Double:
        CALLS.append(("short row", 1))
        return Double(value=self.n, label=self.label)

    @strawberry.field(metadata=batched(doubles), permission_classes=[Never])
    async def guarded(self, info: strawberry.Info) -> Double | None:
        value: Double = await one(doubles, info, self)
        return value


@strawberry.type
class Edge:
    node: Item


def _items() -> list[Item]:
    return [Item(label=label, n=n) for n, label in enumerate("abcde", start=1)]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return _items()

    @strawberry.field
    def edges(self) -> list[Edge]:
        return [Edge(node=item) for item in _items()]

    @strawberry.field
    def nullable_items(self) -> list[Item] | None:
        return _items()

    @strawberry.field
    def sparse(self) -> list[Item | None]:
        items = _items()
        return [items[0], None, items[1], items[0], None]

    @strawberry.field
    async def single(self) -> Item:
        return _items()[2]


SCHEMA = strawberry.Schema(Query)


async def run_with(executor: type[Any], document: DocumentNode) -> dict[str, Any]:
    """The formatted result of one executor class."""
    result = execute(
        SCHEMA._schema, document, executor_class=executor, variable_values={"yes": True}
    )
    if isawaitable(result):
        result = await result
    assert isinstance(result, ExecutionResult)
    return result.formatted


QUERIES = (
    "{ items { label double { value label } } }",
    "{ items { a: double(times: 3) { value } b: double { value } c: maybeDouble { label } } }",
    "{ edges { node { label double { value } } } }",
    "{ edges { node { double { value } } } items { double(times: 5) { value } } }",
    "query($t: Int!) { items { double(times: $t) { value } } }",
    '{ items { label double(failOn: "b") { value } } }',
    '{ items { label maybeDouble(failOn: "c") { value } } }',
    '{ nullableItems { label double(failOn: "d") { value } } }',
    "{ items { label double(times: -1) { value } } }",
    "{ items { label maybeDouble(times: -1) { value } } }",
    "{ items { label short { value label } } }",
    "{ items { label guarded { value } } }",
    "{ sparse { label double { value } } }",
    "query($yes: Boolean!) { items { double @include(if: $yes) { value } "
    "other: double @skip(if: $yes) { value } } }",
    # An undefined variable (no validation here): the error is the first item's.
    "{ items { double @include(if: $yes) { value } } }",
    "{ items { ...F } } fragment F on Item { label double { value __typename } }",
    "{ single { double { value } } }",
    "{ items { double { ... on Double { value } } } }",
)


@pytest.mark.parametrize("query", QUERIES)
async def test_batched_fields_complete_as_graphql_core_does(query: str) -> None:
    # Given a schema whose list rows have batched fields (and one guarded field)
    variables = {"yes": True, "no": False, "t": 7}
    # When both executors run the operation
    fast, slow = await under_both_executors(SCHEMA, parse(query), variables)
    # Then data and errors (messages, paths, locations) are the same
    assert fast == slow


async def test_a_list_calls_the_batch_resolver_once_and_graphql_core_once_per_row() -> None:
    # Given five rows, each with a batched field below a plain object
    query = parse("{ edges { node { double { value } } } }")
    CALLS.clear()
    # When FastExecutor runs it
    await run_with(FastExecutor, query)
    # Then the batch resolver ran once, for all five sources
    assert CALLS == [("double", 5)]
    # and graphql-core's executor calls the field's own resolver per row (a batch of one)
    CALLS.clear()
    await run_with(StrawberryGraphQLCoreExecutionContext, query)
    assert CALLS == [("double", 1)] * 5


async def test_aliases_with_other_arguments_are_batched_apart() -> None:
    CALLS.clear()
    await run_with(
        FastExecutor, parse("{ items { a: double(times: 3) { value } b: double { value } } }")
    )
    assert CALLS == [("double", 5), ("double", 5)]


async def test_duplicate_rows_share_one_source_and_null_rows_none() -> None:
    CALLS.clear()
    await run_with(FastExecutor, parse("{ sparse { double { value } } }"))
    assert CALLS == [("double", 2)]


async def test_a_batch_that_fails_or_answers_too_few_leaves_the_rows_to_their_resolvers() -> None:
    CALLS.clear()
    await run_with(FastExecutor, parse("{ items { double(times: -1) { value } } }"))
    assert CALLS == [("double", 5)] + [("double", 1)] * 5
    CALLS.clear()
    await run_with(FastExecutor, parse("{ items { short { value } } }"))
    assert CALLS == [("short", 5)] + [("short row", 1)] * 5


async def test_a_guarded_field_is_not_batched() -> None:
    CALLS.clear()
    await run_with(FastExecutor, parse("{ items { guarded { value } } }"))
    assert CALLS == []  # the permission refused every row before its resolver
