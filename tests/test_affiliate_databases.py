"""The partner's databases (the seed's publisher databases): rejections first, then create,
read and update one or more; tenant-scoped, paged, batched."""

from __future__ import annotations

from typing import Any

from gateway.storage.mongo import Database
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

FIELDS = "id name creationMethod size femalePercent malePercent minAge maxAge active " \
    "createdAt updatedAt partnerId"  # fmt: skip
CREATE = f"""
mutation C($rows: [PartnerDatabaseInput!]!, $pid: ID) {{
  createPartnerDatabases(databases: $rows, partnerId: $pid) {{ {FIELDS} }}
}}"""
UPDATE = f"""
mutation U($rows: [UpdatePartnerDatabaseInput!]!) {{
  updatePartnerDatabases(databases: $rows) {{ {FIELDS} }}
}}"""
LIST = f"""
query L($first: Int, $after: String, $pid: ID) {{
  partnerDatabases(first: $first, after: $after, partnerId: $pid) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {FIELDS} }} }}
  }}
}}"""
ONE = "query O($id: ID!) { partnerDatabase(id: $id) { id name partnerId } }"
SEED_DB = {"name": "Partnerize Test Database", "creationMethod": "Email", "size": 53000,
           "femalePercent": 50, "malePercent": 50, "minAge": 25, "maxAge": 77}  # fmt: skip


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


async def test_create_databases_rejections(gql: GraphQL, world: World, db: Database) -> None:
    for rows, field in (
        ([], "databases"),
        ([SEED_DB] * 51, "databases"),
        ([SEED_DB, {**SEED_DB, "name": " "}], "name"),
        ([SEED_DB, {**SEED_DB, "name": "x" * 121}], "name"),
        ([SEED_DB, {**SEED_DB, "creationMethod": "bad\x07"}], "creationMethod"),
        ([SEED_DB, {**SEED_DB, "size": -1}], "size"),
        ([SEED_DB, {**SEED_DB, "femalePercent": 101}], "femalePercent"),
        ([SEED_DB, {**SEED_DB, "femalePercent": 60, "malePercent": 50}], "malePercent"),
        ([SEED_DB, {**SEED_DB, "minAge": 80}], "minAge"),
        ([SEED_DB, {**SEED_DB, "maxAge": 121}], "maxAge"),
    ):
        body = await gql(CREATE, {"rows": rows}, as_=world.a_owner)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, field
    assert error_codes(await gql(CREATE, {"rows": [SEED_DB]}, as_=world.a_analyst)) == [
        "FORBIDDEN"  # analysts read only
    ]
    assert error_codes(await gql(CREATE, {"rows": [SEED_DB]}, as_=world.a_app)) == ["FORBIDDEN"]
    assert error_codes(await gql(CREATE, {"rows": [SEED_DB]}, as_=world.anonymous)) == [
        "UNAUTHENTICATED"
    ]
    body = await gql(CREATE, {"rows": [SEED_DB], "pid": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.affiliate_databases.count_documents({}) == 0


async def test_databases_create_read_update_per_tenant(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given A's two databases (the seed's sample and a minimal one) and B's one
    body = await gql(CREATE, {"rows": [SEED_DB, {"name": "Push", "creationMethod": "App",
                                                 "size": 10, "active": False}]},
                     as_=world.a_owner)  # fmt: skip
    sample, push = body["data"]["createPartnerDatabases"]
    assert {k: sample[k] for k in SEED_DB} == {**SEED_DB, "femalePercent": 50.0,
                                               "malePercent": 50.0}  # fmt: skip
    assert sample["active"] is True and sample["partnerId"] == world.partner_a
    assert (push["femalePercent"], push["minAge"], push["active"]) == (0.0, None, False)
    body = await gql(CREATE, {"rows": [SEED_DB], "pid": world.partner_b}, as_=world.operator)
    b_db = body["data"]["createPartnerDatabases"][0]
    # when A lists and reads them
    listed = (await gql(LIST, {}, as_=world.a_analyst))["data"]["partnerDatabases"]
    assert listed["totalCount"] == 2
    assert sorted(e["node"]["id"] for e in listed["edges"]) == sorted([sample["id"], push["id"]])
    one = await gql(ONE, {"id": sample["id"]}, as_=world.a_analyst)
    assert one["data"]["partnerDatabase"]["name"] == "Partnerize Test Database"
    # then B's database is not A's to read or change
    assert error_codes(await gql(ONE, {"id": b_db["id"]}, as_=world.a_analyst)) == ["NOT_FOUND"]
    body = await gql(UPDATE, {"rows": [{"id": b_db["id"], "size": 1}]}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    # update rejections change nothing (one bad row rejects the call)
    for rows, code, field in (
        ([{"id": sample["id"], "size": 1}, {"id": push["id"], "maxAge": 10, "minAge": 20}],
         "BAD_USER_INPUT", "minAge"),
        ([{"id": sample["id"], "malePercent": 60}], "BAD_USER_INPUT", "malePercent"),
        ([{"id": sample["id"], "name": None}], "BAD_USER_INPUT", "name"),
        ([{"id": sample["id"]}], "BAD_USER_INPUT", "databases"),
        ([{"id": sample["id"], "size": 1}, {"id": sample["id"], "size": 2}],
         "BAD_USER_INPUT", "databases"),
        ([{"id": "web_nope", "size": 1}], "BAD_USER_INPUT", "id"),
    ):  # fmt: skip
        body = await gql(UPDATE, {"rows": rows}, as_=world.a_owner)
        assert error_codes(body) == [code] and field_of(body) == field, rows
    stored = await db.affiliate_databases.find_one({"_id": sample["id"]})
    assert stored is not None and stored["size"] == 53000
    # and A's owner updates two at once
    body = await gql(UPDATE, {"rows": [{"id": sample["id"], "size": 60000, "femalePercent": 40},
                                       {"id": push["id"], "active": True}]},
                     as_=world.a_owner)  # fmt: skip
    changed = body["data"]["updatePartnerDatabases"]
    assert [(c["size"], c["femalePercent"], c["active"]) for c in changed] == [
        (60000, 40.0, True), (10, 0.0, True),
    ]
    assert changed[0]["updatedAt"] >= changed[0]["createdAt"]
    stored_b = await db.affiliate_databases.find_one({"_id": b_db["id"]})
    assert stored_b is not None and stored_b["size"] == 53000


async def test_database_list_pages_and_costs_the_same(
    gql: GraphQL, world: World, commands: CommandCounter
) -> None:
    rows = [{"name": f"List {i}", "creationMethod": "Email", "size": i} for i in range(25)]
    await gql(CREATE, {"rows": rows}, as_=world.a_owner)
    seen: list[str] = []
    after = None
    while True:
        body = await gql(LIST, {"first": 10, "after": after}, as_=world.a_analyst)
        conn = body["data"]["partnerDatabases"]
        seen += [e["node"]["name"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(r["name"] for r in rows)

    async def run(first: int) -> int:
        commands.start()
        body = await gql(LIST, {"first": first}, as_=world.a_analyst)
        assert len(body["data"]["partnerDatabases"]["edges"]) == first
        return commands.total

    assert await run(2) == await run(20)


async def test_update_clears_ages_with_an_explicit_null(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a database with a known age range
    body = await gql(CREATE, {"rows": [SEED_DB]}, as_=world.a_owner)
    made = body["data"]["createPartnerDatabases"][0]
    # when the owner sends minAge: null (and leaves maxAge out)
    body = await gql(UPDATE, {"rows": [{"id": made["id"], "minAge": None}]}, as_=world.a_owner)
    # then only minAge is cleared
    changed = body["data"]["updatePartnerDatabases"][0]
    assert (changed["minAge"], changed["maxAge"]) == (None, 77)
    stored = await db.affiliate_databases.find_one({"_id": made["id"]})
    assert stored is not None and stored["min_age"] is None and stored["max_age"] == 77
    # and maxAge: null clears the other one; other fields still refuse null
    body = await gql(UPDATE, {"rows": [{"id": made["id"], "maxAge": None}]}, as_=world.a_owner)
    assert body["data"]["updatePartnerDatabases"][0]["maxAge"] is None
    body = await gql(UPDATE, {"rows": [{"id": made["id"], "size": None}]}, as_=world.a_owner)
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "size"
