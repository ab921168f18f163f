"""Affiliate: partner profile and websites, campaigns and participation, tracking links,
recording clicks and conversions. Rejections first, then success with database state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.storage.mongo import Database
from tests.affiliate_fixtures import Catalogue, approve, campaign, catalogue
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

UPDATE_PROFILE = """
mutation Update($input: UpdatePartnerProfileInput!, $pid: ID) {
  updatePartnerProfile(input: $input, partnerId: $pid) {
    id accountName companyName contactEmail contactLocale defaultCurrency reportingTimezone
    operatingCountry vertical promotionalMethod weekStart networkStatus
  }
}"""
PARTNER_PROFILE = """
{ partner { accountName companyName defaultCurrency reportingTimezone weekStart networkStatus
            websites { url primary active type country } } }"""
CREATE_WEBSITE = """
mutation Create($input: CreateWebsiteInput!) {
  createPartnerWebsite(input: $input) { id url primary active type vertical country }
}"""
UPDATE_WEBSITE = """
mutation Update($id: ID!, $input: UpdateWebsiteInput!) {
  updatePartnerWebsite(id: $id, input: $input) { id url primary active }
}"""
CAMPAIGNS = """
query Campaigns($first: Int, $statuses: [CampaignStatus!], $pid: ID) {
  campaigns(first: $first, statuses: $statuses, partnerId: $pid) {
    totalCount
    edges { node { id title status customTerms participationStatus brand { id name } } }
  }
}"""
REQUEST = """
mutation Request($cid: ID!, $accept: Boolean! = false, $pid: ID) {
  requestCampaignParticipation(campaignId: $cid, acceptTerms: $accept, partnerId: $pid) {
    id status termsAccepted campaign { id participationStatus }
  }
}"""
PARTICIPATIONS = """
query P($status: [ParticipationStatus!]) {
  participations(status: $status) {
    totalCount edges { node { id status decidedAt campaign { title } } }
  }
}"""
REVIEW = """
mutation Review($id: ID!, $decision: ParticipationDecision!) {
  reviewCampaignParticipation(id: $id, decision: $decision) { id status decidedAt }
}"""
CREATE_LINK = """
mutation Create($input: CreateTrackingLinkInput!) {
  createTrackingLink(input: $input) {
    id url destinationUrl description active params { key value } campaign { id }
  }
}"""
UPDATE_LINK = """
mutation Update($id: ID!, $input: UpdateTrackingLinkInput!) {
  updateTrackingLink(id: $id, input: $input) { id destinationUrl active params { key value } }
}"""
LINKS = "{ trackingLinks { totalCount edges { node { id campaign { title } } } } }"
RECORD_CLICK = """
mutation Click($input: RecordClickInput!) {
  recordClick(input: $input) { id country device day converted }
}"""
RECORD_CONVERSION = """
mutation Conv($input: RecordConversionInput!) {
  recordConversion(input: $input) {
    id value partnerCommission itemCount currency status clickId items { status value }
  }
}"""


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


@pytest.fixture
async def cat(db: Database) -> Catalogue:
    return await catalogue(db)


# --- profile -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"contactEmail": "not-an-email"}, "contactEmail"),
        ({"reportingTimezone": "Mars/Olympus"}, "reportingTimezone"),
        ({"reportingTimezone": "../../etc/passwd"}, "reportingTimezone"),
        ({"defaultCurrency": "XYZ"}, "defaultCurrency"),
        ({"operatingCountry": "ZZ"}, "operatingCountry"),
        ({"contactLocale": "klingon"}, "contactLocale"),
        ({"defaultCurrency": None}, "defaultCurrency"),
        ({"accountName": "x" * 121}, "accountName"),
        ({}, "input"),
    ],
)
async def test_profile_rejects_bad_input_and_changes_nothing(
    gql: GraphQL, world: World, db: Database, change: dict[str, Any], field: str
) -> None:
    # given a partner with a valid change next to the bad one
    before = await db.partners.find_one({"_id": world.partner_a})
    change = {**change, "companyName": "Should Not Land"} if change else change
    # when the owner sends it
    body = await gql(UPDATE_PROFILE, {"input": change}, as_=world.a_owner)
    # then BAD_USER_INPUT names the field and nothing was written
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert field_of(body) == field
    assert await db.partners.find_one({"_id": world.partner_a}) == before


async def test_profile_rejects_wrong_principals(gql: GraphQL, world: World, db: Database) -> None:
    change = {"input": {"companyName": "Nope"}}
    # staff may not set their own network status
    body = await gql(UPDATE_PROFILE, {"input": {"networkStatus": "REJECTED"}}, as_=world.a_owner)
    assert error_codes(body) == ["FORBIDDEN"]
    # managers lack partner:write; analysts too; apps are the wrong kind
    for persona in (world.a_manager, world.a_analyst, world.a_app):
        assert error_codes(await gql(UPDATE_PROFILE, change, as_=persona)) == ["FORBIDDEN"]
    assert error_codes(await gql(UPDATE_PROFILE, change, as_=world.anonymous)) == [
        "UNAUTHENTICATED"
    ]
    # another tenant's partner is not found, and its data does not leak
    body = await gql(UPDATE_PROFILE, {**change, "pid": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["data"] is None
    # an operator must name the partner
    body = await gql(UPDATE_PROFILE, change, as_=world.operator)
    assert field_of(body) == "partnerId"
    assert await db.partners.count_documents({"company_name": "Nope"}) == 0


async def test_profile_changes_only_the_fields_sent(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a first update
    first = {"accountName": "acme-pub", "contactEmail": "Ops@Acme.Example",
             "reportingTimezone": "Asia/Dubai", "defaultCurrency": "eur", "vertical": "RETAIL",
             "weekStart": "SUNDAY", "operatingCountry": "ae"}  # fmt: skip
    body = await gql(UPDATE_PROFILE, {"input": first}, as_=world.a_owner)
    profile = body["data"]["updatePartnerProfile"]
    assert profile["contactEmail"] == "ops@acme.example"
    assert profile["defaultCurrency"] == "EUR"
    assert profile["operatingCountry"] == "AE"
    # when a second update sends one other field
    body = await gql(UPDATE_PROFILE, {"input": {"companyName": "Acme Ltd"}}, as_=world.a_owner)
    profile = body["data"]["updatePartnerProfile"]
    # then the earlier fields are untouched
    assert profile == {
        "id": world.partner_a, "accountName": "acme-pub", "companyName": "Acme Ltd",
        "contactEmail": "ops@acme.example", "contactLocale": "en", "defaultCurrency": "EUR",
        "reportingTimezone": "Asia/Dubai", "operatingCountry": "AE", "vertical": "RETAIL",
        "promotionalMethod": None, "weekStart": "SUNDAY", "networkStatus": "ACTIVE",
    }  # fmt: skip
    stored = await db.partners.find_one({"_id": world.partner_a})
    assert stored is not None and stored["reporting_timezone"] == "Asia/Dubai"
    # null clears an optional field
    body = await gql(UPDATE_PROFILE, {"input": {"operatingCountry": None}}, as_=world.a_owner)
    assert body["data"]["updatePartnerProfile"]["operatingCountry"] is None
    # and operators set the network status of a named partner
    body = await gql(
        UPDATE_PROFILE, {"input": {"networkStatus": "PENDING"}, "pid": world.partner_b},
        as_=world.operator,
    )  # fmt: skip
    assert body["data"]["updatePartnerProfile"]["networkStatus"] == "PENDING"


# --- websites ------------------------------------------------------------------------


async def test_website_rejections(gql: GraphQL, world: World, db: Database) -> None:
    for bad, field in (
        ({"url": "ftp://files.example"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://ok.example", "country": "XX"}, "country"),
        ({"url": "https://ok.example", "name": "bad\x00name"}, "name"),
    ):
        body = await gql(CREATE_WEBSITE, {"input": bad}, as_=world.a_owner)
        assert error_codes(body) == ["BAD_USER_INPUT"], bad
        assert field_of(body) == field
    good = {"input": {"url": "https://ok.example"}}
    assert error_codes(await gql(CREATE_WEBSITE, good, as_=world.a_analyst)) == ["FORBIDDEN"]
    assert error_codes(await gql(CREATE_WEBSITE, good, as_=world.a_app)) == ["FORBIDDEN"]
    assert error_codes(await gql(CREATE_WEBSITE, good, as_=world.anonymous)) == ["UNAUTHENTICATED"]
    other = {"input": {"url": "https://ok.example", "partnerId": world.partner_b}}
    assert error_codes(await gql(CREATE_WEBSITE, other, as_=world.a_owner)) == ["NOT_FOUND"]
    assert await db.affiliate_websites.count_documents({}) == 0


async def test_websites_create_update_and_one_primary(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given two websites, the second one made primary
    first = (await gql(CREATE_WEBSITE, {"input": {"url": "https://a.example", "primary": True}},
                       as_=world.a_owner))["data"]["createPartnerWebsite"]  # fmt: skip
    second = (await gql(CREATE_WEBSITE, {"input": {
        "url": "https://b.example", "primary": True, "type": "CONTENT", "country": "gb",
        "vertical": "TRAVEL"}}, as_=world.a_owner))["data"]["createPartnerWebsite"]  # fmt: skip
    assert second["country"] == "GB"
    # then only the second is primary
    body = await gql(PARTNER_PROFILE, as_=world.a_owner)
    sites = body["data"]["partner"]["websites"]
    assert [(s["url"], s["primary"]) for s in sites] == [
        ("https://a.example", False), ("https://b.example", True),
    ]  # fmt: skip
    # when the first is updated (partial): deactivated and made primary again
    body = await gql(UPDATE_WEBSITE, {"id": first["id"], "input": {"active": False,
                                                                   "primary": True}},
                     as_=world.a_owner)  # fmt: skip
    assert body["data"]["updatePartnerWebsite"] == {
        "id": first["id"], "url": "https://a.example", "primary": True, "active": False,
    }  # fmt: skip
    stored = await db.affiliate_websites.find_one({"_id": second["id"]})
    assert stored is not None and not stored["primary"]
    # and the other tenant cannot touch it
    body = await gql(UPDATE_WEBSITE, {"id": first["id"], "input": {"active": True}},
                     as_=world.b_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    bad = await gql(UPDATE_WEBSITE, {"id": first["id"], "input": {"url": None}},
                    as_=world.a_owner)  # fmt: skip
    assert field_of(bad) == "url"


# --- campaigns and participation -----------------------------------------------------


async def test_campaigns_show_brand_and_participation_status(
    gql: GraphQL, world: World, db: Database, cat: Catalogue
) -> None:
    # given partner A approved on one campaign
    await approve(db, world.partner_a, cat.auto)
    # when A lists active campaigns
    body = await gql(CAMPAIGNS, {"statuses": ["ACTIVE"]}, as_=world.a_owner)
    nodes = [e["node"] for e in body["data"]["campaigns"]["edges"]]
    # then each carries its brand and A's status; paused campaigns are filtered out
    assert body["data"]["campaigns"]["totalCount"] == 3
    status = {n["title"]: n["participationStatus"] for n in nodes}
    assert status == {"Acme Open": "AVAILABLE", "Acme Terms": "AVAILABLE", "Acme Auto": "APPROVED"}
    assert {n["brand"]["name"] for n in nodes} == {"Acme"}
    # and B sees its own (none)
    body = await gql(CAMPAIGNS, {"statuses": ["ACTIVE"]}, as_=world.b_owner)
    assert {e["node"]["participationStatus"] for e in body["data"]["campaigns"]["edges"]} == {
        "AVAILABLE"
    }
    # operators see statuses of the partner they name, none otherwise
    body = await gql(CAMPAIGNS, {"pid": world.partner_a}, as_=world.operator)
    assert "APPROVED" in {
        e["node"]["participationStatus"] for e in body["data"]["campaigns"]["edges"]
    }
    body = await gql(CAMPAIGNS, {}, as_=world.operator)
    assert {e["node"]["participationStatus"] for e in body["data"]["campaigns"]["edges"]} == {None}
    assert error_codes(await gql(CAMPAIGNS, {}, as_=world.a_app)) == ["FORBIDDEN"]
    assert error_codes(await gql(CAMPAIGNS, {}, as_=world.anonymous)) == ["UNAUTHENTICATED"]


async def test_campaign_list_has_no_n_plus_one(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    # given 20 campaigns over 4 brands, some joined
    cats = [await catalogue(db, f"Brand{i}") for i in range(5)]
    for c in cats:
        await approve(db, world.partner_a, c.open)

    async def run(first: int) -> int:
        commands.start()
        body = await gql(CAMPAIGNS, {"first": first}, as_=world.a_owner)
        assert len(body["data"]["campaigns"]["edges"]) == first
        return commands.total

    # then a page of 2 and a page of 20 cost the same number of commands
    assert await run(2) == await run(20)


async def test_request_participation_rejections(
    gql: GraphQL, world: World, db: Database, cat: Catalogue
) -> None:
    body = await gql(REQUEST, {"cid": cat.terms["_id"]}, as_=world.a_owner)
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "acceptTerms"
    body = await gql(REQUEST, {"cid": "not-an-id"}, as_=world.a_owner)
    assert field_of(body) == "campaignId"
    body = await gql(REQUEST, {"cid": "cmp_doesnotexist00"}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    body = await gql(REQUEST, {"cid": cat.paused["_id"]}, as_=world.a_owner)
    assert error_codes(body) == ["CONFLICT"]
    body = await gql(REQUEST, {"cid": cat.open["_id"]}, as_=world.a_analyst)
    assert error_codes(body) == ["FORBIDDEN"]
    body = await gql(REQUEST, {"cid": cat.open["_id"]}, as_=world.anonymous)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    body = await gql(REQUEST, {"cid": cat.open["_id"], "pid": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.affiliate_participations.count_documents({}) == 0


async def test_request_participation_then_conflict_and_review(
    gql: GraphQL, world: World, db: Database, cat: Catalogue
) -> None:
    # when A asks to join the campaign with terms, accepting them
    body = await gql(REQUEST, {"cid": cat.terms["_id"], "accept": True}, as_=world.a_manager)
    ptc = body["data"]["requestCampaignParticipation"]
    assert ptc["status"] == "PENDING" and ptc["termsAccepted"] is True
    assert ptc["campaign"]["participationStatus"] == "PENDING"
    # then asking again is a conflict
    body = await gql(REQUEST, {"cid": cat.terms["_id"], "accept": True}, as_=world.a_owner)
    assert error_codes(body) == ["CONFLICT"]
    # an auto-approving campaign approves at once
    body = await gql(REQUEST, {"cid": cat.auto["_id"]}, as_=world.a_owner)
    assert body["data"]["requestCampaignParticipation"]["status"] == "APPROVED"
    # participations filter by status and stay within the tenant
    body = await gql(PARTICIPATIONS, {"status": ["PENDING"]}, as_=world.a_analyst)
    assert body["data"]["participations"]["totalCount"] == 1
    assert (await gql(PARTICIPATIONS, {}, as_=world.b_owner))["data"]["participations"][
        "totalCount"
    ] == 0
    assert field_of(await gql(PARTICIPATIONS, {"status": ["AVAILABLE"]}, as_=world.a_owner)) == (
        "status"
    )
    # staff cannot review; the operator approves
    review = {"id": ptc["id"], "decision": "APPROVED"}
    assert error_codes(await gql(REVIEW, review, as_=world.a_owner)) == ["FORBIDDEN"]
    body = await gql(REVIEW, review, as_=world.operator)
    assert body["data"]["reviewCampaignParticipation"]["status"] == "APPROVED"
    stored = await db.affiliate_participations.find_one({"_id": ptc["id"]})
    assert stored is not None and stored["status"] == "approved" and stored["terms_accepted"]
    # and the decision time reads back as a date-time, not as whatever the store kept
    body = await gql(PARTICIPATIONS, {"status": ["APPROVED"]}, as_=world.a_owner)
    assert "errors" not in body, body
    nodes = {e["node"]["id"]: e["node"] for e in body["data"]["participations"]["edges"]}
    decided = datetime.fromisoformat(nodes[ptc["id"]]["decidedAt"])
    assert decided.tzinfo is not None and abs(decided - datetime.now(UTC)) < timedelta(minutes=5)


# --- tracking links ------------------------------------------------------------------


async def test_tracking_link_rejections(
    gql: GraphQL, world: World, db: Database, cat: Catalogue
) -> None:
    await approve(db, world.partner_a, cat.open)
    base = {"campaignId": cat.open["_id"]}
    for extra, field in (
        ({"destinationUrl": "mailto:x@y.example"}, "destinationUrl"),
        ({"params": [{"key": "evil", "value": "1"}]}, "params"),
        ({"params": [{"key": "pubref", "value": "a"}, {"key": "pubref", "value": "b"}]},
         "params"),
        ({"params": [{"key": "pubref", "value": ""}]}, "params"),
        ({"campaignId": "lnk_wrongkind1234"}, "campaignId"),
    ):  # fmt: skip
        body = await gql(CREATE_LINK, {"input": {**base, **extra}}, as_=world.a_owner)
        assert error_codes(body) == ["BAD_USER_INPUT"], extra
        assert field_of(body) == field
    # not approved on the campaign (pending, or never asked)
    body = await gql(CREATE_LINK, {"input": {"campaignId": cat.auto["_id"]}}, as_=world.a_owner)
    assert error_codes(body) == ["FORBIDDEN"] and field_of(body) == "campaignId"
    assert error_codes(await gql(CREATE_LINK, {"input": base}, as_=world.a_analyst)) == [
        "FORBIDDEN"
    ]
    assert error_codes(await gql(CREATE_LINK, {"input": base}, as_=world.anonymous)) == [
        "UNAUTHENTICATED"
    ]
    body = await gql(CREATE_LINK, {"input": {**base, "partnerId": world.partner_b}},
                     as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.affiliate_links.count_documents({}) == 0


async def test_tracking_links_create_update_list(
    gql: GraphQL, world: World, db: Database, cat: Catalogue
) -> None:
    await approve(db, world.partner_a, cat.open)
    # when A creates a link with parameters and no destination
    body = await gql(CREATE_LINK, {"input": {
        "campaignId": cat.open["_id"], "params": [{"key": "pubref", "value": "spring"}],
    }}, as_=world.a_manager)  # fmt: skip
    link = body["data"]["createTrackingLink"]
    # then it lands on the campaign's default destination and is active
    assert link["destinationUrl"] == "https://shop.example/"
    assert link["active"] is True and link["url"].endswith(link["id"])
    assert link["params"] == [{"key": "pubref", "value": "spring"}]
    # rejections of the update first: another tenant, bad input
    change = {"id": link["id"], "input": {"active": False}}
    assert error_codes(await gql(UPDATE_LINK, change, as_=world.b_owner)) == ["NOT_FOUND"]
    bad = {"id": link["id"], "input": {"destinationUrl": "nope"}}
    assert field_of(await gql(UPDATE_LINK, bad, as_=world.a_owner)) == "destinationUrl"
    assert field_of(await gql(UPDATE_LINK, {"id": link["id"], "input": {}},
                              as_=world.a_owner)) == "input"  # fmt: skip
    # then a partial update changes only what was sent
    body = await gql(UPDATE_LINK, change, as_=world.a_owner)
    assert body["data"]["updateTrackingLink"] == {
        "id": link["id"], "destinationUrl": "https://shop.example/", "active": False,
        "params": [{"key": "pubref", "value": "spring"}],
    }  # fmt: skip
    stored = await db.affiliate_links.find_one({"_id": link["id"]})
    assert stored is not None and not stored["active"]
    # the list is per tenant
    assert (await gql(LINKS, as_=world.a_analyst))["data"]["trackingLinks"]["totalCount"] == 1
    assert (await gql(LINKS, as_=world.b_owner))["data"]["trackingLinks"]["totalCount"] == 0
    # a rejected participation stops updates
    await db.affiliate_participations.update_one(
        {"partner_id": world.partner_a}, {"$set": {"status": "rejected"}}
    )
    assert error_codes(await gql(UPDATE_LINK, change, as_=world.a_owner)) == ["FORBIDDEN"]


# --- recording clicks and conversions ------------------------------------------------


async def test_record_click_and_conversion(
    gql: GraphQL, world: World, db: Database, cat: Catalogue
) -> None:
    await approve(db, world.partner_a, cat.open)
    other = await campaign(db, cat.brand, "Not joined")
    click_in = {"partnerId": world.partner_a, "campaignId": cat.open["_id"], "country": "gb",
                "device": "MOBILE", "cookieId": "ck-1"}  # fmt: skip
    # rejections: staff may not record, bad country, unjoined campaign, future time
    assert error_codes(await gql(RECORD_CLICK, {"input": click_in}, as_=world.a_owner)) == [
        "FORBIDDEN"
    ]
    for extra, field in (
        ({"country": "QQ"}, "country"),
        ({"occurredAt": "2999-01-01T00:00:00+00:00"}, "occurredAt"),
        ({"linkId": "lnk_doesnotexist0"}, "linkId"),
    ):
        body = await gql(RECORD_CLICK, {"input": {**click_in, **extra}}, as_=world.operator)
        assert field_of(body) == field, extra
    body = await gql(RECORD_CLICK, {"input": {**click_in, "campaignId": other["_id"]}},
                     as_=world.operator)  # fmt: skip
    assert error_codes(body) == ["FORBIDDEN"]
    assert await db.affiliate_clicks.count_documents({}) == 0
    # success
    click = (await gql(RECORD_CLICK, {"input": click_in}, as_=world.operator))["data"][
        "recordClick"
    ]
    assert click["country"] == "GB" and click["device"] == "MOBILE" and click["converted"] is False
    conv_in = {
        "partnerId": world.partner_a, "campaignId": cat.open["_id"], "currency": "GBP",
        "clickId": click["id"], "status": "APPROVED",
        "items": [{"value": 2000, "commission": 200, "quantity": 2},
                  {"value": 1000, "commission": 100, "status": "REJECTED"}],
    }  # fmt: skip
    for extra, field in (
        ({"currency": "ABC"}, "currency"),
        ({"items": []}, "items"),
        ({"items": [{"value": 100, "commission": 101}]}, "items"),
        ({"items": [{"value": -1, "commission": 0}]}, "items"),
        ({"clickId": "clk_doesnotexist0"}, "clickId"),
    ):
        body = await gql(RECORD_CONVERSION, {"input": {**conv_in, **extra}}, as_=world.operator)
        assert field_of(body) == field, extra
    assert await db.affiliate_conversions.count_documents({}) == 0
    body = await gql(RECORD_CONVERSION, {"input": conv_in}, as_=world.operator)
    conv = body["data"]["recordConversion"]
    assert conv["value"] == 3000 and conv["partnerCommission"] == 300 and conv["itemCount"] == 3
    assert [i["status"] for i in conv["items"]] == ["APPROVED", "REJECTED"]
    assert conv["clickId"] == click["id"]
    stored = await db.affiliate_clicks.find_one({"_id": click["id"]})
    assert stored is not None and stored["converted"] == 1
    conv_doc = await db.affiliate_conversions.find_one({"_id": conv["id"]})
    assert conv_doc is not None and conv_doc["partner_id"] == world.partner_a
    assert isinstance(conv_doc["ts"], int) and len(conv_doc["day"]) == 10


# --- demo seed -----------------------------------------------------------------------

DEMO_COUNT = """
query D($pid: ID!) {
  partnerAnalytics(shape: COUNT, partnerId: $pid, textDate: "last 90 days",
                   metrics: ["total_clicks", "total_conversions"]) {
    rows { metrics { name value } }
  }
  campaigns(partnerId: $pid) {
    edges { node { id participationStatus cookiePeriodDays tracking { method }
                   defaultCommission { effective { model rate amount } }
                   commissions(first: 10) { edges { node { kind } } } } }
  }
  commissionGroups(partnerId: $pid) { edges { node { group { name } } } }
  selfBills(partnerId: $pid) { edges { node { status currency netValue items { totalCount } } } }
  balanceSummary(partnerId: $pid) { currency pending approved confirmed available paid }
  paymentDetails(partnerId: $pid) { totalCount }
  campaignInvitations(partnerId: $pid) { edges { node { status campaign { id } } } }
  longHaul: campaignTerms(campaignId: "cmp_demo-sky-long") { totalCount }
  productFeeds(partnerId: $pid) { totalCount }
  transactionQueries(partnerId: $pid) { totalCount }
}"""


async def test_demo_seed_is_idempotent_and_queryable(
    gql: GraphQL, world: World, db: Database, tmp_path: Any
) -> None:
    from gateway.demo import affiliate as demo_affiliate
    from gateway.demo.base import DemoPartner, DemoSecrets

    # given the demo seed run twice for one partner
    partner = DemoPartner(id=world.partner_a, name="Alpha", index=0)
    secrets = DemoSecrets(tmp_path)
    await demo_affiliate.seed(db, partner, secrets)
    counts = (await db.affiliate_clicks.count_documents({}),
              await db.affiliate_conversions.count_documents({}))  # fmt: skip
    await demo_affiliate.seed(db, partner, secrets)
    # then it made enough traffic once, and nothing more the second time
    assert counts[0] >= 2000 and counts[1] >= 300
    assert counts == (await db.affiliate_clicks.count_documents({}),
                      await db.affiliate_conversions.count_documents({}))  # fmt: skip
    body = await gql(DEMO_COUNT, {"pid": world.partner_a}, as_=world.operator)
    values = {m["name"]: m["value"] for m in body["data"]["partnerAnalytics"]["rows"][0]["metrics"]}
    assert values["total_clicks"] > 1000 and values["total_conversions"] > 100
    states = {e["node"]["participationStatus"] for e in body["data"]["campaigns"]["edges"]}
    assert {"APPROVED", "PENDING", "REJECTED", "AVAILABLE"} <= states
    # commissions of every kind; the first partner's own spring rate; the group's city rate
    nodes = {e["node"]["id"]: e["node"] for e in body["data"]["campaigns"]["edges"]}
    kinds = {c["node"]["kind"] for n in nodes.values() for c in n["commissions"]["edges"]}
    assert kinds == {"DEFAULT", "STANDARD", "VOUCHER", "PROMOTIONAL", "TIERED"}
    spring = nodes["cmp_demo-nw-spring"]["defaultCommission"]["effective"]
    assert spring == {"model": "PERCENTAGE", "rate": 0.12, "amount": None}
    city = nodes["cmp_demo-sky-city"]
    assert city["defaultCommission"]["effective"] == {"model": "FIXED_CPA", "rate": None,
                                                      "amount": 2000}  # fmt: skip
    assert city["cookiePeriodDays"] == 14 and city["tracking"]["method"] == "PIXEL"
    groups = body["data"]["commissionGroups"]["edges"]
    assert [g["node"]["group"]["name"] for g in groups] == ["Content partners"]
    # money: a paid and a created self-bill per currency, pending and available balances
    bills = [e["node"] for e in body["data"]["selfBills"]["edges"]]
    assert {b["status"] for b in bills} == {"PAID", "CREATED"}
    assert all(b["netValue"] > 0 and b["items"]["totalCount"] > 0 for b in bills)
    balance = body["data"]["balanceSummary"]
    assert all(b["pending"] > 0 and b["approved"] > 0 and b["paid"] > 0 for b in balance)
    assert body["data"]["paymentDetails"]["totalCount"] == 1
    # joining: an open invitation, versioned terms
    invitations = body["data"]["campaignInvitations"]["edges"]
    assert [i["node"]["status"] for i in invitations] == ["OPEN"]
    assert body["data"]["longHaul"]["totalCount"] == 3
    # promotion: feeds of the approved campaigns
    assert body["data"]["productFeeds"]["totalCount"] == 2
    assert body["data"]["transactionQueries"]["totalCount"] == 1
