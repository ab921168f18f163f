"""Analytics catalogue: the seed's 16 metrics, 29 group-by dimensions (plus `brand`),
which data source has which, and the user-agent fields behind the browser / OS dimensions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CLICKS = "clicks"
CONVERSIONS = "conversions"
IMPRESSIONS = "impressions"
SOURCES = (CLICKS, CONVERSIONS, IMPRESSIONS)

CLICK_METRICS = (
    "total_clicks",
    "total_unique_clicks",
    "total_clicks_converted",
    "click_conversion_rate",
)
CONVERSION_METRICS = (
    "total_conversions",
    "total_conversion_items",
    "total_order_value",
    "average_order_value",
    "total_partner_commission",
    "conversion_rejection_rate",
    "average_order_size",
    "average_partner_commission",
    "percentage_average_partner_commission",
    "percentage_order_value",
    "percentage_partner_commission",
)
IMPRESSION_METRICS = ("total_impressions",)
MONEY_METRICS = frozenset(
    {"total_order_value", "average_order_value", "total_partner_commission",
     "average_partner_commission"}
)  # fmt: skip
# Shares of the request's total (over every row), so they need every row first.
SHARE_METRICS = {
    "percentage_order_value": "value",
    "percentage_partner_commission": "commission",
}
METRICS = CLICK_METRICS + CONVERSION_METRICS + IMPRESSION_METRICS


def metric_source(name: str) -> str:
    if name in CLICK_METRICS:
        return CLICKS
    if name in IMPRESSION_METRICS:
        return IMPRESSIONS
    return CONVERSIONS


_ALL = frozenset(SOURCES)
_CC = frozenset({CLICKS, CONVERSIONS})
_CONV = frozenset({CONVERSIONS})


@dataclass(frozen=True)
class Dimension:
    """A groupable / filterable attribute: its stored field and the sources that have it.

    `item`: the field lives on each conversion item (`items.<field>`): grouping or
    filtering by it counts per item line. `numeric`: stored as a number (grouped through
    `$toString`). Documents without the field group under "" (not captured).
    """

    name: str
    field: str
    sources: frozenset[str] = _ALL
    item: bool = False
    numeric: bool = False

    @property
    def clicks(self) -> bool:
        return CLICKS in self.sources

    @property
    def conversions(self) -> bool:
        return CONVERSIONS in self.sources

    @property
    def path(self) -> str:
        return f"items.{self.field}" if self.item else self.field


AGENT_FIELDS = (
    "browser_family", "browser_major", "browser_minor", "browser_patch",
    "os_family", "os_major", "os_minor", "os_patch",
)  # fmt: skip

DIMENSIONS = {
    d.name: d
    for d in (
        Dimension("advertiser_reference", "advertiser_reference"),
        *(Dimension(f, f) for f in AGENT_FIELDS),
        Dimension("brand", "brand_id"),
        Dimension("campaign", "campaign_id"),
        Dimension("category", "category", _CONV, item=True),
        Dimension("conversion_metric", "conversion_metric_id", _CONV),
        Dimension("conversion_status", "status", _CONV),
        Dimension("conversion_type", "conversion_type_id", _CONV),
        Dimension("country", "country", _CC),
        Dimension("creative", "creative_id", numeric=True),
        Dimension("currency", "currency", _CONV),
        Dimension("customer_type", "customer_type", _CONV),
        Dimension("date_time", "slot", numeric=True),
        Dimension("device", "device"),
        Dimension("partner", "partner_id"),
        Dimension("partnership_model", "partnership_model_id"),
        Dimension("publisher_reference", "publisher_reference"),
        Dimension("sku", "sku", _CONV, item=True),
        Dimension("traffic_source", "traffic_source_id"),
        Dimension("type", "type", _CC),
        Dimension("user_context", "user_context_id"),
        Dimension("voucher_code", "voucher_code", _CONV),
        Dimension("voucher_status", "voucher_status", _CONV),
    )
}
SEED_DIMENSIONS = tuple(n for n in DIMENSIONS if n != "brand")
FILTER_FIELDS = {
    **{name: d for name, d in DIMENSIONS.items() if name != "date_time"},
    "campaign_id": DIMENSIONS["campaign"],
    "brand_id": DIMENSIONS["brand"],
    "device_id": DIMENSIONS["device"],
    "creative_id": DIMENSIONS["creative"],
    "conversion_metric_id": DIMENSIONS["conversion_metric"],
    "conversion_type_id": DIMENSIONS["conversion_type"],
    "partnership_model_id": DIMENSIONS["partnership_model"],
    "traffic_source_id": DIMENSIONS["traffic_source"],
    "user_context_id": DIMENSIONS["user_context"],
}

# --- user agent ------------------------------------------------------------------------

_BROWSERS = (
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)(?:\.(\d+))?(?:\.(\d+))?")),
    ("Opera", re.compile(r"OPR/(\d+)(?:\.(\d+))?(?:\.(\d+))?")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/(\d+)(?:\.(\d+))?(?:\.(\d+))?")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)(?:\.(\d+))?(?:\.(\d+))?")),
    ("Chrome", re.compile(r"(?:Chrome|CriOS)/(\d+)(?:\.(\d+))?(?:\.(\d+))?")),
    ("Safari", re.compile(r"Version/(\d+)(?:\.(\d+))?(?:\.(\d+))?.*Safari/")),
)
_OSES = (
    ("iOS", re.compile(r"(?:iPhone|iPad|iPod).*? OS (\d+)(?:_(\d+))?(?:_(\d+))?")),
    ("Android", re.compile(r"Android (\d+)(?:\.(\d+))?(?:\.(\d+))?")),
    ("Windows", re.compile(r"Windows NT (\d+)(?:\.(\d+))?()")),
    ("Mac OS X", re.compile(r"Mac OS X (\d+)(?:[_.](\d+))?(?:[_.](\d+))?")),
    ("Chrome OS", re.compile(r"CrOS \S+ (\d+)(?:\.(\d+))?(?:\.(\d+))?")),
    ("Linux", re.compile(r"Linux()()()")),
)


def _first(rules: tuple[tuple[str, re.Pattern[str]], ...], agent: str) -> list[str]:
    for family, pattern in rules:
        found = pattern.search(agent)
        if found:
            return [family, *(g or "" for g in found.groups())]
    return ["Other", "", "", ""]


def agent_fields(user_agent: str) -> dict[str, str]:
    """Browser and OS family / major / minor / patch of a user agent ("" when not named).

    A small rule list (the common browsers and systems), not a full UA database: anything
    else is family "Other"; an empty agent leaves every field "".
    """
    if not user_agent.strip():
        return dict.fromkeys(AGENT_FIELDS, "")
    values = _first(_BROWSERS, user_agent) + _first(_OSES, user_agent)
    return dict(zip(AGENT_FIELDS, values, strict=True))


# The reference ids a click or conversion is attributed with, from stored facts:
# - partnership model: the campaign's default commission model (CPC -> 3 "CPC", a
#   percentage or fixed CPA -> 2 "CPA", the seed's sample);
# - traffic source: the link's `utm_medium` when it names one of the reference sources
#   (display, social, email), else 3 "Affiliate" (the network's own channel, the seed's);
# - user context: 2 "Web" (a browser followed the link; the operator feed may say 3 "App");
# - conversion type / metric: the campaign's tracked conversion type (sale -> type 1
#   "standard" / metric 2 "Standard", lead -> type 2 "lead" / metric 4 "Lead");
# - `type`: "standard", the only click type the seed names.
TRAFFIC_SOURCES_BY_MEDIUM = {"display": "2", "social": "4", "email": "5"}
CONVERSION_TYPE_IDS = {"sale": ("1", "2"), "lead": ("2", "4")}
ATTRIBUTION_FIELDS = ("partnership_model_id", "traffic_source_id", "user_context_id")


def click_attribution(
    campaign: Mapping[str, Any] | None, params: Sequence[Mapping[str, Any]] = ()
) -> dict[str, str]:
    """Partnership model, traffic source and user context of a click on `campaign` through
    a link with `params` (see above)."""
    model = str(((campaign or {}).get("default_commission") or {}).get("model", "percentage"))
    medium = next((str(p["value"]).strip().lower() for p in params
                   if p.get("key") == "utm_medium"), "")  # fmt: skip
    return {
        "partnership_model_id": "3" if model == "cpc" else "2",
        "traffic_source_id": TRAFFIC_SOURCES_BY_MEDIUM.get(medium, "3"),
        "user_context_id": "2",
    }


def conversion_attribution(
    campaign: Mapping[str, Any] | None, click: Mapping[str, Any] | None
) -> dict[str, str]:
    """A conversion's reference ids: its click's (or the campaign's, without a click) and the
    campaign's conversion type and metric."""
    base = (
        {f: str(click.get(f, "")) for f in ATTRIBUTION_FIELDS} if click
        else click_attribution(campaign)
    )  # fmt: skip
    kind = str(((campaign or {}).get("tracking") or {}).get("conversion_type", "sale"))
    type_id, metric_id = CONVERSION_TYPE_IDS.get(kind, CONVERSION_TYPE_IDS["sale"])
    return {**base, "conversion_type_id": type_id, "conversion_metric_id": metric_id,
            "type": "standard"}  # fmt: skip


def click_dimension_fields(
    user_agent: str,
    campaign: Mapping[str, Any] | None = None,
    params: Sequence[Mapping[str, Any]] = (),
) -> dict[str, str]:
    """Dimension fields stored on a click: its user agent's browser / OS and attribution."""
    return {**agent_fields(user_agent), **click_attribution(campaign, params)}


def conversion_dimension_fields(
    click: Mapping[str, Any] | None, campaign: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Dimension fields stored on a conversion: the attributed click's browser / OS and the
    attribution above."""
    agent = {f: str(click.get(f, "")) if click else "" for f in AGENT_FIELDS}
    return {**agent, **conversion_attribution(campaign, click)}
