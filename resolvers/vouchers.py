"""Vouchers: generate, list, count, revoke, and validate a code for the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from gateway.context import Info
from gateway.core.errors import Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import vouchers as data
from loaders.base import Page, utcnow
from loaders.members import MemberByIdLoader
from resolvers.live import inserted

UNKNOWN, EXPIRED, REVOKED, ALREADY_USED = "UNKNOWN", "EXPIRED", "REVOKED", "ALREADY_USED"


@dataclass(frozen=True)
class Validation:
    """Whether a code can be redeemed now, and why not."""

    valid: bool
    reason: str | None
    expires_at: datetime | None


def invalid_reason(doc: Document | None) -> str | None:
    """Why this voucher cannot be redeemed now (None when it can)."""
    if doc is None:
        return UNKNOWN
    status = data.status_of(doc)
    return {
        data.ACTIVE: None,
        data.EXPIRED: EXPIRED,
        data.REVOKED: REVOKED,
        data.REDEEMED: ALREADY_USED,
    }[status]


async def generate_vouchers(
    info: Info, quantity: int, prefix: str | None, expires_at: datetime | None,
    partner_id: str | None,
) -> list[Document]:  # fmt: skip
    requested = parse_id(partner_id, "par", "partnerId") if partner_id is not None else None
    clean_prefix, expiry = data.validate_generation(quantity, prefix, expires_at, utcnow())
    owner = info.context.scope.partner_id_for_write(requested)
    docs = await data.generate_vouchers(info.context.db, owner, quantity, clean_prefix, expiry)
    loader = info.context.loaders.get(data.VoucherByIdLoader)
    for doc in docs:
        loader.prime(doc["_id"], doc)
    return docs


async def vouchers(
    info: Info, status: str | None, search: str | None, first: int | None, after: str | None
) -> Page:
    scope = info.context.scope
    return await data.list_vouchers(info.context.db, scope, status, search, first, after)


async def voucher_stats(info: Info) -> dict[str, int]:
    return await data.voucher_stats(info.context.db, info.context.scope)


async def revoke_voucher(info: Info, voucher_id: str) -> Document:
    voucher_id = parse_id(voucher_id, "vch")
    doc = await data.revoke_voucher(info.context.db, info.context.scope, voucher_id)
    if doc is None:
        raise NotFound("Voucher not found.")
    if doc["status"] == data.REDEEMED:
        raise Conflict("A redeemed voucher cannot be revoked.")
    return doc


async def validate_voucher(info: Info, code: str) -> Validation:
    """The app asks about a code: valid, or the reason; other partners' codes are UNKNOWN."""
    normalized = data.normalize_code(code)
    partner_id = info.context.scope.partner_id_for_write()
    doc = await data.find_by_code(info.context.db, partner_id, normalized) if normalized else None
    reason = invalid_reason(doc)
    expires_at = None
    if doc is not None and reason is None and doc["expires_at"] != data.NEVER:
        expires_at = doc["expires_at"]
    return Validation(valid=reason is None, reason=reason, expires_at=expires_at)


# --- live ----------------------------------------------------------------------------


async def redeemed_vouchers(info: Info) -> AsyncIterator[Document]:
    """`voucherRedeemed`: the caller's partner's vouchers as members redeem them.

    A redemption is committed when its member is stored: the voucher's own update is undone
    when the member cannot be created (email taken), so the members collection is the
    source of truth, and the voucher is read fresh for each event.
    """
    async for member in inserted(info, "members"):
        voucher: Document | None = await info.context.loaders.get(data.VoucherByIdLoader).load(
            member["voucher_id"]
        )
        if voucher is not None and voucher.get("redeemed_by") == member["_id"]:
            info.context.loaders.get(MemberByIdLoader).prime(member["_id"], member)
            yield voucher
