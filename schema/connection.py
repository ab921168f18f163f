"""Relay connections: `edges { cursor node }`, `pageInfo`, lazy `totalCount`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from loaders.base import Page

NodeT = TypeVar("NodeT")


@strawberry.type(description="Where a page ends and whether more follow.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when another page follows.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge; pass it as `after` for the next page."
    )


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque position of this item.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="A page of items: `first` (1..100, default 20) after a cursor.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of items matching the filters, across all pages.")
    async def total_count(self) -> int:
        return await self.count()

    @classmethod
    def of(cls, page: Page, to_node: Callable[[Any], NodeT]) -> Connection[NodeT]:
        """Shape a data-access page into a connection, mapping each row to its node type."""
        return cls(
            edges=[
                Edge(cursor=cursor, node=to_node(row))
                for row, cursor in zip(page.rows, page.cursors, strict=True)
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
            count=page.count,
        )
