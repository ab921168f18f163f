"""CRM API keys (seed 002): created and revoked by partner owners, shown once, stored hashed;
a public key reads within its scopes, a secret key also writes; every guard is enforced."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.auth.principal import PrincipalKind
from gateway.auth.scopes import crm_key_scopes
from gateway.storage.mongo import Database
from loaders import identity
from schema import build_schema
from schema.permissions import Anyone, HasScope, IsAuthenticated, PrincipalKindIs
from tests.conftest import CommandCounter, GraphQL, Persona, World, error_codes, only_error
from tests.crm_fixtures import given_fan
from tests.test_access_matrix import GUARD_MESSAGES, operation, root_fields

CREATE_KEY = """
mutation($input: CreateCrmApiKeyInput!) {
  createCrmApiKey(input: $input) {
    key apiKey { id partnerId name kind scopes keyPrefix revoked createdAt lastUsedAt revokedAt }
  }
}"""
REVOKE_KEY = "mutation($id: ID!) { revokeCrmApiKey(id: $id) { id revoked revokedAt } }"
KEYS = """
query($partnerId: ID, $first: Int, $after: String) {
  crmApiKeys(partnerId: $partnerId, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id partnerId name kind scopes keyPrefix revoked lastUsedAt } }
  }
}"""
VIEWER = "{ viewer { kind subjectId partnerId scopes } }"
FANS = "{ fans { totalCount edges { node { id partnerId email } } } }"
CREATE_FAN = "mutation($input: CreateFanInput!) { createFan(input: $input) { id partnerId } }"


async def key_persona(
    db: Database, partner_id: str, kind: str, scopes: list[str], name: str = "server"
) -> Persona:
    doc, key = await identity.insert_crm_key(db, partner_id, name, kind, scopes, "stf_test")
    header = "Api-Secret" if kind == "secret" else "Api-Key"
    return Persona(
        name=f"{partner_id}:{kind}:{'+'.join(scopes)}", headers={header: key},
        partner_id=partner_id, subject_id=doc["_id"], extra={"key": key, "kind": kind},
    )  # fmt: skip


@pytest.fixture
async def a_public(db: Database, world: World) -> Persona:
    return await key_persona(db, world.partner_a, "public", ["crm", "segments"])


@pytest.fixture
async def a_secret(db: Database, world: World) -> Persona:
    return await key_persona(db, world.partner_a, "secret", ["crm", "segments"])


# --- createCrmApiKey -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"name": " "}, "name"), ({"name": "x" * 81}, "name"), ({"scopes": []}, "scopes")],
)
async def test_create_key_rejects_bad_input(
    gql: GraphQL, world: World, db: Database, overrides: dict[str, Any], field: str
) -> None:
    input = {"name": "sync job", "kind": "SECRET", "scopes": ["CRM"], **overrides}
    body = await gql(CREATE_KEY, {"input": input}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await db.crm_api_keys.count_documents({}) == 0


async def test_create_key_is_for_owners_and_operators_only(
    gql: GraphQL, world: World, db: Database, a_secret: Persona, a_public: Persona
) -> None:
    input = {"name": "sync job", "kind": "SECRET", "scopes": ["CRM"]}
    before = await db.crm_api_keys.count_documents({})
    for persona, code in ((world.a_manager, "FORBIDDEN"), (world.a_analyst, "FORBIDDEN"),
                          (world.a_app, "FORBIDDEN"), (world.a_member, "FORBIDDEN"),
                          (a_secret, "FORBIDDEN"), (a_public, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        body = await gql(CREATE_KEY, {"input": input}, as_=persona)
        assert error_codes(body) == [code], persona.name
        assert body["data"] is None
    # an operator must name the partner, and it must exist
    body = await gql(CREATE_KEY, {"input": input}, as_=world.operator)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "partnerId"}
    body = await gql(CREATE_KEY, {"input": {**input, "partnerId": "par_nosuchpartner"}},
                     as_=world.operator)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    # staff naming another partner get NOT_FOUND
    body = await gql(CREATE_KEY, {"input": {**input, "partnerId": world.partner_b}},
                     as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.crm_api_keys.count_documents({}) == before


async def test_key_is_shown_once_and_stored_hashed(
    gql: GraphQL, world: World, db: Database
) -> None:
    # when an owner creates a secret key
    input = {"name": "nightly sync", "kind": "SECRET", "scopes": ["SEGMENTS", "CRM", "CRM"]}
    created = (await gql(CREATE_KEY, {"input": input}, as_=world.a_owner))["data"][
        "createCrmApiKey"
    ]
    key, api_key = created["key"], created["apiKey"]
    # then the key text comes back this once, with its visible prefix
    assert key.startswith("csk_")
    assert key.startswith(api_key["keyPrefix"] + "_")
    assert api_key["kind"] == "SECRET"
    assert api_key["scopes"] == ["CRM", "SEGMENTS"]
    assert api_key["partnerId"] == world.partner_a
    assert api_key["revoked"] is False
    assert api_key["lastUsedAt"] is None
    # and only its SHA-256 is stored
    doc = await db.crm_api_keys.find_one({"_id": api_key["id"]})
    assert doc is not None
    assert doc["key_digest"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(doc)
    # the list never shows it again
    body = await gql(KEYS, {}, as_=world.a_owner)
    listed = body["data"]["crmApiKeys"]
    assert listed["totalCount"] == 1
    assert key not in str(body)
    assert listed["edges"][0]["node"]["keyPrefix"] == api_key["keyPrefix"]
    # a public key has its own prefix, and an operator can create one for a partner
    body = await gql(CREATE_KEY, {"input": {"name": "widget", "kind": "PUBLIC", "scopes": ["CRM"],
                     "partnerId": world.partner_b}}, as_=world.operator)  # fmt: skip
    assert body["data"]["createCrmApiKey"]["key"].startswith("cpk_")
    assert body["data"]["createCrmApiKey"]["apiKey"]["partnerId"] == world.partner_b


# --- using keys ------------------------------------------------------------------------


async def test_public_key_reads_and_secret_key_writes_within_the_partner(
    gql: GraphQL, world: World, db: Database, a_public: Persona, a_secret: Persona
) -> None:
    # given fans of both partners
    mine = await given_fan(db, world.partner_a)
    await given_fan(db, world.partner_b)
    # a public key reads its partner's fans only
    body = await gql(FANS, as_=a_public)
    assert [e["node"]["id"] for e in body["data"]["fans"]["edges"]] == [mine["_id"]]
    # but may not write
    input = {"email": "new@example.com"}
    body = await gql(CREATE_FAN, {"input": input}, as_=a_public)
    assert only_error(body)["extensions"]["code"] == "FORBIDDEN"
    assert only_error(body)["message"] == "Missing scope crm:write."
    assert await db.fans.count_documents({"email": "new@example.com"}) == 0
    # a secret key writes into its own partner, and naming another is NOT_FOUND
    body = await gql(CREATE_FAN, {"input": {**input, "partnerId": world.partner_b}}, as_=a_secret)
    assert error_codes(body) == ["NOT_FOUND"]
    body = await gql(CREATE_FAN, {"input": input}, as_=a_secret)
    assert body["data"]["createFan"]["partnerId"] == world.partner_a
    # another partner's fan is NOT_FOUND for the key
    other = await given_fan(db, world.partner_b)
    body = await gql("query($id: ID!) { fan(id: $id) { id } }", {"id": other["_id"]},
                     as_=a_secret)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    # the viewer shows what the key may do
    viewer = (await gql(VIEWER, as_=a_public))["data"]["viewer"]
    assert viewer == {"kind": "CRM_KEY", "subjectId": a_public.subject_id,
                      "partnerId": world.partner_a,
                      "scopes": ["crm:read", "segments:read"]}  # fmt: skip
    viewer = (await gql(VIEWER, as_=a_secret))["data"]["viewer"]
    assert viewer["scopes"] == ["crm:read", "crm:write", "segments:read", "segments:write"]


async def test_a_key_without_the_crm_scope_is_refused(
    gql: GraphQL, world: World, db: Database
) -> None:
    segments_only = await key_persona(db, world.partner_a, "secret", ["segments"])
    body = await gql(FANS, as_=segments_only)
    assert only_error(body)["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None
    body = await gql(CREATE_FAN, {"input": {"email": "x@example.com"}}, as_=segments_only)
    assert error_codes(body) == ["FORBIDDEN"]


async def test_keys_are_refused_in_the_wrong_header_or_with_another_credential(
    client: TestClient[Any, Any], world: World, a_public: Persona, a_secret: Persona
) -> None:
    public, secret = a_public.extra["key"], a_secret.extra["key"]
    cases = [
        {"Api-Key": secret},  # a secret key sent as a public one
        {"Api-Secret": public},  # and the reverse
        {"Api-Key": public, "Api-Secret": secret},
        {"Api-Key": public, **world.a_owner.headers},
        {"Api-Secret": secret, **world.a_app.headers},
        {"Api-Secret": "csk_00000000_" + "x" * 43},
        {"Api-Key": "gk_" + public},
        {"Api-Secret": "csk_" + "x" * 200},
    ]
    for headers in cases:
        response = await client.post("/graphql", json={"query": "{ viewer { kind } }"},
                                     headers=headers)  # fmt: skip
        body = await response.json()
        assert response.status == 401, headers.keys()
        assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_key_headers_count_as_preflight_headers_for_get(
    client: TestClient[Any, Any], a_secret: Persona
) -> None:
    # A server sending a GET query with its key is no cross-site form post.
    response = await client.get(
        "/graphql", params={"query": "{ viewer { kind } }"}, headers=a_secret.headers
    )
    assert response.status == 200
    assert (await response.json())["data"]["viewer"]["kind"] == "CRM_KEY"


# --- revokeCrmApiKey and the list ------------------------------------------------------


async def test_revoke_rejections_then_revoked_key_stops_working(
    gql: GraphQL, world: World, db: Database, a_secret: Persona
) -> None:
    key_id = a_secret.subject_id
    assert (await gql(VIEWER, as_=a_secret))["data"]["viewer"]["kind"] == "CRM_KEY"
    for persona, code in ((world.b_owner, "NOT_FOUND"), (world.a_manager, "FORBIDDEN"),
                          (a_secret, "FORBIDDEN"), (world.a_app, "FORBIDDEN")):  # fmt: skip
        body = await gql(REVOKE_KEY, {"id": key_id}, as_=persona)
        assert error_codes(body) == [code], persona.name
    body = await gql(REVOKE_KEY, {"id": "app_notakey0000"}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    assert (await gql(VIEWER, as_=a_secret))["data"]["viewer"]["kind"] == "CRM_KEY"
    # when the owner revokes it (twice: harmless)
    first = (await gql(REVOKE_KEY, {"id": key_id}, as_=world.a_owner))["data"]["revokeCrmApiKey"]
    again = (await gql(REVOKE_KEY, {"id": key_id}, as_=world.a_owner))["data"]["revokeCrmApiKey"]
    assert first["revoked"] is True
    assert again["revokedAt"] == first["revokedAt"]
    # then the key is refused at once
    await gql(VIEWER, as_=a_secret, expect_status=401)


async def test_key_list_is_tenant_scoped_and_pages(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given interleaved keys of two partners
    for i in range(6):
        await key_persona(db, world.partner_a if i % 2 == 0 else world.partner_b, "public",
                          ["crm"], name=f"key {i}")  # fmt: skip
    # staff see their own partner's only, page by page
    page1 = (await gql(KEYS, {"first": 2}, as_=world.a_owner))["data"]["crmApiKeys"]
    assert page1["totalCount"] == 3
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = (await gql(KEYS, {"first": 2, "after": page1["pageInfo"]["endCursor"]},
                       as_=world.a_owner))["data"]["crmApiKeys"]  # fmt: skip
    names = [e["node"]["name"] for e in page1["edges"] + page2["edges"]]
    assert sorted(names) == ["key 0", "key 2", "key 4"]
    assert page2["pageInfo"]["hasNextPage"] is False
    # naming another partner shows nothing; the operator sees either
    body = await gql(KEYS, {"partnerId": world.partner_b}, as_=world.a_owner)
    assert body["data"]["crmApiKeys"]["totalCount"] == 0
    body = await gql(KEYS, {"partnerId": world.partner_b}, as_=world.operator)
    assert body["data"]["crmApiKeys"]["totalCount"] == 3
    assert (await gql(KEYS, {}, as_=world.operator))["data"]["crmApiKeys"]["totalCount"] == 6


async def test_key_list_costs_the_same_commands_for_small_and_large_pages(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    for i in range(25):
        await key_persona(db, world.partner_a, "public", ["crm"], name=f"k{i}")
    counts = []
    for first in (2, 25):
        commands.start()
        body = await gql(KEYS, {"first": first}, as_=world.a_owner)
        assert len(body["data"]["crmApiKeys"]["edges"]) == first
        counts.append(commands.total)
    assert counts[0] == counts[1]


# --- every root field, for every kind of key -------------------------------------------


def expected_key_denial(field: Any, scopes: frozenset[str]) -> str | None:
    for ext in field.extensions:
        for permission in getattr(ext, "permissions", []):
            if isinstance(permission, Anyone | IsAuthenticated):
                continue
            if isinstance(permission, PrincipalKindIs) and (
                PrincipalKind.CRM_KEY not in permission.kinds
            ):
                return "FORBIDDEN"
            if isinstance(permission, HasScope) and permission.scope not in scopes:
                return "FORBIDDEN"
    return None


@pytest.mark.parametrize(
    ("kind", "scopes"),
    [("public", ["crm", "segments"]), ("secret", ["crm"]), ("secret", ["segments"])],
)
async def test_every_root_field_enforces_its_guard_for_crm_keys(
    gql: GraphQL, world: World, db: Database, kind: str, scopes: list[str]
) -> None:
    persona = await key_persona(db, world.partner_a, kind, scopes)
    granted = crm_key_scopes(scopes, secret=kind == "secret")
    mismatches = []
    allowed = 0
    converter = build_schema().config.name_converter
    for op_kind, field, gql_field in root_fields():
        name = converter.get_graphql_name(field)
        query, variables = operation(op_kind, name, gql_field)
        body = await gql(query, variables, as_=persona)
        guard = {
            e["extensions"]["code"]
            for e in body.get("errors") or []
            if e["message"] in GUARD_MESSAGES or e["message"].startswith("Missing scope ")
        }
        denial = expected_key_denial(field, granted)
        if denial is not None:
            if guard != {denial} or (body.get("data") or {}).get(name):
                mismatches.append((name, f"expected {denial}", guard))
        elif guard:
            mismatches.append((name, "expected allowed", guard))
        else:
            allowed += 1
    assert mismatches == []
    assert allowed > 0
