"""Minting the gateway's JWTs for each principal kind (claims documented in the README)."""

from __future__ import annotations

from gateway.auth.tokens import IssuedToken, Keyring, TokenKind
from gateway.settings import Settings
from gateway.storage.mongo import Document
from loaders.identity import staff_scopes


def operator_token(keyring: Keyring, settings: Settings, name: str = "operator") -> IssuedToken:
    return keyring.issue(
        TokenKind.OPERATOR, f"operator:{name}", settings.operator_token_ttl_seconds
    )


def staff_access_token(
    keyring: Keyring, settings: Settings, staff: Document, session_id: str
) -> IssuedToken:
    return keyring.issue(
        TokenKind.PARTNER,
        staff["_id"],
        settings.access_token_ttl_seconds,
        {
            "pid": staff["partner_id"],
            "role": staff["role"],
            "scopes": sorted(staff_scopes(staff)),
            "sid": session_id,
        },
    )


def member_token(
    keyring: Keyring, settings: Settings, member_id: str, partner_id: str
) -> IssuedToken:
    return keyring.issue(
        TokenKind.MEMBER, member_id, settings.member_token_ttl_seconds, {"pid": partner_id}
    )


def keyring_from(settings: Settings) -> Keyring:
    kid, keys = settings.signing_keys()
    return Keyring(settings.jwt_issuer, kid, keys)
