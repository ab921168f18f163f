"""Partnerize Tags (seed 001): rejections first, then create, list, read, update, and the
feature catalogue with enable / disable; tenant-scoped, paged, batched."""

from __future__ import annotations

from typing import Any

from gateway.storage.mongo import Database
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

FIELDS = "id partnerId name active createdAt createdBy lastModifiedAt lastModifiedBy " \
    "features { name description config { key value } }"  # fmt: skip
CREATE = f"""
mutation C($name: String!, $pid: ID) {{
  createPartnerTag(name: $name, partnerId: $pid) {{ {FIELDS} }}
}}"""
UPDATE = f"""
mutation U($id: ID!, $name: String, $active: Boolean) {{
  updatePartnerTag(id: $id, name: $name, active: $active) {{ {FIELDS} }}
}}"""
ENABLE = f"""
mutation E($tag: ID!, $name: String!, $config: [PartnerTagSettingInput!]) {{
  enablePartnerTagFeature(tagId: $tag, name: $name, config: $config) {{ {FIELDS} }}
}}"""
DISABLE = f"""
mutation D($tag: ID!, $name: String!) {{
  disablePartnerTagFeature(tagId: $tag, name: $name) {{ {FIELDS} }}
}}"""
LIST = f"""
query L($first: Int, $after: String, $pid: ID, $active: Boolean) {{
  partnerTags(first: $first, after: $after, partnerId: $pid, active: $active) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {FIELDS} }} }}
  }}
}}"""
ONE = f"query O($id: ID!) {{ partnerTag(id: $id) {{ {FIELDS} }} }}"
CATALOGUE = "{ partnerTagFeatures { name description configKeys } }"
FEATURE = "tracking-link-generation"


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


async def test_create_tag_rejections(gql: GraphQL, world: World, db: Database) -> None:
    for name in ("", "   ", "x" * 256, "bad\x07"):
        body = await gql(CREATE, {"name": name}, as_=world.a_owner)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "name", name
    for persona, code in ((world.a_analyst, "FORBIDDEN"), (world.a_app, "FORBIDDEN"),
                          (world.anonymous, "UNAUTHENTICATED")):  # fmt: skip
        assert error_codes(await gql(CREATE, {"name": "site"}, as_=persona)) == [code]
    body = await gql(CREATE, {"name": "site", "pid": world.partner_b}, as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    body = await gql(CREATE, {"name": "site"}, as_=world.operator)
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "partnerId"
    assert await db.affiliate_tags.count_documents({}) == 0


async def test_update_and_feature_rejections_change_nothing(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given A's tag and B's tag
    mine = (await gql(CREATE, {"name": "my-tag-website"}, as_=world.a_owner))["data"][
        "createPartnerTag"
    ]
    theirs = (await gql(CREATE, {"name": "b-tag"}, as_=world.b_owner))["data"]["createPartnerTag"]
    before = await db.affiliate_tags.find_one({"_id": mine["id"]})
    # when A sends bad updates and feature changes, or touches B's tag
    for query, variables, code, field in (
        (UPDATE, {"id": mine["id"]}, "BAD_USER_INPUT", "name"),
        (UPDATE, {"id": mine["id"], "name": ""}, "BAD_USER_INPUT", "name"),
        (UPDATE, {"id": mine["id"], "name": "y" * 256}, "BAD_USER_INPUT", "name"),
        (UPDATE, {"id": mine["id"], "name": None}, "BAD_USER_INPUT", "name"),
        (UPDATE, {"id": mine["id"], "active": None}, "BAD_USER_INPUT", "active"),
        (UPDATE, {"id": "pdb_nopenopenope", "name": "z"}, "BAD_USER_INPUT", "id"),
        (UPDATE, {"id": theirs["id"], "name": "mine now"}, "NOT_FOUND", "id"),
        (ENABLE, {"tag": mine["id"], "name": "no-such-feature"}, "BAD_USER_INPUT", "name"),
        (ENABLE, {"tag": mine["id"], "name": FEATURE,
                  "config": [{"key": "colour", "value": "red"}]}, "BAD_USER_INPUT", "config"),
        (ENABLE, {"tag": theirs["id"], "name": FEATURE}, "NOT_FOUND", "tagId"),
        (ENABLE, {"tag": "bad", "name": FEATURE}, "BAD_USER_INPUT", "tagId"),
        (DISABLE, {"tag": mine["id"], "name": FEATURE}, "CONFLICT", "name"),
        (DISABLE, {"tag": theirs["id"], "name": FEATURE}, "NOT_FOUND", "tagId"),
    ):  # fmt: skip
        body = await gql(query, variables, as_=world.a_owner)
        assert error_codes(body) == [code] and field_of(body) == field, variables
    assert error_codes(await gql(UPDATE, {"id": mine["id"], "name": "n"},
                                 as_=world.a_analyst)) == ["FORBIDDEN"]  # fmt: skip
    assert error_codes(await gql(ENABLE, {"tag": mine["id"], "name": FEATURE},
                                 as_=world.a_analyst)) == ["FORBIDDEN"]  # fmt: skip
    # then nothing changed
    assert await db.affiliate_tags.find_one({"_id": mine["id"]}) == before
    stored_b = await db.affiliate_tags.find_one({"_id": theirs["id"]})
    assert stored_b is not None and stored_b["name"] == "b-tag" and stored_b["features"] == []


async def test_tags_create_read_update_features_per_tenant(gql: GraphQL, world: World) -> None:
    # given interleaved tags of A and B (B's made by the operator for B)
    a_ids, b_ids = [], []
    for i in range(3):
        a = await gql(CREATE, {"name": f"a-{i}"}, as_=world.a_owner)
        a_ids.append(a["data"]["createPartnerTag"]["id"])
        b = await gql(CREATE, {"name": f"b-{i}", "pid": world.partner_b}, as_=world.operator)
        b_ids.append(b["data"]["createPartnerTag"]["id"])
    first = (await gql(ONE, {"id": a_ids[0]}, as_=world.a_analyst))["data"]["partnerTag"]
    assert (first["name"], first["active"], first["features"]) == ("a-0", True, [])
    assert first["partnerId"] == world.partner_a
    assert first["createdBy"] == world.a_owner.subject_id == first["lastModifiedBy"]
    # when A lists its tags, then only A's are there; B's are not A's to read
    listed = (await gql(LIST, {}, as_=world.a_analyst))["data"]["partnerTags"]
    assert listed["totalCount"] == 3
    assert sorted(e["node"]["id"] for e in listed["edges"]) == sorted(a_ids)
    assert error_codes(await gql(ONE, {"id": b_ids[0]}, as_=world.a_analyst)) == ["NOT_FOUND"]
    assert error_codes(await gql(LIST, {"pid": world.partner_b}, as_=world.a_analyst)) == [
        "NOT_FOUND"
    ]
    operator_view = await gql(LIST, {"pid": world.partner_b}, as_=world.operator)
    assert sorted(e["node"]["id"] for e in operator_view["data"]["partnerTags"]["edges"]) == (
        sorted(b_ids)
    )
    # the catalogue is the seed's
    catalogue = (await gql(CATALOGUE, as_=world.a_analyst))["data"]["partnerTagFeatures"]
    assert catalogue == [{"name": FEATURE, "configKeys": [],
                          "description": "Tracking link generation from standard brand URLs"}]
    # A renames and deactivates one, enables and disables the feature
    body = await gql(UPDATE, {"id": a_ids[1], "name": " my-tag-mobile ", "active": False},
                     as_=world.a_manager)  # fmt: skip
    changed = body["data"]["updatePartnerTag"]
    assert (changed["name"], changed["active"]) == ("my-tag-mobile", False)
    assert changed["lastModifiedBy"] == world.a_manager.subject_id
    assert changed["lastModifiedAt"] >= changed["createdAt"]
    inactive = await gql(LIST, {"active": False}, as_=world.a_analyst)
    assert [e["node"]["id"] for e in inactive["data"]["partnerTags"]["edges"]] == [a_ids[1]]
    enabled = (await gql(ENABLE, {"tag": a_ids[0], "name": FEATURE, "config": []},
                         as_=world.a_owner))["data"]["enablePartnerTagFeature"]  # fmt: skip
    assert enabled["features"] == [{"name": FEATURE, "config": [],
                                    "description": catalogue[0]["description"]}]  # fmt: skip
    again = await gql(ENABLE, {"tag": a_ids[0], "name": FEATURE}, as_=world.a_owner)
    assert len(again["data"]["enablePartnerTagFeature"]["features"]) == 1  # idempotent
    read = (await gql(ONE, {"id": a_ids[0]}, as_=world.a_analyst))["data"]["partnerTag"]
    assert [f["name"] for f in read["features"]] == [FEATURE]
    off = await gql(DISABLE, {"tag": a_ids[0], "name": FEATURE}, as_=world.a_owner)
    assert off["data"]["disablePartnerTagFeature"]["features"] == []
    # and B's tags are untouched
    b_view = await gql(LIST, {}, as_=world.b_owner)
    assert sorted(e["node"]["name"] for e in b_view["data"]["partnerTags"]["edges"]) == [
        "b-0", "b-1", "b-2"
    ]


async def test_tag_list_pages_and_costs_the_same(
    gql: GraphQL, world: World, commands: CommandCounter
) -> None:
    for i in range(25):
        tag = await gql(CREATE, {"name": f"tag {i}"}, as_=world.a_owner)
        await gql(ENABLE, {"tag": tag["data"]["createPartnerTag"]["id"], "name": FEATURE},
                  as_=world.a_owner)  # fmt: skip
    seen: list[str] = []
    after = None
    while True:
        conn = (await gql(LIST, {"first": 10, "after": after}, as_=world.a_analyst))["data"][
            "partnerTags"
        ]
        seen += [e["node"]["name"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(f"tag {i}" for i in range(25))

    async def run(first: int) -> int:
        commands.start()
        body = await gql(LIST, {"first": first}, as_=world.a_analyst)
        assert all(e["node"]["features"] for e in body["data"]["partnerTags"]["edges"])
        return commands.total

    assert await run(2) == await run(20)
