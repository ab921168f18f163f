"""Signed JWTs for operators, partner staff and members (RFC 8725 rules).

- One algorithm, pinned (HS256); the header's `alg` is never trusted.
- Each kind has its own audience and `typ` header, so one kind never passes as another.
- `iss`, `aud`, `exp`, `iat`, `jti` required; `nbf` honoured; small leeway.
- `kid` is looked up only in the server's own key map: one key signs, every key in the
  map verifies, so keys rotate without logging anyone out.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

ALGORITHM = "HS256"
LEEWAY_SECONDS = 10
# Verified tokens remembered per keyring (a staff dashboard sends the same token for minutes).
VERIFIED_CACHE_SIZE = 1024


class TokenKind(StrEnum):
    OPERATOR = "operator"
    PARTNER = "partner"
    MEMBER = "member"


_TYP = {kind: f"{kind.value}+jwt" for kind in TokenKind}
_KIND_BY_TYP = {typ: kind for kind, typ in _TYP.items()}


class InvalidToken(Exception):
    """Any reason a token is refused; the reason is logged, never shown to the caller."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime
    expires_in: int


class Keyring:
    """Signs and verifies the gateway's JWTs."""

    def __init__(self, issuer: str, signing_kid: str, keys: dict[str, str]) -> None:
        if signing_kid not in keys:
            raise ValueError("signing kid must be one of the keys")
        self.issuer = issuer
        self.signing_kid = signing_kid
        self._keys = dict(keys)
        # (token, kind) -> claims of a token that passed `verify`; bounded, least recent out.
        self._verified: OrderedDict[tuple[str, TokenKind], dict[str, Any]] = OrderedDict()

    def issue(
        self,
        kind: TokenKind,
        subject: str,
        ttl_seconds: int,
        claims: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> IssuedToken:
        now = now or datetime.now(UTC)
        expires = now + timedelta(seconds=ttl_seconds)
        jti = secrets.token_urlsafe(16)
        payload = {
            **(claims or {}),
            "iss": self.issuer,
            "aud": kind.value,
            "sub": subject,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": jti,
        }
        token = jwt.encode(
            payload,
            self._keys[self.signing_kid],
            algorithm=ALGORITHM,
            headers={"kid": self.signing_kid, "typ": _TYP[kind]},
        )
        return IssuedToken(token=token, jti=jti, expires_at=expires, expires_in=ttl_seconds)

    def kind_of(self, token: str) -> TokenKind | None:
        """The kind the token's `typ` header names (None: no kind, or not a JWT), unverified.

        A token that verified before is answered from memory: its `typ` was checked then,
        and a repeated bearer is not parsed once more before `verify` (issue 15: PyJWT checks
        every character of all three segments, the signature's too).
        """
        for kind in TokenKind:
            if (token, kind) in self._verified:
                return kind
        try:
            typ = jwt.get_unverified_header(token).get("typ")
        except jwt.PyJWTError:
            return None
        return _KIND_BY_TYP.get(typ) if isinstance(typ, str) else None

    def verify(self, token: str, kind: TokenKind) -> dict[str, Any]:
        """Claims of a valid token of `kind`; InvalidToken otherwise.

        A token that verified before is answered from memory (signature, kid, alg, typ, aud,
        iss cannot change for the same string and keys) while its time claims still hold as
        PyJWT checks them (exp, nbf, iat with the same leeway); after that it is verified
        again, which refuses it.
        """
        key = (token, kind)
        cached = self._verified.get(key)
        if cached is not None:
            now = time.time()
            if (
                now < int(cached["exp"]) + LEEWAY_SECONDS
                and int(cached.get("nbf", 0)) <= now + LEEWAY_SECONDS
                and int(cached["iat"]) <= now + LEEWAY_SECONDS
            ):
                self._verified.move_to_end(key)
                return dict(cached)
            del self._verified[key]
        claims = self._verify(token, kind)
        self._verified[key] = dict(claims)
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str, kind: TokenKind) -> dict[str, Any]:
        if len(token) > 4096:
            raise InvalidToken("token too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed header: {exc}") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or kid not in self._keys:
            raise InvalidToken("unknown kid")
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("algorithm not allowed")
        if header.get("typ") != _TYP[kind]:
            raise InvalidToken("wrong token type")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._keys[kid],
                algorithms=[ALGORITHM],
                audience=kind.value,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "jti", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        return claims
