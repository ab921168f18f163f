"""Demo content strings (sanitised through the same path as `updateContentStrings`)."""

from __future__ import annotations

from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.storage.mongo import Database
from loaders import content as data


async def seed(db: Database, partner: DemoPartner, demo: DemoSecrets) -> None:
    values = data.clean_updates([
        ("st_aboutus", f"<h1>About {partner.name}</h1><p>Classes for every level.</p>"),
        ("st_privacypolicy", "<h1>Privacy Policy</h1><p>We keep only what the app needs.</p>"),
        ("st_terms", "<h1>Terms</h1><p>Membership is personal and not transferable.</p>"),
    ])  # fmt: skip
    await data.merge_content_strings(db, partner.id, values)
