"""Partners (tenants): the one entity every domain hangs off."""

from __future__ import annotations

from typing import Any

from gateway.core.errors import BadUserInput
from gateway.core.ids import new_id
from gateway.core.validation import check_printable
from gateway.storage.mongo import Database, Document
from loaders.base import IndexSpec, Page, Scope, ScopedLoader, in_key_order, paginate, utcnow

INDEXES = [IndexSpec("partners", [("name_lower", 1)], unique=True)]


class PartnerByIdLoader(ScopedLoader[str, Document | None]):
    """Partners by id, limited to the ones the caller may see (its own, or all for operators)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query: dict[str, Any] = {"_id": {"$in": keys}}
        if not self.scope.is_operator:
            allowed = self.scope.principal.partner_id
            query = {"_id": {"$in": [k for k in keys if k == allowed]}}
        rows = await self.db.partners.find(query).to_list(None)
        return in_key_order(keys, rows)


async def list_partners(db: Database, scope: Scope, first: int | None, after: str | None) -> Page:
    query: dict[str, Any] = {} if scope.is_operator else {"_id": scope.principal.partner_id}
    return await paginate(db.partners, query, sort=[("_id", 1)], first=first, after=after)


def validate_partner_name(name: str) -> str:
    name = name.strip()
    if not 2 <= len(name) <= 120:
        raise BadUserInput("must be 2 to 120 characters", field="name")
    return check_printable(name, "name")


async def insert_partner(db: Database, name: str, partner_id: str | None = None) -> Document:
    """Create a partner; a name already taken (case-insensitive) is a DuplicateKeyError."""
    name = validate_partner_name(name)
    doc: Document = {
        "_id": partner_id or new_id("par"),
        "name": name,
        "name_lower": name.lower(),
        "status": "active",
        "created_at": utcnow(),
    }
    await db.partners.insert_one(doc)
    return doc
