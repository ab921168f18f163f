"""Partner analytics: metrics, dimensions, filters and the aggregation pipelines."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.storage.mongo import Database
from loaders.affiliate.common import owned
from loaders.affiliate.dates import Interval, from_ms
from loaders.affiliate.reference import currency_exponent
from loaders.base import (
    Scope,
    match_stage,
)

# --- analytics -----------------------------------------------------------------------

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
)
MONEY_METRICS = frozenset({"total_order_value", "average_order_value", "total_partner_commission"})
METRICS = CLICK_METRICS + CONVERSION_METRICS


@dataclass(frozen=True)
class Dimension:
    """A groupable / filterable attribute: its stored field and which sources have it."""

    name: str
    field: str
    clicks: bool = True
    conversions: bool = True


DIMENSIONS = {
    d.name: d
    for d in (
        Dimension("campaign", "campaign_id"),
        Dimension("brand", "brand_id"),
        Dimension("country", "country"),
        Dimension("device", "device"),
        Dimension("publisher_reference", "publisher_reference"),
        Dimension("currency", "currency", clicks=False),
        Dimension("conversion_status", "status", clicks=False),
        Dimension("customer_type", "customer_type", clicks=False),
        Dimension("date_time", "slot"),
    )
}
FILTER_FIELDS = {
    **{name: d for name, d in DIMENSIONS.items() if name != "date_time"},
    "campaign_id": DIMENSIONS["campaign"],
    "brand_id": DIMENSIONS["brand"],
    "device_id": DIMENSIONS["device"],
}
FILTER_OPERATORS = ("EQUALS", "NOT_EQUALS", "IN", "NOT_IN", "CONTAINS", "NOT_CONTAINS")
_SEP = "\x1f"  # unit separator: validated text never contains control characters


@dataclass(frozen=True)
class AnalyticsFilter:
    """One validated `filterBy` condition."""

    dimension: Dimension
    operator: str
    values: tuple[str, ...]
    negate: bool = False

    def to_query(self) -> dict[str, Any]:
        negative = self.operator.startswith("NOT_") != self.negate
        if self.operator.endswith("CONTAINS"):
            pattern = {"$regex": "|".join(re.escape(v) for v in self.values), "$options": "i"}
            # `$nor`, not `$not`: the embedded store has no `$not` (and they agree on MongoDB).
            cond = {self.dimension.field: pattern}
            return {"$nor": [cond]} if negative else cond
        op = "$nin" if negative else "$in"
        return {self.dimension.field: {op: list(self.values)}}


@dataclass
class AnalyticsSpec:
    """A validated analytics request."""

    partner_id: str
    metrics: list[str]
    dimensions: list[Dimension]
    filters: list[AnalyticsFilter]
    ranges_ms: list[tuple[int, int]]
    interval: Interval | None
    currency: str | None = None


@dataclass
class _Acc:
    clicks: int = 0
    converted: int = 0
    cookies: set[str] = field(default_factory=set)
    conversions: int = 0
    items: int = 0
    value: int = 0
    commission: int = 0
    rejected: int = 0


@dataclass
class AnalyticsRow:
    """One result row: dimension values by name, metric values, bucket start (if any)."""

    dimensions: dict[str, str]
    metrics: dict[str, float]
    bucket: datetime | None = None


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _pipeline(
    spec: AnalyticsSpec, dims: Sequence[Dimension], conversions: bool, unique: bool
) -> list[dict[str, Any]]:
    in_ranges = {"$or": [{"ts": {"$gte": s, "$lt": e}} for s, e in spec.ranges_ms]}
    conditions = [f.to_query() for f in spec.filters]
    if conversions and spec.currency is not None:
        conditions.append({"currency": spec.currency})
    # One string key: the embedded store does not evaluate field paths inside a
    # document-valued `$group._id` (see README), `$concat` works on both.
    parts: list[Any] = []
    for i, dim in enumerate(dims):
        if i:
            parts.append(_SEP)
        parts.append({"$toString": f"${dim.field}"} if dim.field == "slot" else f"${dim.field}")
    group: dict[str, Any] = {"_id": {"$concat": parts} if parts else None}
    if conversions:
        group.update(
            n={"$sum": 1}, items={"$sum": {"$size": "$items"}}, value={"$sum": "$value"},
            commission={"$sum": "$commission"}, rejected={"$sum": "$rejected"},
        )  # fmt: skip
    else:
        group.update(n={"$sum": 1}, converted={"$sum": "$converted"})
        if unique:
            group["cookies"] = {"$addToSet": "$cookie_id"}
    return [match_stage({"partner_id": spec.partner_id}, in_ranges, *conditions), {"$group": group}]


def _metric(name: str, acc: _Acc, exponent: int) -> float:
    scale = float(10**exponent)
    values: dict[str, float] = {
        "total_clicks": acc.clicks,
        "total_unique_clicks": len(acc.cookies),
        "total_clicks_converted": acc.converted,
        "click_conversion_rate": acc.converted / acc.clicks if acc.clicks else 0.0,
        "total_conversions": acc.conversions,
        "total_conversion_items": acc.items,
        "total_order_value": acc.value / scale,
        "average_order_value": acc.value / scale / acc.conversions if acc.conversions else 0.0,
        "total_partner_commission": acc.commission / scale,
        "conversion_rejection_rate": acc.rejected / acc.conversions if acc.conversions else 0.0,
    }
    return float(values[name])


async def run_analytics(db: Database, scope: Scope, spec: AnalyticsSpec) -> list[AnalyticsRow]:
    """Aggregate clicks and/or conversions by the spec's dimensions (and interval buckets).

    MongoDB groups by the stored dimension fields and 15-minute slots; Python folds the
    slots into local buckets and combines the two sources on equal dimension values.
    """
    owned(scope, spec.partner_id)
    want_clicks = any(m in CLICK_METRICS for m in spec.metrics)
    want_conversions = any(m in CONVERSION_METRICS for m in spec.metrics)
    unique = "total_unique_clicks" in spec.metrics
    names = [d.name for d in spec.dimensions]
    stored = list(spec.dimensions)
    if spec.interval is not None and "date_time" not in names:
        stored.append(DIMENSIONS["date_time"])
    accs: dict[tuple[tuple[str, ...], datetime | None], _Acc] = {}

    async def fold(conversions: bool) -> None:
        collection = db.affiliate_conversions if conversions else db.affiliate_clicks
        pipeline = _pipeline(spec, stored, conversions, unique)
        async for row in await collection.aggregate(pipeline):
            values = str(row["_id"]).split(_SEP) if stored else []
            by_name = dict(zip([d.name for d in stored], values, strict=True))
            bucket = None
            if spec.interval is not None:
                bucket = spec.interval.floor(from_ms(int(by_name["date_time"])))
                by_name["date_time"] = bucket.astimezone(spec.interval.tz).isoformat()
            key = (tuple(by_name[n] for n in names), bucket)
            acc = accs.setdefault(key, _Acc())
            if conversions:
                acc.conversions += int(row["n"])
                acc.items += int(row["items"])
                acc.value += int(row["value"])
                acc.commission += int(row["commission"])
                acc.rejected += int(row["rejected"])
            else:
                acc.clicks += int(row["n"])
                acc.converted += int(row["converted"])
                if unique:
                    acc.cookies.update(str(c) for c in row["cookies"])

    if want_clicks:
        await fold(conversions=False)
    if want_conversions:
        await fold(conversions=True)
    rows: list[AnalyticsRow] = []
    for (values, bucket), acc in accs.items():
        dims = dict(zip(names, values, strict=True))
        currency = dims.get("currency") or spec.currency or "USD"
        exponent = currency_exponent(currency)
        metrics = {m: _metric(m, acc, exponent) for m in spec.metrics}
        rows.append(AnalyticsRow(dimensions=dims, metrics=metrics, bucket=bucket))
    return rows


def interval_buckets(interval: Interval, ranges_ms: Sequence[tuple[int, int]]) -> list[datetime]:
    """Every bucket start overlapping any range, chronologically (for zero filling)."""
    starts: set[datetime] = set()
    for start_ms, end_ms in ranges_ms:
        end = from_ms(end_ms)
        bucket = interval.floor(from_ms(start_ms))
        while bucket < end and len(starts) <= 50_000:
            starts.add(bucket)
            bucket = interval.next(bucket)
    return sorted(starts)


def empty_row(spec: AnalyticsSpec, bucket: datetime | None) -> AnalyticsRow:
    exponent = currency_exponent(spec.currency or "USD")
    return AnalyticsRow(
        dimensions={},
        metrics={m: _metric(m, _Acc(), exponent) for m in spec.metrics},
        bucket=bucket,
    )


def day_string(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
