"""Creatives, product feeds and voucher codes of campaigns (what a partner promotes with),
and the operator's mutations that add them."""

from __future__ import annotations

import html
from datetime import datetime
from enum import Enum
from urllib.parse import urlencode

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.affiliate import commissions as com
from loaders.affiliate import promotion
from loaders.base import from_epoch_ms
from resolvers.affiliate import promotion as resolve
from schema.affiliate.common import READ
from schema.affiliate.types import Campaign, TrackingLink, _campaign
from schema.connection import Connection
from schema.permissions import OPERATOR, allow


@strawberry.enum(description="Kind of creative.")
class CreativeType(Enum):
    BANNER = "banner"
    TEXT = "text"
    HTML = "html"
    EMAIL = "email"


@strawberry.enum(description="File format of a product feed.")
class FeedFormat(Enum):
    CSV = "csv"
    XML = "xml"
    JSON = "json"


@strawberry.type(description="A creative of a campaign: a banner, a text link, HTML, email.")
class Creative:
    id: strawberry.ID = strawberry.field(description="Creative id (`crv_…`).")
    type: CreativeType = strawberry.field(description="Kind.")
    name: str = strawberry.field(description="Name.")
    width: int = strawberry.field(description="Banner width in pixels (0 otherwise).")
    height: int = strawberry.field(description="Banner height in pixels (0 otherwise).")
    image_url: str = strawberry.field(description="Banner image (empty otherwise).")
    text: str = strawberry.field(description="Link text / HTML / email body.")
    active: bool = strawberry.field(description="In use.")
    number: int = strawberry.field(
        description="Numeric id: the seed's `creative_id` / `specific_creative_id` on clicks, "
        "reports and the analytics `creative` dimension."
    )
    type_id: int = strawberry.field(
        description="Numeric type, the seed's `creative_type`: 1 banner, 2 text, 3 HTML, 4 email."
    )
    campaign_id: strawberry.Private[str]
    viewer: strawberry.Private[str | None]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, self.viewer or "")

    @strawberry.field(
        description="HTML to paste: the creative wrapped in the partner's tracking link "
        "(`linkId`: one of its links on this campaign; `?creative=` attributes its clicks to "
        "this creative), values HTML-escaped."
    )
    async def tracking_code(self, info: Info, link_id: strawberry.ID) -> str:
        link = TrackingLink.from_doc(await resolve.link_for(info, link_id, self.campaign_id))
        url = f"{link.url(info)}?{urlencode({'creative': str(self.id)})}"
        href = html.escape(url, quote=True)
        if self.type is CreativeType.BANNER:
            return (f'<a href="{href}"><img src="{html.escape(self.image_url, quote=True)}" '
                    f'width="{self.width}" height="{self.height}" '
                    f'alt="{html.escape(self.name, quote=True)}"></a>')  # fmt: skip
        return f'<a href="{href}">{html.escape(self.text)}</a>'

    @classmethod
    def from_doc(cls, doc: Document, viewer: str | None) -> Creative:
        return cls(
            id=strawberry.ID(doc["_id"]), type=CreativeType(doc["type"]), name=doc["name"],
            width=int(doc["width"]), height=int(doc["height"]), image_url=doc["image_url"],
            text=doc["text"], active=bool(doc["active"]), campaign_id=doc["campaign_id"],
            viewer=viewer, number=int(doc.get("number") or 0),
            type_id=promotion.CREATIVE_TYPE_IDS.get(doc["type"], 0),
        )  # fmt: skip


@strawberry.type(description="A product feed of a campaign.")
class ProductFeed:
    id: strawberry.ID = strawberry.field(description="Feed id (`fed_…`).")
    name: str = strawberry.field(description="Name.")
    format: FeedFormat = strawberry.field(description="CSV, XML or JSON.")
    url: str = strawberry.field(description="Where to download it.")
    product_count: int = strawberry.field(description="Products in it.")
    active: bool = strawberry.field(description="In use.")
    updated_at: datetime = strawberry.field(description="Last change.")
    campaign_id: strawberry.Private[str]
    viewer: strawberry.Private[str | None]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, self.viewer or "")

    @classmethod
    def from_doc(cls, doc: Document, viewer: str | None) -> ProductFeed:
        return cls(
            id=strawberry.ID(doc["_id"]), name=doc["name"], format=FeedFormat(doc["format"]),
            url=doc["url"], product_count=int(doc["product_count"]), active=bool(doc["active"]),
            updated_at=from_epoch_ms(doc["created_ms"]) or doc["created_at"],
            campaign_id=doc["campaign_id"], viewer=viewer,
        )  # fmt: skip


@strawberry.type(description="A voucher code of a campaign the partner may promote.")
class VoucherCode:
    id: strawberry.ID = strawberry.field(description="Voucher code id (`vou_…`).")
    code: str = strawberry.field(description="The code shoppers enter.")
    description: str = strawberry.field(description="What it gives.")
    starts_at: datetime | None = strawberry.field(description="Valid from, if bounded.")
    ends_at: datetime | None = strawberry.field(description="Valid until, if bounded.")
    active: bool = strawberry.field(description="In use.")
    exclusive: bool = strawberry.field(description="Only for named partners (this one among).")
    campaign_id: strawberry.Private[str]

    @classmethod
    def from_doc(cls, doc: Document) -> VoucherCode:
        end = int(doc["end_ms"])
        return cls(
            id=strawberry.ID(doc["_id"]), code=doc["code"], description=doc["description"],
            starts_at=from_epoch_ms(doc["start_ms"]) if doc["start_ms"] else None,
            ends_at=None if end >= com.OPEN_END_MS else from_epoch_ms(end),
            active=bool(doc["active"]), exclusive=bool(doc.get("partner_ids")),
            campaign_id=doc["campaign_id"],
        )  # fmt: skip


# --- what Campaign resolves (imported lazily by schema.affiliate.types) --------------


@strawberry.type(description="The creative a click came through or a link carries.")
class CreativeSummary:
    id: strawberry.ID = strawberry.field(description="Creative id (`crv_…`).")
    number: int = strawberry.field(description="Numeric id (the seed's `creative_id`).")
    type: CreativeType = strawberry.field(description="Kind.")
    type_id: int = strawberry.field(description="Numeric type (the seed's `creative_type`).")
    name: str = strawberry.field(description="Name.")
    campaign_id: strawberry.Private[str]
    viewer: strawberry.Private[str | None]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, self.viewer or "")


async def creative_by_id(
    info: Info, creative_ref: str, viewer: str | None
) -> CreativeSummary | None:
    """The creative a click or link names (batched; None when it names none)."""
    if not creative_ref:
        return None
    doc = await info.context.loaders.get(promotion.CreativeByIdLoader).load(creative_ref)
    if doc is None:
        return None
    return CreativeSummary(
        id=strawberry.ID(doc["_id"]), number=int(doc.get("number") or 0),
        type=CreativeType(doc["type"]), type_id=promotion.CREATIVE_TYPE_IDS.get(doc["type"], 0),
        name=doc["name"], campaign_id=doc["campaign_id"], viewer=viewer,
    )  # fmt: skip


async def campaign_creatives(
    info: Info, campaign: Document, viewer: str | None, first: int | None, after: str | None
) -> Connection[Creative]:
    rows = await resolve.for_campaign(info, promotion.CreativesByCampaignLoader,
                                      campaign["_id"], viewer)  # fmt: skip
    page = com.page_rows(rows, "_id", first, after)
    return Connection.of(page, lambda d: Creative.from_doc(d, viewer))


async def campaign_feeds(
    info: Info, campaign: Document, viewer: str | None, first: int | None, after: str | None
) -> Connection[ProductFeed]:
    rows = await resolve.for_campaign(info, promotion.FeedsByCampaignLoader, campaign["_id"],
                                      viewer)  # fmt: skip
    page = com.page_rows(rows, "_id", first, after)
    return Connection.of(page, lambda d: ProductFeed.from_doc(d, viewer))


async def campaign_vouchers(
    info: Info, campaign: Document, viewer: str | None, first: int | None, after: str | None
) -> Connection[VoucherCode]:
    rows = await resolve.for_campaign(info, promotion.VoucherCodesByCampaignLoader,
                                      campaign["_id"], viewer)  # fmt: skip
    page = com.page_rows(rows, "_id", first, after)
    return Connection.of(page, VoucherCode.from_doc)


@strawberry.input(description="A new creative (operator).")
class CreateCreativeInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    type: CreativeType = strawberry.field(description="Kind.")
    name: str = strawberry.field(description="1..120 characters.")
    width: int = strawberry.field(default=0, description="BANNER: 1..4000 pixels.")
    height: int = strawberry.field(default=0, description="BANNER: 1..4000 pixels.")
    image_url: str | None = strawberry.field(default=None, description="BANNER: http(s).")
    text: str = strawberry.field(default="", description="Link text / HTML / email (≤2000).")
    active: bool = strawberry.field(default=True, description="In use.")


@strawberry.input(description="A new product feed (operator).")
class CreateProductFeedInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    name: str = strawberry.field(description="1..120 characters.")
    url: str = strawberry.field(description="http(s) download URL.")
    format: FeedFormat = strawberry.field(default=FeedFormat.CSV, description="File format.")
    product_count: int = strawberry.field(default=0, description="Products in it.")
    active: bool = strawberry.field(default=True, description="In use.")


@strawberry.input(description="A new voucher code of a campaign (operator).")
class CreateVoucherCodeInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    code: str = strawberry.field(description="1..64 characters, no spaces; unique per campaign.")
    description: str = strawberry.field(default="", description="≤500 characters.")
    starts_at: datetime | None = strawberry.field(default=None, description="Default: open.")
    ends_at: datetime | None = strawberry.field(default=None, description="Default: open.")
    active: bool = strawberry.field(default=True, description="In use.")
    partner_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Only for these partners (none: every partner)."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="The active product feeds of every campaign the partner is approved on.",
        extensions=READ,
    )
    async def product_feeds(
        self, info: Info, partner_id: strawberry.ID | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[ProductFeed]:  # fmt: skip
        page = await resolve.feeds(info, partner_id, first, after)
        viewer = str(partner_id) if partner_id else info.context.principal.partner_id
        return Connection.of(page, lambda d: ProductFeed.from_doc(d, viewer))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Add a creative to a campaign (operator only).",
                         extensions=allow(OPERATOR))  # fmt: skip
    async def create_creative(self, info: Info, input: CreateCreativeInput) -> Creative:
        fields = {**vars(input), "type": input.type.value}
        return Creative.from_doc(await resolve.create_creative(info, fields), None)

    @strawberry.mutation(description="Add a product feed to a campaign (operator only).",
                         extensions=allow(OPERATOR))  # fmt: skip
    async def create_product_feed(self, info: Info, input: CreateProductFeedInput) -> ProductFeed:
        fields = {**vars(input), "format": input.format.value}
        return ProductFeed.from_doc(await resolve.create_feed(info, fields), None)

    @strawberry.mutation(description="Add a voucher code to a campaign (operator only).",
                         extensions=allow(OPERATOR))  # fmt: skip
    async def create_voucher_code(self, info: Info, input: CreateVoucherCodeInput) -> VoucherCode:
        return VoucherCode.from_doc(await resolve.create_voucher_code(info, vars(input)))
