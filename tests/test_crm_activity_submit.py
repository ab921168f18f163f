"""createFanActivity with fan details (seed 002 activity submit): the fan is created or updated
with every detail sent, after every check, before the activity."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.storage.mongo import Database
from tests.conftest import GraphQL, World, error_codes, only_error
from tests.crm_fixtures import given_fan

SUBMIT = """
mutation($input: CreateFanActivityInput!) {
  createFanActivity(input: $input) {
    id campaignTitle
    fan { id email firstName lastName phone countryCode province postalCode isSubscribed
          isPhoneSubscribed lastCampaignTitle }
  }
}"""


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"phone": "12"}, "phone"), ({"province": "ON"}, "province"),
     ({"countryCode": "CAN", "province": "ON"}, "countryCode"),
     ({"postalCode": "V5K"}, "postalCode"), ({"firstName": "x" * 121}, "firstName")],
)  # fmt: skip
async def test_submit_rejects_bad_fan_details_and_writes_nothing(
    gql: GraphQL, world: World, db: Database, extra: dict[str, Any], field: str
) -> None:
    known = await given_fan(db, world.partner_a, email="known@example.com")
    for who in ({"email": "new@example.com"}, {"fanId": known["_id"]}):
        body = await gql(SUBMIT, {"input": {"campaignTitle": "Quiz", **who, **extra}},
                         as_=world.a_owner)  # fmt: skip
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await db.fans.count_documents({}) == 1
    assert await db.fan_activities.count_documents({}) == 0
    stored = await db.fans.find_one({"_id": known["_id"]})
    assert stored is not None
    assert stored["updated_ms"] == known["updated_ms"]
    assert "phone" not in stored


async def test_submit_refuses_a_phone_of_another_fan_and_other_callers(
    gql: GraphQL, world: World, db: Database
) -> None:
    await given_fan(db, world.partner_a, phone="+15550001111")
    known = await given_fan(db, world.partner_a)
    for who in ({"email": "new@example.com"}, {"fanId": known["_id"]}):
        body = await gql(SUBMIT, {"input": {"campaignTitle": "Quiz", "phone": "+15550001111",
                                            **who}}, as_=world.a_owner)  # fmt: skip
        assert only_error(body)["extensions"] == {"code": "CONFLICT", "field": "phone"}
    ok = {"campaignTitle": "Quiz", "email": "new@example.com", "firstName": "Ann"}
    for persona, code in ((world.a_analyst, "FORBIDDEN"), (world.a_app, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(SUBMIT, {"input": ok}, as_=persona)) == [code]
    body = await gql(SUBMIT, {"input": {**ok, "email": None, "fanId": known["_id"]}},
                     as_=world.b_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.fan_activities.count_documents({}) == 0
    assert await db.fans.count_documents({"email": "new@example.com"}) == 0


async def test_submit_creates_or_updates_the_fan_with_every_detail(
    gql: GraphQL, world: World, db: Database
) -> None:
    details = {"firstName": "Ann", "lastName": "Lee", "phone": "+1 555 000 2222",
               "countryCode": "ca", "province": "BC", "postalCode": "V5K 0A1",
               "isSubscribed": True, "isPhoneSubscribed": True}  # fmt: skip
    # a new email: the fan is created with the details
    body = await gql(SUBMIT, {"input": {"campaignTitle": "Quiz", "email": "Ann@Example.com",
                                        **details}}, as_=world.a_owner)  # fmt: skip
    fan = body["data"]["createFanActivity"]["fan"]
    assert fan == {"id": fan["id"], "email": "ann@example.com", "firstName": "Ann",
                   "lastName": "Lee", "phone": "+15550002222", "countryCode": "CA",
                   "province": "BC", "postalCode": "V5K 0A1", "isSubscribed": True,
                   "isPhoneSubscribed": True, "lastCampaignTitle": "Quiz"}  # fmt: skip
    # a known fan: only the details sent change
    known = await given_fan(db, world.partner_a, first_name="Old", last_name="Name",
                            is_subscribed=True)  # fmt: skip
    body = await gql(SUBMIT, {"input": {"campaignTitle": "Poll", "fanId": known["_id"],
                                        "firstName": "New", "isSubscribed": False}},
                     as_=world.a_owner)  # fmt: skip
    fan = body["data"]["createFanActivity"]["fan"]
    assert (fan["firstName"], fan["lastName"], fan["isSubscribed"]) == ("New", "Name", False)
    stored = await db.fans.find_one({"_id": known["_id"]})
    assert stored is not None
    assert stored["name_lower"] == "new name"
    assert await db.fan_activities.count_documents({}) == 2
