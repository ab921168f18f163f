"""Vouchers: generation, lifecycle (expiry at read time), listing, stats, revoke, validate."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from gateway.core.clock import iso_utc
from gateway.storage.mongo import Database
from loaders import vouchers as voucher_data
from loaders.base import utcnow
from tests.conftest import GraphQL, World, error_codes, only_error
from tests.portal_fixtures import given_member, given_voucher

GENERATE = """
mutation Gen($input: GenerateVouchersInput!) {
  generateVouchers(input: $input) { vouchers { id code status expiresAt } }
}"""
REVOKE = "mutation Rev($id: ID!) { revokeVoucher(id: $id) { id status revokedAt } }"
LIST = """
query List($status: VoucherStatus, $search: String, $first: Int, $after: String) {
  vouchers(status: $status, search: $search, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id code status } }
  }
}"""
STATS = "{ voucherStats { total active redeemed expired revoked redemptionRate } }"
VALIDATE = "mutation V($code: String!) { validateVoucher(code: $code) { valid reason } }"

CODE_RE = re.compile(r"^STUDIO-[2-9A-HJ-NP-Z]{6}$")


def gen_input(**overrides: Any) -> dict[str, Any]:
    return {"input": {"quantity": 3, **overrides}}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": 501}, "quantity"),
        ({"prefix": "bad prefix!"}, "prefix"),
        ({"prefix": "THIRTEENCHARS"}, "prefix"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"),
    ],
)
async def test_generate_rejects_bad_input_and_writes_nothing(
    gql: GraphQL, world: World, db: Database, overrides: dict[str, Any], field: str
) -> None:
    # when
    body = await gql(GENERATE, gen_input(**overrides), as_=world.a_owner)
    # then
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await db.vouchers.count_documents({}) == 0


async def test_generate_refuses_wrong_principals(gql: GraphQL, world: World, db: Database) -> None:
    for persona, code in [
        (world.anonymous, "UNAUTHENTICATED"),
        (world.a_analyst, "FORBIDDEN"),
        (world.a_app, "FORBIDDEN"),
        (world.a_member, "FORBIDDEN"),
    ]:
        assert error_codes(await gql(GENERATE, gen_input(), as_=persona)) == [code], persona.name
    body = await gql(GENERATE, gen_input(partnerId=world.partner_b), as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    body = await gql(GENERATE, gen_input(), as_=world.operator)
    assert only_error(body)["extensions"]["field"] == "partnerId"
    assert await db.vouchers.count_documents({}) == 0


async def test_generate_makes_unique_codes_with_prefix_and_expiry(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given
    expires = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    # when
    body = await gql(
        GENERATE,
        gen_input(quantity=500, prefix="studio", expiresAt=expires.isoformat()),
        as_=world.a_manager,
    )
    # then
    vouchers = body["data"]["generateVouchers"]["vouchers"]
    assert len(vouchers) == 500
    assert len({v["code"] for v in vouchers}) == 500
    assert all(CODE_RE.match(v["code"]) for v in vouchers)
    assert {v["status"] for v in vouchers} == {"ACTIVE"}
    assert vouchers[0]["expiresAt"] == iso_utc(expires)
    assert await db.vouchers.count_documents({"partner_id": world.partner_a}) == 500


async def test_operator_generates_for_a_named_partner(
    gql: GraphQL, world: World, db: Database
) -> None:
    body = await gql(GENERATE, gen_input(partnerId=world.partner_b), as_=world.operator)
    assert len(body["data"]["generateVouchers"]["vouchers"]) == 3
    assert await db.vouchers.count_documents({"partner_id": world.partner_b}) == 3


async def test_code_collisions_are_redrawn_never_duplicated(
    gql: GraphQL, world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: an existing code, and a generator that draws it first (and once more in-batch)
    await given_voucher(db, world.partner_b, code="DUP-AAAAAA")
    draws = iter(["AAAAAA", "AAAAAA", "BBBBBB", "CCCCCC", "DDDDDD"])
    monkeypatch.setattr(voucher_data, "random_code_body", lambda: next(draws))
    # when
    body = await gql(GENERATE, gen_input(quantity=3, prefix="DUP"), as_=world.a_owner)
    # then: the clash with another partner's code was redrawn
    codes = sorted(v["code"] for v in body["data"]["generateVouchers"]["vouchers"])
    assert codes == ["DUP-BBBBBB", "DUP-CCCCCC", "DUP-DDDDDD"]
    assert await db.vouchers.count_documents({"code": "DUP-AAAAAA"}) == 1
    assert await db.vouchers.count_documents({"partner_id": world.partner_a}) == 3


async def test_revoke_rejections_then_success(gql: GraphQL, world: World, db: Database) -> None:
    # given
    active = await given_voucher(db, world.partner_a)
    redeemed = await given_voucher(db, world.partner_a, status="redeemed")
    # bad id, wrong principals, other tenant
    body = await gql(REVOKE, {"id": "nope"}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    assert error_codes(await gql(REVOKE, {"id": active["_id"]}, as_=world.anonymous)) == [
        "UNAUTHENTICATED"
    ]
    assert error_codes(await gql(REVOKE, {"id": active["_id"]}, as_=world.a_analyst)) == [
        "FORBIDDEN"
    ]
    assert error_codes(await gql(REVOKE, {"id": active["_id"]}, as_=world.a_app)) == ["FORBIDDEN"]
    body = await gql(REVOKE, {"id": active["_id"]}, as_=world.b_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["data"] is None
    assert (await db.vouchers.find_one({"_id": active["_id"]}))["status"] == "active"
    # redeemed -> CONFLICT, unchanged
    assert error_codes(await gql(REVOKE, {"id": redeemed["_id"]}, as_=world.a_owner)) == [
        "CONFLICT"
    ]
    assert (await db.vouchers.find_one({"_id": redeemed["_id"]}))["status"] == "redeemed"
    # success
    body = await gql(REVOKE, {"id": active["_id"]}, as_=world.a_manager)
    assert body["data"]["revokeVoucher"]["status"] == "REVOKED"
    assert body["data"]["revokeVoucher"]["revokedAt"] is not None
    assert (await db.vouchers.find_one({"_id": active["_id"]}))["status"] == "revoked"


async def given_every_status(db: Database, partner_id: str) -> None:
    past = utcnow() - timedelta(days=1)
    for _ in range(3):
        await given_voucher(db, partner_id, code=None)
    await given_voucher(db, partner_id, status="redeemed")
    await given_voucher(db, partner_id, status="redeemed")
    await given_voucher(db, partner_id, status="revoked")
    await given_voucher(db, partner_id, expires_at=past, code="T-EXPIRED1")
    await given_voucher(db, partner_id, expires_at=utcnow() + timedelta(days=1), code="T-SOON0001")


async def test_list_filters_by_status_computed_now_and_by_code(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given
    await given_every_status(db, world.partner_a)
    await given_voucher(db, world.partner_b)

    # when / then
    async def listed(**variables: Any) -> dict[str, Any]:
        body = await gql(LIST, variables, as_=world.a_analyst)
        return body["data"]["vouchers"]  # type: ignore[no-any-return]

    assert (await listed())["totalCount"] == 8
    assert (await listed(status="ACTIVE"))["totalCount"] == 4
    expired = await listed(status="EXPIRED")
    assert [e["node"]["code"] for e in expired["edges"]] == ["T-EXPIRED1"]
    assert expired["edges"][0]["node"]["status"] == "EXPIRED"
    assert (await listed(status="REDEEMED"))["totalCount"] == 2
    assert (await listed(status="REVOKED"))["totalCount"] == 1
    assert [e["node"]["code"] for e in (await listed(search="soon"))["edges"]] == ["T-SOON0001"]
    # pagination walks every voucher exactly once
    first = await listed(first=5)
    second = await listed(first=5, after=first["pageInfo"]["endCursor"])
    ids = [e["node"]["id"] for e in first["edges"] + second["edges"]]
    assert len(set(ids)) == 8
    assert first["pageInfo"]["hasNextPage"] and not second["pageInfo"]["hasNextPage"]


async def test_stats_count_each_status_for_own_partner_only(
    gql: GraphQL, world: World, db: Database
) -> None:
    await given_every_status(db, world.partner_a)
    await given_voucher(db, world.partner_b, status="redeemed")
    body = await gql(STATS, as_=world.a_analyst)
    assert body["data"]["voucherStats"] == {
        "total": 8, "active": 4, "redeemed": 2, "expired": 1, "revoked": 1, "redemptionRate": 25.0,
    }  # fmt: skip
    assert error_codes(await gql(STATS, as_=world.a_app)) == ["FORBIDDEN"]


async def test_validate_explains_why_and_hides_other_partners(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given
    await given_voucher(db, world.partner_a, code="A-VALID1")
    await given_voucher(db, world.partner_a, code="A-USED1", status="redeemed")
    await given_voucher(db, world.partner_a, code="A-GONE1", status="revoked")
    await given_voucher(db, world.partner_a, code="A-OLD1", expires_at=utcnow() - timedelta(1))
    await given_voucher(db, world.partner_b, code="B-VALID1")

    async def check(code: str) -> dict[str, Any]:
        body = await gql(VALIDATE, {"code": code}, as_=world.a_app)
        return body["data"]["validateVoucher"]  # type: ignore[no-any-return]

    # wrong principals
    assert error_codes(await gql(VALIDATE, {"code": "A-VALID1"}, as_=world.a_owner)) == [
        "FORBIDDEN"
    ]
    assert error_codes(await gql(VALIDATE, {"code": "A-VALID1"})) == ["UNAUTHENTICATED"]
    # then
    assert await check("B-VALID1") == {"valid": False, "reason": "UNKNOWN"}
    assert await check("no such code") == {"valid": False, "reason": "UNKNOWN"}
    assert await check("A-USED1") == {"valid": False, "reason": "ALREADY_USED"}
    assert await check("A-GONE1") == {"valid": False, "reason": "REVOKED"}
    assert await check("A-OLD1") == {"valid": False, "reason": "EXPIRED"}
    assert await check(" a-valid1 ") == {"valid": True, "reason": None}


LIST_WITH_MEMBER = """
query L($first: Int) {
  vouchers(status: REDEEMED, first: $first) { edges { node { code redeemedBy { id name } } } }
}"""


async def test_redeemed_by_loads_members_in_one_batch(
    gql: GraphQL, world: World, db: Database, commands: Any
) -> None:
    for i in range(20):
        await given_member(db, world.partner_a, name=f"Holder {i:02d}")

    async def cost(first: int) -> int:
        commands.start()
        body = await gql(LIST_WITH_MEMBER, {"first": first}, as_=world.a_owner)
        edges = body["data"]["vouchers"]["edges"]
        assert len(edges) == first
        assert all(e["node"]["redeemedBy"]["name"].startswith("Holder") for e in edges)
        return commands.total  # type: ignore[no-any-return]

    assert await cost(2) == await cost(20)
