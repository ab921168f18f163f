"""CRM API keys (seed 002): partner staff create and revoke their partner's server keys.

A key is shown once, at creation; only its SHA-256 is stored (`loaders.identity`).
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.context import Info
from gateway.core.errors import BadUserInput, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import identity
from loaders.base import Page
from resolvers.crm.common import write_partner


def key_scopes(scopes: Sequence[str]) -> list[str]:
    """Distinct key scopes, sorted; at least one."""
    chosen = sorted(set(scopes))
    if not chosen:
        raise BadUserInput("give at least one scope", field="scopes")
    return chosen


async def create_crm_key(
    info: Info, name: str, kind: str, scopes: Sequence[str], partner_id: str | None
) -> tuple[Document, str]:
    chosen = key_scopes(scopes)
    identity.validate_client_name(name)
    partner = await write_partner(info, partner_id)
    creator = info.context.principal.subject_id or ""
    return await identity.insert_crm_key(info.context.db, partner, name, kind, chosen, creator)


async def revoke_crm_key(info: Info, key_id: str) -> Document:
    doc = await identity.revoke_crm_key(
        info.context.db, info.context.scope, parse_id(key_id, "cak", "id")
    )
    if doc is None:
        raise NotFound("CRM API key not found.", field="id")
    return doc


async def crm_keys(
    info: Info, partner_id: str | None, first: int | None, after: str | None
) -> Page:
    wanted = parse_id(partner_id, "par", "partnerId") if partner_id is not None else None
    return await identity.list_crm_keys(info.context.db, info.context.scope, wanted, first, after)
