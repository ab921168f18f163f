"""Logins, sessions and onboarding of staff and app clients."""

from __future__ import annotations

import asyncio

from pymongo.errors import DuplicateKeyError

from gateway.auth import cookie
from gateway.auth.issue import staff_access_token
from gateway.auth.lockout import login_guard
from gateway.auth.passwords import verify_password
from gateway.auth.scopes import Role
from gateway.auth.tokens import IssuedToken
from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, Forbidden, NotFound, Unauthenticated
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import identity as data
from loaders.partners import PartnerByIdLoader

LOGIN_FAILED = "Invalid email or password."
REFRESH_FAILED = "Invalid or expired refresh token."


async def partner_login(info: Info, email: str, password: str) -> tuple[IssuedToken, str]:
    """Access token and refresh token; the same answer for unknown email and wrong password."""
    staff = None
    guard = await login_guard(info.context, "staff", email)
    if not guard.locked and len(email) <= 254 and len(password) <= 256:
        staff = await data.find_staff_by_email(info.context.db, email)
    # A locked account does the same hash work and gets the same answer as a wrong password.
    stored = staff["password_hash"] if staff else None
    # argon2 runs off the event loop: a login must not stall other requests.
    if not await asyncio.to_thread(verify_password, stored, password) or staff is None:
        await guard.failed()
        raise Unauthenticated(LOGIN_FAILED)
    await guard.succeeded()
    settings = info.context.settings
    session_id, refresh = await data.open_session(
        info.context.db, staff, settings.refresh_token_ttl_seconds
    )
    access = staff_access_token(info.context.services.keyring, settings, staff, session_id)
    return access, _hand_out(info, refresh)


def _hand_out(info: Info, refresh: str) -> str:
    """The token for the body; in cookie mode it goes into the cookie and the body gets ""."""
    if not cookie.cookie_mode(info.context.request):
        return refresh
    cookie.set_refresh_cookie(info.context.response, refresh, info.context.settings)
    return ""


async def refresh_session(info: Info, refresh_token: str) -> tuple[IssuedToken, str]:
    request = info.context.request
    if cookie.cookie_mode(request) and not refresh_token:
        refresh_token = cookie.cookie_token(request)
    outcome = await data.rotate_refresh_token(info.context.db, refresh_token)
    if outcome.reuse_detected and outcome.session_id is not None:
        _forget_session(info, outcome.session_id)  # reuse ended the whole session
    if outcome.staff is None or outcome.refresh_token is None or outcome.session_id is None:
        if cookie.cookie_mode(request):
            cookie.clear_refresh_cookie(info.context.response, info.context.settings)
        raise Unauthenticated(REFRESH_FAILED)
    access = staff_access_token(
        info.context.services.keyring, info.context.settings, outcome.staff, outcome.session_id
    )
    return access, _hand_out(info, outcome.refresh_token)


async def logout(info: Info) -> bool:
    if cookie.cookie_mode(info.context.request):
        cookie.clear_refresh_cookie(info.context.response, info.context.settings)
    session_id = info.context.principal.session_family
    if session_id is None:
        return False
    await data.revoke_session(info.context.db, session_id)
    _forget_session(info, session_id)
    return True


def _forget_session(info: Info, session_id: str) -> None:
    # Other instances drop it when the change stream delivers the revocation; this one
    # must refuse the very next request already.
    sessions = info.context.services.sessions
    if sessions is not None:
        sessions.drop(session_id)


async def _existing_partner(info: Info, partner_id: str) -> str:
    partner_id = info.context.scope.partner_id_for_write(parse_id(partner_id, "par", "partnerId"))
    if await info.context.loaders.get(PartnerByIdLoader).load(partner_id) is None:
        raise NotFound("Partner not found.", field="partnerId")
    return partner_id


async def create_staff(
    info: Info, partner_id: str, email: str, password: str, role: Role, name: str
) -> Document:
    partner_id = await _existing_partner(info, partner_id)
    try:
        return await data.insert_staff(info.context.db, partner_id, email, password, role, name)
    except DuplicateKeyError:
        raise Conflict("A staff account with this email exists.", field="email") from None


async def create_app_client(info: Info, partner_id: str, name: str) -> tuple[Document, str]:
    partner_id = await _existing_partner(info, partner_id)
    return await data.insert_app_client(info.context.db, partner_id, name)


async def revoke_app_client(info: Info, client_id: str) -> Document:
    doc = await data.revoke_app_client(
        info.context.db, info.context.scope, parse_id(client_id, "app")
    )
    if doc is None:
        raise NotFound("App client not found.")
    return doc


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise BadUserInput("unknown role", field="role") from None


async def update_login_email(info: Info, email_address: str, current_password: str) -> Document:
    """The caller's own login email (staff): the current password is asked again, so a
    stolen access token alone cannot take the account over; failures count towards the
    login lock-out of the account. The new address is unverified; it logs in at once."""
    principal = info.context.principal
    db = info.context.db
    email = data.normalize_email(email_address, field="emailAddress")
    staff = await data.find_staff(db, principal.subject_id or "")
    if staff is None:
        raise NotFound("Staff account not found.")
    guard = await login_guard(info.context, "staff", staff["email"])
    stored = staff["password_hash"] if not guard.locked and len(current_password) <= 256 else None
    if not await asyncio.to_thread(verify_password, stored, current_password):
        await guard.failed()
        raise Forbidden("The current password is wrong.", field="currentPassword")
    await guard.succeeded()
    if email == staff["email"]:
        raise BadUserInput("that is already the login email", field="emailAddress")
    try:
        changed = await data.change_staff_email(db, staff["_id"], email)
    except DuplicateKeyError:
        raise Conflict("Another account uses that email.", field="emailAddress") from None
    if not changed:
        raise NotFound("Staff account not found.")
    return {**staff, "email": email, "email_verified": False}
