"""Transaction queries: a partner's claim about a sale the network tracked wrongly or not
at all (the seed's types: untracked, incorrect commission, declined). Tenant-owned; a
pending query can be deleted, a decided one cannot. A query about a tracked conversion
(same partner and campaign, same conversion reference) marks that conversion disputed,
which the reports show as `was_disputed`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import owned
from loaders.base import Page, Scope, epoch_ms, paginate, utcnow

TYPES = ("untracked", "incorrect_commission", "declined")
STATES = ("pending", "approved", "rejected")


async def insert_queries(
    db: Database, partner_id: str, rows: Sequence[Mapping[str, Any]]
) -> list[Document]:
    now = utcnow()
    docs: list[Document] = [
        {"_id": new_id("tq"), "partner_id": partner_id, **row, "state": "pending",
         "created_at": now, "created_ms": epoch_ms(now)}
        for row in rows
    ]  # fmt: skip
    await db.affiliate_transaction_queries.insert_many(docs)
    for doc in docs:
        if doc["type"] != "untracked":
            await db.affiliate_conversions.update_many(
                {"partner_id": partner_id, "campaign_id": doc["campaign_id"],
                 "conversion_reference": doc["conversion_reference"]},
                {"$set": {"was_disputed": 1, "modified_ms": epoch_ms(now)}},
            )  # fmt: skip
    return docs


async def delete_pending(db: Database, scope: Scope, query_id: str) -> str:
    """'deleted', 'decided' (not pending: kept) or 'missing' (none in the tenant)."""
    result = await db.affiliate_transaction_queries.delete_one(
        {**scope.tenant(), "_id": query_id, "state": "pending"}
    )
    if result.deleted_count:
        return "deleted"
    exists = await db.affiliate_transaction_queries.count_documents(
        {**scope.tenant(), "_id": query_id}
    )
    return "decided" if exists else "missing"


async def list_queries(
    db: Database, scope: Scope, partner_id: str, types: Sequence[str], states: Sequence[str],
    campaign_id: str | None, conversion_reference: str | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    """Newest first."""
    query: dict[str, Any] = owned(scope, partner_id)
    if types:
        query["type"] = {"$in": list(types)}
    if states:
        query["state"] = {"$in": list(states)}
    if campaign_id:
        query["campaign_id"] = campaign_id
    if conversion_reference:
        query["conversion_reference"] = conversion_reference
    return await paginate(db.affiliate_transaction_queries, query,
                          sort=[("created_ms", -1), ("_id", -1)], first=first,
                          after=after)  # fmt: skip


async def campaigns_by_camref(db: Database, camrefs: Sequence[str]) -> dict[str, Document]:
    rows = await db.affiliate_campaigns.find({"camref": {"$in": list(camrefs)}}).to_list(None)
    return {r["camref"]: r for r in rows}
