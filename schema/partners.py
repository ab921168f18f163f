"""Partner: the tenant every other object belongs to."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.mongo import Document
from resolvers import partners as resolve
from schema.permissions import APP, MEMBER, OPERATOR, STAFF, allow


@strawberry.type(description="A partner (tenant): a company whose data the gateway serves.")
class Partner:
    id: strawberry.ID = strawberry.field(description="Partner id (`par_…`).")
    name: str = strawberry.field(description="Display name, unique across partners.")
    status: str = strawberry.field(description="Lifecycle status (`active`).")
    created_at: datetime = strawberry.field(description="When the partner was onboarded.")

    @classmethod
    def from_doc(cls, doc: Document) -> Partner:
        return cls(
            id=strawberry.ID(doc["_id"]),
            name=doc["name"],
            status=doc["status"],
            created_at=doc["created_at"],
        )


async def load_partner(info: Info, partner_id: str) -> Partner | None:
    """Partner of a child object, through the request's loader (for `…{ partner }` fields)."""
    doc = await resolve.partner_by_id(info, partner_id)
    return Partner.from_doc(doc) if doc else None


@strawberry.type
class Query:
    @strawberry.field(
        description="A partner: your own (no id needed), or any by id for operators.",
        extensions=allow(OPERATOR, STAFF, APP, MEMBER, scope=Scope.PARTNER_READ),
    )
    async def partner(self, info: Info, id: strawberry.ID | None = None) -> Partner:
        return Partner.from_doc(await resolve.partner(info, id))


@strawberry.input(description="A new partner.")
class CreatePartnerInput:
    name: str = strawberry.field(description="Display name, 2..120 characters, unique.")


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Onboard a partner (operator only).", extensions=allow(OPERATOR)
    )
    async def create_partner(self, info: Info, input: CreatePartnerInput) -> Partner:
        return Partner.from_doc(await resolve.create_partner(info, input.name))
