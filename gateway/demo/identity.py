"""Demo partners, their staff logins and app keys."""

from __future__ import annotations

from gateway.auth import secrets as creds
from gateway.auth.passwords import hash_password, verify_password
from gateway.auth.scopes import Role
from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.storage.mongo import Database
from loaders.base import utcnow

STAFF_ROLES = (Role.OWNER, Role.ANALYST)


async def seed(db: Database, partner: DemoPartner, demo: DemoSecrets) -> None:
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
                             "created_at": now, "last_used_ms": 0, "revoked_at_ms": 0},
        },
        upsert=True,
    )  # fmt: skip
    partner.app_keys.append(key)
