"""Joining campaigns: versioned terms (locale fallback, acknowledgements per partner),
asking to join several campaigns with the terms accepted, invitations accepted or
declined; rejections first, two tenants, N+1 guards."""

from __future__ import annotations

from typing import Any

from gateway.storage.mongo import Database
from loaders.affiliate import joining
from tests.affiliate_fixtures import catalogue
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

CREATE_TERMS = """
mutation T($cid: ID!, $title: String!, $content: String!, $locale: String! = "en") {
  createCampaignTerms(campaignId: $cid, title: $title, content: $content, locale: $locale) {
    id version locale title
  }
}"""
CURRENT = """
query C($locale: String, $pid: ID, $first: Int = 10) {
  campaigns(partnerId: $pid, first: $first) {
    edges { node { id title currentTerms(locale: $locale) { id version locale acknowledgedAt } } }
  }
}"""
TERMS = """
query L($cid: ID) { campaignTerms(campaignId: $cid) { totalCount edges { node { id version } } } }
"""
ACK = """
mutation A($tid: ID!, $pid: ID) {
  acknowledgeCampaignTerms(termsId: $tid, partnerId: $pid) { id partnerId termsId createdBy
                                                              terms { version } }
}"""
ACKS = "query { termsAcknowledgements { totalCount edges { node { termsId } } } }"
REQUEST_MANY = """
mutation R($requests: [CampaignRequestInput!]!, $pid: ID) {
  requestCampaignParticipations(requests: $requests, partnerId: $pid) {
    successCount failureCount
    participations { status termsAccepted campaign { id } }
    failures { campaignId code field message }
  }
}"""
INVITE = """
mutation I($cid: ID!, $pid: ID!) {
  inviteToCampaign(campaignId: $cid, partnerId: $pid) { id status partnerId campaign { id } }
}"""
INVITATIONS = """
query V($first: Int, $statuses: [InvitationStatus!]) {
  campaignInvitations(first: $first, statuses: $statuses) {
    totalCount
    edges { node { id status decidedAt brand { name }
                   campaign { id title participationStatus currentTerms { id acknowledgedAt } } } }
  }
}"""
ACCEPT = """
mutation A($ids: [ID!]!) {
  acceptCampaignInvitations(campaignIds: $ids) {
    successCount failureCount invitations { status campaign { id participationStatus } }
    failures { campaignId code }
  }
}"""
DECLINE = """
mutation D($ids: [ID!]!) {
  declineCampaignInvitations(campaignIds: $ids) {
    successCount failureCount invitations { status decidedAt } failures { campaignId code }
  }
}"""


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


def current(body: dict[str, Any], cid: str) -> dict[str, Any] | None:
    assert "errors" not in body, body
    node = next(e["node"] for e in body["data"]["campaigns"]["edges"] if e["node"]["id"] == cid)
    return node["currentTerms"]  # type: ignore[no-any-return]


async def test_terms_versions_locales_and_acknowledgements(
    gql: GraphQL, world: World, db: Database
) -> None:
    cat = await catalogue(db)
    cid = cat.terms["_id"]
    ok = {"cid": cid, "title": "Terms", "content": "<p>No brand bidding.</p>"}
    # rejections first
    for extra, field in (({"locale": "klingon"}, "locale"), ({"title": " "}, "title"),
                         ({"content": "  "}, "content")):  # fmt: skip
        body = await gql(CREATE_TERMS, {**ok, **extra}, as_=world.operator)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, extra
    assert error_codes(await gql(CREATE_TERMS, ok, as_=world.a_owner)) == ["FORBIDDEN"]
    body = await gql(CREATE_TERMS, {**ok, "cid": "cmp_doesnotexist00"}, as_=world.operator)
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.affiliate_terms.count_documents({}) == 0
    # given two English versions and a German one
    v1 = (await gql(CREATE_TERMS, ok, as_=world.operator))["data"]["createCampaignTerms"]
    v2 = (await gql(CREATE_TERMS, {**ok, "title": "Terms v2"}, as_=world.operator))["data"][
        "createCampaignTerms"]  # fmt: skip
    de = (await gql(CREATE_TERMS, {**ok, "locale": "de"}, as_=world.operator))["data"][
        "createCampaignTerms"]  # fmt: skip
    assert (v1["version"], v2["version"], de["version"]) == (1, 2, 1)
    # then partners read the newest in their locale, with fallback to en
    assert current(await gql(CURRENT, {}, as_=world.a_owner), cid)["id"] == v2["id"]  # type: ignore[index]
    assert current(await gql(CURRENT, {"locale": "de"}, as_=world.a_owner), cid)["id"] == de["id"]  # type: ignore[index]
    assert current(await gql(CURRENT, {"locale": "fr"}, as_=world.a_owner), cid)["id"] == v2["id"]  # type: ignore[index]
    assert current(await gql(CURRENT, {}, as_=world.a_owner), cat.open["_id"]) is None
    body = await gql(TERMS, {"cid": cid}, as_=world.a_analyst)
    assert [e["node"]["version"] for e in body["data"]["campaignTerms"]["edges"]] == [1, 2, 1]
    # acknowledging: rejections, then success, then CONFLICT
    body = await gql(ACK, {"tid": "nope"}, as_=world.a_owner)
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "termsId"
    assert error_codes(await gql(ACK, {"tid": "trm_doesnotexist00"}, as_=world.a_owner)) == [
        "NOT_FOUND"
    ]
    assert error_codes(await gql(ACK, {"tid": v2["id"]}, as_=world.a_analyst)) == ["FORBIDDEN"]
    body = await gql(ACK, {"tid": v2["id"], "pid": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.affiliate_terms_acks.count_documents({}) == 0
    ack = (await gql(ACK, {"tid": v2["id"]}, as_=world.a_manager))["data"][
        "acknowledgeCampaignTerms"]  # fmt: skip
    assert ack["termsId"] == v2["id"] and ack["terms"] == {"version": 2}
    assert ack["createdBy"] == world.a_manager.subject_id
    assert error_codes(await gql(ACK, {"tid": v2["id"]}, as_=world.a_owner)) == ["CONFLICT"]
    # A's acknowledgement is A's only
    assert current(await gql(CURRENT, {}, as_=world.a_owner), cid)["acknowledgedAt"]  # type: ignore[index]
    assert current(await gql(CURRENT, {}, as_=world.b_owner), cid)["acknowledgedAt"] is None  # type: ignore[index]
    assert (await gql(ACKS, as_=world.a_analyst))["data"]["termsAcknowledgements"][
        "totalCount"] == 1  # fmt: skip
    assert (await gql(ACKS, as_=world.b_owner))["data"]["termsAcknowledgements"][
        "totalCount"] == 0  # fmt: skip


async def test_request_several_campaigns_with_their_terms(
    gql: GraphQL, world: World, db: Database
) -> None:
    cat = await catalogue(db)
    versioned = await catalogue(db, "Versioned")
    cid = versioned.terms["_id"]
    old = await joining.insert_terms(db, cid, "en", "v1", "<p>one</p>")
    new = await joining.insert_terms(db, cid, "en", "v2", "<p>two</p>")
    # malformed batches are rejected whole, and nothing is written
    for requests, field in (
        ([], "requests"),
        ([{"campaignId": cat.open["_id"]}] * 2, "requests"),
        ([{"campaignId": "nope"}], "requests"),
        ([{"campaignId": cat.open["_id"], "termsId": "nope"}], "termsId"),
        ([{"campaignId": f"cmp_x{i:015d}"} for i in range(51)], "requests"),
    ):
        body = await gql(REQUEST_MANY, {"requests": requests}, as_=world.a_owner)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, requests
    one = [{"campaignId": cat.open["_id"]}]
    assert error_codes(await gql(REQUEST_MANY, {"requests": one}, as_=world.a_analyst)) == [
        "FORBIDDEN"
    ]
    body = await gql(REQUEST_MANY, {"requests": one, "pid": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.affiliate_participations.count_documents({}) == 0
    # when A asks for six campaigns at once
    body = await gql(REQUEST_MANY, {"requests": [
        {"campaignId": cat.open["_id"]},
        {"campaignId": cid, "termsId": new["_id"]},
        {"campaignId": versioned.open["_id"], "termsId": new["_id"]},
        {"campaignId": cat.terms["_id"]},
        {"campaignId": cat.paused["_id"]},
        {"campaignId": "cmp_doesnotexist00"},
    ]}, as_=world.a_owner)  # fmt: skip
    result = body["data"]["requestCampaignParticipations"]
    # then two joined, and each failure says why
    assert (result["successCount"], result["failureCount"]) == (2, 4)
    assert [(p["campaign"]["id"], p["termsAccepted"]) for p in result["participations"]] == [
        (cat.open["_id"], False), (cid, True),
    ]  # fmt: skip
    assert [(f["campaignId"], f["code"], f["field"]) for f in result["failures"]] == [
        (versioned.open["_id"], "BAD_USER_INPUT", "termsId"),
        (cat.terms["_id"], "BAD_USER_INPUT", "termsId"),
        (cat.paused["_id"], "CONFLICT", "campaignId"),
        ("cmp_doesnotexist00", "NOT_FOUND", "campaignId"),
    ]  # fmt: skip
    # accepting terms recorded the acknowledgement of that version
    ack = await db.affiliate_terms_acks.find_one({"partner_id": world.partner_a})
    assert ack is not None and ack["terms_id"] == new["_id"]
    # an outdated version is refused, a repeat is CONFLICT
    body = await gql(REQUEST_MANY, {"requests": [{"campaignId": cid, "termsId": old["_id"]},
                                                 {"campaignId": cat.open["_id"]}]},
                     as_=world.b_owner)  # fmt: skip
    result = body["data"]["requestCampaignParticipations"]
    assert [f["field"] for f in result["failures"]] == ["termsId"]
    body = await gql(REQUEST_MANY, {"requests": one}, as_=world.a_owner)
    assert body["data"]["requestCampaignParticipations"]["failures"][0]["code"] == "CONFLICT"
    assert await db.affiliate_participations.count_documents({"partner_id": world.partner_a}) == 2


async def test_invitations_accept_and_decline(gql: GraphQL, world: World, db: Database) -> None:
    cat = await catalogue(db)
    other = await catalogue(db, "Other")
    invite = {"cid": cat.open["_id"], "pid": world.partner_a}
    # rejections of the invite
    assert error_codes(await gql(INVITE, invite, as_=world.a_owner)) == ["FORBIDDEN"]
    body = await gql(INVITE, {**invite, "pid": "par_doesnotexist00"}, as_=world.operator)
    assert error_codes(body) == ["NOT_FOUND"]
    body = await gql(INVITE, {**invite, "pid": "bad"}, as_=world.operator)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    # invitations to A on two campaigns, to B on one
    for c in (cat.open, other.open):
        body = await gql(INVITE, {"cid": c["_id"], "pid": world.partner_a}, as_=world.operator)
        assert body["data"]["inviteToCampaign"]["status"] == "OPEN"
    await gql(INVITE, {"cid": cat.auto["_id"], "pid": world.partner_b}, as_=world.operator)
    assert error_codes(await gql(INVITE, invite, as_=world.operator)) == ["CONFLICT"]
    body = await gql(INVITATIONS, {}, as_=world.a_analyst)
    assert body["data"]["campaignInvitations"]["totalCount"] == 2
    assert {e["node"]["brand"]["name"] for e in body["data"]["campaignInvitations"]["edges"]} == {
        "Acme", "Other"}  # fmt: skip
    assert (await gql(INVITATIONS, {}, as_=world.b_owner))["data"]["campaignInvitations"][
        "totalCount"] == 1  # fmt: skip
    # batch rejections: malformed is whole, wrong principal
    assert error_codes(await gql(ACCEPT, {"ids": []}, as_=world.a_owner)) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(ACCEPT, {"ids": [cat.open["_id"]]}, as_=world.a_analyst)) == [
        "FORBIDDEN"
    ]
    # when A accepts one invitation plus B's campaign (not A's invitation)
    body = await gql(ACCEPT, {"ids": [cat.open["_id"], cat.auto["_id"]]}, as_=world.a_owner)
    result = body["data"]["acceptCampaignInvitations"]
    assert (result["successCount"], result["failureCount"]) == (1, 1)
    assert result["invitations"][0]["campaign"]["participationStatus"] == "APPROVED"
    assert result["failures"] == [{"campaignId": cat.auto["_id"], "code": "NOT_FOUND"}]
    # B's invitation is untouched; A declines its other one, then cannot accept it
    b_inv = await db.affiliate_invitations.find_one({"partner_id": world.partner_b})
    assert b_inv is not None and b_inv["status"] == "open"
    body = await gql(DECLINE, {"ids": [other.open["_id"]]}, as_=world.a_owner)
    declined = body["data"]["declineCampaignInvitations"]
    assert declined["successCount"] == 1 and declined["invitations"][0]["decidedAt"]
    body = await gql(ACCEPT, {"ids": [other.open["_id"]]}, as_=world.a_owner)
    assert body["data"]["acceptCampaignInvitations"]["failures"][0]["code"] == "NOT_FOUND"
    body = await gql(INVITATIONS, {"statuses": ["OPEN"]}, as_=world.a_owner)
    assert body["data"]["campaignInvitations"]["totalCount"] == 0
    # inviting a partner that already takes part is CONFLICT
    body = await gql(INVITE, invite, as_=world.operator)
    assert error_codes(body) == ["CONFLICT"]


async def test_joining_lists_have_no_n_plus_one(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    cats = [await catalogue(db, f"Brand{i}") for i in range(5)]
    for cat in cats:
        for c in (cat.open, cat.terms, cat.auto, cat.paused):
            terms = await joining.insert_terms(db, c["_id"], "en", "T", "<p>t</p>")
            await joining.insert_ack(db, world.partner_a, terms, "test")
            await joining.insert_invitation(db, world.partner_a, c)

    async def run(query: str, key: str, first: int) -> int:
        commands.start()
        body = await gql(query, {"first": first}, as_=world.a_owner)
        assert "errors" not in body, body
        assert len(body["data"][key]["edges"]) == first
        return commands.total

    assert await run(INVITATIONS, "campaignInvitations", 2) == await run(
        INVITATIONS, "campaignInvitations", 20
    )
    assert await run(CURRENT, "campaigns", 2) == await run(CURRENT, "campaigns", 20)
    acks = """query A($first: Int) { termsAcknowledgements(first: $first) {
      edges { node { id terms { version campaign { title } } } } } }"""
    assert await run(acks, "termsAcknowledgements", 2) == await run(
        acks, "termsAcknowledgements", 20
    )
