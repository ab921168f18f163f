"""Activations: a partner at one event, its engagement tracking and seed-000 stats."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.activations import ActivationStatus as StoredStatus
from loaders.activations import EventKind
from resolvers import activations as resolve
from resolvers.activations import StatsReport
from schema.connection import Connection
from schema.partners import Partner, load_partner
from schema.permissions import APP, MEMBER, OPERATOR, STAFF, allow, public


@strawberry.enum(name="ActivationStatus", description="Lifecycle of an activation.")
class ActivationStatus(Enum):
    DRAFT = "draft"
    LIVE = "live"
    ENDED = "ended"
    ARCHIVED = "archived"

    @property
    def stored(self) -> StoredStatus:
        return StoredStatus(self.value)


ActivationEventKind = strawberry.enum(
    EventKind,
    name="ActivationEventKind",
    description="An engagement event: a view, an outbound click, a calendar sync.",
)


@strawberry.type(name="ActivationStatsRange", description="The time range stats cover.")
class StatsRangeType:
    start_at: datetime = strawberry.field(description="Start of the range (inclusive).")
    end_at: datetime = strawberry.field(description="End of the range (inclusive).")


@strawberry.type(description="Seed-000 engagement metrics; rates are percentages, one decimal.")
class ActivationMetrics:
    click_count: int = strawberry.field(description="Views.")
    outbound_click_count: int = strawberry.field(description="Outbound clicks.")
    calendar_sync_count: int = strawberry.field(description="Calendar syncs.")
    unique_session_count: int = strawberry.field(description="Distinct sessions with any event.")
    unique_view_session_count: int = strawberry.field(description="Distinct sessions that viewed.")
    unique_outbound_session_count: int = strawberry.field(
        description="Distinct sessions that clicked out."
    )
    unique_calendar_session_count: int = strawberry.field(
        description="Distinct sessions that synced to a calendar."
    )
    outbound_session_rate: float = strawberry.field(
        description="uniqueOutboundSessionCount / uniqueViewSessionCount * 100 (0 if no views)."
    )
    calendar_session_rate: float = strawberry.field(
        description="uniqueCalendarSessionCount / uniqueViewSessionCount * 100 (0 if no views)."
    )
    outbound_interaction_rate: float = strawberry.field(
        description="uniqueOutboundSessionCount / uniqueSessionCount * 100 (0 if no sessions)."
    )
    calendar_interaction_rate: float = strawberry.field(
        description="uniqueCalendarSessionCount / uniqueSessionCount * 100 (0 if no sessions)."
    )


@strawberry.type(description="Stats of one activation over a range (the seed-000 `data` object).")
class ActivationStats:
    activation_id: strawberry.ID = strawberry.field(description="Activation id (`act_…`).")
    event_key: str = strawberry.field(description="Event key, e.g. `jazz-sunset-2026-03-15`.")
    event_name: str = strawberry.field(description="Event name.")
    tier: str = strawberry.field(description="Activation tier, e.g. `premium`.")
    range: StatsRangeType = strawberry.field(description="The range covered.")
    metrics: ActivationMetrics = strawberry.field(description="The numbers.")

    @classmethod
    def from_report(cls, report: StatsReport) -> ActivationStats:
        doc, m = report.activation, report.metrics
        return cls(
            activation_id=strawberry.ID(doc["_id"]),
            event_key=doc["event_key"],
            event_name=doc["event_name"],
            tier=doc["tier"],
            range=StatsRangeType(start_at=report.range.start_at, end_at=report.range.end_at),
            metrics=ActivationMetrics(
                click_count=m.click_count,
                outbound_click_count=m.outbound_click_count,
                calendar_sync_count=m.calendar_sync_count,
                unique_session_count=m.unique_session_count,
                unique_view_session_count=m.unique_view_session_count,
                unique_outbound_session_count=m.unique_outbound_session_count,
                unique_calendar_session_count=m.unique_calendar_session_count,
                outbound_session_rate=m.outbound_session_rate,
                calendar_session_rate=m.calendar_session_rate,
                outbound_interaction_rate=m.outbound_interaction_rate,
                calendar_interaction_rate=m.calendar_interaction_rate,
            ),
        )


@strawberry.type(description="A partner's activation at one event.")
class Activation:
    id: strawberry.ID = strawberry.field(description="Activation id (`act_…`).")
    event_key: str = strawberry.field(description="Event key (used in the CSV file name).")
    event_name: str = strawberry.field(description="Event name.")
    tier: str = strawberry.field(description="Tier, e.g. `premium`.")
    status: ActivationStatus = strawberry.field(description="Lifecycle status.")
    start_at: datetime = strawberry.field(description="Window start; events count from here.")
    end_at: datetime = strawberry.field(description="Window end; events count until here.")
    created_at: datetime = strawberry.field(description="When it was created.")
    partner_id: strawberry.Private[str]
    doc: strawberry.Private[Document]

    @strawberry.field(description="The partner this activation belongs to.")
    async def partner(self, info: Info) -> Partner | None:
        return await load_partner(info, self.partner_id)

    @strawberry.field(
        description="Stats over its window or a narrower range inside it (counted in whole "
        "UTC days); null for drafts, which have none."
    )
    async def stats(
        self, info: Info, start_at: datetime | None = None, end_at: datetime | None = None
    ) -> ActivationStats | None:
        if self.doc["status"] == StoredStatus.DRAFT:
            return None
        return ActivationStats.from_report(await resolve.stats_of(info, self.doc, start_at, end_at))

    @classmethod
    def from_doc(cls, doc: Document) -> Activation:
        return cls(
            id=strawberry.ID(doc["_id"]), event_key=doc["event_key"],
            event_name=doc["event_name"], tier=doc["tier"],
            status=ActivationStatus(doc["status"]), start_at=doc["start_at"],
            end_at=doc["end_at"], created_at=doc["created_at"], partner_id=doc["partner_id"],
            doc=doc,
        )  # fmt: skip


@strawberry.input(description="A new activation.")
class CreateActivationInput:
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Partner (operators must name it; staff: their own)."
    )
    event_key: str = strawberry.field(description="1..80 characters of A-Z a-z 0-9 _ -.")
    event_name: str = strawberry.field(description="1..200 characters.")
    tier: str = strawberry.field(description="1..40 characters of a-z 0-9 _ -, e.g. `premium`.")
    start_at: datetime = strawberry.field(description="Window start.")
    end_at: datetime = strawberry.field(description="Window end, after the start, ≤ 366 days.")
    status: ActivationStatus = strawberry.field(
        default=ActivationStatus.DRAFT, description="Initial status (default DRAFT)."
    )


@strawberry.type(description="A new activation and its stats token, which is shown only here.")
class CreateActivationPayload:
    activation: Activation = strawberry.field(description="The activation.")
    token: str = strawberry.field(
        description="Read-only stats token (`tok_…`); store it now: it cannot be shown or "
        "regenerated, and it dies with the activation."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="Activations (newest window first), optionally by status; operators may "
        "name a partner.",
        extensions=allow(OPERATOR, STAFF, scope=Scope.ACTIVATIONS_READ),
    )
    async def activations(
        self, info: Info, status: ActivationStatus | None = None,
        partner_id: strawberry.ID | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[Activation]:  # fmt: skip
        page = await resolve.activations(
            info, status.stored if status else None, partner_id, first, after
        )
        return Connection.of(page, Activation.from_doc)

    @strawberry.field(
        description="One activation by id.",
        extensions=allow(OPERATOR, STAFF, scope=Scope.ACTIVATIONS_READ),
    )
    async def activation(self, info: Info, id: strawberry.ID) -> Activation:
        return Activation.from_doc(await resolve.activation(info, id))

    @strawberry.field(
        description="Stats of one activation: with its `token` alone (no other credential), "
        "or as its partner's staff (activations:read) or the operator. Wrong token: FORBIDDEN; "
        "unknown activation: NOT_FOUND; a draft: CONFLICT.",
        extensions=public(),
    )
    async def activation_stats(
        self, info: Info, activation_id: strawberry.ID, token: str | None = None,
        start_at: datetime | None = None, end_at: datetime | None = None,
    ) -> ActivationStats:  # fmt: skip
        report = await resolve.activation_stats(info, activation_id, token, start_at, end_at)
        return ActivationStats.from_report(report)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create an activation; returns its stats token once.",
        extensions=allow(OPERATOR, STAFF, scope=Scope.ACTIVATIONS_WRITE),
    )
    async def create_activation(
        self, info: Info, input: CreateActivationInput
    ) -> CreateActivationPayload:
        doc, token = await resolve.create_activation(
            info, input.partner_id, input.event_key, input.event_name, input.tier,
            input.start_at, input.end_at, input.status.stored,
        )  # fmt: skip
        return CreateActivationPayload(activation=Activation.from_doc(doc), token=token)

    @strawberry.mutation(
        description="Delete an activation: it disappears and its token stops working.",
        extensions=allow(OPERATOR, STAFF, scope=Scope.ACTIVATIONS_WRITE),
    )
    async def delete_activation(self, info: Info, id: strawberry.ID) -> bool:
        return await resolve.delete_activation(info, id)

    @strawberry.mutation(
        description="Move an activation forward: DRAFT → LIVE → ENDED → ARCHIVED.",
        extensions=allow(OPERATOR, STAFF, scope=Scope.ACTIVATIONS_WRITE),
    )
    async def set_activation_status(
        self, info: Info, id: strawberry.ID, status: ActivationStatus
    ) -> Activation:
        return Activation.from_doc(await resolve.set_activation_status(info, id, status.stored))

    @strawberry.mutation(
        description="Count an engagement event (app key of the activation's partner). The "
        "activation must be live and inside its window (else CONFLICT); `sessionId` is 8..128 "
        "characters of A-Z a-z 0-9 _ -.",
        extensions=allow(APP, MEMBER),
    )
    async def track_activation_event(
        self, info: Info, activation_id: strawberry.ID, kind: ActivationEventKind,  # type: ignore[valid-type]
        session_id: str,
    ) -> bool:  # fmt: skip
        return await resolve.track_event(info, activation_id, EventKind(kind), session_id)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Live stats of one activation (whole window): the current stats at once, "
        "then after every change, coalesced to a few updates per second; a slow client gets "
        "the newest stats, never a backlog. Admission as `activationStats` (its `token`, or the "
        "connection's own credential); ends with FORBIDDEN (token) or NOT_FOUND when the "
        "activation is deleted.",
        extensions=public(),
    )
    async def activation_stats_updated(
        self, info: Info, activation_id: strawberry.ID, token: str | None = None
    ) -> AsyncGenerator[ActivationStats, None]:
        reports = await resolve.stats_updates(info, activation_id, token)
        return (ActivationStats.from_report(report) async for report in reports)
