"""Content strings: key rules, sanitised values (no script, handlers, javascript: URLs), merge."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.storage.mongo import Database
from tests.conftest import GraphQL, World, error_codes, only_error

READ = "query R($partnerId: ID) { contentStrings(partnerId: $partnerId) { key value } }"
UPDATE = """
mutation U($strings: [ContentStringInput!]!, $partnerId: ID) {
  updateContentStrings(strings: $strings, partnerId: $partnerId) { key value }
}"""

ABOUT = {"key": "st_aboutus", "value": "<h1>About Us</h1><p>Your about us content...</p>"}


@pytest.mark.parametrize(
    "strings",
    [
        [],
        [{"key": "aboutus", "value": "x"}],
        [{"key": "st_About", "value": "x"}],
        [{"key": "st_a.b", "value": "x"}],
        [{"key": "st_$x", "value": "x"}],
        [ABOUT, ABOUT],
        [{"key": "st_big", "value": "x" * 5_001}],
    ],
)
async def test_update_rejects_bad_keys_and_sizes(
    gql: GraphQL, world: World, db: Database, strings: list[dict[str, str]]
) -> None:
    body = await gql(UPDATE, {"strings": strings}, as_=world.a_owner)
    error = only_error(body)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT", "strings"
    )  # fmt: skip
    assert await db.content_strings.count_documents({}) == 0


async def test_update_refuses_wrong_principals(gql: GraphQL, world: World, db: Database) -> None:
    for persona, code in [
        (world.anonymous, "UNAUTHENTICATED"),
        (world.a_analyst, "FORBIDDEN"),
        (world.a_app, "FORBIDDEN"),
        (world.a_member, "FORBIDDEN"),
    ]:
        assert error_codes(await gql(UPDATE, {"strings": [ABOUT]}, as_=persona)) == [code]
    body = await gql(UPDATE, {"strings": [ABOUT], "partnerId": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.content_strings.count_documents({}) == 0


async def test_values_are_sanitised_before_they_are_stored(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given hostile HTML
    hostile = (
        '<h1 onclick="steal()">Hi</h1><script>alert(1)</script>'
        '<a href="javascript:alert(1)">x</a><a href="https://ok.example/">ok</a>'
        '<img src="x" onerror="alert(1)"><iframe src="https://evil"></iframe>'
        '<p style="color:red">text</p>'
    )
    # when
    body = await gql(UPDATE, {"strings": [{"key": "st_x", "value": hostile}]},
                     as_=world.a_manager)  # fmt: skip
    # then nothing executable is stored or served
    stored = (await db.content_strings.find_one({"partner_id": world.partner_a}))["strings"]["st_x"]
    assert body["data"]["updateContentStrings"] == [{"key": "st_x", "value": stored}]
    lowered = stored.lower()
    for bad in ("<script", "onclick", "onerror", "javascript:", "<iframe", "style=", "alert(1)"):
        assert bad not in lowered, (bad, stored)
    assert '<a href="https://ok.example/"' in stored
    assert "<h1>Hi</h1>" in stored


async def test_update_merges_keys_and_app_reads_them(gql: GraphQL, world: World) -> None:
    # given
    privacy = {"key": "st_privacypolicy", "value": "<h1>Privacy Policy</h1><p>v1</p>"}
    await gql(UPDATE, {"strings": [ABOUT, privacy]}, as_=world.a_owner)
    # when only one key is sent
    new_about = {"key": "st_aboutus", "value": "<p>Updated content...</p>"}
    body = await gql(UPDATE, {"strings": [new_about]}, as_=world.a_owner)
    # then the other key is kept
    assert body["data"]["updateContentStrings"] == [new_about, privacy]

    async def read(persona: Any, **variables: Any) -> Any:
        return (await gql(READ, variables, as_=persona))["data"]["contentStrings"]

    assert await read(world.a_app) == [new_about, privacy]
    assert await read(world.a_member) == [new_about, privacy]
    assert await read(world.a_analyst) == [new_about, privacy]
    assert await read(world.b_app) == []
    assert await read(world.operator, partnerId=world.partner_a) == [new_about, privacy]
    body = await gql(READ, {"partnerId": world.partner_a}, as_=world.b_owner)
    assert error_codes(body) == ["NOT_FOUND"]
