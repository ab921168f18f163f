"""GraphQL over HTTP: the MUST and SHOULD cases of graphql-http's server audit, as HTTP tests,
plus the audit itself (opt-in: runs when node and npm are on the machine)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

ROOT = Path(__file__).resolve().parent.parent
GRAPHQL_HTTP_VERSION = "1.23.1"  # the npm package whose `auditServer` this file mirrors
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
TYPENAME = {"query": "{ __typename }"}
UNKNOWN_FIELD = {"query": "{ 8f31403dfe404bccbb0e835f2629c6a7 }"}
COERCION_FAILURE = {
    "query": "query CoerceFailure($id: ID!){ __typename }",
    "variables": {"id": None},
}


async def send(
    client: TestClient[Any, Any], body: Any, accept: str | None, raw: bytes | None = None
) -> tuple[int, str, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if accept is not None:
        headers["Accept"] = accept
    data = raw if raw is not None else orjson.dumps(body)
    response = await client.post("/graphql", data=data, headers=headers)
    content_type = response.headers.get("Content-Type", "")
    return response.status, content_type, orjson.loads(await response.read())


# --- media types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),  # 22EB
        (JSON, JSON),  # 4655
        ("*/*", JSON),  # 47DE
        (None, JSON),  # 80D8
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", JSON),
        (f"{JSON};q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        ("application/*", JSON),
    ],
)
async def test_the_response_media_type_follows_accept(
    client: TestClient[Any, Any], accept: str | None, expected: str
) -> None:
    status, content_type, body = await send(client, TYPENAME, accept)
    assert status == 200
    assert content_type.split(";")[0] == expected
    assert "charset=utf-8" in content_type  # 82A3
    assert body == {"data": {"__typename": "Query"}}


async def test_utf8_requests_are_accepted(client: TestClient[Any, Any]) -> None:
    # BF61, 78D5
    query = {"query": '{ __type(name: "Run🏃Swim🏊") { name } }'}
    response = await client.post(
        "/graphql",
        data=orjson.dumps(query),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status == 200
    assert await response.json() == {"data": {"__type": None}}


# --- request parameters -----------------------------------------------------------------------


async def test_a_post_without_content_type_is_a_4xx(client: TestClient[Any, Any]) -> None:
    # 9ABE
    response = await client.post("/graphql", data=orjson.dumps(TYPENAME))
    assert 400 <= response.status < 500
    assert response.content_type == JSON


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ __typename }", "operationName": None, "variables": None, "extensions": None},
        {"query": "query A { __typename }", "operationName": "A"},
        {"query": "{ __typename }", "variables": {"some": "value"}},
        {"query": "{ __typename }", "extensions": {"some": "value"}},
    ],
)
async def test_string_null_and_map_parameters_are_allowed(
    client: TestClient[Any, Any], accept: str, body: dict[str, Any]
) -> None:
    # 34A2 13EE 8161 B8B3 94B0 0220 0221 0222 2EA1 28B9 428F 1B7A
    status, _, answer = await send(client, body, accept)
    assert status == 200
    assert answer == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("parameter", ["query", "operationName", "variables", "extensions"])
@pytest.mark.parametrize("value", [{"obj": "ect"}, 0, False, ["array"], "string"])
async def test_parameters_of_a_wrong_type_are_a_400(
    client: TestClient[Any, Any], parameter: str, value: Any
) -> None:
    # LKJ0-3, 6C00-3, 4760-3: coded JSON errors
    if parameter in ("query", "operationName") and isinstance(value, str):
        return  # strings are right for these two
    if parameter in ("variables", "extensions") and isinstance(value, dict):
        return
    body = {"query": "{ __typename }", parameter: value}
    status, content_type, answer = await send(client, body, JSON)
    assert status == 400 and content_type.startswith(JSON), answer
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"`{parameter}`" in answer["errors"][0]["message"]


async def test_a_missing_query_is_a_400(client: TestClient[Any, Any]) -> None:
    # 423L, 8764, 3E3A
    status, _, answer = await send(client, {"qeury": "{ __typename }"}, None)
    assert status == 400
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_a_json_parse_failure_is_a_400(client: TestClient[Any, Any], accept: str) -> None:
    # BCF8, B7N8
    status, content_type, answer = await send(client, None, accept, raw=b'{ "not a JSON')
    assert status == 400 and content_type.startswith(accept), answer
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_mutations_over_get_are_a_4xx(client: TestClient[Any, Any]) -> None:
    # 9C48
    response = await client.get(
        "/graphql",
        params={"query": "mutation { __typename }"},
        headers={"Accept": GRAPHQL_RESPONSE, "Apollo-Require-Preflight": "1"},
    )
    assert 400 <= response.status < 500


# --- request errors by media type ----------------------------------------------------------


@pytest.mark.parametrize("body", [{"query": "{"}, UNKNOWN_FIELD, COERCION_FAILURE])
async def test_request_errors_with_application_json_are_200_with_null_data(
    client: TestClient[Any, Any], body: dict[str, Any]
) -> None:
    # 572B, FDE2, 7B9B: legacy clients keep their behaviour
    status, content_type, answer = await send(client, body, JSON)
    assert (status, content_type.split(";")[0]) == (200, JSON)
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("body", [{"query": "{"}, UNKNOWN_FIELD, COERCION_FAILURE])
async def test_request_errors_with_graphql_response_json_are_400_without_data(
    client: TestClient[Any, Any], body: dict[str, Any]
) -> None:
    # 865D 556A D586 51FE 74FF 5E5B 86EE
    status, content_type, answer = await send(client, body, GRAPHQL_RESPONSE)
    assert (status, content_type.split(";")[0]) == (400, GRAPHQL_RESPONSE)
    assert "data" not in answer
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_field_errors_with_graphql_response_json_keep_200_and_data(
    client: TestClient[Any, Any],
) -> None:
    # an execution error (with a path) is not a request error: 200, data entry present
    status, _, answer = await send(client, {"query": "{ viewer { kind } partner { id } }"}, None)
    assert status == 200
    status, _, answer = await send(client, {"query": "{ partner { id } }"}, GRAPHQL_RESPONSE)
    assert status == 200 and "data" in answer, answer
    assert answer["errors"][0]["path"] == ["partner"]


# --- the real audit (opt-in: needs node + npm) -----------------------------------------------

AUDIT_SCRIPT = """
const { auditServer } = require('graphql-http');
auditServer({ url: process.argv[process.argv.length - 1] }).then((results) => {
  process.stdout.write(JSON.stringify(results.map((r) => ({
    id: r.id, name: r.name, status: r.status, reason: r.reason || null,
  }))));
});
"""


def audit_package() -> Path | None:
    """graphql-http installed under var/ (npm, once); None when node or npm is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    prefix = Path(os.environ.get("GRAPHQL_HTTP_AUDIT_DIR", ROOT / "var" / "graphql-http-audit"))
    package = prefix / "node_modules" / "graphql-http" / "package.json"
    if not package.exists() or json.loads(package.read_text())["version"] != GRAPHQL_HTTP_VERSION:
        prefix.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
             f"graphql-http@{GRAPHQL_HTTP_VERSION}", "graphql@16"],
            capture_output=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            return None
    return prefix


@pytest.mark.slow
async def test_graphql_http_audit_has_no_failures_and_no_warnings(
    client: TestClient[Any, Any],
) -> None:
    prefix = await asyncio.to_thread(audit_package)
    if prefix is None:
        pytest.skip("node/npm or the graphql-http package are not available")
    process = await asyncio.create_subprocess_exec(
        "node", "-e", AUDIT_SCRIPT, str(client.make_url("/graphql")),
        cwd=prefix, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    results = json.loads(out)
    assert len(results) > 50
    bad = [r for r in results if r["status"] in ("error", "warn")]
    assert bad == []
