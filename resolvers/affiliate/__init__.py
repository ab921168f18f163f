"""Affiliate network resolvers: validate arguments, call data access and loaders, return
documents (a package: one module per sub-domain; every old name is re-exported here).

`event_filter` is also used by the CSV exports (`GET /export/conversions.csv`,
`/export/clicks.csv`), which share the list filters with the GraphQL fields.
"""

from __future__ import annotations

from resolvers.affiliate.analytics import (
    DIRECTIONS,
    MAX_TOP,
    SHAPES,
    AnalyticsOutcome,
    AnalyticsRequest,
    partner_analytics,
)
from resolvers.affiliate.campaigns import (
    campaign,
    campaigns,
    create_brand,
    create_campaign,
    participations,
    request_participation,
    review_participation,
)
from resolvers.affiliate.common import (
    partner_for,
)
from resolvers.affiliate.events import (
    event_filter,
)
from resolvers.affiliate.profile import (
    create_website,
    update_partner_profile,
    update_website,
    validate_profile,
    validate_website,
)
from resolvers.affiliate.tracking import (
    create_link,
    links,
    record_click,
    record_conversion,
    update_link,
    validate_link,
)

__all__ = [
    "DIRECTIONS",
    "MAX_TOP",
    "SHAPES",
    "AnalyticsOutcome",
    "AnalyticsRequest",
    "campaign",
    "campaigns",
    "create_brand",
    "create_campaign",
    "create_link",
    "create_website",
    "event_filter",
    "links",
    "participations",
    "partner_analytics",
    "partner_for",
    "record_click",
    "record_conversion",
    "request_participation",
    "review_participation",
    "update_link",
    "update_partner_profile",
    "update_website",
    "validate_link",
    "validate_profile",
    "validate_website",
]
