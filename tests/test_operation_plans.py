"""Operation plans (`schema.execution.executor._OperationPlan`): the executions of one cached
operation share its collected fields and compiled selections when collection cannot depend
on variables, and answer exactly what graphql-core answers for every variable value."""

from __future__ import annotations

from inspect import isawaitable
from typing import Any

import pytest
import strawberry
from graphql import DocumentNode, ExecutionResult, execute, parse
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import FastExecutor


@strawberry.type
class Row:
    n: int
    label: str


@strawberry.type
class Page:
    rows: list[Row]
    total: int


class Refuse(BasePermission):
    message = "Refused."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Query:
    @strawberry.field
    def rows(self, count: int = 3) -> list[Row]:
        return [Row(n=i, label=f"row {i}") for i in range(count)]

    @strawberry.field
    async def later(self, count: int = 2) -> list[Row]:
        return [Row(n=i * 10, label="later") for i in range(count)]

    @strawberry.field
    async def page(self, count: int = 2, bad: str = "") -> Page:
        """`bad`: what is wrong with the answer (nothing, a raise, a null, a wrong value)."""
        if bad == "raise":
            raise ValueError("no page")
        if bad == "null":
            return None  # type: ignore[return-value]
        rows = [Row(n=i, label=f"row {i}") for i in range(count)]
        if bad == "wrong":
            rows[-1] = Row(n=2**40, label=None)  # type: ignore[arg-type]
        return Page(rows=rows, total=count)

    @strawberry.field
    async def maybe_page(self, bad: str = "") -> Page | None:
        return await Query.page(self, 1, bad)  # type: ignore[arg-type]

    @strawberry.field(extensions=[PermissionExtension([Refuse()])])
    async def secret(self) -> Page | None:
        raise AssertionError("never resolved")


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


ONE_ROOT_FIELD = (
    "query($count: Int!) { __typename page(count: $count) { total rows { n label } } "
    "t2: __typename }",
    '{ page(bad: "raise") { total } }',
    '{ page(bad: "null") { total } }',
    '{ page(bad: "wrong") { total rows { n label } } }',
    '{ maybePage(bad: "raise") { total } __typename }',
    '{ maybePage(bad: "null") { total } }',
    '{ maybePage(bad: "wrong") { rows { n label } } }',
    "{ secret { total } }",
    "{ __typename }",
    "{ a: __typename b: __typename }",
    "query($count: Int!) { __typename }",
    "{ page { total } rows { n } }",
)


@pytest.mark.parametrize("text", ONE_ROOT_FIELD)
async def test_a_planned_root_field_answers_as_graphql_core_does_run_after_run(text: str) -> None:
    # Given one parsed document run again and again (from its second run on, a planned
    # query with one root field is resolved and completed directly)
    document = parse(text)
    for variables in ({"count": 2}, {"count": 3}, {"count": 1}):
        # When it runs (a missing variable included)
        fast = await run(FastExecutor, document, variables)
        slow = await run(StrawberryGraphQLCoreExecutionContext, document, variables)
        # Then each answer is graphql-core's: data, errors, paths and null propagation
        assert fast == slow, variables
    no_variables = await run(FastExecutor, document, {})
    assert no_variables == await run(StrawberryGraphQLCoreExecutionContext, document, {})


async def test_one_root_field_queries_are_planned_and_others_are_not() -> None:
    planned = {}
    for text in ONE_ROOT_FIELD:
        document = parse(text)
        for _ in range(2):
            executor = _executor(document, {"count": 1})
            result = executor.execute_operation()
            if isawaitable(result):
                await result
        assert executor._plan is not None
        planned[text] = executor._plan.fast_root is not None
    assert planned == dict.fromkeys(ONE_ROOT_FIELD, True) | {
        "{ page { total } rows { n } }": False,  # two root fields
    }


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
