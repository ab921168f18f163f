"""The seed's click `meta_data`: a click through a tracking link keeps the link's
parameters that have no field of their own (utm_*, creativeref), read per tenant."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from gateway.storage.mongo import Database
from tests.affiliate_fixtures import approve, catalogue
from tests.conftest import GraphQL, World

CREATE_LINK = """
mutation Create($input: CreateTrackingLinkInput!) { createTrackingLink(input: $input) { id } }"""
CLICKS = """
query K { clicks(textDate: "today") { edges { node { id linkId publisherReference
                                                   metaData { key value } } } } }"""


async def test_click_meta_data_is_the_links_other_parameters(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database
) -> None:
    # given A's link with a publisher reference and UTM tags, and B approved too
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
    params = [{"key": "pubref", "value": "news"}, {"key": "utm_medium", "value": "email"},
              {"key": "utm_campaign", "value": "spring"}]  # fmt: skip
    body = await gql(CREATE_LINK, {"input": {"campaignId": cat.open["_id"], "params": params,
                                             "destinationUrl": "https://shop.example/"}},
                     as_=world.a_owner)  # fmt: skip
    link = body["data"]["createTrackingLink"]
    plain = await gql(CREATE_LINK, {"input": {"campaignId": cat.open["_id"],
                                              "destinationUrl": "https://shop.example/"}},
                      as_=world.b_owner)  # fmt: skip
    # when a visitor follows each link
    for link_id in (link["id"], plain["data"]["createTrackingLink"]["id"]):
        response = await client.get(f"/t/{link_id}", allow_redirects=False)
        assert response.status == 302
    # then A's click carries the UTM tags as meta data (pubref has its own field)
    [a_click] = [e["node"] for e in (await gql(CLICKS, as_=world.a_analyst))["data"]["clicks"]
                 ["edges"]]  # fmt: skip
    assert a_click["linkId"] == link["id"] and a_click["publisherReference"] == "news"
    assert a_click["metaData"] == [{"key": "utm_medium", "value": "email"},
                                   {"key": "utm_campaign", "value": "spring"}]  # fmt: skip
    # and B's click, through a link without parameters, has none
    [b_click] = [e["node"] for e in (await gql(CLICKS, as_=world.b_owner))["data"]["clicks"]
                 ["edges"]]  # fmt: skip
    assert b_click["metaData"] == []
