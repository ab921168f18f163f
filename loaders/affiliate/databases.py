"""The partner's databases (the seed's publisher databases: the audiences a partner mails
or otherwise reaches, with size, gender split and age range). Tenant-owned like websites."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import owned
from loaders.base import Page, Scope, ScopedLoader, epoch_ms, in_key_order, paginate, utcnow


async def insert_databases(
    db: Database, partner_id: str, rows: Sequence[Mapping[str, Any]]
) -> list[Document]:
    now = utcnow()
    docs: list[Document] = [
        {"_id": new_id("pdb"), "partner_id": partner_id, **row, "created_at": now,
         "created_ms": epoch_ms(now), "updated_ms": epoch_ms(now)}
        for row in rows
    ]  # fmt: skip
    await db.affiliate_databases.insert_many(docs)
    return docs


async def update_database(
    db: Database, scope: Scope, database_id: str, changes: Mapping[str, Any]
) -> bool:
    done = await db.affiliate_databases.update_one(
        {**scope.tenant(), "_id": database_id},
        {"$set": {**changes, "updated_ms": epoch_ms(utcnow())}},
    )
    return done.matched_count == 1


async def list_databases(
    db: Database, scope: Scope, partner_id: str, first: int | None, after: str | None
) -> Page:
    return await paginate(db.affiliate_databases, owned(scope, partner_id), sort=[("_id", 1)],
                          first=first, after=after)  # fmt: skip


class DatabaseByIdLoader(ScopedLoader[str, Document | None]):
    """Partner databases by id, within the caller's tenant (one query)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.affiliate_databases.find(query).to_list(None)
        return in_key_order(keys, rows)
