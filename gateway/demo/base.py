"""Shared pieces of the demo seed: the partner being seeded and deterministic secrets.

Secrets the demo prints (app keys, activation tokens) are derived from a per-install
demo secret under the data dir, so re-running the seed reproduces the same
credentials instead of piling up new ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.auth import secrets as creds
from gateway.storage.mongo import Database


@dataclass
class DemoPartner:
    """One demo partner and the credentials the seed reports for it."""

    id: str
    name: str
    index: int
    staff: list[dict[str, str]] = field(default_factory=list)
    app_keys: list[str] = field(default_factory=list)
    activations: list[dict[str, str]] = field(default_factory=list)
    app_client_id: str = ""
    unused_voucher_codes: list[str] = field(default_factory=list)
    member_login: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "staff": self.staff,
            "appKeys": self.app_keys,
            "activations": self.activations,
            **({"crmKeys": self.extra["crm_keys"]} if "crm_keys" in self.extra else {}),
            "unusedVoucherCodes": self.unused_voucher_codes,
            "memberLogin": self.member_login,
        }


class DemoSecrets:
    """Deterministic per-install secrets for demo credentials."""

    def __init__(self, data_dir: Path) -> None:
        path = data_dir / "secrets" / "demo_seed.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        self._key = bytes.fromhex(path.read_text().strip())

    def token(self, label: str, length: int = 43) -> str:
        mac = hmac.new(self._key, label.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")[:length]

    def app_key(self, label: str) -> tuple[str, str]:
        visible = self.token(label + ":visible", 8).lower().replace("-", "a").replace("_", "b")
        return (
            f"{creds.APP_KEY_PREFIX}{visible}_{self.token(label)}",
            f"{creds.APP_KEY_PREFIX}{visible}",
        )

    def crm_key(self, label: str, secret: bool) -> tuple[str, str]:
        """A CRM API key (`csk_…` / `cpk_…`) and its visible prefix, stable across re-seeds."""
        prefix = creds.CRM_SECRET_KEY_PREFIX if secret else creds.CRM_PUBLIC_KEY_PREFIX
        visible = self.token(label + ":visible", 8).lower().replace("-", "a").replace("_", "b")
        return f"{prefix}{visible}_{self.token(label)}", f"{prefix}{visible}"


DomainSeeder = Callable[[Database, DemoPartner, DemoSecrets], Awaitable[None]]
