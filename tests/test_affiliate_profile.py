"""The publisher profile's contact and tax identifiers (phone, messaging handle, legal
entity, VAT number, ABN, GST / UK VAT registration, US tax state, logo, HTML description)
and websites read by id: rejections first, guards on contact details, two tenants."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.storage.mongo import Database
from loaders.affiliate import identifiers as ids
from tests.conftest import GraphQL, World, error_codes, only_error

UPDATE = """
mutation U($input: UpdatePartnerProfileInput!, $pid: ID) {
  updatePartnerProfile(input: $input, partnerId: $pid) {
    phone phoneArea imProvider imUsername legalEntity companyDivision description logoUrl
    vatNumber ukVatRegistered gstRegistered abn usTaxState
  }
}"""
READ_IDS = "{ partner { name phone vatNumber abn imUsername } }"
CREATE_WEBSITE = """
mutation C($input: CreateWebsiteInput!) { createPartnerWebsite(input: $input) { id } }"""
WEBSITE = "query W($id: ID!) { partnerWebsite(id: $id) { id url } }"
VALID_ABN = "51 824 753 556"


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "call me"}, "phone"),
        ({"phone": "123"}, "phone"),
        ({"phoneArea": "44a"}, "phoneArea"),
        ({"phoneArea": "+0"}, "phoneArea"),
        ({"abn": "51 824 753 557"}, "abn"),
        ({"abn": "1234"}, "abn"),
        ({"vatNumber": "123456789"}, "vatNumber"),
        ({"vatNumber": "ZZ123456789"}, "vatNumber"),
        ({"usTaxState": "XX"}, "usTaxState"),
        ({"logoUrl": "https://cdn.example/logo.gif"}, "logoUrl"),
        ({"logoUrl": "javascript:alert(1)//.png"}, "logoUrl"),
        ({"imUsername": "acme.pub"}, "imProvider"),
        ({"imProvider": "SKYPE", "imUsername": ""}, "imUsername"),
        ({"description": "x" * 5001}, "description"),
        ({"companyDivision": "d" * 121}, "companyDivision"),
    ],
)
async def test_identifier_rejections_change_nothing(
    gql: GraphQL, world: World, db: Database, change: dict[str, Any], field: str
) -> None:
    before = await db.partners.find_one({"_id": world.partner_a})
    body = await gql(UPDATE, {"input": {**change, "companyDivision": "ok"} if field !=
                              "companyDivision" else change}, as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field
    assert await db.partners.find_one({"_id": world.partner_a}) == before


async def test_identifiers_are_stored_normalised_and_guarded(
    gql: GraphQL, world: World, db: Database
) -> None:
    change = {
        "phone": "(020) 7946-0958", "phoneArea": "44", "imProvider": "TELEGRAM",
        "imUsername": "acme_pub", "legalEntity": "COMPANY", "companyDivision": "Deals",
        "description": "<p>Deals <b>daily</b></p><script>alert(1)</script>"
        '<a href="javascript:x">x</a>',
        "logoUrl": "https://cdn.example/acme/logo.PNG", "vatNumber": "gb 123 4567 89",
        "ukVatRegistered": True, "gstRegistered": False, "abn": VALID_ABN, "usTaxState": "ca",
    }  # fmt: skip
    # wrong principals first
    for persona in (world.a_analyst, world.a_manager, world.a_app):
        assert error_codes(await gql(UPDATE, {"input": change}, as_=persona)) == ["FORBIDDEN"]
    body = await gql(UPDATE, {"input": change, "pid": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    # success
    body = await gql(UPDATE, {"input": change}, as_=world.a_owner)
    profile = body["data"]["updatePartnerProfile"]
    assert profile == {
        "phone": "02079460958", "phoneArea": "+44", "imProvider": "TELEGRAM",
        "imUsername": "acme_pub", "legalEntity": "COMPANY", "companyDivision": "Deals",
        "description": profile["description"], "logoUrl": "https://cdn.example/acme/logo.PNG",
        "vatNumber": "GB123456789", "ukVatRegistered": True, "gstRegistered": False,
        "abn": "51824753556", "usTaxState": "CA",
    }  # fmt: skip
    assert "<script" not in profile["description"] and "javascript:" not in profile["description"]
    assert "<b>daily</b>" in profile["description"]
    # contact and tax identifiers are for the partner's staff and operators only
    for persona in (world.a_app, world.a_member):
        body = await gql(READ_IDS, as_=persona)
        assert "FORBIDDEN" in error_codes(body)
        assert "GB123456789" not in json.dumps(body) and "02079460958" not in json.dumps(body)
    body = await gql(READ_IDS, as_=world.a_analyst)
    assert body["data"]["partner"]["abn"] == "51824753556"
    # null clears an optional identifier; B's profile never changed
    body = await gql(UPDATE, {"input": {"vatNumber": None}}, as_=world.a_owner)
    assert body["data"]["updatePartnerProfile"]["vatNumber"] is None
    b = await db.partners.find_one({"_id": world.partner_b})
    assert b is not None and "abn" not in b


def test_abn_checksum_oracle() -> None:
    # known valid ABNs (ATO examples) and one-digit corruptions of them
    for good in ("51824753556", "53004085616", "33102417032"):
        assert ids.validate_abn(good) == good
        for i in range(11):
            bad = good[:i] + str((int(good[i]) + 1) % 10) + good[i + 1 :]
            with pytest.raises(Exception, match="ABN"):
                ids.validate_abn(bad)


async def test_website_by_id_is_tenant_scoped(gql: GraphQL, world: World) -> None:
    body = await gql(CREATE_WEBSITE, {"input": {"url": "https://a.example"}}, as_=world.a_owner)
    wid = body["data"]["createPartnerWebsite"]["id"]
    body = await gql(WEBSITE, {"id": wid}, as_=world.a_analyst)
    assert body["data"]["partnerWebsite"] == {"id": wid, "url": "https://a.example"}
    assert error_codes(await gql(WEBSITE, {"id": wid}, as_=world.b_owner)) == ["NOT_FOUND"]
    assert error_codes(await gql(WEBSITE, {"id": "nope"}, as_=world.a_owner)) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(WEBSITE, {"id": wid}, as_=world.a_app)) == ["FORBIDDEN"]
