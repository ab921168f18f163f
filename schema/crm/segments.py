"""CRM segments (seed 002 "Segments Calls", scope `segments`): tags, snapshots and saved
search filters as one list; a segment's status counts and its fans, paged for sync.

Staff need `segments:read` / `segments:write`; CRM API keys their `SEGMENTS` scope (a public
key reads only). Operators name the partner with `partnerId`.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.crm.common import from_ms
from resolvers.crm import segments as resolve
from schema.connection import Connection
from schema.crm.inputs import FanFilter
from schema.permissions import CRM_KEY, OPERATOR, STAFF, allow

READ = allow(STAFF, OPERATOR, CRM_KEY, scope=Scope.SEGMENTS_READ)
WRITE = allow(STAFF, OPERATOR, CRM_KEY, scope=Scope.SEGMENTS_WRITE)


@strawberry.enum(description="Kind of segment (the seed's `segment_type`).")
class SegmentType(Enum):
    TAG = "tag"
    SNAPSHOT = "snapshot"
    FILTER = "filter"


@strawberry.type(description="A segment: fans sharing a tag, a snapshot, or a saved search.")
class Segment:
    type: SegmentType = strawberry.field(description="TAG, SNAPSHOT or FILTER.")
    id: strawberry.ID = strawberry.field(
        description="Unique within its type: the tag itself, `snp_…` or `sfl_…`."
    )
    name: str = strawberry.field(description="The segment's name (for a tag: the tag).")

    @classmethod
    def from_row(cls, row: Document) -> Segment:
        return cls(type=SegmentType(row["type"]), id=strawberry.ID(row["id"]), name=row["name"])

    @classmethod
    def from_saved(cls, kind: str, doc: Document) -> Segment:
        return cls(type=SegmentType(kind), id=strawberry.ID(doc["_id"]), name=doc["name"])


@strawberry.type(description="Size and reachability of a segment, counted now.")
class SegmentStatus:
    fan_count: int = strawberry.field(description="Fans in the segment.")
    email_count: int = strawberry.field(description="Of them, fans with an email.")
    phone_count: int = strawberry.field(description="Of them, fans with a phone.")
    email_subscribe_count: int = strawberry.field(
        description="Fans with an email and an explicit email opt-in."
    )
    phone_subscribe_count: int = strawberry.field(
        description="Fans with a phone and an explicit SMS opt-in."
    )
    last_update_at: datetime | None = strawberry.field(
        description="Latest change of any fan in the segment (null when it is empty)."
    )


@strawberry.type(description="A fan as a segment lists it: the minimum to reach them.")
class SegmentFan:
    id: strawberry.ID = strawberry.field(description="Fan id (`fan_…`).")
    email: str | None = strawberry.field(description="Email.")
    phone: str | None = strawberry.field(description="Phone.")
    first_name: str | None = strawberry.field(description="First name.")
    last_name: str | None = strawberry.field(description="Last name.")
    is_subscribed: bool = strawberry.field(description="Explicit opt-in to email.")
    is_phone_subscribed: bool = strawberry.field(description="Explicit opt-in to SMS.")

    @classmethod
    def from_doc(cls, doc: Document) -> SegmentFan:
        return cls(
            id=strawberry.ID(doc["_id"]), email=doc.get("email"), phone=doc.get("phone"),
            first_name=doc.get("first_name") or None, last_name=doc.get("last_name") or None,
            is_subscribed=bool(doc.get("is_subscribed")),
            is_phone_subscribed=bool(doc.get("is_phone_subscribed")),
        )  # fmt: skip


@strawberry.input(description="A fan search to keep as a segment.")
class SaveSegmentInput:
    name: str = strawberry.field(description="Name, 1..120 characters, unique per kind.")
    filter: FanFilter = strawberry.field(description="The search (as for `fans`).")
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Partner (operators must name it)."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="The partner's segments: tags, snapshots and saved search filters, ordered "
        "by type then id.",
        extensions=READ,
    )
    async def segments(
        self, info: Info, type: SegmentType | None = None, partner_id: strawberry.ID | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[Segment]:  # fmt: skip
        kind = type.value if type else None
        page = await resolve.segments(info, kind, partner_id, first, after)
        return Connection.of(page, Segment.from_row)

    @strawberry.field(description="Counts of one segment's fans, computed now.", extensions=READ)
    async def segment_status(
        self, info: Info, type: SegmentType, id: strawberry.ID,
        partner_id: strawberry.ID | None = None,
    ) -> SegmentStatus:  # fmt: skip
        s = await resolve.segment_status(info, type.value, id, partner_id)
        return SegmentStatus(
            fan_count=s["fan_count"], email_count=s["email_count"], phone_count=s["phone_count"],
            email_subscribe_count=s["email_subscribe_count"],
            phone_subscribe_count=s["phone_subscribe_count"],
            last_update_at=from_ms(s["last_update_ms"]),
        )  # fmt: skip

    @strawberry.field(
        description="One segment's fans in id order, for sync: `first` 1..10000 (the seed's "
        "page limit; default 20, and the cost limit counts `first` times the selection).",
        extensions=READ,
    )
    async def segment_fans(
        self, info: Info, type: SegmentType, id: strawberry.ID,
        partner_id: strawberry.ID | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[SegmentFan]:  # fmt: skip
        page = await resolve.segment_fans(info, type.value, id, partner_id, first, after)
        return Connection.of(page, SegmentFan.from_doc)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Save a fan search as a FILTER segment (evaluated whenever it is read).",
        extensions=WRITE,
    )
    async def save_fan_search(self, info: Info, input: SaveSegmentInput) -> Segment:
        doc = await resolve.save_segment(info, "filter", input.name, input.filter, input.partner_id)
        return Segment.from_saved("filter", doc)

    @strawberry.mutation(
        description="Freeze the fans a search finds now as a SNAPSHOT segment.", extensions=WRITE
    )
    async def create_segment_snapshot(self, info: Info, input: SaveSegmentInput) -> Segment:
        doc = await resolve.save_segment(
            info, "snapshot", input.name, input.filter, input.partner_id
        )
        return Segment.from_saved("snapshot", doc)

    @strawberry.mutation(
        description="Delete a SNAPSHOT or FILTER segment (tags go when no fan carries them).",
        extensions=WRITE,
    )
    async def delete_segment(
        self, info: Info, type: SegmentType, id: strawberry.ID,
        partner_id: strawberry.ID | None = None,
    ) -> bool:  # fmt: skip
        return await resolve.delete_segment(info, type.value, id, partner_id)
