"""Fans: create / update / delete / read / search, tenancy, uniqueness, nested loaders."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.storage.mongo import Database
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error
from tests.crm_fixtures import at, given_fan, given_tickets, ticket_draft

CREATE_FAN = """
mutation($input: CreateFanInput!) {
  createFan(input: $input) {
    id partnerId email phone firstName gender isSubscribed tags
    fields { key value } businessOptIns countryCode province createdAt
  }
}"""
UPDATE_FAN = """
mutation($id: ID!, $input: UpdateFanInput!) {
  updateFan(id: $id, input: $input) {
    id email phone firstName lastName isSubscribed tags countryCode province city
  }
}"""
DELETE_FAN = "mutation($id: ID!) { deleteFan(id: $id) }"
FAN = "query($id: ID!) { fan(id: $id) { id email firstName } }"
FANS = """
query($filter: FanFilter, $first: Int, $after: String) {
  fans(filter: $filter, first: $first, after: $after) {
    totalCount edges { node { email } } pageInfo { hasNextPage endCursor }
  }
}"""
FANS_NESTED = """
query($first: Int) {
  fans(first: $first) {
    edges { node {
      id
      tickets(first: 5) { totalCount edges { node { id eventName fan { id } } } }
      activities(first: 5) { totalCount edges { node { id campaignTitle } } }
      points { pointName total }
    } }
  }
}"""


def emails(body: dict[str, Any]) -> list[str]:
    return sorted(e["node"]["email"] for e in body["data"]["fans"]["edges"])


# --- createFan -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"firstName": "No Contact"}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"email": "a@example.com", "fields": [{"key": "$where", "value": "x"}]}, "fields"),
        ({"email": "a@example.com", "fields": [{"key": "a.b", "value": "x"}]}, "fields"),
        ({"email": "a@example.com", "province": "Bavaria"}, "province"),
        ({"email": "a@example.com", "postalCode": "80331"}, "postalCode"),
        ({"email": "a@example.com", "countryCode": "Germany"}, "countryCode"),
        ({"email": "a@example.com", "tags": [""]}, "tags"),
    ],
)
async def test_create_fan_rejects_bad_input_with_field(
    gql: GraphQL, world: World, db: Database, fields: dict[str, Any], field: str
) -> None:
    # when an owner sends invalid fan data
    body = await gql(CREATE_FAN, {"input": fields}, as_=world.a_owner)
    # then BAD_USER_INPUT names the field and nothing is stored
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await db.fans.count_documents({}) == 0


async def test_create_fan_rejects_unknown_gender(gql: GraphQL, world: World) -> None:
    # (an inline literal: a bad enum in *variables* is currently reported as an internal
    # error by the shared error extension, reported to the lead)
    query = 'mutation { createFan(input: {email: "a@x.io", gender: ROBOT}) { id } }'
    assert error_codes(await gql(query, as_=world.a_owner)) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("persona", "code"),
    [("a_analyst", "FORBIDDEN"), ("a_app", "FORBIDDEN"), ("a_member", "FORBIDDEN"),
     ("anonymous", "UNAUTHENTICATED")],
)  # fmt: skip
async def test_create_fan_refuses_callers_without_crm_write(
    gql: GraphQL, world: World, db: Database, persona: str, code: str
) -> None:
    body = await gql(CREATE_FAN, {"input": {"email": "a@example.com"}}, as_=getattr(world, persona))
    assert error_codes(body) == [code]
    assert await db.fans.count_documents({}) == 0


async def test_create_fan_in_another_partner_is_not_found(
    gql: GraphQL, world: World, db: Database
) -> None:
    body = await gql(
        CREATE_FAN, {"input": {"email": "a@example.com", "partnerId": world.partner_b}},
        as_=world.a_owner,
    )  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.fans.count_documents({}) == 0


async def test_operator_must_name_an_existing_partner(
    gql: GraphQL, world: World, db: Database
) -> None:
    body = await gql(CREATE_FAN, {"input": {"email": "a@example.com"}}, as_=world.operator)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "partnerId"}
    body = await gql(
        CREATE_FAN, {"input": {"email": "a@example.com", "partnerId": "par_doesnotexist"}},
        as_=world.operator,
    )  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    body = await gql(
        CREATE_FAN, {"input": {"email": "a@example.com", "partnerId": world.partner_b}},
        as_=world.operator,
    )  # fmt: skip
    assert body["data"]["createFan"]["partnerId"] == world.partner_b


async def test_create_fan_stores_the_fan(gql: GraphQL, world: World, db: Database) -> None:
    # given a full fan input
    fan = {
        "email": " Ada@Example.COM ", "phone": "+49 170 1234567", "firstName": "Ada",
        "gender": "FEMALE", "isSubscribed": True, "tags": ["vip", "vip", "press"],
        "fields": [{"key": "shirt", "value": "M"}], "countryCode": "de", "province": "Bavaria",
        "businessOptIns": [{"businessId": "b1", "optedIn": True}],
    }  # fmt: skip
    # when the manager creates it
    body = await gql(CREATE_FAN, {"input": fan}, as_=world.a_manager)
    created = body["data"]["createFan"]
    # then it is normalised and stored in partner A
    assert created["email"] == "ada@example.com"
    assert created["phone"] == "+491701234567"
    assert created["tags"] == ["vip", "press"]
    assert created["fields"] == [{"key": "shirt", "value": "M"}]
    assert created["countryCode"] == "DE"
    assert created["gender"] == "FEMALE"
    assert created["businessOptIns"] == ["b1"]
    stored = await db.fans.find_one({"_id": created["id"]})
    assert stored is not None
    assert stored["partner_id"] == world.partner_a
    assert stored["fields"] == {"shirt": "M"}


async def test_fan_is_unique_per_partner_by_email_and_phone(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a fan with an email and a phone in partner A
    first = {"email": "dup@example.com", "phone": "+15550001"}
    assert "errors" not in await gql(CREATE_FAN, {"input": first}, as_=world.a_owner)
    # when another fan reuses the email, or the phone
    by_email = await gql(CREATE_FAN, {"input": {"email": "DUP@example.com"}}, as_=world.a_owner)
    by_phone = await gql(
        CREATE_FAN, {"input": {"email": "other@example.com", "phone": "+1 5550001"}},
        as_=world.a_owner,
    )  # fmt: skip
    # then each is a CONFLICT naming the field
    assert only_error(by_email)["extensions"] == {"code": "CONFLICT", "field": "email"}
    assert only_error(by_phone)["extensions"] == {"code": "CONFLICT", "field": "phone"}
    # and partner B may use the same email; fans without email do not collide
    assert "errors" not in await gql(CREATE_FAN, {"input": first}, as_=world.b_owner)
    for phone in ("+15550002", "+15550003"):
        assert "errors" not in await gql(CREATE_FAN, {"input": {"phone": phone}},
                                         as_=world.a_owner)  # fmt: skip
    assert await db.fans.count_documents({"partner_id": world.partner_a}) == 3


# --- updateFan -------------------------------------------------------------------------


async def test_update_fan_rejections(gql: GraphQL, world: World, db: Database) -> None:
    fan = await given_fan(db, world.partner_a, first_name="Old", email="old@example.com")
    other = await given_fan(db, world.partner_a, email="taken@example.com")
    b_fan = await given_fan(db, world.partner_b)
    before = await db.fans.find({}, sort=[("_id", 1)]).to_list(None)
    cases = [
        ({"province": "Ontario"}, "province"),
        ({"city": "Toronto", "countryCode": None}, "city"),
        ({"email": None}, "email"),
        ({"fields": [{"key": "a$b", "value": "1"}]}, "fields"),
        ({"isSubscribed": None}, "isSubscribed"),
    ]
    for changes, field in cases:
        body = await gql(UPDATE_FAN, {"id": fan["_id"], "input": changes}, as_=world.a_owner)
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    body = await gql(UPDATE_FAN, {"id": "nope", "input": {}}, as_=world.a_owner)
    assert only_error(body)["extensions"]["field"] == "id"
    body = await gql(UPDATE_FAN, {"id": fan["_id"], "input": {"email": "taken@example.com"}},
                     as_=world.a_owner)  # fmt: skip
    assert only_error(body)["extensions"] == {"code": "CONFLICT", "field": "email"}
    body = await gql(UPDATE_FAN, {"id": fan["_id"], "input": {"firstName": "X"}},
                     as_=world.a_analyst)  # fmt: skip
    assert error_codes(body) == ["FORBIDDEN"]
    body = await gql(UPDATE_FAN, {"id": fan["_id"], "input": {"firstName": "X"}}, as_=world.a_app)
    assert error_codes(body) == ["FORBIDDEN"]
    body = await gql(UPDATE_FAN, {"id": b_fan["_id"], "input": {"firstName": "X"}},
                     as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["data"] is None
    # nothing changed
    assert other["_id"] in {f["_id"] for f in before}
    assert await db.fans.find({}, sort=[("_id", 1)]).to_list(None) == before


async def test_update_fan_changes_only_fields_sent(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a fan with a name, tags and an email opt-in
    fan = await given_fan(db, world.partner_a, first_name="Ada", last_name="L",
                          tags=["vip"], is_subscribed=True, phone="+15551234")  # fmt: skip
    # when only the last name and a located address are sent, and the email is cleared
    changes = {"lastName": "Lovelace", "countryCode": "CA", "province": "ON", "city": "Toronto",
               "email": None}  # fmt: skip
    body = await gql(UPDATE_FAN, {"id": fan["_id"], "input": changes}, as_=world.a_owner)
    updated = body["data"]["updateFan"]
    # then those change and everything else stays
    assert updated == {
        "id": fan["_id"], "email": None, "phone": "+15551234", "firstName": "Ada",
        "lastName": "Lovelace", "isSubscribed": True, "tags": ["vip"], "countryCode": "CA",
        "province": "ON", "city": "Toronto",
    }  # fmt: skip
    stored = await db.fans.find_one({"_id": fan["_id"]})
    assert stored is not None
    assert "email" not in stored
    assert stored["name_lower"] == "ada lovelace"


# --- deleteFan / fan -------------------------------------------------------------------


async def test_delete_fan(gql: GraphQL, world: World, db: Database) -> None:
    fan = await given_fan(db, world.partner_a)
    b_fan = await given_fan(db, world.partner_b)
    assert error_codes(await gql(DELETE_FAN, {"id": fan["_id"]}, as_=world.a_analyst)) == [
        "FORBIDDEN"
    ]
    assert error_codes(await gql(DELETE_FAN, {"id": b_fan["_id"]}, as_=world.a_owner)) == [
        "NOT_FOUND"
    ]
    assert await db.fans.count_documents({}) == 2
    body = await gql(DELETE_FAN, {"id": fan["_id"]}, as_=world.a_owner)
    assert body["data"] == {"deleteFan": True}
    assert await db.fans.count_documents({"_id": fan["_id"]}) == 0
    assert error_codes(await gql(DELETE_FAN, {"id": fan["_id"]}, as_=world.a_owner)) == [
        "NOT_FOUND"
    ]


async def test_fan_by_id_is_tenant_scoped(gql: GraphQL, world: World, db: Database) -> None:
    fan = await given_fan(db, world.partner_a, first_name="Ada")
    body = await gql(FAN, {"id": fan["_id"]}, as_=world.a_analyst)
    assert body["data"]["fan"]["firstName"] == "Ada"
    body = await gql(FAN, {"id": fan["_id"]}, as_=world.b_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["data"] is None
    assert error_codes(await gql(FAN, {"id": fan["_id"]}, as_=world.a_app)) == ["FORBIDDEN"]
    body = await gql(FAN, {"id": fan["_id"]}, as_=world.operator)
    assert body["data"]["fan"]["id"] == fan["_id"]


# --- search ----------------------------------------------------------------------------


async def test_fan_search_filters(gql: GraphQL, world: World, db: Database) -> None:
    # given fans of partner A with different attributes, and one fan of partner B
    await given_fan(db, world.partner_a, email="ada@example.com", first_name="Ada",
                    last_name="Lovelace", is_subscribed=True, tags=["vip"], country_code="GB",
                    province="London", postal_code="N1", gender="female")  # fmt: skip
    await given_fan(db, world.partner_a, email="bob@example.com", first_name="Bob",
                    is_phone_subscribed=True, tags=["press"], country_code="CA",
                    province="ON", postal_code="M5V", gender="male")  # fmt: skip
    await given_fan(db, world.partner_a, email="cy@example.com", is_optout=True)
    await given_fan(db, world.partner_b, email="ada@elsewhere.com", first_name="Ada")
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, ["ada@example.com", "bob@example.com", "cy@example.com"]),
        ({"text": "ada love"}, ["ada@example.com"]),
        ({"text": "BOB@"}, ["bob@example.com"]),
        ({"text": "a.a"}, []),
        ({"isSubscribed": True}, ["ada@example.com"]),
        ({"isSubscribed": False}, ["bob@example.com", "cy@example.com"]),
        ({"isPhoneSubscribed": True}, ["bob@example.com"]),
        ({"isOptout": True}, ["cy@example.com"]),
        ({"tags": ["vip", "nobody"]}, ["ada@example.com"]),
        ({"countryCode": "ca"}, ["bob@example.com"]),
        ({"provinces": ["London", "ON"]}, ["ada@example.com", "bob@example.com"]),
        ({"postalCodes": ["M5V"]}, ["bob@example.com"]),
        ({"genders": ["FEMALE"]}, ["ada@example.com"]),
        ({"createdFrom": "2000-01-01", "createdTo": "2000-01-02"}, []),
    ]
    for filter, expected in cases:
        body = await gql(FANS, {"filter": filter}, as_=world.a_analyst)
        assert emails(body) == expected, filter
        assert body["data"]["fans"]["totalCount"] == len(expected)


async def test_fan_search_by_ticket_filters(gql: GraphQL, world: World, db: Database) -> None:
    # given buyers of two events on different days
    await given_tickets(db, world.partner_a, [
        ticket_draft("early@example.com", at("2026-01-10"), event_name="Winter", venue_name="Hall"),
        ticket_draft("late@example.com", at("2026-02-10"), event_name="Spring", venue_name="Park"),
    ])  # fmt: skip
    await given_fan(db, world.partner_a, email="nobuy@example.com")
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"ticketEventName": "Winter"}, ["early@example.com"]),
        ({"ticketVenueName": "Park"}, ["late@example.com"]),
        ({"ticketPurchasedFrom": "2026-02-01"}, ["late@example.com"]),
        ({"ticketPurchasedTo": "2026-01-10"}, ["early@example.com"]),
        ({"ticketEventName": "Winter", "ticketPurchasedFrom": "2026-02-01"}, []),
    ]
    for filter, expected in cases:
        assert emails(await gql(FANS, {"filter": filter}, as_=world.a_owner)) == expected, filter
    # another partner's tickets never match
    assert emails(await gql(FANS, {"filter": {"ticketEventName": "Winter"}},
                            as_=world.b_owner)) == []  # fmt: skip


async def test_fans_pages_with_cursor(gql: GraphQL, world: World, db: Database) -> None:
    for i in range(5):
        await given_fan(db, world.partner_a, email=f"p{i}@example.com")
    seen: list[str] = []
    after = None
    while True:
        body = await gql(FANS, {"first": 2, "after": after}, as_=world.a_owner)
        conn = body["data"]["fans"]
        seen += [e["node"]["email"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert sorted(seen) == [f"p{i}@example.com" for i in range(5)]
    body = await gql(FANS, {"first": 101}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}


# --- N+1 -------------------------------------------------------------------------------


async def _nested_page_commands(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter, n: int
) -> int:
    for name in ("fans", "tickets", "fan_activities", "fan_point_awards"):
        await db[name].delete_many({})
    for i in range(n):
        fan = await given_fan(db, world.partner_a, email=f"n{i}@example.com")
        await given_tickets(
            db,
            world.partner_a,
            [
                ticket_draft(fan["email"], at("2026-01-05")),
                ticket_draft(fan["email"], at("2026-01-06")),
            ],
        )
        await db.fan_activities.insert_one({
            "_id": f"fac_test{i:04d}xxxx", "partner_id": world.partner_a, "seq": i,
            "fan_id": fan["_id"], "campaign_title": "Quiz", "props": {}, "day": "2026-01-05",
            "created_at": at("2026-01-05"),
        })  # fmt: skip
        await db.fan_point_awards.insert_one({
            "_id": f"fpa_test{i:04d}xxxx", "partner_id": world.partner_a, "fan_id": fan["_id"],
            "point_name": "stars", "count": i + 1, "fan_point": f"{fan['_id']}|stars",
            "day": "2026-01-05", "created_at": at("2026-01-05"),
        })  # fmt: skip
    commands.start()
    body = await gql(FANS_NESTED, {"first": n}, as_=world.a_owner)
    total = commands.total
    edges = body["data"]["fans"]["edges"]
    assert len(edges) == n
    for edge in edges:
        node = edge["node"]
        assert node["tickets"]["totalCount"] == 2
        assert {t["node"]["fan"]["id"] for t in node["tickets"]["edges"]} == {node["id"]}
        assert node["activities"]["totalCount"] == 1
        assert node["points"][0]["pointName"] == "stars"
    return total


async def test_fans_page_with_tickets_activities_points_is_not_n_plus_1(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    two = await _nested_page_commands(gql, world, db, commands, 2)
    twenty = await _nested_page_commands(gql, world, db, commands, 20)
    assert two == twenty
