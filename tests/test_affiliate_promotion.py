"""Creatives, product feeds and voucher codes: operator mutations (rejections first), what
a partner sees (only approved campaigns; exclusive codes only its own), tracking codes
built from the partner's own link, N+1 guards."""

from __future__ import annotations

from typing import Any

from gateway.storage.mongo import Database
from loaders.affiliate import commissions as com
from loaders.affiliate import promotion
from tests.affiliate_fixtures import approve, catalogue
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

CREATIVE = """
mutation C($input: CreateCreativeInput!) {
  createCreative(input: $input) { id type name width height imageUrl text active }
}"""
FEED = """
mutation F($input: CreateProductFeedInput!) {
  createProductFeed(input: $input) { id name format url productCount active }
}"""
VOUCHER = """
mutation V($input: CreateVoucherCodeInput!) {
  createVoucherCode(input: $input) { id code description startsAt endsAt active exclusive }
}"""
CAMPAIGNS = """
query Q($first: Int = 10, $pid: ID) {
  campaigns(first: $first, partnerId: $pid) {
    edges { node { id
      creatives(first: 5) { totalCount edges { node { id name campaign { id } } } }
      feeds(first: 5) { totalCount edges { node { id } } }
      voucherCodes(first: 5) { totalCount edges { node { code exclusive } } }
    } }
  }
}"""
FEEDS = "query { productFeeds { totalCount edges { node { id name campaign { id } } } } }"
CODE = """
query T($lid: ID!) {
  campaigns(first: 10) { edges { node { id creatives { edges { node { id type
    trackingCode(linkId: $lid) } } } } } }
}"""
LINK = """
mutation L($cid: ID!) { createTrackingLink(input: {campaignId: $cid}) { id url } }"""


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


def node(body: dict[str, Any], cid: str) -> dict[str, Any]:
    assert "errors" not in body, body
    return next(e["node"] for e in body["data"]["campaigns"]["edges"] if e["node"]["id"] == cid)  # type: ignore[no-any-return]


async def test_mutations_reject_bad_input_and_wrong_principals(
    gql: GraphQL, world: World, db: Database
) -> None:
    cat = await catalogue(db)
    cid = cat.open["_id"]
    banner = {"campaignId": cid, "type": "BANNER", "name": "Leaderboard", "width": 728,
              "height": 90, "imageUrl": "https://cdn.example/b.png"}  # fmt: skip
    for extra, field in (({"width": 0}, "width"), ({"width": 5000}, "width"),
                         ({"imageUrl": "javascript:x"}, "imageUrl"), ({"name": ""}, "name"),
                         ({"type": "TEXT"}, "width"),
                         ({"type": "TEXT", "width": 0, "height": 0, "imageUrl": None},
                          "text")):  # fmt: skip
        body = await gql(CREATIVE, {"input": {**banner, **extra}}, as_=world.operator)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, extra
    feed = {"campaignId": cid, "name": "All products", "url": "https://feeds.example/all.csv"}
    for extra, field in (({"url": "ftp://x"}, "url"), ({"productCount": -1}, "productCount")):
        body = await gql(FEED, {"input": {**feed, **extra}}, as_=world.operator)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, extra
    code = {"campaignId": cid, "code": "SPRING10"}
    for extra, field in (({"code": "TWO WORDS"}, "code"), ({"code": ""}, "code"),
                         ({"startsAt": "2025-02-01T00:00:00+00:00",
                           "endsAt": "2025-01-01T00:00:00+00:00"}, "endsAt"),
                         ({"partnerIds": ["bad"]}, "partnerIds")):  # fmt: skip
        body = await gql(VOUCHER, {"input": {**code, **extra}}, as_=world.operator)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, extra
    body = await gql(VOUCHER, {"input": {**code, "partnerIds": ["par_doesnotexist00"]}},
                     as_=world.operator)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    for query, value in ((CREATIVE, banner), (FEED, feed), (VOUCHER, code)):
        assert error_codes(await gql(query, {"input": value}, as_=world.a_owner)) == ["FORBIDDEN"]
        body = await gql(query, {"input": {**value, "campaignId": "cmp_doesnotexist00"}},
                         as_=world.operator)  # fmt: skip
        assert error_codes(body) == ["NOT_FOUND"]
    for name in ("affiliate_creatives", "affiliate_feeds", "affiliate_voucher_codes"):
        assert await db[name].count_documents({}) == 0
    # success, then a duplicate code is CONFLICT
    made = (await gql(CREATIVE, {"input": banner}, as_=world.operator))["data"]["createCreative"]
    assert (made["width"], made["height"], made["type"]) == (728, 90, "BANNER")
    made = (await gql(FEED, {"input": {**feed, "format": "XML", "productCount": 120}},
                      as_=world.operator))["data"]["createProductFeed"]  # fmt: skip
    assert (made["format"], made["productCount"]) == ("XML", 120)
    made = (await gql(VOUCHER, {"input": code}, as_=world.operator))["data"]["createVoucherCode"]
    assert made["exclusive"] is False and made["endsAt"] is None
    assert error_codes(await gql(VOUCHER, {"input": code}, as_=world.operator)) == ["CONFLICT"]


async def _setup(db: Database, world: World) -> Any:
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    await approve(db, world.partner_b, cat.open)
    await approve(db, world.partner_b, cat.auto)
    for c in (cat.open, cat.auto):
        await promotion.insert(db, "creative", {
            "campaign_id": c["_id"], "type": "banner", "name": f"B {c['title']}", "width": 300,
            "height": 250, "image_url": "https://cdn.example/a.png?x=1&y=2", "text": "",
            "active": True})  # fmt: skip
        await promotion.insert(
            db,
            "feed",
            {
                "campaign_id": c["_id"],
                "name": f"F {c['title']}",
                "format": "csv",
                "url": "https://feeds.example/f.csv",
                "product_count": 5,
                "active": True,
            },
        )
    window = {"start_ms": 0, "end_ms": com.OPEN_END_MS, "active": True, "description": ""}
    await promotion.insert(db, "voucher", {"campaign_id": cat.open["_id"], "code": "ALL10",
                                           "partner_ids": [], **window})  # fmt: skip
    await promotion.insert(
        db,
        "voucher",
        {
            "campaign_id": cat.open["_id"],
            "code": "B-ONLY",
            "partner_ids": [world.partner_b],
            **window,
        },
    )
    return cat


async def test_partners_see_only_approved_campaigns_and_their_codes(
    gql: GraphQL, world: World, db: Database
) -> None:
    cat = await _setup(db, world)
    a_open = node(await gql(CAMPAIGNS, {}, as_=world.a_analyst), cat.open["_id"])
    a_auto = node(await gql(CAMPAIGNS, {}, as_=world.a_analyst), cat.auto["_id"])
    b_open = node(await gql(CAMPAIGNS, {}, as_=world.b_owner), cat.open["_id"])
    assert a_open["creatives"]["totalCount"] == 1 and a_open["feeds"]["totalCount"] == 1
    assert [v["node"]["code"] for v in a_open["voucherCodes"]["edges"]] == ["ALL10"]
    assert {v["node"]["code"] for v in b_open["voucherCodes"]["edges"]} == {"ALL10", "B-ONLY"}
    # not approved on Auto: nothing of it
    assert (a_auto["creatives"]["totalCount"], a_auto["feeds"]["totalCount"],
            a_auto["voucherCodes"]["totalCount"]) == (0, 0, 0)  # fmt: skip
    # operators naming no partner see all; naming A, A's view
    op = node(await gql(CAMPAIGNS, {}, as_=world.operator), cat.open["_id"])
    assert op["voucherCodes"]["totalCount"] == 2
    op_a = node(await gql(CAMPAIGNS, {"pid": world.partner_a}, as_=world.operator),
                cat.open["_id"])  # fmt: skip
    assert op_a["voucherCodes"]["totalCount"] == 1
    # feeds across approved campaigns, per tenant
    assert (await gql(FEEDS, as_=world.a_owner))["data"]["productFeeds"]["totalCount"] == 1
    assert (await gql(FEEDS, as_=world.b_owner))["data"]["productFeeds"]["totalCount"] == 2
    assert error_codes(await gql(FEEDS, as_=world.a_app)) == ["FORBIDDEN"]


async def test_tracking_code_uses_the_partners_own_link(
    gql: GraphQL, world: World, db: Database
) -> None:
    cat = await _setup(db, world)
    link = (await gql(LINK, {"cid": cat.open["_id"]}, as_=world.a_owner))["data"][
        "createTrackingLink"]  # fmt: skip
    body = await gql(CODE, {"lid": link["id"]}, as_=world.a_owner)
    [creative] = node(body, cat.open["_id"])["creatives"]["edges"]
    code = creative["node"]["trackingCode"]
    # the link's URL naming the creative, so its clicks are attributed to it
    href = f'{link["url"]}?creative={creative["node"]["id"]}'
    assert code.startswith(f'<a href="{href}"><img src="https://cdn.example/a.png?x=1&amp;y=2"')
    assert 'width="300" height="250"' in code
    # another partner's link is not usable
    b_link = (await gql(LINK, {"cid": cat.open["_id"]}, as_=world.b_owner))["data"][
        "createTrackingLink"]  # fmt: skip
    body = await gql(CODE, {"lid": b_link["id"]}, as_=world.a_owner)
    assert "NOT_FOUND" in error_codes(body)


async def test_promotion_lists_have_no_n_plus_one(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    for i in range(5):
        cat = await catalogue(db, f"Brand{i}")
        for c in (cat.open, cat.terms, cat.auto, cat.paused):
            await approve(db, world.partner_a, c)
            await promotion.insert(db, "creative", {
                "campaign_id": c["_id"], "type": "text", "name": "T", "width": 0, "height": 0,
                "image_url": "", "text": "Shop now", "active": True})  # fmt: skip
            await promotion.insert(db, "voucher", {
                "campaign_id": c["_id"], "code": f"C{i}", "partner_ids": [], "start_ms": 0,
                "end_ms": com.OPEN_END_MS, "active": True, "description": ""})  # fmt: skip

    async def run(first: int) -> int:
        commands.start()
        body = await gql(CAMPAIGNS, {"first": first}, as_=world.a_owner)
        assert len(body["data"]["campaigns"]["edges"]) == first
        return commands.total

    assert await run(2) == await run(20)
