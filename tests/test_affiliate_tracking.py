"""Tracking links that work: `GET /t/{linkId}` records a click (IP, user agent, referer,
visitor cookie; bots and HEAD not recorded; duplicates folded into one click) and
redirects (302) to the link's own destination, never one the request names. The click
is in `clicks`, analytics and the CSV export at once."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from gateway.storage.mongo import Database
from tests.affiliate_fixtures import Catalogue, approve, catalogue
from tests.conftest import GraphQL, World, error_codes
from tests.hardening_fixtures import MakeClient, make_client

__all__ = ["make_client"]  # a fixture, used by name

CREATE_LINK = """
mutation Create($input: CreateTrackingLinkInput!) {
  createTrackingLink(input: $input) { id url destinationUrl }
}"""
CLICKS = """
query K($pid: ID) {
  clicks(textDate: "today", partnerId: $pid) {
    totalCount
    edges { node { id status setIp lastIp lastUsedAt occurredAt referer device cookieId
                   publisherReference advertiserReference linkId campaign { id } } }
  }
}"""
COUNT = """
query A($pid: ID) {
  partnerAnalytics(shape: COUNT, textDate: "today", partnerId: $pid,
                   metrics: ["total_clicks", "total_unique_clicks"]) {
    rows { metrics { name value } }
  }
}"""
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537"


@pytest.fixture
async def cat(db: Database, world: World) -> Catalogue:
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    return cat


async def make_link(gql: GraphQL, world: World, cat: Catalogue, **extra: Any) -> dict[str, Any]:
    body = await gql(CREATE_LINK, {"input": {
        "campaignId": cat.open["_id"], "destinationUrl": "https://shop.example/spring?ref=nav",
        "params": [{"key": "pubref", "value": "spring-news"}, {"key": "adref", "value": "AD-1"}],
        **extra,
    }}, as_=world.a_owner)  # fmt: skip
    assert "errors" not in body, body
    return body["data"]["createTrackingLink"]  # type: ignore[no-any-return]


async def visit(
    client: TestClient[Any, Any], path: str, ua: str = BROWSER, cookie: str | None = None,
    method: str = "GET", **headers: str,
) -> Any:  # fmt: skip
    client.session.cookie_jar.clear()  # each visit says who it is (or not) explicitly
    sent = {"User-Agent": ua, **headers}
    if cookie:
        sent["Cookie"] = f"oooc_vid={cookie}"
    response = await client.request(method, path, headers=sent, allow_redirects=False)
    await response.read()
    return response


async def clicks(gql: GraphQL, world: World) -> list[dict[str, Any]]:
    body = await gql(CLICKS, as_=world.a_analyst)
    return [e["node"] for e in body["data"]["clicks"]["edges"]]


async def test_follow_records_a_click_and_redirects_to_the_destination(
    gql: GraphQL, client: TestClient[Any, Any], world: World, cat: Catalogue
) -> None:
    # given a link whose url points at this gateway
    link = await make_link(gql, world, cat)
    url = urlsplit(link["url"])
    assert f"{url.scheme}://{url.netloc}" == str(client.make_url("/")).rstrip("/")
    assert url.path == f"/t/{link['id']}"
    # when a browser follows it, from a page, claiming a forwarded address (untrusted)
    response = await visit(client, url.path, referer="https://blog.example/post",
                           **{"X-Forwarded-For": "198.51.100.7"})  # fmt: skip
    # then it is sent (302) to the stored destination with the link's parameters + clickref
    assert response.status == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "shop.example",
                                                                 "/spring")  # fmt: skip
    query = dict(parse_qsl(location.query))
    assert query["ref"] == "nav" and query["pubref"] == "spring-news" and query["adref"] == "AD-1"
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.cookies["oooc_vid"]
    assert cookie["httponly"] and cookie["path"] == "/t/" and cookie.value.startswith("ck_")
    # and the click is listed at once, with what the request said
    [click] = await clicks(gql, world)
    assert query["clickref"] == click["id"]
    assert click == {
        "id": click["id"], "status": "NIBBLED", "setIp": "127.0.0.1", "lastIp": "127.0.0.1",
        "lastUsedAt": click["occurredAt"], "occurredAt": click["occurredAt"],
        "referer": "https://blog.example/post", "device": "MOBILE", "cookieId": cookie.value,
        "publisherReference": "spring-news", "advertiserReference": "AD-1",
        "linkId": link["id"], "campaign": {"id": cat.open["_id"]},
    }  # fmt: skip
    # and counted by analytics; partner B sees nothing of it
    body = await gql(COUNT, as_=world.a_analyst)
    assert {m["name"]: m["value"] for m in body["data"]["partnerAnalytics"]["rows"][0]["metrics"]
            } == {"total_clicks": 1, "total_unique_clicks": 1}  # fmt: skip
    body = await gql(CLICKS, as_=world.b_owner)
    assert body["data"]["clicks"]["totalCount"] == 0
    body = await gql(CLICKS, {"pid": world.partner_a}, as_=world.b_owner)
    assert error_codes(body) == ["NOT_FOUND"]


async def test_same_visitor_within_the_window_is_one_click(
    gql: GraphQL, client: TestClient[Any, Any], world: World, cat: Catalogue
) -> None:
    link = await make_link(gql, world, cat)
    path = urlsplit(link["url"]).path
    first = await visit(client, path)
    cookie = first.cookies["oooc_vid"].value
    # when the same visitor comes back at once, and another visitor comes too
    await asyncio.sleep(0.01)
    again = await visit(client, path, cookie=cookie, ua=DESKTOP)
    other = await visit(client, path, ua=DESKTOP)
    # then the visitor keeps one click, whose last use moved; the other is a new click
    assert again.status == other.status == 302
    assert again.cookies["oooc_vid"].value == cookie
    rows = await clicks(gql, world)
    assert len(rows) == 2
    mine = next(r for r in rows if r["cookieId"] == cookie)
    assert mine["lastUsedAt"] > mine["occurredAt"]
    assert dict(parse_qsl(urlsplit(again.headers["Location"]).query))["clickref"] == mine["id"]
    body = await gql(COUNT, as_=world.a_analyst)
    assert {m["name"]: m["value"] for m in body["data"]["partnerAnalytics"]["rows"][0]["metrics"]
            } == {"total_clicks": 2, "total_unique_clicks": 2}  # fmt: skip
    # a forged or foreign cookie value is replaced, not trusted
    forged = await visit(client, path, cookie="../../etc")
    assert forged.cookies["oooc_vid"].value.startswith("ck_")
    assert forged.cookies["oooc_vid"].value != "../../etc"


async def test_after_the_window_the_same_visitor_clicks_again(
    gql: GraphQL, make_client: MakeClient, world: World, cat: Catalogue
) -> None:
    # given a gateway whose duplicate window is one second
    client = await make_client(tracking_duplicate_window_seconds=1)
    link = await make_link(gql, world, cat)
    path = urlsplit(link["url"]).path
    cookie = (await visit(client, path)).cookies["oooc_vid"].value
    # when the visitor returns after the window
    await asyncio.sleep(1.2)
    await visit(client, path, cookie=cookie)
    # then that is a second click of one unique visitor
    rows = await clicks(gql, world)
    assert [r["cookieId"] for r in rows] == [cookie, cookie]
    body = await gql(COUNT, as_=world.a_analyst)
    assert {m["name"]: m["value"] for m in body["data"]["partnerAnalytics"]["rows"][0]["metrics"]
            } == {"total_clicks": 2, "total_unique_clicks": 1}  # fmt: skip


@pytest.mark.parametrize(
    "ua",
    [
        "",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "facebookexternalhit/1.1",
        "curl/8.5.0",
        "python-requests/2.32",
        "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/130.0 Safari/537.36",
    ],
)
async def test_bots_are_redirected_but_not_recorded(
    gql: GraphQL, client: TestClient[Any, Any], world: World, cat: Catalogue, ua: str
) -> None:
    link = await make_link(gql, world, cat)
    response = await visit(client, urlsplit(link["url"]).path, ua=ua)
    assert response.status == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc == "shop.example"
    assert "clickref" not in dict(parse_qsl(location.query))
    assert await clicks(gql, world) == []


async def test_no_open_redirect_and_no_click_when_not_trackable(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database, cat: Catalogue
) -> None:
    link = await make_link(gql, world, cat)
    path = urlsplit(link["url"]).path
    # unknown or malformed links are 404, never a redirect
    for bad in ("/t/lnk_doesnotexist00", "/t/not-a-link", "/t/lnk_%2F%2Fevil.example",
                "/t/https:%2F%2Fevil.example"):  # fmt: skip
        assert (await visit(client, bad)).status == 404, bad
    # the request cannot name the destination
    for query in (
        "?url=https://evil.example/",
        "?destination=//evil.example",
        "?destination_url=https://evil.example&redirect=https://evil.example",
    ):
        response = await visit(client, path + query, Host="evil.example")
        assert response.status == 302
        assert urlsplit(response.headers["Location"]).netloc == "shop.example", query
    # HEAD (link checkers) is answered but not recorded
    head = await visit(client, path, method="HEAD")
    assert head.status == 302
    recorded = len(await clicks(gql, world))
    assert recorded == 3  # the three GETs above
    # an inactive link, a paused campaign or a withdrawn approval stop tracking, not landing
    stops = [
        (db.affiliate_links, {"_id": link["id"]}, {"active": False}, {"active": True}),
        (db.affiliate_campaigns, {"_id": cat.open["_id"]}, {"status": "paused"},
         {"status": "active"}),
        (db.affiliate_participations, {"partner_id": world.partner_a}, {"status": "rejected"},
         {"status": "approved"}),
    ]  # fmt: skip
    for collection, key, stop, resume in stops:
        await collection.update_one(key, {"$set": stop})
        response = await visit(client, path, ua=DESKTOP)
        assert response.status == 302
        assert urlsplit(response.headers["Location"]).netloc == "shop.example"
        assert len(await clicks(gql, world)) == recorded, stop
        await collection.update_one(key, {"$set": resume})


async def test_public_url_setting_names_the_origin(
    make_client: MakeClient, world: World, cat: Catalogue
) -> None:
    client = await make_client(public_url="https://go.oooc.example")
    body = await (await client.post("/graphql", json={
        "query": CREATE_LINK, "variables": {"input": {"campaignId": cat.open["_id"]}},
    }, headers=world.a_owner.headers)).json()  # fmt: skip
    link = body["data"]["createTrackingLink"]
    assert link["url"] == f"https://go.oooc.example/t/{link['id']}"


def test_public_url_must_be_an_origin() -> None:
    from pydantic import ValidationError

    from gateway.settings import SettingsError, load_settings

    for bad in ("javascript:alert(1)", "https://go.example/path", "ftp://go.example"):
        with pytest.raises((ValidationError, SettingsError)):
            load_settings(public_url=bad)
