"""Commissions: campaign commission terms, commission definitions of every kind aimed at
partners or groups, what each partner sees (never another partner's deal), the effective
default against a Python oracle, active commissions at a moment, commission groups, and
N+1 guards on the nested lists."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.storage.mongo import Database, Document
from loaders.affiliate import commissions as com
from loaders.base import epoch_ms
from tests.affiliate_fixtures import approve, catalogue
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

SET_TERMS = """
mutation T($cid: ID!, $input: CampaignCommissionTermsInput!) {
  setCampaignCommissionTerms(campaignId: $cid, input: $input) {
    id cookiePeriodDays
    defaultCommission { base { model rate amount currency description } }
    tracking { method allowDeepLinking secureTracking multipleConversionsPerClick conversionType }
  }
}"""
CREATE = """
mutation C($input: CreateCommissionInput!) {
  createCommission(input: $input) {
    id kind description active targeted cookiePeriodDays startsAt endsAt basedOnField
    rate { model rate amount currency }
    voucherCodes metaFields { name values }
    levels { threshold bonusRate bonusAmount } measurement rewardModel evaluationPeriodDays
    rewardPending campaign { id }
  }
}"""
CREATE_GROUP = """
mutation G($input: CreateCommissionGroupInput!) {
  createCommissionGroup(input: $input) {
    id name description active startsAt endsAt campaign { id }
  }
}"""
ADD_MEMBER = """
mutation M($gid: ID!, $pid: ID!) {
  addCommissionGroupMember(groupId: $gid, partnerId: $pid) { id partnerId group { id name } }
}"""
CAMPAIGN_COMMISSIONS = """
query Q($pid: ID, $at: DateTime, $first: Int = 4) {
  campaigns(partnerId: $pid, first: $first) {
    edges { node {
      id title cookiePeriodDays tracking { method }
      defaultCommission {
        base { model rate amount }
        effective { model rate amount }
        partnerOverride { id } groupOverride { id groups { name } }
      }
      commissions(first: 8) { totalCount edges { node { id kind description targeted
                                                         groups { id name } } } }
      activeCommissions(at: $at, first: 8) { totalCount edges { node { id kind } } }
    } }
  }
}"""
GROUPS = """
query G($first: Int, $pid: ID) {
  commissionGroups(first: $first, partnerId: $pid) {
    totalCount edges { node { id partnerId group { id name campaign { title } } } }
  }
}"""


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


def pct(rate: float) -> dict[str, Any]:
    return {"model": "PERCENTAGE", "rate": rate}


# --- campaign commission terms -------------------------------------------------------


async def test_commission_terms_rejections_then_success(
    gql: GraphQL, world: World, db: Database
) -> None:
    cat = await catalogue(db)
    cid = cat.open["_id"]
    before = await db.affiliate_campaigns.find_one({"_id": cid})
    for terms, field in (
        ({"defaultCommission": pct(1.5)}, "defaultCommission"),
        ({"defaultCommission": pct(0)}, "defaultCommission"),
        ({"defaultCommission": {"model": "PERCENTAGE", "rate": 0.1, "amount": 5}},
         "defaultCommission"),
        ({"defaultCommission": {"model": "FIXED_CPA"}}, "defaultCommission"),
        ({"defaultCommission": {"model": "CPC", "amount": -1}}, "defaultCommission"),
        ({"cookiePeriodDays": 0}, "cookiePeriodDays"),
        ({"cookiePeriodDays": 366}, "cookiePeriodDays"),
        ({}, "input"),
    ):  # fmt: skip
        body = await gql(SET_TERMS, {"cid": cid, "input": terms}, as_=world.operator)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, terms
    good = {"defaultCommission": pct(0.075), "description": "Base rate", "cookiePeriodDays": 45,
            "tracking": {"method": "PIXEL", "allowDeepLinking": False}}  # fmt: skip
    body = await gql(SET_TERMS, {"cid": "cmp_doesnotexist00", "input": good}, as_=world.operator)
    assert error_codes(body) == ["NOT_FOUND"]
    for persona in (world.a_owner, world.a_app):
        assert error_codes(await gql(SET_TERMS, {"cid": cid, "input": good}, as_=persona)) == [
            "FORBIDDEN"
        ]
    body = await gql(SET_TERMS, {"cid": cid, "input": good}, as_=world.anonymous)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert await db.affiliate_campaigns.find_one({"_id": cid}) == before
    # success: only what was sent changes; tracking keeps its other defaults
    body = await gql(SET_TERMS, {"cid": cid, "input": good}, as_=world.operator)
    assert body["data"]["setCampaignCommissionTerms"] == {
        "id": cid, "cookiePeriodDays": 45,
        "defaultCommission": {"base": {"model": "PERCENTAGE", "rate": 0.075, "amount": None,
                                       "currency": "GBP", "description": "Base rate"}},
        "tracking": {"method": "PIXEL", "allowDeepLinking": False, "secureTracking": True,
                     "multipleConversionsPerClick": False, "conversionType": "SALE"},
    }  # fmt: skip
    stored = await db.affiliate_campaigns.find_one({"_id": cid})
    assert stored is not None and stored["default_commission"]["rate_ppm"] == 75_000
    body = await gql(SET_TERMS, {"cid": cid, "input": {"defaultCommission": {
        "model": "FIXED_CPA", "amount": 250}}}, as_=world.operator)  # fmt: skip
    base = body["data"]["setCampaignCommissionTerms"]["defaultCommission"]["base"]
    assert (base["model"], base["rate"], base["amount"]) == ("FIXED_CPA", None, 250)
    assert body["data"]["setCampaignCommissionTerms"]["cookiePeriodDays"] == 45


# --- commission definitions ----------------------------------------------------------


async def test_create_commission_rejections(gql: GraphQL, world: World, db: Database) -> None:
    cat = await catalogue(db)
    other = await catalogue(db, "Other")
    foreign_group = await com.insert_commission_group(db, {
        "campaign_id": other.open["_id"], "name": "VIP", "description": "", "start_ms": 0,
        "end_ms": com.OPEN_END_MS, "active": True,
    })  # fmt: skip
    base = {"campaignId": cat.open["_id"], "kind": "STANDARD", "rate": pct(0.1)}
    for extra, field in (
        ({"kind": "VOUCHER"}, "voucherCodes"),
        ({"voucherCodes": ["SPRING10"]}, "voucherCodes"),
        ({"kind": "VOUCHER", "voucherCodes": [""]}, "voucherCodes"),
        ({"kind": "TIERED"}, "levels"),
        ({"kind": "TIERED", "levels": [{"threshold": 10, "bonus": 100},
                                       {"threshold": 5, "bonus": 200}]}, "levels"),
        ({"kind": "TIERED", "rewardModel": "PERCENTAGE_REWARD",
          "levels": [{"threshold": 10, "bonus": 3}]}, "levels"),
        ({"kind": "TIERED", "levels": [{"threshold": 1, "bonus": 1.5}]}, "levels"),
        ({"levels": [{"threshold": 1, "bonus": 1}]}, "levels"),
        ({"kind": "DEFAULT"}, "partnerIds"),
        ({"rate": {"model": "CPC"}}, "rate"),
        ({"rate": pct(2)}, "rate"),
        ({"startsAt": "2025-02-01T00:00:00+00:00", "endsAt": "2025-01-01T00:00:00+00:00"},
         "endsAt"),
        ({"partnerIds": ["not-a-partner"]}, "partnerIds"),
        ({"cookiePeriodDays": 0}, "cookiePeriodDays"),
        ({"metaFields": [{"name": "", "values": ["x"]}]}, "metaFields"),
    ):  # fmt: skip
        body = await gql(CREATE, {"input": {**base, **extra}}, as_=world.operator)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, extra
    for extra, field in (
        ({"partnerIds": ["par_doesnotexist00"]}, "partnerIds"),
        ({"groupIds": [foreign_group["_id"]]}, "groupIds"),
        ({"campaignId": "cmp_doesnotexist00"}, "campaignId"),
    ):
        body = await gql(CREATE, {"input": {**base, **extra}}, as_=world.operator)
        assert error_codes(body) == ["NOT_FOUND"] and field_of(body) == field, extra
    assert error_codes(await gql(CREATE, {"input": base}, as_=world.a_owner)) == ["FORBIDDEN"]
    assert error_codes(await gql(CREATE, {"input": base}, as_=world.anonymous)) == [
        "UNAUTHENTICATED"
    ]
    assert await db.affiliate_commissions.count_documents({}) == 0
    # groups and members: rejections, then success, then CONFLICT
    body = await gql(CREATE_GROUP, {"input": {"campaignId": cat.open["_id"], "name": " "}},
                     as_=world.operator)  # fmt: skip
    assert field_of(body) == "name"
    body = await gql(CREATE_GROUP, {"input": {"campaignId": cat.open["_id"], "name": "Blog"}},
                     as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["FORBIDDEN"]
    group = (await gql(CREATE_GROUP, {"input": {"campaignId": cat.open["_id"], "name": "Blog"}},
                       as_=world.operator))["data"]["createCommissionGroup"]  # fmt: skip
    assert group["name"] == "Blog" and group["active"] is True and group["endsAt"] is None
    member = {"gid": group["id"], "pid": world.partner_a}
    assert error_codes(await gql(ADD_MEMBER, member, as_=world.a_owner)) == ["FORBIDDEN"]
    body = await gql(ADD_MEMBER, {**member, "pid": "par_doesnotexist00"}, as_=world.operator)
    assert error_codes(body) == ["NOT_FOUND"] and field_of(body) == "partnerId"
    body = await gql(ADD_MEMBER, {**member, "gid": "cgr_doesnotexist00"}, as_=world.operator)
    assert error_codes(body) == ["NOT_FOUND"] and field_of(body) == "groupId"
    body = await gql(ADD_MEMBER, member, as_=world.operator)
    assert body["data"]["addCommissionGroupMember"]["group"]["name"] == "Blog"
    assert error_codes(await gql(ADD_MEMBER, member, as_=world.operator)) == ["CONFLICT"]
    assert await db.affiliate_commission_group_members.count_documents({}) == 1


async def test_create_each_kind(gql: GraphQL, world: World, db: Database) -> None:
    cat = await catalogue(db)
    cid = cat.open["_id"]
    body = await gql(CREATE, {"input": {
        "campaignId": cid, "kind": "TIERED", "rate": {"model": "FIXED_CPA", "amount": 0},
        "levels": [{"threshold": 10, "bonus": 500}, {"threshold": 50, "bonus": 2500}],
        "measurement": "TOTAL_CONVERSIONS", "evaluationPeriodDays": 30, "rewardPending": True,
        "metaFields": [{"name": "category", "values": ["shoes"]}], "basedOnField": "value",
        "startsAt": "2025-01-01T00:00:00+00:00", "cookiePeriodDays": 14,
    }}, as_=world.operator)  # fmt: skip
    tier = body["data"]["createCommission"]
    assert tier["levels"] == [
        {"threshold": 10.0, "bonusRate": None, "bonusAmount": 500},
        {"threshold": 50.0, "bonusRate": None, "bonusAmount": 2500},
    ]
    assert (tier["measurement"], tier["rewardModel"], tier["rewardPending"]) == (
        "TOTAL_CONVERSIONS", "FIXED_REWARD", True,
    )  # fmt: skip
    assert tier["cookiePeriodDays"] == 14 and tier["startsAt"].startswith("2025-01-01")
    assert tier["metaFields"] == [{"name": "category", "values": ["shoes"]}]
    assert tier["targeted"] is False and tier["campaign"] == {"id": cid}
    body = await gql(CREATE, {"input": {
        "campaignId": cid, "kind": "VOUCHER", "rate": pct(0.12), "voucherCodes": ["SPRING10"],
        "partnerIds": [world.partner_a],
    }}, as_=world.operator)  # fmt: skip
    voucher = body["data"]["createCommission"]
    assert voucher["voucherCodes"] == ["SPRING10"] and voucher["targeted"] is True
    assert voucher["rate"] == {"model": "PERCENTAGE", "rate": 0.12, "amount": None,
                               "currency": "GBP"}  # fmt: skip
    assert voucher["measurement"] is None and voucher["levels"] == []
    assert voucher["cookiePeriodDays"] == com.DEFAULT_COOKIE_PERIOD_DAYS


# --- what each partner sees ----------------------------------------------------------


async def _commission(db: Database, campaign: Document, kind: str, **extra: Any) -> Document:
    fields: dict[str, Any] = {
        "campaign_id": campaign["_id"], "kind": kind, "description": kind, "model": "percentage",
        "rate_ppm": 100_000, "amount": 0, "start_ms": 0, "end_ms": com.OPEN_END_MS,
        "status": "active", "partner_ids": [], "group_ids": [], "cookie_period_days": 0,
        "meta_fields": [], "based_on_field": "", "voucher_codes": [],
    }  # fmt: skip
    if kind == "tiered":
        fields.update(levels=[{"threshold": 1, "bonus": 100}], measurement="total_items",
                      reward_model="fixed_reward", evaluation_period_days=30,
                      reward_pending=False)  # fmt: skip
    fields.update(extra)
    return await com.insert_commission(db, fields)


async def _group(db: Database, campaign: Document, name: str, *members: str) -> Document:
    group = await com.insert_commission_group(db, {
        "campaign_id": campaign["_id"], "name": name, "description": "", "start_ms": 0,
        "end_ms": com.OPEN_END_MS, "active": True,
    })  # fmt: skip
    for pid in members:
        await com.insert_group_member(db, group, pid)
    return group


def _node(body: dict[str, Any], campaign_id: str) -> dict[str, Any]:
    assert "errors" not in body, body
    return next(e["node"] for e in body["data"]["campaigns"]["edges"]
                if e["node"]["id"] == campaign_id)  # fmt: skip


async def test_each_partner_sees_only_its_own_deals(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given commissions for everyone, for A, for B, for A's group and B's group
    cat = await catalogue(db)
    c = cat.open
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, c)
    ga = await _group(db, c, "A's group", world.partner_a)
    gb = await _group(db, c, "B's group", world.partner_b)
    await db.affiliate_campaigns.update_one(
        {"_id": c["_id"]},
        {"$set": {"default_commission": {"model": "percentage", "rate_ppm": 50_000, "amount": 0}}},
    )
    everyone = await _commission(db, c, "standard")
    tiered = await _commission(db, c, "tiered")
    promo_b = await _commission(db, c, "promotional", partner_ids=[world.partner_b])
    voucher_ga = await _commission(db, c, "voucher", group_ids=[ga["_id"]],
                                   voucher_codes=["A10"])  # fmt: skip
    default_a = await _commission(db, c, "default", partner_ids=[world.partner_a],
                                  rate_ppm=80_000)  # fmt: skip
    default_gb = await _commission(db, c, "default", group_ids=[gb["_id"], ga["_id"]],
                                   model="cpc", rate_ppm=0, amount=15)  # fmt: skip
    expired = await _commission(
        db, c, "standard", end_ms=epoch_ms(datetime(2020, 1, 1, tzinfo=UTC))
    )
    # when each partner looks at the campaign
    a = _node(await gql(CAMPAIGN_COMMISSIONS, {}, as_=world.a_analyst), c["_id"])
    b = _node(await gql(CAMPAIGN_COMMISSIONS, {}, as_=world.b_owner), c["_id"])
    # then A sees its own deals and its group's, never B's
    ids_a = {n["node"]["id"] for n in a["commissions"]["edges"]}
    assert ids_a == {everyone["_id"], tiered["_id"], voucher_ga["_id"], default_a["_id"],
                     default_gb["_id"], expired["_id"]}  # fmt: skip
    ids_b = {n["node"]["id"] for n in b["commissions"]["edges"]}
    assert ids_b == {everyone["_id"], tiered["_id"], promo_b["_id"], default_gb["_id"],
                     expired["_id"]}  # fmt: skip
    # groups shown are only the viewer's own
    shared = next(n["node"] for n in b["commissions"]["edges"]
                  if n["node"]["id"] == default_gb["_id"])  # fmt: skip
    assert shared["groups"] == [{"id": gb["_id"], "name": "B's group"}]
    # A's own override beats the group's; B gets the group's; base is the campaign's
    assert a["defaultCommission"] == {
        "base": {"model": "PERCENTAGE", "rate": 0.05, "amount": None},
        "effective": {"model": "PERCENTAGE", "rate": 0.08, "amount": None},
        "partnerOverride": {"id": default_a["_id"]},
        "groupOverride": {"id": default_gb["_id"], "groups": [{"name": "A's group"}]},
    }  # fmt: skip
    assert b["defaultCommission"]["effective"] == {"model": "CPC", "rate": None, "amount": 15}
    assert b["defaultCommission"]["partnerOverride"] is None
    # active now: no tiered, no expired
    active_a = {n["node"]["id"] for n in a["activeCommissions"]["edges"]}
    assert active_a == {everyone["_id"], voucher_ga["_id"], default_a["_id"],
                        default_gb["_id"]}  # fmt: skip
    # at a moment in 2019 the expired one was in force
    body = await gql(CAMPAIGN_COMMISSIONS, {"at": "2019-06-01T00:00:00+00:00"},
                     as_=world.a_owner)  # fmt: skip
    assert expired["_id"] in {
        n["node"]["id"] for n in _node(body, c["_id"])["activeCommissions"]["edges"]
    }
    # operators naming a partner see that partner's view; naming none, everything
    body = await gql(CAMPAIGN_COMMISSIONS, {"pid": world.partner_b}, as_=world.operator)
    assert {n["node"]["id"] for n in _node(body, c["_id"])["commissions"]["edges"]} == ids_b
    body = await gql(CAMPAIGN_COMMISSIONS, {}, as_=world.operator)
    assert _node(body, c["_id"])["commissions"]["totalCount"] == 7
    # the groups list is per tenant
    body = await gql(GROUPS, {}, as_=world.a_analyst)
    assert [e["node"]["group"]["name"] for e in body["data"]["commissionGroups"]["edges"]] == [
        "A's group"
    ]
    assert error_codes(await gql(GROUPS, {"pid": world.partner_b}, as_=world.a_owner)) == [
        "NOT_FOUND"
    ]
    assert error_codes(await gql(GROUPS, {}, as_=world.a_app)) == ["FORBIDDEN"]


def _oracle(base: int, overrides: list[dict[str, Any]], me: str, my_groups: set[str],
            now: int) -> int:  # fmt: skip
    live = [o for o in overrides if o["status"] == "active" and o["start_ms"] <= now < o["end_ms"]]
    mine = [o for o in live if me in o["partner_ids"]]
    grouped = [o for o in live if my_groups & set(o["group_ids"])]
    for candidates in (mine, grouped):
        if candidates:
            return int(max(candidates, key=lambda o: (o["created_ms"], o["_id"]))["rate_ppm"])
    return base


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
async def test_effective_default_matches_the_oracle(
    gql: GraphQL, world: World, db: Database, seed: int
) -> None:
    # given generated default overrides with random audiences, windows and states
    rng = random.Random(seed)
    cat = await catalogue(db)
    c = cat.open
    base = rng.randint(1, 20) * 5_000
    await db.affiliate_campaigns.update_one(
        {"_id": c["_id"]},
        {"$set": {"default_commission": {"model": "percentage", "rate_ppm": base, "amount": 0}}},
    )
    groups = [await _group(db, c, f"g{i}") for i in range(3)]
    mine = {g["_id"] for g in groups if rng.random() < 0.5}
    for g in groups:
        if g["_id"] in mine:
            await com.insert_group_member(db, g, world.partner_a)
    now = epoch_ms(datetime.now(UTC))
    made = []
    for i in range(rng.randint(0, 8)):
        start = now + rng.choice((-1, 1)) * rng.randint(1, 10) * 86_400_000
        made.append(await _commission(
            db, c, "default", rate_ppm=rng.randint(1, 50) * 1_000,
            partner_ids=rng.sample([world.partner_a, world.partner_b], rng.randint(0, 2)),
            group_ids=rng.sample([g["_id"] for g in groups], rng.randint(0, 2)) or
            ([] if rng.random() < 0.5 else [groups[0]["_id"]]),
            status=rng.choice(("active", "active", "inactive")), start_ms=min(start, now - 1)
            if rng.random() < 0.7 else start, end_ms=rng.choice((com.OPEN_END_MS, now - 5,
                                                                now + 86_400_000)),
            created_ms=now - 1000 + i, description=f"o{i}",
        ))  # fmt: skip
    made = [m for m in made if m["partner_ids"] or m["group_ids"]]
    # when A reads its default commission
    body = await gql(CAMPAIGN_COMMISSIONS, {}, as_=world.a_owner)
    effective = _node(body, c["_id"])["defaultCommission"]["effective"]
    # then it is what the oracle picks
    expected = _oracle(base, made, world.partner_a, mine, epoch_ms(datetime.now(UTC)))
    assert effective["rate"] == pytest.approx(expected / com.PPM)


# --- N+1 -------------------------------------------------------------------------------


async def test_campaign_commissions_and_groups_have_no_n_plus_one(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    # given 20 campaigns, each with commissions and a group A belongs to
    cats = [await catalogue(db, f"Brand{i}") for i in range(5)]
    for cat in cats:
        for c in (cat.open, cat.terms, cat.auto, cat.paused):
            group = await _group(db, c, f"G {c['title']}", world.partner_a)
            await _commission(db, c, "standard")
            await _commission(db, c, "voucher", group_ids=[group["_id"]], voucher_codes=["X"])
            await _commission(db, c, "default", partner_ids=[world.partner_a])

    async def run(query: str, first: int, key: str) -> int:
        commands.start()
        body = await gql(query, {"first": first, "at": None}, as_=world.a_owner)
        assert "errors" not in body, body
        assert len(body["data"][key]["edges"]) == first
        return commands.total

    assert await run(CAMPAIGN_COMMISSIONS, 2, "campaigns") == await run(
        CAMPAIGN_COMMISSIONS, 20, "campaigns"
    )
    assert await run(GROUPS, 2, "commissionGroups") == await run(GROUPS, 20, "commissionGroups")


def test_future_start_is_not_active_yet() -> None:
    now = epoch_ms(datetime.now(UTC))
    doc = {"status": "active", "start_ms": now + 60_000, "end_ms": com.OPEN_END_MS}
    assert not com.is_active(doc, now)
    assert com.is_active(doc, now + int(timedelta(minutes=2).total_seconds() * 1000))
