"""Root fields of the analytics sub-domain beyond `partnerAnalytics`: the filter endpoint
(the values a dimension takes)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from gateway.context import Info
from loaders import affiliate as data
from resolvers.affiliate import analytics as resolve
from schema.affiliate.analytics import (
    AnalyticsFilterInput,
    AnalyticsOrderInput,
    AnalyticsResult,
    DateRangeInput,
    _row,
)
from schema.affiliate.common import PARTNER_ID_HELP, READ
from schema.affiliate.types import AnalyticsShape


@strawberry.enum(description="An analytics data source of the seed.")
class AnalyticsSource(Enum):
    CLICKS = "clicks"
    CONVERSIONS = "conversions"
    IMPRESSIONS = "impressions"


# The argument is `dataSource`, not `source`: strawberry's PermissionExtension calls the
# resolver with a positional `source` (the parent value), so an argument of that name
# collides with it (TypeError, "multiple values for argument 'source'").
@strawberry.type
class Query:
    @strawberry.field(
        description="The seed's filter endpoint: the values the `groupBy` dimensions take in "
        "one `dataSource` within the date ranges (and `filterBy`), for dropdowns. Rows carry "
        "metrics only for metrics named in `orderBy` (of that source); `top` ≤ 50,000, "
        "`totalRowCount` counts every value. Same names and rules as `partnerAnalytics`.",
        extensions=READ,
    )
    async def partner_analytics_filter(
        self,
        info: Info,
        data_source: AnalyticsSource,
        group_by: list[str],
        partner_id: Annotated[
            strawberry.ID | None, strawberry.argument(description=PARTNER_ID_HELP)
        ] = None,
        filter_by: list[AnalyticsFilterInput] | None = None,
        date_ranges: list[DateRangeInput] | None = None,
        text_date: str | None = None,
        interval: str | None = None,
        timezone: str | None = None,
        currency: str | None = None,
        output_currency: str | None = None,
        order_by: list[AnalyticsOrderInput] | None = None,
        top: int | None = None,
    ) -> AnalyticsResult:
        request = resolve.AnalyticsRequest(
            shape="EXPLODE", metrics=[], group_by=group_by,
            filter_by=[(f.field, f.operator, f.value, f.not_) for f in filter_by or []],
            date_ranges=[(r.start, r.end) for r in date_ranges or []], text_date=text_date,
            interval=interval, timezone=timezone, currency=currency,
            output_currency=output_currency,
            order_by=[(o.field, o.direction) for o in order_by or []], top=top,
            zerofill=False,
        )  # fmt: skip
        outcome = await resolve.partner_analytics_filter(
            info, partner_id, data_source.value, request
        )
        tz = data.validate_timezone(outcome.timezone)
        bucketed = data.Interval(outcome.interval, tz) if outcome.interval else None
        return AnalyticsResult(
            shape=AnalyticsShape.EXPLODE, timezone=outcome.timezone, interval=outcome.interval,
            currency=outcome.currency, output_currency=outcome.output_currency,
            start=outcome.start, end=outcome.end,
            rows=[_row(r, bucketed) for r in outcome.rows],
            total_row_count=outcome.total_row_count,
        )  # fmt: skip
