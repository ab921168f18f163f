"""Commissions: campaign commission terms (operator), commission definitions and groups
(operator), and the partner's view of them (default, list, active, groups)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import commissions as com
from loaders.base import Page, epoch_ms
from resolvers.affiliate.campaigns import campaign as load_campaign
from resolvers.affiliate.common import partner_for

MAX_RATE_PPM = com.PPM  # 100 % of the sale
MAX_AMOUNT = 100_000_000  # minor units


@dataclass(frozen=True)
class RateIn:
    """A commission rate as sent: model, fraction (percentage) or amount (fixed)."""

    model: str
    rate: float | None
    amount: int | None


def validate_rate(rate: RateIn, field: str) -> dict[str, Any]:
    """Stored form of a rate: PERCENTAGE needs `rate` in (0, 1]; fixed models an `amount`."""
    if rate.model not in com.MODELS:
        raise BadUserInput(f"unknown model {rate.model!r}", field=field)
    if rate.model == "percentage":
        if rate.rate is None or rate.amount is not None:
            raise BadUserInput("PERCENTAGE takes `rate` (a fraction 0..1), no amount",
                               field=field)  # fmt: skip
        if not 0 < rate.rate <= 1:
            raise BadUserInput("rate is a fraction: more than 0, at most 1", field=field)
        return {"model": rate.model, "rate_ppm": round(rate.rate * com.PPM), "amount": 0}
    if rate.amount is None or rate.rate is not None:
        raise BadUserInput("fixed models take `amount` (minor units), no rate", field=field)
    if not 0 <= rate.amount <= MAX_AMOUNT:
        raise BadUserInput(f"amount is 0..{MAX_AMOUNT} minor units", field=field)
    return {"model": rate.model, "rate_ppm": 0, "amount": rate.amount}


def _window(start: datetime | None, end: datetime | None) -> tuple[int, int]:
    start_ms = epoch_ms(start) if start else 0
    end_ms = epoch_ms(end) if end else com.OPEN_END_MS
    if end_ms <= start_ms:
        raise BadUserInput("must be after startsAt", field="endsAt")
    return start_ms, end_ms


async def set_commission_terms(info: Info, campaign_id: str, fields: Mapping[str, Any]) -> Document:
    """Set a campaign's default commission, cookie period and tracking settings (operator)."""
    doc = await load_campaign(info, campaign_id)
    changes: dict[str, Any] = {}
    if fields.get("default_commission") is not None:
        rate = validate_rate(fields["default_commission"], "defaultCommission")
        description = data.validate_text(fields.get("description") or "", "description", 500)
        changes["default_commission"] = {**rate, "description": description}
    if fields.get("cookie_period_days") is not None:
        days = int(fields["cookie_period_days"])
        if not 1 <= days <= 365:
            raise BadUserInput("between 1 and 365 days", field="cookiePeriodDays")
        changes["cookie_period_days"] = days
    tracking = fields.get("tracking")
    if tracking:
        current = com.tracking_settings(doc)
        for key, value in tracking.items():
            if key == "method" and value not in com.TRACKING_METHODS:
                raise BadUserInput(f"unknown method {value!r}", field="tracking.method")
            if key == "conversion_type" and value not in com.CONVERSION_TYPES:
                raise BadUserInput(f"unknown type {value!r}", field="tracking.conversionType")
            current[key] = value
        changes["tracking"] = current
    if not changes:
        raise BadUserInput("nothing to update", field="input")
    updated = await info.context.db.affiliate_campaigns.find_one_and_update(
        {"_id": doc["_id"]}, {"$set": changes}, return_document=ReturnDocument.AFTER
    )
    if updated is None:
        raise NotFound("Campaign not found.", field="campaignId")
    info.context.loaders.get(data.CampaignByIdLoader).clear(doc["_id"]).prime(doc["_id"], updated)
    return updated


async def create_commission(info: Info, fields: Mapping[str, Any]) -> Document:
    """A commission definition (operator): kind, rate, window, audience, kind's extras."""
    kind = fields["kind"]
    if kind not in com.COMMISSION_KINDS:
        raise BadUserInput(f"unknown kind {kind!r}", field="kind")
    cmp_id = parse_id(fields["campaign_id"], "cmp", "campaignId")
    rate = validate_rate(fields["rate"], "rate")
    start_ms, end_ms = _window(fields.get("starts_at"), fields.get("ends_at"))
    partner_ids = sorted({parse_id(p, "par", "partnerIds") for p in fields["partner_ids"]})
    group_ids = sorted({parse_id(g, "cgr", "groupIds") for g in fields["group_ids"]})
    if len(partner_ids) + len(group_ids) > 500:
        raise BadUserInput("at most 500 partners and groups", field="partnerIds")
    if kind == "default" and not partner_ids and not group_ids:
        raise BadUserInput("a default override names partners or groups (the campaign's own "
                           "default is in its commission terms)", field="partnerIds")  # fmt: skip
    codes = [
        data.validate_text(c, "voucherCodes", 64, required=True) for c in fields["voucher_codes"]
    ]
    if (kind == "voucher") != bool(codes):
        raise BadUserInput("voucher commissions (only) name voucher codes", field="voucherCodes")
    tier = _tier(kind, fields)
    days = fields.get("cookie_period_days")
    if days is not None and not 1 <= days <= 365:
        raise BadUserInput("between 1 and 365 days", field="cookiePeriodDays")
    meta = [
        {"name": data.validate_text(m.name, "metaFields", 64, required=True),
         "values": [data.validate_text(v, "metaFields", 255) for v in m.values]}
        for m in fields["meta_fields"]
    ]  # fmt: skip
    based_on = data.validate_text(fields["based_on_field"], "basedOnField", 64)
    description = data.validate_text(fields["description"], "description", 500)
    campaign = await load_campaign(info, cmp_id)
    db = info.context.db
    if partner_ids and await com.existing_partner_ids(db, partner_ids) != set(partner_ids):
        raise NotFound("Partner not found.", field="partnerIds")
    if group_ids and await com.groups_of_campaign(db, campaign["_id"], group_ids) != set(group_ids):
        raise NotFound("Commission group not found on this campaign.", field="groupIds")
    return await com.insert_commission(db, {
        "campaign_id": campaign["_id"], "kind": kind, "description": description, **rate,
        "start_ms": start_ms, "end_ms": end_ms, "status": "active" if fields["active"] else
        "inactive", "partner_ids": partner_ids, "group_ids": group_ids,
        "cookie_period_days": days or 0, "meta_fields": meta, "based_on_field": based_on,
        "voucher_codes": codes, **tier,
    })  # fmt: skip


def _tier(kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    levels = fields["levels"]
    if kind != "tiered":
        if levels:
            raise BadUserInput("only tiered commissions have levels", field="levels")
        return {}
    if not 1 <= len(levels) <= 20:
        raise BadUserInput("a tiered commission has 1 to 20 levels", field="levels")
    thresholds = [lv.threshold for lv in levels]
    if thresholds != sorted(set(thresholds)) or thresholds[0] < 0:
        raise BadUserInput("thresholds are >= 0 and strictly increasing", field="levels")
    measurement = fields["measurement"]
    if measurement not in com.MEASUREMENTS:
        raise BadUserInput(f"unknown measurement {measurement!r}", field="measurement")
    reward = fields["reward_model"]
    if reward not in com.REWARD_MODELS:
        raise BadUserInput(f"unknown reward model {reward!r}", field="rewardModel")
    if not 1 <= fields["evaluation_period_days"] <= 366:
        raise BadUserInput("between 1 and 366 days", field="evaluationPeriodDays")
    stored = []
    for lv in levels:
        if reward == "percentage_reward" and not 0 < lv.bonus <= 1:
            raise BadUserInput("a percentage bonus is a fraction 0..1", field="levels")
        if reward == "fixed_reward" and not (float(lv.bonus).is_integer() and
                                             0 <= lv.bonus <= MAX_AMOUNT):  # fmt: skip
            raise BadUserInput("a fixed bonus is whole minor units", field="levels")
        bonus = round(lv.bonus * com.PPM) if reward == "percentage_reward" else int(lv.bonus)
        stored.append({"threshold": lv.threshold, "bonus": bonus})
    return {"levels": stored, "measurement": measurement, "reward_model": reward,
            "evaluation_period_days": fields["evaluation_period_days"],
            "reward_pending": bool(fields["reward_pending"])}  # fmt: skip


async def create_group(info: Info, fields: Mapping[str, Any]) -> Document:
    name = data.validate_text(fields["name"], "name", 120, required=True)
    description = data.validate_text(fields["description"], "description", 500)
    start_ms, end_ms = _window(fields.get("starts_at"), fields.get("ends_at"))
    campaign = await load_campaign(info, fields["campaign_id"])
    return await com.insert_commission_group(info.context.db, {
        "campaign_id": campaign["_id"], "name": name, "description": description,
        "start_ms": start_ms, "end_ms": end_ms, "active": bool(fields["active"]),
    })  # fmt: skip


async def add_group_member(info: Info, group_id: str, partner_id: str) -> Document:
    gid = parse_id(group_id, "cgr", "groupId")
    pid = parse_id(partner_id, "par", "partnerId")
    group = await info.context.loaders.get(com.CommissionGroupByIdLoader).load(gid)
    if group is None:
        raise NotFound("Commission group not found.", field="groupId")
    if not await com.existing_partner_ids(info.context.db, [pid]):
        raise NotFound("Partner not found.", field="partnerId")
    try:
        return await com.insert_group_member(info.context.db, group, pid)
    except DuplicateKeyError:
        raise Conflict("The partner is already in this group.", field="partnerId") from None


# --- the partner's view --------------------------------------------------------------


async def _audience(info: Info, viewer: str | None) -> list[str]:
    if viewer is None:
        return []
    return await info.context.loaders.get(com.GroupIdsByPartnerLoader).load(viewer)


async def visible_commissions(
    info: Info, campaign_id: str, viewer: str | None, kinds: Sequence[str]
) -> list[Document]:
    """The campaign's commissions the viewing partner may see, by id (all for operators)."""
    rows = await info.context.loaders.get(com.CommissionsByCampaignLoader).load(campaign_id)
    groups = await _audience(info, viewer)
    return [r for r in rows if com.visible(r, viewer, groups) and (not kinds or r["kind"] in kinds)]


async def default_commission(
    info: Info, campaign: Mapping[str, Any], viewer: str | None, at: datetime | None = None
) -> tuple[dict[str, Any], Mapping[str, Any] | None, Mapping[str, Any] | None]:
    rows = await visible_commissions(info, campaign["_id"], viewer, ["default"])
    groups = await _audience(info, viewer)
    return com.effective_default(campaign, rows, viewer, groups, com.at_ms(at))


async def active_commissions(
    info: Info, campaign_id: str, viewer: str | None, at: datetime | None,
    first: int | None, after: str | None,
) -> Page:  # fmt: skip
    moment = com.at_ms(at)
    rows = await visible_commissions(info, campaign_id, viewer, com.ACTIVE_KINDS)
    return com.page_rows([r for r in rows if com.is_active(r, moment)], "_id", first, after)


async def commission_groups(
    info: Info, partner_id: str | None, first: int | None, after: str | None
) -> Page:
    pid = partner_for(info.context.scope, partner_id)
    return await com.list_memberships(info.context.db, info.context.scope, pid, first, after)
