"""registerMember under partial failure: the member document is the commit point, a claim
without a member is settled by the next read, and retrying the same registration after an
ambiguous failure succeeds (or says it already did). The fault test pauses the real store
process (SIGSTOP / SIGCONT) under concurrent registrations."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pymongo.errors import DuplicateKeyError

from gateway.app import create_app
from gateway.auth.issue import keyring_from, operator_token, staff_access_token
from gateway.auth.scopes import Role
from gateway.http.keys import SERVICES
from gateway.storage.mongo import Database
from gateway.storage.store import RunningStore, embedded_store
from loaders import identity, partners
from loaders import members as member_data
from loaders import vouchers as voucher_data
from loaders.base import epoch_ms, utcnow
from tests.conftest import GraphQL, Persona, World, make_settings, only_error
from tests.faults import until_answered
from tests.live import LiveClient, until_subscribed
from tests.portal_fixtures import given_voucher
from tests.test_subscriptions import VOUCHER_REDEEMED, auth

REGISTER = """
mutation Reg($input: RegisterMemberInput!) {
  registerMember(input: $input) { token member { id email voucherCode } }
}"""
STATS = "{ voucherStats { total active redeemed } }"
PASSWORD = "long-enough-pw"
ABANDONED_MS = voucher_data.CLAIM_GRACE_MS + 60_000


def reg(code: str, email: str, password: str = PASSWORD) -> dict[str, Any]:
    return {"input": {"voucherCode": code, "name": "Retry Member", "email": email,
                      "password": password}}  # fmt: skip


async def given_abandoned_claim(
    db: Database, voucher: dict[str, Any], email: str, age_ms: int = ABANDONED_MS
) -> dict[str, Any]:
    """A registration that claimed the voucher and never stored its member (its client gone)."""
    claimed = await voucher_data.claim_voucher(
        db, voucher["partner_id"], voucher["code"], f"mem_{uuid.uuid4().hex[:12]}", email
    )
    assert claimed is not None
    old = epoch_ms(utcnow()) - age_ms
    await db.vouchers.update_one({"_id": voucher["_id"]}, {"$set": {"claim_ms": old}})
    return {**claimed, "claim_ms": old}


# --- rejections first -----------------------------------------------------------------------


async def test_a_young_claim_of_another_registration_is_already_used(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a voucher another registration has just claimed (its member not stored yet)
    voucher = await given_voucher(db, world.partner_a)
    await given_abandoned_claim(db, voucher, "first@example.com", age_ms=0)
    # when a different email tries it
    error = only_error(
        await gql(REGISTER, reg(voucher["code"], "second@example.com"), as_=world.a_app)
    )
    # then it is in use, and nothing was written
    assert error["extensions"] == {
        "code": "CONFLICT",
        "field": "voucherCode",
        "reason": "ALREADY_USED",
    }
    assert await db.members.count_documents({}) == 0


async def test_the_same_email_with_another_password_is_not_the_same_registration(
    gql: GraphQL, world: World, db: Database
) -> None:
    voucher = await given_voucher(db, world.partner_a)
    body = await gql(REGISTER, reg(voucher["code"], "ann@example.com"), as_=world.a_app)
    assert "errors" not in body, body
    again = await gql(
        REGISTER, reg(voucher["code"], "ann@example.com", "other-password-9"), as_=world.a_app
    )
    assert only_error(again)["extensions"] == {"code": "CONFLICT", "field": "email"}
    other = await given_voucher(db, world.partner_a)
    # …nor the same email and password with another voucher
    third = await gql(REGISTER, reg(other["code"], "ann@example.com"), as_=world.a_app)
    assert only_error(third)["extensions"] == {"code": "CONFLICT", "field": "email"}
    assert await db.members.count_documents({}) == 1
    assert (await db.vouchers.find_one({"_id": other["_id"]}))["status"] == "active"


async def test_one_member_per_voucher_is_enforced_by_the_store(world: World, db: Database) -> None:
    # the unique index on members.voucher_id is what makes the member the commit point
    voucher = await given_voucher(db, world.partner_a, status="redeemed")
    first = member_data.new_member(world.partner_a, "One", "one@example.com", "x", voucher)
    await member_data.insert_member(db, first)
    second = member_data.new_member(world.partner_a, "Two", "two@example.com", "x", voucher)
    with pytest.raises(DuplicateKeyError):
        await member_data.insert_member(db, second)


# --- retries and repairs ----------------------------------------------------------------------


async def test_retrying_a_registration_that_succeeded_returns_the_same_member(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a registration whose answer the client never saw
    voucher = await given_voucher(db, world.partner_a)
    first = await gql(REGISTER, reg(voucher["code"], "Ann@Example.com"), as_=world.a_app)
    member_id = first["data"]["registerMember"]["member"]["id"]
    # when it sends the very same registration again
    again = await gql(REGISTER, reg(voucher["code"].lower(), "ann@example.com"), as_=world.a_app)
    # then it is told it succeeded: the same member, a working token, nothing new written
    assert "errors" not in again, again
    payload = again["data"]["registerMember"]
    assert payload["member"] == first["data"]["registerMember"]["member"]
    me = Persona("me", {**world.a_app.headers, "Authorization": f"Bearer {payload['token']}"})
    body = await gql("query($id: ID!) { member(id: $id) { id } }", {"id": member_id}, as_=me)
    assert body["data"]["member"]["id"] == member_id
    assert await db.members.count_documents({}) == 1


async def test_a_retry_takes_over_its_own_claim_whose_member_never_landed(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given an attempt that claimed the voucher, then failed before storing the member
    voucher = await given_voucher(db, world.partner_a)
    await given_abandoned_claim(db, voucher, "ann@example.com", age_ms=0)
    # when the same email retries at once
    body = await gql(REGISTER, reg(voucher["code"], "ann@example.com"), as_=world.a_app)
    # then it succeeds, and the voucher names the member it created
    assert "errors" not in body, body
    member_id = body["data"]["registerMember"]["member"]["id"]
    stored = await db.vouchers.find_one({"_id": voucher["_id"]})
    assert (stored["status"], stored["redeemed_by"], stored["claim_ms"]) == (
        "redeemed",
        member_id,
        0,
    )


async def test_an_abandoned_claim_is_released_by_the_next_read(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a claim a minute past its grace with no member holding the voucher
    voucher = await given_voucher(db, world.partner_a)
    await given_abandoned_claim(db, voucher, "gone@example.com")
    # when staff read the stats, the claim is settled first: the voucher is active again
    stats = (await gql(STATS, as_=world.a_owner))["data"]["voucherStats"]
    assert (stats["active"], stats["redeemed"]) == (1, 0)
    # and someone else can redeem it
    body = await gql(REGISTER, reg(voucher["code"], "next@example.com"), as_=world.a_app)
    assert "errors" not in body, body


async def test_an_unconfirmed_claim_whose_member_exists_is_recorded_as_redeemed(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a member stored with its voucher, and the confirming write lost
    voucher = await given_voucher(db, world.partner_a)
    claimed = await given_abandoned_claim(db, voucher, "ann@example.com")
    member = member_data.new_member(world.partner_a, "Ann", "ann@example.com", "x", claimed)
    await db.vouchers.update_one({"_id": voucher["_id"]}, {"$set": {"redeemed_by": "mem_lost"}})
    await member_data.insert_member(db, member)
    # when a list reads the vouchers
    body = await gql(
        "{ vouchers { edges { node { status redeemedBy { id } } } } }", as_=world.a_owner
    )
    # then the voucher is redeemed by that member, and the claim is final
    [edge] = body["data"]["vouchers"]["edges"]
    assert edge["node"] == {"status": "REDEEMED", "redeemedBy": {"id": member["_id"]}}
    stored = await db.vouchers.find_one({"_id": voucher["_id"]})
    assert stored["claim_ms"] == 0
    # and another registration is told it is used
    error = only_error(
        await gql(REGISTER, reg(voucher["code"], "bob@example.com"), as_=world.a_app)
    )
    assert error["extensions"]["reason"] == "ALREADY_USED"


# --- fault test: the real store paused under concurrent registrations --------------------------

PAUSE_SECONDS = 8.0
CLIENTS = 24


@pytest.fixture
def paused_store(tmp_path: Path) -> Iterator[RunningStore]:
    """A store process of this test's own, so it can be paused."""
    with embedded_store(tmp_path / "paused") as store:
        assert store.pid is not None
        try:
            yield store
        finally:
            os.kill(store.pid, signal.SIGCONT)


@pytest.fixture
async def paused_app(
    aiohttp_client: Any, paused_store: RunningStore, tmp_path: Path
) -> AsyncIterator[TestClient[Any, Any]]:
    # A socket timeout in the URI (as an operator may configure): operations in flight when
    # the store stalls fail after sending, the ambiguous failure a retry must survive.
    uri = f"{paused_store.uri}&socketTimeoutMS=1000"
    settings = make_settings(uri, "paused", tmp_path, mongo_timeout_ms=1000)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    yield client


async def test_a_paused_store_burns_no_voucher_and_every_retry_succeeds(
    paused_app: TestClient[Any, Any], paused_store: RunningStore
) -> None:
    client = paused_app
    app = client.server.app
    db: Database = app[SERVICES].db
    settings = app[SERVICES].settings
    # given a partner, its app key, staff watching redemptions, and one voucher per client
    partner = await partners.insert_partner(db, "Paused Partner")
    _, app_key = await identity.insert_app_client(db, partner["_id"], "app")
    staff = await identity.insert_staff(
        db, partner["_id"], "owner@example.com", "correct-horse-battery", Role.OWNER, "Owner"
    )
    session_id, _ = await identity.open_session(db, staff, 3600)
    token = staff_access_token(keyring_from(settings), settings, staff, session_id).token
    owner = Persona("owner", {"Authorization": f"Bearer {token}"}, partner_id=partner["_id"])
    live = await LiveClient.connect(client, payload=auth(owner))
    await live.subscribe("v", VOUCHER_REDEEMED)
    await until_subscribed(app, 1)
    vouchers = [await given_voucher(db, partner["_id"]) for _ in range(CLIENTS)]
    emails = [f"client{i:02d}@example.com" for i in range(CLIENTS)]

    # when the clients register concurrently and the store is paused in the middle
    async def pause() -> None:
        await asyncio.sleep(0.3)
        assert paused_store.pid is not None
        os.kill(paused_store.pid, signal.SIGSTOP)
        await asyncio.sleep(PAUSE_SECONDS)
        os.kill(paused_store.pid, signal.SIGCONT)

    pausing = asyncio.create_task(pause())
    results = await asyncio.gather(
        *(
            until_answered(client, {"X-API-Key": app_key}, REGISTER, reg(v["code"], e), i * 0.03)
            for i, (v, e) in enumerate(zip(vouchers, emails, strict=True))
        )
    )
    await pausing
    registered = [(data["registerMember"], failed) for data, failed in results]

    # then every client was registered, with its own voucher
    assert [r["member"]["email"] for r, _ in registered] == emails
    assert [r["member"]["voucherCode"] for r, _ in registered] == [v["code"] for v in vouchers]
    assert any(failed for _, failed in registered), "no registration met the pause"
    # …one member per client, each voucher redeemed by exactly its member
    op = operator_token(keyring_from(settings), settings, "t").token
    await client.post("/graphql", json={"query": STATS}, headers={"Authorization": f"Bearer {op}"})
    members = {m["voucher_id"]: m async for m in db.members.find({"partner_id": partner["_id"]})}
    assert len(members) == CLIENTS
    for voucher, (result, _) in zip(vouchers, registered, strict=True):
        stored = await db.vouchers.find_one({"_id": voucher["_id"]})
        assert stored["status"] == "redeemed"
        assert stored["redeemed_by"] == members[voucher["_id"]]["_id"] == result["member"]["id"]
    # …no voucher is redeemed without a member
    redeemed = [
        v["_id"]
        async for v in db.vouchers.find({"partner_id": partner["_id"], "status": "redeemed"})
    ]
    assert set(redeemed) == set(members)
    # …and each redemption was announced exactly once
    seen = [(await live.next_data("v", within=30))["voucherRedeemed"]["id"] for _ in vouchers]
    assert sorted(seen) == sorted(v["_id"] for v in vouchers)
    await live.silent_for(1.0)
