"""CRM purchases (seed 002): `upsertPurchase` by `purchaseKey` and `purchases`, the search by
network and date window with product, merchant and location filters (cursor-paged, 500 max).

Scope `crm`: staff need `crm:read` / `crm:write`; CRM API keys their `CRM` scope (a public key
reads only). Operators see every partner in the search and name one (`partnerId`) to upsert.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from resolvers.crm import purchases as resolve
from schema.connection import Connection
from schema.crm.types import READ, WRITE, Fan, _fan


def _opt(value: str | None) -> str | None:
    return value or None


@strawberry.type(description="A purchase (order line item) from a sales network.")
class Purchase:
    id: strawberry.ID = strawberry.field(description="Purchase id (`pur_…`).")
    purchase_key: str = strawberry.field(description="The caller's unique key for the purchase.")
    network: str = strawberry.field(description="Network the purchase comes from.")
    order_key: str = strawberry.field(description="Order (one order has many purchases).")
    merchant_key: str = strawberry.field(description="Merchant / seller that made the sale.")
    location_key: str | None = strawberry.field(description="Location of the sale.")
    customer_key: str | None = strawberry.field(description="The network's customer id.")
    ordered_at: datetime = strawberry.field(description="When the purchase was made.")
    gross_sale_amount: int = strawberry.field(description="Gross amount, minor units.")
    net_sale_amount: int = strawberry.field(description="Net amount, minor units.")
    deduction_amount: int = strawberry.field(
        description="Gross minus net (discounts, refunds), minor units."
    )
    currency: str = strawberry.field(description="ISO 4217 currency of the amounts.")
    product_key: str | None = strawberry.field(description="Product id.")
    product_name: str | None = strawberry.field(description="Product name.")
    product_category: str | None = strawberry.field(description="Product category.")
    email: str | None = strawberry.field(description="Buyer's email (lower case).")
    phone: str | None = strawberry.field(description="Buyer's phone.")
    country_code: str | None = strawberry.field(description="Buyer's country (ISO alpha-2).")
    province: str | None = strawberry.field(description="Buyer's province.")
    city: str | None = strawberry.field(description="Buyer's city.")
    updated_at: datetime = strawberry.field(description="Last upsert of this purchase.")
    fan_id: strawberry.ID | None = strawberry.field(
        description="The buyer's fan (matched by email, then phone; null without either)."
    )

    @strawberry.field(description="The buyer's fan.")
    async def fan(self, info: Info) -> Fan | None:
        return await _fan(info, str(self.fan_id)) if self.fan_id else None

    @classmethod
    def from_doc(cls, doc: Document) -> Purchase:
        ordered = datetime.fromtimestamp(doc["order_ms"] / 1000, UTC)
        updated = datetime.fromtimestamp(doc["updated_ms"] / 1000, UTC)
        fan_id = doc.get("fan_id")
        return cls(
            id=strawberry.ID(doc["_id"]), purchase_key=doc["purchase_key"],
            network=doc["network"], order_key=doc["order_key"],
            merchant_key=doc["merchant_key"], location_key=_opt(doc["location_key"]),
            customer_key=_opt(doc["customer_key"]), ordered_at=ordered,
            gross_sale_amount=int(doc["gross_sale_amount"]),
            net_sale_amount=int(doc["net_sale_amount"]),
            deduction_amount=int(doc["deduction_amount"]), currency=doc["currency"],
            product_key=_opt(doc["product_key"]), product_name=_opt(doc["product_name"]),
            product_category=_opt(doc["product_category"]), email=_opt(doc["email"]),
            phone=_opt(doc["phone"]), country_code=_opt(doc["country_code"]),
            province=_opt(doc["province"]), city=_opt(doc["city"]), updated_at=updated,
            fan_id=strawberry.ID(fan_id) if fan_id else None,
        )  # fmt: skip


@strawberry.type(description="Result of `upsertPurchase`.")
class UpsertPurchasePayload:
    purchase: Purchase = strawberry.field(description="The purchase as stored now.")
    created: bool = strawberry.field(description="True when the purchaseKey was new.")


@strawberry.input(description="A purchase; a known purchaseKey replaces the stored fields.")
class UpsertPurchaseInput:
    purchase_key: str = strawberry.field(
        description="Unique key (1..200), e.g. `{network}-{orderKey}-{lineItemId}`."
    )
    network: str = strawberry.field(description="Network the purchase comes from (1..64).")
    order_key: str = strawberry.field(description="Order id (1..200).")
    merchant_key: str = strawberry.field(description="Merchant / seller id (1..200).")
    order_timestamp: datetime = strawberry.field(
        description="When the purchase was made (with its UTC offset)."
    )
    gross_sale_amount: int = strawberry.field(description="Gross amount, minor units (>= 0).")
    net_sale_amount: int = strawberry.field(description="Net amount, minor units (0..gross).")
    currency: str = strawberry.field(description="ISO 4217 currency of the amounts.")
    location_key: str | None = strawberry.field(default=None, description="Location id.")
    customer_key: str | None = strawberry.field(default=None, description="Customer id.")
    email: str | None = strawberry.field(
        default=None, description="Buyer's email: matches (or creates) the fan."
    )
    phone: str | None = strawberry.field(
        default=None, description="Buyer's phone: matches the fan when the email does not."
    )
    country_code: str | None = strawberry.field(
        default=None, description="Buyer's country (ISO alpha-2)."
    )
    province: str | None = strawberry.field(default=None, description="Needs countryCode.")
    city: str | None = strawberry.field(default=None, description="Needs countryCode.")
    product_key: str | None = strawberry.field(default=None, description="Product id.")
    product_name: str | None = strawberry.field(default=None, description="Product name.")
    product_category: str | None = strawberry.field(default=None, description="Category.")
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Partner (operators only)."
    )


@strawberry.input(description="Which purchases `purchases` returns.")
class PurchaseFilter:
    network: str = strawberry.field(description="Network the purchases come from.")
    start_date: date = strawberry.field(description="First UTC day of the order time.")
    end_date: date = strawberry.field(description="Last UTC day of the order time (inclusive).")
    product_name: str | None = strawberry.field(
        default=None, description="Product name contains this (any case)."
    )
    merchant_key: str | None = strawberry.field(default=None, description="Only this merchant.")
    location_key: str | None = strawberry.field(default=None, description="Only this location.")


@strawberry.type
class Query:
    @strawberry.field(
        description="Purchases of a network in a date window, in order time; `first` 1..500.",
        extensions=READ,
    )
    async def purchases(
        self, info: Info, filter: PurchaseFilter, first: int | None = None,
        after: str | None = None,
    ) -> Connection[Purchase]:  # fmt: skip
        page = await resolve.purchases(info, filter, first, after)
        return Connection.of(page, Purchase.from_doc)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Store a purchase by purchaseKey (created or replaced), matching or "
        "creating the buyer's fan.",
        extensions=WRITE,
    )
    async def upsert_purchase(
        self, info: Info, input: UpsertPurchaseInput
    ) -> UpsertPurchasePayload:
        doc, created = await resolve.upsert_purchase(info, input)
        return UpsertPurchasePayload(purchase=Purchase.from_doc(doc), created=created)
