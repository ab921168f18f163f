"""Identity: staff sessions, token rules (RFC 8725), credential kinds, onboarding."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient

from gateway.auth import secrets as creds
from gateway.settings import Settings
from gateway.storage.mongo import Database
from tests.conftest import TEST_JWT_KEYS, GraphQL, Persona, World, error_codes, only_error

VIEWER = "{ viewer { kind subjectId partnerId scopes } }"
LOGIN = """
mutation Login($email: String!, $password: String!) {
  partnerLogin(email: $email, password: $password) { accessToken refreshToken expiresIn }
}"""
REFRESH = """
mutation Refresh($token: String!) {
  refreshSession(refreshToken: $token) { accessToken refreshToken expiresIn }
}"""
LOGOUT = "mutation { logout }"
MY_PARTNER = "{ partner { id name } }"
PARTNER_BY_ID = "query P($id: ID!) { partner(id: $id) { id name } }"
CREATE_PARTNER = "mutation C($name: String!) { createPartner(input: {name: $name}) { id name } }"
CREATE_STAFF = """
mutation S($input: CreatePartnerStaffInput!) {
  createPartnerStaff(input: $input) { id email role scopes partner { id } }
}"""
CREATE_APP = """
mutation A($partnerId: ID!, $name: String!) {
  createAppClient(input: {partnerId: $partnerId, name: $name}) {
    apiKey appClient { id keyPrefix revoked partner { id } }
  }
}"""
REVOKE_APP = "mutation R($id: ID!) { revokeAppClient(id: $id) { id revoked } }"


def bearer(token: str) -> Persona:
    return Persona("bearer", {"Authorization": f"Bearer {token}"})


async def status_of(client: TestClient[Any, Any], persona: Persona, query: str = VIEWER) -> int:
    response = await client.post("/graphql", json={"query": query}, headers=persona.headers)
    return response.status


async def login(gql: GraphQL, email: str, password: str) -> dict[str, Any]:
    return await gql(LOGIN, {"email": email, "password": password})


# --- partner staff sessions ---------------------------------------------------------


async def test_login_with_unknown_email_or_wrong_password_fails_the_same_way(
    gql: GraphQL, world: World
) -> None:
    # given a real staff account
    email = world.a_owner.extra["email"]
    # when logging in with a wrong password and with an unknown email
    wrong_password = await login(gql, email, "not-the-password")
    unknown_email = await login(gql, "nobody@example.com", "not-the-password")
    # then both fail identically, without saying which part was wrong
    assert only_error(wrong_password) == only_error(unknown_email) | {"path": ["partnerLogin"]}
    assert error_codes(wrong_password) == ["UNAUTHENTICATED"]
    assert wrong_password["data"] is None


async def test_login_returns_a_scoped_staff_session(gql: GraphQL, world: World) -> None:
    body = await login(gql, world.a_analyst.extra["email"], world.a_analyst.extra["password"])
    tokens = body["data"]["partnerLogin"]
    assert tokens["expiresIn"] == 900
    assert tokens["refreshToken"].startswith("rt_")
    viewer = (await gql(VIEWER, as_=bearer(tokens["accessToken"])))["data"]["viewer"]
    assert viewer["kind"] == "STAFF"
    assert viewer["partnerId"] == world.partner_a
    assert "vouchers:read" in viewer["scopes"]
    assert "vouchers:write" not in viewer["scopes"]


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database
) -> None:
    # given a logged-in session
    first = (await login(gql, world.a_owner.extra["email"], world.a_owner.extra["password"]))[
        "data"
    ]["partnerLogin"]
    # when the refresh token is used once
    second = (await gql(REFRESH, {"token": first["refreshToken"]}))["data"]["refreshSession"]
    # then new tokens come back and the old refresh token is spent
    assert second["refreshToken"] != first["refreshToken"]
    assert await status_of(client, bearer(second["accessToken"])) == 200
    assert (
        await db.refresh_tokens.count_documents(
            {"_id": creds.digest(first["refreshToken"]), "used": True}
        )
        == 1
    )
    # when the spent token is presented again (a thief replaying it)
    replay = await gql(REFRESH, {"token": first["refreshToken"]})
    # then it is refused and the whole family is revoked: the newest tokens die too
    assert error_codes(replay) == ["UNAUTHENTICATED"]
    newest = await gql(REFRESH, {"token": second["refreshToken"]})
    assert error_codes(newest) == ["UNAUTHENTICATED"]
    assert await status_of(client, bearer(second["accessToken"])) == 401
    assert await status_of(client, bearer(first["accessToken"])) == 401


async def test_concurrent_refreshes_with_one_token_let_at_most_one_win(
    gql: GraphQL, world: World
) -> None:
    import asyncio

    tokens = (await login(gql, world.a_owner.extra["email"], world.a_owner.extra["password"]))[
        "data"
    ]["partnerLogin"]
    results = await asyncio.gather(
        *(gql(REFRESH, {"token": tokens["refreshToken"]}) for _ in range(8))
    )
    winners = [r for r in results if r.get("data") and r["data"]["refreshSession"]]
    assert len(winners) <= 1


async def test_garbage_refresh_token_is_refused(gql: GraphQL) -> None:
    for token in ("", "rt_unknown", "x" * 5000, "tok_abc"):
        assert error_codes(await gql(REFRESH, {"token": token})) == ["UNAUTHENTICATED"]


async def test_logout_kills_access_and_refresh_tokens(
    gql: GraphQL, client: TestClient[Any, Any], world: World
) -> None:
    tokens = (await login(gql, world.a_owner.extra["email"], world.a_owner.extra["password"]))[
        "data"
    ]["partnerLogin"]
    staff = bearer(tokens["accessToken"])
    assert (await gql(LOGOUT, as_=staff))["data"] == {"logout": True}
    assert await status_of(client, staff) == 401
    assert error_codes(await gql(REFRESH, {"token": tokens["refreshToken"]})) == ["UNAUTHENTICATED"]


async def test_logout_is_for_staff_only(gql: GraphQL, world: World) -> None:
    assert error_codes(await gql(LOGOUT)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(LOGOUT, as_=world.a_app)) == ["FORBIDDEN"]
    assert error_codes(await gql(LOGOUT, as_=world.operator)) == ["FORBIDDEN"]


# --- JWT rules ------------------------------------------------------------------------


def _claims(world: World, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "oooc-gateway",
        "aud": "partner",
        "sub": world.a_owner.subject_id,
        "pid": world.partner_a,
        "scopes": ["billing:read"],
        "sid": world.a_owner.extra["session"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "j1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims: dict[str, Any], key: str | None = None, **header: Any) -> str:
    headers = {"kid": "test-k1", "typ": "partner+jwt", **header}
    return jwt.encode(claims, key or TEST_JWT_KEYS["test-k1"], algorithm="HS256", headers=headers)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


FORGERIES = {
    "alg none": lambda w: (
        f"{_b64({'alg': 'none', 'typ': 'partner+jwt', 'kid': 'test-k1'})}.{_b64(_claims(w))}."
    ),
    "wrong key": lambda w: _sign(_claims(w), key="x" * 48),
    "tampered claims": lambda w: (
        lambda t: ".".join(
            [t.split(".")[0], _b64(_claims(w, pid="par_other-tenant")), t.split(".")[2]]
        )
    )(_sign(_claims(w))),
    "expired": lambda w: _sign(
        _claims(w, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    ),
    "not yet valid": lambda w: _sign(_claims(w, nbf=int(time.time()) + 3600)),
    "unknown kid": lambda w: _sign(_claims(w), kid="attacker"),
    "wrong audience": lambda w: _sign(_claims(w, aud="member")),
    "member typ with partner claims": lambda w: _sign(_claims(w), typ="member+jwt"),
    "wrong issuer": lambda w: _sign(_claims(w, iss="someone-else")),
    "missing jti": lambda w: _sign(_claims(w, jti=None)),
    "missing exp": lambda w: _sign(_claims(w, exp=None)),
    "HS512 with a known key": lambda w: jwt.encode(
        _claims(w),
        TEST_JWT_KEYS["test-k1"],
        algorithm="HS512",
        headers={"kid": "test-k1", "typ": "partner+jwt"},
    ),
    "not a jwt": lambda w: "definitely.not.ajwt",
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_forged_tokens_are_refused_without_detail(
    client: TestClient[Any, Any], world: World, forgery: str
) -> None:
    token = FORGERIES[forgery](world)
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 401
    body = await response.json()
    assert body == {
        "errors": [
            {"message": "Invalid or expired credential.", "extensions": {"code": "UNAUTHENTICATED"}}
        ]
    }


async def test_a_correctly_signed_token_is_accepted_so_forgeries_fail_for_their_flaw(
    gql: GraphQL, world: World
) -> None:
    viewer = (await gql(VIEWER, as_=bearer(_sign(_claims(world)))))["data"]["viewer"]
    assert viewer["kind"] == "STAFF"


async def test_a_verify_only_key_still_verifies_after_rotation(gql: GraphQL, world: World) -> None:
    # test-k0 is configured but does not sign: tokens it signed earlier stay valid
    old = _sign(_claims(world), key=TEST_JWT_KEYS["test-k0"], kid="test-k0")
    assert (await gql(VIEWER, as_=bearer(old)))["data"]["viewer"]["kind"] == "STAFF"


# --- credential kinds ---------------------------------------------------------------


async def test_member_token_needs_its_own_partners_app_key(
    client: TestClient[Any, Any], world: World
) -> None:
    member_bearer = world.a_member.headers["Authorization"]
    assert await status_of(client, world.a_member) == 200
    alone = Persona("member alone", {"Authorization": member_bearer})
    assert await status_of(client, alone) == 401
    with_other_app = Persona(
        "member+B app", {**world.b_app.headers, "Authorization": member_bearer}
    )
    assert await status_of(client, with_other_app) == 401


async def test_staff_token_with_an_api_key_is_refused(
    client: TestClient[Any, Any], world: World
) -> None:
    mixed = Persona("mixed", {**world.a_owner.headers, **world.a_app.headers})
    assert await status_of(client, mixed) == 401


async def test_operator_token_never_passes_as_staff(gql: GraphQL, world: World) -> None:
    body = await gql(MY_PARTNER, as_=world.operator)
    assert error_codes(body) == ["BAD_USER_INPUT"]  # operators must name the partner
    viewer = (await gql(VIEWER, as_=world.operator))["data"]["viewer"]
    assert viewer["kind"] == "OPERATOR" and viewer["partnerId"] is None


async def test_unknown_and_malformed_api_keys_are_refused(client: TestClient[Any, Any]) -> None:
    for key in ("gk_nothing_here", "not-a-key", "gk_" + "a" * 500):
        assert await status_of(client, Persona("k", {"X-API-Key": key})) == 401


# --- partners and tenancy -----------------------------------------------------------


async def test_staff_sees_its_own_partner_and_not_another(gql: GraphQL, world: World) -> None:
    own = (await gql(MY_PARTNER, as_=world.a_owner))["data"]["partner"]
    assert own["id"] == world.partner_a
    other = await gql(PARTNER_BY_ID, {"id": world.partner_a}, as_=world.b_owner)
    assert error_codes(other) == ["NOT_FOUND"]
    assert other["data"] is None


async def test_partner_id_injection_is_bad_input(gql: GraphQL, world: World) -> None:
    body = await gql(PARTNER_BY_ID, {"id": {"$ne": None}}, as_=world.operator)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    body = await gql(PARTNER_BY_ID, {"id": "par_$ne"}, as_=world.operator)
    assert error_codes(body) == ["BAD_USER_INPUT"]


# --- onboarding ---------------------------------------------------------------------


async def test_create_partner_rejections_then_success(
    gql: GraphQL, world: World, db: Database
) -> None:
    assert error_codes(await gql(CREATE_PARTNER, {"name": "Gamma"})) == ["UNAUTHENTICATED"]
    for persona in (world.a_owner, world.a_app, world.a_member):
        assert error_codes(await gql(CREATE_PARTNER, {"name": "Gamma"}, as_=persona)) == [
            "FORBIDDEN"
        ]
    short = only_error(await gql(CREATE_PARTNER, {"name": "G"}, as_=world.operator))
    assert short["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}
    assert await db.partners.count_documents({"name": {"$in": ["Gamma", "G"]}}) == 0

    created = (await gql(CREATE_PARTNER, {"name": "Gamma"}, as_=world.operator))["data"]
    assert created["createPartner"]["name"] == "Gamma"
    duplicate = only_error(await gql(CREATE_PARTNER, {"name": "gamma"}, as_=world.operator))
    assert duplicate["extensions"]["code"] == "CONFLICT"
    assert await db.partners.count_documents({"name_lower": "gamma"}) == 1


def staff_input(partner_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "input": {
            "partnerId": partner_id,
            "email": "new.staff@example.com",
            "password": "a-long-enough-password",
            "role": "MANAGER",
            **overrides,
        }
    }


async def test_create_staff_rejections_then_success(
    gql: GraphQL, world: World, db: Database
) -> None:
    a = world.partner_a
    cases = [
        (None, staff_input(a), "UNAUTHENTICATED", None),
        (world.a_analyst, staff_input(a), "FORBIDDEN", None),  # lacks staff:manage
        (world.a_manager, staff_input(a), "FORBIDDEN", None),
        (world.a_app, staff_input(a), "FORBIDDEN", None),
        (world.b_owner, staff_input(a), "NOT_FOUND", None),  # other tenant
        (world.operator, staff_input("par_doesnotexist"), "NOT_FOUND", "partnerId"),
        (world.operator, staff_input("not-an-id"), "BAD_USER_INPUT", "partnerId"),
        (world.operator, staff_input(a, email="not-an-email"), "BAD_USER_INPUT", "email"),
        (world.operator, staff_input(a, password="short"), "BAD_USER_INPUT", "password"),
    ]
    for persona, variables, code, field in cases:
        error = only_error(await gql(CREATE_STAFF, variables, as_=persona))
        assert error["extensions"]["code"] == code, (persona, variables)
        if field:
            assert error["extensions"]["field"] == field
    assert await db.staff.count_documents({"email": "new.staff@example.com"}) == 0

    by_owner = (await gql(CREATE_STAFF, staff_input(a), as_=world.a_owner))["data"]
    created = by_owner["createPartnerStaff"]
    assert created["role"] == "MANAGER" and created["partner"]["id"] == a
    assert "billing:read" not in created["scopes"]
    again = only_error(await gql(CREATE_STAFF, staff_input(a), as_=world.operator))
    assert again["extensions"] == {"code": "CONFLICT", "field": "email"}
    stored = await db.staff.find_one({"email": "new.staff@example.com"})
    assert stored is not None and stored["password_hash"].startswith("$argon2id$")


async def test_app_client_key_is_shown_once_stored_hashed_and_revocable(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database
) -> None:
    for persona, code in ((None, "UNAUTHENTICATED"), (world.a_owner, "FORBIDDEN")):
        body = await gql(CREATE_APP, {"partnerId": world.partner_a, "name": "x"}, as_=persona)
        assert error_codes(body) == [code]
    bad = only_error(
        await gql(CREATE_APP, {"partnerId": world.partner_a, "name": ""}, as_=world.operator)
    )
    assert bad["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}

    created = (
        await gql(CREATE_APP, {"partnerId": world.partner_a, "name": "iOS"}, as_=world.operator)
    )["data"]["createAppClient"]
    key = created["apiKey"]
    assert key.startswith(created["appClient"]["keyPrefix"] + "_")
    stored = await db.app_clients.find_one({"_id": created["appClient"]["id"]})
    assert stored is not None and key not in json.dumps(stored, default=str)
    assert stored["key_digest"] == creds.digest(key)

    app = Persona("new app", {"X-API-Key": key})
    viewer = (await gql(VIEWER, as_=app))["data"]["viewer"]
    assert viewer == {"kind": "APP", "subjectId": created["appClient"]["id"],
                      "partnerId": world.partner_a, "scopes": []}  # fmt: skip
    used = await db.app_clients.find_one({"_id": created["appClient"]["id"]})
    assert used is not None and used["last_used_ms"] > 0

    assert error_codes(
        await gql(REVOKE_APP, {"id": created["appClient"]["id"]}, as_=world.a_owner)
    ) == ["FORBIDDEN"]
    revoked = (await gql(REVOKE_APP, {"id": created["appClient"]["id"]}, as_=world.operator))[
        "data"
    ]["revokeAppClient"]
    assert bool(revoked["revoked"]) is True
    assert await status_of(client, app) == 401
    missing = await gql(REVOKE_APP, {"id": "app_doesnotexist"}, as_=world.operator)
    assert error_codes(missing) == ["NOT_FOUND"]


async def test_settings_fixture_uses_test_keys(settings: Settings) -> None:
    kid, keys = settings.signing_keys()
    assert kid == "test-k1" and set(keys) == {"test-k0", "test-k1"}


CONTACT = "{ partner { name contactEmail } }"


async def test_partner_contact_details_are_denied_to_app_clients_and_members(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given partner A with a contact email
    await db.partners.update_one(
        {"_id": world.partner_a}, {"$set": {"contact_email": "boss@a.example"}}
    )
    # then app clients and members are refused the field and see no email
    for persona in (world.a_app, world.a_member):
        body = await gql(CONTACT, as_=persona)
        assert error_codes(body) == ["FORBIDDEN"]
        assert "boss@a.example" not in json.dumps(body)
    # and the partner's staff (even an analyst) reads it
    body = await gql(CONTACT, as_=world.a_analyst)
    assert body["data"]["partner"]["contactEmail"] == "boss@a.example"
