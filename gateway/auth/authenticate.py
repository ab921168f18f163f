"""Turning a request's credentials into a Principal.

- `Authorization: Bearer <JWT>`: the token's `typ` picks which verification runs
  (operator, partner staff, member); that verification then pins alg, key, aud, iss.
- `X-API-Key`: an app client of one partner.
- Member tokens are valid only together with an app key of the member's partner.
- `Api-Key: cpk_…` / `Api-Secret: csk_…` (seed 002's header names): a partner's CRM API
  key, public or secret; it is the request's only credential.

A credential that is presented but invalid is an error (UNAUTHENTICATED), never a
silent downgrade to anonymous.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from gateway.auth.principal import ANONYMOUS, Principal, PrincipalKind
from gateway.auth.scopes import crm_key_scopes
from gateway.auth.tokens import InvalidToken, Keyring, TokenKind
from gateway.core.errors import Unauthenticated
from gateway.storage.mongo import Database
from loaders import identity

log = logging.getLogger(__name__)

INVALID_CREDENTIAL = "Invalid or expired credential."


class SessionCheck(Protocol):
    """Answers whether a staff session is live (e.g. a cache invalidated by change streams)."""

    async def is_live(self, db: Database, session_id: str, staff_id: str) -> bool: ...


def _expiry(claims: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(claims["exp"]), UTC)


async def principal_from_credentials(
    db: Database,
    keyring: Keyring,
    *,
    bearer: str | None = None,
    api_key: str | None = None,
    activation_token: str | None = None,
    crm_public_key: str | None = None,
    crm_secret_key: str | None = None,
    sessions: SessionCheck | None = None,
) -> Principal:
    """The principal these credentials prove; raises Unauthenticated if any is invalid.

    `sessions` answers staff-session checks (default: a read of the session document).
    """
    if crm_public_key is not None or crm_secret_key is not None:
        # One credential per request: a key never combines with a token or another key.
        others = (bearer, api_key, activation_token)
        if any(v is not None for v in others) or None not in (crm_public_key, crm_secret_key):
            raise Unauthenticated(INVALID_CREDENTIAL)
        return await _from_crm_key(db, crm_public_key, crm_secret_key)
    app_principal: Principal | None = None
    if api_key is not None:
        client = await identity.find_app_client_by_key(db, api_key)
        if client is None:
            raise Unauthenticated(INVALID_CREDENTIAL)
        await identity.touch_app_client(db, client)
        app_principal = Principal(
            kind=PrincipalKind.APP,
            subject_id=client["_id"],
            partner_id=client["partner_id"],
            app_client_id=client["_id"],
        )

    if bearer is not None:
        principal = await _from_bearer(db, keyring, bearer, app_principal, sessions)
        if activation_token is not None:
            raise Unauthenticated(INVALID_CREDENTIAL)
        return principal

    if activation_token is not None:
        if app_principal is not None:
            raise Unauthenticated(INVALID_CREDENTIAL)
        activation = await identity.find_activation_by_token(db, activation_token)
        if activation is None:
            raise Unauthenticated(INVALID_CREDENTIAL)
        return Principal(
            kind=PrincipalKind.ACTIVATION,
            subject_id=activation["_id"],
            partner_id=activation["partner_id"],
            activation_id=activation["_id"],
        )
    return app_principal or ANONYMOUS


async def _from_crm_key(db: Database, public: str | None, secret: str | None) -> Principal:
    kind, key = ("secret", secret) if secret is not None else ("public", public or "")
    doc = await identity.find_crm_key(db, key, kind)
    if doc is None:
        raise Unauthenticated(INVALID_CREDENTIAL)
    await identity.touch_crm_key(db, doc)
    return Principal(
        kind=PrincipalKind.CRM_KEY,
        subject_id=doc["_id"],
        partner_id=doc["partner_id"],
        scopes=crm_key_scopes(doc["scopes"], secret=kind == "secret"),
    )


async def _from_bearer(
    db: Database, keyring: Keyring, token: str, app: Principal | None, sessions: SessionCheck | None
) -> Principal:
    kind = keyring.kind_of(token)
    if kind is None:
        raise Unauthenticated(INVALID_CREDENTIAL)
    try:
        claims = keyring.verify(token, kind)
    except InvalidToken as exc:
        log.info("bearer token refused: %s", exc)
        raise Unauthenticated(INVALID_CREDENTIAL) from None

    if kind is TokenKind.OPERATOR:
        if app is not None:
            raise Unauthenticated(INVALID_CREDENTIAL)
        return Principal(
            kind=PrincipalKind.OPERATOR, subject_id=str(claims["sub"]), expires_at=_expiry(claims)
        )

    if kind is TokenKind.PARTNER:
        if app is not None:
            raise Unauthenticated(INVALID_CREDENTIAL)
        session_id, staff_id = claims.get("sid"), str(claims["sub"])
        if not isinstance(session_id, str):
            raise Unauthenticated(INVALID_CREDENTIAL)
        if sessions is not None:
            live = await sessions.is_live(db, session_id, staff_id)
        else:
            live = await identity.session_is_live(db, session_id, staff_id)
        if not live:
            raise Unauthenticated(INVALID_CREDENTIAL)
        scopes = claims.get("scopes")
        return Principal(
            kind=PrincipalKind.STAFF,
            subject_id=staff_id,
            partner_id=str(claims["pid"]),
            scopes=frozenset(s for s in scopes if isinstance(s, str))
            if isinstance(scopes, list)
            else frozenset(),
            expires_at=_expiry(claims),
            session_family=session_id,
        )

    # Members act through their partner's app: the key must come along and match.
    if app is None or app.partner_id != claims.get("pid"):
        raise Unauthenticated(INVALID_CREDENTIAL)
    return Principal(
        kind=PrincipalKind.MEMBER,
        subject_id=str(claims["sub"]),
        partner_id=app.partner_id,
        app_client_id=app.app_client_id,
        expires_at=_expiry(claims),
    )


def bearer_from_header(value: str | None) -> str | None:
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(INVALID_CREDENTIAL)
    return token.strip()
