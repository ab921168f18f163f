"""Names and free text refuse C0 control characters (BAD_USER_INPUT naming the field) and
nothing is stored; multi-line free text keeps tab and line breaks.

Every storing input goes through `gateway.core.validation.check_printable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from gateway.storage.mongo import Database
from tests.conftest import GraphQL, World, only_error
from tests.crm_fixtures import given_fan, ticket_input
from tests.portal_fixtures import given_voucher

CREATE_FAN = "mutation C($input: CreateFanInput!) { createFan(input: $input) { id } }"
UPDATE_FAN = """
mutation U($id: ID!, $input: UpdateFanInput!) { updateFan(id: $id, input: $input) { id } }"""
CREATE_TICKET = "mutation T($input: CreateTicketInput!) { createTicket(input: $input) { status } }"
CREATE_ACTIVITY = (
    "mutation A($input: CreateFanActivityInput!) { createFanActivity(input: $input) { id } }"
)
UPSERT_TICKET_EVENT = (
    "mutation E($input: UpsertTicketEventInput!) { upsertTicketEvent(input: $input) { id } }"
)
REGISTER = (
    "mutation R($input: RegisterMemberInput!) { registerMember(input: $input) { member { id } } }"
)
CREATE_PRODUCT = "mutation P($input: CreateProductInput!) { createProduct(input: $input) { id } }"
CONTENT = """
mutation S($strings: [ContentStringInput!]!) { updateContentStrings(strings: $strings) { key } }
"""
CREATE_PARTNER = "mutation N($name: String!) { createPartner(input: {name: $name}) { id } }"
CREATE_ACTIVATION = """
mutation V($input: CreateActivationInput!) { createActivation(input: $input) { token } }"""
PROFILE = """
mutation F($input: UpdatePartnerProfileInput!) {
  updatePartnerProfile(input: $input) { companyName }
}"""
CREATE_APP = (
    "mutation K($input: CreateAppClientInput!) { createAppClient(input: $input) { apiKey } }"
)

NUL = "\x00"


@dataclass
class Case:
    """One storing mutation with a control character in one field."""

    name: str
    query: str
    persona: str
    collection: str
    field: str
    variables: Any  # (world, fan id, voucher code) -> variables


def fan(first: str = "Ann", **extra: Any) -> dict[str, Any]:
    return {"input": {"firstName": first, "email": "ann@example.com", **extra}}


def event(**extra: Any) -> dict[str, Any]:
    return {"input": {"action": "CREATE", "eventName": "Show", "eventKey": "k1",
                      "eventDate": "2026-06-01", "network": "tm", **extra}}  # fmt: skip


def activation(name: str) -> dict[str, Any]:
    return {"input": {"eventKey": "k1", "eventName": name, "tier": "gold",
                      "startAt": "2026-06-01T00:00:00Z", "endAt": "2026-06-02T00:00:00Z",
                      "status": "LIVE"}}  # fmt: skip


CASES = [
    Case("createFan NUL in firstName", CREATE_FAN, "a_owner", "fans", "firstName",
         lambda w, f, c: fan(f"Ann{NUL}")),
    Case("createFan ESC in lastName", CREATE_FAN, "a_owner", "fans", "lastName",
         lambda w, f, c: fan(lastName="Lee\x1b[2J")),
    Case("createFan NUL in a custom field", CREATE_FAN, "a_owner", "fans", "fields",
         lambda w, f, c: fan(fields=[{"key": "club", "value": f"a{NUL}b"}])),
    Case("createFan tab in a tag", CREATE_FAN, "a_owner", "fans", "tags",
         lambda w, f, c: fan(tags=["vip\tgold"])),
    Case("createTicket BEL in eventName", CREATE_TICKET, "a_owner", "tickets", "eventName",
         lambda w, f, c: {"input": ticket_input(eventName="Show\x07")}),
    Case("createTicket NUL in firstName", CREATE_TICKET, "a_owner", "fans", "firstName",
         lambda w, f, c: {"input": ticket_input(firstName=f"Ada{NUL}")}),
    Case("createFanActivity NUL in campaignTitle", CREATE_ACTIVITY, "a_owner", "fan_activities",
         "campaignTitle", lambda w, f, c: {"input": {"fanId": f, "campaignTitle": NUL}}),
    Case("upsertTicketEvent NUL in notes", UPSERT_TICKET_EVENT, "a_owner", "ticket_events",
         "notes", lambda w, f, c: event(notes=f"x{NUL}")),
    Case("registerMember NUL in name", REGISTER, "a_app", "members", "name",
         lambda w, f, c: {"input": {"voucherCode": c, "name": f"Mo{NUL}", "email": "mo@example.com",
                                    "password": "long-enough-pw"}}),
    Case("createProduct DEL in name", CREATE_PRODUCT, "a_owner", "products", "name",
         lambda w, f, c: {"input": {"name": "Mat\x7f"}}),
    Case("createProduct NUL in description", CREATE_PRODUCT, "a_owner", "products",
         "description", lambda w, f, c: {"input": {"name": "Mat", "description": f"a{NUL}"}}),
    Case("updateContentStrings NUL in a value", CONTENT, "a_owner", "content_strings", "strings",
         lambda w, f, c: {"strings": [{"key": "st_title", "value": f"Hi{NUL}"}]}),
    Case("createPartner NUL in name", CREATE_PARTNER, "operator", "partners", "name",
         lambda w, f, c: {"name": f"Gym{NUL}Co"}),
    Case("createActivation NUL in eventName", CREATE_ACTIVATION, "a_owner", "activations",
         "eventName", lambda w, f, c: activation(f"Expo{NUL}")),
    Case("updatePartnerProfile NUL in companyName", PROFILE, "a_owner", "partner_profiles",
         "companyName", lambda w, f, c: {"input": {"companyName": f"Acme{NUL}"}}),
    Case("createAppClient NUL in name", CREATE_APP, "operator", "app_clients", "name",
         lambda w, f, c: {"input": {"partnerId": w.partner_a, "name": f"App{NUL}"}}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_a_control_character_is_refused_and_nothing_is_stored(
    gql: GraphQL, db: Database, world: World, case: Case
) -> None:
    # given a fan and a voucher to refer to, and what the collection holds
    existing = await given_fan(db, world.partner_a, email="given@example.com")
    voucher = await given_voucher(db, world.partner_a)
    before = await db[case.collection].count_documents({})
    # when the mutation carries a control character
    variables = case.variables(world, existing["_id"], voucher["code"])
    body = await gql(case.query, variables, as_=getattr(world, case.persona))
    # then it is BAD_USER_INPUT on that field and nothing was stored
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert error["extensions"].get("field") == case.field, body
    assert "control character" in error["message"]
    assert await db[case.collection].count_documents({}) == before


async def test_update_fan_with_a_control_character_changes_nothing(
    gql: GraphQL, db: Database, world: World
) -> None:
    existing = await given_fan(db, world.partner_a, first_name="Ann", email="ann@example.com")
    body = await gql(UPDATE_FAN, {"id": existing["_id"], "input": {"lastName": f"X{NUL}"}},
                     as_=world.a_owner)  # fmt: skip
    error = only_error(body)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT",
        "lastName",
    )
    stored = await db.fans.find_one({"_id": existing["_id"]})
    assert stored is not None
    assert {k: v for k, v in stored.items() if k != "created_at"} == {
        k: v for k, v in existing.items() if k != "created_at"
    }


async def test_multi_line_free_text_keeps_tabs_and_line_breaks(
    gql: GraphQL, db: Database, world: World
) -> None:
    text = "Line one\n\tLine two\r\n"
    body = await gql(CREATE_PRODUCT, {"input": {"name": "Mat", "description": text}},
                     as_=world.a_owner)  # fmt: skip
    assert "errors" not in body, body
    stored = await db.products.find_one({"_id": body["data"]["createProduct"]["id"]})
    assert stored is not None and stored["description"] == text.strip()
    body = await gql(CREATE_FAN, fan(fields=[{"key": "note", "value": "a\nb"}]), as_=world.a_owner)
    assert "errors" not in body, body
