"""Content strings the app renders as HTML (About us, Privacy policy, …)."""

from __future__ import annotations

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from resolvers import content as resolve
from schema.permissions import APP, MEMBER, OPERATOR, STAFF, allow


@strawberry.type(description="One content string: a key (`st_…`) and its sanitised HTML.")
class ContentString:
    key: str = strawberry.field(description="Key, `st_[a-z0-9_]+`.")
    value: str = strawberry.field(description="Sanitised HTML.")


@strawberry.input(description="A content string to set (other keys stay as they are).")
class ContentStringInput:
    key: str = strawberry.field(description="Key, `st_[a-z0-9_]+` (up to 63 characters).")
    value: str = strawberry.field(description="HTML; sanitised against an allow-list on write.")


def _listed(strings: dict[str, str]) -> list[ContentString]:
    return [ContentString(key=k, value=strings[k]) for k in sorted(strings)]


@strawberry.type
class Query:
    @strawberry.field(
        description="The partner's content strings, by key.",
        extensions=allow(STAFF, OPERATOR, APP, MEMBER, scope=Scope.PARTNER_READ),
    )
    async def content_strings(
        self, info: Info, partner_id: strawberry.ID | None = None
    ) -> list[ContentString]:
        return _listed(await resolve.content_strings(info, partner_id))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Merge strings into the partner's set; returns the whole set.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.CONTENT_WRITE),
    )
    async def update_content_strings(
        self, info: Info, strings: list[ContentStringInput], partner_id: strawberry.ID | None = None
    ) -> list[ContentString]:
        pairs = [(s.key, s.value) for s in strings]
        return _listed(await resolve.update_content_strings(info, pairs, partner_id))
