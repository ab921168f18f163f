"""The partner's databases (the seed's publisher databases): list, one by id, create and
update one or more per call."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.context import Info
from gateway.core.errors import NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders.affiliate import databases as data
from loaders.base import from_epoch_ms
from resolvers.affiliate import databases as resolve
from resolvers.affiliate.common import partner_for
from schema.affiliate.common import PARTNER_ID_HELP, READ, WRITE, sent
from schema.connection import Connection


@strawberry.type(description="An audience the partner reaches (the seed's partner database).")
class PartnerDatabase:
    id: strawberry.ID = strawberry.field(description="Database id (`pdb_…`).")
    name: str = strawberry.field(description="Name (seed `database_name`).")
    creation_method: str = strawberry.field(description="How it was built (e.g. Email).")
    size: int = strawberry.field(description="Number of contacts.")
    female_percent: float = strawberry.field(description="Share of women, 0..100 (`female`).")
    male_percent: float = strawberry.field(description="Share of men, 0..100 (`male`).")
    min_age: int | None = strawberry.field(description="Youngest age, if known.")
    max_age: int | None = strawberry.field(description="Oldest age, if known.")
    active: bool = strawberry.field(description="In use (seed `active`).")
    created_at: datetime = strawberry.field(description="When it was added.")
    updated_at: datetime = strawberry.field(description="Last change.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")

    @classmethod
    def from_doc(cls, doc: Document) -> PartnerDatabase:
        return cls(
            id=strawberry.ID(doc["_id"]), name=doc["name"], creation_method=doc["creation_method"],
            size=int(doc["size"]), female_percent=float(doc.get("female_percent", 0)),
            male_percent=float(doc.get("male_percent", 0)), min_age=doc.get("min_age"),
            max_age=doc.get("max_age"), active=bool(doc.get("active")),
            created_at=doc["created_at"],
            updated_at=from_epoch_ms(doc.get("updated_ms")) or doc["created_at"],
            partner_id=strawberry.ID(doc["partner_id"]),
        )  # fmt: skip


@strawberry.input(description="A database to add.")
class PartnerDatabaseInput:
    name: str = strawberry.field(description="1..120 printable characters.")
    creation_method: str = strawberry.field(description="1..60 printable characters.")
    size: int = strawberry.field(description="Contacts, 0..10,000,000,000.")
    female_percent: float | None = strawberry.field(default=None, description="0..100.")
    male_percent: float | None = strawberry.field(
        default=None, description="0..100; with femalePercent at most 100."
    )
    min_age: int | None = strawberry.field(default=None, description="0..120, <= maxAge.")
    max_age: int | None = strawberry.field(default=None, description="0..120.")
    active: bool | None = strawberry.field(default=None, description="Default true.")


@strawberry.input(description="Changes to one database; omitted fields stay.")
class UpdatePartnerDatabaseInput:
    id: strawberry.ID = strawberry.field(description="The database (`pdb_…`).")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="1..120.")
    creation_method: str | None = strawberry.field(default=strawberry.UNSET, description="1..60.")
    size: int | None = strawberry.field(default=strawberry.UNSET, description="Contacts.")
    female_percent: float | None = strawberry.field(default=strawberry.UNSET, description="0..100.")
    male_percent: float | None = strawberry.field(default=strawberry.UNSET, description="0..100.")
    min_age: int | None = strawberry.field(
        default=strawberry.UNSET, description="0..120; null clears it."
    )
    max_age: int | None = strawberry.field(
        default=strawberry.UNSET, description="0..120; null clears it."
    )
    active: bool | None = strawberry.field(default=strawberry.UNSET, description="In use.")


@strawberry.type
class Query:
    @strawberry.field(description="The partner's databases, by id.", extensions=READ)
    async def partner_databases(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PartnerDatabase]:
        pid = partner_for(info.context.scope, partner_id)
        page = await data.list_databases(info.context.db, info.context.scope, pid, first, after)
        return Connection.of(page, PartnerDatabase.from_doc)

    @strawberry.field(description="One of the partner's databases.", extensions=READ)
    async def partner_database(self, info: Info, id: strawberry.ID) -> PartnerDatabase:
        doc = await info.context.loaders.get(data.DatabaseByIdLoader).load(parse_id(id, "pdb"))
        if doc is None:
            raise NotFound("Database not found.")
        return PartnerDatabase.from_doc(doc)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Add one or more databases (1..50) to the partner. " + PARTNER_ID_HELP,
        extensions=WRITE,
    )
    async def create_partner_databases(
        self,
        info: Info,
        databases: list[PartnerDatabaseInput],
        partner_id: strawberry.ID | None = None,
    ) -> list[PartnerDatabase]:
        rows = [{k: v for k, v in vars(d).items() if v is not None} for d in databases]
        docs = await resolve.create_databases(info, partner_id, rows)
        return [PartnerDatabase.from_doc(d) for d in docs]

    @strawberry.mutation(
        description="Change one or more of the partner's databases (1..50); any invalid row "
        "or unknown id changes nothing.",
        extensions=WRITE,
    )
    async def update_partner_databases(
        self, info: Info, databases: list[UpdatePartnerDatabaseInput]
    ) -> list[PartnerDatabase]:
        docs = await resolve.update_databases(info, [sent(d) for d in databases])
        return [PartnerDatabase.from_doc(d) for d in docs]
