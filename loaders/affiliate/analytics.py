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
from loaders.affiliate.dimensions import (
    CLICK_METRICS,
    CLICKS,
    CONVERSION_METRICS,
    CONVERSIONS,
    DIMENSIONS,
    FILTER_FIELDS,
    IMPRESSION_METRICS,
    IMPRESSIONS,
    METRICS,
    MONEY_METRICS,
    Dimension,
    metric_source,
)
from loaders.affiliate.rates import load_rates
from loaders.affiliate.reference import currency_exponent
from loaders.base import (
    Scope,
    match_stage,
)

__all__ = [
    "CLICK_METRICS",
    "CONVERSION_METRICS",
    "DIMENSIONS",
    "FILTER_FIELDS",
    "IMPRESSION_METRICS",
    "METRICS",
    "MONEY_METRICS",
    "AnalyticsFilter",
    "AnalyticsRow",
    "AnalyticsSpec",
    "Dimension",
    "day_string",
    "empty_row",
    "interval_buckets",
    "merge_ranges",
    "run_analytics",
]

# --- analytics -----------------------------------------------------------------------

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
            cond = {self.dimension.path: pattern}
            return {"$nor": [cond]} if negative else cond
        op = "$nin" if negative else "$in"
        values: list[Any] = list(self.values)
        if self.dimension.numeric:
            values = [int(v) for v in values]  # validated as integers by the resolver
        return {self.dimension.path: {op: values}}


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
    output_currency: str | None = None


@dataclass
class _Acc:
    clicks: int = 0
    converted: int = 0
    cookies: set[str] = field(default_factory=set)
    conversions: int = 0
    conversion_ids: set[str] = field(default_factory=set)
    rejected_ids: set[str] = field(default_factory=set)
    items: int = 0
    value: float = 0.0  # major units of the row's currency
    commission: float = 0.0
    rejected: int = 0
    impressions: int = 0

    def conversion_count(self) -> int:
        return self.conversions + len(self.conversion_ids)

    def rejected_count(self) -> int:
        return self.rejected + len(self.rejected_ids)


@dataclass
class AnalyticsRow:
    """One result row: dimension values by name, metric values, bucket start (if any)."""

    dimensions: dict[str, str]
    metrics: dict[str, float]
    bucket: datetime | None = None
    previous: dict[str, float] | None = None  # the comparison period's metrics, if asked


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _key_part(dim: Dimension) -> Any:
    # Missing fields group under "" ($concat of null is null on MongoDB).
    value: Any = {"$ifNull": [f"${dim.path}", ""]}
    return {"$toString": value} if dim.numeric else value


def per_item(spec: AnalyticsSpec, dims: Sequence[Dimension]) -> bool:
    """Conversions are counted per item line when a dimension or filter lives on items."""
    return any(d.item for d in dims) or any(f.dimension.item for f in spec.filters)


def _pipeline(spec: AnalyticsSpec, dims: Sequence[Dimension], source: str,
              unique: bool) -> list[dict[str, Any]]:  # fmt: skip
    in_ranges = {"$or": [{"ts": {"$gte": s, "$lt": e}} for s, e in spec.ranges_ms]}
    items = source == CONVERSIONS and per_item(spec, dims)
    conditions = [f.to_query() for f in spec.filters if not f.dimension.item]
    if source == CONVERSIONS and spec.currency is not None:
        conditions.append({"currency": spec.currency})
    stages: list[dict[str, Any]] = [
        match_stage({"partner_id": spec.partner_id}, in_ranges, *conditions)
    ]
    if items:
        stages.append({"$unwind": "$items"})
        item_filters = [f.to_query() for f in spec.filters if f.dimension.item]
        if item_filters:
            stages.append(match_stage(*item_filters))
    # One string key: the embedded store does not evaluate field paths inside a
    # document-valued `$group._id` (see README), `$concat` works on both.
    parts: list[Any] = []
    for i, dim in enumerate(dims):
        if i:
            parts.append(_SEP)
        parts.append(_key_part(dim))
    group: dict[str, Any] = {"_id": {"$concat": parts} if parts else None}
    if items:
        group.update(
            ids={"$addToSet": "$_id"}, items={"$sum": 1}, value={"$sum": "$items.value"},
            commission={"$sum": "$items.commission"},
            rejected_ids={"$addToSet": {"$cond": [{"$eq": ["$rejected", 1]}, "$_id", ""]}},
        )  # fmt: skip
    elif source == CONVERSIONS:
        group.update(
            n={"$sum": 1}, items={"$sum": {"$size": "$items"}}, value={"$sum": "$value"},
            commission={"$sum": "$commission"}, rejected={"$sum": "$rejected"},
        )  # fmt: skip
    elif source == IMPRESSIONS:
        group.update(n={"$sum": "$count"})
    else:
        group.update(n={"$sum": 1}, converted={"$sum": "$converted"})
        if unique:
            group["cookies"] = {"$addToSet": "$cookie_id"}
    return [*stages, {"$group": group}]


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _metric(name: str, acc: _Acc, totals: dict[str, float]) -> float:
    n = acc.conversion_count()
    values: dict[str, float] = {
        "total_clicks": acc.clicks,
        "total_unique_clicks": len(acc.cookies),
        "total_clicks_converted": acc.converted,
        "click_conversion_rate": _ratio(acc.converted, acc.clicks),
        "total_conversions": n,
        "total_conversion_items": acc.items,
        "total_order_value": acc.value,
        "average_order_value": _ratio(acc.value, n),
        "total_partner_commission": acc.commission,
        "conversion_rejection_rate": _ratio(acc.rejected_count(), n),
        "average_order_size": _ratio(acc.items, n),
        "average_partner_commission": _ratio(acc.commission, n),
        "percentage_average_partner_commission": _ratio(acc.commission, acc.value),
        "percentage_order_value": _ratio(acc.value, totals.get("value", 0)),
        "percentage_partner_commission": _ratio(acc.commission, totals.get("commission", 0)),
        "total_impressions": acc.impressions,
    }
    return float(values[name])


async def run_analytics(db: Database, scope: Scope, spec: AnalyticsSpec) -> list[AnalyticsRow]:
    """Aggregate clicks, conversions and/or impressions by the spec's dimensions (and
    interval buckets).

    MongoDB groups by the stored dimension fields and 15-minute slots; Python folds the
    slots into local buckets and combines the sources on equal dimension values.
    """
    owned(scope, spec.partner_id)
    sources = {metric_source(m) for m in spec.metrics}
    unique = "total_unique_clicks" in spec.metrics
    names = [d.name for d in spec.dimensions]
    stored = list(spec.dimensions)
    if spec.interval is not None and "date_time" not in names:
        stored.append(DIMENSIONS["date_time"])
    hidden: list[Dimension] = []
    if spec.output_currency is not None and CONVERSIONS in sources:
        # Amounts convert per currency and day: group by both, fold them away below.
        hidden = [Dimension("_currency", "currency"), Dimension("_day", "day")]
    accs: dict[tuple[tuple[str, ...], datetime | None], _Acc] = {}
    converting: list[tuple[_Acc, str, str, int, int]] = []
    collections = {
        CLICKS: db.affiliate_clicks,
        CONVERSIONS: db.affiliate_conversions,
        IMPRESSIONS: db.affiliate_impressions,
    }

    async def fold(source: str) -> None:
        keyed = stored + hidden if source == CONVERSIONS else stored
        pipeline = _pipeline(spec, keyed, source, unique)
        async for row in await collections[source].aggregate(pipeline):
            values = str(row["_id"]).split(_SEP) if keyed else []
            by_name = dict(zip([d.name for d in keyed], values, strict=True))
            bucket = None
            if spec.interval is not None:
                bucket = spec.interval.floor(from_ms(int(by_name["date_time"])))
                by_name["date_time"] = bucket.astimezone(spec.interval.tz).isoformat()
            key = (tuple(by_name[n] for n in names), bucket)
            acc = accs.setdefault(key, _Acc())
            if source == CONVERSIONS:
                if "ids" in row:
                    acc.conversion_ids.update(str(i) for i in row["ids"])
                    acc.rejected_ids.update(str(i) for i in row["rejected_ids"] if i)
                else:
                    acc.conversions += int(row["n"])
                    acc.rejected += int(row["rejected"])
                acc.items += int(row["items"])
                if hidden:
                    converting.append((acc, by_name["_currency"], by_name["_day"],
                                       int(row["value"]), int(row["commission"])))  # fmt: skip
                else:
                    scale = 10 ** currency_exponent(_row_currency(spec, by_name))
                    acc.value += int(row["value"]) / scale
                    acc.commission += int(row["commission"]) / scale
            elif source == IMPRESSIONS:
                acc.impressions += int(row["n"])
            else:
                acc.clicks += int(row["n"])
                acc.converted += int(row["converted"])
                if unique:
                    acc.cookies.update(str(c) for c in row["cookies"])

    for source in (CLICKS, CONVERSIONS, IMPRESSIONS):
        if source in sources:
            await fold(source)
    if converting and spec.output_currency is not None:
        to = spec.output_currency
        rates = await load_rates(db, [c[1] for c in converting] + [to], [c[2] for c in converting])
        for acc, currency, day, value, commission in converting:
            scale = 10 ** currency_exponent(currency)
            acc.value += rates.convert(value / scale, currency, day, to)
            acc.commission += rates.convert(commission / scale, currency, day, to)
    # Shares are of the request's total in the same currency (amounts are never added
    # across currencies).
    totals: dict[str, dict[str, float]] = {}
    for (values, _), acc in accs.items():
        currency = _row_currency(spec, dict(zip(names, values, strict=True)))
        sums = totals.setdefault(currency, {"value": 0.0, "commission": 0.0})
        sums["value"] += acc.value
        sums["commission"] += acc.commission
    rows: list[AnalyticsRow] = []
    for (values, bucket), acc in accs.items():
        dims = dict(zip(names, values, strict=True))
        currency = _row_currency(spec, dims)
        metrics = {m: _metric(m, acc, totals[currency]) for m in spec.metrics}
        rows.append(AnalyticsRow(dimensions=dims, metrics=metrics, bucket=bucket))
    return rows


def _row_currency(spec: AnalyticsSpec, dims: dict[str, str]) -> str:
    return spec.output_currency or dims.get("currency") or spec.currency or "USD"


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
    return AnalyticsRow(
        dimensions={},
        metrics={m: _metric(m, _Acc(), {}) for m in spec.metrics},
        bucket=bucket,
    )


def day_string(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
