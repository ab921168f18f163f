"""GraphQL over HTTP basics and the plain endpoints, through the real app."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from gateway.storage.mongo import Database
from tests.conftest import GraphQL, World, error_codes

TYPENAME = "{ __typename }"
VIEWER = "query Who { viewer { kind partnerId scopes } }"
CREATE_PARTNER = 'mutation { createPartner(input: {name: "Via Get"}) { id } }'


async def test_typename_answers_on_the_embedded_store(gql: GraphQL) -> None:
    assert await gql(TYPENAME) == {"data": {"__typename": "Query"}}


async def test_get_runs_queries(client: TestClient[Any, Any]) -> None:
    # GET needs a preflight-forcing header (CSRF prevention, see tests/test_hardening*.py).
    response = await client.get(
        "/graphql", params={"query": VIEWER}, headers={"Apollo-Require-Preflight": "1"}
    )
    assert response.status == 200
    assert (await response.json())["data"]["viewer"]["kind"] == "ANONYMOUS"


async def test_get_refuses_mutations(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    response = await client.get(
        "/graphql",
        params={"query": CREATE_PARTNER},
        headers={**world.operator.headers, "Apollo-Require-Preflight": "1"},
    )
    assert response.status == 400
    assert await db.partners.count_documents({"name": "Via Get"}) == 0


async def test_malformed_body_is_400(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/graphql", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400


async def test_syntax_error_is_bad_user_input(gql: GraphQL) -> None:
    body = await gql("{ viewer { ", expect_status=200)
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_invalid_credential_is_401_not_anonymous(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": "Bearer not-a-jwt"}
    )
    assert response.status == 401
    assert error_codes(await response.json()) == ["UNAUTHENTICATED"]


async def test_healthz_and_readyz(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["mongodb"] == "up"


async def test_metrics_expose_the_named_series(client: TestClient[Any, Any], gql: GraphQL) -> None:
    await gql(VIEWER)
    text = await (await client.get("/metrics")).text()
    for name in (
        "gateway_mongo_commands_total{",
        'gateway_graphql_operations_total{operation_type="query",outcome="ok"}',
        "gateway_http_request_duration_seconds_bucket{",
        "gateway_active_subscriptions ",
    ):
        assert name in text, name


async def test_request_durations_are_counted_by_route_and_status_class(
    client: TestClient[Any, Any], gql: GraphQL
) -> None:
    def counts(text: str) -> dict[str, float]:
        prefix = "gateway_http_request_duration_seconds_count"
        return {
            line.split("{", 1)[1].split("}", 1)[0]: float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith(prefix + "{")
        }

    graphql_ok = 'route="/graphql",status="2xx"'
    unmatched = 'route="unmatched",status="4xx"'
    before = counts(await (await client.get("/metrics")).text())
    for _ in range(3):  # the same series each time (children are looked up once)
        await gql(VIEWER)
        assert (await client.get("/no-such-page")).status == 404
    after = counts(await (await client.get("/metrics")).text())
    assert after[graphql_ok] == before.get(graphql_ok, 0) + 3
    assert after[unmatched] == before.get(unmatched, 0) + 3
    assert after['route="/metrics",status="2xx"'] >= 1


async def test_mongo_command_counter_counts_sent_commands(
    client: TestClient[Any, Any], gql: GraphQL, world: World
) -> None:
    def partner_finds(text: str) -> float:
        for line in text.splitlines():
            if line.startswith('gateway_mongo_commands_total{command="find"}'):
                return float(line.split()[-1])
        return 0.0

    before = partner_finds(await (await client.get("/metrics")).text())
    body = await gql("{ partner { name } }", as_=world.a_owner)
    assert body["data"]["partner"]["name"].startswith("Partner A")
    after = partner_finds(await (await client.get("/metrics")).text())
    assert after >= before + 1
