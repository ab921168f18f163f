"""Bad input of every shape gets a coded JSON error: never a 500, never text/plain, no traceback."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from gateway.storage.mongo import Database
from tests.activations_fixtures import given_activation
from tests.conftest import World, error_codes, only_error
from tests.hardening_fixtures import JSON_HEADERS, MakeClient, make_client
from tests.live import Closed, LiveClient, close_code

__all__ = ["make_client"]

TYPENAME = "{ __typename }"
PRODUCTS_FIRST = "query($f: Int) { products(first: $f) { totalCount } }"
TICKET_STATS = """
query($from: Date!, $to: Date!) {
  ticketStats(minPurchaseDate: $from, maxPurchaseDate: $to) { __typename }
}"""
TICKET_STATS_LITERAL = """
{ ticketStats(minPurchaseDate: "9999-12-31", maxPurchaseDate: "9999-12-31") { __typename } }"""
CONVERSIONS_FROM = "query($d: DateTime!) { conversions(from: $d) { totalCount } }"
LOGIN = """
mutation($email: String!) { partnerLogin(email: $email, password: "long-enough-pass") {
  accessToken } }"""
STATS_SUBSCRIPTION = """
subscription($id: ID!, $token: String) {
  activationStatsUpdated(activationId: $id, token: $token) { activationId metrics { clickCount } }
}"""
MEMBER_JOINED = "subscription { memberJoined { id } }"


async def raw_post(
    client: TestClient[Any, Any], body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, Any]]:
    response = await client.post("/graphql", data=body, headers={**JSON_HEADERS, **(headers or {})})
    return response.status, response.content_type, orjson.loads(await response.read())


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    with_traceback = [r for r in caplog.records if r.exc_info or r.exc_text]
    assert with_traceback == [], [r.getMessage() for r in with_traceback]


def refused(status: int, content_type: str, body: dict[str, Any], *words: str) -> None:
    assert status == 400, body
    assert content_type == "application/json"
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    for word in words:
        assert word in error["message"], error


# --- the body and its parameters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "shape"),
    [(b'"x"', "string"), (b"1", "number"), (b"true", "boolean"), (b"null", "null")],
)
async def test_a_body_that_is_not_a_json_object_is_a_400(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture, body: bytes, shape: str
) -> None:
    refused(*await raw_post(client, body), "JSON object", shape)
    no_tracebacks(caplog)


@pytest.mark.parametrize(("value", "shape"), [({}, "object"), ([], "array"), (3, "number")])
async def test_an_operation_name_that_is_not_a_string_is_a_400(
    client: TestClient[Any, Any], value: Any, shape: str
) -> None:
    body = orjson.dumps({"query": TYPENAME, "operationName": value})
    refused(*await raw_post(client, body), "`operationName`", shape)


@pytest.mark.parametrize(
    ("name", "value"), [("query", {"a": 1}), ("variables", "x"), ("extensions", [1])]
)
async def test_other_parameters_of_the_wrong_type_are_a_400(
    client: TestClient[Any, Any], name: str, value: Any
) -> None:
    refused(*await raw_post(client, orjson.dumps({"query": TYPENAME, name: value})), f"`{name}`")


async def test_non_utf8_bytes_are_a_400(client: TestClient[Any, Any]) -> None:
    refused(*await raw_post(client, b'{"query": "{ __typename }", "x": "\xff\xfe"}'), "UTF-8")


async def test_a_lone_surrogate_in_a_json_string_is_a_400(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # given a lone surrogate in a variable that would reach argon2 and BSON
    body = b'{"query": "' + LOGIN.replace("\n", " ").replace('"', '\\"').encode()
    body += b'", "variables": {"email": "\\ud800@example.com"}}'
    refused(*await raw_post(client, body), "surrogate")
    no_tracebacks(caplog)


async def test_a_lone_surrogate_in_a_graphql_string_is_a_coded_error(
    client: TestClient[Any, Any],
) -> None:
    query = '{ validateVoucher(code: "\\ud800") { valid } }'
    status, content_type, body = await raw_post(client, orjson.dumps({"query": query}))
    assert (status, content_type) == (200, "application/json")
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_a_lone_surrogate_in_a_get_query_is_a_coded_error(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get(
        "/graphql?query=%7B%20__typename%20%7D%23%ED%A0%80",
        headers={"Apollo-Require-Preflight": "1"},
    )
    assert response.content_type == "application/json"
    assert response.status in (200, 400)
    body = await response.json()
    assert "data" not in body or body.get("data") in (None, {"__typename": "Query"})


async def test_variables_nested_100000_deep_are_a_400(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    body = b'{"query": "query($v: [String]) { __typename }", "variables": {"v": ' + deep + b"}}"
    refused(*await raw_post(client, body), "depth")
    no_tracebacks(caplog)


async def test_variables_nested_past_the_gateway_limit_are_a_400(
    client: TestClient[Any, Any],
) -> None:
    nested: Any = "leaf"
    for _ in range(40):
        nested = {"a": nested}
    body = orjson.dumps({"query": TYPENAME, "variables": {"v": nested}})
    refused(*await raw_post(client, body), "nested deeper than 32")


# --- values at the edges ---------------------------------------------------------------------


@pytest.mark.parametrize("first", [2**63, 2**31, -(2**31) - 1])
async def test_first_beyond_a_graphql_int_is_bad_user_input(
    client: TestClient[Any, Any], world: World, first: int
) -> None:
    # as a variable and as a literal: a coercion error, not a cost of 2^63
    body = orjson.dumps({"query": PRODUCTS_FIRST, "variables": {"f": first}})
    status, content_type, answer = await raw_post(client, body, world.a_app.headers)
    assert (status, content_type) == (200, "application/json")
    assert error_codes(answer) == ["BAD_USER_INPUT"]
    literal = PRODUCTS_FIRST.replace("$f", str(first)).replace("query(: Int) ", "")
    status, _, answer = await raw_post(
        client, orjson.dumps({"query": literal}), world.a_app.headers
    )
    assert status == 200 and set(error_codes(answer)) == {"BAD_USER_INPUT"}, answer


async def test_a_5000_digit_first_is_bad_user_input(
    client: TestClient[Any, Any], world: World
) -> None:
    query = "{ products(first: " + "9" * 5000 + ") { totalCount } }"
    status, _, answer = await raw_post(client, orjson.dumps({"query": query}), world.a_app.headers)
    assert status == 200 and set(error_codes(answer)) == {"BAD_USER_INPUT"}, answer


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T00:00:00Z"]
)
async def test_date_times_at_the_edge_of_the_calendar_are_bad_user_input(
    gql: Any, world: World, caplog: pytest.LogCaptureFixture, moment: str
) -> None:
    body = await gql(CONVERSIONS_FROM, {"d": moment}, as_=world.a_owner)
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "0002 to 9998" in error["message"]
    no_tracebacks(caplog)


async def test_ticket_stats_on_the_last_day_of_the_calendar_is_bad_user_input(
    gql: Any, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    for body in (
        await gql(TICKET_STATS, {"from": "9999-12-31", "to": "9999-12-31"}, as_=world.a_owner),
        await gql(TICKET_STATS, {"from": "0001-01-01", "to": "0001-01-01"}, as_=world.a_owner),
        await gql(TICKET_STATS_LITERAL, as_=world.a_owner),
    ):
        assert body["data"] is None and set(error_codes(body)) == {"BAD_USER_INPUT"}, body
    # the last accepted day still answers
    body = await gql(TICKET_STATS, {"from": "9998-12-31", "to": "9998-12-31"}, as_=world.a_owner)
    assert body["data"]["ticketStats"] == {"__typename": "TicketStats"}, body
    no_tracebacks(caplog)


# --- slow bodies -----------------------------------------------------------------------------


async def test_a_body_short_of_its_content_length_is_timed_out(
    make_client: MakeClient,
) -> None:
    # given a gateway that waits 0.5 s for a body
    client = await make_client(body_timeout_seconds=0.5)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        # when a request declares 1,000 bytes and sends 10
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"query":'
        )
        await writer.drain()
        # then it answers 408 with a coded error and closes the connection
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        assert head.startswith(b"HTTP/1.1 408"), head
        assert b"application/json" in head
        rest = await asyncio.wait_for(reader.read(), timeout=10)  # EOF: closed by the server
        assert b'"code":"BAD_USER_INPUT"' in rest
    finally:
        writer.close()


# --- WebSocket -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        "[1, 2]",
        '"connection_init"',
        "3",
        '{"type": 7}',
        '{"type": "subscribe", "id": 1, "payload": {"query": "{ __typename }"}}',
        '{"type": "subscribe", "id": "1", "payload": []}',
        '{"type": "subscribe", "id": "1", "payload": {"query": {"a": 1}}}',
    ],
)
async def test_a_malformed_websocket_message_closes_with_4400(
    client: TestClient[Any, Any], world: World, caplog: pytest.LogCaptureFixture, frame: str
) -> None:
    live = await LiveClient.connect(
        client, payload={"authorization": world.a_owner.headers["Authorization"]}
    )
    await live.ws.send_str(frame)
    with pytest.raises(Closed) as closed:
        await live.message()
    assert closed.value.code == 4400
    no_tracebacks(caplog)


async def test_a_json_array_before_init_closes_with_4400(client: TestClient[Any, Any]) -> None:
    async with client.ws_connect("/graphql", protocols=["graphql-transport-ws"]) as ws:
        await ws.send_str("[]")
        message = await ws.receive(timeout=10)
        assert message.type == WSMsgType.CLOSE
        assert close_code(ws, message) == 4400


async def test_a_subscribe_over_the_token_limit_answers_an_error_message(
    make_client: MakeClient, world: World
) -> None:
    client = await make_client(max_tokens=50)
    live = await LiveClient.connect(
        client, payload={"authorization": world.a_owner.headers["Authorization"]}
    )
    query = "subscription { memberJoined { id " + "name " * 60 + "} }"
    await live.subscribe("big", query)
    message = await live.message()
    assert (message["type"], message["id"]) == ("error", "big"), message
    assert [e["extensions"]["code"] for e in message["payload"]] == ["OPERATION_TOO_COMPLEX"]
    # the connection stays usable
    await live.ws.send_json({"type": "ping"})
    assert (await live.message())["type"] == "pong"


async def test_token_only_in_the_argument_with_an_empty_connection_init(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    # given an activation and its token, and a connection_init without any credential
    activation, token = await given_activation(db, world.partner_a)
    live = await LiveClient.connect(client, payload={})
    # when the token travels only in the subscription's argument
    await live.subscribe("s", STATS_SUBSCRIPTION, {"id": activation["_id"], "token": token})
    # then the current stats arrive
    data = await live.next_data("s")
    assert data["activationStatsUpdated"]["activationId"] == activation["_id"]
    # and a guarded subscription on the same anonymous connection is refused with a code
    await live.subscribe("m", MEMBER_JOINED)
    message = await live.message()
    assert (message["type"], message["id"]) == ("error", "m"), message
    assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # and a wrong token is FORBIDDEN, as over HTTP
    await live.subscribe("w", STATS_SUBSCRIPTION, {"id": activation["_id"], "token": "tok_wrong"})
    message = await live.message()
    assert (message["type"], message["id"]) == ("error", "w"), message
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_no_500_and_no_traceback_for_any_of_it(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = [b'"x"', b"[1]", b"{", b"\xff", b'{"query": 1}', b'{"query": "{"}', b"{}"]
    for body in bodies:
        status, content_type, _ = await raw_post(client, body)
        assert status < 500 and content_type == "application/json", body
    no_tracebacks(caplog)
