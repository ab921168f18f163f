"""Partner analytics: validate a request, run it, shape the rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput
from gateway.storage.mongo import Database
from loaders import affiliate as data
from loaders.affiliate import AnalyticsFilter, AnalyticsSpec
from loaders.affiliate import dimensions as catalogue
from loaders.base import utcnow
from resolvers.affiliate.common import partner_for

# --- analytics -----------------------------------------------------------------------

SHAPES = ("COUNT", "EXPLODE", "TIMESERIES")
DIRECTIONS = ("ASCENDING", "DESCENDING")
MAX_TOP = 50_000
# Metrics computed from money amounts: never added across currencies.
CURRENCY_METRICS = catalogue.MONEY_METRICS | {
    "percentage_average_partner_commission", "percentage_order_value",
    "percentage_partner_commission",
}  # fmt: skip


@dataclass
class AnalyticsRequest:
    """Raw analytics arguments, as sent."""

    shape: str
    metrics: Sequence[str]
    group_by: Sequence[str]
    filter_by: Sequence[tuple[str, str, Sequence[str], bool]]
    date_ranges: Sequence[tuple[str, str]]
    text_date: str | None
    interval: str | None
    timezone: str | None
    currency: str | None
    order_by: Sequence[tuple[str, str]]
    top: int | None
    zerofill: bool
    output_currency: str | None = None
    compare_date_ranges: Sequence[tuple[str, str]] = ()
    compare_previous: bool = False


@dataclass
class AnalyticsOutcome:
    """Result rows with the settings they were computed with."""

    rows: list[data.AnalyticsRow]
    total_row_count: int
    timezone: str
    interval: str | None
    currency: str | None
    start: datetime
    end: datetime
    output_currency: str | None = None


def _local_moment(value: str, tz: Any, end: bool, field: str = "dateRanges") -> datetime:
    """A range bound: with offset as given; naive in `tz`; a date-only end includes that day."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return data.local_midnight(day + timedelta(days=1) if end else day, tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadUserInput(f"not an ISO-8601 date or date-time: {value!r}",
                           field=field) from None  # fmt: skip
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _check_names(names: Sequence[str], known: Sequence[str], what: str, field: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name not in known:
            raise BadUserInput(f"unknown {what} {name!r}", field=field, value=name)
        if name in seen:
            raise BadUserInput(f"{what} {name!r} given twice", field=field, value=name)
        seen.add(name)


async def partner_analytics(
    info: Info, partner_id: str | None, req: AnalyticsRequest
) -> AnalyticsOutcome:
    scope = info.context.scope
    db = info.context.db
    pid = partner_for(scope, partner_id)
    if req.shape not in SHAPES:
        raise BadUserInput(f"unknown shape {req.shape!r}", field="shape")
    if not req.metrics:
        raise BadUserInput("at least one metric", field="metrics")
    _check_names(req.metrics, data.METRICS, "metric", "metrics")
    _check_names(req.group_by, list(data.DIMENSIONS), "dimension", "groupBy")
    sources = {catalogue.metric_source(m) for m in req.metrics}
    dims = [data.DIMENSIONS[n] for n in req.group_by]
    if req.shape == "COUNT" and dims:
        raise BadUserInput("COUNT takes no groupBy", field="groupBy")
    if req.shape == "TIMESERIES" and dims:
        raise BadUserInput("TIMESERIES groups by time only", field="groupBy")
    if req.shape == "EXPLODE" and not dims:
        raise BadUserInput("EXPLODE needs at least one dimension", field="groupBy")
    for dim in dims:
        if not sources <= dim.sources:
            raise BadUserInput(
                f"dimension {dim.name!r} does not apply to the requested metrics "
                f"({', '.join(sorted(sources - dim.sources))} have no {dim.name})",
                field="groupBy", value=dim.name,
            )  # fmt: skip
    filters = _filters(req, sources)
    tz_name = req.timezone if req.timezone is not None else await data.reporting_timezone(db, pid)
    tz = data.validate_timezone(tz_name)
    currency = data.validate_currency(req.currency) if req.currency is not None else None
    output = None
    if req.output_currency is not None:
        output = data.validate_currency(req.output_currency, field="outputCurrency")
    wants_money = any(m in CURRENCY_METRICS for m in req.metrics)
    if wants_money and currency is None and output is None and "currency" not in req.group_by:
        raise BadUserInput("money metrics need an outputCurrency, a currency filter or "
                           "groupBy currency", field="currency")  # fmt: skip
    ranges = await _ranges(db, pid, req, tz)
    interval = None
    if req.shape == "TIMESERIES" or "date_time" in req.group_by:
        interval = data.parse_interval(
            req.interval or "P1D", tz, await data.week_start_index(db, pid)
        )
    elif req.interval is not None:
        data.parse_interval(req.interval, tz)  # validated even when unused
    order = _order(req, dims)
    top = req.top if req.top is not None else 10_000
    if not 1 <= top <= MAX_TOP:
        raise BadUserInput(f"must be between 1 and {MAX_TOP}", field="top")
    spec = AnalyticsSpec(pid, list(req.metrics), dims, filters, ranges, interval, currency,
                         output)  # fmt: skip
    rows = await data.run_analytics(db, scope, spec)
    total = len(rows)
    shaped = _shape(req, spec, rows, order)[:top] if req.shape == "EXPLODE" else _shape(
        req, spec, rows, order
    )
    compare = await _compare_ranges(req, ranges, tz)
    if compare is not None:
        before = _shape(req, replace(spec, ranges_ms=compare),
                        await data.run_analytics(db, scope, replace(spec, ranges_ms=compare)),
                        order)  # fmt: skip
        _attach_previous(req.shape, shaped, before)
    rows = shaped
    return AnalyticsOutcome(
        rows=rows, total_row_count=total, timezone=tz.key,
        interval=interval.period if interval else None,
        currency=currency, start=data.from_ms(ranges[0][0]), end=data.from_ms(ranges[-1][1]),
        output_currency=output,
    )  # fmt: skip


def _shape(req: AnalyticsRequest, spec: AnalyticsSpec, rows: list[data.AnalyticsRow],
           order: Sequence[tuple[str, bool]]) -> list[data.AnalyticsRow]:  # fmt: skip
    if req.shape == "COUNT":
        return rows or [data.empty_row(spec, None)]
    if req.shape == "TIMESERIES" and spec.interval is not None:
        by_bucket = {row.bucket: row for row in rows}
        if req.zerofill:
            buckets = data.interval_buckets(spec.interval, spec.ranges_ms)
            return [by_bucket.get(b) or data.empty_row(spec, b) for b in buckets]
        return sorted(rows, key=lambda r: data.to_ms(r.bucket) if r.bucket else 0)
    return _sorted(rows, order)


async def _compare_ranges(req: AnalyticsRequest, ranges: list[tuple[int, int]],
                          tz: Any) -> list[tuple[int, int]] | None:  # fmt: skip
    if req.compare_previous and req.compare_date_ranges:
        raise BadUserInput("give either comparePrevious or compareDateRanges",
                           field="compareDateRanges")  # fmt: skip
    if req.compare_previous:
        span = ranges[-1][1] - ranges[0][0]
        return [(ranges[0][0] - span, ranges[0][0])]
    if not req.compare_date_ranges:
        return None
    if len(req.compare_date_ranges) > 20:
        raise BadUserInput("at most 20 date ranges", field="compareDateRanges")
    out: list[tuple[int, int]] = []
    for start, end in req.compare_date_ranges:
        lo = _local_moment(start, tz, end=False, field="compareDateRanges")
        hi = _local_moment(end, tz, end=True, field="compareDateRanges")
        if lo >= hi:
            raise BadUserInput("each range must end after it starts", field="compareDateRanges")
        out.append((data.to_ms(lo), data.to_ms(hi)))
    return data.merge_ranges(out)


def _attach_previous(shape: str, rows: list[data.AnalyticsRow],
                     before: list[data.AnalyticsRow]) -> None:  # fmt: skip
    """Previous-period metrics per row: COUNT the one row, TIMESERIES the bucket at the same
    position, EXPLODE the row with the same dimension values (zero when it has none)."""
    by_key = {tuple(r.dimensions.values()): r.metrics for r in before}
    for i, row in enumerate(rows):
        if shape == "EXPLODE":
            found = by_key.get(tuple(row.dimensions.values()))
        else:
            found = before[i].metrics if i < len(before) else None
        row.previous = found if found is not None else dict.fromkeys(row.metrics, 0.0)


def _filters(req: AnalyticsRequest, sources: set[str]) -> list[AnalyticsFilter]:
    filters: list[AnalyticsFilter] = []
    for name, operator, values, negate in req.filter_by:
        dim = data.FILTER_FIELDS.get(name)
        if dim is None:
            raise BadUserInput(f"unknown filter field {name!r}", field="filterBy", value=name)
        if not sources <= dim.sources:
            raise BadUserInput(f"filter field {name!r} does not apply to the requested metrics",
                               field="filterBy", value=name)  # fmt: skip
        op = operator.strip().upper()
        if op not in data.FILTER_OPERATORS:
            raise BadUserInput(f"unknown operator {operator!r}", field="filterBy", value=operator)
        if not 1 <= len(values) <= 100:
            raise BadUserInput("a filter takes 1 to 100 values", field="filterBy")
        texts = tuple(str(v) for v in values)
        if dim.numeric and (op.endswith("CONTAINS") or not all(_is_int(v) for v in texts)):
            raise BadUserInput(f"filter field {name!r} takes integer ids (no CONTAINS)",
                               field="filterBy", value=name)  # fmt: skip
        filters.append(AnalyticsFilter(dim, op, texts, bool(negate)))
    return filters


def _is_int(text: str) -> bool:
    return text.strip().lstrip("-").isdigit() and len(text) <= 18


async def _ranges(db: Database, pid: str, req: AnalyticsRequest, tz: Any) -> list[tuple[int, int]]:
    if req.text_date is not None and req.date_ranges:
        raise BadUserInput("give either textDate or dateRanges", field="textDate")
    if req.text_date is not None or not req.date_ranges:
        lo, hi = data.text_date_range(req.text_date or "last 30 days", tz, utcnow(),
                                      await data.week_start_index(db, pid))  # fmt: skip
        return [(data.to_ms(lo), data.to_ms(hi))]
    if len(req.date_ranges) > 20:
        raise BadUserInput("at most 20 date ranges", field="dateRanges")
    ranges: list[tuple[int, int]] = []
    for start, end in req.date_ranges:
        lo = _local_moment(start, tz, end=False)
        hi = _local_moment(end, tz, end=True)
        if lo >= hi:
            raise BadUserInput("each range must end after it starts", field="dateRanges")
        if hi - lo > (data.from_ms(366 * 5 * 86_400_000) - data.from_ms(0)):
            raise BadUserInput("a range spans at most five years", field="dateRanges")
        ranges.append((data.to_ms(lo), data.to_ms(hi)))
    return data.merge_ranges(ranges)


def _order(req: AnalyticsRequest, dims: Sequence[data.Dimension]) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    names = {d.name for d in dims}
    for name, direction in req.order_by:
        if name not in req.metrics and name not in names:
            raise BadUserInput(f"cannot order by {name!r}: not a requested metric or dimension",
                               field="orderBy", value=name)  # fmt: skip
        flag = direction.strip().upper()
        if flag not in DIRECTIONS:
            raise BadUserInput(f"unknown direction {direction!r}", field="orderBy",
                               value=direction)  # fmt: skip
        order.append((name, flag == "DESCENDING"))
    return order


def _sorted(
    rows: list[data.AnalyticsRow], order: Sequence[tuple[str, bool]]
) -> list[data.AnalyticsRow]:
    # Dimension values first (a stable base order), then stable sorts from the last key.
    rows = sorted(rows, key=lambda r: tuple(r.dimensions.values()))
    for name, descending in reversed(order):
        if rows and name in rows[0].metrics:
            rows = sorted(rows, key=lambda r, n=name: r.metrics[n], reverse=descending)  # type: ignore[misc]
        else:
            rows = sorted(rows, key=lambda r, n=name: r.dimensions[n], reverse=descending)  # type: ignore[misc]
    return rows


# The metric that finds the values a dimension takes in a source (rows exist only where
# the source has documents).
PRESENCE_METRIC = {
    catalogue.CLICKS: "total_clicks",
    catalogue.CONVERSIONS: "total_conversions",
    catalogue.IMPRESSIONS: "total_impressions",
}


async def partner_analytics_filter(
    info: Info, partner_id: str | None, source: str, req: AnalyticsRequest
) -> AnalyticsOutcome:
    """The seed's filter endpoint: the values the `group_by` dimensions take in `source`
    within the ranges (and filters). Metrics come back only for metrics sorted by."""
    if source not in PRESENCE_METRIC:
        raise BadUserInput(f"unknown data source {source!r}", field="dataSource")
    sorted_by = [name for name, _ in req.order_by if name in data.METRICS]
    for name in sorted_by:
        if catalogue.metric_source(name) != source:
            raise BadUserInput(f"cannot order by {name!r}: not a metric of {source}",
                               field="orderBy", value=name)  # fmt: skip
    if not req.group_by:
        raise BadUserInput("name at least one dimension", field="groupBy")
    presence = PRESENCE_METRIC[source]
    metrics = list(dict.fromkeys([*sorted_by, presence]))
    outcome = await partner_analytics(
        info, partner_id, replace(req, shape="EXPLODE", metrics=metrics)
    )
    for row in outcome.rows:
        row.metrics = {m: v for m, v in row.metrics.items() if m in sorted_by}
    return outcome
