"""Transaction queries: validate a batch (all or nothing), list, delete pending ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import queries
from loaders.base import Page, epoch_ms, utcnow
from resolvers.affiliate.common import partner_for

MAX_BATCH = 50
# What each type must carry (the seed: untracked needs value, commission and date).
REQUIRED = {
    "untracked": ("conversion_value", "expected_commission", "conversion_at"),
    "incorrect_commission": ("expected_commission",),
    "declined": (),
}
_CAMEL = {"conversion_value": "conversionValue", "expected_commission": "expectedCommission",
          "conversion_at": "conversionAt"}  # fmt: skip


def _one(row: Mapping[str, Any], campaign: Document) -> dict[str, Any]:
    kind = row["type"]
    for key in REQUIRED[kind]:
        if row.get(key) is None:
            raise BadUserInput(f"{kind} queries need {_CAMEL[key]}", field=_CAMEL[key])
    value, commission = row.get("conversion_value"), row.get("expected_commission")
    for key, amount in (("conversionValue", value), ("expectedCommission", commission)):
        if amount is not None and not 0 <= amount <= 10**12:
            raise BadUserInput("minor units, >= 0", field=key)
    if value is not None and commission is not None and commission > value:
        raise BadUserInput("cannot exceed the conversion value", field="expectedCommission")
    moment = row.get("conversion_at")
    if moment is not None and moment > utcnow():
        raise BadUserInput("cannot be in the future", field="conversionAt")
    currency = row.get("currency")
    return {
        "type": kind, "campaign_id": campaign["_id"], "camref": campaign["camref"],
        "conversion_reference": data.validate_text(row["conversion_reference"],
                                                   "conversionReference", 255, required=True),
        "conversion_value": value if value is not None else 0,
        "expected_commission": commission if commission is not None else 0,
        "currency": data.validate_currency(currency) if currency else campaign["currency"],
        "conversion_ms": epoch_ms(moment) if moment else 0,
        "publisher_reference": data.validate_text(row.get("publisher_reference") or "",
                                                  "publisherReference", 255),
        "notes": data.validate_text(row.get("notes") or "", "notes", 1000),
    }  # fmt: skip


async def create(
    info: Info, partner_id: str | None, rows: Sequence[Mapping[str, Any]]
) -> list[Document]:
    """Create 1..50 queries, or none: any invalid row rejects the batch."""
    pid = partner_for(info.context.scope, partner_id)
    if not 1 <= len(rows) <= MAX_BATCH:
        raise BadUserInput(f"1 to {MAX_BATCH} queries", field="queries")
    camrefs = sorted({str(r["camref"]).strip() for r in rows})
    campaigns = await queries.campaigns_by_camref(info.context.db, camrefs)
    stored = []
    for row in rows:
        campaign = campaigns.get(str(row["camref"]).strip())
        if campaign is None:
            raise NotFound("No campaign has this camref.", field="camref")
        status = await data.participation_status(info.context.db, pid, campaign["_id"])
        if status != "approved":
            raise NotFound("No campaign has this camref.", field="camref")
        stored.append(_one(row, campaign))
    return await queries.insert_queries(info.context.db, pid, stored)


async def delete(info: Info, query_id: str) -> str:
    qid = parse_id(query_id, "tq")
    outcome = await queries.delete_pending(info.context.db, info.context.scope, qid)
    if outcome == "missing":
        raise NotFound("Transaction query not found.")
    if outcome == "decided":
        raise Conflict("A decided transaction query cannot be deleted.")
    return qid


async def listing(
    info: Info, partner_id: str | None, types: Sequence[str], states: Sequence[str],
    campaign_id: str | None, conversion_reference: str | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    pid = partner_for(info.context.scope, partner_id)
    cid = parse_id(campaign_id, "cmp", "campaignId") if campaign_id else None
    return await queries.list_queries(info.context.db, info.context.scope, pid, types, states,
                                      cid, conversion_reference, first, after)  # fmt: skip
