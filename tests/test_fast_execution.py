"""The executor's fast path for plain fields (`schema.execution.FastExecutor`) answers
exactly what graphql-core's executor answers: same bytes over HTTP for every root field of
the surface walk as every principal (admitted or refused), and the same data, errors,
paths and null propagation for the edge cases the fast path hands back to graphql-core.
"""

from __future__ import annotations

import asyncio
import enum
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from inspect import isawaitable
from typing import Any

import orjson
import pytest
import strawberry
from aiohttp.test_utils import TestClient
from bson.tz_util import utc as bson_utc
from graphql import DocumentNode, parse
from graphql.execution import ExecutionResult, execute
from hypothesis import given
from hypothesis import strategies as st
from strawberry.permission import BasePermission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.app import create_app
from gateway.core.clock import iso_utc
from gateway.settings import Settings
from loaders import crm as crm_data
from schema import build_schema
from schema.crm.types import Fan, FanGender, KeyValue
from schema.execution import FastExecutor, leaf_plans
from schema.execution import rows as compiled_rows
from schema.members import Member, MemberStatus, WatchEvent
from schema.products import Product, ProductStatus
from schema.rows import DOCUMENT, document_rows, field_names
from schema.scalars import SCALAR_OVERRIDES, DateTimeScalar
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


async def under_both_executors(
    schema: strawberry.Schema, document: DocumentNode, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The formatted results (data, errors) of `FastExecutor` and of graphql-core's own."""
    formatted = []
    for executor in (FastExecutor, StrawberryGraphQLCoreExecutionContext):
        result = execute(
            schema._schema, document, executor_class=executor,
            variable_values=variables or {"yes": True, "no": False},
        )  # fmt: skip
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        formatted.append(result.formatted)
    fast, slow = formatted
    return fast, slow


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
    # When both executors run the operation
    fast, slow = await under_both_executors(schema, parse(query))
    # Then data and errors (messages, paths, locations) are the same
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
    # When both executors run the operation
    fast, slow = await under_both_executors(schema, parse(query))
    # Then data and errors (messages, paths, locations, order) are the same
    assert fast == slow
    if query.startswith("{ rows"):
        assert len(fast["errors"]) >= 8, "the corpus must exercise the error paths"
        assert fast["data"]["rows"][0] is not None


# --- rows: selection sets of plain fields compiled into one function (schema.execution.rows) ---


@strawberry.enum
class Shade(enum.Enum):
    DARK = "dark"
    LIGHT = "light"


class OtherShade(enum.Enum):
    DARK = "dark"


class Text(str):
    """A str subclass: graphql-core's String keeps it; a row must not take it as a str."""


class OnlyOpen(BasePermission):
    message = "Closed cell."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return bool(getattr(source, "label", "") == "open")


@strawberry.type
class Cell:
    label: str
    ident: strawberry.ID
    number: int
    ratio: float
    flag: bool
    shade: Shade
    shades: list[Shade]
    maybe_shade: Shade | None
    at: datetime
    maybe_at: datetime | None
    day: date

    @strawberry.field(permission_classes=[OnlyOpen])
    def secret(self) -> str:
        return "s"


@strawberry.type
class Line:
    label: str
    cell: Cell
    maybe_cell: Cell | None
    cells: list[Cell]
    maybe_cells: list[Cell | None] | None
    days: list[date | None]


@dataclass
class WrongCell:
    """A cell with wrong values (what a buggy mapping would build)."""

    label: Any = "c"
    ident: Any = "id-1"
    number: Any = 7
    ratio: Any = 0.5
    flag: Any = True
    shade: Any = Shade.DARK
    shades: Any = (Shade.LIGHT,)
    maybe_shade: Any = None
    at: Any = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    maybe_at: Any = None
    day: Any = date(2026, 3, 1)


NAIVE = datetime(2026, 3, 1, 9, 30)  # noqa: DTZ001 - on purpose


def _cell(**values: Any) -> Cell:
    base: dict[str, Any] = {
        "label": "c", "ident": strawberry.ID("id-1"), "number": 7, "ratio": 0.5, "flag": True,
        "shade": Shade.DARK, "shades": [Shade.LIGHT, Shade.DARK], "maybe_shade": None,
        "at": datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC), "maybe_at": None,
        "day": date(2026, 3, 1),
    }  # fmt: skip
    return Cell(**{**base, **values})


def _lines() -> list[Any]:
    good = _cell()
    plus_two = timezone(timedelta(hours=2))
    cells: list[tuple[str, Any]] = [
        ("good", good),
        ("open (permission granted)", _cell(label="open")),
        ("offset +02:00", _cell(at=datetime(2026, 3, 1, 11, 30, tzinfo=plus_two))),
        ("bson's UTC", _cell(maybe_at=datetime(2026, 1, 1, tzinfo=bson_utc))),
        # naive values are taken as UTC (gateway.core.clock.iso_utc)
        ("naive date-time", _cell(at=NAIVE, maybe_at=NAIVE.replace(year=2020))),
        ("Int above 32 bits", WrongCell(number=2**31)),
        ("Int below 32 bits", WrongCell(number=-(2**31) - 1)),
        ("Int at the edges", WrongCell(number=2**31 - 1)),
        ("bool as Int", WrongCell(number=True)),
        ("float as Int", WrongCell(number=3.0)),
        ("NaN as Float", WrongCell(ratio=float("nan"))),
        ("int as Float", WrongCell(ratio=2)),
        ("int as Boolean", WrongCell(flag=1)),
        ("int as ID", WrongCell(ident=5)),
        ("str subclass", WrongCell(label=Text("sub"))),
        ("other enum", WrongCell(shade=OtherShade.DARK)),
        ("enum value, not member", WrongCell(shade="dark")),
        ("a list of shades that is a tuple", WrongCell(shades=(Shade.DARK,))),
        ("null in a list of shades", WrongCell(shades=[Shade.DARK, None])),
        ("not a date-time", WrongCell(at="yesterday")),
        ("a date as date-time", WrongCell(at=date(2026, 1, 1))),
        ("null date-time", WrongCell(at=None)),
        ("a date-time as date", WrongCell(day=datetime(2026, 1, 1, tzinfo=UTC))),
        ("an exception as a leaf", WrongCell(label=ValueError("boom"))),
        ("an awaitable leaf", WrongCell(ratio=Ready(0.25))),
    ]
    lines: list[Any] = [
        Line(
            label=label,
            cell=cell,
            maybe_cell=cell,
            cells=[good, cell],
            maybe_cells=[cell, None, good],
            days=[date(2026, 1, 2), None],
        )
        for label, cell in cells
    ]
    null_cell: Any = {"cell": None, "maybe_cell": None, "cells": [], "maybe_cells": None}
    lines.append(Line(label="null cell", days=[], **null_cell))
    broken: Any = {"cell": ValueError("no cell"), "maybe_cells": [ValueError("no")], "days": ["x"]}
    lines.append(Line(label="exception object", maybe_cell=good, cells=[good], **broken))
    return lines


@strawberry.type
class RowQuery:
    @strawberry.field
    def lines(self) -> list[Line | None]:
        return _lines()

    @strawberry.field
    def strict_lines(self) -> list[Line]:
        return _lines()[:5]

    @strawberry.field
    def one(self) -> Line:
        return _lines()[0]


CELL = "label ident number ratio flag shade shades maybeShade at maybeAt day"
ROW_QUERIES = (
    f"{{ lines {{ label cell {{ {CELL} }} maybeCell {{ {CELL} }} cells {{ {CELL} }} "
    f"maybeCells {{ {CELL} __typename }} days __typename }} }}",
    f"{{ strictLines {{ label cell {{ {CELL} }} cells {{ label at }} }} "
    f"one {{ cell {{ {CELL} }} }} }}",
    # a permission inside rows: refused for every cell but the open one
    "{ lines { label maybeCell { label secret } cells { secret label } } }",
    # aliases, fragments and __typename
    "query { lines { l: label c: maybeCell { ...C again: at } ...on Line { days } } } "
    "fragment C on Cell { n: number s: shade t: __typename at }",
    # @skip/@include from variables (directives keep the selection on graphql-core's path)
    "query($yes: Boolean!, $no: Boolean!) { lines { label maybeCell { label @include(if: $no) "
    "at @skip(if: $no) number @include(if: $yes) } } }",
)


@pytest.mark.parametrize("query", ROW_QUERIES)
async def test_rows_complete_as_graphql_core_does(query: str) -> None:
    # Given a schema with the project's scalars (DateTime, Date), enums, IDs, a guarded field,
    # and rows whose values are right, wrong in every leaf, or exceptions and awaitables
    schema = strawberry.Schema(RowQuery, scalar_overrides=SCALAR_OVERRIDES)
    # When both executors run the operation
    fast, slow = await under_both_executors(schema, parse(query))
    # Then data and errors (messages, paths, locations, order) are the same, JSON included
    assert fast == slow
    assert orjson.dumps(fast) == orjson.dumps(slow)
    if query.startswith("{ lines { label cell"):
        assert len(fast["errors"]) >= 10, "the corpus must exercise the error paths"
        first = fast["data"]["lines"][0]
        assert first["cell"]["at"] == "2026-03-01T09:30:15.123Z"
        assert first["cell"]["shade"] == "DARK"


def test_plain_selections_compile_to_rows_and_others_do_not() -> None:
    # Given the row schema
    schema = strawberry.Schema(RowQuery, scalar_overrides=SCALAR_OVERRIDES)

    def compiled(query: str) -> int:
        before = set(compiled_rows._ROWS.values())
        result = execute(schema._schema, parse(query), executor_class=FastExecutor)
        assert isinstance(result, ExecutionResult)
        return len(set(compiled_rows._ROWS.values()) - before)

    compiled_rows._ROWS.clear()
    # When a selection is plain leaves, objects and lists (with __typename and aliases)
    # Then each selection set of the row compiles once (cell and line)
    assert compiled(f"{{ strictLines {{ x: label cells {{ {CELL} __typename }} }} }}") == 2
    # and an operation with the same selections reuses them
    assert compiled(f"{{ strictLines {{ x: label cells {{ {CELL} __typename }} }} }}") == 0
    # When a selection holds a guarded field (a permission), no row is compiled for it
    # nor for the selections around it
    assert compiled("{ strictLines { label cells { label secret } } }") == 0


# --- the DateTime leaf and typed rows built without the dataclass __init__ ------------------------

ZONES = (
    None,
    UTC,
    bson_utc,
    timezone(timedelta(hours=2)),
    timezone(timedelta(hours=-5, minutes=-30)),
)


class Moment(datetime):
    """A datetime subclass: serialized by `iso_utc` itself, whatever its zone."""


@given(
    moment=st.datetimes(min_value=datetime(2, 1, 2), max_value=datetime(9998, 12, 30)),  # noqa: DTZ001
    zone=st.sampled_from(ZONES),
    subclass=st.booleans(),
)
def test_datetime_serialization_is_iso_utc(moment: datetime, zone: Any, subclass: bool) -> None:
    # Given a date-time in UTC (Python's or PyMongo's zone), another offset, or naive
    value = moment.replace(tzinfo=zone)
    if subclass:
        value = Moment.fromtimestamp(0, UTC).replace(
            year=value.year, month=value.month, day=value.day, hour=value.hour,
            minute=value.minute, second=value.second, microsecond=value.microsecond,
            tzinfo=zone,
        )  # fmt: skip
    # When the DateTime scalar serializes it
    # Then the text is the one date-time text of every surface
    assert DateTimeScalar.serialize(value) == iso_utc(value)


def _fan_by_constructor(doc: dict[str, Any]) -> Fan:
    """`Fan.from_doc` as it was, through the dataclass constructor (the oracle)."""

    def opt(value: Any) -> Any:
        return value if value else None

    return Fan(
        id=strawberry.ID(doc["_id"]), partner_id=strawberry.ID(doc["partner_id"]),
        email=doc.get("email"), phone=doc.get("phone"),
        first_name=opt(doc["first_name"]), last_name=opt(doc["last_name"]),
        display_name=opt(doc["display_name"]),
        gender=FanGender(doc["gender"]) if doc["gender"] else None,
        birth_date=date.fromisoformat(doc["birth_date"]) if doc["birth_date"] else None,
        is_subscribed=bool(doc["is_subscribed"]),
        is_phone_subscribed=bool(doc["is_phone_subscribed"]),
        is_optout=bool(doc["is_optout"]), business_opt_ins=list(doc["business_opt_ins"]),
        tags=list(doc["tags"]), fields=[KeyValue(key=k, value=str(v)) for k, v in
                                        sorted(doc["fields"].items())],
        country_code=opt(doc["country_code"]), province=opt(doc["province"]),
        city=opt(doc["city"]), postal_code=opt(doc["postal_code"]),
        source=opt(doc["source"]), created_at=doc["created_at"],
        updated_at=crm_data.from_ms(doc["updated_ms"]) or doc["created_at"],
        first_purchase_at=crm_data.from_ms(doc.get("first_purchase_ms")),
        last_active_at=crm_data.from_ms(doc.get("last_active_ms")),
        last_campaign_title=doc.get("last_campaign_title") or None,
        last_campaign_id=doc.get("last_campaign_id") or None,
        fan_time_key=crm_data.sync.time_key(doc),
        name=" ".join(p for p in (doc["first_name"], doc["last_name"]) if p) or None,
        rating=int(doc.get("rating") or 0), latitude=doc.get("latitude"),
        longitude=doc.get("longitude"), metro_area=opt(doc.get("metro_area")),
        ip_address=opt(doc.get("ip_address")), networks=list(doc.get("networks") or []),
        idol_names=list(doc.get("idol_names") or []),
    )  # fmt: skip


TEXT = st.text(max_size=6)
OPTIONAL_TEXT = st.one_of(st.none(), TEXT)
FAN_DOCS = st.fixed_dictionaries(
    {
        "_id": st.just("fan_1"), "partner_id": st.just("par_1"), "first_name": TEXT,
        "last_name": TEXT, "display_name": TEXT,
        "gender": st.sampled_from(["", "male", "female", "diverse", "other"]),
        "birth_date": st.sampled_from(["", "1990-02-03"]), "is_subscribed": st.booleans(),
        "is_phone_subscribed": st.booleans(), "is_optout": st.booleans(),
        "business_opt_ins": st.lists(TEXT, max_size=2), "tags": st.lists(TEXT, max_size=2),
        "fields": st.dictionaries(TEXT, TEXT, max_size=2), "country_code": TEXT,
        "province": TEXT, "city": TEXT, "postal_code": TEXT, "source": TEXT,
        "created_at": st.just(datetime(2026, 1, 1, tzinfo=bson_utc)),
        "updated_ms": st.integers(0, 2**41),
    },
    optional={
        "email": OPTIONAL_TEXT, "phone": OPTIONAL_TEXT,
        "first_purchase_ms": st.one_of(st.none(), st.integers(0, 2**41)),
        "last_active_ms": st.one_of(st.none(), st.integers(0, 2**41)),
        "last_campaign_title": OPTIONAL_TEXT, "last_campaign_id": OPTIONAL_TEXT,
        "rating": st.one_of(st.none(), st.integers(0, 5)),
        "latitude": st.one_of(st.none(), st.floats(-90, 90)),
        "longitude": st.one_of(st.none(), st.floats(-180, 180)),
        "metro_area": OPTIONAL_TEXT, "ip_address": OPTIONAL_TEXT,
        "networks": st.one_of(st.none(), st.lists(TEXT, max_size=2)),
        "idol_names": st.one_of(st.none(), st.lists(TEXT, max_size=2)),
    },
)  # fmt: skip


@given(doc=FAN_DOCS)
def test_fan_rows_are_the_dataclass_constructor_s(doc: dict[str, Any]) -> None:
    # Given a stored fan (fields present, empty or missing)
    # When it becomes a typed row
    fan = Fan.from_doc(doc)
    # Then it reads as the object the dataclass constructor makes, field for field
    assert type(fan) is Fan
    assert fields_of(fan) == vars(_fan_by_constructor(doc))
    assert fan == _fan_by_constructor(doc)


def fields_of(row: Any) -> dict[str, Any]:
    """Every field of a typed row, as read (a document row computes them on first read)."""
    return {name: getattr(row, name) for name in field_names(type(row))}


@functools.cache
def _plain_entries(type_name: str) -> list[compiled_rows.Entry]:
    """Row entries for every plain leaf and leaf-list field of a gateway type, as the
    executor builds them for a selection of all of them."""
    entries: list[compiled_rows.Entry] = []
    graphql_type = build_schema()._schema.type_map[type_name]
    for name, plan in leaf_plans(graphql_type).items():  # type: ignore[arg-type]
        if plan.leaf is not None:
            kind, extra = compiled_rows.leaf_kind(plan.leaf)
            entries.append((name, plan.attribute, kind, plan.nullable, extra))
        elif plan.items is not None and plan.items.leaf is not None:
            kind, extra = compiled_rows.leaf_kind(plan.items.leaf)
            entries.append(
                (name, plan.attribute, compiled_rows.K_LEAF_LIST, plan.nullable,
                 (kind, plan.items.nullable, extra))
            )  # fmt: skip
    return entries


@given(doc=FAN_DOCS, read_first=st.sampled_from([None, "id", "tags", "gender"]))
def test_document_rows_complete_from_their_document_as_from_their_attributes(
    doc: dict[str, Any], read_first: str | None
) -> None:
    # Given a fan row built from its document (one field perhaps read already), and the
    # compiled row of every plain fan field
    fan = Fan.from_doc(doc)
    if read_first is not None:
        getattr(fan, read_first)
    entries = _plain_entries("Fan")
    from_document = compiled_rows.row_function(entries, Fan)
    from_attributes = compiled_rows.row_function(entries)
    # When the row completes
    completed = from_document(fan, {})
    # Then it answers what the constructor-built fan's attributes answer
    assert completed is not compiled_rows.FALLBACK
    assert completed == from_attributes(_fan_by_constructor(doc), {})
    assert len(entries) > 25


@given(doc=FAN_DOCS)
def test_reading_a_document_row_keeps_it_holding_only_its_document(
    doc: dict[str, Any],
) -> None:
    # Given a fan row, read by a resolver as a batch reads its sources' ids
    doc = {**doc, "city": "Lyon"}
    fan = Fan.from_doc(doc)
    assert (fan.id, fan.city) == (doc["_id"], "Lyon")
    # Then it still holds only its document (the compiled row's direct path stays open)
    assert vars(fan) == {DOCUMENT: doc}
    # and a value set on the row wins, in reads and in its compiled row (attribute reads)
    fan.city = "Paris"
    entries = [e for e in _plain_entries("Fan") if e[0] == "city"]
    assert fan.city == "Paris"
    assert compiled_rows.row_function(entries, Fan)(fan, {}) == {"city": "Paris"}


def test_a_document_row_whose_field_fails_falls_back() -> None:
    # Given a stored fan whose document lacks a field its computation needs
    doc = {"_id": "fan_1", "partner_id": "par_1", "first_name": "A"}
    row = compiled_rows.row_function(_plain_entries("Fan"), Fan)
    # When its row completes, the general path decides (and reports the error there)
    assert row(Fan.from_doc(doc), {}) is compiled_rows.FALLBACK


def test_product_member_and_watch_rows_are_the_dataclass_constructor_s() -> None:
    # Given stored rows
    created = datetime(2026, 1, 1, 8, tzinfo=bson_utc)
    product = {
        "_id": "prd_1", "partner_id": "par_1", "name": "P", "description": "", "image": "",
        "price_minor": 2999, "currency": "USD", "external_url": "", "product_type": "T",
        "featured": 1, "status": "active", "sort_order": 2, "created_at": created,
        "updated_ms": 1793303494000,
    }  # fmt: skip
    member = {
        "_id": "mem_1", "name": "M", "email": "m@x", "voucher_code": "V", "created_at": created,
        "last_watched_ms": 0, "watch_minutes": None,
    }  # fmt: skip
    watch = {
        "_id": "wev_1", "minutes": 5, "ts": None, "watched_at": created, "class_title": "C",
        "category": "Yoga", "class_id": "cls_1",
    }  # fmt: skip
    # When they become typed rows
    # Then each is what the dataclass constructor makes
    assert fields_of(Product.from_doc(product)) == vars(Product(
        id=strawberry.ID("prd_1"), name="P", description="", image="", price="29.99",
        price_minor=2999, currency="USD", external_url="", product_type="T", featured=True,
        status=ProductStatus.ACTIVE, sort_order=2, created_at=created,
        updated_at=datetime.fromtimestamp(1793303494, UTC), partner_id="par_1",
    ))  # fmt: skip
    assert fields_of(Member.from_doc(member)) == vars(Member(
        id=strawberry.ID("mem_1"), name="M", email="m@x", status=MemberStatus.INACTIVE,
        joined_at=created, voucher_code="V", last_watched_at=None, total_watch_minutes=0,
        classes_watched=0,
    ))  # fmt: skip
    assert fields_of(WatchEvent.from_doc(watch)) == vars(WatchEvent(
        id=strawberry.ID("wev_1"), minutes=5, watched_at=created, class_title="C",
        category="Yoga", class_id="cls_1",
    ))  # fmt: skip


@strawberry.type
class Probe:
    a: int
    b: str
    hidden: strawberry.Private[str]


def test_a_document_row_type_without_every_field_is_refused_as_the_constructor_would() -> None:
    # Given the field computations of a typed row, one missing or one unknown
    computes = {"a": lambda doc: 1, "b": lambda doc: "b", "hidden": lambda doc: "h"}
    missing = {k: v for k, v in computes.items() if k != "b"}
    unknown = {**computes, "c": lambda doc: 3}
    # When the rows are declared
    # Then it is a TypeError naming the field, as the dataclass constructor's
    with pytest.raises(TypeError, match=r"missing fields \['b'\]"):
        document_rows(Probe, missing)
    with pytest.raises(TypeError, match=r"unknown fields \['c'\]"):
        document_rows(Probe, unknown)
    # and fields with a resolver are not instance attributes
    assert "history" not in field_names(Member)
