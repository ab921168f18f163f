"""CRM purchases (seed 002 "Upsert purchases via API", "Search for purchases").

One document per purchase in `crm_purchases`, unique per partner by `purchase_key` (a partial
unique index), so racing upserts of one key store one purchase. Embedded-store rules (README,
CRM section): the order time is kept as epoch milliseconds (`order_ms`) because `$set` of a
datetime on an existing document stores a string there, and window filters and the keyset
cursor compare integers.
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.base import IndexSpec, Page, Scope, conjoin, paginate, utcnow
from loaders.crm.common import to_ms
from loaders.crm.fans import _escape_regex, insert_fan, new_fan_doc

INDEXES = [
    IndexSpec("crm_purchases", [("partner_id", 1), ("purchase_key", 1)], unique=True,
              name="crm_purchases_partner_key_unique"),
    IndexSpec("crm_purchases", [("partner_id", 1), ("network", 1), ("order_ms", 1), ("_id", 1)]),
]  # fmt: skip

PURCHASE_SORT: list[tuple[str, int]] = [("order_ms", 1), ("_id", 1)]


async def _find_contact(db: Database, partner_id: str, email: str, phone: str) -> Document | None:
    for field, value in (("email", email), ("phone", phone)):
        if value:
            found = await db.fans.find_one({"partner_id": partner_id, field: value})
            if found is not None:
                return found
    return None


async def fan_for_buyer(
    db: Database, partner_id: str, contact: Document
) -> tuple[Document | None, bool]:
    """The partner's fan with the buyer's email (else phone), created when there is none.

    Returns (fan, created); (None, False) without email and phone. A fan created at the same
    time by another request (unique email / phone index) is found again, not duplicated.
    """
    email, phone = contact.get("email", ""), contact.get("phone", "")
    if not email and not phone:
        return None, False
    found = await _find_contact(db, partner_id, email, phone)
    if found is not None:
        return found, False
    fields = {k: v for k, v in contact.items() if v}
    fields["source"] = "purchase"
    try:
        return await insert_fan(db, new_fan_doc(partner_id, fields)), True
    except DuplicateKeyError:
        found = await _find_contact(db, partner_id, email, phone)
        if found is None:
            raise
        return found, False


async def upsert_purchase(
    db: Database, partner_id: str, purchase_key: str, fields: Document
) -> tuple[Document, bool]:
    """Insert or replace the purchase's fields by key; returns (purchase, created)."""
    key = {"partner_id": partner_id, "purchase_key": purchase_key}
    now_ms = to_ms(utcnow())
    update = {
        "$set": {**fields, "updated_ms": now_ms},
        "$setOnInsert": {"_id": new_id("pur"), "created_ms": now_ms},
    }
    try:
        result = await db.crm_purchases.update_one(key, update, upsert=True)
    except DuplicateKeyError:
        # Two upserts of a new key raced: the loser's insert failed, so it updates instead.
        result = await db.crm_purchases.update_one(key, update)
    doc = await db.crm_purchases.find_one(key)
    if doc is None:  # cannot happen after a successful upsert; keeps the type honest
        raise RuntimeError("purchase upsert stored nothing")
    return doc, result.upserted_id is not None


def purchase_query(scope: Scope, filters: Document) -> dict[str, Any]:
    """Tenant, network, order time window (ms, half-open) and the optional filters."""
    clauses: list[dict[str, Any]] = [
        scope.tenant(),
        {"network": filters["network"]},
        {"order_ms": {"$gte": filters["from_ms"], "$lt": filters["to_ms"]}},
    ]
    for field in ("merchant_key", "location_key"):
        if filters.get(field):
            clauses.append({field: filters[field]})
    if filters.get("product_name"):
        pattern = _escape_regex(str(filters["product_name"]).lower())
        clauses.append({"product_name_lower": {"$regex": pattern}})
    return conjoin(*clauses)


async def search_purchases(
    db: Database, scope: Scope, filters: Document, first: int | None, after: str | None,
    max_first: int,
) -> Page:  # fmt: skip
    """Purchases in order-time order: one `find` per page."""
    return await paginate(
        db.crm_purchases, purchase_query(scope, filters), sort=PURCHASE_SORT, first=first,
        after=after, max_first=max_first,
    )  # fmt: skip
