"""The executor's fast path for plain fields (`schema.execution.FastExecutor`) answers
exactly what graphql-core's executor answers: same bytes over HTTP for every root field of
the surface walk as every principal (admitted or refused), and the same data, errors,
paths and null propagation for the edge cases the fast path hands back to graphql-core.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from inspect import isawaitable
from typing import Any

import pytest
import strawberry
from aiohttp.test_utils import TestClient
from graphql import parse
from graphql.execution import ExecutionResult, execute
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.app import create_app
from gateway.settings import Settings
from schema.execution import FastExecutor, leaf_plans
from tests import test_surface_walk as walk
from tests.conftest import Persona
from tests.test_surface_walk import Fixture, every_query_request

pytestmark = pytest.mark.slow

# The surface walk's fixtures: its settings, client and seeded world.
walk_settings = walk.walk_settings
walk_client = walk.walk_client
fixture = walk.fixture


@pytest.fixture
async def slow_client(aiohttp_client: Any, walk_settings: Settings) -> TestClient[Any, Any]:
    """The same app on the same store, with graphql-core's executor as is."""
    settings = walk_settings.model_copy(update={"fast_execution": False})
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    return client


async def _raw(
    client: TestClient[Any, Any], query: str, variables: dict[str, Any], persona: Persona
) -> tuple[int, bytes]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=persona.headers
    )
    # Tracking links carry the serving origin, which differs between the two test servers.
    origin = f"{client.host}:{client.port}".encode()
    return response.status, (await response.read()).replace(origin, b"ORIGIN")


def _first_difference(fast: tuple[int, bytes], slow: tuple[int, bytes]) -> str:
    if fast[0] != slow[0]:
        return f"status {fast[0]} != {slow[0]}"
    at = next((i for i, (a, b) in enumerate(zip(fast[1], slow[1], strict=False)) if a != b), 0)
    return f"at byte {at}: …{fast[1][at - 80 : at + 80]!r} != …{slow[1][at - 80 : at + 80]!r}"


async def test_every_root_field_answers_the_same_bytes_on_both_executors(
    walk_client: TestClient[Any, Any], slow_client: TestClient[Any, Any], fixture: Fixture
) -> None:
    # Given the demo data and every principal, including ones a field's guard refuses
    compared, differing = 0, []
    for label, persona, query, variables in every_query_request(fixture):
        # When the operation runs on both executors
        fast = await _raw(walk_client, query, variables, persona)
        slow = await _raw(slow_client, query, variables, persona)
        # Then status and body are byte-identical
        compared += 1
        if fast != slow:
            differing.append(f"{label}: {_first_difference(fast, slow)}")
    assert differing == []
    assert compared > 100


# --- edge cases on a small schema: nulls, coercion errors, exceptions, propagation ---------------


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


@strawberry.type
class Leafy:
    text: str
    maybe: str | None
    count: int
    colour: Colour
    when: datetime
    flag: bool


@strawberry.type
class Holder:
    leafy: Leafy
    optional: Leafy | None
    label: str


@dataclass
class Wrong:
    """Stands in for a typed object with wrong values (what a buggy mapping would build)."""

    text: Any = "t"
    maybe: Any = None
    count: Any = 1
    colour: Any = Colour.RED
    when: Any = datetime(2026, 1, 1, tzinfo=UTC)
    flag: Any = True


def _holders() -> list[Any]:
    good = Leafy(
        text="a", maybe=None, count=3, colour=Colour.RED,
        when=datetime(2026, 3, 1, 9, 30, tzinfo=UTC), flag=False,
    )  # fmt: skip
    return [
        Holder(leafy=good, optional=None, label="ok"),
        Holder(leafy=Wrong(text=None), optional=good, label="null in a non-null leaf"),  # type: ignore[arg-type]
        Holder(leafy=Wrong(count=2**40), optional=Wrong(count="x"), label="bad ints"),  # type: ignore[arg-type]
        Holder(leafy=Wrong(colour="blue"), optional=None, label="unknown enum value"),  # type: ignore[arg-type]
        Holder(leafy=Wrong(when="yesterday"), optional=None, label="not a datetime"),  # type: ignore[arg-type]
        Holder(leafy=Wrong(text=ValueError("boom")), optional=None, label="an exception"),  # type: ignore[arg-type]
        Holder(leafy=None, optional=Wrong(maybe=7), label="null object"),  # type: ignore[arg-type]
        Holder(leafy=Wrong(flag="yes", maybe=True), optional=None, label="coerced"),  # type: ignore[arg-type]
    ]


@strawberry.type
class Query:
    @strawberry.field
    def holders(self) -> list[Holder]:
        return _holders()

    @strawberry.field
    async def first(self) -> Holder:
        return _holders()[1]

    @strawberry.field
    def nullable_holders(self) -> list[Holder | None]:
        return _holders()


SELECTION = (
    "leafy { text maybe count colour when flag } optional { text maybe count colour when flag } "
    "label alias: label"
)
QUERIES = (
    f"{{ holders {{ {SELECTION} }} }}",
    f"{{ first {{ {SELECTION} }} }}",
    f"{{ nullableHolders {{ {SELECTION} }} }}",
    "{ nullableHolders { label optional { text } } first { label } }",
)


@pytest.mark.parametrize("query", QUERIES)
async def test_edge_cases_complete_as_graphql_core_does(query: str) -> None:
    # Given a schema whose plain fields hold nulls, wrong types and exceptions
    schema = strawberry.Schema(Query)
    assert set(leaf_plans(schema._schema.type_map["Leafy"])) == {
        "text", "maybe", "count", "colour", "when", "flag",
    }  # fmt: skip
    document = parse(query)
    # When both executors run the operation
    formatted = []
    for executor in (FastExecutor, StrawberryGraphQLCoreExecutionContext):
        result = execute(schema._schema, document, executor_class=executor)
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        formatted.append(result.formatted)
    # Then data and errors (messages, paths, locations) are the same
    fast, slow = formatted
    assert fast == slow
    if "holders {" in query:
        assert fast.get("errors"), "the corpus must exercise the error paths"


# --- lists: null items, errors inside items, leaves, abstract items, fragments, directives -------


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Cat(Named):
    lives: int


@strawberry.type
class Dog(Named):
    good: bool


@strawberry.type
class Row:
    label: str
    children: list[Leafy]
    maybe_children: list[Leafy | None] | None
    tags: list[str]
    maybe_tags: list[str | None] | None
    colours: list[Colour]
    pets: list[Named]
    matrix: list[list[int]]


class Ready:
    """An awaitable item (makes its coroutine only when awaited: nothing left unawaited)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return asyncio.sleep(0, result=self.value).__await__()


def _row(label: str, **values: Any) -> Row:
    good = _holders()[0].leafy
    fields: dict[str, Any] = {
        "children": [good, good], "maybe_children": [good, None], "tags": ["a", "b"],
        "maybe_tags": None, "colours": [Colour.RED], "pets": [], "matrix": [[1, 2], []],
    }  # fmt: skip
    return Row(label=label, **{**fields, **values})


def _rows() -> list[Any]:
    good = _holders()[0].leafy
    return [
        _row("plain"),
        _row("empty lists", children=[], maybe_children=[], tags=[], colours=[]),
        _row("error in a non-null item", children=[good, Wrong(text=None)]),
        _row("error in a nullable item", maybe_children=[Wrong(count="x"), good, None]),
        _row("null in a non-null item list", children=[good, None]),
        _row("null in a non-null leaf list", tags=["a", None]),
        _row("leaves coerced", tags=[1, True, "c"], maybe_tags=[None, "x", 2.0]),
        _row("leaf that does not coerce", maybe_tags=["x", 2.5], tags=["ok"]),
        _row("unknown enum in a list", colours=[Colour.RED, "blue"]),
        _row("an exception item", maybe_tags=["x", ValueError("boom")]),
        _row("an exception object item", maybe_children=[ValueError("bang"), good]),
        _row("a tuple, not a list", children=(good,), tags=("t",)),
        _row("not iterable", maybe_tags=3),
        _row("abstract items", pets=[Cat(name="c", lives=9), Dog(name="d", good=True)]),
        _row("awaitable items", maybe_children=[Ready(good), None]),
    ]


@strawberry.type
class ListQuery:
    @strawberry.field
    def rows(self) -> list[Row | None]:
        return _rows()

    @strawberry.field
    def strict_rows(self) -> list[Row]:
        return _rows()[:2] + _rows()[-2:]

    @strawberry.field
    def failing_rows(self) -> list[Row] | None:
        return _rows()


ROW_SELECTION = (
    "label __typename children { text count __typename } maybeChildren { text count when } "
    "tags maybeTags colours pets { __typename name ... on Cat { lives } ... on Dog { good } } "
    "matrix"
)
LIST_QUERIES = (
    f"{{ rows {{ {ROW_SELECTION} }} }}",
    f"{{ strictRows {{ {ROW_SELECTION} }} }}",
    f"{{ failingRows {{ {ROW_SELECTION} }} }}",
    # fragments, aliases of one list with different selections, __typename inside items
    "query { rows { ...R kids: children { ...L } other: children { flag colour } } } "
    "fragment R on Row { label tags } fragment L on Leafy { text ... on Leafy { maybe } }",
    # @skip/@include on list fields and inside items (variables decide)
    "query($yes: Boolean!, $no: Boolean!) { rows { label children @include(if: $yes) { text } "
    "tags @skip(if: $yes) maybeChildren { count @include(if: $no) flag @skip(if: $no) } } }",
    "query($yes: Boolean!) { strictRows { children @skip(if: $yes) { text } "
    "maybeTags @include(if: $yes) } }",
)


@pytest.mark.parametrize("query", LIST_QUERIES)
async def test_lists_complete_as_graphql_core_does(query: str) -> None:
    # Given a schema whose plain list fields hold nulls, errors, exceptions and awaitables
    schema = strawberry.Schema(ListQuery, types=[Cat, Dog])
    assert set(leaf_plans(schema._schema.type_map["Row"])) == {
        "label", "children", "maybeChildren", "tags", "maybeTags", "colours",
    }  # fmt: skip
    document = parse(query)
    # When both executors run the operation
    formatted = []
    for executor in (FastExecutor, StrawberryGraphQLCoreExecutionContext):
        result = execute(
            schema._schema, document, executor_class=executor,
            variable_values={"yes": True, "no": False},
        )  # fmt: skip
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        formatted.append(result.formatted)
    # Then data and errors (messages, paths, locations, order) are the same
    fast, slow = formatted
    assert fast == slow
    if query.startswith("{ rows"):
        assert len(fast["errors"]) >= 8, "the corpus must exercise the error paths"
        assert fast["data"]["rows"][0] is not None
