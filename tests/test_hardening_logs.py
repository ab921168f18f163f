"""Structured access logs: one JSON line per request, no credentials anywhere in the logs."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from tests import test_ops_logs as ops_logs
from tests.conftest import World

# Empty log throttles per test: the anonymous caller's key is its address (127.0.0.1, every
# test's), so earlier tests' error lines within the minute held this test's lines back.
fresh_throttles = ops_logs.fresh_throttles

ACCESS = "gateway.access"
VIEWER = "query Who { viewer { kind } }"
LOGIN = (
    "mutation Login($email: String!, $password: String!) "
    "{ partnerLogin(email: $email, password: $password) { accessToken refreshToken } }"
)
ACTIVATION_TOKEN = "tok_q8Zr3sXbVw1LmN0pKs7T"


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [orjson.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS]


def gateway_log_text(caplog: pytest.LogCaptureFixture) -> str:
    # aiohttp's own access logger is left out: it prints the request line (query string
    # included) and `gateway serve` switches it off (`access_log=None`).
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.name != "aiohttp.access"
    )


async def test_no_credentials_reach_the_logs(
    client: TestClient[Any, Any], world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bearer = world.a_owner.headers["Authorization"].split()[1]
    api_key = world.a_app.extra["key"]
    email, password = world.a_manager.extra["email"], world.a_manager.extra["password"]
    # when requests carry a bearer token, an API key, a token in the URL and a password
    await client.post("/graphql", json={"query": VIEWER}, headers=world.a_owner.headers)
    await client.post("/graphql", json={"query": VIEWER}, headers=world.a_app.headers)
    await client.get(f"/api/partner-stats/act_abcdefghijkl?token={ACTIVATION_TOKEN}&format=csv")
    await client.get(
        "/graphql",
        params={"query": VIEWER, "token": ACTIVATION_TOKEN},
        headers={"Apollo-Require-Preflight": "1"},
    )
    login = await client.post(
        "/graphql", json={"query": LOGIN, "variables": {"email": email, "password": password}}
    )
    issued = (await login.json())["data"]["partnerLogin"]
    await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": email, "password": "wrong-" + password}},
    )
    await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": "Bearer not.a.valid-jwt"}
    )
    # then none of those secrets appears in any gateway log record
    text = gateway_log_text(caplog)
    assert len(access_lines(caplog)) == 7
    for secret in (
        bearer,
        api_key,
        ACTIVATION_TOKEN,
        password,
        issued["accessToken"],
        issued["refreshToken"],
        "not.a.valid-jwt",
    ):
        assert secret not in text


async def test_one_json_line_per_request_with_its_facts(
    client: TestClient[Any, Any], world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    response = await client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={**world.a_owner.headers, "X-Request-ID": "req-123.abc"},
    )
    assert response.headers["X-Request-ID"] == "req-123.abc"
    (line,) = access_lines(caplog)
    assert line["requestId"] == "req-123.abc"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
    assert line["principal"] == {"kind": "staff", "id": world.a_owner.subject_id}
    digest = hashlib.sha256(VIEWER.encode()).hexdigest()
    assert line["operations"] == [{"name": "Who", "type": "query", "documentHash": digest}]
    assert (line["outcome"], line["errorCodes"]) == ("ok", [])
    assert line["mongoCommands"] >= 1  # the staff session check at least
    assert isinstance(line["durationMs"], float | int)


async def test_errors_and_unsafe_request_ids(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    unsafe = "x" * 200
    response = await client.post(
        "/graphql", json={"query": "{ nope }"}, headers={"X-Request-ID": unsafe}
    )
    generated = response.headers["X-Request-ID"]
    assert generated != unsafe and re.fullmatch("[0-9a-f]{32}", generated)
    (line,) = access_lines(caplog)
    assert line["requestId"] == generated
    # without the header too, and a fresh one per request
    again = await client.post("/graphql", json={"query": "{ nope }"})
    assert re.fullmatch("[0-9a-f]{32}", again.headers["X-Request-ID"])
    assert again.headers["X-Request-ID"] != generated
    assert (line["outcome"], line["errorCodes"]) == ("error", ["BAD_USER_INPUT"])
    assert line["principal"] == {"kind": "anonymous", "id": None}
    assert line["mongoCommands"] == 0


async def test_paths_are_logged_without_query_strings(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    await client.get(f"/api/partner-stats/act_abcdefghijkl?token={ACTIVATION_TOKEN}")
    (line,) = access_lines(caplog)
    assert line["path"] == "/api/partner-stats/act_abcdefghijkl"
    assert line["status"] == 404


async def test_no_line_is_made_while_the_access_log_is_off(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # Given the access log switched off (its logger above INFO)
    caplog.set_level(logging.WARNING, logger=ACCESS)
    # When a caller sends more failing requests than a minute's error lines (10)
    for _ in range(12):
        response = await client.post("/graphql", json={"query": "{ nope }"})
        assert response.status == 200
        assert re.fullmatch("[0-9a-f]{32}", response.headers["X-Request-ID"])
    # Then no line was written, nor made and counted against the minute's error lines:
    # once the log is on again, the next one is written, with nothing suppressed
    assert access_lines(caplog) == []
    caplog.set_level(logging.INFO, logger=ACCESS)
    await client.post("/graphql", json={"query": "{ nope }"})
    (line,) = access_lines(caplog)
    assert line["errorCodes"] == ["BAD_USER_INPUT"] and "suppressed" not in line
