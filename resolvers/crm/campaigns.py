"""CRM campaigns (meta apps) and their top-N leaderboard (seed 002, scope `crm`)."""

from __future__ import annotations

from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput, NotFound
from gateway.storage.mongo import Document
from loaders.base import Page, check_first
from loaders.crm import campaigns as data
from resolvers.crm.activities import campaign_key
from resolvers.crm.common import fan_by_id, text, write_partner

MAX_LEADERBOARD = 100
DEFAULT_LEADERBOARD = 10  # the seed's default `limit`


async def _campaign(info: Info, campaign_id: str, partner_id: str | None) -> Document:
    partner = await write_partner(info, partner_id)
    doc = await data.campaign_by_key(info.context.db, partner, campaign_key(campaign_id))
    if doc is None:
        raise NotFound("Campaign not found.", field="campaignId")
    return doc


async def _fan_of(info: Info, fan_id: str, partner_id: str, field: str) -> str:
    fan = await fan_by_id(info, fan_id, field)
    if fan["partner_id"] != partner_id:  # operators load every partner's fans
        raise NotFound("Fan not found.", field=field)
    return str(fan["_id"])


async def upsert_campaign(info: Info, input: Any) -> tuple[Document, bool]:
    key = campaign_key(input.campaign_id)
    title = text(input.title, "title", 200, required=True)
    fields: Document = {
        "title": title, "title_lower": title.lower(),
        "app_type": text(input.app_type, "appType", 64),
        "stream_key": text(input.stream_key, "streamKey", 64),
        "is_active": bool(input.is_active), "winner_fan_id": "",
    }  # fmt: skip
    partner = await write_partner(info, input.partner_id)
    if input.winner_fan_id is not None:
        fields["winner_fan_id"] = await _fan_of(info, input.winner_fan_id, partner, "winnerFanId")
    return await data.upsert_campaign(info.context.db, partner, key, fields)


async def set_hidden(
    info: Info, campaign_id: str, fan_id: str, hidden: bool, partner_id: str | None
) -> Document:
    campaign = await _campaign(info, campaign_id, partner_id)
    fan = await _fan_of(info, fan_id, campaign["partner_id"], "fanId")
    doc = await data.set_hidden(
        info.context.db, campaign["partner_id"], campaign["campaign_id"], fan, hidden
    )
    if doc is None:  # pragma: no cover - deleted meanwhile (campaigns are never deleted)
        raise NotFound("Campaign not found.", field="campaignId")
    return doc


async def campaigns(
    info: Info, q: str | None, is_active: bool | None, first: int | None, after: str | None
) -> Page:
    query = text(q, "q", 200) if q is not None else None
    return await data.list_campaigns(
        info.context.db, info.context.scope, query or None, is_active, first, after
    )


async def campaign_leaderboard(
    info: Info, campaign_id: str, show_hidden: bool, first: int | None, partner_id: str | None
) -> list[tuple[int, data.Standing]]:
    if first is not None and not 1 <= first <= MAX_LEADERBOARD:
        raise BadUserInput(f"must be between 1 and {MAX_LEADERBOARD}", field="first")
    limit = check_first(first if first is not None else DEFAULT_LEADERBOARD, MAX_LEADERBOARD)
    campaign = await _campaign(info, campaign_id, partner_id)
    entries = await data.standings(info.context.db, campaign["partner_id"], campaign)
    return data.ranked(entries, show_hidden, limit)
