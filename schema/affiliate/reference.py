"""Reference data (the seed's `/reference/…` endpoints: countries, currencies, devices,
locales, timezones, conversion statuses, verticals, analytics names) and the brands the
partner is associated with."""

from __future__ import annotations

import zoneinfo
from typing import Any

import strawberry

from gateway.context import Info
from loaders import affiliate as data
from loaders.affiliate.commissions import page_rows
from resolvers.affiliate.common import partner_for
from schema.affiliate.common import READ
from schema.affiliate.types import Brand
from schema.connection import Connection
from schema.partners import Vertical


@strawberry.type(description="A currency the network reports in.")
class ReferenceCurrency:
    code: str = strawberry.field(description="ISO 4217 code.")
    minor_units: int = strawberry.field(description="Decimals of its minor unit (GBP 2, JPY 0).")


@strawberry.type(description="Values the affiliate fields accept (the seed's reference endpoints).")
class AffiliateReference:
    countries: list[str] = strawberry.field(description="ISO 3166-1 alpha-2 codes.")
    currencies: list[ReferenceCurrency] = strawberry.field(description="ISO 4217 currencies.")
    locales: list[str] = strawberry.field(description="Contact / terms locales.")
    timezones: list[str] = strawberry.field(description="IANA timezone names.")
    devices: list[str] = strawberry.field(description="Device classes of clicks.")
    conversion_statuses: list[str] = strawberry.field(description="Conversion statuses.")
    verticals: list[Vertical] = strawberry.field(description="Market verticals.")
    metrics: list[str] = strawberry.field(description="partnerAnalytics metrics.")
    dimensions: list[str] = strawberry.field(description="partnerAnalytics dimensions.")
    intervals: list[str] = strawberry.field(description="partnerAnalytics intervals.")


@strawberry.type(description="A brand the partner is associated with (through participations).")
class PartnerBrand:
    brand: Brand = strawberry.field(description="The brand.")
    participation_count: int = strawberry.field(description="The partner's participations.")
    blocked: bool = strawberry.field(
        description="Every participation of the partner with this brand was rejected."
    )


@strawberry.type
class Query:
    @strawberry.field(description="Reference data of the affiliate fields.", extensions=READ)
    def affiliate_reference(self) -> AffiliateReference:
        return AffiliateReference(
            countries=sorted(data.COUNTRIES),
            currencies=[ReferenceCurrency(code=c, minor_units=data.currency_exponent(c))
                        for c in sorted(data.CURRENCIES)],
            locales=sorted(data.LOCALES),
            timezones=sorted(zoneinfo.available_timezones()),
            devices=list(data.DEVICES), conversion_statuses=list(data.CONVERSION_STATUSES),
            verticals=list(Vertical), metrics=list(data.METRICS),
            dimensions=list(data.DIMENSIONS), intervals=list(data.INTERVALS),
        )  # fmt: skip

    @strawberry.field(
        description="Brands the partner is associated with (it has participations on their "
        "campaigns), by id; `blocked` when all of them were rejected.",
        extensions=READ,
    )
    async def affiliate_brands(
        self, info: Info, partner_id: strawberry.ID | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[PartnerBrand]:  # fmt: skip
        pid = partner_for(info.context.scope, partner_id)
        rows = await info.context.db.affiliate_participations.find(
            data.owned(info.context.scope, pid), projection={"brand_id": 1, "status": 1}
        ).to_list(None)
        statuses: dict[str, list[str]] = {}
        for row in rows:
            statuses.setdefault(row["brand_id"], []).append(row["status"])
        summary: list[dict[str, Any]] = [
            {"_id": bid, "n": len(s), "blocked": all(x == "rejected" for x in s)}
            for bid, s in sorted(statuses.items())
        ]
        page = page_rows(summary, "_id", first, after)
        brands = await info.context.loaders.get(data.BrandByIdLoader).load_many(
            [r["_id"] for r in page.rows]
        )
        by_id = {b["_id"]: b for b in brands if b}
        return Connection.of(page, lambda r: PartnerBrand(
            brand=Brand.from_doc(by_id[r["_id"]]), participation_count=r["n"],
            blocked=r["blocked"]))  # fmt: skip
