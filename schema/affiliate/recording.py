"""The operator's feeds of impressions and exchange rates (`recordImpressions`,
`setExchangeRates`): what analytics `total_impressions` and `outputCurrency` read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from resolvers.affiliate import recording as resolve
from schema.affiliate.common import READ
from schema.affiliate.inputs import plain
from schema.affiliate.types import Device
from schema.permissions import OPERATOR, allow


@strawberry.input(description="Impressions of one partner's creative at one time.")
class RecordImpressionInput:
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.ID = strawberry.field(description="A campaign it is APPROVED on.")
    count: int = strawberry.field(description="Impressions, 1..1,000,000.")
    occurred_at: datetime | None = strawberry.field(default=None, description="Default: now.")
    creative_id: strawberry.ID | None = strawberry.field(
        default=None, description="The creative shown (one of the campaign's)."
    )
    device: Device = strawberry.field(default=Device.OTHER, description="Device class.")
    publisher_reference: str = strawberry.field(default="", description="Partner reference.")
    user_agent: str = strawberry.field(default="", description="Browser (≤512): browser / OS.")


@strawberry.input(description="One exchange rate: units of `currency` one US dollar buys.")
class ExchangeRateInput:
    day: date = strawberry.field(description="UTC day it applies from (not in the future).")
    currency: str = strawberry.field(description="ISO 4217, not USD (the base).")
    per_usd: float = strawberry.field(description="Units per 1 USD, > 0.")


@strawberry.type(description="A stored exchange rate (base USD: the API's one rate scale).")
class ExchangeRate:
    day: date = strawberry.field(description="UTC day.")
    currency: str = strawberry.field(description="ISO 4217.")
    per_usd: float = strawberry.field(description="Units of `currency` per 1 USD.")

    @classmethod
    def from_doc(cls, doc: Document) -> ExchangeRate:
        return cls(day=date.fromisoformat(doc["day"]), currency=doc["currency"],
                   per_usd=float(doc["per_usd"]))  # fmt: skip


@strawberry.type
class Query:
    @strawberry.field(
        description="The stored exchange rates analytics `outputCurrency` converts with, by "
        "currency then day; `from`..`to` (UTC days, inclusive) spans at most 366 days. An "
        "amount on day D uses each currency's latest rate on or before D.",
        extensions=READ,
    )
    async def exchange_rates(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First day.")],
        to: Annotated[date, strawberry.argument(description="Last day.")],
        currencies: Annotated[
            list[str] | None, strawberry.argument(description="ISO 4217 codes (default: all).")
        ] = None,
    ) -> list[ExchangeRate]:
        docs = await resolve.exchange_rates(info, from_, to, currencies or [])
        return [ExchangeRate.from_doc(d) for d in docs]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Record impressions (operator only: the ad server's feed), 1..500 rows; "
        "any invalid row rejects the batch. Returns the number of impressions recorded.",
        extensions=allow(OPERATOR),
    )
    async def record_impressions(
        self, info: Info, impressions: list[RecordImpressionInput]
    ) -> int:
        rows = [plain(vars(row)) for row in impressions]
        return await resolve.record_impressions(info, rows)

    @strawberry.mutation(
        description="Store daily exchange rates (operator only), 1..500; a rate of the same "
        "currency and day is replaced. Analytics `outputCurrency` converts with them.",
        extensions=allow(OPERATOR),
    )
    async def set_exchange_rates(
        self, info: Info, rates: list[ExchangeRateInput]
    ) -> list[ExchangeRate]:
        docs = await resolve.set_exchange_rates(info, [vars(r) for r in rates])
        return [ExchangeRate.from_doc(d) for d in docs]
