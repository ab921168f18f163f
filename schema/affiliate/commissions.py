"""Commissions: a campaign's default commission and commission terms (cookie period,
tracking settings), its commissions (standard, voucher, promotional, tiered, default
overrides; listed and active at a moment), and commission groups.

Rates are on the API's one rate scale: fractions 0..1 (5 % = 0.05); fixed amounts are
minor units of the campaign currency.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.affiliate import commissions as com
from loaders.base import from_epoch_ms
from resolvers.affiliate import commissions as resolve
from schema.affiliate.types import Campaign, _campaign
from schema.connection import Connection


@strawberry.enum(
    description="How a commission is earned: PERCENTAGE (a fraction of the sale value), "
    "FIXED_CPA (a fixed amount per conversion), CPC (a fixed amount per click)."
)
class CommissionModel(Enum):
    PERCENTAGE = "percentage"
    FIXED_CPA = "fixed_cpa"
    CPC = "cpc"


@strawberry.enum(
    description="Kind of commission (the seed's endpoints): DEFAULT (overrides the campaign "
    "default for partners / groups), STANDARD, VOUCHER (sales with its codes), PROMOTIONAL "
    "(time-boxed), TIERED (bonus levels over a period)."
)
class CommissionKind(Enum):
    DEFAULT = "default"
    STANDARD = "standard"
    VOUCHER = "voucher"
    PROMOTIONAL = "promotional"
    TIERED = "tiered"


@strawberry.enum(description="How the brand reports conversions.")
class TrackingMethod(Enum):
    S2S = "s2s"
    PIXEL = "pixel"
    API = "api"


@strawberry.enum(description="What a conversion is on the campaign.")
class ConversionType(Enum):
    SALE = "sale"
    LEAD = "lead"


@strawberry.enum(description="What a tiered commission's thresholds measure.")
class TierMeasurement(Enum):
    TOTAL_ITEMS = "total_items"
    TOTAL_CONVERSIONS = "total_conversions"
    TOTAL_ORDER_VALUE = "total_order_value"


@strawberry.enum(
    description="How a tier's bonus is paid: FIXED_REWARD in minor units, PERCENTAGE_REWARD "
    "as a fraction 0..1 of the measured value."
)
class RewardModel(Enum):
    FIXED_REWARD = "fixed_reward"
    PERCENTAGE_REWARD = "percentage_reward"


@strawberry.type(description="A commission rate.")
class CommissionRate:
    model: CommissionModel = strawberry.field(description="How it is earned.")
    rate: float | None = strawberry.field(
        description="PERCENTAGE: fraction 0..1 of the sale value (0.05 = 5 %); else null."
    )
    amount: int | None = strawberry.field(
        description="FIXED_CPA / CPC: minor units of `currency`; else null."
    )
    currency: str = strawberry.field(description="The campaign currency (ISO 4217).")
    description: str = strawberry.field(description="Free text.")

    @classmethod
    def of(cls, rate: dict[str, Any], currency: str) -> CommissionRate:
        percentage = rate["model"] == "percentage"
        return cls(
            model=CommissionModel(rate["model"]),
            rate=rate["rate_ppm"] / com.PPM if percentage else None,
            amount=None if percentage else int(rate["amount"]), currency=currency,
            description=str(rate.get("description", "")),
        )  # fmt: skip


@strawberry.type(description="Key / values a commission applies to (e.g. category = shoes).")
class MetaField:
    name: str = strawberry.field(description="Conversion field name.")
    values: list[str] = strawberry.field(description="Values it must have.")


@strawberry.type(description="One level of a tiered commission.")
class TierLevel:
    threshold: float = strawberry.field(description="Measured value that reaches the level.")
    bonus_rate: float | None = strawberry.field(description="PERCENTAGE_REWARD: fraction 0..1.")
    bonus_amount: int | None = strawberry.field(description="FIXED_REWARD: minor units.")


@strawberry.type(description="A commission group of a campaign (partners with shared rates).")
class CommissionGroup:
    id: strawberry.ID = strawberry.field(description="Group id (`cgr_…`).")
    name: str = strawberry.field(description="Name.")
    description: str = strawberry.field(description="Description.")
    active: bool = strawberry.field(description="In use.")
    starts_at: datetime | None = strawberry.field(description="Start, if bounded.")
    ends_at: datetime | None = strawberry.field(description="End, if bounded.")
    campaign_id: strawberry.Private[str]
    viewer: strawberry.Private[str | None]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, self.viewer or "")

    @classmethod
    def from_doc(cls, doc: Document, viewer: str | None) -> CommissionGroup:
        return cls(
            id=strawberry.ID(doc["_id"]), name=doc["name"], description=doc["description"],
            active=bool(doc["active"]), starts_at=_start(doc), ends_at=_end(doc),
            campaign_id=doc["campaign_id"], viewer=viewer,
        )  # fmt: skip


def _start(doc: Document) -> datetime | None:
    return from_epoch_ms(doc.get("start_ms")) if doc.get("start_ms") else None


def _end(doc: Document) -> datetime | None:
    end = int(doc.get("end_ms", com.OPEN_END_MS))
    return None if end >= com.OPEN_END_MS else from_epoch_ms(end)


@strawberry.type(description="A commission of a campaign, as the partner sees it.")
class Commission:
    id: strawberry.ID = strawberry.field(description="Commission id (`com_…`).")
    kind: CommissionKind = strawberry.field(description="Which kind.")
    description: str = strawberry.field(description="Free text.")
    rate: CommissionRate = strawberry.field(description="What it pays.")
    starts_at: datetime | None = strawberry.field(description="Start, if bounded.")
    ends_at: datetime | None = strawberry.field(description="End, if bounded.")
    active: bool = strawberry.field(description="Status ACTIVE (see also `starts/endsAt`).")
    cookie_period_days: int = strawberry.field(
        description="Its cookie period, else the campaign's."
    )
    meta_fields: list[MetaField] = strawberry.field(description="Conditions on conversion fields.")
    based_on_field: str = strawberry.field(description="Conversion field the rate is based on.")
    voucher_codes: list[str] = strawberry.field(description="VOUCHER: the codes it applies to.")
    levels: list[TierLevel] = strawberry.field(description="TIERED: levels, ascending.")
    measurement: TierMeasurement | None = strawberry.field(description="TIERED: what is measured.")
    reward_model: RewardModel | None = strawberry.field(description="TIERED: bonus model.")
    evaluation_period_days: int | None = strawberry.field(description="TIERED: period length.")
    reward_pending: bool | None = strawberry.field(description="TIERED: bonus also on pending.")
    targeted: bool = strawberry.field(
        description="Aimed at named partners or groups (else every partner of the campaign)."
    )
    campaign_id: strawberry.Private[str]
    viewer: strawberry.Private[str | None]
    group_ids: strawberry.Private[list[str]]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, self.viewer or "")

    @strawberry.field(
        description="The commission groups it is aimed at that the partner belongs to "
        "(operators: all of them)."
    )
    async def groups(self, info: Info) -> list[CommissionGroup]:
        mine = (
            set(await info.context.loaders.get(com.GroupIdsByPartnerLoader).load(self.viewer))
            if self.viewer else set(self.group_ids)
        )  # fmt: skip
        wanted = [g for g in self.group_ids if g in mine]
        docs = await info.context.loaders.get(com.CommissionGroupByIdLoader).load_many(wanted)
        return [CommissionGroup.from_doc(d, self.viewer) for d in docs if d]

    @classmethod
    def from_doc(cls, doc: Document, campaign: Document, viewer: str | None) -> Commission:
        tiered = doc["kind"] == "tiered"
        percent_bonus = doc.get("reward_model") == "percentage_reward"
        levels = [
            TierLevel(
                threshold=float(lv["threshold"]),
                bonus_rate=lv["bonus"] / com.PPM if percent_bonus else None,
                bonus_amount=None if percent_bonus else int(lv["bonus"]),
            )
            for lv in doc.get("levels", [])
        ]
        return cls(
            id=strawberry.ID(doc["_id"]), kind=CommissionKind(doc["kind"]),
            description=doc.get("description", ""),
            rate=CommissionRate.of({**doc, "description": ""}, campaign["currency"]),
            starts_at=_start(doc), ends_at=_end(doc), active=doc.get("status") == "active",
            cookie_period_days=int(doc.get("cookie_period_days") or 0)
            or com.cookie_period_days(campaign),
            meta_fields=[MetaField(name=m["name"], values=list(m["values"]))
                         for m in doc.get("meta_fields", [])],
            based_on_field=doc.get("based_on_field", ""),
            voucher_codes=list(doc.get("voucher_codes", [])), levels=levels,
            measurement=TierMeasurement(doc["measurement"]) if tiered else None,
            reward_model=RewardModel(doc["reward_model"]) if tiered else None,
            evaluation_period_days=int(doc["evaluation_period_days"]) if tiered else None,
            reward_pending=bool(doc["reward_pending"]) if tiered else None,
            targeted=bool(doc.get("partner_ids") or doc.get("group_ids")),
            campaign_id=doc["campaign_id"], viewer=viewer,
            group_ids=list(doc.get("group_ids", [])),
        )  # fmt: skip


@strawberry.type(description="A campaign's default commission for the partner.")
class DefaultCommission:
    base: CommissionRate = strawberry.field(description="The campaign's own default.")
    effective: CommissionRate = strawberry.field(
        description="What the partner earns by default: its own override, else its group's, "
        "else `base`."
    )
    partner_override: Commission | None = strawberry.field(
        description="Active DEFAULT commission aimed at the partner, if any."
    )
    group_override: Commission | None = strawberry.field(
        description="Active DEFAULT commission aimed at one of the partner's groups, if any."
    )


@strawberry.type(description="A campaign's tracking settings.")
class CampaignTracking:
    method: TrackingMethod = strawberry.field(description="How conversions are reported.")
    allow_deep_linking: bool = strawberry.field(description="Links may land on any page.")
    secure_tracking: bool = strawberry.field(description="Tracking over https only.")
    multiple_conversions_per_click: bool = strawberry.field(
        description="One click may lead to several conversions."
    )
    conversion_type: ConversionType = strawberry.field(description="SALE or LEAD.")


# --- what Campaign resolves (imported lazily by schema.affiliate.types) --------------


async def campaign_default(info: Info, campaign: Document, viewer: str | None) -> DefaultCommission:
    rate, partner, group = await resolve.default_commission(info, campaign, viewer)
    cur = campaign["currency"]
    return DefaultCommission(
        base=CommissionRate.of(com.default_rate(campaign), cur),
        effective=CommissionRate.of(rate, cur),
        partner_override=Commission.from_doc(dict(partner), campaign, viewer) if partner else None,
        group_override=Commission.from_doc(dict(group), campaign, viewer) if group else None,
    )  # fmt: skip


async def campaign_commissions(
    info: Info, campaign: Document, viewer: str | None, kinds: list[CommissionKind] | None,
    first: int | None, after: str | None,
) -> Connection[Commission]:  # fmt: skip
    rows = await resolve.visible_commissions(
        info, campaign["_id"], viewer, [k.value for k in kinds or []]
    )
    page = com.page_rows(rows, "_id", first, after)
    return Connection.of(page, lambda d: Commission.from_doc(d, campaign, viewer))


async def campaign_active(
    info: Info, campaign: Document, viewer: str | None, at: datetime | None,
    first: int | None, after: str | None,
) -> Connection[Commission]:  # fmt: skip
    page = await resolve.active_commissions(info, campaign["_id"], viewer, at, first, after)
    return Connection.of(page, lambda d: Commission.from_doc(d, campaign, viewer))


def campaign_tracking(campaign: Document) -> CampaignTracking:
    t = com.tracking_settings(campaign)
    return CampaignTracking(
        method=TrackingMethod(t["method"]), allow_deep_linking=bool(t["allow_deep_linking"]),
        secure_tracking=bool(t["secure_tracking"]),
        multiple_conversions_per_click=bool(t["multiple_conversions_per_click"]),
        conversion_type=ConversionType(t["conversion_type"]),
    )  # fmt: skip
