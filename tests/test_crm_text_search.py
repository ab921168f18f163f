"""The fan search's text filter over pre-computed trigrams (`loaders.crm.text_search`): the
same results as a Python substring oracle over generated names, emails and display names of two
interleaved partners, kept by every fan write, and backfilled for fans stored before it."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gateway.auth.principal import Principal, PrincipalKind
from gateway.storage.mongo import Database, Document
from loaders import crm as data
from loaders.base import Scope
from loaders.crm import text_search
from tests.conftest import GraphQL, World
from tests.crm_fixtures import given_fan

SEARCH = """
query($filter: FanFilter, $first: Int) {
  fans(filter: $filter, first: $first) { totalCount edges { node { id } } }
}"""
CREATE_FAN = """
mutation($input: CreateFanInput!) { createFan(input: $input) { id } }"""
UPDATE_FAN = """
mutation($id: ID!, $input: UpdateFanInput!) { updateFan(id: $id, input: $input) { id } }"""
SUBMIT = """
mutation($input: CreateFanActivityInput!) { createFanActivity(input: $input) { fanId } }"""

# A small alphabet (with case, a regex metacharacter and the space) so substrings collide.
LETTERS = "aAbB. "
VALUE = st.text(LETTERS, max_size=7)
FAN_ROW = st.fixed_dictionaries({
    "partner": st.sampled_from("AAB"),
    "first_name": VALUE, "last_name": VALUE, "display_name": VALUE,
    "email_local": st.text("aAbB.", min_size=1, max_size=6),
    # None: not updated; else the new first name / display name written by update_fan
    "renamed": st.none() | VALUE, "redisplayed": st.none() | VALUE,
})  # fmt: skip
QUERY = st.text("aAbB.@ x", min_size=1, max_size=5).filter(lambda q: q.strip() == q and q)


def staff_of(partner_id: str) -> Scope:
    return Scope(Principal(PrincipalKind.STAFF, "stf_t", partner_id, frozenset({"crm:read"})))


def ids(body: dict[str, Any]) -> list[str]:
    assert "errors" not in body, body
    return sorted(e["node"]["id"] for e in body["data"]["fans"]["edges"])


def contains(fan: Document, text: str) -> bool:
    """The oracle: a case-insensitive part of the name (first + last), email or display name."""
    name = f"{fan['first_name']} {fan['last_name']}".strip()
    values = (name, fan.get("email", ""), fan["display_name"])
    return any(text.lower() in value.lower() for value in values)


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(rows=st.lists(FAN_ROW, max_size=10), queries=st.lists(QUERY, min_size=1, max_size=4),
       picks=st.lists(st.integers(0, 50), max_size=3))  # fmt: skip
async def test_text_search_matches_a_substring_oracle(
    gql: GraphQL, world: World, db: Database, rows: list[dict[str, Any]],
    queries: list[str], picks: list[int],
) -> None:  # fmt: skip
    # given generated fans of two partners, some renamed after they were stored
    await db.fans.delete_many({})
    fans: list[Document] = []
    for i, row in enumerate(rows):
        partner = world.partner_a if row["partner"] == "A" else world.partner_b
        fan = await given_fan(db, partner, first_name=row["first_name"],
                              last_name=row["last_name"], display_name=row["display_name"],
                              email=f"{row['email_local']}{i}@Ex.com")  # fmt: skip
        sets = {k: row[r] for k, r in (("first_name", "renamed"), ("display_name", "redisplayed"))
                if row[r] is not None}  # fmt: skip
        if sets:
            sets["name_lower"] = data.name_lower({**fan, **sets})
            fan = await data.update_fan(db, staff_of(partner), fan["_id"], sets, [])
            assert fan is not None
        fans.append(fan)
    # queries of every length, and parts of stored values (so there are hits)
    values = [v for f in fans for v in (f["email"], f["display_name"]) if len(v) >= 3]
    queries += [values[p % len(values)][1:4].strip() or "ab" for p in picks if values]
    for text in queries:
        # when partner A searches
        body = await gql(SEARCH, {"filter": {"text": text}, "first": 100}, as_=world.a_analyst)
        # then it finds exactly A's fans that contain the text, and counts them
        want = sorted(f["_id"] for f in fans if f["partner_id"] == world.partner_a
                      and contains(f, text))  # fmt: skip
        assert ids(body) == want, text
        assert body["data"]["fans"]["totalCount"] == len(want), text


async def test_text_is_one_flat_regex_on_the_stored_text_plus_trigrams(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given fans whose trigrams all occur in "abcd" without "abcd" itself (candidates, misses)
    hit = await given_fan(db, world.partner_a, first_name="xabcdx")
    for _ in range(3):
        await given_fan(db, world.partner_a, first_name="abc", last_name="bcd")
    await given_fan(db, world.partner_b, first_name="abcd")
    scope = staff_of(world.partner_a)
    # when the query is 3+ characters, then it is the trigrams and a literal regex, no ids
    query = await data.fan_search_query(db, scope, {"text": "AB.CD"})
    assert {"text_search": {"$regex": "ab\\.cd"}} in query["$and"]
    assert any("text_grams" in c for c in query["$and"])
    assert all("_id" not in c for c in query["$and"])
    # and 1-2 characters are the regex alone
    short = await data.fan_search_query(db, scope, {"text": "aB"})
    assert {"text_search": {"$regex": "ab"}} in short["$and"]
    assert "text_grams" not in str(short)
    # and the misses stay out, the other partner's fan too
    body = await gql(SEARCH, {"filter": {"text": "aBcD"}}, as_=world.a_analyst)
    assert ids(body) == [hit["_id"]]
    assert body["data"]["fans"]["totalCount"] == 1


def test_query_grams_are_a_spread_subset() -> None:
    wanted = text_search.query_grams("Ada Lovelace")
    assert set(wanted) <= text_search.grams("ada lovelace")
    assert len(wanted) == text_search.MAX_QUERY_GRAMS
    assert text_search.query_grams("ab") == []


async def test_every_fan_write_keeps_the_trigrams(gql: GraphQL, world: World, db: Database) -> None:
    # given a fan created, one renamed, one upserted by an activity
    created = await gql(CREATE_FAN, {"input": {"email": "Zed.Quux@example.com",
                                               "firstName": "Zoltan", "displayName": "ZQ99"}},
                        as_=world.a_owner)  # fmt: skip
    fan_id = created["data"]["createFan"]["id"]
    renamed = await given_fan(db, world.partner_a, first_name="Oldname", last_name="Person")
    body = await gql(UPDATE_FAN, {"id": renamed["_id"], "input": {"firstName": "Newname",
                                                                  "displayName": "Shiny"}},
                     as_=world.a_owner)  # fmt: skip
    assert "errors" not in body, body
    submitted = await gql(SUBMIT, {"input": {"campaignTitle": "Quiz", "email": "act@example.com",
                                             "firstName": "Activa", "lastName": "Tor"}},
                          as_=world.a_owner)  # fmt: skip
    active_id = submitted["data"]["createFanActivity"]["fanId"]
    # when partner A searches their texts, then the current values are found, the old not
    for text, want in (("zoltan", [fan_id]), ("ed.quu", [fan_id]), ("zq9", [fan_id]),
                       ("newname pers", [renamed["_id"]]), ("hiny", [renamed["_id"]]),
                       ("oldname", []), ("activa tor", [active_id]), ("act@ex", [active_id])):
        body = await gql(SEARCH, {"filter": {"text": text}}, as_=world.a_analyst)
        assert ids(body) == want, text
    for doc in await db.fans.find({}).to_list(None):
        assert doc["text_grams"] == text_search.text_grams(doc)
        assert doc["text_search"] == text_search.search_text(doc)


async def test_fans_stored_before_the_trigrams_are_backfilled(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given fans written without the search fields (as before either existed), and one
    # with the trigrams only (as the previous version wrote them)
    olds = [data.new_fan_doc(world.partner_a, {"email": f"old-{uuid.uuid4().hex[:6]}@example.com",
                                               "first_name": "Legacy"}) for _ in range(3)]
    for i, doc in enumerate(olds):
        doc.pop("text_search")
        if i:
            doc.pop("text_grams")
    await db.fans.insert_many(olds)
    assert ids(await gql(SEARCH, {"filter": {"text": "legacy"}}, as_=world.a_analyst)) == []
    # when the backfill runs (at each start, and in the demo seed), twice
    assert await text_search.backfill_text_grams(db) == 3
    assert await text_search.backfill_text_grams(db) == 0
    # then the search finds them
    body = await gql(SEARCH, {"filter": {"text": "legacy"}}, as_=world.a_analyst)
    assert ids(body) == sorted(d["_id"] for d in olds)
    for doc in await db.fans.find({"_id": {"$in": [d["_id"] for d in olds]}}).to_list(None):
        assert doc["text_search"] == "legacy\n" + doc["email"] + "\n"
        assert doc["text_grams"] == text_search.text_grams(doc)
