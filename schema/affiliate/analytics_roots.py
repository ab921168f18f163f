"""Root fields of the analytics sub-domain beyond `partnerAnalytics`: the filter endpoint
(the values a dimension takes) and the reference data."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any
from zoneinfo import available_timezones

import strawberry

from gateway.context import Info
from loaders import affiliate as data
from loaders.affiliate.brands import partner_brands
from resolvers.affiliate import analytics as resolve
from resolvers.affiliate.common import partner_for
from schema.affiliate.analytics import (
    AnalyticsFilterInput,
    AnalyticsOrderInput,
    AnalyticsResult,
    DateRangeInput,
    _row,
)
from schema.affiliate.common import (
    PARTNER_ID_HELP,
    READ,
    CurrencyFilterArgument,
    OutputCurrencyArgument,
)
from schema.affiliate.types import AnalyticsShape, Brand
from schema.connection import Connection
from schema.partners import Vertical


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
        currency: CurrencyFilterArgument = None,
        output_currency: OutputCurrencyArgument = None,
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


# --- reference data (the seed's /reference/* endpoints) --------------------------------


@strawberry.type(description="One entry of a reference list (the seed's `ref_*_id` values).")
class ReferenceEntry:
    id: strawberry.ID = strawberry.field(description="Id, as the analytics `_id` values.")
    title: str = strawberry.field(description="Title (the analytics label).")
    description: str = strawberry.field(description="Description.")


@strawberry.type(description="An ISO 4217 currency.")
class ReferenceCurrency:
    code: str = strawberry.field(description="ISO 4217 code.")
    exponent: int = strawberry.field(description="Minor-unit digits (money is stored in them).")


def _entries(name: str) -> list[ReferenceEntry]:
    return [ReferenceEntry(id=strawberry.ID(e.id), title=e.title, description=e.description)
            for e in data.REFERENCE_LISTS[name]]  # fmt: skip


@strawberry.type(description="The affiliate network's reference data (the seed's /reference/*).")
class AffiliateReference:
    @strawberry.field(description="ISO 3166-1 alpha-2 country codes (/reference/country).")
    def countries(self) -> list[str]:
        return sorted(data.COUNTRIES)

    @strawberry.field(description="ISO 4217 currencies (/reference/currency).")
    def currencies(self) -> list[ReferenceCurrency]:
        return [ReferenceCurrency(code=c, exponent=data.currency_exponent(c))
                for c in sorted(data.CURRENCIES)]  # fmt: skip

    @strawberry.field(description="IANA timezones accepted as `timezone` (/reference/timezone).")
    def timezones(self) -> list[str]:
        return sorted(available_timezones())

    @strawberry.field(description="Market verticals of brands, websites and partners.")
    def verticals(self) -> list[Vertical]:
        return list(Vertical)

    @strawberry.field(description="Locales of profiles and terms.")
    def locales(self) -> list[str]:
        return sorted(data.LOCALES)

    @strawberry.field(description="Device classes (/reference/devices; ids are the names).")
    def devices(self) -> list[ReferenceEntry]:
        return _entries("device")

    @strawberry.field(description="Partnership models (/reference/partnership_model).")
    def partnership_models(self) -> list[ReferenceEntry]:
        return _entries("partnership_model")

    @strawberry.field(description="Traffic sources (/reference/traffic_source).")
    def traffic_sources(self) -> list[ReferenceEntry]:
        return _entries("traffic_source")

    @strawberry.field(description="User contexts (/reference/user_context).")
    def user_contexts(self) -> list[ReferenceEntry]:
        return _entries("user_context")

    @strawberry.field(description="Conversion types (/reference/conversion_type).")
    def conversion_types(self) -> list[ReferenceEntry]:
        return _entries("conversion_type")

    @strawberry.field(description="Conversion metrics (/reference/conversion_metric).")
    def conversion_metrics(self) -> list[ReferenceEntry]:
        return _entries("conversion_metric")

    @strawberry.field(description="Conversion statuses (filter values without an endpoint).")
    def conversion_statuses(self) -> list[str]:
        return list(data.CONVERSION_STATUSES)

    @strawberry.field(description="Voucher statuses (filter values without an endpoint).")
    def voucher_statuses(self) -> list[str]:
        return list(data.VOUCHER_STATUSES)


@strawberry.type
class ReferenceQuery:
    @strawberry.field(
        description="The network's reference data: countries, currencies, timezones, "
        "verticals, locales, devices, partnership models, traffic sources, user contexts, "
        "conversion types / metrics / statuses, voucher statuses.",
        extensions=READ,
    )
    def affiliate_reference(self) -> AffiliateReference:
        return AffiliateReference()


@strawberry.type(description="A brand the partner is associated with (through participations).")
class PartnerBrand:
    brand_id: strawberry.Private[str]
    blocked: bool = strawberry.field(
        description="Every participation of the partner with this brand was rejected."
    )

    @strawberry.field(description="The brand (batched).")
    async def brand(self, info: Info) -> Brand | None:
        doc = await info.context.loaders.get(data.BrandByIdLoader).load(self.brand_id)
        return Brand.from_doc(doc) if doc else None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PartnerBrand:
        return cls(brand_id=str(row["_id"]), blocked=bool(row["blocked"]))


@strawberry.type
class BrandsQuery:
    @strawberry.field(
        description="The brands of every campaign the partner has a participation on, by id "
        "(`brandIds` narrows them).",
        extensions=READ,
    )
    async def partner_brands(
        self,
        info: Info,
        partner_id: Annotated[
            strawberry.ID | None, strawberry.argument(description=PARTNER_ID_HELP)
        ] = None,
        brand_ids: list[strawberry.ID] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PartnerBrand]:
        ctx = info.context
        pid = partner_for(ctx.scope, partner_id)
        page = await partner_brands(ctx.db, ctx.scope, pid, [str(b) for b in brand_ids or []],
                                    first, after)  # fmt: skip
        return Connection.of(page, PartnerBrand.from_row)
