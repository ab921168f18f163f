"""Affiliate network schema: partner profile and websites, brands and campaigns,
participations, tracking links, clicks and conversions, and partner analytics (count /
explode / timeseries). A package: one module per sub-domain; `Query` and `Mutation` here
are what `schema` merges into the root types, and every old name is re-exported.

Campaigns are listed flat, ordered by brand, each with a `brand` field (batched through
a loader) and the partner's `participationStatus` (batched, keyed by partner + campaign).
"""

from __future__ import annotations

from strawberry.tools import merge_types

from schema.affiliate import (
    analytics_roots,
    commission_roots,
    databases,
    events,
    joining,
    money,
    promotion,
    queries,
    recording,
    root,
    tags,
)
from schema.affiliate.analytics import (
    AnalyticsDimension,
    AnalyticsFilterInput,
    AnalyticsMetric,
    AnalyticsOrderInput,
    AnalyticsResult,
    AnalyticsRow,
    DateRangeInput,
)
from schema.affiliate.common import (
    PARTNER_ID_HELP,
    READ,
    WRITE,
)
from schema.affiliate.events import (
    Click,
    Conversion,
    ConversionConnection,
    ConversionItem,
    CurrencyTotal,
)
from schema.affiliate.inputs import (
    ConversionItemInput,
    CreateBrandInput,
    CreateCampaignInput,
    CreateTrackingLinkInput,
    CreateWebsiteInput,
    RecordClickInput,
    RecordConversionInput,
    UpdatePartnerProfileInput,
    UpdateTrackingLinkInput,
    UpdateWebsiteInput,
)
from schema.affiliate.types import (
    AnalyticsShape,
    Brand,
    Campaign,
    CampaignStatus,
    ConversionStatus,
    Device,
    LinkParam,
    LinkParamInput,
    Participation,
    ParticipationDecision,
    ParticipationStatus,
    TrackingLink,
)

# The root fields of every sub-module, merged (schema/__init__ merges them with the domains').
Query = merge_types(
    "AffiliateQuery",
    (
        root.Query,
        commission_roots.Query,
        money.Query,
        joining.Query,
        promotion.Query,
        analytics_roots.Query,
        analytics_roots.ReferenceQuery,
        analytics_roots.BrandsQuery,
        queries.Query,
        events.Query,
        databases.Query,
        tags.Query,
        recording.Query,
    ),
)
Mutation = merge_types(
    "AffiliateMutation",
    (
        root.Mutation,
        commission_roots.Mutation,
        money.Mutation,
        joining.Mutation,
        promotion.Mutation,
        queries.Mutation,
        recording.Mutation,
        databases.Mutation,
        tags.Mutation,
    ),
)

__all__ = [
    "PARTNER_ID_HELP",
    "READ",
    "WRITE",
    "AnalyticsDimension",
    "AnalyticsFilterInput",
    "AnalyticsMetric",
    "AnalyticsOrderInput",
    "AnalyticsResult",
    "AnalyticsRow",
    "AnalyticsShape",
    "Brand",
    "Campaign",
    "CampaignStatus",
    "Click",
    "Conversion",
    "ConversionConnection",
    "ConversionItem",
    "ConversionItemInput",
    "ConversionStatus",
    "CreateBrandInput",
    "CreateCampaignInput",
    "CreateTrackingLinkInput",
    "CreateWebsiteInput",
    "CurrencyTotal",
    "DateRangeInput",
    "Device",
    "LinkParam",
    "LinkParamInput",
    "Mutation",
    "Participation",
    "ParticipationDecision",
    "ParticipationStatus",
    "Query",
    "RecordClickInput",
    "RecordConversionInput",
    "TrackingLink",
    "UpdatePartnerProfileInput",
    "UpdateTrackingLinkInput",
    "UpdateWebsiteInput",
]
