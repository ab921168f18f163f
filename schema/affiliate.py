"""Affiliate network: partner profile and websites, brands and campaigns, participations,
tracking links, clicks and conversions, and partner analytics (count / explode / timeseries).

Campaigns are listed flat, ordered by brand, each with a `brand` field (batched through
a loader) and the partner's `participationStatus` (batched, keyed by partner + campaign).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.core.errors import BadUserInput
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.base import from_epoch_ms
from resolvers import affiliate as resolve
from schema.connection import Connection, Edge, PageInfo
from schema.partners import NetworkStatus as NetworkStatusEnum
from schema.partners import Partner, PromotionalMethod, Vertical, Website, WeekStart
from schema.permissions import OPERATOR, STAFF, allow

READ = allow(STAFF, OPERATOR, scope=Scope.AFFILIATE_READ)
WRITE = allow(STAFF, OPERATOR, scope=Scope.AFFILIATE_WRITE)
PARTNER_ID_HELP = "Partner (operators only; staff act for their own partner)."


def _sent(obj: Any) -> dict[str, Any]:
    """The input fields the client actually sent (strawberry.UNSET = not sent)."""
    return {
        f.name: getattr(obj, f.name)
        for f in dataclasses.fields(obj)
        if getattr(obj, f.name) is not strawberry.UNSET
    }


# --- enums ---------------------------------------------------------------------------


@strawberry.enum(description="Whether a campaign takes part in the network.")
class CampaignStatus(Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


@strawberry.enum(description="A partner's standing on a campaign.")
class ParticipationStatus(Enum):
    AVAILABLE = "available"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@strawberry.enum(description="An operator's decision on a participation request.")
class ParticipationDecision(Enum):
    APPROVED = "approved"
    REJECTED = "rejected"


@strawberry.enum(description="Validation state of a conversion (or one of its items).")
class ConversionStatus(Enum):
    APPROVED = "approved"
    PENDING = "pending"
    REJECTED = "rejected"


@strawberry.enum(description="Device class of a click or conversion.")
class Device(Enum):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    OTHER = "other"


@strawberry.enum(description="Shape of an analytics result (the seed's three endpoints).")
class AnalyticsShape(Enum):
    COUNT = "COUNT"
    EXPLODE = "EXPLODE"
    TIMESERIES = "TIMESERIES"


# --- brands and campaigns ------------------------------------------------------------


@strawberry.type(description="A brand (advertiser) running campaigns on the network.")
class Brand:
    id: strawberry.ID = strawberry.field(description="Brand id (`brd_…`).")
    name: str = strawberry.field(description="Brand name.")
    vertical: Vertical = strawberry.field(description="Market vertical.")

    @classmethod
    def from_doc(cls, doc: Document) -> Brand:
        return cls(
            id=strawberry.ID(doc["_id"]), name=doc["name"], vertical=Vertical(doc["vertical"])
        )


@strawberry.type(description="A brand's campaign that partners can join.")
class Campaign:
    id: strawberry.ID = strawberry.field(description="Campaign id (`cmp_…`).")
    title: str = strawberry.field(description="Title.")
    description: str = strawberry.field(description="Description.")
    currency: str = strawberry.field(description="Campaign currency (ISO 4217).")
    vertical: Vertical = strawberry.field(description="Market vertical.")
    status: CampaignStatus = strawberry.field(description="Whether it takes part.")
    default_destination_url: str = strawberry.field(
        description="Where tracking links land unless they name a destination."
    )
    custom_terms: bool = strawberry.field(
        description="True when joining requires accepting the campaign's own terms."
    )
    terms: str = strawberry.field(description="The campaign's custom terms (empty if none).")
    auto_approve: bool = strawberry.field(description="Requests are approved at once.")
    brand_id: strawberry.Private[str]
    viewer_partner_id: strawberry.Private[str | None]

    @strawberry.field(description="The brand running the campaign.")
    async def brand(self, info: Info) -> Brand | None:
        doc = await info.context.loaders.get(data.BrandByIdLoader).load(self.brand_id)
        return Brand.from_doc(doc) if doc else None

    @strawberry.field(
        description="The partner's standing on this campaign (null for operators who named "
        "no partner)."
    )
    async def participation_status(self, info: Info) -> ParticipationStatus | None:
        if self.viewer_partner_id is None:
            return None
        doc = await info.context.loaders.get(data.ParticipationByCampaignLoader).load(
            (self.viewer_partner_id, str(self.id))
        )
        return ParticipationStatus(doc["status"]) if doc else ParticipationStatus.AVAILABLE

    @classmethod
    def from_doc(cls, doc: Document, viewer_partner_id: str | None = None) -> Campaign:
        return cls(
            id=strawberry.ID(doc["_id"]), title=doc["title"],
            description=doc.get("description", ""),
            currency=doc["currency"], vertical=Vertical(doc["vertical"]),
            status=CampaignStatus(doc["status"]),
            default_destination_url=doc["default_destination_url"],
            custom_terms=bool(doc.get("custom_terms")), terms=doc.get("terms", ""),
            auto_approve=bool(doc.get("auto_approve")), brand_id=doc["brand_id"],
            viewer_partner_id=viewer_partner_id,
        )  # fmt: skip


async def _campaign(info: Info, campaign_id: str, partner_id: str) -> Campaign | None:
    doc = await info.context.loaders.get(data.CampaignByIdLoader).load(campaign_id)
    return Campaign.from_doc(doc, partner_id) if doc else None


@strawberry.type(description="A partner's request to promote a campaign, and its outcome.")
class Participation:
    id: strawberry.ID = strawberry.field(description="Participation id (`ptc_…`).")
    status: ParticipationStatus = strawberry.field(description="PENDING, APPROVED or REJECTED.")
    terms_accepted: bool = strawberry.field(description="Custom terms were accepted.")
    requested_at: datetime = strawberry.field(description="When the partner asked.")
    decided_at: datetime | None = strawberry.field(description="When it was decided.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.Private[str]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, str(self.partner_id))

    @classmethod
    def from_doc(cls, doc: Document) -> Participation:
        return cls(
            id=strawberry.ID(doc["_id"]), status=ParticipationStatus(doc["status"]),
            terms_accepted=bool(doc.get("terms_accepted")), requested_at=doc["requested_at"],
            decided_at=doc.get("decided_at"), partner_id=strawberry.ID(doc["partner_id"]),
            campaign_id=doc["campaign_id"],
        )  # fmt: skip


# --- tracking links ------------------------------------------------------------------

TRACKING_BASE = "https://track.oooc.example/click"


@strawberry.type(description="A tracking-link parameter.")
class LinkParam:
    key: str = strawberry.field(description="Parameter name (pubref, adref, utm_…).")
    value: str = strawberry.field(description="Parameter value.")


@strawberry.input(description="A tracking-link parameter.")
class LinkParamInput:
    key: str = strawberry.field(
        description="One of: " + ", ".join(sorted(data.LINK_PARAM_KEYS)) + "."
    )
    value: str = strawberry.field(description="1..255 printable characters.")


@strawberry.type(description="A partner's tracking link for one campaign.")
class TrackingLink:
    id: strawberry.ID = strawberry.field(description="Link id (`lnk_…`).")
    description: str = strawberry.field(description="Free text.")
    destination_url: str = strawberry.field(description="Landing page, http(s).")
    params: list[LinkParam] = strawberry.field(description="Parameters appended when clicked.")
    active: bool = strawberry.field(description="Inactive links stop tracking.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="Last change.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.Private[str]

    @strawberry.field(description="The URL to publish: the network's tracker for this link.")
    def url(self) -> str:
        return f"{TRACKING_BASE}/{self.id}"

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, str(self.partner_id))

    @classmethod
    def from_doc(cls, doc: Document) -> TrackingLink:
        return cls(
            id=strawberry.ID(doc["_id"]), description=doc.get("description", ""),
            destination_url=doc["destination_url"],
            params=[LinkParam(key=p["key"], value=p["value"]) for p in doc.get("params", [])],
            active=bool(doc.get("active")), created_at=doc["created_at"],
            updated_at=from_epoch_ms(doc.get("updated_ms")) or doc["created_at"],
            partner_id=strawberry.ID(doc["partner_id"]),
            campaign_id=doc["campaign_id"],
        )  # fmt: skip


# --- clicks and conversions ----------------------------------------------------------


@strawberry.type(description="A click on a partner's tracking link.")
class Click:
    id: strawberry.ID = strawberry.field(description="Click id (`clk_…`).")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    day: str = strawberry.field(description="UTC day, YYYY-MM-DD.")
    cookie_id: str = strawberry.field(description="Visitor cookie (unique-click counting).")
    country: str = strawberry.field(description="Visitor country (ISO 3166-1), may be empty.")
    device: Device = strawberry.field(description="Device class.")
    publisher_reference: str = strawberry.field(description="The partner's own reference.")
    converted: bool = strawberry.field(description="A conversion was attributed to it.")
    link_id: strawberry.ID | None = strawberry.field(description="Tracking link, if any.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.Private[str]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, str(self.partner_id))

    @classmethod
    def from_doc(cls, doc: Document) -> Click:
        return cls(
            id=strawberry.ID(doc["_id"]), occurred_at=doc["occurred_at"], day=doc["day"],
            cookie_id=doc.get("cookie_id", ""), country=doc.get("country", ""),
            device=Device(doc.get("device", "other")),
            publisher_reference=doc.get("publisher_reference", ""),
            converted=bool(doc.get("converted")),
            link_id=strawberry.ID(doc["link_id"]) if doc.get("link_id") else None,
            partner_id=strawberry.ID(doc["partner_id"]), campaign_id=doc["campaign_id"],
        )  # fmt: skip


@strawberry.type(description="One item (basket line) of a conversion.")
class ConversionItem:
    item_id: str = strawberry.field(description="Item id.")
    sku: str = strawberry.field(description="Product SKU.")
    category: str = strawberry.field(description="Product category.")
    quantity: int = strawberry.field(description="Units.")
    value: int = strawberry.field(description="Item value in minor units of the currency.")
    partner_commission: int = strawberry.field(description="Partner commission, minor units.")
    status: ConversionStatus = strawberry.field(description="Item status.")


@strawberry.type(description="A conversion (sale or lead) attributed to the partner.")
class Conversion:
    id: strawberry.ID = strawberry.field(description="Conversion id (`cnv_…`).")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    day: str = strawberry.field(description="UTC day, YYYY-MM-DD.")
    status: ConversionStatus = strawberry.field(description="approved, pending or rejected.")
    currency: str = strawberry.field(description="Currency (ISO 4217).")
    value: int = strawberry.field(description="Order value in minor units.")
    partner_commission: int = strawberry.field(description="Partner commission in minor units.")
    item_count: int = strawberry.field(description="Units over all items.")
    items: list[ConversionItem] = strawberry.field(description="Basket lines.")
    conversion_reference: str = strawberry.field(description="The brand's order reference.")
    advertiser_reference: str = strawberry.field(description="The brand's own reference.")
    publisher_reference: str = strawberry.field(description="The partner's own reference.")
    customer_reference: str = strawberry.field(description="The brand's customer reference.")
    customer_type: str = strawberry.field(description="new or existing customer.")
    country: str = strawberry.field(description="Customer country (ISO 3166-1), may be empty.")
    device: Device = strawberry.field(description="Device class.")
    click_id: strawberry.ID | None = strawberry.field(description="Attributed click, if any.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.Private[str]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, str(self.partner_id))

    @classmethod
    def from_doc(cls, doc: Document) -> Conversion:
        items = [
            ConversionItem(
                item_id=i["item_id"],
                sku=i["sku"],
                category=i["category"],
                quantity=i["quantity"],
                value=i["value"],
                partner_commission=i["commission"],
                status=ConversionStatus(i["status"]),
            )
            for i in doc.get("items", [])
        ]
        return cls(
            id=strawberry.ID(doc["_id"]), occurred_at=doc["occurred_at"], day=doc["day"],
            status=ConversionStatus(doc["status"]), currency=doc["currency"], value=doc["value"],
            partner_commission=doc["commission"], item_count=doc["item_count"], items=items,
            conversion_reference=doc.get("conversion_reference", ""),
            advertiser_reference=doc.get("advertiser_reference", ""),
            publisher_reference=doc.get("publisher_reference", ""),
            customer_reference=doc.get("customer_reference", ""),
            customer_type=doc.get("customer_type", ""), country=doc.get("country", ""),
            device=Device(doc.get("device", "other")),
            click_id=strawberry.ID(doc["click_id"]) if doc.get("click_id") else None,
            partner_id=strawberry.ID(doc["partner_id"]), campaign_id=doc["campaign_id"],
        )  # fmt: skip


@strawberry.type(description="Totals of the matching conversions in one currency.")
class CurrencyTotal:
    currency: str = strawberry.field(description="Currency (ISO 4217).")
    conversion_count: int = strawberry.field(description="Matching conversions.")
    value: int = strawberry.field(description="Order value, minor units.")
    partner_commission: int = strawberry.field(description="Partner commission, minor units.")
    payable_conversion_count: int = strawberry.field(description="Approved conversions.")
    payable_commission: int = strawberry.field(
        description="Commission of approved conversions (payable), minor units."
    )


@strawberry.type(description="A page of conversions plus per-currency totals of all matches.")
class ConversionConnection:
    edges: list[Edge[Conversion]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]
    totals_of: strawberry.Private[Callable[[], Awaitable[list[data.CurrencyTotals]]]]

    @strawberry.field(description="Number of matching conversions, across all pages.")
    async def total_count(self) -> int:
        return await self.count()

    @strawberry.field(
        description="Per-currency totals of every matching conversion (not just this page); "
        "`payableCommission` counts approved ones."
    )
    async def totals(self) -> list[CurrencyTotal]:
        return [
            CurrencyTotal(
                currency=t.currency,
                conversion_count=t.conversions,
                value=t.value,
                partner_commission=t.commission,
                payable_conversion_count=t.payable_conversions,
                payable_commission=t.payable_commission,
            )
            for t in await self.totals_of()
        ]


# --- analytics -----------------------------------------------------------------------


@strawberry.input(description="A date range; bounds without offset are local to `timezone`.")
class DateRangeInput:
    start: str = strawberry.field(
        description="Inclusive start: YYYY-MM-DD (local midnight) or an ISO date-time."
    )
    end: str = strawberry.field(
        description="Exclusive end: an ISO date-time, or YYYY-MM-DD to include that whole day."
    )


@strawberry.input(description="One analytics filter; all filters must match.")
class AnalyticsFilterInput:
    field: str = strawberry.field(
        description="campaign(_id), brand(_id), country, device(_id), publisher_reference, "
        "currency, conversion_status, customer_type."
    )
    value: list[str] = strawberry.field(description="Values (1..100); EQUALS matches any.")
    operator: str = strawberry.field(
        default="EQUALS",
        description="EQUALS, NOT_EQUALS, IN, NOT_IN, CONTAINS (case-insensitive), NOT_CONTAINS.",
    )
    not_: bool = strawberry.field(default=False, name="not", description="Negate the condition.")


@strawberry.input(description="A sort key for EXPLODE rows.")
class AnalyticsOrderInput:
    field: str = strawberry.field(description="A requested metric or groupBy dimension.")
    direction: str = strawberry.field(default="DESCENDING", description="ASCENDING or DESCENDING.")


@strawberry.type(description="A dimension value of an analytics row.")
class AnalyticsDimension:
    name: str = strawberry.field(description="Dimension name (as in groupBy).")
    value: str = strawberry.field(description="Value (ids for campaign/brand; local ISO time).")

    @strawberry.field(description="Display name: campaign title, brand name; else the value.")
    async def label(self, info: Info) -> str:
        if self.name == "campaign" and self.value:
            doc = await info.context.loaders.get(data.CampaignByIdLoader).load(self.value)
            return str(doc["title"]) if doc else self.value
        if self.name == "brand" and self.value:
            doc = await info.context.loaders.get(data.BrandByIdLoader).load(self.value)
            return str(doc["name"]) if doc else self.value
        return self.value


@strawberry.type(description="A metric value of an analytics row.")
class AnalyticsMetric:
    name: str = strawberry.field(description="Metric name (as requested).")
    value: float = strawberry.field(
        description="Value; money in major units of the row's currency, rates as 0..1 fractions."
    )


@strawberry.type(description="One analytics row.")
class AnalyticsRow:
    dimensions: list[AnalyticsDimension] = strawberry.field(description="Grouped-by values.")
    metrics: list[AnalyticsMetric] = strawberry.field(description="Requested metrics, in order.")
    date_time: datetime | None = strawberry.field(description="Start of the time bucket (UTC).")
    date_time_end: datetime | None = strawberry.field(description="End of the time bucket (UTC).")
    local_date_time: str | None = strawberry.field(
        description="Start of the time bucket in the report timezone, ISO-8601 with offset."
    )


@strawberry.type(description="Result of a partner analytics query.")
class AnalyticsResult:
    shape: AnalyticsShape = strawberry.field(description="COUNT, EXPLODE or TIMESERIES.")
    timezone: str = strawberry.field(description="Timezone used for ranges and buckets.")
    interval: str | None = strawberry.field(description="Bucket period, when bucketed.")
    currency: str | None = strawberry.field(description="Currency filter of conversions.")
    start: datetime = strawberry.field(description="Earliest range start (UTC).")
    end: datetime = strawberry.field(description="Latest range end (UTC).")
    rows: list[AnalyticsRow] = strawberry.field(description="Result rows.")


def _row(row: data.AnalyticsRow, interval: data.Interval | None) -> AnalyticsRow:
    end = interval.next(row.bucket) if interval and row.bucket else None
    local = row.bucket.astimezone(interval.tz).isoformat() if interval and row.bucket else None
    return AnalyticsRow(
        dimensions=[AnalyticsDimension(name=k, value=v) for k, v in row.dimensions.items()],
        metrics=[AnalyticsMetric(name=k, value=v) for k, v in row.metrics.items()],
        date_time=row.bucket, date_time_end=end, local_date_time=local,
    )  # fmt: skip


# --- inputs --------------------------------------------------------------------------


@strawberry.input(description="Profile fields to change; omitted fields stay as they are.")
class UpdatePartnerProfileInput:
    account_name: str | None = strawberry.field(default=strawberry.UNSET, description="≤120.")
    company_name: str | None = strawberry.field(default=strawberry.UNSET, description="≤120.")
    contact_name: str | None = strawberry.field(default=strawberry.UNSET, description="≤120.")
    contact_email: str | None = strawberry.field(default=strawberry.UNSET, description="Email.")
    contact_locale: str | None = strawberry.field(
        default=strawberry.UNSET, description="Locale: " + " ".join(sorted(data.LOCALES)) + "."
    )
    default_currency: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 4217 code."
    )
    reporting_timezone: str | None = strawberry.field(
        default=strawberry.UNSET, description="IANA timezone name."
    )
    operating_country: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 3166-1 alpha-2; null clears."
    )
    vertical: Vertical | None = strawberry.field(default=strawberry.UNSET, description="Vertical.")
    promotional_method: PromotionalMethod | None = strawberry.field(
        default=strawberry.UNSET, description="Main promotional method."
    )
    week_start: WeekStart | None = strawberry.field(
        default=strawberry.UNSET, description="First day of the reporting week."
    )
    network_status: NetworkStatusEnum | None = strawberry.field(
        default=strawberry.UNSET, description="Operators only."
    )


@strawberry.input(description="A new website of the partner.")
class CreateWebsiteInput:
    url: str = strawberry.field(description="http(s) URL.")
    partner_id: strawberry.ID | None = strawberry.field(default=None, description=PARTNER_ID_HELP)
    name: str | None = strawberry.field(default=strawberry.UNSET, description="≤120 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="≤1000.")
    type: PromotionalMethod | None = strawberry.field(
        default=strawberry.UNSET, description="Kind of site."
    )
    vertical: Vertical | None = strawberry.field(default=strawberry.UNSET, description="Vertical.")
    country: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 3166-1.")
    primary: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Make it the primary website (default false)."
    )
    active: bool | None = strawberry.field(default=strawberry.UNSET, description="Default true.")


@strawberry.input(description="Website fields to change; omitted fields stay as they are.")
class UpdateWebsiteInput:
    url: str | None = strawberry.field(default=strawberry.UNSET, description="http(s) URL.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="≤120 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="≤1000.")
    type: PromotionalMethod | None = strawberry.field(
        default=strawberry.UNSET, description="Kind of site."
    )
    vertical: Vertical | None = strawberry.field(default=strawberry.UNSET, description="Vertical.")
    country: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 3166-1.")
    primary: bool | None = strawberry.field(default=strawberry.UNSET, description="Primary site.")
    active: bool | None = strawberry.field(default=strawberry.UNSET, description="In use.")


@strawberry.input(description="A new brand (operator).")
class CreateBrandInput:
    name: str = strawberry.field(description="1..120 characters.")
    vertical: Vertical = strawberry.field(default=Vertical.OTHER, description="Vertical.")


@strawberry.input(description="A new campaign (operator).")
class CreateCampaignInput:
    brand_id: strawberry.ID = strawberry.field(description="The brand running it.")
    title: str = strawberry.field(description="1..160 characters.")
    currency: str = strawberry.field(description="ISO 4217.")
    default_destination_url: str = strawberry.field(description="http(s) landing page.")
    vertical: Vertical = strawberry.field(default=Vertical.OTHER, description="Vertical.")
    status: CampaignStatus = strawberry.field(default=CampaignStatus.ACTIVE, description="Status.")
    custom_terms: bool = strawberry.field(default=False, description="Joining needs `terms`.")
    terms: str = strawberry.field(default="", description="Custom terms text.")
    auto_approve: bool = strawberry.field(default=False, description="Approve requests at once.")
    description: str = strawberry.field(default="", description="≤2000 characters.")


@strawberry.input(description="A new tracking link.")
class CreateTrackingLinkInput:
    campaign_id: strawberry.ID = strawberry.field(description="An APPROVED campaign.")
    partner_id: strawberry.ID | None = strawberry.field(default=None, description=PARTNER_ID_HELP)
    destination_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="http(s); defaults to the campaign's."
    )
    description: str | None = strawberry.field(default=strawberry.UNSET, description="≤500.")
    params: list[LinkParamInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Parameters (unique keys)."
    )
    active: bool | None = strawberry.field(default=strawberry.UNSET, description="Default true.")


@strawberry.input(description="Tracking-link fields to change; omitted fields stay.")
class UpdateTrackingLinkInput:
    destination_url: str | None = strawberry.field(default=strawberry.UNSET, description="http(s).")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="≤500.")
    params: list[LinkParamInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces all parameters."
    )
    active: bool | None = strawberry.field(default=strawberry.UNSET, description="In use.")


@strawberry.input(description="A click to record (operator: the tracker's feed).")
class RecordClickInput:
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.ID = strawberry.field(description="An APPROVED campaign.")
    occurred_at: datetime | None = strawberry.field(default=None, description="Default: now.")
    cookie_id: str = strawberry.field(default="", description="Visitor cookie; default: new.")
    country: str = strawberry.field(default="", description="ISO 3166-1 or empty.")
    device: Device = strawberry.field(default=Device.OTHER, description="Device class.")
    link_id: strawberry.ID | None = strawberry.field(default=None, description="Tracking link.")
    publisher_reference: str = strawberry.field(default="", description="Partner reference.")


@strawberry.input(description="One basket line of a conversion.")
class ConversionItemInput:
    value: int = strawberry.field(description="Value in minor units, >= 0.")
    commission: int = strawberry.field(description="Partner commission, minor units, <= value.")
    sku: str = strawberry.field(default="", description="Product SKU.")
    category: str = strawberry.field(default="", description="Product category.")
    quantity: int = strawberry.field(default=1, description="Units, >= 1.")
    status: ConversionStatus | None = strawberry.field(
        default=None, description="Default: the conversion's status."
    )


@strawberry.input(description="A conversion to record (operator: the tracker's feed).")
class RecordConversionInput:
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.ID = strawberry.field(description="An APPROVED campaign.")
    currency: str = strawberry.field(description="ISO 4217.")
    items: list[ConversionItemInput] = strawberry.field(description="1..100 basket lines.")
    status: ConversionStatus = strawberry.field(
        default=ConversionStatus.PENDING, description="Validation state."
    )
    occurred_at: datetime | None = strawberry.field(default=None, description="Default: now.")
    click_id: strawberry.ID | None = strawberry.field(default=None, description="The click.")
    country: str = strawberry.field(default="", description="ISO 3166-1 or empty.")
    device: Device = strawberry.field(default=Device.OTHER, description="Device class.")
    conversion_reference: str = strawberry.field(default="", description="Order reference.")
    advertiser_reference: str = strawberry.field(default="", description="Brand reference.")
    publisher_reference: str = strawberry.field(default="", description="Partner reference.")
    customer_reference: str = strawberry.field(default="", description="Customer reference.")
    customer_type: str = strawberry.field(default="new", description="new or existing.")


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in values.items()}


# --- root fields ---------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(
        description="Campaigns partners may join, ordered by brand (each with its `brand`), "
        "with the partner's participation status.",
        extensions=READ,
    )
    async def campaigns(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        brand_id: strawberry.ID | None = None,
        statuses: list[CampaignStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Campaign]:
        page, viewer = await resolve.campaigns(
            info, partner_id, brand_id, [s.value for s in statuses or []], first, after
        )
        return Connection.of(page, lambda row: Campaign.from_doc(row, viewer))

    @strawberry.field(description="The partner's participation requests.", extensions=READ)
    async def participations(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        status: list[ParticipationStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Participation]:
        wanted = [s.value for s in status or []]
        if "available" in wanted:
            raise BadUserInput("AVAILABLE means no participation", field="status")
        page = await resolve.participations(info, partner_id, wanted, first, after)
        return Connection.of(page, Participation.from_doc)

    @strawberry.field(description="The partner's tracking links.", extensions=READ)
    async def tracking_links(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        campaign_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TrackingLink]:
        page = await resolve.links(info, partner_id, campaign_id, first, after)
        return Connection.of(page, TrackingLink.from_doc)

    @strawberry.field(
        description="The partner's conversions, newest first, with per-currency totals. "
        "Range: `from`/`to`, or `textDate` (today, yesterday, last N days, this/last week, "
        "this/last month, …) in `timezone` (default: the partner's reporting timezone).",
        extensions=READ,
    )
    async def conversions(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        text_date: str | None = None,
        timezone: str | None = None,
        statuses: list[ConversionStatus] | None = None,
        currencies: list[str] | None = None,
        campaign_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ConversionConnection:
        ctx = info.context
        filters = await resolve.event_filter(
            ctx.db, ctx.scope, partner_id=partner_id, start=from_, end=to, text_date=text_date,
            timezone=timezone, campaign_id=campaign_id,
            statuses=[s.value for s in statuses or []], currencies=currencies or [],
        )  # fmt: skip
        page = await data.list_conversions(ctx.db, ctx.scope, filters, first, after)
        connection = Connection.of(page, Conversion.from_doc)
        return ConversionConnection(
            edges=connection.edges, page_info=connection.page_info, count=page.count,
            totals_of=lambda: data.conversion_totals(ctx.db, ctx.scope, filters),
        )  # fmt: skip

    @strawberry.field(
        description="The partner's clicks, newest first (same range arguments as conversions).",
        extensions=READ,
    )
    async def clicks(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        text_date: str | None = None,
        timezone: str | None = None,
        campaign_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Click]:
        ctx = info.context
        filters = await resolve.event_filter(
            ctx.db, ctx.scope, partner_id=partner_id, start=from_, end=to, text_date=text_date,
            timezone=timezone, campaign_id=campaign_id,
        )  # fmt: skip
        page = await data.list_clicks(ctx.db, ctx.scope, filters, first, after)
        return Connection.of(page, Click.from_doc)

    @strawberry.field(
        description="Partner analytics over clicks and conversions. COUNT: one row of "
        "metrics; EXPLODE: rows per groupBy values (orderBy, top); TIMESERIES: one row per "
        "interval bucket in `timezone` (zerofill). Metrics: " + ", ".join(data.METRICS) + ". "
        "Dimensions: " + ", ".join(data.DIMENSIONS) + ". Unknown names are BAD_USER_INPUT.",
        extensions=READ,
    )
    async def partner_analytics(
        self,
        info: Info,
        shape: AnalyticsShape,
        metrics: list[str],
        partner_id: strawberry.ID | None = None,
        group_by: list[str] | None = None,
        filter_by: list[AnalyticsFilterInput] | None = None,
        date_ranges: list[DateRangeInput] | None = None,
        text_date: str | None = None,
        interval: str | None = None,
        timezone: str | None = None,
        currency: str | None = None,
        order_by: list[AnalyticsOrderInput] | None = None,
        top: int | None = None,
        zerofill: bool = True,
    ) -> AnalyticsResult:
        request = resolve.AnalyticsRequest(
            shape=shape.value, metrics=metrics, group_by=group_by or [],
            filter_by=[(f.field, f.operator, f.value, f.not_) for f in filter_by or []],
            date_ranges=[(r.start, r.end) for r in date_ranges or []], text_date=text_date,
            interval=interval, timezone=timezone, currency=currency,
            order_by=[(o.field, o.direction) for o in order_by or []], top=top,
            zerofill=zerofill,
        )  # fmt: skip
        outcome = await resolve.partner_analytics(info, partner_id, request)
        tz = data.validate_timezone(outcome.timezone)
        bucketed = data.Interval(outcome.interval, tz) if outcome.interval else None
        return AnalyticsResult(
            shape=shape, timezone=outcome.timezone, interval=outcome.interval,
            currency=outcome.currency, start=outcome.start, end=outcome.end,
            rows=[_row(r, bucketed) for r in outcome.rows],
        )  # fmt: skip


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Change the partner's publisher profile; only the fields sent change.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.PARTNER_WRITE),
    )
    async def update_partner_profile(
        self, info: Info, input: UpdatePartnerProfileInput, partner_id: strawberry.ID | None = None
    ) -> Partner:
        return Partner.from_doc(
            await resolve.update_partner_profile(info, partner_id, _sent(input))
        )

    @strawberry.mutation(description="Add a website to the partner.", extensions=WRITE)
    async def create_partner_website(self, info: Info, input: CreateWebsiteInput) -> Website:
        fields = _sent(input)
        partner_id = fields.pop("partner_id", None)
        return Website.from_doc(await resolve.create_website(info, partner_id, fields))

    @strawberry.mutation(description="Change a website of the partner.", extensions=WRITE)
    async def update_partner_website(
        self, info: Info, id: strawberry.ID, input: UpdateWebsiteInput
    ) -> Website:
        return Website.from_doc(await resolve.update_website(info, id, _sent(input)))

    @strawberry.mutation(description="Add a brand (operator only).", extensions=allow(OPERATOR))
    async def create_brand(self, info: Info, input: CreateBrandInput) -> Brand:
        return Brand.from_doc(await resolve.create_brand(info, input.name, input.vertical.value))

    @strawberry.mutation(description="Add a campaign (operator only).", extensions=allow(OPERATOR))
    async def create_campaign(self, info: Info, input: CreateCampaignInput) -> Campaign:
        return Campaign.from_doc(await resolve.create_campaign(info, _plain(_sent(input))))

    @strawberry.mutation(
        description="Ask to join a campaign. Campaigns with custom terms need "
        "`acceptTerms: true`; asking twice is CONFLICT.",
        extensions=WRITE,
    )
    async def request_campaign_participation(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        accept_terms: bool = False,
        partner_id: strawberry.ID | None = None,
    ) -> Participation:
        doc = await resolve.request_participation(info, partner_id, campaign_id, accept_terms)
        return Participation.from_doc(doc)

    @strawberry.mutation(
        description="Approve or reject a participation request (operator only).",
        extensions=allow(OPERATOR),
    )
    async def review_campaign_participation(
        self, info: Info, id: strawberry.ID, decision: ParticipationDecision
    ) -> Participation:
        return Participation.from_doc(await resolve.review_participation(info, id, decision.value))

    @strawberry.mutation(
        description="Create a tracking link on a campaign the partner is APPROVED on.",
        extensions=WRITE,
    )
    async def create_tracking_link(
        self, info: Info, input: CreateTrackingLinkInput
    ) -> TrackingLink:
        fields = _sent(input)
        partner_id = fields.pop("partner_id", None)
        campaign_id = fields.pop("campaign_id")
        doc = await resolve.create_link(info, partner_id, campaign_id, fields)
        return TrackingLink.from_doc(doc)

    @strawberry.mutation(
        description="Change a tracking link (its campaign must still be APPROVED).",
        extensions=WRITE,
    )
    async def update_tracking_link(
        self, info: Info, id: strawberry.ID, input: UpdateTrackingLinkInput
    ) -> TrackingLink:
        return TrackingLink.from_doc(await resolve.update_link(info, id, _sent(input)))

    @strawberry.mutation(
        description="Record a click (operator only: the tracker's feed).",
        extensions=allow(OPERATOR),
    )
    async def record_click(self, info: Info, input: RecordClickInput) -> Click:
        return Click.from_doc(await resolve.record_click(info, _plain(_sent(input))))

    @strawberry.mutation(
        description="Record a conversion (operator only: the tracker's feed).",
        extensions=allow(OPERATOR),
    )
    async def record_conversion(self, info: Info, input: RecordConversionInput) -> Conversion:
        fields = _plain(_sent(input))
        fields["items"] = [
            {**_plain(_sent(item)), "status": item.status.value if item.status else None}
            for item in input.items
        ]
        return Conversion.from_doc(await resolve.record_conversion(info, fields))
