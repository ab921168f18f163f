"""Members: registration by voucher (atomic under races), login, watch events, staff views."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from gateway.settings import Settings
from gateway.storage.mongo import Database
from loaders.base import utcnow
from tests.conftest import (
    GraphQL,
    Persona,
    World,
    error_codes,
    make_member_persona,
    only_error,
)
from tests.portal_fixtures import PASSWORD, given_class, given_member, given_voucher, given_watches

REGISTER = """
mutation Reg($input: RegisterMemberInput!) {
  registerMember(input: $input) { token expiresIn member { id email name voucherCode status } }
}"""
LOGIN = """
mutation Login($email: String!, $password: String!) {
  memberLogin(email: $email, password: $password) { token member { id email } }
}"""
RECORD = """
mutation Watch($classId: ID!, $minutes: Int!) {
  recordWatch(classId: $classId, minutes: $minutes) { id minutes classTitle class { id title } }
}"""
MEMBER = """
query One($id: ID!, $first: Int, $after: String) {
  member(id: $id) {
    id name totalWatchMinutes classesWatched status lastWatchedAt
    history(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id minutes } }
    }
  }
}"""
MEMBERS = """
query Many($search: String, $status: MemberStatus, $sort: MemberSort, $first: Int) {
  members(search: $search, status: $status, sort: $sort, first: $first) {
    totalCount edges { node { id name email status totalWatchMinutes } }
  }
}"""
MEMBERS_WITH_HISTORY = """
query Many($first: Int) {
  members(first: $first) {
    edges { node { id history(first: 3) {
      totalCount edges { node { id minutes class { id title } } } } } }
  }
}"""


def reg(code: str, **overrides: Any) -> dict[str, Any]:
    return {"input": {"voucherCode": code, "name": "New Member", "email": "new@example.com",
                      "password": "long-enough-pw", **overrides}}  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "  "}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"voucherCode": "bad code!"}, "voucherCode"),
    ],
)
async def test_register_rejects_bad_input_and_keeps_the_voucher(
    gql: GraphQL, world: World, db: Database, overrides: dict[str, Any], field: str
) -> None:
    # given
    voucher = await given_voucher(db, world.partner_a)
    # when
    body = await gql(REGISTER, reg(voucher["code"], **overrides), as_=world.a_app)
    # then
    assert only_error(body)["extensions"]["code"] == "BAD_USER_INPUT"
    assert only_error(body)["extensions"]["field"] == field
    assert await db.members.count_documents({}) == 0
    assert (await db.vouchers.find_one({"_id": voucher["_id"]}))["status"] == "active"


async def test_register_refuses_wrong_principals_and_unusable_vouchers(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given
    voucher = await given_voucher(db, world.partner_a)
    b_voucher = await given_voucher(db, world.partner_b)
    used = await given_voucher(db, world.partner_a, status="redeemed")
    old = await given_voucher(db, world.partner_a, expires_at=utcnow() - timedelta(days=1))
    taken = await given_member(db, world.partner_a, email="taken@example.com")
    # wrong principals
    for persona, code in [
        (world.anonymous, "UNAUTHENTICATED"),
        (world.a_owner, "FORBIDDEN"),
        (world.operator, "FORBIDDEN"),
        (world.a_member, "FORBIDDEN"),
    ]:
        assert error_codes(await gql(REGISTER, reg(voucher["code"]), as_=persona)) == [code]
    # another partner's voucher is unknown here
    error = only_error(await gql(REGISTER, reg(b_voucher["code"]), as_=world.a_app))
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT", "field": "voucherCode", "reason": "UNKNOWN"
    }  # fmt: skip
    error = only_error(await gql(REGISTER, reg(old["code"]), as_=world.a_app))
    assert error["extensions"]["reason"] == "EXPIRED"
    error = only_error(await gql(REGISTER, reg(used["code"]), as_=world.a_app))
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["reason"] == "ALREADY_USED"
    # an email already registered with this partner
    body = await gql(REGISTER, reg(voucher["code"], email=taken["email"]), as_=world.a_app)
    assert only_error(body)["extensions"] == {"code": "CONFLICT", "field": "email"}
    # then nothing changed
    assert await db.members.count_documents({}) == 1
    assert (await db.vouchers.find_one({"_id": voucher["_id"]}))["status"] == "active"
    assert (await db.vouchers.find_one({"_id": b_voucher["_id"]}))["status"] == "active"


async def test_register_redeems_and_returns_a_working_member_token(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given
    voucher = await given_voucher(db, world.partner_a, code="JOIN-ABCDEF")
    # when
    body = await gql(REGISTER, reg("join-abcdef", email="Ann@Example.com"), as_=world.a_app)
    # then
    payload = body["data"]["registerMember"]
    member = payload["member"]
    assert member["email"] == "ann@example.com"
    assert member["voucherCode"] == "JOIN-ABCDEF"
    stored = await db.members.find_one({"_id": member["id"]})
    assert stored["partner_id"] == world.partner_a
    assert stored["password_hash"].startswith("$argon2")
    redeemed = await db.vouchers.find_one({"_id": voucher["_id"]})
    assert (redeemed["status"], redeemed["redeemed_by"]) == ("redeemed", member["id"])
    me = Persona("me", {**world.a_app.headers, "Authorization": f"Bearer {payload['token']}"})
    body = await gql(MEMBER, {"id": member["id"]}, as_=me)
    assert body["data"]["member"]["name"] == "New Member"


async def test_registration_race_one_voucher_one_member(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given one voucher and twenty apps racing for it with different emails
    voucher = await given_voucher(db, world.partner_a)
    # when
    bodies = await asyncio.gather(
        *(
            gql(REGISTER, reg(voucher["code"], email=f"racer{i}@example.com"), as_=world.a_app)
            for i in range(20)
        )
    )
    # then exactly one wins; the rest are told the voucher is used
    winners = [b for b in bodies if not b.get("errors")]
    assert len(winners) == 1
    assert sorted({c for b in bodies for c in error_codes(b)}) == ["CONFLICT"]
    assert await db.members.count_documents({"partner_id": world.partner_a}) == 1
    stored = await db.vouchers.find_one({"_id": voucher["_id"]})
    assert stored["redeemed_by"] == winners[0]["data"]["registerMember"]["member"]["id"]


async def test_login_same_error_for_unknown_email_and_wrong_password(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given
    member = await given_member(db, world.partner_a, email="login@example.com")
    # rejections
    wrong = await gql(LOGIN, {"email": "login@example.com", "password": "nope-nope-1"},
                      as_=world.a_app)  # fmt: skip
    unknown = await gql(LOGIN, {"email": "who@example.com", "password": PASSWORD},
                        as_=world.a_app)  # fmt: skip
    assert only_error(wrong) == only_error(unknown)
    assert error_codes(wrong) == ["UNAUTHENTICATED"]
    other_app = await gql(LOGIN, {"email": "login@example.com", "password": PASSWORD},
                          as_=world.b_app)  # fmt: skip
    assert error_codes(other_app) == ["UNAUTHENTICATED"]
    staff = await gql(LOGIN, {"email": "login@example.com", "password": PASSWORD},
                      as_=world.a_owner)  # fmt: skip
    assert error_codes(staff) == ["FORBIDDEN"]
    # success
    body = await gql(LOGIN, {"email": "LOGIN@example.com", "password": PASSWORD}, as_=world.a_app)
    assert body["data"]["memberLogin"]["member"]["id"] == member["_id"]
    assert body["data"]["memberLogin"]["token"]


async def test_record_watch_rejections_then_success(
    gql: GraphQL, world: World, db: Database, settings: Settings
) -> None:
    # given
    member = await given_member(db, world.partner_a)
    me = make_member_persona(settings, world.a_app, member["_id"])
    klass = await given_class(db, world.partner_a, "Power Yoga", "Yoga")
    b_class = await given_class(db, world.partner_b)
    # bad input
    for variables, field in [
        ({"classId": klass["_id"], "minutes": 0}, "minutes"),
        ({"classId": klass["_id"], "minutes": 601}, "minutes"),
        ({"classId": "nope", "minutes": 5}, "classId"),
    ]:
        error = only_error(await gql(RECORD, variables, as_=me))
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    # another partner's class, wrong principals
    ok = {"classId": klass["_id"], "minutes": 25}
    assert error_codes(await gql(RECORD, {**ok, "classId": b_class["_id"]}, as_=me)) == [
        "NOT_FOUND"
    ]
    assert error_codes(await gql(RECORD, ok, as_=world.a_app)) == ["FORBIDDEN"]
    assert error_codes(await gql(RECORD, ok, as_=world.a_owner)) == ["FORBIDDEN"]
    assert error_codes(await gql(RECORD, ok)) == ["UNAUTHENTICATED"]
    assert await db.watch_events.count_documents({}) == 0
    # success
    body = await gql(RECORD, ok, as_=me)
    event = body["data"]["recordWatch"]
    assert (event["minutes"], event["classTitle"], event["class"]["id"]) == (
        25, "Power Yoga", klass["_id"]
    )  # fmt: skip
    stored = await db.watch_events.find_one({"_id": event["id"]})
    assert stored["day"] == utcnow().strftime("%Y-%m-%d")
    assert (stored["member_id"], stored["partner_id"]) == (member["_id"], world.partner_a)
    updated = await db.members.find_one({"_id": member["_id"]})
    assert (updated["watch_minutes"], updated["classes_watched"]) == (25, 1)
    assert updated["last_watched_ms"] == stored["ts"]


async def test_member_detail_history_pages_and_who_may_read_it(
    gql: GraphQL, world: World, db: Database, settings: Settings
) -> None:
    # given
    member = await given_member(db, world.partner_a)
    other = await given_member(db, world.partner_a)
    klass = await given_class(db, world.partner_a)
    await given_watches(db, member, klass, [10, 20, 30, 40, 50])
    me = make_member_persona(settings, world.a_app, member["_id"])
    # then: staff reads pages of the history with totals
    body = await gql(MEMBER, {"id": member["_id"], "first": 3}, as_=world.a_analyst)
    detail = body["data"]["member"]
    assert (detail["totalWatchMinutes"], detail["classesWatched"], detail["status"]) == (
        150, 5, "ACTIVE"
    )  # fmt: skip
    history = detail["history"]
    assert [e["node"]["minutes"] for e in history["edges"]] == [50, 40, 30]
    assert history["totalCount"] == 5
    after = history["pageInfo"]["endCursor"]
    body = await gql(MEMBER, {"id": member["_id"], "first": 3, "after": after}, as_=me)
    rest = body["data"]["member"]["history"]
    assert [e["node"]["minutes"] for e in rest["edges"]] == [20, 10]
    assert rest["pageInfo"]["hasNextPage"] is False
    # a member reads only itself; other tenants and the app see nothing
    assert error_codes(await gql(MEMBER, {"id": other["_id"]}, as_=me)) == ["NOT_FOUND"]
    assert error_codes(await gql(MEMBER, {"id": member["_id"]}, as_=world.b_owner)) == ["NOT_FOUND"]
    assert error_codes(await gql(MEMBER, {"id": member["_id"]}, as_=world.a_app)) == ["FORBIDDEN"]


async def test_members_search_status_sort_and_tenancy(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given
    klass = await given_class(db, world.partner_a)
    ann = await given_member(db, world.partner_a, name="Ann Active", email="ann@example.com")
    await given_member(db, world.partner_a, name="Bob Idle", email="bob@example.com")
    old = await given_member(db, world.partner_a, name="Cat Lapsed", email="cat@example.com")
    await given_member(db, world.partner_b, name="Ann Other", email="ann@other.com")
    await given_watches(db, ann, klass, [30, 30])
    await given_watches(db, old, klass, [90], at=utcnow() - timedelta(days=45))

    async def names(**variables: Any) -> list[str]:
        body = await gql(MEMBERS, variables, as_=world.a_analyst)
        return [e["node"]["name"] for e in body["data"]["members"]["edges"]]

    # then
    assert await names(sort="NAME") == ["Ann Active", "Bob Idle", "Cat Lapsed"]
    assert await names(search="ANN") == ["Ann Active"]
    assert await names(search="bob@") == ["Bob Idle"]
    assert await names(status="ACTIVE") == ["Ann Active"]
    assert sorted(await names(status="INACTIVE")) == ["Bob Idle", "Cat Lapsed"]
    assert await names(sort="WATCH_TIME") == ["Cat Lapsed", "Ann Active", "Bob Idle"]
    assert error_codes(await gql(MEMBERS, {}, as_=world.a_app)) == ["FORBIDDEN"]
    assert error_codes(await gql(MEMBERS, {}, as_=world.a_member)) == ["FORBIDDEN"]


async def test_members_with_history_cost_the_same_for_2_and_20(
    gql: GraphQL, world: World, db: Database, commands: Any
) -> None:
    klass = await given_class(db, world.partner_a)
    other_class = await given_class(db, world.partner_a, "HIIT 20", "HIIT")
    for i in range(20):
        member = await given_member(db, world.partner_a, name=f"Member {i:02d}")
        await given_watches(db, member, klass if i % 2 else other_class, [5, 6, 7, 8])

    async def cost(first: int) -> int:
        commands.start()
        body = await gql(MEMBERS_WITH_HISTORY, {"first": first}, as_=world.a_owner)
        edges = body["data"]["members"]["edges"]
        assert len(edges) == first
        assert all(len(e["node"]["history"]["edges"]) == 3 for e in edges)
        return commands.total  # type: ignore[no-any-return]

    assert await cost(2) == await cost(20)
