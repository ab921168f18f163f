"""Affiliate mutation inputs."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from loaders import affiliate as data
from schema.affiliate.common import PARTNER_ID_HELP
from schema.affiliate.types import CampaignStatus, ConversionStatus, Device, LinkParamInput
from schema.partners import ImProvider, LegalEntity, PromotionalMethod, Vertical, WeekStart
from schema.partners import NetworkStatus as NetworkStatusEnum

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
    phone: str | None = strawberry.field(
        default=strawberry.UNSET, description="4..15 digits (separators allowed)."
    )
    phone_area: str | None = strawberry.field(
        default=strawberry.UNSET, description="Country calling code, e.g. +44."
    )
    im_provider: ImProvider | None = strawberry.field(
        default=strawberry.UNSET, description="Messaging service (send with imUsername)."
    )
    im_username: str | None = strawberry.field(default=strawberry.UNSET, description="≤64.")
    legal_entity: LegalEntity | None = strawberry.field(
        default=strawberry.UNSET, description="Legal form."
    )
    company_division: str | None = strawberry.field(default=strawberry.UNSET, description="≤120.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="HTML, sanitised (allow-listed tags), ≤5000."
    )
    logo_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="http(s) URL of a .png / .jpg / .jpeg image."
    )
    vat_number: str | None = strawberry.field(
        default=strawberry.UNSET, description="Country prefix + 2..13 letters/digits."
    )
    uk_vat_registered: bool | None = strawberry.field(
        default=strawberry.UNSET, description="UK VAT registered."
    )
    gst_registered: bool | None = strawberry.field(
        default=strawberry.UNSET, description="GST registered."
    )
    abn: str | None = strawberry.field(
        default=strawberry.UNSET, description="Australian Business Number (checksum-checked)."
    )
    us_tax_state: str | None = strawberry.field(
        default=strawberry.UNSET, description="US state code, e.g. CA."
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
    creative_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="An active creative of the campaign its clicks are attributed to.",
    )


@strawberry.input(description="Tracking-link fields to change; omitted fields stay.")
class UpdateTrackingLinkInput:
    destination_url: str | None = strawberry.field(default=strawberry.UNSET, description="http(s).")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="≤500.")
    params: list[LinkParamInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces all parameters."
    )
    active: bool | None = strawberry.field(default=strawberry.UNSET, description="In use.")
    creative_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="An active creative of the campaign; null: none."
    )


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
    advertiser_reference: str = strawberry.field(default="", description="Brand reference.")
    ip: str = strawberry.field(default="", description="Visitor IPv4/IPv6 address or empty.")
    referer: str = strawberry.field(default="", description="Referring page (≤2048).")
    creative_id: strawberry.ID | None = strawberry.field(
        default=None, description="The creative clicked (an active one of the campaign)."
    )


@strawberry.input(description="One key/value pair of the brand's meta data (seed `meta_data`).")
class MetaDataInput:
    key: str = strawberry.field(description="1..64 of A-Z a-z 0-9 _ . - (unique per object).")
    value: str = strawberry.field(description="At most 255 printable characters.")


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
    voucher_codes: list[str] = strawberry.field(
        default_factory=list, description="Voucher codes used on this line (0..10, ≤50 each)."
    )
    meta_data: list[MetaDataInput] = strawberry.field(
        default_factory=list, description="The line's meta data (0..20 pairs)."
    )
    reject_reason: str = strawberry.field(
        default="", description="Why the line was rejected (rejected lines only, ≤255)."
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
    original_currency: str | None = strawberry.field(
        default=None, description="Currency the brand reported (ISO 4217); default `currency`."
    )
    conversion_rate: float = strawberry.field(
        default=1.0, description="Rate from `originalCurrency` into `currency`; 1 if the same."
    )
    was_disputed: bool = strawberry.field(default=False, description="Disputed by the brand.")
    meta_data: list[MetaDataInput] = strawberry.field(
        default_factory=list, description="The conversion's meta data (0..20 pairs)."
    )


def plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in values.items()}


@strawberry.enum(description="A pivot of the seed's `multipivot[{pivot}][]` report filter.")
class ReportPivot(Enum):
    CAMPAIGN = "campaign"
    COUNTRY = "country"
    DEVICE = "device"
    CREATIVE_ID = "creative_id"
    CREATIVE_TYPE = "creative_type"


@strawberry.input(
    description="A secondary pivot filter (seed `multipivot[{pivot}][]=value`): keep rows "
    "whose pivot is one of `values`; several pivots must all match."
)
class ReportPivotFilterInput:
    pivot: ReportPivot = strawberry.field(description="What to filter on.")
    values: list[str] = strawberry.field(
        description="1..100 values: campaign ids (`cmp_…`), ISO countries, device classes "
        "(desktop, mobile, tablet, other) or creative numbers."
    )


def pivot_pairs(filters: list[ReportPivotFilterInput] | None) -> list[tuple[str, list[str]]]:
    return [(f.pivot.value, list(f.values)) for f in filters or []]
