"""Idempotent demo data (`gateway seed --demo`): two partners and everything they own.

Secrets the demo prints (app keys, activation tokens) are derived from a per-install
demo secret under the data dir, so re-running the seed reproduces the same
credentials instead of piling up new ones. Each domain has a module here with an
idempotent `seed(db, partner, demo)`; list it in `SEEDERS` (identity first).
"""

from __future__ import annotations

from typing import Any

from gateway.auth.issue import keyring_from, operator_token
from gateway.core.clock import iso_utc
from gateway.demo import activations, affiliate, content, crm, identity, members, products, vouchers
from gateway.demo.base import DemoPartner, DemoSecrets, DomainSeeder
from gateway.settings import Settings
from gateway.storage.mongo import Database

DEMO_OPERATOR_TTL = 7 * 24 * 3600
DEMO_PARTNERS = (("par_demo-alpha", "Alpha Fitness"), ("par_demo-bravo", "Bravo Events"))

SEEDERS: list[DomainSeeder] = [
    identity.seed,
    activations.seed,
    affiliate.seed,
    vouchers.seed,
    members.seed,
    products.seed,
    content.seed,
    crm.seed,
]


async def seed_demo(db: Database, settings: Settings) -> dict[str, Any]:
    """Create or refresh the demo data; returns the credentials report of `--json`."""
    demo = DemoSecrets(settings.data_dir)
    partners = [DemoPartner(id=pid, name=name, index=i) for i, (pid, name) in
                enumerate(DEMO_PARTNERS)]  # fmt: skip
    for partner in partners:
        for seeder in SEEDERS:
            await seeder(db, partner, demo)
    # The demo's operator token lasts a week (production ones GATEWAY_OPERATOR_TOKEN_TTL_SECONDS).
    lasting = settings.model_copy(update={"operator_token_ttl_seconds": DEMO_OPERATOR_TTL})
    operator = operator_token(keyring_from(settings), lasting, "demo")
    return {
        "operatorToken": operator.token,
        "operatorTokenExpiresAt": iso_utc(operator.expires_at),
        "mintOperatorToken": ".venv/bin/gateway admin token --name you",
        "partners": [p.report() for p in partners],
    }
