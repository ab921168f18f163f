"""The portal part of the demo seed: idempotent, every status present, demo logins work."""

from __future__ import annotations

from collections import Counter

from gateway.demo import seed_demo
from gateway.demo.members import DEMO_MEMBER_PASSWORD
from gateway.settings import Settings
from gateway.storage.mongo import Database
from loaders import members as member_data
from loaders import vouchers as voucher_data
from tests.conftest import GraphQL, Persona

COLLECTIONS = ("vouchers", "members", "watch_events", "products", "classes", "content_strings")
LOGIN = """
mutation L($email: String!, $password: String!) {
  memberLogin(email: $email, password: $password) { member { id classesWatched } }
}"""


async def test_demo_seed_is_idempotent_and_covers_every_status(
    db: Database, settings: Settings, gql: GraphQL
) -> None:
    # when seeded twice
    report = await seed_demo(db, settings)
    counts = {c: await db[c].count_documents({}) for c in COLLECTIONS}
    await seed_demo(db, settings)
    # then nothing is duplicated
    assert {c: await db[c].count_documents({}) for c in COLLECTIONS} == counts
    for partner in report["partners"]:
        pid = partner["id"]
        vouchers = await db.vouchers.find({"partner_id": pid}).to_list(None)
        assert len(vouchers) >= 60
        assert set(Counter(voucher_data.status_of(v) for v in vouchers)) == set(
            voucher_data.STATUSES
        )
        members = await db.members.find({"partner_id": pid}).to_list(None)
        assert len(members) >= 60
        assert {member_data.member_status(m) for m in members} == {"active", "inactive"}
        statuses = await db.products.distinct("status", {"partner_id": pid})
        assert sorted(statuses) == ["active", "archived", "draft"]
        assert await db.products.count_documents({"partner_id": pid}) >= 30
        # the member counters agree with the events
        total = sum(m["watch_minutes"] for m in members)
        events = await db.watch_events.find({"partner_id": pid}).to_list(None)
        assert total == sum(e["minutes"] for e in events) > 0
    # a demo member logs in through the demo app key
    alpha = report["partners"][0]
    app = Persona("demo-app", {"X-API-Key": alpha["appKeys"][0]})
    body = await gql(LOGIN, {"email": "member00@alpha.demo", "password": DEMO_MEMBER_PASSWORD},
                     as_=app)  # fmt: skip
    assert body["data"]["memberLogin"]["member"]["id"] == "mem_demo-alpha-000"
