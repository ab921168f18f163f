"""Identity: who am I, logins and sessions, staff and app-client onboarding."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.auth.principal import PrincipalKind
from gateway.auth.scopes import ROLE_SCOPES, Role
from gateway.auth.scopes import Scope as StaffScope
from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.base import from_epoch_ms
from resolvers import identity as resolve
from schema.partners import Partner, load_partner
from schema.permissions import OPERATOR, STAFF, allow, public

PrincipalKindEnum = strawberry.enum(
    PrincipalKind, name="PrincipalKind", description="The kind of credential a request carries."
)
StaffRole = strawberry.enum(Role, name="StaffRole", description="Staff roles; see the scope table.")


@strawberry.type(description="The caller, as the gateway sees it.")
class Viewer:
    kind: PrincipalKindEnum = strawberry.field(description="Kind of credential.")  # type: ignore[valid-type]
    subject_id: strawberry.ID | None = strawberry.field(
        description="Staff, member, app client or activation id (operator: its name)."
    )
    partner_id: strawberry.ID | None = strawberry.field(description="Partner the caller acts for.")
    scopes: list[str] = strawberry.field(description="Scopes granted (staff), sorted.")
    expires_at: datetime | None = strawberry.field(description="When the credential expires.")

    @strawberry.field(description="The caller's partner, if any.")
    async def partner(self, info: Info) -> Partner | None:
        return await load_partner(info, self.partner_id) if self.partner_id else None


@strawberry.type(description="Tokens of a partner-staff session.")
class AuthPayload:
    access_token: str = strawberry.field(description="Short-lived JWT for `Authorization: Bearer`.")
    refresh_token: str = strawberry.field(
        description="Opaque, single-use token for `refreshSession`; rotated on every use. "
        "Empty when the request sent `X-Refresh-Cookie: 1`: the token is then only in an "
        "HttpOnly cookie (the dashboard's sign-in)."
    )
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")


@strawberry.type(description="A partner staff account.")
class Staff:
    id: strawberry.ID = strawberry.field(description="Staff id (`stf_…`).")
    email: str = strawberry.field(description="Login email (lower case).")
    name: str = strawberry.field(description="Display name.")
    role: StaffRole = strawberry.field(description="Role; decides the scopes.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When the account was created.")
    email_verified: bool = strawberry.field(
        description="False after `updateLoginEmail` (the seed's `email_verified`); accounts as "
        "created by an operator or owner count as verified."
    )
    partner_id: strawberry.Private[str]

    @strawberry.field(description="Scopes this role grants.")
    def scopes(self) -> list[str]:
        return sorted(ROLE_SCOPES[Role(self.role)])

    @strawberry.field(description="The partner this account belongs to.")
    async def partner(self, info: Info) -> Partner | None:
        return await load_partner(info, self.partner_id)

    @classmethod
    def from_doc(cls, doc: Document) -> Staff:
        return cls(
            id=strawberry.ID(doc["_id"]), email=doc["email"], name=doc["name"],
            role=Role(doc["role"]), created_at=doc["created_at"], partner_id=doc["partner_id"],
            email_verified=bool(doc.get("email_verified", True)),
        )  # fmt: skip


@strawberry.type(description="An app client: one partner's mobile app, identified by an API key.")
class AppClient:
    id: strawberry.ID = strawberry.field(description="App client id (`app_…`).")
    name: str = strawberry.field(description="Label for the client.")
    key_prefix: str = strawberry.field(description="Visible start of its key, for support.")
    revoked: bool = strawberry.field(description="True once revoked; its key stops working.")
    created_at: datetime = strawberry.field(description="When it was created.")
    last_used_at: datetime | None = strawberry.field(description="Last use (minute precision).")
    partner_id: strawberry.Private[str]

    @strawberry.field(description="The partner this client belongs to.")
    async def partner(self, info: Info) -> Partner | None:
        return await load_partner(info, self.partner_id)

    @classmethod
    def from_doc(cls, doc: Document) -> AppClient:
        return cls(
            id=strawberry.ID(doc["_id"]),
            name=doc["name"],
            key_prefix=doc["key_prefix"],
            revoked=bool(doc["revoked"]),
            created_at=doc["created_at"],
            last_used_at=from_epoch_ms(doc.get("last_used_ms") or None),
            partner_id=doc["partner_id"],
        )


@strawberry.type(description="A new app client and its key, which is shown only here.")
class CreateAppClientPayload:
    app_client: AppClient = strawberry.field(description="The client.")
    api_key: str = strawberry.field(description="The API key; store it now, it is not shown again.")


@strawberry.input(description="A new staff account.")
class CreatePartnerStaffInput:
    partner_id: strawberry.ID = strawberry.field(description="Partner the account belongs to.")
    email: str = strawberry.field(description="Login email, unique.")
    password: str = strawberry.field(description="10..256 characters.")
    role: StaffRole = strawberry.field(description="Role; decides the scopes.")  # type: ignore[valid-type]
    name: str = strawberry.field(default="", description="Display name.")


@strawberry.input(description="A new app client.")
class CreateAppClientInput:
    partner_id: strawberry.ID = strawberry.field(description="Partner the app belongs to.")
    name: str = strawberry.field(description="Label, 1..80 characters.")


def _viewer(info: Info) -> Viewer:
    p = info.context.principal
    return Viewer(
        kind=p.kind,
        subject_id=strawberry.ID(p.subject_id) if p.subject_id else None,
        partner_id=strawberry.ID(p.partner_id) if p.partner_id else None,
        scopes=sorted(p.scopes),
        expires_at=p.expires_at,
    )


@strawberry.type
class Query:
    @strawberry.field(description="Who the caller is: kind, partner, scopes.", extensions=public())
    def viewer(self, info: Info) -> Viewer:
        return _viewer(info)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Log in as partner staff; same error for unknown email and wrong password.",
        extensions=public(),
    )
    async def partner_login(self, info: Info, email: str, password: str) -> AuthPayload:
        access, refresh = await resolve.partner_login(info, email, password)
        return AuthPayload(
            access_token=access.token, refresh_token=refresh, expires_in=access.expires_in
        )

    @strawberry.mutation(
        description="Trade a refresh token for new tokens. Each refresh token works once; "
        "presenting a spent one ends the whole session. With `X-Refresh-Cookie: 1` and an "
        "empty `refreshToken`, the token is read from the cookie `partnerLogin` set.",
        extensions=public(),
    )
    async def refresh_session(self, info: Info, refresh_token: str) -> AuthPayload:
        access, refresh = await resolve.refresh_session(info, refresh_token)
        return AuthPayload(
            access_token=access.token, refresh_token=refresh, expires_in=access.expires_in
        )

    @strawberry.mutation(
        description="End the caller's staff session: its access and refresh tokens stop working.",
        extensions=allow(STAFF),
    )
    async def logout(self, info: Info) -> bool:
        return await resolve.logout(info)

    @strawberry.mutation(
        description="Change the caller's own login email (staff; the seed's current-user update "
        "of `emailAddress`). Asks for the current password; the new address is unverified "
        "(`emailVerified: false`) and is the login from now on.",
        extensions=allow(STAFF),
    )
    async def update_login_email(
        self, info: Info, email_address: str, current_password: str
    ) -> Staff:
        doc = await resolve.update_login_email(info, email_address, current_password)
        return Staff.from_doc(doc)

    @strawberry.mutation(
        description="Create a staff account (operator, or an owner for its own partner).",
        extensions=allow(OPERATOR, STAFF, scope=StaffScope.STAFF_MANAGE),
    )
    async def create_partner_staff(self, info: Info, input: CreatePartnerStaffInput) -> Staff:
        doc = await resolve.create_staff(
            info, input.partner_id, input.email, input.password, Role(input.role), input.name
        )
        return Staff.from_doc(doc)

    @strawberry.mutation(
        description="Create an app client and its API key (operator only).",
        extensions=allow(OPERATOR),
    )
    async def create_app_client(
        self, info: Info, input: CreateAppClientInput
    ) -> CreateAppClientPayload:
        doc, key = await resolve.create_app_client(info, input.partner_id, input.name)
        return CreateAppClientPayload(app_client=AppClient.from_doc(doc), api_key=key)

    @strawberry.mutation(
        description="Revoke an app client; its key is refused from the next request on.",
        extensions=allow(OPERATOR),
    )
    async def revoke_app_client(self, info: Info, id: strawberry.ID) -> AppClient:
        return AppClient.from_doc(await resolve.revoke_app_client(info, id))
