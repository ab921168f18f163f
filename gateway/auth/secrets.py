"""Opaque credentials: app API keys, activation tokens, refresh tokens.

Each is high-entropy random text with a readable prefix; only its SHA-256 is stored
(a slow hash adds nothing to 256 random bits), and comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

APP_KEY_PREFIX = "gk_"
ACTIVATION_TOKEN_PREFIX = "tok_"  # noqa: S105 - a prefix, not a secret
REFRESH_TOKEN_PREFIX = "rt_"  # noqa: S105 - a prefix, not a secret
CRM_PUBLIC_KEY_PREFIX = "cpk_"
CRM_SECRET_KEY_PREFIX = "csk_"  # noqa: S105 - a prefix, not a secret


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


def new_app_key() -> tuple[str, str]:
    """(key, visible prefix). The prefix is what support sees; the key is shown once."""
    visible = secrets.token_hex(4)
    return f"{APP_KEY_PREFIX}{visible}_{secrets.token_urlsafe(32)}", f"{APP_KEY_PREFIX}{visible}"


def new_crm_key(secret: bool) -> tuple[str, str]:
    """A CRM API key and its visible prefix: `csk_…` for secret keys, `cpk_…` for public."""
    prefix = CRM_SECRET_KEY_PREFIX if secret else CRM_PUBLIC_KEY_PREFIX
    visible = secrets.token_hex(4)
    return f"{prefix}{visible}_{secrets.token_urlsafe(32)}", f"{prefix}{visible}"


def new_activation_token() -> str:
    return f"{ACTIVATION_TOKEN_PREFIX}{secrets.token_urlsafe(32)}"


def new_refresh_token() -> str:
    return f"{REFRESH_TOKEN_PREFIX}{secrets.token_urlsafe(32)}"


def looks_like(secret: object, prefix: str, max_len: int = 128) -> bool:
    return isinstance(secret, str) and secret.startswith(prefix) and len(secret) <= max_len
