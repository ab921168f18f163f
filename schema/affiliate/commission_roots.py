"""Commission root fields: the partner's commission groups, and the operator's mutations
that set campaign commission terms and create commissions, groups and memberships."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.affiliate import commissions as com
from loaders.base import from_epoch_ms
from resolvers.affiliate import commissions as resolve
from resolvers.affiliate.campaigns import campaign as load_campaign
from schema.affiliate.commissions import (
    Commission,
    CommissionGroup,
    CommissionKind,
    CommissionModel,
    ConversionType,
    RewardModel,
    TierMeasurement,
    TrackingMethod,
)
from schema.affiliate.common import READ, sent
from schema.affiliate.types import Campaign
from schema.connection import Connection
from schema.permissions import OPERATOR, allow


@strawberry.type(description="The partner's membership of a commission group.")
class CommissionGroupMembership:
    id: strawberry.ID = strawberry.field(description="Membership id (`cgm_…`).")
    joined_at: datetime = strawberry.field(description="When the partner was added.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    group_id: strawberry.Private[str]

    @strawberry.field(description="The group.")
    async def group(self, info: Info) -> CommissionGroup | None:
        doc = await info.context.loaders.get(com.CommissionGroupByIdLoader).load(self.group_id)
        return CommissionGroup.from_doc(doc, str(self.partner_id)) if doc else None

    @classmethod
    def from_doc(cls, doc: Document) -> CommissionGroupMembership:
        return cls(
            id=strawberry.ID(doc["_id"]),
            joined_at=from_epoch_ms(doc["created_ms"]) or doc["created_at"],
            partner_id=strawberry.ID(doc["partner_id"]), group_id=doc["group_id"],
        )  # fmt: skip


@strawberry.input(description="A commission rate: PERCENTAGE takes `rate`, fixed models `amount`.")
class CommissionRateInput:
    model: CommissionModel = strawberry.field(description="How it is earned.")
    rate: float | None = strawberry.field(
        default=None, description="PERCENTAGE: fraction in (0, 1] of the sale (0.05 = 5 %)."
    )
    amount: int | None = strawberry.field(
        default=None, description="FIXED_CPA / CPC: minor units of the campaign currency."
    )


def _rate(value: CommissionRateInput) -> resolve.RateIn:
    return resolve.RateIn(value.model.value, value.rate, value.amount)


@strawberry.input(description="Tracking settings to change; omitted ones stay.")
class CampaignTrackingInput:
    method: TrackingMethod | None = strawberry.field(default=strawberry.UNSET, description="How.")
    allow_deep_linking: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Links may land on any page."
    )
    secure_tracking: bool | None = strawberry.field(
        default=strawberry.UNSET, description="https only."
    )
    multiple_conversions_per_click: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Several conversions per click."
    )
    conversion_type: ConversionType | None = strawberry.field(
        default=strawberry.UNSET, description="SALE or LEAD."
    )


@strawberry.input(description="A campaign's commission terms; omitted parts stay.")
class CampaignCommissionTermsInput:
    default_commission: CommissionRateInput | None = strawberry.field(
        default=None, description="The campaign's default commission."
    )
    description: str | None = strawberry.field(
        default=None, description="Description of the default commission (≤500)."
    )
    cookie_period_days: int | None = strawberry.field(default=None, description="1..365 days.")
    tracking: CampaignTrackingInput | None = strawberry.field(
        default=None, description="Tracking settings."
    )


@strawberry.input(description="A condition on a conversion field.")
class MetaFieldInput:
    name: str = strawberry.field(description="Conversion field (≤64).")
    values: list[str] = strawberry.field(description="Values (each ≤255).")


@strawberry.input(description="One level of a tiered commission.")
class TierLevelInput:
    threshold: float = strawberry.field(description="Measured value reaching the level (>= 0).")
    bonus: float = strawberry.field(
        description="FIXED_REWARD: minor units (whole); PERCENTAGE_REWARD: fraction 0..1."
    )


@strawberry.input(description="A new commission of a campaign (operator).")
class CreateCommissionInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    kind: CommissionKind = strawberry.field(description="Which kind.")
    rate: CommissionRateInput = strawberry.field(description="What it pays.")
    description: str = strawberry.field(default="", description="≤500 characters.")
    starts_at: datetime | None = strawberry.field(default=None, description="Default: open.")
    ends_at: datetime | None = strawberry.field(default=None, description="Default: open.")
    active: bool = strawberry.field(default=True, description="Status ACTIVE.")
    partner_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Partners it is aimed at (none and no groups: all)."
    )
    group_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Commission groups of this campaign it is aimed at."
    )
    cookie_period_days: int | None = strawberry.field(
        default=None, description="1..365; default: the campaign's."
    )
    meta_fields: list[MetaFieldInput] = strawberry.field(
        default_factory=list, description="Conditions on conversion fields."
    )
    based_on_field: str = strawberry.field(default="", description="Field the rate is based on.")
    voucher_codes: list[str] = strawberry.field(
        default_factory=list, description="VOUCHER (required there, only there): codes."
    )
    levels: list[TierLevelInput] = strawberry.field(
        default_factory=list, description="TIERED (required there, only there): levels."
    )
    measurement: TierMeasurement = strawberry.field(
        default=TierMeasurement.TOTAL_ITEMS, description="TIERED: what is measured."
    )
    reward_model: RewardModel = strawberry.field(
        default=RewardModel.FIXED_REWARD, description="TIERED: bonus model."
    )
    evaluation_period_days: int = strawberry.field(default=30, description="TIERED: 1..366.")
    reward_pending: bool = strawberry.field(default=False, description="TIERED: count pending.")


@strawberry.input(description="A new commission group of a campaign (operator).")
class CreateCommissionGroupInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    name: str = strawberry.field(description="1..120 characters.")
    description: str = strawberry.field(default="", description="≤500 characters.")
    starts_at: datetime | None = strawberry.field(default=None, description="Default: open.")
    ends_at: datetime | None = strawberry.field(default=None, description="Default: open.")
    active: bool = strawberry.field(default=True, description="In use.")


@strawberry.type
class Query:
    @strawberry.field(description="The commission groups the partner belongs to.", extensions=READ)
    async def commission_groups(
        self, info: Info, partner_id: strawberry.ID | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[CommissionGroupMembership]:  # fmt: skip
        page = await resolve.commission_groups(info, partner_id, first, after)
        return Connection.of(page, CommissionGroupMembership.from_doc)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Set a campaign's default commission, cookie period and tracking settings "
        "(operator only).",
        extensions=allow(OPERATOR),
    )
    async def set_campaign_commission_terms(
        self, info: Info, campaign_id: strawberry.ID, input: CampaignCommissionTermsInput
    ) -> Campaign:
        fields = {
            "default_commission": _rate(input.default_commission)
            if input.default_commission else None,
            "description": input.description,
            "cookie_period_days": input.cookie_period_days,
            "tracking": {k: (v.value if hasattr(v, "value") else v)
                         for k, v in sent(input.tracking).items()} if input.tracking else None,
        }  # fmt: skip
        return Campaign.from_doc(await resolve.set_commission_terms(info, campaign_id, fields))

    @strawberry.mutation(description="Create a commission (operator only).",
                         extensions=allow(OPERATOR))  # fmt: skip
    async def create_commission(self, info: Info, input: CreateCommissionInput) -> Commission:
        fields = {
            **vars(input), "kind": input.kind.value, "rate": _rate(input.rate),
            "measurement": input.measurement.value, "reward_model": input.reward_model.value,
        }  # fmt: skip
        doc = await resolve.create_commission(info, fields)
        campaign = await load_campaign(info, doc["campaign_id"])
        return Commission.from_doc(doc, campaign, None)

    @strawberry.mutation(description="Create a commission group (operator only).",
                         extensions=allow(OPERATOR))  # fmt: skip
    async def create_commission_group(
        self, info: Info, input: CreateCommissionGroupInput
    ) -> CommissionGroup:
        return CommissionGroup.from_doc(await resolve.create_group(info, vars(input)), None)

    @strawberry.mutation(
        description="Add a partner to a commission group (operator only); twice is CONFLICT.",
        extensions=allow(OPERATOR),
    )
    async def add_commission_group_member(
        self, info: Info, group_id: strawberry.ID, partner_id: strawberry.ID
    ) -> CommissionGroupMembership:
        doc = await resolve.add_group_member(info, group_id, partner_id)
        return CommissionGroupMembership.from_doc(doc)
