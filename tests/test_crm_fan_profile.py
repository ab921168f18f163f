"""The seed's search-result fan fields (rating, latitude/longitude, metro area, IP address,
networks, idols): rejections before success, create and partial update, the search's
`maxCount` walk and the fields on search results."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.storage.mongo import Database
from tests.conftest import GraphQL, World, error_codes, only_error
from tests.crm_fixtures import given_fan

PROFILE = "rating latitude longitude metroArea ipAddress networks idolNames"
NAMED = "query($id: ID!) { fan(id: $id) { name } }"
CREATE = f"""
mutation($input: CreateFanInput!) {{ createFan(input: $input) {{ id {PROFILE} }} }}"""
UPDATE = f"""
mutation($id: ID!, $input: UpdateFanInput!) {{
  updateFan(id: $id, input: $input) {{ {PROFILE} }}
}}"""
SEARCH = f"""
query($filter: FanFilter, $first: Int, $after: String) {{
  fans(filter: $filter, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }}
    edges {{ node {{ id lastCampaignTitle tags businessOptIns {PROFILE} }} }}
  }}
}}"""
FULL = {"email": "p@example.com", "rating": 4, "latitude": 49.28, "longitude": -123.12,
        "metroArea": "Vancouver", "ipAddress": "2001:DB8::1", "networks": ["Spotify", "x_1"],
        "idolNames": ["The Band", "The Band", "Solo"]}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [({"rating": 6}, "rating"), ({"rating": -1}, "rating"), ({"latitude": 10.0}, "longitude"),
     ({"longitude": 10.0}, "latitude"), ({"latitude": 91.0, "longitude": 0.0}, "latitude"),
     ({"latitude": 0.0, "longitude": -181.0}, "longitude"), ({"ipAddress": "1.2.3"}, "ipAddress"),
     ({"networks": ["face book"]}, "networks"), ({"networks": [f"n{i}" for i in range(21)]},
                                                 "networks"),
     ({"idolNames": [" "]}, "idolNames"), ({"metroArea": "m" * 65}, "metroArea")],
)  # fmt: skip
async def test_profile_rejections_change_nothing(
    gql: GraphQL, world: World, db: Database, change: dict[str, Any], field: str
) -> None:
    # a bad create stores no fan
    body = await gql(CREATE, {"input": {"email": "p@example.com", **change}}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await db.fans.count_documents({}) == 0
    # a bad update changes nothing
    fan = await db.fans.find_one({"_id": (await given_fan(db, world.partner_a))["_id"]}) or {}
    body = await gql(UPDATE, {"id": fan["_id"], "input": change}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await db.fans.find_one({"_id": fan["_id"]}) == fan


async def test_profile_is_created_updated_and_cleared(
    gql: GraphQL, world: World, db: Database
) -> None:
    body = await gql(CREATE, {"input": FULL}, as_=world.a_owner)
    fan = body["data"]["createFan"]
    assert fan | {"id": None} == {
        "id": None, "rating": 4, "latitude": 49.28, "longitude": -123.12,
        "metroArea": "Vancouver", "ipAddress": "2001:db8::1", "networks": ["spotify", "x_1"],
        "idolNames": ["The Band", "Solo"],
    }  # fmt: skip
    assert (await gql(NAMED, {"id": fan["id"]}, as_=world.a_owner))["data"]["fan"] == {
        "name": None}
    await gql(UPDATE, {"id": fan["id"], "input": {"firstName": "Ada", "lastName": "L"}},
              as_=world.a_owner)  # fmt: skip
    assert (await gql(NAMED, {"id": fan["id"]}, as_=world.a_owner))["data"]["fan"] == {
        "name": "Ada L"}
    # only the fields sent change
    body = await gql(UPDATE, {"id": fan["id"], "input": {"rating": 2, "networks": ["tiktok"]}},
                     as_=world.a_owner)  # fmt: skip
    got = body["data"]["updateFan"]
    assert (got["rating"], got["networks"], got["metroArea"]) == (2, ["tiktok"], "Vancouver")
    # null clears (coordinates together)
    clear = {"rating": None, "latitude": None, "longitude": None, "metroArea": None,
             "ipAddress": None, "networks": None, "idolNames": None}  # fmt: skip
    body = await gql(UPDATE, {"id": fan["id"], "input": clear}, as_=world.a_owner)
    assert body["data"]["updateFan"] == {"rating": 0, "latitude": None, "longitude": None,
                                         "metroArea": None, "ipAddress": None, "networks": [],
                                         "idolNames": []}  # fmt: skip
    stored = await db.fans.find_one({"_id": fan["id"]}) or {}
    assert "latitude" not in stored and "longitude" not in stored
    # another partner's fan is not found
    body = await gql(UPDATE, {"id": fan["id"], "input": {"rating": 1}}, as_=world.b_owner)
    assert error_codes(body) == ["NOT_FOUND"]


async def test_search_results_carry_the_profile_and_stop_at_max_count(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given 8 fans of A with the same metro area, interleaved with B's
    mine = []
    for i in range(8):
        await given_fan(db, world.partner_b, metro_area="M", networks=["facebook"])
        mine.append(await given_fan(db, world.partner_a, metro_area="M", rating=i % 5,
                                    networks=["facebook"], idol_names=["i1"],
                                    latitude=1.5, longitude=-2.5))  # fmt: skip
    f = {"metroAreas": ["M"], "networks": ["facebook"], "idols": ["i1"], "maxCount": 5}
    # when A walks the search two at a time
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        body = await gql(SEARCH, {"filter": f, "first": 2, "after": after}, as_=world.a_owner)
        assert "errors" not in body, body
        page = body["data"]["fans"]
        seen += [e["node"] for e in page["edges"]]
        assert page["totalCount"] == 5
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then it saw the newest 5 of its fans, with their profile fields
    newest = sorted(mine, key=lambda d: (d["created_ms"], d["_id"]), reverse=True)[:5]
    assert [n["id"] for n in seen] == [d["_id"] for d in newest]
    assert {(n["metroArea"], n["latitude"], n["longitude"], tuple(n["idolNames"]))
            for n in seen} == {("M", 1.5, -2.5, ("i1",))}  # fmt: skip
    # without maxCount all 8 (the default cap is 100,000)
    body = await gql(SEARCH, {"filter": {"metroAreas": ["M"]}, "first": 20}, as_=world.a_owner)
    assert body["data"]["fans"]["totalCount"] == 8
    # a cursor of another list is refused
    body = await gql(SEARCH, {"filter": f, "after": "WzEsMl0="}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
