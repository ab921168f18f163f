"""What the gateway discloses: no schema where introspection is off (operators keep it), no
versions, /metrics behind a token; gzip on request, enum statuses on CSV, one date-time form."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.storage.mongo import Database
from schema import build_schema
from tests.activations_fixtures import given_activation
from tests.conftest import World, error_codes
from tests.hardening_fixtures import MakeClient, make_client
from tests.live import LiveClient

__all__ = ["make_client"]

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SCHEMA_TYPES = frozenset(build_schema()._schema.type_map)
GENERATE = """
mutation($n: Int!) { generateVouchers(input: {quantity: $n, prefix: "GZ"}) {
  vouchers { id code createdAt expiresAt } } }"""
VOUCHERS = "{ vouchers(first: 100) { edges { node { code status createdAt } } } }"
# (operation, variables, who): each one a mistake whose standard message names the schema
PROBES: list[tuple[str, dict[str, Any], str]] = [
    ("{ produts { totalCount } }", {}, "a_app"),  # field
    ("{ products(frist: 1) { totalCount } }", {}, "a_app"),  # argument
    ("{ products }", {}, "a_app"),  # "must have a selection of subfields"
    ("{ products { totalCount { x } } }", {}, "a_app"),  # leaf with a selection
    ("{ vouchers(status: ACTIV) { totalCount } }", {}, "a_owner"),  # enum value
    ("mutation { generateVouchers(input: {quantiy: 1}) { vouchers { id } } }", {}, "a_owner"),
    ("query($s: VoucherStatu) { vouchers(status: $s) { totalCount } }", {}, "a_owner"),  # type
    ("query($s: String) { vouchers(status: $s) { totalCount } }", {"s": "x"}, "a_owner"),
    (
        "query($s: VoucherStatus) { vouchers(status: $s) { totalCount } }",
        {"s": "ACTIV"},
        "a_owner",
    ),  # enum value in variables
    (
        "mutation($i: GenerateVouchersInput!) { generateVouchers(input: $i) { vouchers { id } } }",
        {"i": {"quantiy": 1}},
        "a_owner",
    ),  # input field in variables
    ("{ ticketStats { __typename } }", {}, "a_owner"),  # required arguments
]


def disclosed(message: str) -> list[str]:
    """Schema names or suggestions a message gives away."""
    found = [name for name in SCHEMA_TYPES if f"'{name}" in message]
    found += ["suggestion"] if "Did you mean" in message else []
    return found


async def messages(client: TestClient[Any, Any], world: World, probe: tuple[Any, ...]) -> list[str]:
    query, variables, who = probe
    headers = getattr(world, who).headers
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = await response.json()
    assert error_codes(body), body
    return [e["message"] for e in body["errors"]]


@pytest.mark.parametrize("probe", PROBES, ids=[p[0][:40] for p in PROBES])
async def test_without_introspection_no_message_discloses_the_schema(
    make_client: MakeClient, world: World, probe: tuple[Any, ...]
) -> None:
    client = await make_client(introspection=False)
    for message in await messages(client, world, probe):
        assert disclosed(message) == [], message


async def test_the_same_holds_in_production(make_client: MakeClient, world: World) -> None:
    client = await make_client(env="production", rate_limit=False)
    for probe in PROBES:
        for message in await messages(client, world, probe):
            assert disclosed(message) == [], message
    response = await client.post("/graphql", json={"query": "{ products }"})
    (error,) = (await response.json())["errors"]
    assert error["message"] == "Field 'products' must have a selection of subfields."


async def test_operators_keep_introspection_and_suggestions(
    make_client: MakeClient, world: World
) -> None:
    client = await make_client(introspection=False)
    response = await client.post(
        "/graphql", json={"query": "{ partnrs { totalCount } }"}, headers=world.operator.headers
    )
    (error,) = (await response.json())["errors"]
    assert "Did you mean" in error["message"]
    response = await client.post(
        "/graphql",
        json={"query": "{ __schema { queryType { name } } }"},
        headers=world.operator.headers,
    )
    assert (await response.json())["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_development_keeps_helpful_messages(
    client: TestClient[Any, Any], world: World
) -> None:
    (message,) = await messages(client, world, ("{ produts { totalCount } }", {}, "a_app"))
    assert "Did you mean 'products'" in message


async def test_subscription_errors_are_concealed_too(make_client: MakeClient, world: World) -> None:
    client = await make_client(introspection=False)
    live = await LiveClient.connect(
        client, payload={"authorization": world.a_owner.headers["Authorization"]}
    )
    await live.subscribe("1", "subscription { memberJoind { id } }")
    message = await live.message()
    assert message["type"] == "error"
    assert all(disclosed(e["message"]) == [] for e in message["payload"]), message


# --- headers, metrics ------------------------------------------------------------------------


async def test_the_server_header_names_no_version(client: TestClient[Any, Any]) -> None:
    for path in ("/graphql?query=%7B__typename%7D", "/healthz", "/nowhere"):
        response = await client.get(path, headers={"Apollo-Require-Preflight": "1"})
        assert response.headers["Server"] == "oooc-gateway"


async def test_metrics_need_the_token_when_one_is_set(make_client: MakeClient) -> None:
    client = await make_client(env="production", metrics_token="m" * 8 + "3tr1cs-t0ken-xyz")
    assert (await client.get("/metrics")).status == 403
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope-nope-nope-nope"})
    assert wrong.status == 403
    basic = await client.get("/metrics", headers={"Authorization": "Basic abc"})
    assert basic.status == 403
    right = await client.get(
        "/metrics", headers={"Authorization": "Bearer mmmmmmmm3tr1cs-t0ken-xyz"}
    )
    assert right.status == 200
    assert "gateway_mongo_commands_total" in await right.text()


async def test_production_metrics_without_a_token_answer_loopback_only(
    make_client: MakeClient,
) -> None:
    client = await make_client(env="production")
    # the test client connects from 127.0.0.1: a scraper beside the gateway
    assert (await client.get("/metrics")).status == 200


async def test_a_short_metrics_token_is_refused_at_start(make_client: MakeClient) -> None:
    from gateway.settings import SettingsError

    with pytest.raises(SettingsError, match="GATEWAY_METRICS_TOKEN"):
        await make_client(metrics_token="short")


# --- gzip --------------------------------------------------------------------------------------


async def test_graphql_answers_are_gzipped_when_asked(
    client: TestClient[Any, Any], world: World
) -> None:
    await client.post("/graphql", json={"query": GENERATE, "variables": {"n": 60}},
                      headers=world.a_owner.headers)  # fmt: skip
    asked = await client.post(
        "/graphql",
        json={"query": VOUCHERS},
        headers={**world.a_owner.headers, "Accept-Encoding": "gzip"},
    )
    assert asked.headers.get("Content-Encoding") == "gzip"
    assert len((await asked.json())["data"]["vouchers"]["edges"]) == 60
    plain = await client.post(
        "/graphql",
        json={"query": VOUCHERS},
        headers={**world.a_owner.headers, "Accept-Encoding": "identity"},
    )
    assert "Content-Encoding" not in plain.headers
    small = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Accept-Encoding": "gzip"}
    )
    assert "Content-Encoding" not in small.headers  # not worth it under 1 kB


async def test_csv_exports_are_gzipped_and_take_enum_statuses(
    client: TestClient[Any, Any], world: World
) -> None:
    await client.post("/graphql", json={"query": GENERATE, "variables": {"n": 30}},
                      headers=world.a_owner.headers)  # fmt: skip
    texts = {}
    for status in ("ACTIVE", "active", "Active"):
        response = await client.get(
            f"/export/vouchers.csv?status={status}",
            headers={**world.a_owner.headers, "Accept-Encoding": "gzip"},
        )
        assert response.status == 200, await response.text()
        assert response.headers["Content-Encoding"] == "gzip"
        texts[status] = await response.text()
    assert texts["ACTIVE"] == texts["active"] == texts["Active"]
    rows = texts["ACTIVE"].strip().split("\r\n")
    assert len(rows) == 31
    created = rows[1].split(",")[4].strip('"')
    assert ISO_MS_Z.match(created), created
    bad = await client.get("/export/vouchers.csv?status=USED", headers=world.a_owner.headers)
    assert bad.status == 400
    assert "ACTIVE" in (await bad.json())["errors"][0]["message"]


# --- one date-time form ------------------------------------------------------------------------


async def test_every_surface_prints_utc_milliseconds_and_z(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    response = await client.post(
        "/graphql", json={"query": GENERATE, "variables": {"n": 1}}, headers=world.a_owner.headers
    )
    (voucher,) = (await response.json())["data"]["generateVouchers"]["vouchers"]
    assert ISO_MS_Z.match(voucher["createdAt"]), voucher
    activation, token = await given_activation(db, world.partner_a)
    stats = await client.get(f"/api/partner-stats/{activation['_id']}?token={token}")
    data = (await stats.json())["data"]
    assert ISO_MS_Z.match(data["range"]["startAt"]), data["range"]
    response = await client.post(
        "/graphql",
        json={
            "query": "query($id: ID!) { activation(id: $id) { startAt endAt createdAt } }",
            "variables": {"id": activation["_id"]},
        },
        headers=world.a_owner.headers,
    )
    times = (await response.json())["data"]["activation"]
    assert all(ISO_MS_Z.match(v) for v in times.values()), times
