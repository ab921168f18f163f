"""Transaction queries: per-type required fields (the whole batch rejected on any bad
row), only on approved campaigns by camref, disputes marked on the tracked conversion,
delete while pending only, two tenants, N+1."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.storage.mongo import Database
from tests.affiliate_fixtures import approve, catalogue, conversion
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

CREATE = """
mutation C($queries: [TransactionQueryInput!]!, $pid: ID) {
  createTransactionQueries(queries: $queries, partnerId: $pid) {
    id type state camref conversionReference conversionValue expectedCommission currency
    conversionAt notes campaign { id }
  }
}"""
LIST = """
query L($first: Int, $types: [TransactionQueryType!]) {
  transactionQueries(first: $first, types: $types) {
    totalCount edges { node { id type campaign { title } } }
  }
}"""
DELETE = "mutation D($id: ID!) { deleteTransactionQuery(id: $id) }"


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


async def test_batch_rejections_then_success_and_disputes(
    gql: GraphQL, world: World, db: Database
) -> None:
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    camref = cat.open["camref"]
    sale = await conversion(
        db,
        world.partner_a,
        cat.open,
        datetime(2025, 1, 3, tzinfo=UTC),
        value=1000,
        commission=50,
        conversion_reference="ORDER-9",
    )
    untracked = {"type": "UNTRACKED", "camref": camref, "conversionReference": "ORDER-1",
                 "conversionValue": 6712, "expectedCommission": 671,
                 "conversionAt": "2025-01-01T00:00:00+00:00", "notes": "Missing"}  # fmt: skip
    declined = {"type": "DECLINED", "camref": camref, "conversionReference": "ORDER-9"}
    for bad, field in (
        ({**untracked, "conversionValue": None}, "conversionValue"),
        ({**untracked, "conversionAt": None}, "conversionAt"),
        ({**untracked, "expectedCommission": 9999}, "expectedCommission"),
        ({**untracked, "conversionAt": "2999-01-01T00:00:00+00:00"}, "conversionAt"),
        ({"type": "INCORRECT_COMMISSION", "camref": camref, "conversionReference": "X"},
         "expectedCommission"),
        ({**declined, "conversionReference": ""}, "conversionReference"),
        ({**declined, "currency": "ABC"}, "currency"),
    ):  # fmt: skip
        body = await gql(CREATE, {"queries": [untracked, bad]}, as_=world.a_owner)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, bad
    body = await gql(CREATE, {"queries": []}, as_=world.a_owner)
    assert field_of(body) == "queries"
    for camref_bad in ("nope00", cat.auto["camref"]):  # unknown, or not approved on it
        body = await gql(CREATE, {"queries": [{**declined, "camref": camref_bad}]},
                         as_=world.a_owner)  # fmt: skip
        assert error_codes(body) == ["NOT_FOUND"] and field_of(body) == "camref"
    assert error_codes(await gql(CREATE, {"queries": [declined]}, as_=world.a_analyst)) == [
        "FORBIDDEN"
    ]
    body = await gql(CREATE, {"queries": [declined], "pid": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.affiliate_transaction_queries.count_documents({}) == 0
    # success: both rows; the declined one marks the tracked sale disputed
    body = await gql(CREATE, {"queries": [untracked, declined]}, as_=world.a_manager)
    made = body["data"]["createTransactionQueries"]
    assert [(q["type"], q["state"], q["currency"]) for q in made] == [
        ("UNTRACKED", "PENDING", "GBP"), ("DECLINED", "PENDING", "GBP"),
    ]  # fmt: skip
    assert made[0]["conversionValue"] == 6712 and made[0]["conversionAt"].startswith("2025-01-01")
    stored = await db.affiliate_conversions.find_one({"_id": sale["_id"]})
    assert stored is not None and stored["was_disputed"] == 1
    # lists per tenant, filters by type
    body = await gql(LIST, {"types": ["DECLINED"]}, as_=world.a_analyst)
    assert body["data"]["transactionQueries"]["totalCount"] == 1
    assert (await gql(LIST, {}, as_=world.b_owner))["data"]["transactionQueries"][
        "totalCount"] == 0  # fmt: skip
    # delete: other tenant NOT_FOUND, pending deleted, decided CONFLICT
    assert error_codes(await gql(DELETE, {"id": made[0]["id"]}, as_=world.b_owner)) == ["NOT_FOUND"]
    assert error_codes(await gql(DELETE, {"id": made[0]["id"]}, as_=world.a_analyst)) == [
        "FORBIDDEN"
    ]
    body = await gql(DELETE, {"id": made[0]["id"]}, as_=world.a_owner)
    assert body["data"]["deleteTransactionQuery"] == made[0]["id"]
    await db.affiliate_transaction_queries.update_one(
        {"_id": made[1]["id"]}, {"$set": {"state": "approved"}}
    )
    assert error_codes(await gql(DELETE, {"id": made[1]["id"]}, as_=world.a_owner)) == ["CONFLICT"]
    assert await db.affiliate_transaction_queries.count_documents({}) == 1


async def test_transaction_queries_have_no_n_plus_one(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    rows = []
    for i in range(5):
        cat = await catalogue(db, f"Brand{i}")
        for c in (cat.open, cat.terms, cat.auto, cat.paused):
            await approve(db, world.partner_a, c)
            rows.append({"type": "DECLINED", "camref": c["camref"],
                         "conversionReference": f"R{i}"})  # fmt: skip
    body = await gql(CREATE, {"queries": rows}, as_=world.a_owner)
    assert len(body["data"]["createTransactionQueries"]) == 20

    async def run(first: int) -> int:
        commands.start()
        body = await gql(LIST, {"first": first}, as_=world.a_owner)
        assert len(body["data"]["transactionQueries"]["edges"]) == first
        return commands.total

    assert await run(2) == await run(20)
