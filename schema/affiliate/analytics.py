"""Partner analytics: inputs and result types."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.context import Info
from loaders import affiliate as data
from schema.affiliate.types import AnalyticsShape

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
        description="A groupBy dimension except date_time, or one of its `_id` aliases "
        "(campaign_id, brand_id, device_id, creative_id, conversion_metric_id, "
        "conversion_type_id, partnership_model_id, traffic_source_id, user_context_id)."
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

    @strawberry.field(
        description="Display name: campaign title, brand name, reference title (partnership "
        "model, traffic source, user context, conversion type / metric); else the value."
    )
    async def label(self, info: Info) -> str:
        title = data.reference_title(self.name, self.value)
        if title is not None:
            return title
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
    previous: float | None = strawberry.field(
        default=None,
        description="The same metric in the comparison period (comparePrevious / "
        "compareDateRanges); null without a comparison.",
    )
    percentage_change: float | None = strawberry.field(
        default=None,
        description="(value - previous) / previous x 100, in percent (the seed's "
        "comparison percentage change); null without a comparison or when previous is 0.",
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
    output_currency: str | None = strawberry.field(
        description="Currency money metrics were converted into (exchange rate of each "
        "conversion's UTC day), when asked."
    )
    start: datetime = strawberry.field(description="Earliest range start (UTC).")
    end: datetime = strawberry.field(description="Latest range end (UTC).")
    rows: list[AnalyticsRow] = strawberry.field(description="Result rows.")
    total_row_count: int = strawberry.field(
        description="Rows the request has before `top` cuts them (the seed's X-Total-Row-Count)."
    )


def _metric(name: str, value: float, previous: dict[str, float] | None) -> AnalyticsMetric:
    if previous is None:
        return AnalyticsMetric(name=name, value=value)
    before = previous.get(name, 0.0)
    change = (value - before) / before * 100 if before else None
    return AnalyticsMetric(name=name, value=value, previous=before, percentage_change=change)


def _row(row: data.AnalyticsRow, interval: data.Interval | None) -> AnalyticsRow:
    end = interval.next(row.bucket) if interval and row.bucket else None
    local = row.bucket.astimezone(interval.tz).isoformat() if interval and row.bucket else None
    return AnalyticsRow(
        dimensions=[AnalyticsDimension(name=k, value=v) for k, v in row.dimensions.items()],
        metrics=[_metric(k, v, row.previous) for k, v in row.metrics.items()],
        date_time=row.bucket, date_time_end=end, local_date_time=local,
    )  # fmt: skip
