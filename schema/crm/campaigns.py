"""CRM campaigns (seed 002 "Get a list of Campaigns": the meta apps) and a campaign's top-N
leaderboard ("Fetch top 10 performing fans for a campaign"), scope `crm`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from loaders import crm as data
from resolvers.crm import campaigns as resolve
from schema.connection import Connection
from schema.crm.root import _display_name
from schema.crm.types import READ, WRITE, Fan


@strawberry.type(description="A CRM campaign (the seed's meta app), e.g. a contest.")
class CrmCampaign:
    id: strawberry.ID = strawberry.field(description="Campaign record id (`ccp_…`).")
    partner_id: strawberry.ID = strawberry.field(description="Partner (the seed's account_id).")
    campaign_id: str = strawberry.field(
        description="The campaign's key (the seed's `page_tab_id`), unique per partner: what "
        "activities and awards name as `campaignId`."
    )
    title: str = strawberry.field(description="Title of the campaign.")
    app_type: str | None = strawberry.field(description="Type of app or contest.")
    stream_key: str | None = strawberry.field(description="Stream the campaign is tied to.")
    is_active: bool = strawberry.field(description="True while the campaign runs.")
    created_at: datetime = strawberry.field(description="When the campaign was created.")
    winner_fan_id: strawberry.ID | None = strawberry.field(description="The winner's fan id.")
    hidden_fan_ids: list[strawberry.ID] = strawberry.field(
        description="Fans hidden from the campaign's public leaderboard."
    )

    @strawberry.field(description="The winning fan (null if none or deleted).")
    async def winner(self, info: Info) -> Fan | None:
        if not self.winner_fan_id:
            return None
        doc = await info.context.loaders.get(data.FanByIdLoader).load(str(self.winner_fan_id))
        return Fan.from_doc(doc) if doc else None

    @classmethod
    def from_doc(cls, doc: Document) -> CrmCampaign:
        return cls(
            id=strawberry.ID(doc["_id"]), partner_id=strawberry.ID(doc["partner_id"]),
            campaign_id=doc["campaign_id"], title=doc["title"],
            app_type=doc["app_type"] or None, stream_key=doc["stream_key"] or None,
            is_active=bool(doc["is_active"]), created_at=doc["created_at"],
            winner_fan_id=strawberry.ID(doc["winner_fan_id"]) if doc["winner_fan_id"] else None,
            hidden_fan_ids=[strawberry.ID(f) for f in sorted(doc.get("hidden_fan_ids") or [])],
        )  # fmt: skip


@strawberry.input(description="A CRM campaign to create, or to replace by its `campaignId`.")
class UpsertCrmCampaignInput:
    campaign_id: str = strawberry.field(
        description="Key (the seed's page_tab_id): 1..64 letters, digits, `_ . : -`."
    )
    title: str = strawberry.field(description="Title, 1..200 characters.")
    app_type: str | None = strawberry.field(default=None, description="App/contest type (≤64).")
    stream_key: str | None = strawberry.field(default=None, description="Stream key (≤64).")
    is_active: bool = strawberry.field(default=True, description="True while it runs.")
    winner_fan_id: strawberry.ID | None = strawberry.field(
        default=None, description="The winner: a fan of the same partner."
    )
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Partner (operators must name it)."
    )


@strawberry.type(description="Outcome of `upsertCrmCampaign`.")
class UpsertCrmCampaignResult:
    campaign: CrmCampaign = strawberry.field(description="The stored campaign.")
    created: bool = strawberry.field(description="True if the key was new.")


@strawberry.type(description="One row of a campaign's leaderboard (seed 002 structure).")
class CampaignLeaderboardEntry:
    rank: int = strawberry.field(
        description="Rank: most points, then most correct answers, then shortest duration; "
        "equal in all three share a rank. Hidden fans are ranked only with `showHidden`."
    )
    fan_id: strawberry.ID = strawberry.field(description="The fan's id.")
    display_name: str = strawberry.field(
        description="Display name, else first name and last initial, else `Fan`."
    )
    is_hidden: bool = strawberry.field(description="Hidden from the public leaderboard.")
    activity_at: datetime | None = strawberry.field(
        description="When the fan completed its best activity in the campaign (if any)."
    )
    points: int = strawberry.field(
        description="Points gained in the campaign: positive awards linked to it (type POINTS)."
    )
    balance: int = strawberry.field(
        description="Balance within the campaign: all its POINTS awards, spent ones included."
    )
    activity_duration_ms: int | None = strawberry.field(
        description="Duration of the fan's best activity in ms (if recorded)."
    )
    correct_count: int | None = strawberry.field(
        description="Correct answers of the fan's best activity (if recorded)."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="The partner's CRM campaigns (meta apps), newest first; `q` is a "
        "case-insensitive part of the title (the seed's text filter).",
        extensions=READ,
    )
    async def crm_campaigns(
        self, info: Info, q: str | None = None, is_active: bool | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[CrmCampaign]:  # fmt: skip
        page = await resolve.campaigns(info, q, is_active, first, after)
        return Connection.of(page, CrmCampaign.from_doc)

    @strawberry.field(
        description="Top fans of one campaign (the seed's top-N leaderboard): entrants are fans "
        "with activities in it or awards linked to it; `first` 1..100, default 10; hidden fans "
        "only with `showHidden`. Operators name `partnerId`.",
        extensions=READ,
    )
    async def crm_campaign_leaderboard(
        self, info: Info, campaign_id: str, show_hidden: bool = False, first: int | None = None,
        partner_id: strawberry.ID | None = None,
    ) -> list[CampaignLeaderboardEntry]:  # fmt: skip
        rows = await resolve.campaign_leaderboard(info, campaign_id, show_hidden, first,
                                                  partner_id)  # fmt: skip
        fans = await info.context.loaders.get(data.FanByIdLoader).load_many(
            [entry.fan_id for _, entry in rows]
        )
        return [
            CampaignLeaderboardEntry(
                rank=rank, fan_id=strawberry.ID(e.fan_id), display_name=_display_name(fan),
                is_hidden=e.is_hidden, activity_at=e.activity_at, points=e.points,
                balance=e.balance, activity_duration_ms=e.duration_ms,
                correct_count=e.correct_count,
            )
            for (rank, e), fan in zip(rows, fans, strict=True)
        ]  # fmt: skip


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a CRM campaign, or replace the fields of the one with this key.",
        extensions=WRITE,
    )
    async def upsert_crm_campaign(
        self, info: Info, input: UpsertCrmCampaignInput
    ) -> UpsertCrmCampaignResult:
        doc, created = await resolve.upsert_campaign(info, input)
        return UpsertCrmCampaignResult(campaign=CrmCampaign.from_doc(doc), created=created)

    @strawberry.mutation(
        description="Hide a fan from a campaign's public leaderboard (or show it again with "
        "`hidden: false`); repeating is harmless.",
        extensions=WRITE,
    )
    async def set_crm_leaderboard_hidden(
        self, info: Info, campaign_id: str, fan_id: strawberry.ID, hidden: bool = True,
        partner_id: strawberry.ID | None = None,
    ) -> CrmCampaign:  # fmt: skip
        doc = await resolve.set_hidden(info, campaign_id, fan_id, hidden, partner_id)
        return CrmCampaign.from_doc(doc)
