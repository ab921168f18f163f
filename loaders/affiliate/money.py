"""Money: self-bills (the statements that pay a partner's approved commission), their
items (the conversions they pay), payment details, the balance summary per currency and
the available commission.

A conversion's payable state: pending or rejected conversions are not payable; an
approved one is payable until a self-bill claims it (`selfbill_id`), then it is paid by
that self-bill. Self-bill status moves forward only: `created` (allocated, awaiting the
brand's funds: the balance's *confirmed*), `available` (funds received: *available* to
withdraw), `paid` (withdrawn: *paid*, with its payment date).

Creating a self-bill claims conversions first (`update_many` on unclaimed rows only, each
row claimed atomically), then totals exactly the rows it claimed, so two concurrent runs
never bill one conversion twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo import ReturnDocument

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import owned
from loaders.base import (
    Page,
    Scope,
    ScopedLoader,
    conjoin,
    epoch_ms,
    grouped_by,
    in_key_order,
    match_stage,
    paginate,
    utcnow,
)

SELFBILL_STATUSES = ("created", "available", "paid")
PAYMENT_TYPES = ("eft", "iban", "paypal")
PPM = 1_000_000

# A conversion's payment state (the seed's `include_payment_info`): before billing, then
# its self-bill's status.
PAYMENT_STATUSES = ("not_payable", "payable", *SELFBILL_STATUSES)

UNBILLED: dict[str, Any] = {"$or": [{"selfbill_id": ""}, {"selfbill_id": {"$exists": False}}]}


def payment_status(conversion: Mapping[str, Any], bill: Mapping[str, Any] | None) -> str:
    """not_payable (pending / rejected), payable (approved, not billed), or the status of
    the self-bill that claimed it."""
    if conversion.get("selfbill_id"):
        return str(bill["status"]) if bill is not None else "created"
    return "payable" if conversion["status"] == "approved" else "not_payable"


async def selfbills_by_id(db: Database, partner_id: str) -> dict[str, Document]:
    """Every self-bill of one partner, by id (the CSV export's payment columns: a partner
    has a few per month, so one query up front beats one per row)."""
    rows = await db.affiliate_selfbills.find({"partner_id": partner_id}).to_list(None)
    return {str(r["_id"]): r for r in rows}


def unbilled_approved(
    partner_id: str, currency: str | None = None, before_ms: int | None = None
) -> dict[str, Any]:
    return conjoin(
        {"partner_id": partner_id, "status": "approved"},
        UNBILLED,
        {"currency": currency} if currency is not None else None,
        {"ts": {"$lt": before_ms}} if before_ms is not None else None,
    )


async def create_selfbill(
    db: Database,
    partner_id: str,
    currency: str,
    *,
    vat_rate_ppm: int,
    legal_entity: str,
    payment_detail_id: str,
    before_ms: int | None = None,
    bill_id: str | None = None,
) -> Document | None:
    """Bill every approved, unbilled conversion of the partner in `currency` (converted
    before `before_ms`, if given); None when there is none."""
    bill_id = bill_id or new_id("sbl")
    claimed = await db.affiliate_conversions.update_many(
        unbilled_approved(partner_id, currency, before_ms),
        {"$set": {"selfbill_id": bill_id, "modified_ms": epoch_ms(utcnow())}},
    )
    if claimed.modified_count == 0:
        return None
    rows = await db.affiliate_conversions.find(
        {"partner_id": partner_id, "selfbill_id": bill_id},
        projection={"commission": 1, "items": 1},
    ).to_list(None)
    net = sum(int(r["commission"]) for r in rows)
    vat = net * vat_rate_ppm // PPM
    now = utcnow()
    doc: Document = {
        "_id": bill_id, "partner_id": partner_id, "currency": currency, "status": "created",
        "reference": f"S-{partner_id}-{bill_id}", "conversion_count": len(rows),
        "items_in_bill": sum(len(r.get("items", [])) for r in rows), "net_value": net,
        "vat_rate_ppm": vat_rate_ppm, "vat_value": vat, "withheld_tax": 0,
        "total_value": net + vat, "legal_entity": legal_entity,
        "payment_detail_id": payment_detail_id, "created_at": now,
        "created_ms": epoch_ms(now), "payment_ms": 0,
    }  # fmt: skip
    await db.affiliate_selfbills.insert_one(doc)
    return doc


async def advance_selfbill(
    db: Database, bill_id: str, from_status: str, to_status: str
) -> Document | None:
    """Move a self-bill one status forward (None: missing or not in `from_status`)."""
    changes: dict[str, Any] = {"status": to_status}
    if to_status == "paid":
        changes["payment_ms"] = epoch_ms(utcnow())
    return await db.affiliate_selfbills.find_one_and_update(
        {"_id": bill_id, "status": from_status}, {"$set": changes},
        return_document=ReturnDocument.AFTER,
    )  # fmt: skip


class SelfBillByIdLoader(ScopedLoader[str, Document | None]):
    """Self-bills by id, within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = {**self.scope.tenant(), "_id": {"$in": keys}}
        return in_key_order(keys, await self.db.affiliate_selfbills.find(query).to_list(None))


class PaymentDetailByIdLoader(ScopedLoader[str, Document | None]):
    """Payment details by id, within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.affiliate_payment_details.find(query).to_list(None)
        return in_key_order(keys, rows)


class ConversionsBySelfBillLoader(ScopedLoader[str, list[Document]]):
    """The conversions each self-bill pays, newest first (tenant-scoped, one query)."""

    async def load_batch(self, keys: list[str]) -> list[list[Document]]:
        query = {**self.scope.tenant(), "selfbill_id": {"$in": keys}}
        rows = await self.db.affiliate_conversions.find(
            query, sort=[("ts", -1), ("_id", -1)]
        ).to_list(None)
        return grouped_by(keys, rows, "selfbill_id")


async def list_selfbills(
    db: Database, scope: Scope, partner_id: str, statuses: list[str], currency: str | None,
    first: int | None, after: str | None,
) -> Page:  # fmt: skip
    """Newest first."""
    query: dict[str, Any] = owned(scope, partner_id)
    if statuses:
        query["status"] = {"$in": statuses}
    if currency:
        query["currency"] = currency
    return await paginate(db.affiliate_selfbills, query, sort=[("created_ms", -1), ("_id", -1)],
                          first=first, after=after)  # fmt: skip


async def insert_payment_detail(db: Database, fields: Mapping[str, Any]) -> Document:
    now = utcnow()
    doc: Document = {"_id": new_id("pmd"), **fields, "suspended": False, "created_at": now,
                     "created_ms": epoch_ms(now)}  # fmt: skip
    await db.affiliate_payment_details.insert_one(doc)
    return doc


async def list_payment_details(
    db: Database, scope: Scope, partner_id: str, first: int | None, after: str | None
) -> Page:
    return await paginate(db.affiliate_payment_details, owned(scope, partner_id),
                          sort=[("_id", 1)], first=first, after=after)  # fmt: skip


@dataclass
class Balance:
    """One currency's money, in minor units, by stage."""

    currency: str
    pending: int = 0
    approved: int = 0
    confirmed: int = 0
    available: int = 0
    paid: int = 0


@dataclass
class Available:
    """Approved, unbilled commission in one currency (the seed's available commission)."""

    currency: str
    items: int = 0
    value: int = 0
    commission: int = 0
    conversions: int = 0
    extra: dict[str, int] = field(default_factory=dict)


async def balances(db: Database, scope: Scope, partner_id: str) -> list[Balance]:
    """Pending / approved (unbilled) conversion commission and self-bill totals by status,
    per currency: two grouped aggregations."""
    match = owned(scope, partner_id)
    out: dict[str, Balance] = {}
    pipeline: list[dict[str, Any]] = [
        match_stage(match, {"$or": [{"status": "pending"}, {"$and": [{"status": "approved"},
                                                                   UNBILLED]}]}),
        {"$group": {"_id": {"$concat": ["$currency", "|", "$status"]},
                    "sum": {"$sum": "$commission"}}},
    ]  # fmt: skip
    async for row in await db.affiliate_conversions.aggregate(pipeline):
        currency, _, status = str(row["_id"]).partition("|")
        bal = out.setdefault(currency, Balance(currency))
        setattr(bal, status, getattr(bal, status) + int(row["sum"]))
    stage = {"created": "confirmed", "available": "available", "paid": "paid"}
    bills: list[dict[str, Any]] = [
        match_stage(match),
        {"$group": {"_id": {"$concat": ["$currency", "|", "$status"]},
                    "sum": {"$sum": "$net_value"}}},
    ]  # fmt: skip
    async for row in await db.affiliate_selfbills.aggregate(bills):
        currency, _, status = str(row["_id"]).partition("|")
        bal = out.setdefault(currency, Balance(currency))
        name = stage[status]
        setattr(bal, name, getattr(bal, name) + int(row["sum"]))
    return [out[c] for c in sorted(out)]


async def available_commission(db: Database, scope: Scope, partner_id: str) -> list[Available]:
    owned(scope, partner_id)
    pipeline: list[dict[str, Any]] = [
        match_stage(unbilled_approved(partner_id)),
        {"$group": {"_id": "$currency", "n": {"$sum": 1}, "items": {"$sum": {"$size": "$items"}},
                    "value": {"$sum": "$value"}, "commission": {"$sum": "$commission"}}},
    ]  # fmt: skip
    rows = [
        Available(currency=str(r["_id"]), items=int(r["items"]), value=int(r["value"]),
                  commission=int(r["commission"]), conversions=int(r["n"]))
        async for r in await db.affiliate_conversions.aggregate(pipeline)
    ]  # fmt: skip
    return sorted(rows, key=lambda a: a.currency)
