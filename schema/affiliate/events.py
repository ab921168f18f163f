"""Affiliate report types: clicks, conversions, their items (basket lines) as their own
list, per-currency totals, and the seed's reference attribution of each event (`ref_*`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import money as money_data
from loaders.affiliate.items import ClickByIdLoader, list_conversion_items
from loaders.affiliate.reference import REFERENCE_LISTS
from loaders.base import from_epoch_ms
from resolvers.affiliate import event_filter
from schema.affiliate.common import READ
from schema.affiliate.types import Campaign, ClickStatus, ConversionStatus, Device, _campaign
from schema.connection import Connection, Edge, PageInfo

if TYPE_CHECKING:
    from schema.affiliate.money import SelfBill
    from schema.affiliate.promotion import CreativeSummary


@strawberry.enum(description="What a report's date range applies to (the seed's `date_type`).")
class ConversionDateType(Enum):
    STANDARD = "standard"
    LAST_MODIFIED = "last_modified"


@strawberry.type(description="One key/value pair of the brand's meta data (seed `meta_data`).")
class MetaData:
    key: str = strawberry.field(description="Key.")
    value: str = strawberry.field(description="Value.")


def _meta(pairs: list[dict[str, str]] | None) -> list[MetaData]:
    return [MetaData(key=p["key"], value=p["value"]) for p in pairs or []]


@strawberry.type(description="A reference id of an event with its title (the seed's `ref_*`).")
class ReferenceValue:
    id: strawberry.ID = strawberry.field(description="Id (`affiliateReference` lists them).")
    title: str = strawberry.field(description="Title (the seed's `ref_*` name field).")


_REF_TITLES = {
    name: {entry.id: entry.title for entry in entries} for name, entries in REFERENCE_LISTS.items()
}


def _ref(list_name: str, value: object) -> ReferenceValue:
    key = str(value or "")
    return ReferenceValue(id=strawberry.ID(key), title=_REF_TITLES[list_name].get(key, ""))


@strawberry.type(
    description="How an event was attributed: the seed's `ref_device_id`, "
    "`ref_partnership_model_id`, `ref_traffic_source_id`, `ref_user_context_id` and, on "
    "conversions, `ref_conversion_metric_id` and `conversion_type`, each with its title."
)
class EventAttribution:
    device: ReferenceValue = strawberry.field(description="Device class.")
    partnership_model: ReferenceValue = strawberry.field(description="Partnership model.")
    traffic_source: ReferenceValue = strawberry.field(description="Traffic source.")
    user_context: ReferenceValue = strawberry.field(description="User context.")
    conversion_metric: ReferenceValue | None = strawberry.field(
        description="Conversion metric (conversions only)."
    )
    conversion_type: ReferenceValue | None = strawberry.field(
        description="Conversion type (conversions only)."
    )

    @classmethod
    def from_doc(cls, doc: Document, conversion: bool) -> EventAttribution:
        return cls(
            device=_ref("device", doc.get("device", "other")),
            partnership_model=_ref("partnership_model", doc.get("partnership_model_id")),
            traffic_source=_ref("traffic_source", doc.get("traffic_source_id")),
            user_context=_ref("user_context", doc.get("user_context_id")),
            conversion_metric=_ref("conversion_metric", doc.get("conversion_metric_id"))
            if conversion else None,
            conversion_type=_ref("conversion_type", doc.get("conversion_type_id"))
            if conversion else None,
        )  # fmt: skip


# --- clicks and conversions ----------------------------------------------------------


@strawberry.type(description="A click on a partner's tracking link.")
class Click:
    id: strawberry.ID = strawberry.field(description="Click id (`clk_…`).")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    day: str = strawberry.field(description="UTC day, YYYY-MM-DD.")
    cookie_id: str = strawberry.field(description="Visitor cookie (unique-click counting).")
    country: str = strawberry.field(description="Visitor country (ISO 3166-1), may be empty.")
    device: Device = strawberry.field(description="Device class.")
    publisher_reference: str = strawberry.field(description="The partner's own reference.")
    converted: bool = strawberry.field(description="A conversion was attributed to it.")
    status: ClickStatus = strawberry.field(description="NIBBLED, or CONVERTED (seed `status`).")
    set_ip: str = strawberry.field(
        description="Visitor IP address of the first visit, as the seed reports it (`set_ip`)."
    )
    meta_data: list[MetaData] = strawberry.field(
        description="The seed's click `meta_data`: the link's parameters without a field of "
        "their own (utm_*, creativeref), as they were when the click was recorded."
    )
    last_ip: str = strawberry.field(description="Visitor IP of the latest duplicate visit.")
    last_used_at: datetime = strawberry.field(
        description="Latest visit: moves when the same visitor follows the same link again "
        "within the duplicate window (else equals `occurredAt`)."
    )
    referer: str = strawberry.field(description="Referring page, as the browser sent it.")
    advertiser_reference: str = strawberry.field(
        description="The link's `adref` parameter when the click came through a link."
    )
    creative_id: int = strawberry.field(description="Creative clicked (0: none).")
    creative_type: int = strawberry.field(description="Creative type (0: none).")
    specific_creative_id: int = strawberry.field(
        description="The seed's `specific_creative_id` (0: none)."
    )
    type: str = strawberry.field(description="Click type (the seed's `type`: standard).")
    attribution: EventAttribution = strawberry.field(
        description="Device, partnership model, traffic source, user context (seed `ref_*`)."
    )
    link_id: strawberry.ID | None = strawberry.field(description="Tracking link, if any.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.Private[str]
    creative_ref: strawberry.Private[str]

    @strawberry.field(description="The creative clicked through (the seed's creative fields).")
    async def creative(
        self, info: Info
    ) -> Annotated[CreativeSummary, strawberry.lazy("schema.affiliate.promotion")] | None:
        from schema.affiliate import promotion

        return await promotion.creative_by_id(info, self.creative_ref, str(self.partner_id))

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, str(self.partner_id))

    @classmethod
    def from_doc(cls, doc: Document) -> Click:
        converted = bool(doc.get("converted"))
        last_used = from_epoch_ms(doc.get("last_ms")) or doc["occurred_at"]
        return cls(
            id=strawberry.ID(doc["_id"]), occurred_at=doc["occurred_at"], day=doc["day"],
            cookie_id=doc.get("cookie_id", ""), country=doc.get("country", ""),
            device=Device(doc.get("device", "other")),
            publisher_reference=doc.get("publisher_reference", ""),
            converted=converted,
            status=ClickStatus.CONVERTED if converted else ClickStatus.NIBBLED,
            set_ip=str(doc.get("ip", "")), meta_data=_meta(doc.get("meta")),
            last_ip=str(doc.get("last_ip") or doc.get("ip", "")),
            last_used_at=last_used, referer=str(doc.get("referer", "")),
            advertiser_reference=str(doc.get("advertiser_reference", "")),
            creative_id=int(doc.get("creative_id", 0)),
            creative_type=int(doc.get("creative_type", 0)),
            specific_creative_id=int(doc.get("specific_creative_id", 0)),
            type=str(doc.get("type") or "standard"),
            attribution=EventAttribution.from_doc(doc, conversion=False),
            link_id=strawberry.ID(doc["link_id"]) if doc.get("link_id") else None,
            partner_id=strawberry.ID(doc["partner_id"]), campaign_id=doc["campaign_id"],
            creative_ref=str(doc.get("creative_ref") or ""),
        )  # fmt: skip


@strawberry.type(description="One item (basket line) of a conversion.")
class ConversionItem:
    item_id: str = strawberry.field(description="Item id.")
    sku: str = strawberry.field(description="Product SKU.")
    category: str = strawberry.field(description="Product category.")
    quantity: int = strawberry.field(description="Units.")
    value: int = strawberry.field(description="Item value in minor units of the currency.")
    partner_commission: int = strawberry.field(description="Partner commission, minor units.")
    status: ConversionStatus = strawberry.field(description="Item status.")
    voucher_codes: list[str] = strawberry.field(description="Voucher codes used on this line.")
    meta_data: list[MetaData] = strawberry.field(description="The line's meta data.")
    reject_reason: str = strawberry.field(description="Why it was rejected (empty if not).")
    last_updated_at: datetime = strawberry.field(
        description="Last change of its conversion (the seed's item `last_update`)."
    )

    @classmethod
    def from_doc(cls, item: Document, conversion: Document) -> ConversionItem:
        return cls(
            item_id=item["item_id"], sku=item["sku"], category=item["category"],
            quantity=item["quantity"], value=item["value"], partner_commission=item["commission"],
            status=ConversionStatus(item["status"]),
            voucher_codes=list(item.get("voucher_codes") or []), meta_data=_meta(item.get("meta")),
            reject_reason=str(item.get("reject_reason") or ""),
            last_updated_at=_modified(conversion),
        )  # fmt: skip


def _modified(doc: Document) -> datetime:
    modified: datetime = from_epoch_ms(doc.get("modified_ms")) or doc["occurred_at"]
    return modified


@strawberry.enum(description="Where a conversion is in being paid (seed `include_payment_info`).")
class ConversionPaymentStatus(Enum):
    NOT_PAYABLE = "not_payable"
    PAYABLE = "payable"
    CREATED = "created"
    AVAILABLE = "available"
    PAID = "paid"


@strawberry.type(description="A conversion (sale or lead) attributed to the partner.")
class Conversion:
    id: strawberry.ID = strawberry.field(description="Conversion id (`cnv_…`).")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    day: str = strawberry.field(description="UTC day, YYYY-MM-DD.")
    status: ConversionStatus = strawberry.field(description="approved, pending or rejected.")
    currency: str = strawberry.field(description="Currency (ISO 4217).")
    value: int = strawberry.field(description="Order value in minor units.")
    partner_commission: int = strawberry.field(description="Partner commission in minor units.")
    item_count: int = strawberry.field(description="Units over all items.")
    items: list[ConversionItem] = strawberry.field(description="Basket lines.")
    conversion_reference: str = strawberry.field(description="The brand's order reference.")
    advertiser_reference: str = strawberry.field(description="The brand's own reference.")
    publisher_reference: str = strawberry.field(description="The partner's own reference.")
    customer_reference: str = strawberry.field(description="The brand's customer reference.")
    customer_type: str = strawberry.field(description="new or existing customer.")
    country: str = strawberry.field(description="Customer country (ISO 3166-1), may be empty.")
    device: Device = strawberry.field(description="Device class.")
    click_id: strawberry.ID | None = strawberry.field(description="Attributed click, if any.")
    item_line_count: int = strawberry.field(
        description="Number of items (basket lines): what `total_conversion_items` counts."
    )
    was_disputed: bool = strawberry.field(description="The conversion was ever disputed.")
    referer_ip: str = strawberry.field(description="IP address of the attributed click.")
    source_referer: str = strawberry.field(description="Referer of the attributed click.")
    creative_id: int = strawberry.field(description="Creative of the attributed click (0: none).")
    creative_type: int = strawberry.field(description="Its creative type (0: none).")
    specific_creative_id: int = strawberry.field(description="Its specific creative (0: none).")
    conversion_lag_seconds: int | None = strawberry.field(
        description="Seconds from the attributed click to the conversion (seed `conversion_lag`)."
    )
    last_modified_at: datetime = strawberry.field(
        description="Last change (recorded, disputed, billed): the seed's `last_modified`, what "
        "`dateType: LAST_MODIFIED` ranges over."
    )
    meta_data: list[MetaData] = strawberry.field(description="The brand's meta data.")
    attribution: EventAttribution = strawberry.field(
        description="Device, partnership model, traffic source, user context, conversion metric "
        "and type (seed `ref_*`)."
    )
    currency_original: str = strawberry.field(
        description="Currency the brand reported before conversion into `currency`."
    )
    currency_conversion_rate: float = strawberry.field(
        description="Rate applied from `currencyOriginal` into `currency` (1: none)."
    )
    payable: bool = strawberry.field(
        description="Approved and not yet on a self-bill (what `availableCommission` sums)."
    )
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.Private[str]
    selfbill_id: strawberry.Private[str]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, str(self.partner_id))

    @strawberry.field(description="The attributed click (the seed's `click` object), if any.")
    async def click(self, info: Info) -> Click | None:
        if self.click_id is None:
            return None
        doc = await info.context.loaders.get(ClickByIdLoader).load(str(self.click_id))
        return Click.from_doc(doc) if doc else None

    @strawberry.field(description="The self-bill that pays it, once billed.")
    async def self_bill(
        self, info: Info
    ) -> Annotated[SelfBill, strawberry.lazy("schema.affiliate.money")] | None:
        if not self.selfbill_id:
            return None
        from schema.affiliate import money

        doc = await info.context.loaders.get(money_data.SelfBillByIdLoader).load(self.selfbill_id)
        return money.SelfBill.from_doc(doc) if doc else None

    async def _bill(self, info: Info) -> Document | None:
        if not self.selfbill_id:
            return None
        return await info.context.loaders.get(money_data.SelfBillByIdLoader).load(self.selfbill_id)

    @strawberry.field(description="The self-bill that claimed it (seed `publisher_self_bill_id`).")
    def self_bill_id(self) -> strawberry.ID | None:
        return strawberry.ID(self.selfbill_id) if self.selfbill_id else None

    @strawberry.field(
        description="NOT_PAYABLE (pending / rejected), PAYABLE (approved, not billed), then "
        "its self-bill's status: CREATED, AVAILABLE (funds received) or PAID."
    )
    async def payment_status(self, info: Info) -> ConversionPaymentStatus:
        row = {"status": self.status.value, "selfbill_id": self.selfbill_id}
        return ConversionPaymentStatus(money_data.payment_status(row, await self._bill(info)))

    @strawberry.field(description="When its self-bill was paid out (seed `payment_date`).")
    async def paid_at(self, info: Info) -> datetime | None:
        bill = await self._bill(info)
        return from_epoch_ms(bill.get("payment_ms") or None) if bill is not None else None

    @classmethod
    def from_doc(cls, doc: Document) -> Conversion:
        items = [ConversionItem.from_doc(i, doc) for i in doc.get("items", [])]
        clicked = doc.get("clicked_at")
        return cls(
            id=strawberry.ID(doc["_id"]), occurred_at=doc["occurred_at"], day=doc["day"],
            status=ConversionStatus(doc["status"]), currency=doc["currency"], value=doc["value"],
            partner_commission=doc["commission"], item_count=doc["item_count"], items=items,
            conversion_reference=doc.get("conversion_reference", ""),
            advertiser_reference=doc.get("advertiser_reference", ""),
            publisher_reference=doc.get("publisher_reference", ""),
            customer_reference=doc.get("customer_reference", ""),
            customer_type=doc.get("customer_type", ""), country=doc.get("country", ""),
            device=Device(doc.get("device", "other")),
            click_id=strawberry.ID(doc["click_id"]) if doc.get("click_id") else None,
            item_line_count=len(items), was_disputed=bool(doc.get("was_disputed", 0)),
            referer_ip=str(doc.get("referer_ip", "")),
            source_referer=str(doc.get("source_referer", "")),
            creative_id=int(doc.get("creative_id", 0)),
            creative_type=int(doc.get("creative_type", 0)),
            specific_creative_id=int(doc.get("specific_creative_id", 0)),
            conversion_lag_seconds=int((doc["occurred_at"] - clicked).total_seconds())
            if clicked else None,
            last_modified_at=_modified(doc), meta_data=_meta(doc.get("meta")),
            attribution=EventAttribution.from_doc(doc, conversion=True),
            currency_original=str(doc.get("currency_original") or doc["currency"]),
            currency_conversion_rate=float(doc.get("currency_conversion_rate", 1.0)),
            payable=doc["status"] == "approved" and not doc.get("selfbill_id"),
            selfbill_id=str(doc.get("selfbill_id") or ""),
            partner_id=strawberry.ID(doc["partner_id"]), campaign_id=doc["campaign_id"],
        )  # fmt: skip


@strawberry.type(description="Totals of the matching conversions in one currency.")
class CurrencyTotal:
    currency: str = strawberry.field(description="Currency (ISO 4217).")
    conversion_count: int = strawberry.field(description="Matching conversions.")
    value: int = strawberry.field(description="Order value, minor units.")
    partner_commission: int = strawberry.field(description="Partner commission, minor units.")
    payable_conversion_count: int = strawberry.field(description="Approved conversions.")
    payable_commission: int = strawberry.field(
        description="Commission of approved conversions (payable), minor units."
    )


@strawberry.type(description="A page of conversions plus per-currency totals of all matches.")
class ConversionConnection:
    edges: list[Edge[Conversion]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]
    totals_of: strawberry.Private[Callable[[], Awaitable[list[data.CurrencyTotals]]]]

    @strawberry.field(description="Number of matching conversions, across all pages.")
    async def total_count(self) -> int:
        return await self.count()

    @strawberry.field(
        description="Per-currency totals of every matching conversion (not just this page); "
        "`payableCommission` counts approved ones."
    )
    async def totals(self) -> list[CurrencyTotal]:
        return [
            CurrencyTotal(
                currency=t.currency,
                conversion_count=t.conversions,
                value=t.value,
                partner_commission=t.commission,
                payable_conversion_count=t.payable_conversions,
                payable_commission=t.payable_commission,
            )
            for t in await self.totals_of()
        ]


# --- conversion items as their own list ------------------------------------------------


@strawberry.type(
    description="One conversion item (basket line) with its conversion: a row of the seed's "
    "conversion-item report."
)
class ConversionItemLine:
    item: ConversionItem = strawberry.field(description="The item.")
    conversion: Conversion = strawberry.field(description="The conversion it belongs to.")

    @classmethod
    def from_row(cls, row: dict[str, Document]) -> ConversionItemLine:
        return cls(
            item=ConversionItem.from_doc(row["item"], row["conversion"]),
            conversion=Conversion.from_doc(row["conversion"]),
        )


@strawberry.type
class Query:
    @strawberry.field(
        description="The partner's conversion items (basket lines), one row each with its "
        "conversion (the seed's conversion-item report), newest conversion first and in "
        "basket order; same filters as `conversions`.",
        extensions=READ,
    )
    async def conversion_items(
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
        date_type: Annotated[
            ConversionDateType,
            strawberry.argument(
                description="STANDARD: when it happened; LAST_MODIFIED: when it last changed."
            ),
        ] = ConversionDateType.STANDARD,
        conversion_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this conversion.")
        ] = None,
        conversion_metric_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="Conversion metric ids (seed "
                                "`ref_conversion_metric_id`; `affiliateReference`)."),
        ] = None,
    ) -> Connection[ConversionItemLine]:
        ctx = info.context
        filters = await event_filter(
            ctx.db, ctx.scope, partner_id=partner_id, start=from_, end=to, text_date=text_date,
            timezone=timezone, campaign_id=campaign_id,
            statuses=[s.value for s in statuses or []], currencies=currencies or [],
            references={"conversionReference": conversion_reference},
            date_type=date_type.value,
            conversion_id=conversion_id,
            conversion_metric_ids=[str(m) for m in conversion_metric_ids or []],
        )  # fmt: skip
        page = await list_conversion_items(ctx.db, ctx.scope, filters, first, after)
        return Connection.of(page, ConversionItemLine.from_row)
