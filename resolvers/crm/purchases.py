"""CRM purchases (seed 002): upsert by `purchase_key`, matching or creating the buyer's fan,
and the search by network and date window.

A purchase lands in the caller's partner (operators name `partnerId`); money is integer minor
units of one ISO 4217 currency, as everywhere in the CRM.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput
from gateway.storage.mongo import Document
from loaders.base import Page, check_first
from loaders.crm import purchases as data
from loaders.crm.common import date_range, to_ms
from loaders.identity import normalize_email
from resolvers.crm.common import country, currency, phone, text, write_partner

MAX_AMOUNT = 10**12  # minor units
PAGE_MAX = 500  # the seed's page_size


def _amount(value: int, field: str) -> int:
    if not 0 <= value <= MAX_AMOUNT:
        raise BadUserInput(f"0..{MAX_AMOUNT} minor units", field=field)
    return int(value)


def purchase_fields(input: Any) -> tuple[str, Document, Document]:
    """(purchase key, stored fields, buyer contact) or BAD_USER_INPUT naming the field."""
    key = text(input.purchase_key, "purchaseKey", 200, required=True)
    gross = _amount(input.gross_sale_amount, "grossSaleAmount")
    net = _amount(input.net_sale_amount, "netSaleAmount")
    if net > gross:
        raise BadUserInput("must not exceed grossSaleAmount", field="netSaleAmount")
    product_name = text(input.product_name, "productName", 200)
    fields: Document = {
        "network": text(input.network, "network", 64, required=True),
        "order_key": text(input.order_key, "orderKey", 200, required=True),
        "merchant_key": text(input.merchant_key, "merchantKey", 200, required=True),
        "location_key": text(input.location_key, "locationKey", 200),
        "customer_key": text(input.customer_key, "customerKey", 200),
        "order_ms": to_ms(input.order_timestamp),  # DateTime carries an offset
        "gross_sale_amount": gross, "net_sale_amount": net, "deduction_amount": gross - net,
        "currency": currency(input.currency),
        "product_key": text(input.product_key, "productKey", 200),
        "product_name": product_name, "product_name_lower": product_name.lower(),
        "product_category": text(input.product_category, "productCategory", 200),
        "email": normalize_email(input.email) if input.email else "",
        "phone": phone(input.phone) if input.phone else "",
        "country_code": country(input.country_code),
        "province": text(input.province, "province", 64),
        "city": text(input.city, "city", 64),
    }  # fmt: skip
    for name, field in (("province", "province"), ("city", "city")):
        if fields[name] and not fields["country_code"]:
            raise BadUserInput("needs countryCode in the same request", field=field)
    contact = {k: fields[k] for k in ("email", "phone", "country_code", "province", "city")}
    return key, fields, contact


async def upsert_purchase(info: Info, input: Any) -> tuple[Document, bool]:
    key, fields, contact = purchase_fields(input)
    partner = await write_partner(info, input.partner_id)
    fan, _ = await data.fan_for_buyer(info.context.db, partner, contact)
    fields["fan_id"] = fan["_id"] if fan is not None else None
    return await data.upsert_purchase(info.context.db, partner, key, fields)


async def purchases(info: Info, filter: Any, first: int | None, after: str | None) -> Page:
    lo: date = filter.start_date
    hi: date = filter.end_date
    if hi < lo:
        raise BadUserInput("must not be before startDate", field="endDate")
    check_first(first, PAGE_MAX)
    window = date_range(lo, hi)
    filters: Document = {
        "network": text(filter.network, "network", 64, required=True),
        "from_ms": to_ms(window["$gte"]), "to_ms": to_ms(window["$lt"]),
        "product_name": text(filter.product_name, "productName", 200),
        "merchant_key": text(filter.merchant_key, "merchantKey", 200),
        "location_key": text(filter.location_key, "locationKey", 200),
    }  # fmt: skip
    return await data.search_purchases(
        info.context.db, info.context.scope, filters, first, after, PAGE_MAX
    )
