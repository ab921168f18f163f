"""Operation limits: each one just under and just over its limit, through the real app.

Limits with room in the real schema are tested at their production defaults; depth
and cost cannot be reached by a valid operation on this schema at the defaults, so
those are tested end-to-end with a small configured limit, plus at the default
values through `measure` (the same code the app runs).
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from graphql import build_schema as build_sdl_schema
from graphql import parse

from gateway.protection.limits import Limits, measure, violations
from gateway.settings import Settings
from schema import build_schema
from tests.conftest import GraphQL, World, error_codes, only_error
from tests.hardening_fixtures import MakeClient, make_client, post

__all__ = ["make_client"]

DEFAULTS = Limits.from_settings(None)
VIEWER_PARTNER = "{ viewer { partner { name } } }"  # depth 3
VIEWER_FIELDS = "{ viewer { kind partnerId scopes } }"  # cost 1 + 3 = 4
LOGIN = "mutation($email: String!, $password: String!) { partnerLogin(email: $email, password: $password) { accessToken } }"  # noqa: E501


def too_complex(body: dict[str, Any], limit: str) -> None:
    error = only_error(body)
    assert error["extensions"]["code"] == "OPERATION_TOO_COMPLEX", body
    assert error["extensions"]["limit"] == limit
    assert limit in error["message"] or limit == "stringLength", error["message"]
    assert body.get("data") is None


def nested(depth: int) -> str:
    """`{ f { f { … } } }` with `depth` levels of fields."""
    return "{ " + "f { " * (depth - 1) + "f" + " }" * (depth - 1) + " }"


# --- defaults are the documented production values -------------------------------------


def test_defaults_are_the_documented_values() -> None:
    assert (
        Limits(depth=10, aliases=15, directives=50, tokens=2000, cost=10_000, string_length=10_000)
        == DEFAULTS
    )
    settings = Settings(jwt_keys={})
    assert (settings.max_batch, settings.max_body_bytes) == (0, 256 * 1024)


# --- depth -------------------------------------------------------------------------------


async def test_depth_just_under_and_over_a_configured_limit(
    make_client: MakeClient, world: World
) -> None:
    # given a gateway whose depth limit is 3
    client = await make_client(max_depth=3)
    # when a depth-3 query runs, then it answers
    body = await post(client, VIEWER_PARTNER, headers=world.a_owner.headers)
    assert body["data"]["viewer"]["partner"]["name"].startswith("Partner A")
    # when the limit is 2, then the same query is too complex and nothing runs
    tighter = await make_client(max_depth=2)
    too_complex(await post(tighter, VIEWER_PARTNER, headers=world.a_owner.headers), "depth")


async def test_depth_at_the_default_is_checked_before_validation(gql: GraphQL) -> None:
    # depth 10: within the limit, so the (unknown) fields reach validation
    assert error_codes(await gql(nested(DEFAULTS.depth))) == ["BAD_USER_INPUT"]
    # depth 11: refused by the limit before validation
    too_complex(await gql(nested(DEFAULTS.depth + 1)), "depth")


def test_depth_measure_at_the_default() -> None:
    schema = build_schema()._schema
    ok = measure(schema, parse(nested(DEFAULTS.depth)))
    over = measure(schema, parse(nested(DEFAULTS.depth + 1)))
    assert ok is not None and over is not None
    assert ok.stats.depth == 10 and violations(DEFAULTS, ok) == []
    assert [e.extensions["limit"] for e in violations(DEFAULTS, over)] == ["depth"]


# --- aliases -----------------------------------------------------------------------------


def aliased(n: int) -> str:
    return "{ " + " ".join(f"a{i}: viewer {{ kind }}" for i in range(n)) + " }"


async def test_aliases_just_under_and_over_the_default(gql: GraphQL) -> None:
    body = await gql(aliased(DEFAULTS.aliases))
    assert "errors" not in body and len(body["data"]) == 15
    too_complex(await gql(aliased(DEFAULTS.aliases + 1)), "aliases")


async def test_typename_aliases_are_exempt(gql: GraphQL) -> None:
    query = "{ " + " ".join(f"t{i}: __typename" for i in range(40)) + " }"
    body = await gql(query)
    assert "errors" not in body and len(body["data"]) == 40


# --- directives --------------------------------------------------------------------------


def directed(n: int) -> str:
    return "{ " + " ".join("__typename @include(if: true)" for _ in range(n)) + " }"


async def test_directives_just_under_and_over_the_default(gql: GraphQL) -> None:
    assert await gql(directed(DEFAULTS.directives)) == {"data": {"__typename": "Query"}}
    too_complex(await gql(directed(DEFAULTS.directives + 1)), "directives")


# --- tokens ------------------------------------------------------------------------------


def tokens(n: int) -> str:
    """A valid document of exactly n lexical tokens: operations `query Qi { __typename }`.

    (Many operations rather than one with many fields: graphql-core's overlapping-fields
    check has its own complexity budget, which thousands of identical fields exhaust.)
    """
    count, extra = divmod(n, 5)
    ops = [f"query Q{i} {{ __typename }}" for i in range(count)]
    ops[0] = "query Q0 { __typename" + " __typename" * extra + " }"
    return "\n".join(ops)


async def test_tokens_just_under_and_over_the_default(client: TestClient[Any, Any]) -> None:
    assert await post(client, tokens(DEFAULTS.tokens), operation_name="Q0") == {
        "data": {"__typename": "Query"}
    }
    too_complex(await post(client, tokens(DEFAULTS.tokens + 1), operation_name="Q0"), "tokens")


# --- cost --------------------------------------------------------------------------------


async def test_cost_just_under_and_over_a_configured_limit(
    make_client: MakeClient, world: World
) -> None:
    # given a cost limit of 4: `viewer` (1) + three scalars (3)
    client = await make_client(max_cost=4)
    body = await post(client, VIEWER_FIELDS, headers=world.a_owner.headers)
    assert body["data"]["viewer"]["kind"] == "STAFF"
    # when one more field is asked, then the operation is too costly
    over = "{ viewer { kind partnerId scopes expiresAt } }"
    too_complex(await post(client, over, headers=world.a_owner.headers), "cost")


PAGE_BY_VARIABLE = "query($n: Int) { members(first: $n) { edges { node { id } } } }"


async def test_cost_by_variable_is_measured_for_each_value_even_when_cached(
    make_client: MakeClient, world: World
) -> None:
    # given a cost limit of 40: `members` (1) + n x (edges, node, id = 3)
    client = await make_client(max_cost=40)
    owner = world.a_owner.headers
    # when the same document comes with page sizes under, over, under the limit again
    for n, allowed in ((5, True), (20, False), (13, True), (5, True), (20, False)):
        body = await post(client, PAGE_BY_VARIABLE, {"n": n}, headers=owner)
        # then each answer follows its own variables (cached measures never cross values)
        if allowed:
            assert "errors" not in body, (n, body)
        else:
            too_complex(body, "cost")
            assert only_error(body)["extensions"]["value"] == 1 + n * 3
    # a boolean is not the Int 1 it hashes like: measured with the default page size (20),
    # not served the cached measures of `n: 1`
    assert "errors" not in await post(client, PAGE_BY_VARIABLE, {"n": 1}, headers=owner)
    body = await post(client, PAGE_BY_VARIABLE, {"n": True}, headers=owner)
    too_complex(body, "cost")
    assert only_error(body)["extensions"]["value"] == 1 + 20 * 3


CONNECTION_SDL = """
type Query { items(first: Int = 20, after: String): ItemConnection }
type ItemConnection { edges: [ItemEdge!]! }
type ItemEdge { node: Item! }
type Item { id: ID! children(first: Int = 20): ItemConnection }
"""


def test_cost_multiplies_by_page_sizes() -> None:
    # A connection's selection costs page-size times; omitted `first` counts as 20.
    schema = build_sdl_schema(CONNECTION_SDL)
    flat = measure(schema, parse("{ items(first: 100) { edges { node { id } } } }"))
    nested_ = measure(
        schema,
        parse(
            "{ items(first: 100) { edges { node { children(first: 100) { edges { node { id } } } } } } }"  # noqa: E501
        ),
    )
    omitted = measure(schema, parse("{ items { edges { node { id } } } }"))
    by_variable = measure(
        schema,
        parse("query($n: Int) { items(first: $n) { edges { node { id } } } }"),
        variables={"n": 5},
    )
    assert flat is not None and nested_ is not None and omitted is not None
    assert by_variable is not None
    assert flat.stats.cost == 1 + 100 * 3
    assert nested_.stats.cost == 1 + 100 * (1 + 1 + 1 + 100 * 3)
    assert omitted.stats.cost == 1 + 20 * 3
    assert by_variable.stats.cost == 1 + 5 * 3 and by_variable.uses_variables
    # 100 x 100 x 100 rows: far over the default cost limit
    three = "{ items(first: 100) { edges { node { children(first: 100) { edges { node { children(first: 100) { edges { node { id } } } } } } } } } }"  # noqa: E501
    deep = measure(schema, parse(three))
    assert deep is not None
    assert [e.extensions["limit"] for e in violations(DEFAULTS, deep)] == ["cost"]
    assert violations(DEFAULTS, nested_) == [] or nested_.stats.cost > DEFAULTS.cost


def test_fragments_are_measured_once_each_but_counted_per_spread() -> None:
    # A fragment bomb (each fragment spreads the next twice) measures in linear time.
    schema = build_schema()._schema
    levels = 60
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    document = parse(f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}")
    result = measure(schema, document)
    assert result is not None and result.stats.cost == 2**levels


# --- string lengths ----------------------------------------------------------------------


async def test_string_arguments_just_under_and_over_the_default(gql: GraphQL) -> None:
    n = DEFAULTS.string_length
    at_limit = f'mutation {{ partnerLogin(email: "{"e" * n}", password: "x") {{ accessToken }} }}'
    assert error_codes(await gql(at_limit)) == ["UNAUTHENTICATED"]
    over = f'mutation {{ partnerLogin(email: "{"e" * (n + 1)}", password: "x") {{ accessToken }} }}'
    too_complex(await gql(over), "stringLength")


async def test_string_variables_just_under_and_over_the_default(gql: GraphQL) -> None:
    n = DEFAULTS.string_length
    assert error_codes(await gql(LOGIN, {"email": "e" * n, "password": "x"})) == ["UNAUTHENTICATED"]
    too_complex(await gql(LOGIN, {"email": "e", "password": "p" * (n + 1)}), "stringLength")


async def test_limits_apply_to_get_requests_too(client: TestClient[Any, Any]) -> None:
    response = await client.get(
        "/graphql",
        params={"query": aliased(DEFAULTS.aliases + 1)},
        headers={"Apollo-Require-Preflight": "1"},
    )
    too_complex(await response.json(), "aliases")
