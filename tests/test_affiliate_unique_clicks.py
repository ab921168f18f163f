"""The clicks list's `uniqueClickCount` against a Python oracle, two tenants.

(Reference data and the partner's brands are tested in tests/test_affiliate_reference.py.)"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gateway.storage.mongo import Database
from tests.affiliate_fixtures import approve, catalogue, clicks
from tests.conftest import GraphQL, World

CLICKS = """
query K($cid: ID) {
  clicks(from: "2025-01-01T00:00:00+00:00", to: "2025-02-01T00:00:00+00:00", campaignId: $cid,
         first: 1) { totalCount uniqueClickCount }
}"""


@pytest.mark.parametrize("seed", [21, 22, 23])
async def test_unique_click_count_matches_the_oracle(
    gql: GraphQL, world: World, db: Database, seed: int
) -> None:
    rng = random.Random(seed)
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
        await approve(db, pid, cat.auto)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    mine: list[tuple[str, str]] = []
    for _ in range(rng.randint(5, 40)):
        pid = rng.choice((world.partner_a, world.partner_b))
        camp = rng.choice((cat.open, cat.auto))
        cookie = f"ck-{rng.randint(0, 8)}"
        moment = start + timedelta(hours=rng.randint(0, 24 * 40))
        await clicks(db, pid, camp, [moment], cookie_id=cookie)
        if pid == world.partner_a and moment < datetime(2025, 2, 1, tzinfo=UTC):
            mine.append((camp["_id"], cookie))
    body = await gql(CLICKS, {}, as_=world.a_analyst)
    result = body["data"]["clicks"]
    assert result == {"totalCount": len(mine), "uniqueClickCount": len({c for _, c in mine})}
    body = await gql(CLICKS, {"cid": cat.open["_id"]}, as_=world.a_analyst)
    opened = [c for camp, c in mine if camp == cat.open["_id"]]
    assert body["data"]["clicks"]["uniqueClickCount"] == len(set(opened))
