"""Joining campaigns: versioned campaign terms with per-partner acknowledgements, and
invitations (a brand asks a partner in; the partner accepts or declines).

Terms are network-wide: each `createCampaignTerms` adds a version per (campaign, locale);
the newest is in force. Partners read the version in their locale, else `en`, else
`en_us`, else the newest of any locale (the seed's fallback). Acknowledgements and
invitations are tenant-owned, one per (partner, terms version) and (partner, campaign).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import allowed_partners, owned
from loaders.base import (
    Page,
    Scope,
    ScopedLoader,
    conjoin,
    epoch_ms,
    grouped_by,
    in_key_order,
    paginate,
    utcnow,
)

INVITATION_STATUSES = ("open", "accepted", "declined")
FALLBACK_LOCALES = ("en", "en_us")


async def insert_terms(
    db: Database, campaign_id: str, locale: str, title: str, content: str
) -> Document:
    """A new version of a campaign's terms in one locale (versions count from 1)."""
    latest = await db.affiliate_terms.find_one(
        {"campaign_id": campaign_id, "locale": locale}, sort=[("version", -1)],
        projection={"version": 1},
    )  # fmt: skip
    now = utcnow()
    doc: Document = {
        "_id": new_id("trm"), "campaign_id": campaign_id, "locale": locale, "title": title,
        "content": content, "version": int(latest["version"]) + 1 if latest else 1,
        "created_at": now, "created_ms": epoch_ms(now),
    }  # fmt: skip
    await db.affiliate_terms.insert_one(doc)
    return doc


def current_terms(versions: Sequence[Document], locale: str | None) -> Document | None:
    """The version in force for a reader of `locale` (see the module docstring)."""
    if not versions:
        return None
    newest: dict[str, Document] = {}
    for doc in versions:
        seen = newest.get(doc["locale"])
        if seen is None or int(doc["version"]) > int(seen["version"]):
            newest[doc["locale"]] = doc
    for candidate in (locale, *FALLBACK_LOCALES):
        if candidate and candidate in newest:
            return newest[candidate]
    return max(newest.values(), key=lambda d: (int(d["created_ms"]), str(d["_id"])))


def in_force(versions: Sequence[Document]) -> set[str]:
    """Ids of the newest version of each locale (what a partner may accept)."""
    newest: dict[str, Document] = {}
    for doc in versions:
        seen = newest.get(doc["locale"])
        if seen is None or int(doc["version"]) > int(seen["version"]):
            newest[doc["locale"]] = doc
    return {d["_id"] for d in newest.values()}


class TermsByCampaignLoader(ScopedLoader[str, list[Document]]):
    """Every terms version of each campaign (network-wide, one query)."""

    async def load_batch(self, keys: list[str]) -> list[list[Document]]:
        rows = await self.db.affiliate_terms.find(
            {"campaign_id": {"$in": keys}}, sort=[("created_ms", 1), ("_id", 1)]
        ).to_list(None)
        return grouped_by(keys, rows, "campaign_id")


class TermsByIdLoader(ScopedLoader[str, Document | None]):
    """Terms versions by id (network-wide, one query)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        rows = await self.db.affiliate_terms.find({"_id": {"$in": keys}}).to_list(None)
        return in_key_order(keys, rows)


class AckByPartnerTermsLoader(ScopedLoader[tuple[str, str], Document | None]):
    """A partner's acknowledgement of a terms version, keyed (partner, terms id)."""

    async def load_batch(self, keys: list[tuple[str, str]]) -> list[Document | None]:
        self.scope.tenant()
        query = {
            "partner_id": {"$in": allowed_partners(self.scope, (p for p, _ in keys))},
            "terms_id": {"$in": sorted({t for _, t in keys})},
        }
        rows = await self.db.affiliate_terms_acks.find(query).to_list(None)
        by_key = {(r["partner_id"], r["terms_id"]): r for r in rows}
        return [by_key.get(k) for k in keys]


async def list_terms(
    db: Database, campaign_id: str | None, locale: str | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    """Terms versions, newest first."""
    query = conjoin(
        {"campaign_id": campaign_id} if campaign_id else None,
        {"locale": locale} if locale else None,
    )
    return await paginate(db.affiliate_terms, query, sort=[("created_ms", -1), ("_id", -1)],
                          first=first, after=after)  # fmt: skip


async def insert_ack(db: Database, partner_id: str, terms: Document, created_by: str) -> Document:
    """Record that the partner acknowledged a version; DuplicateKeyError when it did."""
    now = utcnow()
    doc: Document = {
        "_id": new_id("tak"), "partner_id": partner_id, "terms_id": terms["_id"],
        "campaign_id": terms["campaign_id"], "created_by": created_by, "created_at": now,
        "created_ms": epoch_ms(now),
    }  # fmt: skip
    await db.affiliate_terms_acks.insert_one(doc)
    return doc


async def list_acks(
    db: Database, scope: Scope, partner_id: str, campaign_id: str | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    query: dict[str, Any] = owned(scope, partner_id)
    if campaign_id:
        query["campaign_id"] = campaign_id
    return await paginate(db.affiliate_terms_acks, query, sort=[("_id", 1)], first=first,
                          after=after)  # fmt: skip


# --- invitations ---------------------------------------------------------------------


async def insert_invitation(db: Database, partner_id: str, campaign: Document) -> Document:
    """Invite a partner; DuplicateKeyError when it was invited to the campaign before."""
    now = utcnow()
    doc: Document = {
        "_id": new_id("inv"), "partner_id": partner_id, "campaign_id": campaign["_id"],
        "brand_id": campaign["brand_id"], "status": "open", "created_at": now,
        "created_ms": epoch_ms(now), "decided_ms": 0,
    }  # fmt: skip
    await db.affiliate_invitations.insert_one(doc)
    return doc


async def open_invitations(
    db: Database, partner_id: str, campaign_ids: Sequence[str]
) -> dict[str, Document]:
    rows = await db.affiliate_invitations.find(
        {"partner_id": partner_id, "campaign_id": {"$in": list(campaign_ids)}, "status": "open"}
    ).to_list(None)
    return {r["campaign_id"]: r for r in rows}


async def decide_invitation(db: Database, invitation: Document, status: str) -> Document | None:
    """Close an open invitation (None when someone else decided it meanwhile)."""
    decided = {"status": status, "decided_ms": epoch_ms(utcnow())}
    result = await db.affiliate_invitations.update_one(
        {"_id": invitation["_id"], "status": "open"}, {"$set": decided}
    )
    return {**invitation, **decided} if result.modified_count == 1 else None


async def list_invitations(
    db: Database, scope: Scope, partner_id: str, statuses: Sequence[str], first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    """Newest first."""
    query: dict[str, Any] = owned(scope, partner_id)
    if statuses:
        query["status"] = {"$in": list(statuses)}
    return await paginate(db.affiliate_invitations, query,
                          sort=[("created_ms", -1), ("_id", -1)], first=first,
                          after=after)  # fmt: skip


async def invitations_by_id(db: Database, scope: Scope, ids: Sequence[str]) -> list[Document]:
    query = {**scope.tenant(), "_id": {"$in": list(ids)}}
    return await db.affiliate_invitations.find(query).to_list(None)
