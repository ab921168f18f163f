"""`updateLoginEmail`: the seed's update of the current user's `emailAddress` (answer
`email_verified: false`): staff change their own login email, with their current password;
rejections first, then the new email logs in and the old one does not."""

from __future__ import annotations

from typing import Any

from gateway.storage.mongo import Database
from tests.conftest import GraphQL, World, error_codes, only_error

UPDATE = """
mutation U($email: String!, $password: String!) {
  updateLoginEmail(emailAddress: $email, currentPassword: $password) {
    id email emailVerified partner { id }
  }
}"""
LOGIN = """
mutation L($e: String!, $p: String!) { partnerLogin(email: $e, password: $p) { accessToken } }"""


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


async def test_update_login_email_rejections(gql: GraphQL, world: World, db: Database) -> None:
    me = world.a_analyst
    password = me.extra["password"]
    ok = {"email": "new-address@example.com", "password": password}
    # wrong kinds of caller
    for persona, code in ((world.anonymous, "UNAUTHENTICATED"), (world.operator, "FORBIDDEN"),
                          (world.a_app, "FORBIDDEN"), (world.a_member, "FORBIDDEN")):  # fmt: skip
        assert error_codes(await gql(UPDATE, ok, as_=persona)) == [code], persona.name
    # bad input, wrong password, the same or another account's email
    for variables, code, field in (
        ({**ok, "email": "not-an-email"}, "BAD_USER_INPUT", "emailAddress"),
        ({**ok, "email": "a@b"}, "BAD_USER_INPUT", "emailAddress"),
        ({**ok, "password": "wrong-password-123"}, "FORBIDDEN", "currentPassword"),
        ({**ok, "password": "x" * 300}, "FORBIDDEN", "currentPassword"),
        ({**ok, "email": me.extra["email"].upper()}, "BAD_USER_INPUT", "emailAddress"),
        ({**ok, "email": world.b_owner.extra["email"]}, "CONFLICT", "emailAddress"),
    ):
        body = await gql(UPDATE, variables, as_=me)
        assert error_codes(body) == [code] and field_of(body) == field, variables
    # nothing changed: the old email still logs in, the account is as it was
    stored = await db.staff.find_one({"_id": me.subject_id})
    assert stored is not None and stored["email"] == me.extra["email"]
    assert "email_verified" not in stored
    body = await gql(LOGIN, {"e": me.extra["email"], "p": password})
    assert body["data"]["partnerLogin"]["accessToken"]


async def test_update_login_email_then_log_in_with_it(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given an analyst of A
    me = world.a_analyst
    password = me.extra["password"]
    # when it changes its login email (any case, spaces around)
    body = await gql(UPDATE, {"email": "  Fresh.Address@Example.com ", "password": password},
                     as_=me)  # fmt: skip
    # then the account answers with the new, unverified address (the seed's answer)
    assert body["data"]["updateLoginEmail"] == {
        "id": me.subject_id, "email": "fresh.address@example.com", "emailVerified": False,
        "partner": {"id": world.partner_a},
    }
    # the new email logs in, the old one no longer does
    body = await gql(LOGIN, {"e": "fresh.address@example.com", "p": password})
    assert body["data"]["partnerLogin"]["accessToken"]
    body = await gql(LOGIN, {"e": me.extra["email"], "p": password})
    assert error_codes(body) == ["UNAUTHENTICATED"]
    # and nobody else's account moved (B's owner keeps its email)
    other = await db.staff.find_one({"_id": world.b_owner.subject_id})
    assert other is not None and other["email"] == world.b_owner.extra["email"]
