"""Arguments of a field under every row are coerced once per operation
(`schema.execution.fields.ArgumentsOnce`), and rows still see exactly what graphql-core
would give them: the same values, defaults, variables and errors, and a list or input
object that a resolver changes in place never reaches the next row changed.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import strawberry
from graphql import parse
from graphql.execution import ExecutionResult, execute
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.scalar import ScalarDefinition

from schema.execution import FastExecutor
from schema.scalars import SCALAR_OVERRIDES
from tests.test_fast_execution import under_both_executors

ROWS = 30
PARSED: list[object] = []


def _parse(value: object) -> int:
    PARSED.append(value)
    if not isinstance(value, int) or value < 0:
        raise ValueError("must be a non-negative integer")
    return value


class Counted(int):
    """An integer whose parsing is counted (the scalar `Counted` below)."""


COUNTED = ScalarDefinition(
    name="Counted", description="An integer whose parsing is counted.",
    specified_by_url=None, serialize=int, parse_value=_parse, parse_literal=None,
    origin=Counted,
)  # fmt: skip


@strawberry.input
class Window:
    size: int
    labels: list[str]


@strawberry.type
class Row:
    index: int

    @strawberry.field
    def scaled(self, factor: Counted, offset: int = 0) -> int | None:
        return int(self.index * factor + offset)

    @strawberry.field
    def tagged(self, labels: list[str]) -> list[str]:
        labels.append(f"row-{self.index}")  # a resolver that changes its argument in place
        return labels

    @strawberry.field
    def window(self, window: Window) -> str:
        window.labels.append(str(self.index))
        return f"{window.size}:{','.join(window.labels)}"

    @strawberry.field
    def word(self, text: str | None = "none") -> str:
        return f"{text}-{self.index}"


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row]:
        return [Row(index=i) for i in range(ROWS)]


SCHEMA = strawberry.Schema(Query, scalar_overrides={**SCALAR_OVERRIDES, Counted: COUNTED})

QUERIES = (
    "{ rows { index scaled(factor: 3) } }",
    "{ rows { scaled(factor: 2, offset: 5) a: scaled(factor: 4) word word(text: null) } }",
    '{ rows { tagged(labels: ["a", "b"]) } }',
    '{ rows { window(window: {size: 2, labels: ["x"]}) } }',
    "{ rows { scaled(factor: -1) } }",  # a coercion error in every row
    "query($f: Counted!, $t: String) { rows { scaled(factor: $f) word(text: $t) } }",
)
VARIABLES = {"f": 7, "t": "hello"}


@pytest.mark.parametrize("query", QUERIES)
async def test_rows_receive_what_graphql_core_gives_them(query: str) -> None:
    # Given rows whose fields take literals, defaults, variables, lists and input objects
    # When both executors run the operation
    fast, slow = await under_both_executors(SCHEMA, parse(query), VARIABLES)
    # Then data and errors are the same, byte for byte
    assert orjson.dumps(fast) == orjson.dumps(slow)
    if "tagged" in query:
        # and a list one row changed in place reached the next row unchanged
        assert fast["data"]["rows"][5]["tagged"] == ["a", "b", "row-5"]
    if "factor: -1" in query:
        assert len(fast["errors"]) == ROWS


def _parses(executor_class: Any, query: str) -> int:
    PARSED.clear()
    result = execute(
        SCHEMA._schema, parse(query), executor_class=executor_class, variable_values=VARIABLES
    )
    assert isinstance(result, ExecutionResult)
    assert result.errors is None
    return len(PARSED)


def test_a_fields_arguments_are_coerced_once_per_operation_not_per_row() -> None:
    # Given a field under every row whose literal argument parses through a counting scalar
    query = "{ rows { scaled(factor: 3) } again: rows { scaled(factor: 3) } }"
    # When graphql-core's executor and the fast one run it
    slow = _parses(StrawberryGraphQLCoreExecutionContext, query)
    fast = _parses(FastExecutor, query)
    # Then graphql-core parses the literal for every row, the fast executor once per field
    # node (the two `scaled` are two nodes)
    assert slow == 2 * ROWS
    assert fast == 2
