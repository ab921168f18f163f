"""Logs an operator can keep: no secret in any line, one line per expected error, a traceback
once per unexpected error, bounded volume under hostile traffic, refusals charged."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from gateway.http import accesslog
from gateway.storage.mongo import Database
from loaders import partners
from schema import extensions
from tests.activations_fixtures import given_activation
from tests.conftest import World, error_codes
from tests.hardening_fixtures import MakeClient, make_client

__all__ = ["make_client"]

ACCESS = "gateway.access"
INLINE_LOGIN = 'mutation Login { partnerLogin(email: "%s", password: "%s") { accessToken } }'
INLINE_STATS = 'query Stats { activationStats(activationId: "%s", token: "%s") { activationId } }'
VARIABLE_LOGIN = (
    "mutation Login($e: String!, $p: String!) { partnerLogin(email: $e, password: $p) "
    "{ accessToken } }"
)
CREATE_PARTNER = 'mutation { createPartner(input: {name: "Boom Ltd"}) { id } }'


@pytest.fixture(autouse=True)
def fresh_throttles(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test starts with empty throttles (they are per process).
    # Hour-long windows: a slow, shared machine must not roll a window over mid-test.
    monkeypatch.setattr(accesslog, "ERROR_LINES", accesslog.LogThrottle(burst=10, window=3600))
    monkeypatch.setattr(extensions, "UNEXPECTED", extensions.LogThrottle(burst=5, window=3600))


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.name != "aiohttp.access"  # `gateway serve` switches aiohttp's own access log off
    )


def gateway_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name != "aiohttp.access"]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [orjson.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS]


async def test_inline_passwords_and_tokens_never_reach_any_log(
    client: TestClient[Any, Any], world: World, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the level `gateway serve` logs at
    email, password = world.a_owner.extra["email"], world.a_owner.extra["password"]
    activation, token = await given_activation(db, world.partner_a)
    # when passwords (right and wrong) and a token are written inline in failing documents
    for query in (
        INLINE_LOGIN % (email, password),
        INLINE_LOGIN % (email, "wrong-" + password),
        INLINE_LOGIN % (email, password) + " { nope }",  # a parse error carrying them
        INLINE_LOGIN.replace("accessToken", "accessToken unknownField") % (email, password),
        INLINE_STATS % (activation["_id"], token),
        INLINE_STATS.replace("activationId }", "activationId nope }") % (activation["_id"], token),
        INLINE_STATS % ("act_unknown00000", token),
    ):
        await client.post("/graphql", json={"query": query})
    # and in variables of a failing operation
    await client.post(
        "/graphql",
        json={"query": VARIABLE_LOGIN + " { x }", "variables": {"e": email, "p": password}},
    )
    # then no log line holds a literal, a variable or the document
    text = all_log_text(caplog)
    for secret in (password, token, email, "partnerLogin(", "activationStats("):
        assert secret not in text
    # but each operation is identified by name and document hash
    lines = access_lines(caplog)
    assert len(lines) == 8
    named = [op for line in lines for op in line["operations"]]
    assert {op["name"] for op in named} >= {"Login", "Stats"}
    assert all(len(op["documentHash"]) == 64 for op in named)


async def test_expected_client_errors_are_one_line_without_traceback(
    client: TestClient[Any, Any], world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the level `gateway serve` logs at
    cases = [
        ("{ nope }", {}, "BAD_USER_INPUT"),  # validation
        ("{ partner { id } }", {}, "UNAUTHENTICATED"),
        ('{ partner(id: "par_nope00000000") { id } }', world.operator.headers, "NOT_FOUND"),
        ("{ billing(month: 1, year: 2026) { month } }", world.a_analyst.headers, None),
        ('mutation { createPartner(input: {name: "x"}) { id } }', world.a_owner.headers, None),
    ]
    for query, headers, code in cases:
        caplog.clear()
        response = await client.post("/graphql", json={"query": query}, headers=headers)
        body = await response.json()
        codes = error_codes(body)
        assert codes and codes[0] in {code or codes[0]}, body
        records = gateway_records(caplog)
        assert [r.name for r in records] == [ACCESS], [r.getMessage() for r in records]
        assert not records[0].exc_info and not records[0].exc_text
        assert access_lines(caplog)[0]["errorCodes"] == sorted(set(codes))


async def test_an_unexpected_error_logs_its_traceback_once(
    client: TestClient[Any, Any],
    world: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)  # the level `gateway serve` logs at

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(partners, "insert_partner", broken)
    response = await client.post(
        "/graphql", json={"query": CREATE_PARTNER}, headers=world.operator.headers
    )
    assert error_codes(await response.json()) == ["INTERNAL_SERVER_ERROR"]
    with_traceback = [r for r in caplog.records if r.exc_info]
    assert len(with_traceback) == 1
    assert "createPartner" in with_traceback[0].getMessage()
    assert "RuntimeError" in with_traceback[0].getMessage()
    assert not [r for r in caplog.records if r.name.startswith("strawberry")]


async def test_repeated_unexpected_errors_are_capped(
    client: TestClient[Any, Any],
    world: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)  # the level `gateway serve` logs at

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(partners, "insert_partner", broken)
    for _ in range(12):
        await client.post(
            "/graphql", json={"query": CREATE_PARTNER}, headers=world.operator.headers
        )
    assert len([r for r in caplog.records if r.exc_info]) == 5  # the burst, then counted


async def test_log_volume_is_bounded_under_schema_probing(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the level `gateway serve` logs at
    # given the 306-byte request with 60 unknown fields of the issue
    probe = "{ " + " ".join(f"f{i}" for i in range(60)) + " }"
    response = await client.post("/graphql", json={"query": probe})
    assert len((await response.json())["errors"]) == 60
    one = len(all_log_text(caplog).encode())
    assert one < 1_000
    # when a client repeats such probes 300 times (each a new document)
    for round_ in range(300):
        query = "{ " + " ".join(f"g{round_}x{i}" for i in range(60)) + " }"
        await client.post("/graphql", json={"query": query})
    # then the log holds about ten lines and the count of the rest, not 300 lines
    lines = access_lines(caplog)
    assert len(lines) <= 11
    assert len(all_log_text(caplog).encode()) < 12_000


async def test_random_paths_and_ids_do_not_escape_the_aggregation(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for i in range(40):
        await client.get(f"/api/partner-stats/act_probe{i:08d}?token=tok_x")
        await client.get(f"/no/such/path/{i}")
    lines = access_lines(caplog)
    assert len(lines) <= 22  # ten of each route, plus at most one count each
    assert {line["status"] for line in lines} <= {400, 403, 404}


async def test_validation_failures_are_charged_to_the_rate_limit(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given an anonymous budget of 3 units per (day-long) window
    client = await make_client(
        rate_limit=True, rate_limit_window_seconds=86_400, rate_limit_anonymous_cost=3
    )
    # when an anonymous caller sends invalid documents
    statuses = []
    for i in range(5):
        response = await client.post("/graphql", json={"query": f"{{ probe{i} }}"})
        statuses.append((response.status, error_codes(await response.json())))
    # then they spend the budget like operations do, and the fourth is refused
    assert statuses[:3] == [(200, ["BAD_USER_INPUT"])] * 3
    assert statuses[3] == (429, ["RATE_LIMITED"])
    assert statuses[4] == (429, ["RATE_LIMITED"])
