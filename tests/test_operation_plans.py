"""Operation plans (`schema.execution.executor._OperationPlan`): the executions of one cached
operation share its collected fields and compiled selections when collection cannot depend
on variables, and answer exactly what graphql-core answers for every variable value."""

from __future__ import annotations

from inspect import isawaitable
from typing import Any

import pytest
import strawberry
from graphql import DocumentNode, ExecutionResult, execute, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import FastExecutor


@strawberry.type
class Row:
    n: int
    label: str


@strawberry.type
class Query:
    @strawberry.field
    def rows(self, count: int = 3) -> list[Row]:
        return [Row(n=i, label=f"row {i}") for i in range(count)]

    @strawberry.field
    async def later(self, count: int = 2) -> list[Row]:
        return [Row(n=i * 10, label="later") for i in range(count)]


SCHEMA = strawberry.Schema(Query)

STATIC = (
    "query($count: Int!) { rows(count: $count) { n ...L } later(count: $count) { label } "
    "skipped: rows @skip(if: true) { n } } fragment L on Row { label }"
)
DYNAMIC = (
    "query($count: Int!, $yes: Boolean!) { rows(count: $count) { n label @include(if: $yes) } "
    "...F } fragment F on Query { later @skip(if: $yes) { n } }"
)


async def run(executor: type[Any], document: DocumentNode, variables: dict[str, Any]) -> Any:
    result = execute(SCHEMA._schema, document, executor_class=executor, variable_values=variables)
    if isawaitable(result):
        result = await result
    assert isinstance(result, ExecutionResult)
    return result.formatted


@pytest.mark.parametrize("text", [STATIC, DYNAMIC])
async def test_one_document_answers_every_variable_as_graphql_core_does(text: str) -> None:
    # Given one parsed document, executed again and again (as the document cache does)
    document = parse(text)
    for variables in (
        {"count": 2, "yes": True}, {"count": 0, "yes": False}, {"count": 5, "yes": False},
        {"count": 1, "yes": True},
    ):  # fmt: skip
        # When it runs with other variable values
        fast = await run(FastExecutor, document, variables)
        slow = await run(StrawberryGraphQLCoreExecutionContext, document, variables)
        # Then each answer is graphql-core's
        assert fast == slow, variables


def _executor(document: DocumentNode, variables: dict[str, Any]) -> FastExecutor:
    built = FastExecutor.build(SCHEMA._schema, document, raw_variable_values=variables)
    assert isinstance(built, FastExecutor)
    return built


async def test_a_static_operation_is_collected_and_compiled_once() -> None:
    document = parse(STATIC)
    first, second = (_executor(document, {"count": n}) for n in (2, 3))
    assert first._compiled is second._compiled  # one plan for the operation
    result = first.execute_operation()
    assert isawaitable(result)
    await result
    selections = len(first._compiled)
    assert selections >= 3  # root, Row, the later rows
    result = second.execute_operation()
    assert isawaitable(result)
    await result
    assert len(second._compiled) == selections  # nothing collected or compiled again


def test_an_operation_whose_collection_depends_on_variables_has_no_plan() -> None:
    document = parse(DYNAMIC)
    first, second = (_executor(document, {"count": 1, "yes": yes}) for yes in (True, False))
    assert first._compiled is not second._compiled
