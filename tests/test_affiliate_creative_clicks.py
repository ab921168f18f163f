"""Creative attribution of clicks: a tracking link may carry one of its campaign's
creatives, a creative's tracking code names itself (`?creative=`), `GET /t/{linkId}` records
which (checked against the campaign, never steering the redirect), and clicks, their
conversions, the clicks CSV and the analytics `creative` dimension carry it."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.storage.mongo import Database, Document
from loaders import affiliate as data
from loaders.affiliate import promotion
from tests.affiliate_fixtures import Catalogue, approve, catalogue
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.test_affiliate_tracking import DESKTOP, visit

CREATE_LINK = """
mutation Create($input: CreateTrackingLinkInput!) {
  createTrackingLink(input: $input) { id url destinationUrl creative { id number typeId } }
}"""
UPDATE_LINK = """
mutation Update($id: ID!, $input: UpdateTrackingLinkInput!) {
  updateTrackingLink(id: $id, input: $input) { id creative { id } description }
}"""
RECORD_CLICK = """
mutation Click($input: RecordClickInput!) {
  recordClick(input: $input) { id creativeId creativeType specificCreativeId creative { id } }
}"""
CLICKS = """
query K($first: Int) {
  clicks(textDate: "today", first: $first) {
    edges { node { id creativeId creativeType specificCreativeId linkId
                   creative { id number typeId name campaign { id } } } }
  }
}"""
CODE = """
query C($lid: ID!) {
  campaigns(first: 10) {
    edges { node { id creatives { edges { node { id trackingCode(linkId: $lid) } } } } }
  }
}"""
BY_CREATIVE = """
query A {
  partnerAnalytics(shape: EXPLODE, textDate: "today", metrics: ["total_clicks"],
                   groupBy: ["creative"]) {
    rows { dimensions { value } metrics { value } }
  }
}"""


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


async def _creative(
    db: Database, campaign: Document, kind: str = "banner", **extra: Any
) -> Document:
    banner = kind == "banner"
    return await promotion.insert(db, "creative", {
        "campaign_id": campaign["_id"], "type": kind, "name": f"{kind} {campaign['title']}",
        "width": 300 if banner else 0, "height": 250 if banner else 0,
        "image_url": "https://cdn.example/b.png" if banner else "", "text": "" if banner else "Go",
        "active": True, **extra,
    })  # fmt: skip


@pytest.fixture
async def cat(db: Database, world: World) -> Catalogue:
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
        await approve(db, pid, cat.auto)
    return cat


# --- rejections first -------------------------------------------------------------------------


async def test_link_and_click_creatives_are_checked_against_the_campaign(
    gql: GraphQL, world: World, db: Database, cat: Catalogue
) -> None:
    # given a creative on another campaign and an inactive one on this campaign
    foreign = await _creative(db, cat.auto)
    inactive = await _creative(db, cat.open, "text", active=False)
    base = {"campaignId": cat.open["_id"]}
    # when a link names them, or a malformed id
    for creative_id, code in (("nope", "BAD_USER_INPUT"), ("lnk_abcdefgh", "BAD_USER_INPUT"),
                              ("crv_doesnotexist", "NOT_FOUND"), (foreign["_id"], "NOT_FOUND"),
                              (inactive["_id"], "CONFLICT")):  # fmt: skip
        body = await gql(CREATE_LINK, {"input": {**base, "creativeId": creative_id}},
                         as_=world.a_owner)  # fmt: skip
        # then each is refused on `creativeId`, and no link is stored
        assert error_codes(body) == [code] and field_of(body) == "creativeId", creative_id
    assert await db.affiliate_links.count_documents({}) == 0
    # an analyst may not write, another partner's link is not found
    good = await _creative(db, cat.open)
    body = await gql(CREATE_LINK, {"input": {**base, "creativeId": good["_id"]}},
                     as_=world.a_analyst)  # fmt: skip
    assert error_codes(body) == ["FORBIDDEN"]
    link = (await gql(CREATE_LINK, {"input": base}, as_=world.a_owner))["data"][
        "createTrackingLink"]  # fmt: skip
    body = await gql(UPDATE_LINK, {"id": link["id"], "input": {"creativeId": foreign["_id"]}},
                     as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"] and field_of(body) == "creativeId"
    body = await gql(UPDATE_LINK, {"id": link["id"], "input": {"creativeId": good["_id"]}},
                     as_=world.b_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    stored = await db.affiliate_links.find_one({"_id": link["id"]})
    assert stored is not None and stored["creative_ref"] == ""
    # the operator's click feed checks the same way
    click_in = {"partnerId": world.partner_a, "campaignId": cat.open["_id"]}
    for creative_id, code in (("x", "BAD_USER_INPUT"), (foreign["_id"], "NOT_FOUND"),
                              (inactive["_id"], "CONFLICT")):  # fmt: skip
        body = await gql(RECORD_CLICK, {"input": {**click_in, "creativeId": creative_id}},
                         as_=world.operator)  # fmt: skip
        assert error_codes(body) == [code] and field_of(body) == "creativeId"
    assert await db.affiliate_clicks.count_documents({}) == 0


# --- attribution ------------------------------------------------------------------------------


async def test_follow_records_the_creative_of_the_code_or_the_link(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database, cat: Catalogue
) -> None:
    # given a link carrying a banner, and a text creative of the same campaign
    banner = await _creative(db, cat.open)
    text = await _creative(db, cat.open, "text")
    foreign = await _creative(db, cat.auto)
    body = await gql(CREATE_LINK, {"input": {
        "campaignId": cat.open["_id"], "destinationUrl": "https://shop.example/a",
        "creativeId": banner["_id"]}}, as_=world.a_owner)  # fmt: skip
    link = body["data"]["createTrackingLink"]
    assert link["creative"] == {"id": banner["_id"], "number": banner["number"], "typeId": 1}
    path = f"/t/{link['id']}"
    # when visitors follow it plainly, through the text's code, and with bad parameters
    locations = []
    for query, cookie in (("", "ck_visitor0001"), (f"?creative={text['_id']}", "ck_visitor0002"),
                          (f"?creative={foreign['_id']}", "ck_visitor0003"),
                          ("?creative=javascript:alert(1)", "ck_visitor0004"),
                          ("?creative=crv_doesnotexist", "ck_visitor0005")):  # fmt: skip
        response = await visit(client, path + query, ua=DESKTOP, cookie=cookie)
        assert response.status == 302
        locations.append(response.headers["Location"].split("clickref=")[0])
    # then the redirect never depends on the parameter
    assert len(set(locations)) == 1 and locations[0].startswith("https://shop.example/a")
    # and each click names the creative: the code's when it is the campaign's, else the link's
    nodes = (await gql(CLICKS, {"first": 10}, as_=world.a_analyst))["data"]["clicks"]["edges"]
    by_cookie = {
        doc["cookie_id"]: doc for doc in await db.affiliate_clicks.find({}).to_list(None)
    }
    assert by_cookie["ck_visitor0002"]["creative_ref"] == text["_id"]
    for cookie in ("ck_visitor0001", "ck_visitor0003", "ck_visitor0004", "ck_visitor0005"):
        assert by_cookie[cookie]["creative_ref"] == banner["_id"], cookie
    got = Counter(e["node"]["creative"]["id"] for e in nodes)
    assert got == {banner["_id"]: 4, text["_id"]: 1}
    text_click = next(e["node"] for e in nodes if e["node"]["creative"]["id"] == text["_id"])
    assert (text_click["creativeId"], text_click["creativeType"],
            text_click["specificCreativeId"]) == (text["number"], 2, text["number"])  # fmt: skip
    assert text_click["creative"]["campaign"] == {"id": cat.open["_id"]}
    # detaching the link's creative: plain visits are then through no creative
    body = await gql(UPDATE_LINK, {"id": link["id"], "input": {"creativeId": None}},
                     as_=world.a_owner)  # fmt: skip
    assert body["data"]["updateTrackingLink"]["creative"] is None
    await visit(client, path, ua=DESKTOP, cookie="ck_visitor0006")
    plain = await db.affiliate_clicks.find_one({"cookie_id": "ck_visitor0006"})
    assert plain is not None and (plain["creative_id"], plain["creative_ref"]) == (0, "")


async def test_creative_flows_into_conversion_csv_and_analytics(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database, cat: Catalogue
) -> None:
    # given clicks of A through two creatives (and none), and a click of B
    banner = await _creative(db, cat.open)
    text = await _creative(db, cat.open, "text")
    made = []
    for creative, n in ((banner, 3), (text, 2), (None, 1)):
        for _ in range(n):
            body = await gql(RECORD_CLICK, {"input": {
                "partnerId": world.partner_a, "campaignId": cat.open["_id"],
                **({"creativeId": creative["_id"]} if creative else {})}},
                as_=world.operator)  # fmt: skip
            made.append(body["data"]["recordClick"])
    b_click = {"partnerId": world.partner_b, "campaignId": cat.open["_id"],
               "creativeId": banner["_id"]}  # fmt: skip
    await gql(RECORD_CLICK, {"input": b_click}, as_=world.operator)
    # when one of the banner clicks converts
    click = await data.find_click(db, world.partner_a, made[0]["id"])
    assert click is not None
    conv = data.conversion_doc(world.partner_a, cat.open, click["occurred_at"], currency="GBP",
                               status="pending", items=[{"value": 100, "commission": 5}],
                               click=click)  # fmt: skip
    await data.insert_conversion(db, conv)
    # then the conversion copies the creative
    assert (conv["creative_id"], conv["creative_type"], conv["creative_ref"]) == (
        banner["number"], 1, banner["_id"],
    )  # fmt: skip
    # the clicks CSV fills creative_* from it
    response = await client.get("/export/clicks.csv", params={"textDate": "today"},
                                headers=world.a_owner.headers)  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    got = Counter((r["creative_id"], r["creative_type"], r["specific_creative_id"]) for r in rows)
    b, t = str(banner["number"]), str(text["number"])
    assert got == {(b, "1", b): 3, (t, "2", t): 2, ("0", "0", "0"): 1}
    # and analytics groups A's clicks by the creative number (B's click not counted)
    body = await gql(BY_CREATIVE, as_=world.a_analyst)
    counts = {r["dimensions"][0]["value"]: r["metrics"][0]["value"]
              for r in body["data"]["partnerAnalytics"]["rows"]}  # fmt: skip
    assert counts == {b: 3, t: 2, "0": 1}


async def test_tracking_code_names_its_creative(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database, cat: Catalogue
) -> None:
    text = await _creative(db, cat.open, "text")
    link = (await gql(CREATE_LINK, {"input": {"campaignId": cat.open["_id"]}},
                      as_=world.a_owner))["data"]["createTrackingLink"]  # fmt: skip
    body = await gql(CODE, {"lid": link["id"]}, as_=world.a_owner)
    [node] = [e["node"] for e in body["data"]["campaigns"]["edges"] if e["node"]["id"] ==
              cat.open["_id"]]  # fmt: skip
    code = node["creatives"]["edges"][0]["node"]["trackingCode"]
    assert code == f'<a href="{link["url"]}?creative={text["_id"]}">Go</a>'
    # following the code's URL attributes the click to it
    await visit(client, f"/t/{link['id']}?creative={text['_id']}", ua=DESKTOP)
    stored = await db.affiliate_clicks.find_one({"link_id": link["id"]})
    assert stored is not None and stored["creative_ref"] == text["_id"]


async def test_click_creatives_have_no_n_plus_one(
    gql: GraphQL, world: World, db: Database, cat: Catalogue, commands: CommandCounter
) -> None:
    # given 20 clicks of A, each through one of 10 creatives
    creatives = [await _creative(db, cat.open) for _ in range(10)]
    for i in range(20):
        await gql(RECORD_CLICK, {"input": {"partnerId": world.partner_a,
                                           "campaignId": cat.open["_id"],
                                           "creativeId": creatives[i % 10]["_id"]}},
                  as_=world.operator)  # fmt: skip

    async def run(first: int) -> int:
        commands.start()
        body = await gql(CLICKS, {"first": first}, as_=world.a_analyst)
        edges = body["data"]["clicks"]["edges"]
        assert len(edges) == first and all(e["node"]["creative"] for e in edges)
        return commands.total

    # then 2 and 20 clicks with their creatives (and campaigns) cost the same
    assert await run(2) == await run(20)


async def test_creative_numbers_are_unique_and_growing(db: Database, cat: Catalogue) -> None:
    made = [await _creative(db, cat.open) for _ in range(5)]
    numbers = [c["number"] for c in made]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5 and numbers[0] >= 1
