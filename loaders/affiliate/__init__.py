"""Affiliate network data access (a package: one module per sub-domain).

Partner profile and websites (`profile`), brands, campaigns and participations
(`campaigns`), tracking links (`tracking`), clicks and conversions (`events`), date ranges
and intervals (`dates`), the analytics pipelines (`analytics`), reference data
(`reference`), tenant helpers and indexes (`common`). Every old name of `loaders.affiliate`
is re-exported here, so `from loaders import affiliate as data; data.x` keeps working.

Brands and campaigns are network-wide (no `partner_id`); everything a partner does
(participations, links, websites, clicks, conversions) is tenant-owned and every query
on it starts from `scope.tenant()`.

Clicks and conversions carry three time fields: `occurred_at` (UTC datetime, for
display), `ts` (epoch milliseconds, for range filters inside aggregations, where the
embedded store ignores datetime comparisons) and `slot` (`ts` floored to 15 minutes).
Every real-world UTC offset is a multiple of 15 minutes, so a slot never straddles a
local hour, day, week or month boundary: analytics group by slot in MongoDB and fold
slots into local buckets in Python, which keeps timezone day boundaries exact without
`$dateToString`/`$dateTrunc`.
"""

from __future__ import annotations

from loaders.affiliate.analytics import (
    CLICK_METRICS,
    CONVERSION_METRICS,
    DIMENSIONS,
    FILTER_FIELDS,
    FILTER_OPERATORS,
    METRICS,
    MONEY_METRICS,
    AnalyticsFilter,
    AnalyticsRow,
    AnalyticsSpec,
    Dimension,
    day_string,
    empty_row,
    interval_buckets,
    merge_ranges,
    run_analytics,
)
from loaders.affiliate.campaigns import (
    BrandByIdLoader,
    CampaignByIdLoader,
    ParticipationByCampaignLoader,
    decide_participation,
    insert_brand,
    insert_campaign,
    insert_participation,
    list_campaigns,
    list_participations,
    new_camref,
    participation_status,
)
from loaders.affiliate.common import (
    INDEXES,
    SLOT_MS,
    allowed_partners,
    owned,
)
from loaders.affiliate.dates import (
    INTERVALS,
    TEXT_DATES,
    Interval,
    from_ms,
    local_midnight,
    parse_interval,
    text_date_range,
    to_ms,
)
from loaders.affiliate.events import (
    EVENT_SORT,
    CurrencyTotals,
    EventFilter,
    click_doc,
    conversion_doc,
    conversion_totals,
    find_click,
    insert_click,
    insert_conversion,
    iter_events,
    list_clicks,
    list_conversions,
    time_fields,
)
from loaders.affiliate.profile import (
    PROFILE_DEFAULTS,
    WEEKDAYS,
    WebsitesByPartnerLoader,
    campaign_camrefs,
    campaign_titles,
    insert_website,
    partner_name,
    profile_value,
    reporting_timezone,
    update_partner_profile,
    update_website,
    week_start_index,
)
from loaders.affiliate.reference import (
    CONVERSION_STATUSES,
    COUNTRIES,
    CURRENCIES,
    DEVICES,
    LINK_PARAM_KEYS,
    LOCALES,
    PARTICIPATION_STATUSES,
    currency_exponent,
    reference_title,
    validate_country,
    validate_currency,
    validate_ip,
    validate_locale,
    validate_text,
    validate_timezone,
    validate_url,
)
from loaders.affiliate.tracking import (
    LinkByIdLoader,
    insert_link,
    list_links,
    update_link,
    validate_link_params,
)

__all__ = [
    "CLICK_METRICS",
    "CONVERSION_METRICS",
    "CONVERSION_STATUSES",
    "COUNTRIES",
    "CURRENCIES",
    "DEVICES",
    "DIMENSIONS",
    "EVENT_SORT",
    "FILTER_FIELDS",
    "FILTER_OPERATORS",
    "INDEXES",
    "INTERVALS",
    "LINK_PARAM_KEYS",
    "LOCALES",
    "METRICS",
    "MONEY_METRICS",
    "PARTICIPATION_STATUSES",
    "PROFILE_DEFAULTS",
    "SLOT_MS",
    "TEXT_DATES",
    "WEEKDAYS",
    "AnalyticsFilter",
    "AnalyticsRow",
    "AnalyticsSpec",
    "BrandByIdLoader",
    "CampaignByIdLoader",
    "CurrencyTotals",
    "Dimension",
    "EventFilter",
    "Interval",
    "LinkByIdLoader",
    "ParticipationByCampaignLoader",
    "WebsitesByPartnerLoader",
    "allowed_partners",
    "campaign_camrefs",
    "campaign_titles",
    "click_doc",
    "conversion_doc",
    "conversion_totals",
    "currency_exponent",
    "day_string",
    "decide_participation",
    "empty_row",
    "find_click",
    "from_ms",
    "insert_brand",
    "insert_campaign",
    "insert_click",
    "insert_conversion",
    "insert_link",
    "insert_participation",
    "insert_website",
    "interval_buckets",
    "iter_events",
    "list_campaigns",
    "list_clicks",
    "list_conversions",
    "list_links",
    "list_participations",
    "local_midnight",
    "merge_ranges",
    "new_camref",
    "owned",
    "parse_interval",
    "participation_status",
    "partner_name",
    "profile_value",
    "reference_title",
    "reporting_timezone",
    "run_analytics",
    "text_date_range",
    "time_fields",
    "to_ms",
    "update_link",
    "update_partner_profile",
    "update_website",
    "validate_country",
    "validate_currency",
    "validate_ip",
    "validate_link_params",
    "validate_locale",
    "validate_text",
    "validate_timezone",
    "validate_url",
    "week_start_index",
]
