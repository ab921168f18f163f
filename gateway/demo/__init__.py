"""Idempotent demo data (`gateway seed --demo`): two partners and everything they own.

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
from gateway.auth.issue import keyring_from, operator_token
from gateway.auth.passwords import hash_password, verify_password
from gateway.auth.scopes import Role
from gateway.mongo import Database
from gateway.settings import Settings
from loaders.base import utcnow


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
    extra: dict[str, Any] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "staff": self.staff,
            "appKeys": self.app_keys,
            "activations": self.activations,
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
        return f"{creds.APP_KEY_PREFIX}{visible}_{self.token(label)}", f"{creds.APP_KEY_PREFIX}{visible}"


DEMO_PARTNERS = (("par_demo-alpha", "Alpha Fitness"), ("par_demo-bravo", "Bravo Events"))
STAFF_ROLES = (Role.OWNER, Role.ANALYST)

DomainSeeder = Callable[[Database, DemoPartner, DemoSecrets], Awaitable[None]]


async def _seed_identity(db: Database, partner: DemoPartner, demo: DemoSecrets) -> None:
    now = utcnow()
    await db.partners.update_one(
        {"_id": partner.id},
        {"$setOnInsert": {"name": partner.name, "name_lower": partner.name.lower(),
                          "status": "active", "created_at": now}},
        upsert=True,
    )  # fmt: skip
    slug = partner.id.removeprefix("par_demo-")
    for role in STAFF_ROLES:
        email = f"{role.value}@{slug}.demo"
        password = f"demo-{slug}-{role.value}"
        staff_id = f"stf_demo-{slug}-{role.value}"
        existing = await db.staff.find_one({"_id": staff_id})
        if existing is None or not verify_password(existing["password_hash"], password):
            await db.staff.update_one(
                {"_id": staff_id},
                {
                    "$set": {"password_hash": hash_password(password), "active": True},
                    "$setOnInsert": {
                        "email": email, "partner_id": partner.id,
                        "name": f"{partner.name} {role.value}", "role": role.value,
                        "created_at": now,
                    },
                },
                upsert=True,
            )  # fmt: skip
        partner.staff.append({"email": email, "password": password, "role": role.value})
    key, visible = demo.app_key(f"app:{partner.id}")
    partner.app_client_id = f"app_demo-{slug}"
    await db.app_clients.update_one(
        {"_id": partner.app_client_id},
        {
            "$set": {"key_digest": creds.digest(key), "key_prefix": visible, "revoked": False},
            "$setOnInsert": {"partner_id": partner.id, "name": f"{partner.name} app",
                             "created_at": now, "last_used_at": None, "revoked_at": None},
        },
        upsert=True,
    )  # fmt: skip
    partner.app_keys.append(key)


# Domain issues append their seeders here; each must be idempotent.
SEEDERS: list[DomainSeeder] = [_seed_identity]


async def seed_demo(db: Database, settings: Settings) -> dict[str, Any]:
    """Create or refresh the demo data; returns the credentials report of `--json`."""
    demo = DemoSecrets(settings.data_dir)
    partners = [DemoPartner(id=pid, name=name, index=i) for i, (pid, name) in
                enumerate(DEMO_PARTNERS)]  # fmt: skip
    for partner in partners:
        for seeder in SEEDERS:
            await seeder(db, partner, demo)
    return {
        "operatorToken": operator_token(keyring_from(settings), settings, "demo").token,
        "partners": [p.report() for p in partners],
    }
