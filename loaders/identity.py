"""Credentials in MongoDB: staff accounts, sessions and refresh tokens, app clients.

Secrets are stored only as digests (app keys, refresh tokens) or argon2 hashes
(passwords). Refresh tokens rotate on every use; presenting a spent one revokes its
whole session family (RFC 6819 §5.2.2.3 / OAuth 2.0 Security BCP reuse detection).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from gateway.auth import secrets as creds
from gateway.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password
from gateway.auth.scopes import ROLE_SCOPES, Role
from gateway.core.errors import BadUserInput
from gateway.core.ids import new_id
from gateway.core.validation import check_printable
from gateway.storage.mongo import Database, Document
from loaders.base import (
    IndexSpec,
    Page,
    Scope,
    ScopedLoader,
    epoch_ms,
    in_key_order,
    paginate,
    utcnow,
)

INDEXES = [
    IndexSpec("staff", [("email", 1)], unique=True),
    IndexSpec("staff", [("partner_id", 1), ("_id", 1)]),
    IndexSpec("app_clients", [("key_digest", 1)], unique=True),
    IndexSpec("app_clients", [("partner_id", 1), ("_id", 1)]),
    IndexSpec("sessions", [("staff_id", 1)]),
    IndexSpec("refresh_tokens", [("session_id", 1)]),
    IndexSpec("refresh_tokens", [("expires_at", 1)], expire_after_seconds=0),
    IndexSpec("activations", [("token_digest", 1)], unique=True),
    IndexSpec("crm_api_keys", [("key_digest", 1)], unique=True),
    IndexSpec("crm_api_keys", [("partner_id", 1), ("_id", 1)]),
]

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")


def normalize_email(email: str, field: str = "email") -> str:
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise BadUserInput("not a valid email address", field=field)
    return email


def validate_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise BadUserInput(
            f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters", field="password"
        )
    return password


# --- staff ---------------------------------------------------------------------------


def staff_document(
    partner_id: str, email: str, password_hash: str, role: Role, name: str = ""
) -> Document:
    """A new staff account's document, its password already hashed (argon2id)."""
    return {
        "_id": new_id("stf"),
        "partner_id": partner_id,
        "email": normalize_email(email),
        "name": check_printable(name.strip()[:120], "name"),
        "role": role.value,
        "password_hash": password_hash,
        "active": True,
        "created_at": utcnow(),
    }


async def insert_staff(
    db: Database, partner_id: str, email: str, password: str, role: Role, name: str = ""
) -> Document:
    doc = staff_document(
        partner_id, email, hash_password(validate_password(password)), role, name
    )
    await db.staff.insert_one(doc)
    return doc


async def find_staff_by_email(db: Database, email: str) -> Document | None:
    return await db.staff.find_one({"email": email.strip().lower(), "active": True})


async def change_staff_email(db: Database, staff_id: str, email: str) -> bool:
    """Set a staff account's login email, unverified (the seed's `email_verified: false`).
    False when the account is gone; a DuplicateKeyError when another account has it
    (`update_one`, not `find_one_and_update`: the store swallows that duplicate)."""
    done = await db.staff.update_one(
        {"_id": staff_id, "active": True},
        {"$set": {"email": email, "email_verified": False}},
    )
    return done.matched_count == 1


async def find_staff(db: Database, staff_id: str) -> Document | None:
    return await db.staff.find_one({"_id": staff_id, "active": True})


def staff_scopes(doc: Document) -> frozenset[str]:
    return ROLE_SCOPES[Role(doc["role"])]


class StaffByIdLoader(ScopedLoader[str, Document | None]):
    """Staff accounts by id, within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.staff.find(query, projection={"password_hash": 0}).to_list(None)
        return in_key_order(keys, rows)


async def list_staff(db: Database, scope: Scope, first: int | None, after: str | None) -> Page:
    return await paginate(
        db.staff, scope.tenant(), sort=[("_id", 1)], first=first, after=after,
        projection={"password_hash": 0},
    )  # fmt: skip


# --- sessions and refresh tokens -----------------------------------------------------


@dataclass(frozen=True)
class RefreshOutcome:
    """Result of presenting a refresh token: the new one, or why it was refused."""

    staff: Document | None
    session_id: str | None
    refresh_token: str | None
    reuse_detected: bool = False


async def open_session(db: Database, staff: Document, ttl_seconds: int) -> tuple[str, str]:
    """A new session family with its first refresh token: (session id, refresh token)."""
    now = utcnow()
    session_id = new_id("ses")
    await db.sessions.insert_one(
        {
            "_id": session_id,
            "staff_id": staff["_id"],
            "partner_id": staff["partner_id"],
            "revoked": False,
            "created_at": now,
            "expires_at": now + timedelta(seconds=ttl_seconds),
        }
    )
    token = await _insert_refresh_token(db, session_id, staff, now + timedelta(seconds=ttl_seconds))
    return session_id, token


async def _insert_refresh_token(
    db: Database, session_id: str, staff: Document, expires_at: datetime
) -> str:
    token = creds.new_refresh_token()
    await db.refresh_tokens.insert_one(
        {
            "_id": creds.digest(token),
            "session_id": session_id,
            "staff_id": staff["_id"],
            "partner_id": staff["partner_id"],
            "used": False,
            "created_at": utcnow(),
            "expires_at": expires_at,
        }
    )
    return token


async def rotate_refresh_token(db: Database, token: str) -> RefreshOutcome:
    """Spend `token` once and mint its successor in the same family.

    The spend is one atomic find-and-modify on `used: False`, so two racing
    requests cannot both succeed; the loser is treated as reuse.
    """
    refused = RefreshOutcome(staff=None, session_id=None, refresh_token=None)
    if not creds.looks_like(token, creds.REFRESH_TOKEN_PREFIX):
        return refused
    now = utcnow()
    spent = await db.refresh_tokens.find_one_and_update(
        {"_id": creds.digest(token), "used": False},
        {"$set": {"used": True, "used_at_ms": epoch_ms(now)}},
        return_document=ReturnDocument.AFTER,
    )
    if spent is None:
        earlier = await db.refresh_tokens.find_one({"_id": creds.digest(token)})
        if earlier is None:
            return refused
        await revoke_session(db, earlier["session_id"])
        return RefreshOutcome(None, earlier["session_id"], None, reuse_detected=True)
    session = await db.sessions.find_one({"_id": spent["session_id"]})
    if session is None or session["revoked"] or session["expires_at"] <= now:
        return refused
    staff = await db.staff.find_one({"_id": spent["staff_id"], "active": True})
    if staff is None:
        return refused
    successor = await _insert_refresh_token(db, session["_id"], staff, session["expires_at"])
    return RefreshOutcome(staff=staff, session_id=session["_id"], refresh_token=successor)


async def revoke_session(db: Database, session_id: str) -> None:
    await db.sessions.update_one({"_id": session_id}, {"$set": {"revoked": True}})
    await db.refresh_tokens.update_many(
        {"session_id": session_id, "used": False}, {"$set": {"used": True}}
    )


async def session_is_live(db: Database, session_id: str, staff_id: str) -> bool:
    session = await db.sessions.find_one({"_id": session_id, "staff_id": staff_id})
    if session is None:
        return False
    return not session["revoked"] and bool(session["expires_at"] > utcnow())


# --- app clients ---------------------------------------------------------------------


def validate_client_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise BadUserInput("must be 1 to 80 characters", field="name")
    return check_printable(name, "name")


async def insert_app_client(db: Database, partner_id: str, name: str) -> tuple[Document, str]:
    """Create an app client; returns the document and the key (shown this once)."""
    key, visible = creds.new_app_key()
    doc: Document = {
        "_id": new_id("app"),
        "partner_id": partner_id,
        "name": validate_client_name(name),
        "key_prefix": visible,
        "key_digest": creds.digest(key),
        "revoked": False,
        "created_at": utcnow(),
        "last_used_ms": 0,
        "revoked_at_ms": 0,
    }
    await db.app_clients.insert_one(doc)
    return doc, key


async def find_app_client_by_key(db: Database, key: str) -> Document | None:
    if not creds.looks_like(key, creds.APP_KEY_PREFIX):
        return None
    doc = await db.app_clients.find_one({"key_digest": creds.digest(key)})
    if doc is None or doc["revoked"] or not creds.matches(key, doc["key_digest"]):
        return None
    return doc


async def touch_app_client(db: Database, doc: Document, min_interval_seconds: int = 60) -> None:
    # Recorded at most once a minute per key: last-used is for support, not an audit log.
    now_ms = epoch_ms(utcnow())
    if now_ms - int(doc.get("last_used_ms") or 0) > min_interval_seconds * 1000:
        await db.app_clients.update_one({"_id": doc["_id"]}, {"$set": {"last_used_ms": now_ms}})


async def revoke_app_client(db: Database, scope: Scope, client_id: str) -> Document | None:
    return await db.app_clients.find_one_and_update(
        {**scope.tenant(), "_id": client_id},
        {"$set": {"revoked": True, "revoked_at_ms": epoch_ms(utcnow())}},
        return_document=ReturnDocument.AFTER,
    )


class AppClientByIdLoader(ScopedLoader[str, Document | None]):
    """App clients by id, within the caller's tenant (digests never leave data access)."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query: dict[str, Any] = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.app_clients.find(query, projection={"key_digest": 0}).to_list(None)
        return in_key_order(keys, rows)


async def list_app_clients(
    db: Database, scope: Scope, partner_id: str, first: int | None, after: str | None
) -> Page:
    query = {**scope.tenant(), "partner_id": partner_id}
    return await paginate(
        db.app_clients, query, sort=[("_id", 1)], first=first, after=after,
        projection={"key_digest": 0},
    )  # fmt: skip


# --- CRM API keys (server-to-server, seed 002) ----------------------------------------

CRM_KEY_KINDS = ("public", "secret")


async def insert_crm_key(
    db: Database, partner_id: str, name: str, kind: str, scopes: list[str], created_by: str
) -> tuple[Document, str]:
    """Create a CRM API key; returns the document and the key (shown this once)."""
    if kind not in CRM_KEY_KINDS:
        raise BadUserInput("must be public or secret", field="kind")
    key, visible = creds.new_crm_key(secret=kind == "secret")
    doc: Document = {
        "_id": new_id("cak"),
        "partner_id": partner_id,
        "name": validate_client_name(name),
        "kind": kind,
        "scopes": scopes,
        "key_prefix": visible,
        "key_digest": creds.digest(key),
        "created_by": created_by,
        "revoked": False,
        "created_at": utcnow(),
        "last_used_ms": 0,
        "revoked_at_ms": 0,
    }
    await db.crm_api_keys.insert_one(doc)
    return doc, key


async def find_crm_key(db: Database, key: str, kind: str) -> Document | None:
    """The live key of this kind; a public key presented as secret (or the reverse) is None."""
    prefix = creds.CRM_SECRET_KEY_PREFIX if kind == "secret" else creds.CRM_PUBLIC_KEY_PREFIX
    if not creds.looks_like(key, prefix):
        return None
    doc = await db.crm_api_keys.find_one({"key_digest": creds.digest(key)})
    if doc is None or doc["revoked"] or doc["kind"] != kind:
        return None
    return doc if creds.matches(key, doc["key_digest"]) else None


async def touch_crm_key(db: Database, doc: Document, min_interval_seconds: int = 60) -> None:
    # As for app keys: last use at minute precision, one write a minute at most.
    now_ms = epoch_ms(utcnow())
    if now_ms - int(doc.get("last_used_ms") or 0) > min_interval_seconds * 1000:
        await db.crm_api_keys.update_one({"_id": doc["_id"]}, {"$set": {"last_used_ms": now_ms}})


async def revoke_crm_key(db: Database, scope: Scope, key_id: str) -> Document | None:
    """Revoke a key of the caller's tenant (idempotent); None when it is not the caller's."""
    query = {**scope.tenant(), "_id": key_id}
    await db.crm_api_keys.update_one(
        {**query, "revoked": False},
        {"$set": {"revoked": True, "revoked_at_ms": epoch_ms(utcnow())}},
    )
    return await db.crm_api_keys.find_one(query, projection={"key_digest": 0})


async def list_crm_keys(
    db: Database, scope: Scope, partner_id: str | None, first: int | None, after: str | None
) -> Page:
    query: dict[str, Any] = {**scope.tenant()}
    if partner_id is not None:
        tenant = query.get("partner_id", partner_id)
        # Staff naming another partner see nothing rather than their own keys.
        query = {"partner_id": partner_id if tenant == partner_id else {"$in": []}}
    return await paginate(
        db.crm_api_keys, query, sort=[("_id", 1)], first=first, after=after,
        projection={"key_digest": 0},
    )  # fmt: skip


# --- activation tokens ---------------------------------------------------------------


async def find_activation_by_token(
    db: Database, token: str, activation_id: str | None = None
) -> Document | None:
    """The live (not deleted) activation this token opens; None for any other token."""
    if not creds.looks_like(token, creds.ACTIVATION_TOKEN_PREFIX):
        return None
    query: dict[str, Any] = {"token_digest": creds.digest(token)}
    if activation_id is not None:
        query["_id"] = activation_id
    doc = await db.activations.find_one(query)
    if doc is None or doc.get("status") == "deleted":
        return None
    return doc if creds.matches(token, doc["token_digest"]) else None
