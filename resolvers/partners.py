"""Partners: the tenant root."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import partners as data


async def partner(info: Info, partner_id: str | None) -> Document:
    """The caller's own partner, or (operators) the one named."""
    scope = info.context.scope
    if partner_id is None:
        if scope.is_operator:
            raise BadUserInput("operators must name the partner", field="id")
        partner_id = scope.partner_id_for_write()
    doc: Document | None = await info.context.loaders.get(data.PartnerByIdLoader).load(
        parse_id(partner_id, "par")
    )
    if doc is None:
        raise NotFound("Partner not found.")
    return doc


async def partner_by_id(info: Info, partner_id: str) -> Document | None:
    loaded: Document | None = await info.context.loaders.get(data.PartnerByIdLoader).load(
        partner_id
    )
    return loaded


async def create_partner(info: Info, name: str) -> Document:
    try:
        doc = await data.insert_partner(info.context.db, name)
    except DuplicateKeyError:
        raise Conflict("A partner with this name exists.", field="name") from None
    info.context.loaders.get(data.PartnerByIdLoader).prime(doc["_id"], doc)
    return doc
