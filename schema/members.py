"""Members of a partner's app: registration by voucher, login, watch history, catalogue."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import date as date_type
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.tools import merge_types

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.storage.mongo import Document
from loaders import members as data
from loaders.base import from_epoch_ms
from resolvers import members as resolve
from schema.connection import Connection
from schema.execution.batch import batched, one
from schema.permissions import APP, MEMBER, OPERATOR, STAFF, allow
from schema.rows import document_rows


@strawberry.enum(description="Whether a member watched anything in the last 30 days.")
class MemberStatus(Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"


@strawberry.enum(description="Orders of the member list.")
class MemberSort(Enum):
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"
    NAME = "NAME"
    WATCH_TIME = "WATCH_TIME"
    LAST_ACTIVE = "LAST_ACTIVE"


@strawberry.type(description="A class in the partner's catalogue.")
class Class:
    id: strawberry.ID = strawberry.field(description="Class id (`cls_…`).")
    title: str = strawberry.field(description="Title.")
    category: str = strawberry.field(description="Category (e.g. Yoga, HIIT).")
    duration_minutes: int = strawberry.field(description="Length of the class in minutes.")

    @classmethod
    def from_doc(cls, doc: Document) -> Class:
        return cls(
            id=strawberry.ID(doc["_id"]), title=doc["title"], category=doc["category"],
            duration_minutes=int(doc["duration_minutes"]),
        )  # fmt: skip


@strawberry.type(description="One class a member watched.")
class WatchEvent:
    id: strawberry.ID = strawberry.field(description="Event id (`wev_…`).")
    minutes: int = strawberry.field(description="Minutes watched.")
    watched_at: datetime = strawberry.field(description="When it was recorded.")
    class_title: str = strawberry.field(description="Title of the class when watched.")
    category: str = strawberry.field(description="Category of the class when watched.")
    class_id: strawberry.Private[str]

    @strawberry.field(name="class", description="The class (null if it left the catalogue).")
    async def klass(self, info: Info) -> Class | None:
        doc = await resolve.load_class(info, self.class_id)
        return Class.from_doc(doc) if doc else None

    @classmethod
    def from_doc(cls, doc: Document) -> WatchEvent:
        """The event of a stored document; each field is computed when first read."""
        return _watch_event_row(doc)


_watch_event_row = document_rows(WatchEvent, {
    "id": lambda doc: doc["_id"], "minutes": lambda doc: int(doc["minutes"]),
    "watched_at": lambda doc: from_epoch_ms(doc["ts"]) or doc["watched_at"],
    "class_title": lambda doc: doc["class_title"], "category": lambda doc: doc["category"],
    "class_id": lambda doc: doc["class_id"],
})  # fmt: skip


async def histories(
    info: Info, members: Sequence[Member], first: int | None = None, after: str | None = None
) -> list[Connection[WatchEvent]]:
    """`Member.history` of many members: one loader call (batched field)."""
    pages = await resolve.histories(info, [member.id for member in members], first, after)
    return [Connection.of(page, WatchEvent.from_doc) for page in pages]


@strawberry.type(description="A member of a partner's app (joined by redeeming a voucher).")
class Member:
    id: strawberry.ID = strawberry.field(description="Member id (`mem_…`).")
    name: str = strawberry.field(description="Display name.")
    email: str = strawberry.field(description="Login email (lower case), unique per partner.")
    status: MemberStatus = strawberry.field(description="Active: watched in the last 30 days.")
    joined_at: datetime = strawberry.field(description="When the member registered.")
    voucher_code: str = strawberry.field(description="The voucher code redeemed to join.")
    last_watched_at: datetime | None = strawberry.field(description="Last watch, if any.")
    total_watch_minutes: int = strawberry.field(description="Minutes watched in total.")
    classes_watched: int = strawberry.field(description="Classes watched in total (views).")

    @strawberry.field(description="Viewing history, newest first.", metadata=batched(histories))
    async def history(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[WatchEvent]:
        history: Connection[WatchEvent] = await one(
            histories, info, self, first=first, after=after
        )
        return history

    @classmethod
    def from_doc(cls, doc: Document) -> Member:
        """The member of a stored document; each field is computed when first read."""
        return _member_row(doc)


# Status members by value (`member_status` gives one of them).
STATUSES = {member.value: member for member in MemberStatus}

_member_row = document_rows(Member, {
    "id": lambda doc: doc["_id"], "name": lambda doc: doc["name"],
    "email": lambda doc: doc["email"],
    "status": lambda doc: STATUSES[data.member_status(doc)],
    "joined_at": lambda doc: doc["created_at"], "voucher_code": lambda doc: doc["voucher_code"],
    "last_watched_at": lambda doc: from_epoch_ms(doc.get("last_watched_ms") or None),
    "total_watch_minutes": lambda doc: int(doc.get("watch_minutes") or 0),
    "classes_watched": lambda doc: int(doc.get("classes_watched") or 0),
})  # fmt: skip


async def load_member(info: Info, member_id: str) -> Member | None:
    """A member through the request's loader (for relations such as `voucher.redeemedBy`)."""
    doc = await resolve.load_member(info, member_id)
    return Member.from_doc(doc) if doc else None


@strawberry.type(description="A member session: the token for `Authorization: Bearer`.")
class MemberAuthPayload:
    token: str = strawberry.field(description="Member JWT; send it with the app's X-API-Key.")
    expires_in: int = strawberry.field(description="Seconds until the token expires.")
    member: Member = strawberry.field(description="The member.")


@strawberry.input(description="A new member joining with a voucher code.")
class RegisterMemberInput:
    voucher_code: str = strawberry.field(description="The voucher to redeem.")
    name: str = strawberry.field(description="Display name, 1..120 characters.")
    email: str = strawberry.field(description="Login email, unique within the partner.")
    password: str = strawberry.field(description="10..256 characters.")


@strawberry.type
class MembersQuery:
    @strawberry.field(
        description="Members: search by name or email, filter by status, sort.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.MEMBERS_READ),
    )
    async def members(
        self, info: Info, search: str | None = None, status: MemberStatus | None = None,
        sort: MemberSort = MemberSort.NEWEST, first: int | None = None, after: str | None = None,
    ) -> Connection[Member]:  # fmt: skip
        page = await resolve.members(
            info, search, status.value if status else None, sort.value, first, after
        )
        return Connection.of(page, Member.from_doc)

    @strawberry.field(
        description="A member with viewing history and totals (a member token: itself only).",
        extensions=allow(STAFF, OPERATOR, MEMBER, scope=Scope.MEMBERS_READ),
    )
    async def member(self, info: Info, id: strawberry.ID) -> Member:
        return Member.from_doc(await resolve.member(info, id))

    @strawberry.field(
        description="The partner's class catalogue, by title.",
        extensions=allow(STAFF, OPERATOR, APP, MEMBER, scope=Scope.PARTNER_READ),
    )
    async def classes(
        self, info: Info, category: str | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[Class]:  # fmt: skip
        page = await resolve.classes(info, category, first, after)
        return Connection.of(page, Class.from_doc)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Join with a voucher (app key): redeems it and creates the member, atomically.",
        extensions=allow(APP),
    )
    async def register_member(self, info: Info, input: RegisterMemberInput) -> MemberAuthPayload:
        token, doc = await resolve.register_member(
            info, input.voucher_code, input.name, input.email, input.password
        )
        return MemberAuthPayload(
            token=token.token, expires_in=token.expires_in, member=Member.from_doc(doc)
        )

    @strawberry.mutation(
        description="Member login (app key); same error for unknown email and wrong password.",
        extensions=allow(APP),
    )
    async def member_login(self, info: Info, email: str, password: str) -> MemberAuthPayload:
        token, doc = await resolve.member_login(info, email, password)
        return MemberAuthPayload(
            token=token.token, expires_in=token.expires_in, member=Member.from_doc(doc)
        )

    @strawberry.mutation(
        description="Record minutes (1..600) of a class watched by the calling member.",
        extensions=allow(MEMBER),
    )
    async def record_watch(self, info: Info, class_id: strawberry.ID, minutes: int) -> WatchEvent:
        return WatchEvent.from_doc(await resolve.record_watch(info, class_id, minutes))


@strawberry.enum(description="Predefined analytics periods, ending today.")
class AnalyticsPeriod(Enum):
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"


@strawberry.type(description="Watch time of one day.")
class DayWatchTime:
    date: date_type = strawberry.field(description="The day (UTC).")
    minutes: int = strawberry.field(description="Minutes watched.")
    views: int = strawberry.field(description="Classes watched.")


@strawberry.type(description="Watch time of one category.")
class CategoryWatchTime:
    category: str = strawberry.field(description="The category.")
    minutes: int = strawberry.field(description="Minutes watched.")
    views: int = strawberry.field(description="Classes watched.")


@strawberry.type(description="Watch time of one class.")
class ClassWatchTime:
    class_id: strawberry.ID = strawberry.field(description="The class id.")
    title: str = strawberry.field(description="Title when watched.")
    category: str = strawberry.field(description="Category when watched.")
    minutes: int = strawberry.field(description="Minutes watched.")
    views: int = strawberry.field(description="Times watched.")

    @strawberry.field(name="class", description="The class (null if it left the catalogue).")
    async def klass(self, info: Info) -> Class | None:
        doc = await resolve.load_class(info, self.class_id)
        return Class.from_doc(doc) if doc else None


@strawberry.type(description="Totals over the analytics range.")
class AnalyticsTotals:
    watch_time_minutes: int = strawberry.field(description="Minutes watched.")
    classes_watched: int = strawberry.field(description="Classes watched (views).")
    active_members: int = strawberry.field(description="Members who watched anything.")


@strawberry.type(description="Usage analytics over a range of days.")
class Analytics:
    start_date: date_type = strawberry.field(description="First day of the range.")
    end_date: date_type = strawberry.field(description="Last day of the range (inclusive).")
    watch_time_by_day: list[DayWatchTime] = strawberry.field(
        description="Every day of the range, zero where nothing was watched."
    )
    popular_categories: list[CategoryWatchTime] = strawberry.field(
        description="Categories by minutes watched."
    )
    popular_classes: list[ClassWatchTime] = strawberry.field(
        description="Top 10 classes by minutes watched."
    )
    totals: AnalyticsTotals = strawberry.field(description="Totals over the range.")


@strawberry.type(description='Change over the last 30 days vs the 30 before ("+12%").')
class DashboardTrends:
    members_change: str = strawberry.field(description="New members, change in percent.")
    watch_time_change: str = strawberry.field(description="Minutes watched, change in percent.")


@strawberry.type(description="The partner's overview.")
class Dashboard:
    total_members: int = strawberry.field(description="All members.")
    active_members: int = strawberry.field(description="Members who watched in the last 30 days.")
    total_watch_time_minutes: int = strawberry.field(description="Minutes watched, all time.")
    total_classes_watched: int = strawberry.field(description="Classes watched, all time.")
    trends: DashboardTrends = strawberry.field(description="Recent change.")


@strawberry.type(description="A member billed for the month, with that month's usage.")
class BillingMember:
    member: Member = strawberry.field(description="The member.")
    watch_minutes: int = strawberry.field(description="Minutes watched in the month.")
    classes_watched: int = strawberry.field(description="Classes watched in the month.")


@strawberry.type(description="Billing report: members active (watched) in a month.")
class Billing:
    month: int = strawberry.field(description="Month, 1..12.")
    year: int = strawberry.field(description="Year.")
    active_member_count: int = strawberry.field(description="Members billed for the month.")
    members: list[BillingMember] = strawberry.field(description="Those members, by name.")


@strawberry.type
class ReportsQuery:
    @strawberry.field(
        description="Usage analytics for a period (default MONTH) or startDate..endDate.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.ANALYTICS_READ),
    )
    async def analytics(
        self, info: Info, period: AnalyticsPeriod | None = None,
        start_date: date_type | None = None, end_date: date_type | None = None,
    ) -> Analytics:  # fmt: skip
        out = await resolve.analytics(info, period.value if period else None, start_date, end_date)
        return Analytics(
            start_date=out["start"], end_date=out["end"],
            watch_time_by_day=[
                DayWatchTime(date=date_type.fromisoformat(d["day"]), minutes=d["minutes"],
                             views=d["views"]) for d in out["by_day"]
            ],
            popular_categories=[
                CategoryWatchTime(category=str(c["_id"]), minutes=int(c["minutes"]),
                                  views=int(c["views"])) for c in out["by_category"]
            ],
            popular_classes=[
                ClassWatchTime(class_id=strawberry.ID(c["_id"]), title=str(c["title"]),
                               category=str(c["category"]), minutes=int(c["minutes"]),
                               views=int(c["views"])) for c in out["by_class"]
            ],
            totals=AnalyticsTotals(watch_time_minutes=out["minutes"],
                                   classes_watched=out["views"], active_members=out["members"]),
        )  # fmt: skip

    @strawberry.field(
        description="Overview: members, watch time, and 30-day trends.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.ANALYTICS_READ),
    )
    async def dashboard(self, info: Info) -> Dashboard:
        out = await resolve.dashboard(info)
        return Dashboard(
            total_members=out["total_members"], active_members=out["active_members"],
            total_watch_time_minutes=out["total_watch_minutes"],
            total_classes_watched=out["total_classes_watched"],
            trends=DashboardTrends(members_change=out["members_change"],
                                   watch_time_change=out["watch_time_change"]),
        )  # fmt: skip

    @strawberry.field(
        description="Billing report for a month: members who watched in it.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.BILLING_READ),
    )
    async def billing(self, info: Info, month: int, year: int) -> Billing:
        pairs = await resolve.billing(info, month, year)
        return Billing(
            month=month, year=year, active_member_count=len(pairs),
            members=[
                BillingMember(member=Member.from_doc(doc), watch_minutes=usage["minutes"],
                              classes_watched=usage["views"]) for usage, doc in pairs
            ],
        )  # fmt: skip


Query = merge_types("Query", (MembersQuery, ReportsQuery))


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Your partner's new members as they register (partner staff).",
        extensions=allow(STAFF, scope=Scope.MEMBERS_READ),
    )
    async def member_joined(self, info: Info) -> AsyncGenerator[Member, None]:
        async for doc in resolve.joined_members(info):
            yield Member.from_doc(doc)
