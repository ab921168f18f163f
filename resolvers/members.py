"""Members: registration by voucher, login, watch events, and the staff's member views."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from pymongo.errors import ConnectionFailure, DuplicateKeyError

from gateway.auth.issue import member_token
from gateway.auth.lockout import login_guard
from gateway.auth.passwords import hash_password, verify_password
from gateway.auth.principal import PrincipalKind
from gateway.auth.tokens import IssuedToken
from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound, Unauthenticated
from gateway.core.ids import new_id, parse_id
from gateway.storage.mongo import Document
from loaders import members as data
from loaders import vouchers as voucher_data
from loaders.base import Page, utcnow
from loaders.identity import normalize_email, validate_password
from resolvers.live import inserted
from resolvers.vouchers import ALREADY_USED, UNKNOWN, invalid_reason

LOGIN_FAILED = "Invalid email or password."


def _token(info: Info, member: Document) -> IssuedToken:
    services = info.context.services
    return member_token(services.keyring, services.settings, member["_id"], member["partner_id"])


async def register_member(
    info: Info, voucher_code: str, name: str, email: str, password: str
) -> tuple[IssuedToken, Document]:
    """Redeem the voucher and create the member: one voucher, one member, even under races
    and partial failures (see loaders.vouchers on claims).

    The same registration sent again (same email, voucher and password: a retry after an
    ambiguous failure) answers with the member it created, whether or not the first
    attempt's answer was lost.
    """
    partner_id = info.context.scope.partner_id_for_write()
    db = info.context.db
    clean_name = data.validate_name(name)
    clean_email = normalize_email(email)
    validate_password(password)
    code = voucher_data.normalize_code(voucher_code)
    if code is None:
        raise BadUserInput("voucher is not valid", field="voucherCode", reason=UNKNOWN)
    existing = await data.find_member_by_email(db, partner_id, clean_email)
    if existing is not None:
        return await _already_registered(info, existing, code, password)
    password_hash = await asyncio.to_thread(hash_password, password)

    member_id = new_id("mem")
    voucher = await voucher_data.claim_voucher(db, partner_id, code, member_id, clean_email)
    if voucher is None:
        voucher = await _take_over(info, partner_id, code, member_id, clean_email)
    member = data.new_member(partner_id, clean_name, clean_email, password_hash, voucher, member_id)
    try:
        await data.insert_member(db, member)
    except DuplicateKeyError:
        return await _lost_insert_race(info, voucher, member_id, clean_email, password)
    # Any other failure is ambiguous (the insert may yet land): the claim stays and is
    # settled by the next read, or taken over by this registration's retry.
    with contextlib.suppress(ConnectionFailure):
        # The member is stored: the registration succeeded even if this cannot be recorded.
        await voucher_data.confirm_claim(db, voucher["_id"], member_id)
    member.pop("password_hash")
    info.context.loaders.get(data.MemberByIdLoader).prime(member_id, member)
    return _token(info, member), member


async def _already_registered(
    info: Info, existing: Document, code: str, password: str
) -> tuple[IssuedToken, Document]:
    """The email is taken: by this very registration done before, or by someone else."""
    stored_hash = existing.pop("password_hash")
    if existing["voucher_code"] == code and await asyncio.to_thread(
        verify_password, stored_hash, password
    ):
        db = info.context.db
        voucher = await voucher_data.find_by_code(db, existing["partner_id"], code)
        if voucher is not None and voucher.get("redeemed_by") != existing["_id"]:
            await voucher_data.record_holder(db, voucher["_id"], existing)
        info.context.loaders.get(data.MemberByIdLoader).prime(existing["_id"], existing)
        return _token(info, existing), existing
    raise Conflict("A member with this email exists.", field="email")


async def _take_over(
    info: Info, partner_id: str, code: str, member_id: str, email: str
) -> Document:
    """The claim failed: settle what is there; an own or abandoned claim is taken over."""
    db = info.context.db
    current = await voucher_data.find_by_code(db, partner_id, code)
    if current is not None:
        current = await voucher_data.settle_claim(db, current)
        taken = None
        if voucher_data.status_of(current) == voucher_data.ACTIVE:
            taken = await voucher_data.claim_voucher(db, partner_id, code, member_id, email)
        elif voucher_data.may_take_over(current, email):
            taken = await voucher_data.take_over_claim(db, current, member_id, email)
        if taken is not None:
            return taken
        current = await voucher_data.find_by_code(db, partner_id, code)
    reason = invalid_reason(current)
    if reason == ALREADY_USED:
        raise Conflict("voucher already used", field="voucherCode", reason=reason)
    raise BadUserInput("voucher is not valid", field="voucherCode", reason=reason or UNKNOWN)


async def _lost_insert_race(
    info: Info, voucher: Document, member_id: str, email: str, password: str
) -> tuple[IssuedToken, Document]:
    """The member insert hit a unique index: the email is taken, or the voucher is held."""
    db = info.context.db
    holder = await voucher_data.holder_of(db, voucher["partner_id"], voucher["_id"])
    if holder is not None:
        await voucher_data.record_holder(db, voucher["_id"], holder)
        if holder["email"] == email:  # an earlier attempt of this registration landed
            full = await data.find_member_by_email(db, holder["partner_id"], email)
            if full is not None:
                return await _already_registered(info, full, voucher["code"], password)
        raise Conflict("voucher already used", field="voucherCode", reason=ALREADY_USED)
    # The email is someone else's: give the voucher back.
    await voucher_data.release_claim(db, {**voucher, "redeemed_by": member_id})
    raise Conflict("A member with this email exists.", field="email")


async def member_login(info: Info, email: str, password: str) -> tuple[IssuedToken, Document]:
    """Member token for the app's partner; one answer for unknown email and wrong password."""
    partner_id = info.context.scope.partner_id_for_write()
    # Members are unique per partner, so the lock-out is per (partner, email).
    guard = await login_guard(info.context, "member", f"{partner_id}:{email}")
    member = None
    if not guard.locked and len(email) <= 254 and len(password) <= 256:
        member = await data.find_member_by_email(info.context.db, partner_id, email.strip().lower())
    stored = member["password_hash"] if member else None
    # A locked account does the same hash work and gets the same answer as a wrong password.
    if not await asyncio.to_thread(verify_password, stored, password) or member is None:
        await guard.failed()
        raise Unauthenticated(LOGIN_FAILED)
    await guard.succeeded()
    member.pop("password_hash")
    return _token(info, member), member


async def member(info: Info, member_id: str) -> Document:
    """A member by id; a member token reads only itself."""
    member_id = parse_id(member_id, "mem")
    principal = info.context.principal
    if principal.kind is PrincipalKind.MEMBER and principal.subject_id != member_id:
        raise NotFound("Member not found.")
    doc: Document | None = await info.context.loaders.get(data.MemberByIdLoader).load(member_id)
    if doc is None:
        raise NotFound("Member not found.")
    return doc


async def members(
    info: Info, search: str | None, status: str | None, sort: str, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    page = await data.list_members(
        info.context.db, info.context.scope, search, status, sort, first, after
    )
    info.context.loaders.prime_rows(data.MemberByIdLoader, page.rows)
    return page


async def classes(info: Info, category: str | None, first: int | None, after: str | None) -> Page:
    page = await data.list_classes(info.context.db, info.context.scope, category, first, after)
    info.context.loaders.prime_rows(data.ClassByIdLoader, page.rows)
    return page


async def record_watch(info: Info, class_id: str, minutes: int) -> Document:
    class_id = parse_id(class_id, "cls", "classId")
    if not data.MIN_WATCH_MINUTES <= minutes <= data.MAX_WATCH_MINUTES:
        raise BadUserInput(
            f"must be {data.MIN_WATCH_MINUTES} to {data.MAX_WATCH_MINUTES}", field="minutes"
        )
    loaders = info.context.loaders
    klass = await loaders.get(data.ClassByIdLoader).load(class_id)
    if klass is None:
        raise NotFound("Class not found.", field="classId")
    member_id = info.context.principal.subject_id or ""
    member_doc = await loaders.get(data.MemberByIdLoader).load(member_id)
    if member_doc is None:
        raise NotFound("Member not found.")
    return await data.record_watch(info.context.db, member_doc, klass, minutes)


async def histories(
    info: Info, member_ids: list[str], first: int | None, after: str | None
) -> list[Page]:
    """A page of watch history per member (one command for all, through the loader)."""
    keys = [data.history_key(member_id, first, after) for member_id in member_ids]
    pages: list[Page] = await info.context.loaders.get(data.WatchHistoryLoader).load_all(keys)
    return pages


async def load_member(info: Info, member_id: str) -> Document | None:
    loaded: Document | None = await info.context.loaders.get(data.MemberByIdLoader).load(member_id)
    return loaded


async def load_class(info: Info, class_id: str) -> Document | None:
    loaded: Document | None = await info.context.loaders.get(data.ClassByIdLoader).load(class_id)
    return loaded


async def analytics(
    info: Info, period: str | None, start: date | None, end: date | None
) -> dict[str, Any]:
    first, last = data.analytics_range(period, start, end, utcnow().date())
    return await data.analytics(info.context.db, info.context.scope, first, last)


async def dashboard(info: Info) -> dict[str, Any]:
    return await data.dashboard(info.context.db, info.context.scope)


async def billing(info: Info, month: int, year: int) -> list[tuple[Document, Document]]:
    """(usage, member) pairs of the members billed for the month, by member name."""
    scope = info.context.scope
    usage = await data.billing_usage(info.context.db, scope, month, year)
    members = await data.members_by_ids(info.context.db, scope, [u["member_id"] for u in usage])
    loader = info.context.loaders.get(data.MemberByIdLoader)
    for member_id, doc in members.items():
        loader.prime(member_id, doc)
    pairs = [(u, members[u["member_id"]]) for u in usage if u["member_id"] in members]
    return sorted(pairs, key=lambda pair: (pair[1]["name_lower"], pair[1]["_id"]))


# --- live ----------------------------------------------------------------------------


async def joined_members(info: Info) -> AsyncIterator[Document]:
    """`memberJoined`: members of the caller's partner as they register."""
    async for member in inserted(info, "members"):
        yield member
