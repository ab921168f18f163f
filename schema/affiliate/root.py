"""Affiliate root fields (`Query`, `Mutation`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.core.errors import BadUserInput, NotFound
from gateway.core.ids import parse_id
from loaders import affiliate as data
from loaders.affiliate.events import unique_click_count
from loaders.affiliate.profile import WebsiteByIdLoader
from resolvers import affiliate as resolve
from schema.affiliate.analytics import (
    AnalyticsFilterInput,
    AnalyticsOrderInput,
    AnalyticsResult,
    DateRangeInput,
    _row,
)
from schema.affiliate.common import (
    READ,
    WRITE,
    CurrencyFilterArgument,
    OutputCurrencyArgument,
    sent,
)
from schema.affiliate.events import (
    Click,
    Conversion,
    ConversionConnection,
    ConversionDateType,
)
from schema.affiliate.inputs import (
    CreateBrandInput,
    CreateCampaignInput,
    CreateTrackingLinkInput,
    CreateWebsiteInput,
    RecordClickInput,
    RecordConversionInput,
    ReportPivotFilterInput,
    UpdatePartnerProfileInput,
    UpdateTrackingLinkInput,
    UpdateWebsiteInput,
    pivot_pairs,
    plain,
)
from schema.affiliate.types import (
    AnalyticsShape,
    Brand,
    Campaign,
    CampaignStatus,
    ConversionStatus,
    Participation,
    ParticipationDecision,
    ParticipationStatus,
    TrackingLink,
)
from schema.connection import Connection
from schema.partners import Partner, Website
from schema.permissions import OPERATOR, STAFF, allow

# --- root fields ---------------------------------------------------------------------


@strawberry.type(description="A page of clicks, with counts over every matching click.")
class ClickConnection(Connection[Click]):
    unique_of: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="Distinct visitors (cookies) among all matching clicks (the seed's "
        "`unique_click_count`), exact."
    )
    async def unique_click_count(self) -> int:
        return await self.unique_of()


@strawberry.type
class Query:
    @strawberry.field(
        description="Campaigns partners may join, ordered by brand (each with its `brand`), "
        "with the partner's participation status.",
        extensions=READ,
    )
    async def campaigns(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        brand_id: strawberry.ID | None = None,
        statuses: list[CampaignStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Campaign]:
        page, viewer = await resolve.campaigns(
            info, partner_id, brand_id, [s.value for s in statuses or []], first, after
        )
        return Connection.of(page, lambda row: Campaign.from_doc(row, viewer))

    @strawberry.field(description="One of the partner's websites.", extensions=READ)
    async def partner_website(self, info: Info, id: strawberry.ID) -> Website:
        wid = parse_id(id, "web")
        doc = await info.context.loaders.get(WebsiteByIdLoader).load(wid)
        if doc is None:
            raise NotFound("Website not found.")
        return Website.from_doc(doc)

    @strawberry.field(description="The partner's participation requests.", extensions=READ)
    async def participations(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        status: list[ParticipationStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Participation]:
        wanted = [s.value for s in status or []]
        if "available" in wanted or "unavailable" in wanted:
            raise BadUserInput("AVAILABLE / UNAVAILABLE mean no participation", field="status")
        page = await resolve.participations(info, partner_id, wanted, first, after)
        return Connection.of(page, Participation.from_doc)

    @strawberry.field(description="The partner's tracking links.", extensions=READ)
    async def tracking_links(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        campaign_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TrackingLink]:
        page = await resolve.links(info, partner_id, campaign_id, first, after)
        return Connection.of(page, TrackingLink.from_doc)

    @strawberry.field(
        description="The partner's conversions, newest first, with per-currency totals. "
        "Range: `from`/`to`, or `textDate` (today, yesterday, last N days, this/last week, "
        "this/last month, …) in `timezone` (default: the partner's reporting timezone).",
        extensions=READ,
    )
    async def conversions(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        text_date: str | None = None,
        timezone: str | None = None,
        statuses: list[ConversionStatus] | None = None,
        currencies: list[str] | None = None,
        campaign_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
        conversion_reference: Annotated[
            str | None, strawberry.argument(description="Exact brand order reference.")
        ] = None,
        advertiser_reference: Annotated[
            str | None, strawberry.argument(description="Exact brand reference.")
        ] = None,
        publisher_reference: Annotated[
            str | None, strawberry.argument(description="Exact partner reference.")
        ] = None,
        customer_reference: Annotated[
            str | None, strawberry.argument(description="Exact customer reference.")
        ] = None,
        date_type: Annotated[
            ConversionDateType,
            strawberry.argument(
                description="STANDARD: the range is when it happened; "
                "LAST_MODIFIED: when it last changed (seed `date_type`)."
            ),
        ] = ConversionDateType.STANDARD,
        conversion_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this conversion.")
        ] = None,
        conversion_metric_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description="Conversion metric ids (seed "
                "`ref_conversion_metric_id`; `affiliateReference`)."
            ),
        ] = None,
        multipivot: Annotated[
            list[ReportPivotFilterInput] | None,
            strawberry.argument(description="Secondary pivot filters (seed `multipivot`)."),
        ] = None,
    ) -> ConversionConnection:
        ctx = info.context
        refs = {"conversionReference": conversion_reference,
                "advertiserReference": advertiser_reference,
                "publisherReference": publisher_reference,
                "customerReference": customer_reference}  # fmt: skip
        filters = await resolve.event_filter(
            ctx.db, ctx.scope, partner_id=partner_id, start=from_, end=to, text_date=text_date,
            timezone=timezone, campaign_id=campaign_id,
            statuses=[s.value for s in statuses or []], currencies=currencies or [],
            references=refs, date_type=date_type.value,
            conversion_id=conversion_id,
            conversion_metric_ids=[str(m) for m in conversion_metric_ids or []],
            pivots=pivot_pairs(multipivot),
        )  # fmt: skip
        page = await data.list_conversions(ctx.db, ctx.scope, filters, first, after)
        connection = Connection.of(page, Conversion.from_doc)
        return ConversionConnection(
            edges=connection.edges, page_info=connection.page_info, count=page.count,
            totals_of=lambda: data.conversion_totals(ctx.db, ctx.scope, filters),
        )  # fmt: skip

    @strawberry.field(
        description="The partner's clicks, newest first (same range arguments as conversions).",
        extensions=READ,
    )
    async def clicks(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        text_date: str | None = None,
        timezone: str | None = None,
        campaign_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
        multipivot: Annotated[
            list[ReportPivotFilterInput] | None,
            strawberry.argument(description="Secondary pivot filters (seed `multipivot`)."),
        ] = None,
    ) -> ClickConnection:
        ctx = info.context
        filters = await resolve.event_filter(
            ctx.db, ctx.scope, partner_id=partner_id, start=from_, end=to, text_date=text_date,
            timezone=timezone, campaign_id=campaign_id, pivots=pivot_pairs(multipivot),
        )  # fmt: skip
        page = await data.list_clicks(ctx.db, ctx.scope, filters, first, after)
        connection = Connection.of(page, Click.from_doc)
        return ClickConnection(
            edges=connection.edges, page_info=connection.page_info, count=page.count,
            unique_of=lambda: unique_click_count(ctx.db, ctx.scope, filters),
        )  # fmt: skip

    @strawberry.field(
        description="Partner analytics over clicks, conversions and impressions. COUNT: one row of "
        "metrics; EXPLODE: rows per groupBy values (orderBy, top); TIMESERIES: one row per "
        "interval bucket in `timezone` (zerofill). comparePrevious / compareDateRanges add "
        "each metric's previous value and percentage change. Metrics: "
        + ", ".join(data.METRICS)
        + ". "
        "Dimensions: " + ", ".join(data.DIMENSIONS) + ". Unknown names are BAD_USER_INPUT.",
        extensions=READ,
    )
    async def partner_analytics(
        self,
        info: Info,
        shape: AnalyticsShape,
        metrics: list[str],
        partner_id: strawberry.ID | None = None,
        group_by: list[str] | None = None,
        filter_by: list[AnalyticsFilterInput] | None = None,
        date_ranges: list[DateRangeInput] | None = None,
        text_date: str | None = None,
        interval: str | None = None,
        timezone: str | None = None,
        currency: CurrencyFilterArgument = None,
        output_currency: OutputCurrencyArgument = None,
        order_by: list[AnalyticsOrderInput] | None = None,
        top: int | None = None,
        zerofill: bool = True,
        compare_previous: bool = False,
        compare_date_ranges: list[DateRangeInput] | None = None,
    ) -> AnalyticsResult:
        request = resolve.AnalyticsRequest(
            shape=shape.value, metrics=metrics, group_by=group_by or [],
            filter_by=[(f.field, f.operator, f.value, f.not_) for f in filter_by or []],
            date_ranges=[(r.start, r.end) for r in date_ranges or []], text_date=text_date,
            interval=interval, timezone=timezone, currency=currency,
            output_currency=output_currency,
            order_by=[(o.field, o.direction) for o in order_by or []], top=top,
            zerofill=zerofill, compare_previous=compare_previous,
            compare_date_ranges=[(r.start, r.end) for r in compare_date_ranges or []],
        )  # fmt: skip
        outcome = await resolve.partner_analytics(info, partner_id, request)
        tz = data.validate_timezone(outcome.timezone)
        bucketed = data.Interval(outcome.interval, tz) if outcome.interval else None
        return AnalyticsResult(
            shape=shape, timezone=outcome.timezone, interval=outcome.interval,
            currency=outcome.currency, output_currency=outcome.output_currency,
            start=outcome.start, end=outcome.end,
            rows=[_row(r, bucketed) for r in outcome.rows],
            total_row_count=outcome.total_row_count,
        )  # fmt: skip


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Change the partner's publisher profile; only the fields sent change.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.PARTNER_WRITE),
    )
    async def update_partner_profile(
        self, info: Info, input: UpdatePartnerProfileInput, partner_id: strawberry.ID | None = None
    ) -> Partner:
        return Partner.from_doc(await resolve.update_partner_profile(info, partner_id, sent(input)))

    @strawberry.mutation(description="Add a website to the partner.", extensions=WRITE)
    async def create_partner_website(self, info: Info, input: CreateWebsiteInput) -> Website:
        fields = sent(input)
        partner_id = fields.pop("partner_id", None)
        return Website.from_doc(await resolve.create_website(info, partner_id, fields))

    @strawberry.mutation(description="Change a website of the partner.", extensions=WRITE)
    async def update_partner_website(
        self, info: Info, id: strawberry.ID, input: UpdateWebsiteInput
    ) -> Website:
        return Website.from_doc(await resolve.update_website(info, id, sent(input)))

    @strawberry.mutation(description="Add a brand (operator only).", extensions=allow(OPERATOR))
    async def create_brand(self, info: Info, input: CreateBrandInput) -> Brand:
        return Brand.from_doc(await resolve.create_brand(info, input.name, input.vertical.value))

    @strawberry.mutation(description="Add a campaign (operator only).", extensions=allow(OPERATOR))
    async def create_campaign(self, info: Info, input: CreateCampaignInput) -> Campaign:
        return Campaign.from_doc(await resolve.create_campaign(info, plain(sent(input))))

    @strawberry.mutation(
        description="Ask to join a campaign. Campaigns with custom terms need "
        "`acceptTerms: true`; asking twice is CONFLICT.",
        extensions=WRITE,
    )
    async def request_campaign_participation(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        accept_terms: bool = False,
        partner_id: strawberry.ID | None = None,
    ) -> Participation:
        doc = await resolve.request_participation(info, partner_id, campaign_id, accept_terms)
        return Participation.from_doc(doc)

    @strawberry.mutation(
        description="Approve or reject a participation request (operator only).",
        extensions=allow(OPERATOR),
    )
    async def review_campaign_participation(
        self, info: Info, id: strawberry.ID, decision: ParticipationDecision
    ) -> Participation:
        return Participation.from_doc(await resolve.review_participation(info, id, decision.value))

    @strawberry.mutation(
        description="Create a tracking link on a campaign the partner is APPROVED on.",
        extensions=WRITE,
    )
    async def create_tracking_link(
        self, info: Info, input: CreateTrackingLinkInput
    ) -> TrackingLink:
        fields = sent(input)
        partner_id = fields.pop("partner_id", None)
        campaign_id = fields.pop("campaign_id")
        doc = await resolve.create_link(info, partner_id, campaign_id, fields)
        return TrackingLink.from_doc(doc)

    @strawberry.mutation(
        description="Change a tracking link (its campaign must still be APPROVED).",
        extensions=WRITE,
    )
    async def update_tracking_link(
        self, info: Info, id: strawberry.ID, input: UpdateTrackingLinkInput
    ) -> TrackingLink:
        return TrackingLink.from_doc(await resolve.update_link(info, id, sent(input)))

    @strawberry.mutation(
        description="Record a click (operator only: the tracker's feed).",
        extensions=allow(OPERATOR),
    )
    async def record_click(self, info: Info, input: RecordClickInput) -> Click:
        return Click.from_doc(await resolve.record_click(info, plain(sent(input))))

    @strawberry.mutation(
        description="Record a conversion (operator only: the tracker's feed).",
        extensions=allow(OPERATOR),
    )
    async def record_conversion(self, info: Info, input: RecordConversionInput) -> Conversion:
        fields = plain(sent(input))
        fields["items"] = [
            {
                **plain(sent(item)),
                "status": item.status.value if item.status else None,
            }
            for item in input.items
        ]
        return Conversion.from_doc(await resolve.record_conversion(info, fields))
