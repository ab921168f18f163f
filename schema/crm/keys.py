"""CRM API keys (seed 002): public and secret server-to-server keys with scopes.

A request sends one key: `Api-Key: cpk_…` (public: read fields of its scopes only) or
`Api-Secret: csk_…` (secret: read and write fields of its scopes). Partner owners
(`apikeys:manage`) and operators create and revoke them.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gateway.auth.scopes import CrmKeyScope, Scope
from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.base import from_epoch_ms
from resolvers.crm import keys as resolve
from schema.connection import Connection
from schema.permissions import OPERATOR, STAFF, allow

MANAGE = allow(STAFF, OPERATOR, scope=Scope.API_KEYS_MANAGE)


@strawberry.enum(description="Kind of CRM API key.")
class CrmApiKeyKind(Enum):
    PUBLIC = "public"
    SECRET = "secret"  # noqa: S105 - a kind of key, not a secret


CrmApiKeyScope = strawberry.enum(
    CrmKeyScope,
    name="CrmApiKeyScope",
    description="What a CRM API key may touch: CRM (fans, tickets, activities, points) or "
    "SEGMENTS. A public key gets the read fields of its scopes, a secret key also the writes.",
)


@strawberry.type(description="A CRM API key (its secret is never shown after creation).")
class CrmApiKey:
    id: strawberry.ID = strawberry.field(description="Key id (`cak_…`).")
    partner_id: strawberry.ID = strawberry.field(description="Partner (CRM account) of the key.")
    name: str = strawberry.field(description="Label for the key.")
    kind: CrmApiKeyKind = strawberry.field(description="PUBLIC (reads) or SECRET (reads, writes).")
    scopes: list[CrmApiKeyScope] = strawberry.field(  # type: ignore[valid-type]
        description="Scopes the key was issued with, sorted."
    )
    key_prefix: str = strawberry.field(description="Visible start of the key, for support.")
    revoked: bool = strawberry.field(description="True once revoked: the key stops working.")
    created_at: datetime = strawberry.field(description="When the key was created.")
    last_used_at: datetime | None = strawberry.field(description="Last use (minute precision).")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked.")

    @classmethod
    def from_doc(cls, doc: Document) -> CrmApiKey:
        return cls(
            id=strawberry.ID(doc["_id"]), partner_id=strawberry.ID(doc["partner_id"]),
            name=doc["name"], kind=CrmApiKeyKind(doc["kind"]),
            scopes=[CrmKeyScope(s) for s in doc["scopes"]], key_prefix=doc["key_prefix"],
            revoked=bool(doc["revoked"]), created_at=doc["created_at"],
            last_used_at=from_epoch_ms(doc.get("last_used_ms") or None),
            revoked_at=from_epoch_ms(doc.get("revoked_at_ms") or None),
        )  # fmt: skip


@strawberry.type(description="A new CRM API key and its secret text, shown only here.")
class CreateCrmApiKeyPayload:
    api_key: CrmApiKey = strawberry.field(description="The key.")
    key: str = strawberry.field(
        description="The key to send as `Api-Key` (public) or `Api-Secret` (secret); store it "
        "now, it is not shown again."
    )


@strawberry.input(description="A new CRM API key.")
class CreateCrmApiKeyInput:
    name: str = strawberry.field(description="Label, 1..80 characters.")
    kind: CrmApiKeyKind = strawberry.field(description="PUBLIC or SECRET.")
    scopes: list[CrmApiKeyScope] = strawberry.field(  # type: ignore[valid-type]
        description="One or more scopes."
    )
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Partner (operators must name it)."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="The partner's CRM API keys, oldest first (operators: all, or `partnerId`).",
        extensions=MANAGE,
    )
    async def crm_api_keys(
        self, info: Info, partner_id: strawberry.ID | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[CrmApiKey]:  # fmt: skip
        page = await resolve.crm_keys(info, partner_id, first, after)
        return Connection.of(page, CrmApiKey.from_doc)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a CRM API key; the key text is returned this once.", extensions=MANAGE
    )
    async def create_crm_api_key(
        self, info: Info, input: CreateCrmApiKeyInput
    ) -> CreateCrmApiKeyPayload:
        doc, key = await resolve.create_crm_key(
            info, input.name, input.kind.value, [str(s) for s in input.scopes], input.partner_id
        )
        return CreateCrmApiKeyPayload(api_key=CrmApiKey.from_doc(doc), key=key)

    @strawberry.mutation(
        description="Revoke a CRM API key: it stops working at once (repeating is harmless).",
        extensions=MANAGE,
    )
    async def revoke_crm_api_key(self, info: Info, id: strawberry.ID) -> CrmApiKey:
        return CrmApiKey.from_doc(await resolve.revoke_crm_key(info, id))
