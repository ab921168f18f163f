"""CRM awarded points list and display-name check (seed 002, scope `crm`)."""

from __future__ import annotations

from datetime import date

import strawberry

from gateway.context import Info
from resolvers.crm import points as resolve
from schema.connection import Connection
from schema.crm.core import READ, FanPointAward


@strawberry.type(description="A display name that may be used now.")
class DisplayNameCheck:
    display_name: str = strawberry.field(
        description="The name to use: the one asked for, or a modified one when it is taken."
    )
    available: bool = strawberry.field(description="True when the name asked for was free.")


@strawberry.type
class Query:
    @strawberry.field(
        description="Awarded points in a date window (inclusive UTC days, at most 366), oldest "
        "day first; optionally of one point name or one fan.",
        extensions=READ,
    )
    async def fan_point_awards(
        self, info: Info, start_date: date, end_date: date, point_name: str | None = None,
        fan_id: strawberry.ID | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[FanPointAward]:  # fmt: skip
        page = await resolve.awards(info, start_date, end_date, point_name, fan_id, first, after)
        return Connection.of(page, FanPointAward.from_doc)

    @strawberry.field(
        description="Check a display name: invalid is BAD_USER_INPUT; a name another fan of the "
        "partner uses (exact match) comes back modified (`name2`, `name3`, …).",
        extensions=READ,
    )
    async def check_display_name(
        self, info: Info, display_name: str, partner_id: strawberry.ID | None = None
    ) -> DisplayNameCheck:
        name, available = await resolve.display_name(info, display_name, partner_id)
        return DisplayNameCheck(display_name=name, available=available)
