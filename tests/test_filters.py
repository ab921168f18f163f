"""Filters keep tenants apart on every server: one helper (`loaders.base.conjoin`) builds
every aggregation `$match` and every `find` filter that mixes fields with `$or`/`$nor`.

The embedded store reads `{partner_id: A, $or: [r1, r2]}` in an aggregation as
`(partner_id: A AND r1) OR r2` (tests/test_storage_conformance.py), so a partner asking
for two date ranges used to get other partners' rows of the last range.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.storage.mongo import Database
from loaders.base import conjoin, match_stage
from tests.affiliate_fixtures import approve, catalogue, clicks
from tests.conftest import GraphQL, World
from tests.portal_fixtures import given_member

ROOT = Path(__file__).resolve().parent.parent

COUNT_CLICKS = """
query A($ranges: [DateRangeInput!]) {
  partnerAnalytics(shape: COUNT, metrics: ["total_clicks"], dateRanges: $ranges,
                   timezone: "UTC") {
    rows { metrics { name value } }
  }
}"""
MEMBERS = """
query M($search: String) { members(search: $search) { totalCount edges { node { id } } } }
"""

R1 = {"start": "2025-03-10T00:00:00", "end": "2025-03-10T06:00:00"}
R2 = {"start": "2025-03-11T00:00:00", "end": "2025-03-11T06:00:00"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def total_clicks(gql: GraphQL, as_: Any, ranges: list[dict[str, str]]) -> float:
    body = await gql(COUNT_CLICKS, {"ranges": ranges}, as_=as_)
    assert "errors" not in body, body
    [row] = body["data"]["partnerAnalytics"]["rows"]
    [metric] = row["metrics"]
    return float(metric["value"])


# --- the helper ------------------------------------------------------------------------


def test_plain_fields_stay_one_document() -> None:
    assert conjoin({"partner_id": "A"}, {"day": {"$gte": "2026-01-01"}}, None, {}) == {
        "partner_id": "A",
        "day": {"$gte": "2026-01-01"},
    }


def test_a_field_next_to_or_becomes_an_explicit_and() -> None:
    either = [{"ts": 1}, {"ts": 2}]
    assert conjoin({"partner_id": "A", "$or": either}) == {
        "$and": [{"partner_id": "A"}, {"$or": either}]
    }


def test_nested_and_is_flattened_and_branches_are_conjoined() -> None:
    branch = {"k": 1, "$nor": [{"x": 1}]}
    got = conjoin({"$and": [{"partner_id": "A"}, {"$or": [branch, {"k": 2}]}]}, {"ts": 3})
    assert got == {
        "$and": [
            {"partner_id": "A"},
            {"$or": [{"$and": [{"k": 1}, {"$nor": [{"x": 1}]}]}, {"k": 2}]},
            {"ts": 3},
        ]
    }


def test_the_same_field_twice_is_kept_as_two_conjuncts() -> None:
    assert conjoin({"ts": {"$gte": 1}}, {"ts": {"$lt": 5}}) == {
        "$and": [{"ts": {"$gte": 1}}, {"ts": {"$lt": 5}}]
    }


def test_match_stage_wraps_the_conjunction() -> None:
    assert match_stage({"partner_id": "A"}, {"$or": [{"a": 1}]}) == {
        "$match": {"$and": [{"partner_id": "A"}, {"$or": [{"a": 1}]}]}
    }


def _literal_keys(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Constant) and key.value == "$match":
                    found.append((node.lineno, "$match"))
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and node.slice.value in ("$or", "$nor")
            and isinstance(node.ctx, ast.Store)
        ):
            found.append((node.lineno, f"query[{node.slice.value!r}] ="))
    return found


@pytest.mark.parametrize("layer", ["loaders", "resolvers", "schema"])
def test_no_match_stage_or_branch_is_built_by_hand(layer: str) -> None:
    # `{"$match": …}` literals and `query["$or"] = …` next to fields bypass the helper.
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        if path.name != "base.py" or layer != "loaders"
        for line, what in _literal_keys(path)
    ]
    assert offenders == []


# `$set`/`$min`/`$max` of a datetime on an existing document reads back as a string on the
# embedded store (README deviation table), so update operators write epoch-ms ints.
DATETIME_UPDATE_ALLOWED = {
    # Only the status of a deleted activation is ever read back.
    "loaders/activations.py",
}


def _datetime_updates(path: Path) -> list[int]:
    lines: list[int] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            if not (
                isinstance(key, ast.Constant)
                and key.value in ("$set", "$min", "$max")
                and isinstance(value, ast.Dict)
            ):
                continue
            for item in value.values:
                if (
                    isinstance(item, ast.Call)
                    and isinstance(item.func, ast.Name)
                    and item.func.id == "utcnow"
                ):
                    lines.append(item.lineno)
    return lines


@pytest.mark.parametrize("layer", ["loaders", "resolvers", "schema", "gateway"])
def test_no_update_operator_writes_a_datetime(layer: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in DATETIME_UPDATE_ALLOWED
        for line in _datetime_updates(path)
    ]
    assert offenders == []


# --- the leak it closes ----------------------------------------------------------------


async def test_two_date_ranges_count_only_the_partners_own_clicks(
    gql: GraphQL, db: Database, world: World
) -> None:
    # given partner A's clicks in two ranges and partner B's clicks interleaved in both
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    await approve(db, world.partner_b, cat.open)
    await clicks(db, world.partner_a, cat.open, [at("2025-03-10T01:00")] * 2)
    await clicks(db, world.partner_b, cat.open, [at("2025-03-10T02:00")] * 5)
    await clicks(db, world.partner_a, cat.open, [at("2025-03-11T03:00")] * 3)
    await clicks(db, world.partner_b, cat.open, [at("2025-03-11T04:00")] * 7)
    # when A counts clicks over each range alone and over both together
    alone = [await total_clicks(gql, world.a_analyst, [r]) for r in (R1, R2)]
    both = await total_clicks(gql, world.a_analyst, [R1, R2])
    # then the two ranges together are the sum of the ranges alone: none of B's clicks
    assert alone == [2, 3]
    assert both == 5
    assert await total_clicks(gql, world.b_owner, [R2, R1]) == 12


async def test_member_search_counts_only_the_partners_members(
    gql: GraphQL, db: Database, world: World
) -> None:
    # given members of both partners whose names match the search
    await given_member(db, world.partner_a, name="Sam Alpha", email="sam.a@example.com")
    await given_member(db, world.partner_b, name="Sam Beta", email="sam.b@example.com")
    await given_member(db, world.partner_b, name="Other", email="sam.c@example.com")
    # when A searches
    body = await gql(MEMBERS, {"search": "sam"}, as_=world.a_owner)
    # then only A's member is listed and counted
    assert "errors" not in body, body
    assert body["data"]["members"]["totalCount"] == 1
    assert len(body["data"]["members"]["edges"]) == 1
