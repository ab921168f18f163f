"""Partnerize Tags (seed 001): a named script tag a partner embeds once in its websites,
serving the features enabled on it. Tenant-owned like websites; the enabled features are
embedded in the tag document (a tag has a handful at most), so a tag and its features are
one read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import owned
from loaders.base import Page, Scope, ScopedLoader, epoch_ms, in_key_order, paginate, utcnow


@dataclass(frozen=True)
class TagFeature:
    """A feature a tag can serve; `config_keys` are the settings it accepts."""

    name: str
    description: str
    config_keys: tuple[str, ...] = ()


# The seed's catalogue (List Partnerize Tag Features): one feature, without settings.
FEATURES: tuple[TagFeature, ...] = (
    TagFeature("tracking-link-generation", "Tracking link generation from standard brand URLs"),
)
FEATURES_BY_NAME = {f.name: f for f in FEATURES}


async def insert_tag(db: Database, partner_id: str, name: str, actor: str) -> Document:
    now = utcnow()
    doc: Document = {
        "_id": new_id("ptg"), "partner_id": partner_id, "name": name, "active": True,
        "features": [], "created_at": now, "created_by": actor, "updated_ms": epoch_ms(now),
        "updated_by": actor,
    }  # fmt: skip
    await db.affiliate_tags.insert_one(doc)
    return doc


async def update_tag(
    db: Database, scope: Scope, tag_id: str, changes: dict[str, Any], actor: str
) -> Document | None:
    """Apply `changes` to one of the caller's tags; the updated document, None if absent."""
    stamp = {"updated_ms": epoch_ms(utcnow()), "updated_by": actor}
    return await db.affiliate_tags.find_one_and_update(
        {**scope.tenant(), "_id": tag_id},
        {"$set": {**changes, **stamp}},
        return_document=ReturnDocument.AFTER,
    )


async def list_tags(
    db: Database, scope: Scope, partner_id: str, active: bool | None, first: int | None,
    after: str | None,
) -> Page:
    query: dict[str, Any] = owned(scope, partner_id)
    if active is not None:
        query["active"] = active
    return await paginate(db.affiliate_tags, query, sort=[("_id", 1)], first=first, after=after)


class TagByIdLoader(ScopedLoader[str, Document | None]):
    """Partnerize Tags by id, within the caller's tenant (one query)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.affiliate_tags.find(query).to_list(None)
        return in_key_order(keys, rows)
