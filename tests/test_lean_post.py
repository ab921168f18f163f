"""The lean POST path (`gateway.http.lean`, `GATEWAY_LEAN_POST`) answers exactly as
Strawberry's view: every query root as every principal, and every protection refusal (bad
JSON, limits, rate limit, persisted operations, introspection in production, masked errors,
401s), with the same status, headers, body bytes and access-log line; and it is taken for a
document seen before, so the comparisons are not between two copies of the same path.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pymongo import MongoClient

from gateway.app import create_app
from gateway.auth.issue import keyring_from, operator_token
from gateway.core.logthrottle import LogThrottle
from gateway.http import accesslog
from gateway.http.keys import SERVICES
from gateway.http.lean import LeanPost
from gateway.http.view import GraphQLView
from gateway.settings import Settings
from loaders.partners import PartnerByIdLoader
from tests import test_surface_walk as walk
from tests.conftest import TEST_JWT_KEYS, make_settings
from tests.test_surface_walk import Answer, Fixture, every_query_request, raw_answer

pytestmark = pytest.mark.slow

walk_settings = walk.walk_settings
walk_client = walk.walk_client
fixture = walk.fixture

TYPENAME = "{ __typename }"
TOO_DEEP = "{ " + "viewer { " * 12 + "__typename" + " }" * 12 + " }"
# Cost 1 + 100 x (1 + 1 x (1 + 1)) = 301 (under the cost limit, a tenth of the budget below).
EXPENSIVE = "{ activations(first: 100) { edges { node { id } } } }"
TOO_COSTLY = "{ activations(first: 5000) { edges { node { id } } } }"  # 15,001
ANONYMOUS_BUDGET = 3_000
RESET = re.compile(rb"(Reset|Retry-After|Content-Length)', '\d+'|retry in \d+ s|\"retryAfter\":\d+")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _apq(sha256: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256}}




def _view(client: TestClient[Any, Any]) -> GraphQLView:
    routes = client.server.app.router.routes()
    views = [r.handler for r in routes if isinstance(r.handler, GraphQLView)]
    assert len(views) == 1
    return views[0]


def count_lean_answers(client: TestClient[Any, Any]) -> list[int]:
    """Counts the requests the app's lean path answered (rather than handed on)."""
    lean = _view(client).lean
    assert lean is not None, "the lean path is on by default"
    answered = [0]
    original = lean.answer

    async def answer(view: GraphQLView, request: web.Request, principal: Any) -> Any:
        response = await original(view, request, principal)
        answered[0] += response is not None
        return response

    lean.answer = answer  # type: ignore[method-assign]
    return answered


@pytest.fixture
async def off_client(aiohttp_client: Any, walk_settings: Settings) -> TestClient[Any, Any]:
    """The walk's app on the same store with the lean path off."""
    settings = walk_settings.model_copy(update={"lean_post": False})
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    assert _view(client).lean is None
    return client


async def test_every_root_field_answers_the_same_bytes_on_both_paths(
    walk_client: TestClient[Any, Any], off_client: TestClient[Any, Any], fixture: Fixture
) -> None:
    # Given the demo data, every principal, and the lean path counting what it answers
    answered = count_lean_answers(walk_client)
    requests = list(every_query_request(fixture))
    for _label, persona, query, variables in requests:  # first sight: Strawberry's path
        for client in (walk_client, off_client):
            await raw_answer(client, persona.headers, json={"query": query, "variables": variables})
    differing, handed_on = [], []
    for label, persona, query, variables in requests:
        body = {"query": query, "variables": variables}
        # When each operation runs again, on the lean path and with it off
        before = answered[0]
        ours = await raw_answer(walk_client, persona.headers, json=body)
        theirs = await raw_answer(off_client, persona.headers, json=body)
        if answered[0] == before:
            handed_on.append((label, ours[2]))
        # Then status, headers and body are identical
        if ours != theirs:
            differing.append(f"{label}: {ours!r:.300} != {theirs!r:.300}")
    assert differing == []
    # And the lean path answered every valid one; Strawberry's path only the anonymous
    # calls without the field's required arguments (validation errors are not lean)
    assert len(requests) > 100
    assert len(handed_on) < len(requests) / 10
    for label, body in handed_on:
        assert label.endswith("as anonymous"), label
        assert body.startswith(b'{"data":null,"errors":[{"message":"Argument '), label
        assert b"is required, but it was not provided." in body, label


def _access_line(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    lines = [r for r in caplog.records if r.name == "gateway.access"]
    caplog.clear()
    assert len(lines) == 1
    record = orjson.loads(lines[0].getMessage())
    return {k: v for k, v in record.items() if k not in ("requestId", "durationMs")}


class Pair:
    """Two production apps, lean path on and off, each on its own database (rate-limit
    counters of their own), sent the same requests in the same order."""

    def __init__(
        self,
        lean: TestClient[Any, Any],
        off: TestClient[Any, Any],
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.lean, self.off = lean, off
        self.caplog, self.monkeypatch = caplog, monkeypatch
        self.differing: list[str] = []

    async def send(self, label: str, caller: dict[str, str], **request: Any) -> Answer:
        """One request to each app; any difference is recorded. Returns the lean answer."""
        # Error lines unthrottled: both apps share the process-wide throttle.
        self.monkeypatch.setattr(accesslog, "ERROR_LINES", LogThrottle(burst=10, window=60))
        self.caplog.clear()
        started = time.time()
        ours = await raw_answer(self.lean, caller, **dict(request))
        our_line = _access_line(self.caplog)
        theirs = await raw_answer(self.off, caller, **dict(request))
        their_line = _access_line(self.caplog)
        compared: tuple[Any, Any] = (ours, theirs)
        if int(started) != int(time.time()):
            # A second boundary between the two: the seconds until the window resets may
            # differ by one, nothing else may.
            compared = tuple(RESET.sub(b"RESET", repr(a).encode()) for a in (ours, theirs))  # type: ignore[assignment]
        if compared[0] != compared[1]:
            self.differing.append(f"{label}: {ours!r:.400} != {theirs!r:.400}")
        if our_line != their_line:
            self.differing.append(f"{label}: log {our_line} != {their_line}")
        return ours


@pytest.fixture
async def pair(
    aiohttp_client: Any,
    mongo_uri: str,
    db_name: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Pair]:
    caplog.set_level(logging.INFO, logger="gateway.access")

    async def app(name: str, **overrides: Any) -> TestClient[Any, Any]:
        settings = make_settings(
            mongo_uri, name, tmp_path, env="production", jwt_keys=TEST_JWT_KEYS,
            rate_limit=True, rate_limit_anonymous_cost=ANONYMOUS_BUDGET,
            rate_limit_window_seconds=86_400, apq=True, **overrides,
        )  # fmt: skip
        client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
        return client

    lean = await app(db_name)
    off = await app(f"{db_name}_off", lean_post=False)
    yield Pair(lean, off, caplog, monkeypatch)
    dropper: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    try:
        dropper.drop_database(f"{db_name}_off")
    finally:
        dropper.close()


def _operator(client: TestClient[Any, Any]) -> dict[str, str]:
    settings = client.server.app[SERVICES].settings
    token = operator_token(keyring_from(settings), settings, "lean").token
    return {"Authorization": f"Bearer {token}"}


JSON = {"Content-Type": "application/json"}
RESPONSE_JSON = {"Accept": "application/graphql-response+json"}
APQ_TEXT = "{ a: __typename }"
GUARDED = "{ activations(first: 2) { totalCount } }"


def op(query: str | None = None, headers: dict[str, str] | None = None, **body: Any) -> Any:
    """A JSON POST request: the operation's body fields, and extra headers."""
    payload = {"query": query, **body} if query is not None else body
    return {"json": payload, **({"headers": headers} if headers else {})}


def raw(data: bytes, content_type: str = "application/json") -> Any:
    return {"data": data, "headers": {"Content-Type": content_type}}


# (label, request): each is sent twice to both apps (first sight, then the cached document).
REFUSALS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("typename", op(TYPENAME)),
    ("named, no operationName", op("query Named { __typename }")),
    ("two operations", op("query A { __typename } query B { a: __typename }", operationName="B")),
    ("bad JSON", raw(b"{")),
    ("a number", raw(b"3")),
    ("a batch", raw(b'[{"query": "{ __typename }"}]')),
    ("operationName not a string", op(TYPENAME, operationName=3)),
    ("not JSON", raw(b"query=1", "text/plain")),
    ("syntax error", op("{ viewer { ")),
    ("unknown field", op("{ nope }")),
    ("too deep", op(TOO_DEEP)),
    ("too costly", op(TOO_COSTLY)),
    ("string too long", op("query($v: String) { __typename }", variables={"v": "x" * 20_000})),
    ("bad variables", op("query($n: Int!) { activations(first: $n) { totalCount } }",
                         variables={"n": "x"})),
    ("introspection", op("{ __schema { queryType { name } } }")),
    ("unknown operation name", op("query A { __typename }", operationName="B")),
    ("subscription over POST", op("subscription { memberJoined { id } }")),
    ("no query", op()),
    ("APQ unknown hash", op(extensions=_apq("a" * 64))),
    ("APQ wrong hash", op(TYPENAME, extensions=_apq("b" * 64))),
    ("APQ malformed", op(TYPENAME, extensions=_apq("c" * 64, version=2))),
    ("APQ register", op(APQ_TEXT, extensions=_apq(_sha(APQ_TEXT)))),
    ("APQ hit", op(extensions=_apq(_sha(APQ_TEXT)))),
    ("guarded field", op(GUARDED)),
    ("graphql-response+json", op("{ nope }", headers=RESPONSE_JSON)),
    ("graphql-response+json, guarded", op(GUARDED, headers=RESPONSE_JSON)),
)  # fmt: skip


async def test_refusals_answer_the_same_on_both_paths(pair: Pair) -> None:
    # Given two production apps (rate limits on), lean path on and off, and each caller
    answered = count_lean_answers(pair.lean)
    callers: dict[str, dict[str, str]] = {
        "anonymous": {},
        "operator": _operator(pair.lean),
        "a bad bearer": {"Authorization": "Bearer nope"},
        "a bad API key": {"X-API-Key": "key_nope"},
    }
    for who, headers in callers.items():
        for label, request in REFUSALS:
            # When each request is sent twice to both apps
            for attempt in ("first", "cached"):
                await pair.send(f"{label} as {who} ({attempt})", headers, **request)
    # Then the answers and access-log lines were identical
    assert pair.differing == []
    # And the lean path answered the valid ones it had seen before (not the refusals)
    assert answered[0] >= 16


async def test_rate_limited_answers_are_the_same_on_both_paths(pair: Pair) -> None:
    # Given two apps whose anonymous budget lasts nine operations of this cost
    answered = count_lean_answers(pair.lean)
    # When an anonymous caller sends twelve
    statuses, last = [], None
    for i in range(12):
        last = await pair.send(f"budget {i}", {}, json={"query": EXPENSIVE})
        statuses.append(last[0])
    # Then both answer alike: 200 nine times, then 429 with Retry-After and X-RateLimit-*
    assert pair.differing == []
    assert statuses == [200] * 9 + [429] * 3
    assert last is not None and {"Retry-After", "X-RateLimit-Remaining"} <= dict(last[1]).keys()
    # And every answer after the first was the lean path's
    assert answered[0] == 11


async def test_masked_errors_answer_the_same_on_both_paths(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given both production apps know the operation, then their partner loader fails
    query = '{ partner(id: "par_abcdefghijkl") { name } }'
    operator = _operator(pair.lean)
    await pair.send("partner, working", operator, json={"query": query})
    answered = count_lean_answers(pair.lean)

    async def broken(self: Any, keys: list[str]) -> list[Any]:
        raise RuntimeError("secret detail of the store")

    monkeypatch.setattr(PartnerByIdLoader, "load_batch", broken)
    # When a resolver needs it
    status, _, body = await pair.send("partner, failing", operator, json={"query": query})
    # Then both answer the same masked error, the lean one on the lean path
    assert pair.differing == []
    assert status == 200 and b"Internal server error." in body and b"secret" not in body
    assert answered[0] == 1


async def test_the_lean_path_answers_cached_documents_only(
    walk_client: TestClient[Any, Any],
) -> None:
    # Given the lean path counting its answers
    answered = count_lean_answers(walk_client)
    # When a document is sent for the first time, then again, then as a batch and via GET
    first = await raw_answer(walk_client, {}, json={"query": TYPENAME})
    assert answered[0] == 0
    again = await raw_answer(walk_client, {}, json={"query": TYPENAME})
    assert answered[0] == 1
    batch = await raw_answer(walk_client, {}, json=[{"query": TYPENAME}])
    response = await walk_client.get("/graphql", params={"query": TYPENAME})
    # Then only the repeat took the lean path, with the same answer as the first
    assert answered[0] == 1
    assert first == again and first[2] == b'{"data":{"__typename":"Query"}}'
    assert batch[0] == 400  # batching is off by default
    assert response.status in (200, 400)  # a GET without a preflight header: CSRF refusal


def test_the_lean_path_is_off_for_a_schema_it_does_not_replicate(walk_settings: Settings) -> None:
    # Given schemas with other extensions than the gateway's
    from gateway.app import gateway_schema
    from schema import build_schema

    plain: Callable[[], Any] = build_schema
    # When the lean path is asked for them
    # Then only the gateway's own schema has one
    assert LeanPost.for_schema(gateway_schema(walk_settings)) is not None
    assert LeanPost.for_schema(plain()) is None


LOGIN_WITH_COOKIE = (
    "mutation($e: String!, $p: String!) { partnerLogin(email: $e, password: $p) "
    "{ accessToken refreshToken } }"
)


async def test_a_mutation_setting_a_cookie_on_the_lean_path(
    walk_client: TestClient[Any, Any], off_client: TestClient[Any, Any], fixture: Fixture
) -> None:
    # Given a staff login asking for its refresh token as a cookie, known to the lean app
    alpha = fixture.report["partners"][0]
    owner = next(s for s in alpha["staff"] if s["role"] == "owner")
    body = {"query": LOGIN_WITH_COOKIE, "variables": {"e": owner["email"], "p": owner["password"]}}
    cookie_mode = {"X-Refresh-Cookie": "1"}
    await raw_answer(walk_client, cookie_mode, json=body)
    answered = count_lean_answers(walk_client)
    # When it logs in again, on the lean path and with it off
    answers = []
    for client in (walk_client, off_client):
        response = await client.post("/graphql", json=body, headers=cookie_mode)
        answers.append((response.status, response.cookies["gw_refresh"], await response.json()))
    # Then both set the refresh cookie with the same attributes (the tokens are new each time)
    assert answered[0] == 1
    (status, cookie, payload), (off_status, off_cookie, off_payload) = answers
    assert status == off_status == 200
    assert cookie.value and cookie.value != off_cookie.value
    assert dict(cookie) == dict(off_cookie)
    assert payload["data"]["partnerLogin"]["refreshToken"] == ""
    assert off_payload["data"]["partnerLogin"]["refreshToken"] == ""
