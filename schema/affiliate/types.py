"""Affiliate object types and enums: brands, campaigns, participations, links, clicks and
conversions."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import commissions as commission_data
from loaders.base import from_epoch_ms
from loaders.partners import PartnerByIdLoader
from schema.connection import Connection
from schema.partners import Vertical

if TYPE_CHECKING:
    from schema.affiliate.commissions import (
        CampaignTracking,
        Commission,
        CommissionKind,
        DefaultCommission,
    )
    from schema.affiliate.joining import CampaignTerms
    from schema.affiliate.promotion import Creative, CreativeSummary, ProductFeed, VoucherCode

# --- enums ---------------------------------------------------------------------------


@strawberry.enum(description="Whether a campaign takes part in the network.")
class CampaignStatus(Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


@strawberry.enum(description="A partner's standing on a campaign.")
class ParticipationStatus(Enum):
    AVAILABLE = strawberry.enum_value(
        "available", description="No participation yet, and the campaign accepts partners."
    )
    UNAVAILABLE = strawberry.enum_value(
        "unavailable",
        description="No participation, and the campaign is not accepting partners (paused or "
        "ended).",
    )
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


@strawberry.enum(description="A click's state (seed: nibbled, converted).")
class ClickStatus(Enum):
    NIBBLED = "nibbled"
    CONVERTED = "converted"


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
    camref: str = strawberry.field(
        description="Short public campaign reference (the seed's `camref`), as in reports."
    )
    cookie_period_days: int = strawberry.field(
        description="Days a click stays attributable (the visitor cookie's lifetime)."
    )
    brand_id: strawberry.Private[str]
    viewer_partner_id: strawberry.Private[str | None]
    doc: strawberry.Private[Document]

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
        if doc is not None:
            return ParticipationStatus(doc["status"])
        if self.status is not CampaignStatus.ACTIVE:
            return ParticipationStatus.UNAVAILABLE
        return ParticipationStatus.AVAILABLE

    @strawberry.field(
        description="The default commission: the campaign's, and what this partner earns by "
        "default (its own or its group's override)."
    )
    async def default_commission(self, info: Info) -> Annotated[
        DefaultCommission, strawberry.lazy("schema.affiliate.commissions")
    ]:  # fmt: skip
        from schema.affiliate import commissions

        return await commissions.campaign_default(info, self.doc, self.viewer_partner_id)

    @strawberry.field(
        description="The campaign's commissions the partner may see (aimed at everyone, at "
        "the partner or at one of its groups), by id; `kinds` filters."
    )
    async def commissions(
        self,
        info: Info,
        kinds: list[Annotated[CommissionKind, strawberry.lazy("schema.affiliate.commissions")]]
        | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Commission, strawberry.lazy("schema.affiliate.commissions")]]:
        from schema.affiliate import commissions

        return await commissions.campaign_commissions(
            info, self.doc, self.viewer_partner_id, kinds, first, after
        )

    @strawberry.field(
        description="Commissions in force at `at` (default now): DEFAULT overrides, STANDARD, "
        "VOUCHER and PROMOTIONAL ones that are ACTIVE and within their dates (the campaign "
        "default itself is `defaultCommission`)."
    )
    async def active_commissions(
        self,
        info: Info,
        at: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Commission, strawberry.lazy("schema.affiliate.commissions")]]:
        from schema.affiliate import commissions

        return await commissions.campaign_active(
            info, self.doc, self.viewer_partner_id, at, first, after
        )

    @strawberry.field(
        description="The terms in force for this partner: the newest version in `locale` "
        "(default: the partner's contact locale), else `en`, else `en_us`, else any."
    )
    async def current_terms(
        self, info: Info, locale: str | None = None
    ) -> Annotated[CampaignTerms, strawberry.lazy("schema.affiliate.joining")] | None:
        from schema.affiliate import joining

        wanted = locale or await _viewer_locale(info, self.viewer_partner_id)
        return await joining.current_terms(info, self.doc, self.viewer_partner_id, wanted)

    @strawberry.field(
        description="Creatives of the campaign (partners: only on campaigns they are "
        "APPROVED on), by id."
    )
    async def creatives(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Creative, strawberry.lazy("schema.affiliate.promotion")]]:
        from schema.affiliate import promotion

        return await promotion.campaign_creatives(
            info, self.doc, self.viewer_partner_id, first, after
        )

    @strawberry.field(description="Product feeds (partners: only when APPROVED), by id.")
    async def feeds(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[ProductFeed, strawberry.lazy("schema.affiliate.promotion")]]:
        from schema.affiliate import promotion

        return await promotion.campaign_feeds(info, self.doc, self.viewer_partner_id, first, after)

    @strawberry.field(
        description="Voucher codes to promote (partners: only when APPROVED, and exclusive "
        "codes only when aimed at them), by id."
    )
    async def voucher_codes(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[VoucherCode, strawberry.lazy("schema.affiliate.promotion")]]:
        from schema.affiliate import promotion

        return await promotion.campaign_vouchers(
            info, self.doc, self.viewer_partner_id, first, after
        )

    @strawberry.field(description="Tracking settings.")
    def tracking(
        self,
    ) -> Annotated[CampaignTracking, strawberry.lazy("schema.affiliate.commissions")]:
        from schema.affiliate import commissions

        return commissions.campaign_tracking(self.doc)

    @classmethod
    def from_doc(cls, doc: Document, viewer_partner_id: str | None = None) -> Campaign:
        return cls(
            id=strawberry.ID(doc["_id"]), title=doc["title"],
            description=doc.get("description", ""),
            currency=doc["currency"], vertical=Vertical(doc["vertical"]),
            status=CampaignStatus(doc["status"]),
            default_destination_url=doc["default_destination_url"],
            custom_terms=bool(doc.get("custom_terms")), terms=doc.get("terms", ""),
            auto_approve=bool(doc.get("auto_approve")), camref=str(doc.get("camref", "")),
            cookie_period_days=commission_data.cookie_period_days(doc),
            brand_id=doc["brand_id"], viewer_partner_id=viewer_partner_id, doc=doc,
        )  # fmt: skip


async def _viewer_locale(info: Info, partner_id: str | None) -> str | None:
    if partner_id is None:
        return None
    doc = await info.context.loaders.get(PartnerByIdLoader).load(partner_id)
    return str(doc.get("contact_locale") or "en") if doc else None


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
            decided_at=from_epoch_ms(doc.get("decided_ms")) or doc.get("decided_at"),
            partner_id=strawberry.ID(doc["partner_id"]),
            campaign_id=doc["campaign_id"],
        )  # fmt: skip


# --- tracking links ------------------------------------------------------------------


def _public_origin(info: Info) -> str:
    settings = info.context.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    request = info.context.request
    if request is not None:
        return f"{request.scheme}://{request.host}"
    return f"http://{settings.host}:{settings.port}"


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
    creative_ref: strawberry.Private[str]

    @strawberry.field(
        description="The creative its clicks are attributed to (unless a creative's tracking "
        "code names another of the campaign's), if any."
    )
    async def creative(
        self, info: Info
    ) -> Annotated[CreativeSummary, strawberry.lazy("schema.affiliate.promotion")] | None:
        from schema.affiliate import promotion

        return await promotion.creative_by_id(info, self.creative_ref, str(self.partner_id))

    @strawberry.field(
        description="The URL to publish: this gateway's `GET /t/{id}`, which records a click "
        "and redirects (302) to `destinationUrl` (origin: GATEWAY_PUBLIC_URL, else the origin "
        "this request came to)."
    )
    def url(self, info: Info) -> str:
        return f"{_public_origin(info)}/t/{self.id}"

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
            campaign_id=doc["campaign_id"], creative_ref=str(doc.get("creative_ref") or ""),
        )  # fmt: skip
