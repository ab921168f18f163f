"""Fan CRM root fields (queries, mutations, subscriptions) of the original slice."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.core.errors import BadUserInput
from gateway.storage.mongo import Document
from loaders import crm as data
from resolvers import crm as resolve
from schema.connection import Connection
from schema.crm.inputs import (
    CreateFanActivityInput,
    CreateFanInput,
    CreateTicketInput,
    FanFilter,
    TicketFilter,
    UpdateFanInput,
    UpsertTicketEventInput,
)
from schema.crm.types import (
    READ,
    WRITE,
    CreateTicketResult,
    Fan,
    FanActivity,
    ItemError,
    LeaderboardEntry,
    Money,
    Ticket,
    TicketCreateStatus,
    TicketEvent,
    TicketEventAction,
    TicketEventResult,
    TicketStats,
)
from schema.permissions import STAFF, allow

# --- root ----------------------------------------------------------------------------


def _ticket_result(index: int, status: str, value: Document | BadUserInput) -> CreateTicketResult:
    if isinstance(value, BadUserInput):
        return CreateTicketResult(
            index=index, status=TicketCreateStatus.INVALID, ticket=None,
            error=ItemError(message=value.message, field=value.field),
        )  # fmt: skip
    return CreateTicketResult(
        index=index, status=TicketCreateStatus(status), ticket=Ticket.from_doc(value), error=None
    )


def _display_name(doc: Document | None) -> str:
    if doc is None:
        return "Fan"
    if doc["display_name"]:
        return str(doc["display_name"])
    if doc["first_name"]:
        initial = f" {doc['last_name'][0]}." if doc["last_name"] else ""
        return f"{doc['first_name']}{initial}"
    return "Fan"


@strawberry.type
class Query:
    @strawberry.field(description="Search fans (newest first).", extensions=READ)
    async def fans(
        self, info: Info, filter: FanFilter | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[Fan]:  # fmt: skip
        return Connection.of(await resolve.fans(info, filter, first, after), Fan.from_doc)

    @strawberry.field(description="One fan by id.", extensions=READ)
    async def fan(self, info: Info, id: strawberry.ID) -> Fan:
        return Fan.from_doc(await resolve.fan_by_id(info, id))

    @strawberry.field(
        description="Tickets in ascending ticket order (page on with `after` to sync "
        "incrementally).",
        extensions=READ,
    )
    async def tickets(
        self, info: Info, filter: TicketFilter | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[Ticket]:  # fmt: skip
        return Connection.of(await resolve.tickets(info, filter, first, after), Ticket.from_doc)

    @strawberry.field(description="One ticket by id.", extensions=READ)
    async def ticket(self, info: Info, id: strawberry.ID) -> Ticket:
        return Ticket.from_doc(await resolve.ticket(info, id))

    @strawberry.field(
        description="Ticket sales of a purchase window (inclusive UTC days) with new and "
        "returning fans. A fan is NEW when its first purchase with the partner falls in the "
        "window, RETURNING when it bought in the window and also before it. With "
        "eventSpecific, only purchases matching the event filters count for both.",
        extensions=READ,
    )
    async def ticket_stats(
        self, info: Info, min_purchase_date: date, max_purchase_date: date,
        event_name: str | None = None, event_key: str | None = None,
        event_date: date | None = None, venue_name: str | None = None,
        artist_name: str | None = None, event_specific: bool = False,
        partner_id: strawberry.ID | None = None,
    ) -> TicketStats:  # fmt: skip
        filters = {"event_name": event_name, "event_key": event_key, "venue_name": venue_name,
                   "event_date": event_date.isoformat() if event_date else None,
                   "artist_name": artist_name}  # fmt: skip
        stats = await resolve.ticket_stats(
            info, min_purchase_date, max_purchase_date, filters, event_specific, partner_id
        )
        return TicketStats(
            returning_fans_count=stats["returning_fans_count"],
            new_fans_count=stats["new_fans_count"], sales_count=stats["sales_count"],
            seats_count=stats["seats_count"],
            revenue=[Money(amount=a, currency=c) for c, a in stats["revenue"]],
        )  # fmt: skip

    @strawberry.field(description="Ticket events, by date.", extensions=READ)
    async def ticket_events(
        self, info: Info, event_name: str | None = None, event_key: str | None = None,
        event_date: date | None = None, venue_name: str | None = None,
        network: str | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[TicketEvent]:  # fmt: skip
        filters = {"event_name": event_name, "event_key": event_key, "venue_name": venue_name,
                   "event_date": event_date.isoformat() if event_date else None,
                   "network": network}  # fmt: skip
        page = await resolve.ticket_events(info, filters, first, after)
        return Connection.of(page, TicketEvent.from_doc)

    @strawberry.field(
        description="Top fans by points of one name in a date range (inclusive UTC days); "
        "`first` 1..100 rows, default 20.",
        extensions=READ,
    )
    async def leaderboard(
        self, info: Info, point_name: str, start_date: date | None = None,
        end_date: date | None = None, first: int | None = None,
        partner_id: strawberry.ID | None = None,
    ) -> list[LeaderboardEntry]:  # fmt: skip
        rows = await resolve.leaderboard(info, point_name, start_date, end_date, first, partner_id)
        loader = info.context.loaders.get(data.FanByIdLoader)
        fans = await loader.load_many([fan_id for fan_id, _ in rows])
        entries: list[LeaderboardEntry] = []
        for i, ((fan_id, points), fan) in enumerate(zip(rows, fans, strict=True)):
            rank = entries[-1].rank if entries and entries[-1].points == points else i + 1
            entries.append(
                LeaderboardEntry(
                    rank=rank,
                    fan_id=strawberry.ID(fan_id),
                    display_name=_display_name(fan),
                    points=points,
                )
            )
        return entries


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a fan.", extensions=WRITE)
    async def create_fan(self, info: Info, input: CreateFanInput) -> Fan:
        return Fan.from_doc(await resolve.create_fan(info, input))

    @strawberry.mutation(description="Change a fan; only the fields sent change.", extensions=WRITE)
    async def update_fan(self, info: Info, id: strawberry.ID, input: UpdateFanInput) -> Fan:
        return Fan.from_doc(await resolve.update_fan(info, id, input))

    @strawberry.mutation(
        description="Delete a fan with its activities and points (its tickets stay).",
        extensions=WRITE,
    )
    async def delete_fan(self, info: Info, id: strawberry.ID) -> bool:
        return await resolve.delete_fan(info, id)

    @strawberry.mutation(description="Record a fan activity.", extensions=WRITE)
    async def create_fan_activity(self, info: Info, input: CreateFanActivityInput) -> FanActivity:
        return FanActivity.from_doc(await resolve.create_activity(info, input))

    @strawberry.mutation(
        description="Store a ticket; a known ticketKey returns DUPLICATE with the existing one.",
        extensions=WRITE,
    )
    async def create_ticket(
        self, info: Info, input: CreateTicketInput, partner_id: strawberry.ID | None = None
    ) -> CreateTicketResult:
        status, doc = await resolve.create_ticket(info, input, partner_id)
        return _ticket_result(0, status, doc)

    @strawberry.mutation(
        description="Store 1..100 tickets; one result per item (SUCCESS, DUPLICATE, INVALID).",
        extensions=WRITE,
    )
    async def create_tickets(
        self, info: Info, tickets: list[CreateTicketInput], partner_id: strawberry.ID | None = None
    ) -> list[CreateTicketResult]:
        results = await resolve.create_tickets(info, tickets, partner_id)
        return [_ticket_result(i, status, value) for i, (status, value) in enumerate(results)]

    @strawberry.mutation(description="Create, update or delete a ticket event.", extensions=WRITE)
    async def upsert_ticket_event(
        self, info: Info, input: UpsertTicketEventInput
    ) -> TicketEventResult:
        action, doc = await resolve.upsert_ticket_event(info, input)
        return TicketEventResult(
            id=strawberry.ID(doc["_id"]), action=TicketEventAction(action), status="success",
            event=None if action == "delete" else TicketEvent.from_doc(doc),
        )  # fmt: skip


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Your partner's tickets as they are sold or synced (partner staff).",
        extensions=allow(STAFF, scope=Scope.CRM_READ),
    )
    async def ticket_sold(self, info: Info) -> AsyncGenerator[Ticket, None]:
        async for doc in resolve.sold_tickets(info):
            yield Ticket.from_doc(doc)

    @strawberry.subscription(
        description="Your partner's fan activities as they are recorded (partner staff).",
        extensions=allow(STAFF, scope=Scope.CRM_READ),
    )
    async def fan_activity(self, info: Info) -> AsyncGenerator[FanActivity, None]:
        async for doc in resolve.fan_activities(info):
            yield FanActivity.from_doc(doc)
