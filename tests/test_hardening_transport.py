"""Transport hardening: CSRF, batching, size caps, CORS, security headers, production mode."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import WSCloseCode, WSMsgType
from aiohttp.test_utils import TestClient
from graphql import GraphQLError

from gateway.auth.issue import keyring_from, operator_token
from gateway.core.errors import NotFound
from gateway.http.keys import SERVICES
from gateway.settings import SettingsError
from gateway.storage.mongo import Database
from schema.extensions import MASKED_MESSAGE, public_error
from tests.conftest import TEST_JWT_KEYS, World, error_codes, make_settings, only_error
from tests.hardening_fixtures import JSON_HEADERS, MakeClient, make_client, post
from tests.live import close_code

__all__ = ["make_client"]

TYPENAME = "{ __typename }"
CREATE_PARTNER = "mutation($name: String!) { createPartner(input: {name: $name}) { id } }"
INTROSPECTION = "{ __schema { queryType { name } } }"
PREFLIGHT = {"Apollo-Require-Preflight": "true"}


def csrf_refused(status: int, body: dict[str, Any]) -> None:
    assert status == 400, body
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "cross-site request forgery" in error["message"]


# --- CSRF --------------------------------------------------------------------------------


async def test_get_without_a_preflight_header_is_refused(client: TestClient[Any, Any]) -> None:
    response = await client.get("/graphql", params={"query": TYPENAME})
    csrf_refused(response.status, await response.json())


@pytest.mark.parametrize(
    "header",
    [
        {"Apollo-Require-Preflight": "true"},
        {"X-Apollo-Operation-Name": "Anything"},
        {"X-Requested-With": "XMLHttpRequest"},
    ],
)
async def test_get_with_a_preflight_forcing_header_runs(
    client: TestClient[Any, Any], header: dict[str, str]
) -> None:
    response = await client.get("/graphql", params={"query": TYPENAME}, headers=header)
    assert response.status == 200
    assert await response.json() == {"data": {"__typename": "Query"}}


async def test_get_with_an_api_key_counts_as_preflighted(
    client: TestClient[Any, Any], world: World
) -> None:
    response = await client.get(
        "/graphql", params={"query": "{ viewer { kind } }"}, headers=world.a_app.headers
    )
    assert (await response.json())["data"]["viewer"]["kind"] == "APP"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_simple_content_type_mutations_are_refused_and_write_nothing(
    client: TestClient[Any, Any], world: World, db: Database, content_type: str | None
) -> None:
    # given an operator's bearer token (Authorization is not a preflight-forcing X- header)
    name = f"CSRF {uuid.uuid4().hex[:6]}"
    body = orjson.dumps({"query": CREATE_PARTNER, "variables": {"name": name}})
    headers = dict(world.operator.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    # when the mutation arrives with a body a form or fetch(no-cors) could send
    response = await client.post("/graphql", data=body, headers=headers)
    # then it is refused before anything runs
    csrf_refused(response.status, await response.json())
    assert await db.partners.count_documents({"name": name}) == 0


async def test_json_post_runs(client: TestClient[Any, Any], world: World, db: Database) -> None:
    name = f"JSON {uuid.uuid4().hex[:6]}"
    body = await post(client, CREATE_PARTNER, {"name": name}, headers=world.operator.headers)
    assert body["data"]["createPartner"]["id"].startswith("par_")
    assert await db.partners.count_documents({"name": name}) == 1


async def test_mutations_never_run_over_get(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    name = f"GET {uuid.uuid4().hex[:6]}"
    response = await client.get(
        "/graphql",
        params={"query": CREATE_PARTNER, "variables": orjson.dumps({"name": name}).decode()},
        headers={**world.operator.headers, **PREFLIGHT},
    )
    assert response.status == 400
    assert error_codes(await response.json()) == ["BAD_USER_INPUT"]
    assert await db.partners.count_documents({"name": name}) == 0


# --- batching ----------------------------------------------------------------------------


async def test_array_batches_are_refused_by_default(client: TestClient[Any, Any]) -> None:
    batch = [{"query": TYPENAME}, {"query": TYPENAME}]
    response = await client.post("/graphql", json=batch)
    assert response.status == 400
    error = only_error(await response.json())
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Batching is not enabled" in error["message"]


async def test_batches_up_to_the_configured_cap(make_client: MakeClient) -> None:
    client = await make_client(max_batch=2)
    ok = await client.post("/graphql", json=[{"query": TYPENAME}, {"query": TYPENAME}])
    assert await ok.json() == [{"data": {"__typename": "Query"}}] * 2
    over = await client.post("/graphql", json=[{"query": TYPENAME}] * 3)
    assert over.status == 400
    assert "Too many operations" in only_error(await over.json())["message"]


# --- size caps ---------------------------------------------------------------------------


def padded_body(size: int) -> bytes:
    base = orjson.dumps({"query": TYPENAME, "variables": {"pad": ""}})
    return base.replace(b'"pad":""', b'"pad":"' + b"x" * (size - len(base)) + b'"')


async def test_body_just_under_the_cap_runs_and_over_is_413(client: TestClient[Any, Any]) -> None:
    cap = 256 * 1024
    ok = await client.post("/graphql", data=padded_body(cap), headers=JSON_HEADERS)
    assert ok.status == 200, await ok.text()
    over = await client.post("/graphql", data=padded_body(cap + 1), headers=JSON_HEADERS)
    assert over.status == 413
    assert only_error(await over.json())["message"].startswith("Request body too large")


async def test_streamed_body_over_the_cap_is_413(client: TestClient[Any, Any]) -> None:
    # Chunked: no Content-Length to check up front; aiohttp's client_max_size stops it.
    async def chunks() -> AsyncIterator[bytes]:
        body = padded_body(300 * 1024)
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    response = await client.post("/graphql", data=chunks(), headers={**JSON_HEADERS, **PREFLIGHT})
    assert response.status == 413
    assert only_error(await response.json())["message"].startswith("Request body too large")


async def test_websocket_messages_over_the_cap_close_the_socket(
    client: TestClient[Any, Any], world: World
) -> None:
    init = {
        "type": "connection_init",
        "payload": {"authorization": world.operator.headers["Authorization"]},
    }
    async with client.ws_connect("/graphql", protocols=["graphql-transport-ws"]) as ws:
        await ws.send_str(orjson.dumps(init).decode())
        ack = await ws.receive_json()
        assert ack["type"] == "connection_ack"
        await ws.send_str(orjson.dumps({"type": "ping", "payload": {"x": "y" * 70_000}}).decode())
        message = await ws.receive()
        while message.type not in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            message = await ws.receive()
    assert close_code(ws, message) == WSCloseCode.MESSAGE_TOO_BIG


# --- CORS --------------------------------------------------------------------------------

ALLOWED = "https://dashboard.example.com"


async def test_cors_preflight_for_an_allowed_origin(make_client: MakeClient) -> None:
    client = await make_client(cors_origins=ALLOWED)
    response = await client.options(
        "/graphql",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers


async def test_cors_refuses_other_origins(make_client: MakeClient) -> None:
    client = await make_client(cors_origins=ALLOWED)
    preflight = await client.options(
        "/graphql",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    response = await client.post(
        "/graphql", json={"query": TYPENAME}, headers={"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_headers_on_actual_responses(make_client: MakeClient) -> None:
    client = await make_client(cors_origins=ALLOWED)
    response = await client.post("/graphql", json={"query": TYPENAME}, headers={"Origin": ALLOWED})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.headers["Vary"]
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]


async def test_no_cors_headers_without_an_allow_list(client: TestClient[Any, Any]) -> None:
    preflight = await client.options(
        "/graphql", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status == 403


def test_wildcard_with_credentials_is_refused(mongo_uri: str, tmp_path: Any) -> None:
    with pytest.raises(SettingsError, match="cannot be combined"):
        make_settings(mongo_uri, "x", tmp_path, cors_origins="*", cors_allow_credentials=True)
    with pytest.raises(SettingsError):
        make_settings(mongo_uri, "x", tmp_path, cors_origins="https://a.example/path")


async def test_websocket_from_a_foreign_origin_is_refused(make_client: MakeClient) -> None:
    client = await make_client(cors_origins=ALLOWED)
    response = await client.get(
        "/graphql",
        headers={
            "Origin": "https://evil.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol": "graphql-transport-ws",
        },
    )
    assert response.status == 403


# --- security headers --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/graphql", "/healthz", "/no-such-route"])
async def test_security_headers_on_every_response(client: TestClient[Any, Any], path: str) -> None:
    response = await (
        client.post(path, json={"query": TYPENAME}) if path == "/graphql" else client.get(path)
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # development
    assert response.headers["X-Request-ID"]
    if path == "/graphql":
        assert response.headers["Cache-Control"] == "no-store"


async def test_graphiql_in_development_has_a_same_origin_csp(client: TestClient[Any, Any]) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status == 200
    assert response.content_type == "text/html"
    # Vendored GraphiQL (gateway.http.pages): scripts from this origin only, none inline.
    assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


# --- production mode ---------------------------------------------------------------------


@pytest.fixture
async def prod(make_client: MakeClient) -> TestClient[Any, Any]:
    return await make_client(env="production", jwt_keys=TEST_JWT_KEYS)


async def test_production_sends_hsts_and_hides_graphiql(prod: TestClient[Any, Any]) -> None:
    response = await prod.get("/graphql", headers={"Accept": "text/html"})
    assert response.status == 404
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


async def test_production_refuses_introspection_except_for_the_operator(
    prod: TestClient[Any, Any], world: World
) -> None:
    for persona in (world.anonymous, world.a_owner, world.a_app):
        body = await post(prod, INTROSPECTION, headers=persona.headers)
        assert set(error_codes(body)) == {"BAD_USER_INPUT"}, persona.name
        assert "introspection has been disabled" in body["errors"][0]["message"]
        assert body.get("data") is None
    body = await post(prod, INTROSPECTION, headers=world.operator.headers)
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_operator_exemption_can_be_switched_off(
    make_client: MakeClient, world: World
) -> None:
    client = await make_client(
        env="production", jwt_keys=TEST_JWT_KEYS, introspection_for_operator=False
    )
    body = await post(client, INTROSPECTION, headers=world.operator.headers)
    assert set(error_codes(body)) == {"BAD_USER_INPUT"} and body.get("data") is None


async def test_field_suggestions_only_outside_production(
    client: TestClient[Any, Any], prod: TestClient[Any, Any]
) -> None:
    dev = only_error(await post(client, "{ viewr { kind } }"))
    assert "Did you mean" in dev["message"]
    production = only_error(await post(prod, "{ viewr { kind } }"))
    assert production["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Did you mean" not in production["message"]
    assert "viewer" not in production["message"]


async def test_production_masks_unexpected_errors(make_client: MakeClient) -> None:
    # given a production gateway whose MongoDB connection has gone away
    client = await make_client(env="production", jwt_keys=TEST_JWT_KEYS, rate_limit=False)
    settings = client.server.app[SERVICES].settings
    token = operator_token(keyring_from(settings), settings, "tests").token
    await client.server.app[SERVICES].db.client.close()
    # when a resolver needs the database
    body = await post(
        client,
        '{ partner(id: "par_abcdefghijkl") { name } }',
        headers={"Authorization": f"Bearer {token}"},
    )
    # then the client sees a fixed message and code, nothing of the exception
    error = only_error(body)
    assert error == {
        "message": MASKED_MESSAGE,
        "locations": error["locations"],
        "path": ["partner"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }
    text = orjson.dumps(body).decode()
    assert "Mongo" not in text and "close" not in text.lower()


def test_public_error_masks_only_unexpected_errors() -> None:
    unexpected = GraphQLError("boom", original_error=RuntimeError("secret detail"))
    masked = public_error(unexpected, masked=True)
    assert masked.message == MASKED_MESSAGE
    assert masked.extensions == {"code": "INTERNAL_SERVER_ERROR"}
    assert public_error(unexpected, masked=False).message == "secret detail"
    expected = GraphQLError("x", original_error=NotFound("Partner not found."))
    assert public_error(expected, masked=True).message == "Partner not found."
    assert public_error(expected, masked=True).extensions == {"code": "NOT_FOUND"}
