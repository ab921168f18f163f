"""Transaction queries (the seed's untracked / incorrect-commission / declined claims):
list, create (a batch, all or nothing), delete while pending."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.base import from_epoch_ms
from resolvers.affiliate import queries as resolve
from schema.affiliate.common import READ, WRITE
from schema.affiliate.types import Campaign, _campaign
from schema.connection import Connection


@strawberry.enum(description="What a transaction query claims.")
class TransactionQueryType(Enum):
    UNTRACKED = "untracked"
    INCORRECT_COMMISSION = "incorrect_commission"
    DECLINED = "declined"


@strawberry.enum(description="Where a transaction query is.")
class TransactionQueryState(Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@strawberry.type(description="A partner's claim about a sale tracked wrongly or not at all.")
class TransactionQuery:
    id: strawberry.ID = strawberry.field(description="Query id (`tq_…`).")
    type: TransactionQueryType = strawberry.field(description="What it claims.")
    state: TransactionQueryState = strawberry.field(description="PENDING until decided.")
    camref: str = strawberry.field(description="The campaign's camref.")
    conversion_reference: str = strawberry.field(description="The brand's order reference.")
    conversion_value: int = strawberry.field(description="Order value, minor units (0: none).")
    expected_commission: int = strawberry.field(description="Expected commission, minor units.")
    currency: str = strawberry.field(description="Currency of the amounts (ISO 4217).")
    conversion_at: datetime | None = strawberry.field(description="When the sale happened.")
    publisher_reference: str = strawberry.field(description="The partner's reference.")
    notes: str = strawberry.field(description="Notes.")
    created_at: datetime = strawberry.field(description="When it was raised.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.Private[str]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, str(self.partner_id))

    @classmethod
    def from_doc(cls, doc: Document) -> TransactionQuery:
        return cls(
            id=strawberry.ID(doc["_id"]), type=TransactionQueryType(doc["type"]),
            state=TransactionQueryState(doc["state"]), camref=doc["camref"],
            conversion_reference=doc["conversion_reference"],
            conversion_value=int(doc["conversion_value"]),
            expected_commission=int(doc["expected_commission"]), currency=doc["currency"],
            conversion_at=from_epoch_ms(doc["conversion_ms"]) if doc["conversion_ms"] else None,
            publisher_reference=doc["publisher_reference"], notes=doc["notes"],
            created_at=doc["created_at"], partner_id=strawberry.ID(doc["partner_id"]),
            campaign_id=doc["campaign_id"],
        )  # fmt: skip


@strawberry.input(description="A transaction query; required fields depend on its type.")
class TransactionQueryInput:
    type: TransactionQueryType = strawberry.field(description="What it claims.")
    camref: str = strawberry.field(description="The campaign's camref (an APPROVED one).")
    conversion_reference: str = strawberry.field(description="The brand's order reference.")
    conversion_value: int | None = strawberry.field(
        default=None, description="UNTRACKED: order value, minor units."
    )
    expected_commission: int | None = strawberry.field(
        default=None, description="UNTRACKED, INCORRECT_COMMISSION: minor units, ≤ value."
    )
    currency: str | None = strawberry.field(default=None, description="Default: campaign's.")
    conversion_at: datetime | None = strawberry.field(
        default=None, description="UNTRACKED: when the sale happened (not in the future)."
    )
    publisher_reference: str = strawberry.field(default="", description="Partner reference.")
    notes: str = strawberry.field(default="", description="≤1000 characters.")


@strawberry.type
class Query:
    @strawberry.field(description="The partner's transaction queries, newest first.",
                      extensions=READ)  # fmt: skip
    async def transaction_queries(
        self, info: Info, partner_id: strawberry.ID | None = None,
        types: list[TransactionQueryType] | None = None,
        states: list[TransactionQueryState] | None = None,
        campaign_id: strawberry.ID | None = None, conversion_reference: str | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[TransactionQuery]:  # fmt: skip
        page = await resolve.listing(
            info, partner_id, [t.value for t in types or []], [s.value for s in states or []],
            campaign_id, conversion_reference, first, after,
        )  # fmt: skip
        return Connection.of(page, TransactionQuery.from_doc)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Raise 1..50 transaction queries; any invalid one rejects the batch. A "
        "query about a tracked conversion marks it disputed.",
        extensions=WRITE,
    )
    async def create_transaction_queries(
        self, info: Info, queries: list[TransactionQueryInput],
        partner_id: strawberry.ID | None = None,
    ) -> list[TransactionQuery]:  # fmt: skip
        rows = [{**vars(q), "type": q.type.value} for q in queries]
        return [TransactionQuery.from_doc(d) for d in await resolve.create(info, partner_id, rows)]

    @strawberry.mutation(description="Delete a PENDING transaction query (decided: CONFLICT).",
                         extensions=WRITE)  # fmt: skip
    async def delete_transaction_query(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(await resolve.delete(info, id))
