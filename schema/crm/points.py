"""CRM points and display names (seed 002, scope `crm`): `awardFanPoints` with its links and
dedup key, the awarded-points list (`fanPointAwards`), and `checkDisplayName`.

Scope `crm`: staff need `crm:read` / `crm:write`; CRM API keys their `CRM` scope (a public key
reads only). Operators see every partner in lists and name one where a partner is needed.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from resolvers.crm import points as resolve
from schema.connection import Connection
from schema.crm.types import READ, WRITE, Fan, _fan


@strawberry.enum(description="Kind of points (the seed's `point_type`).")
class PointType(Enum):
    POINTS = "points"
    ATVENU = "atvenu"
    BESTRING = "bestring"


@strawberry.type(description="A points award.")
class FanPointAward:
    id: strawberry.ID = strawberry.field(description="Award id (`fpa_…`).")
    point_name: str = strawberry.field(description="Name of the points.")
    count: int = strawberry.field(description="Points awarded (negative takes points away).")
    point_type: PointType = strawberry.field(
        description="POINTS (feeds leaderboards), ATVENU or BESTRING."
    )
    award_key: str | None = strawberry.field(description="Deduplication key, if given.")
    reward_id: str | None = strawberry.field(description="Reward the points belong to.")
    campaign_id: str | None = strawberry.field(
        description="Campaign the points belong to (the seed's `page_tab_id`)."
    )
    activity_id: strawberry.ID | None = strawberry.field(
        description="Activity of the same fan the points belong to (`fac_…`)."
    )
    session_id: str | None = strawberry.field(description="Fan session the points belong to.")
    day: date = strawberry.field(description="UTC day of the award (the list's date window).")
    created_at: datetime = strawberry.field(description="When the points were awarded.")
    fan_id: strawberry.Private[str]

    @strawberry.field(description="The fan (its `displayName` is the leaderboard name).")
    async def fan(self, info: Info) -> Fan | None:
        return await _fan(info, self.fan_id)

    @classmethod
    def from_doc(cls, doc: Document) -> FanPointAward:
        activity = doc.get("activity_id")
        return cls(
            id=strawberry.ID(doc["_id"]), point_name=doc["point_name"], count=int(doc["count"]),
            point_type=PointType(doc.get("point_type", "points")),
            award_key=doc.get("award_key"), reward_id=doc.get("reward_id"),
            campaign_id=doc.get("campaign_id"),
            activity_id=strawberry.ID(activity) if activity else None,
            session_id=doc.get("session_id"), day=date.fromisoformat(doc["day"]),
            created_at=doc["created_at"], fan_id=doc["fan_id"],
        )  # fmt: skip


@strawberry.type(description="Result of `awardFanPoints`.")
class AwardFanPointsPayload:
    award: FanPointAward = strawberry.field(description="The award (the earlier one if repeated).")
    duplicate: bool = strawberry.field(
        description="True when `awardKey` was used before: nothing new was counted."
    )


@strawberry.type(description="A display name that may be used now.")
class DisplayNameCheck:
    display_name: str = strawberry.field(
        description="The name to use: the one asked for, or a modified one when it is taken."
    )
    available: bool = strawberry.field(description="True when the name asked for was free.")


@strawberry.input(description="Points for a fan.")
class AwardFanPointsInput:
    fan_id: strawberry.ID = strawberry.field(description="Fan id.")
    point_name: str = strawberry.field(description="Name of the points (1..64, no `|`).")
    count: int = strawberry.field(description="Non-zero, at most 1,000,000 either way.")
    point_type: PointType = strawberry.field(
        default=PointType.POINTS, description="Kind of points (default POINTS)."
    )
    award_key: str | None = strawberry.field(
        default=None, description="Deduplication key: a repeated key counts once."
    )
    reward_id: str | None = strawberry.field(
        default=None, description="Reward to link (up to 64 characters)."
    )
    campaign_id: str | None = strawberry.field(
        default=None, description="Campaign to link (the seed's `page_tab_id`, up to 64)."
    )
    activity_id: strawberry.ID | None = strawberry.field(
        default=None, description="An activity of this fan to link (`fac_…`)."
    )
    session_id: str | None = strawberry.field(
        default=None, description="Fan session to link (up to 64 characters)."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="Awarded points in a date window (inclusive UTC days, at most 366), oldest "
        "day first; optionally of one point name or one fan, or only those feeding "
        "leaderboards (`leaderboard`: point type POINTS).",
        extensions=READ,
    )
    async def fan_point_awards(
        self, info: Info, start_date: date, end_date: date, point_name: str | None = None,
        fan_id: strawberry.ID | None = None, first: int | None = None, after: str | None = None,
        leaderboard: bool = False,
    ) -> Connection[FanPointAward]:  # fmt: skip
        page = await resolve.awards(
            info, start_date, end_date, point_name, fan_id, first, after, leaderboard
        )
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


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Award (or, negative, take away) points; a repeated awardKey counts once.",
        extensions=WRITE,
    )
    async def award_fan_points(
        self, info: Info, input: AwardFanPointsInput
    ) -> AwardFanPointsPayload:
        doc, duplicate = await resolve.award_points(info, input)
        return AwardFanPointsPayload(award=FanPointAward.from_doc(doc), duplicate=duplicate)
