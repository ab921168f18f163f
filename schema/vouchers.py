"""Vouchers: partner staff generate and revoke codes; the app validates them."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.storage.mongo import Document
from loaders import vouchers as data
from loaders.base import from_epoch_ms
from resolvers import vouchers as resolve
from schema.connection import Connection
from schema.permissions import APP, OPERATOR, STAFF, allow

if TYPE_CHECKING:
    from schema.members import Member


@strawberry.enum(description="Lifecycle status of a voucher (expiry is computed at read time).")
class VoucherStatus(Enum):
    ACTIVE = "active"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    REVOKED = "revoked"


@strawberry.enum(description="Why a voucher code cannot be redeemed.")
class VoucherInvalidReason(Enum):
    UNKNOWN = "UNKNOWN"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    ALREADY_USED = "ALREADY_USED"


@strawberry.type(description="A voucher code a partner hands out; it admits one member.")
class Voucher:
    id: strawberry.ID = strawberry.field(description="Voucher id (`vch_…`).")
    code: str = strawberry.field(description="The code, `PREFIX-XXXXXX` (no 0/O/1/I).")
    status: VoucherStatus = strawberry.field(description="Status as of now.")
    expires_at: datetime | None = strawberry.field(description="Expiry; null: never.")
    created_at: datetime = strawberry.field(description="When it was generated.")
    redeemed_at: datetime | None = strawberry.field(description="When a member redeemed it.")
    revoked_at: datetime | None = strawberry.field(description="When staff revoked it.")
    redeemed_by_id: strawberry.Private[str]

    @strawberry.field(description="The member who redeemed it.")
    async def redeemed_by(
        self, info: Info
    ) -> Annotated[Member, strawberry.lazy("schema.members")] | None:
        from schema.members import load_member

        return await load_member(info, self.redeemed_by_id) if self.redeemed_by_id else None

    @classmethod
    def from_doc(cls, doc: Document) -> Voucher:
        expires_at = doc["expires_at"]
        return cls(
            id=strawberry.ID(doc["_id"]),
            code=doc["code"],
            status=VoucherStatus(data.status_of(doc)),
            expires_at=None if expires_at == data.NEVER else expires_at,
            created_at=doc["created_at"],
            redeemed_at=from_epoch_ms(doc.get("redeemed_ms") or None),
            revoked_at=from_epoch_ms(doc.get("revoked_ms") or None),
            redeemed_by_id=doc.get("redeemed_by") or "",
        )


@strawberry.type(description="Voucher counts per status (as of now) and the redemption rate.")
class VoucherStats:
    total: int = strawberry.field(description="All vouchers.")
    active: int = strawberry.field(description="Redeemable now.")
    redeemed: int = strawberry.field(description="Redeemed by a member.")
    expired: int = strawberry.field(description="Past their expiry, never redeemed.")
    revoked: int = strawberry.field(description="Revoked by staff.")
    redemption_rate: float = strawberry.field(
        description="Redeemed as a percentage of all vouchers, one decimal (50.0)."
    )


@strawberry.type(description="The vouchers just generated.")
class GenerateVouchersPayload:
    vouchers: list[Voucher] = strawberry.field(description="The new vouchers, all active.")


@strawberry.type(description="Whether a code can be redeemed now, and if not, why.")
class VoucherValidation:
    valid: bool = strawberry.field(description="True when `registerMember` would accept the code.")
    reason: VoucherInvalidReason | None = strawberry.field(description="Why not; null when valid.")
    expires_at: datetime | None = strawberry.field(description="Expiry of a valid code, if any.")


@strawberry.input(description="How many vouchers to generate, and how.")
class GenerateVouchersInput:
    quantity: int = strawberry.field(description="1..500 codes.")
    prefix: str | None = strawberry.field(
        default=None, description="Code prefix, 1..12 of A-Z and 0-9 (upper-cased)."
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="Expiry, in the future; none means the codes never expire."
    )
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Partner the vouchers belong to (operators only)."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="Vouchers, newest first; filter by status (as of now) and code fragment.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.VOUCHERS_READ),
    )
    async def vouchers(
        self, info: Info, status: VoucherStatus | None = None, search: str | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[Voucher]:  # fmt: skip
        page = await resolve.vouchers(info, status.value if status else None, search, first, after)
        return Connection.of(page, Voucher.from_doc)

    @strawberry.field(
        description="Voucher counts per status and the redemption rate.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.VOUCHERS_READ),
    )
    async def voucher_stats(self, info: Info) -> VoucherStats:
        counts = await resolve.voucher_stats(info)
        total = counts["total"]
        rate = round(counts[data.REDEEMED] * 100 / total, 1) if total else 0.0
        return VoucherStats(
            total=total, active=counts[data.ACTIVE], redeemed=counts[data.REDEEMED],
            expired=counts[data.EXPIRED], revoked=counts[data.REVOKED], redemption_rate=rate,
        )  # fmt: skip


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Generate 1..500 unique voucher codes.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.VOUCHERS_WRITE),
    )
    async def generate_vouchers(
        self, info: Info, input: GenerateVouchersInput
    ) -> GenerateVouchersPayload:
        docs = await resolve.generate_vouchers(
            info, input.quantity, input.prefix, input.expires_at, input.partner_id
        )
        return GenerateVouchersPayload(vouchers=[Voucher.from_doc(d) for d in docs])

    @strawberry.mutation(
        description="Revoke an active voucher; a redeemed one is a CONFLICT.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.VOUCHERS_WRITE),
    )
    async def revoke_voucher(self, info: Info, id: strawberry.ID) -> Voucher:
        return Voucher.from_doc(await resolve.revoke_voucher(info, id))

    @strawberry.mutation(
        description="Check a code before registration (app key); other partners' codes: UNKNOWN.",
        extensions=allow(APP),
    )
    async def validate_voucher(self, info: Info, code: str) -> VoucherValidation:
        result = await resolve.validate_voucher(info, code)
        return VoucherValidation(
            valid=result.valid,
            reason=VoucherInvalidReason(result.reason) if result.reason else None,
            expires_at=result.expires_at,
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Your partner's vouchers as members redeem them (partner staff).",
        extensions=allow(STAFF, scope=Scope.VOUCHERS_READ),
    )
    async def voucher_redeemed(self, info: Info) -> AsyncGenerator[Voucher, None]:
        async for doc in resolve.redeemed_vouchers(info):
            yield Voucher.from_doc(doc)
