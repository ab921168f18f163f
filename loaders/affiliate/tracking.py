"""Tracking links."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import ReturnDocument

from gateway.core.errors import BadUserInput
from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import owned
from loaders.affiliate.reference import LINK_PARAM_KEYS, validate_text
from loaders.base import (
    Page,
    Scope,
    ScopedLoader,
    epoch_ms,
    in_key_order,
    paginate,
    utcnow,
)

# --- tracking links ------------------------------------------------------------------


def validate_link_params(params: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for key, value in params:
        if key not in LINK_PARAM_KEYS:
            allowed = ", ".join(sorted(LINK_PARAM_KEYS))
            raise BadUserInput(f"unknown parameter {key!r} (allowed: {allowed})", field="params")
        if key in seen:
            raise BadUserInput(f"parameter {key!r} given twice", field="params")
        seen.add(key)
        out.append({"key": key, "value": validate_text(value, "params", 255, required=True)})
    if len(out) > 20:
        raise BadUserInput("at most 20 parameters", field="params")
    return out


async def insert_link(db: Database, fields: Mapping[str, Any]) -> Document:
    now = utcnow()
    doc: Document = {"_id": new_id("lnk"), **fields, "created_at": now, "updated_ms": epoch_ms(now)}
    await db.affiliate_links.insert_one(doc)
    return doc


async def update_link(
    db: Database, scope: Scope, link_id: str, changes: Mapping[str, Any]
) -> Document | None:
    return await db.affiliate_links.find_one_and_update(
        {**scope.tenant(), "_id": link_id},
        {"$set": {**changes, "updated_ms": epoch_ms(utcnow())}},
        return_document=ReturnDocument.AFTER,
    )


class LinkByIdLoader(ScopedLoader[str, Document | None]):
    """Tracking links by id, within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.affiliate_links.find(query).to_list(None)
        return in_key_order(keys, rows)


async def list_links(
    db: Database,
    scope: Scope,
    partner_id: str,
    campaign_id: str | None,
    first: int | None,
    after: str | None,
) -> Page:
    query: dict[str, Any] = owned(scope, partner_id)
    if campaign_id is not None:
        query["campaign_id"] = campaign_id
    return await paginate(db.affiliate_links, query, sort=[("_id", 1)], first=first, after=after)
