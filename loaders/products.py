"""Affiliate products shown in the app's store: validation, storage, listing, type counts.

Prices are integer minor units with an ISO 4217 currency (the embedded store cannot
store Decimal128); the decimal string clients send ("29.99") is parsed exactly with
`Decimal`. Apps and members see active products only: the filter is added here, in
data access, from the caller's principal kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from pymongo import ReturnDocument

from gateway.auth.principal import PrincipalKind
from gateway.core.errors import BadUserInput
from gateway.core.ids import new_id
from gateway.core.validation import check_printable
from gateway.storage.mongo import Database, Document
from loaders.base import (
    IndexSpec,
    Page,
    Scope,
    ScopedLoader,
    conjoin,
    epoch_ms,
    in_key_order,
    match_stage,
    paginate,
    utcnow,
)

INDEXES = [
    IndexSpec("products", [("partner_id", 1), ("created_ms", -1), ("_id", -1)]),
    IndexSpec("products", [("partner_id", 1), ("status", 1), ("created_ms", -1), ("_id", -1)]),
    IndexSpec("products", [("partner_id", 1), ("price_minor", 1), ("_id", 1)]),
    IndexSpec("products", [("partner_id", 1), ("sort_order", 1), ("_id", 1)]),
    IndexSpec("products", [("partner_id", 1), ("product_type_key", 1)]),
]

STATUSES = ("draft", "active", "archived")
MAX_PRODUCTS_PAGE = 50
MAX_PRICE_UNITS = 10**9
SORTS: dict[str, list[tuple[str, int]]] = {
    "NEWEST": [("created_ms", -1), ("_id", -1)],
    "OLDEST": [("created_ms", 1), ("_id", 1)],
    "PRICE_ASC": [("price_minor", 1), ("_id", 1)],
    "PRICE_DESC": [("price_minor", -1), ("_id", -1)],
    "SORT_ORDER": [("sort_order", 1), ("_id", 1)],
}

# ISO 4217 codes in use, and the ones whose minor unit is not 2 digits.
_ISO_4217 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY "
    "KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP "
    "MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR "
    "RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SYP SZL THB TJS TMT TND "
    "TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL"
)
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
CURRENCIES = frozenset(_ISO_4217.split())
MINOR_DIGITS: dict[str, int] = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
}
PRICE_RE = re.compile(r"^\d{1,10}(\.\d{1,3})?$")
TEXT_LIMITS = {"name": 200, "description": 5000, "productType": 60}
URL_LIMIT = 2048
SORT_ORDER_LIMIT = 1_000_000


def minor_digits(currency: str) -> int:
    return MINOR_DIGITS.get(currency, 2)


def parse_price(value: str, currency: str) -> int:
    """ "29.99" in USD -> 2999; more decimals than the currency has is BAD_USER_INPUT."""
    text = value.strip()
    digits = minor_digits(currency)
    fraction = text.partition(".")[2]
    if not PRICE_RE.match(text) or len(fraction) > digits:
        raise BadUserInput(
            f"a decimal amount with at most {digits} decimals for {currency}", field="price"
        )
    try:
        minor = int(Decimal(text).scaleb(digits))
    except InvalidOperation:
        raise BadUserInput("not a decimal amount", field="price") from None
    if minor >= MAX_PRICE_UNITS * 10**digits:
        raise BadUserInput("too large", field="price")
    return minor


def format_price(minor: int, currency: str) -> str:
    digits = minor_digits(currency)
    return f"{Decimal(minor).scaleb(-digits):.{digits}f}"


def check_currency(value: str) -> str:
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise BadUserInput("not an ISO 4217 currency code", field="currency")
    return code


def check_url(value: str, field: str) -> str:
    """An absolute http(s) URL, or "" to clear; anything else (javascript:, data:) refused."""
    url = value.strip()
    if not url:
        return ""
    if len(url) > URL_LIMIT or any(c.isspace() or ord(c) < 32 for c in url):
        raise BadUserInput("not a valid URL", field=field)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise BadUserInput("not a valid URL", field=field) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadUserInput("must be an http(s) URL", field=field)
    return url


def check_text(value: str, field: str, required: bool = False) -> str:
    text = value.strip()
    limit = TEXT_LIMITS[field]
    if len(text) > limit or (required and not text):
        raise BadUserInput(f"must be {1 if required else 0} to {limit} characters", field=field)
    return check_printable(text, field, multiline=field == "description")


@dataclass
class ProductChanges:
    """Fields a create or update sends (camelCase names as in the schema); unsent: absent."""

    values: dict[str, Any]

    def clean(self, current: Document | None) -> dict[str, Any]:
        """Validated storage fields. `current` is the stored product on update."""
        v = self.values
        out: dict[str, Any] = {}
        for field in ("name", "status", "currency", "featured", "sortOrder", "price"):
            if field in v and v[field] is None:
                raise BadUserInput("cannot be null", field=field)
        if "name" in v:
            out["name"] = check_text(v["name"], "name", required=True)
            out["name_lower"] = out["name"].lower()
        if "description" in v:
            out["description"] = check_text(v["description"] or "", "description")
        if "productType" in v:
            out["product_type"] = check_text(v["productType"] or "", "productType")
            out["product_type_key"] = out["product_type"].lower()
        for field, key in (("image", "image"), ("externalUrl", "external_url")):
            if field in v:
                out[key] = check_url(v[field] or "", field)
        if "status" in v:
            if v["status"] not in STATUSES:
                raise BadUserInput("draft, active or archived", field="status")
            out["status"] = v["status"]
        if "featured" in v:
            out["featured"] = bool(v["featured"])
        if "sortOrder" in v:
            if not -SORT_ORDER_LIMIT <= v["sortOrder"] <= SORT_ORDER_LIMIT:
                raise BadUserInput(f"within ±{SORT_ORDER_LIMIT}", field="sortOrder")
            out["sort_order"] = int(v["sortOrder"])
        currency = check_currency(v["currency"]) if "currency" in v else None
        if currency is not None:
            out["currency"] = currency
        effective = currency or (current["currency"] if current else "USD")
        if "price" in v:
            out["price_minor"] = parse_price(v["price"], effective)
        elif current is not None and minor_digits(effective) != minor_digits(current["currency"]):
            # Stored minor units would change meaning: the price must come along.
            raise BadUserInput("send the price when changing to this currency", field="price")
        return out


def new_product(partner_id: str, fields: dict[str, Any], now: datetime) -> Document:
    doc: Document = {
        "_id": new_id("prd"),
        "partner_id": partner_id,
        "name": "",
        "name_lower": "",
        "description": "",
        "image": "",
        "price_minor": 0,
        "currency": "USD",
        "external_url": "",
        "product_type": "",
        "product_type_key": "",
        "featured": False,
        "status": "draft",
        "sort_order": 0,
        "created_at": now,
        "created_ms": epoch_ms(now),
        "updated_ms": epoch_ms(now),
    }
    doc.update(fields)
    return doc


async def insert_product(db: Database, partner_id: str, fields: dict[str, Any]) -> Document:
    doc = new_product(partner_id, fields, utcnow())
    await db.products.insert_one(doc)
    return doc


async def update_product(
    db: Database, scope: Scope, product_id: str, fields: dict[str, Any]
) -> Document | None:
    return await db.products.find_one_and_update(
        {**scope.tenant(), "_id": product_id},
        {"$set": {**fields, "updated_ms": epoch_ms(utcnow())}},
        return_document=ReturnDocument.AFTER,
    )


async def delete_product(db: Database, scope: Scope, product_id: str) -> bool:
    result = await db.products.delete_one({**scope.tenant(), "_id": product_id})
    return result.deleted_count == 1


def sees_active_only(scope: Scope) -> bool:
    return scope.principal.kind in (PrincipalKind.APP, PrincipalKind.MEMBER)


def visible(scope: Scope) -> dict[str, Any]:
    """The tenant filter, narrowed to active products for the app and its members."""
    query: dict[str, Any] = scope.tenant()
    if sees_active_only(scope):
        query["status"] = "active"
    return query


async def list_products(
    db: Database, scope: Scope, status: str | None, product_type: str | None,
    search: str | None, sort: str, first: int | None, after: str | None,
) -> Page:  # fmt: skip
    query = visible(scope)
    if status is not None:
        # An app asking for drafts gets nothing rather than an error.
        query["status"] = status if query.get("status", status) == status else "-"
    if product_type is not None:
        query["product_type_key"] = product_type.strip().lower()
    if search:
        fragment = search.strip()
        if len(fragment) > 100:
            raise BadUserInput("at most 100 characters", field="search")
        if fragment:
            pattern = re.escape(fragment)
            either = [
                {"name": {"$regex": pattern, "$options": "i"}},
                {"description": {"$regex": pattern, "$options": "i"}},
            ]
            query = conjoin(query, {"$or": either})
    return await paginate(
        db.products, query, sort=SORTS[sort], first=first, after=after,
        max_first=MAX_PRODUCTS_PAGE,
    )  # fmt: skip


async def product_types(db: Database, scope: Scope) -> list[tuple[str, int]]:
    """Product types with how many (visible) products each has, by name."""
    pipeline = [
        match_stage(visible(scope)),
        {"$group": {"_id": "$product_type", "n": {"$sum": 1}}},
    ]
    rows = await (await db.products.aggregate(pipeline)).to_list(None)
    counts = [(str(r["_id"]), int(r["n"])) for r in rows if r["_id"]]
    return sorted(counts, key=lambda item: (item[0].lower(), item[0]))


class ProductByIdLoader(ScopedLoader[str, Document | None]):
    """Products by id within the tenant; apps and members load active ones only."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query: dict[str, Any] = {**visible(self.scope), "_id": {"$in": keys}}
        rows = await self.db.products.find(query).to_list(None)
        return in_key_order(keys, rows)
