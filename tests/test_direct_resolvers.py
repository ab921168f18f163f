"""Direct resolvers (`schema.execution.resolvers`): `FastExecutor` calls a Strawberry field's
resolver without the per-call wrapper chain exactly where that answers what Strawberry's own
resolver answers: the same data, refusals, errors and their order, on a small schema."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import strawberry
from graphql import parse
from strawberry.permission import BasePermission, PermissionExtension

from schema.execution.resolvers import direct_resolver
from tests.test_fast_execution import under_both_executors


class Allow(BasePermission):
    message = "allowed"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return True


class Refuse(BasePermission):
    message = "Refused."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


class SeesArguments(BasePermission):
    message = "Only small numbers."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return bool(kwargs.get("n", 0) < 10)


class NotABoolean(BasePermission):
    message = "never shown"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return "yes"  # type: ignore[return-value]


class AsyncRefuse(BasePermission):
    message = "Refused later."

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.enum
class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


@strawberry.input
class Window:
    first: int
    size: Size = Size.SMALL


def guarded(*permissions: BasePermission, silently: bool = False) -> list[Any]:
    return [PermissionExtension(list(permissions), fail_silently=silently)]


@strawberry.type
class Query:
    @strawberry.field(extensions=guarded(Allow(), SeesArguments()))
    async def echo(self, info: strawberry.Info, n: int = 1, size: Size = Size.LARGE) -> str:
        return f"{n} {size.value} {type(info).__name__}"

    @strawberry.field(extensions=guarded(Allow(), Refuse(), Allow()))
    async def refused(self) -> str:
        raise AssertionError("never resolved")

    @strawberry.field(extensions=guarded(NotABoolean()))
    async def confused(self) -> str:
        return "never"

    @strawberry.field(extensions=guarded(AsyncRefuse()))
    async def later(self) -> str | None:
        return "never"

    @strawberry.field(extensions=guarded(Refuse(), silently=True))
    async def quiet(self) -> str | None:
        return "never"

    @strawberry.field
    async def window(self, window: Window, root: strawberry.Parent[Any]) -> str:
        return f"{window.first} {window.size.value} {root!r}"

    @strawberry.field
    async def failing(self) -> str | None:
        raise ValueError("resolver failed")

    @strawberry.field
    def sync(self, n: int = 2) -> int:
        return n * 2


SCHEMA = strawberry.Schema(Query)

QUERIES = (
    "{ echo echo2: echo(n: 3, size: SMALL) }",
    "{ echo(n: 12) other: echo(n: 2) }",
    "{ refused echo }",
    "{ confused }",
    "{ later quiet }",
    "{ window(window: {first: 5}) w2: window(window: {first: 7, size: LARGE}) }",
    "{ failing sync echo(n: 50) }",
)


@pytest.mark.parametrize("query", QUERIES)
async def test_direct_resolvers_answer_as_strawberry_s(query: str) -> None:
    fast, slow = await under_both_executors(SCHEMA, parse(query))
    assert fast == slow


def test_only_plain_async_fields_with_plain_permissions_are_called_directly() -> None:
    fields = SCHEMA._schema.query_type.fields  # type: ignore[union-attr]
    direct = {name for name, field in fields.items() if direct_resolver(field, SCHEMA)}
    assert direct == {"echo", "refused", "confused", "window", "failing"}
