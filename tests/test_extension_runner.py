"""The gateway's schema-extension runner (`schema.extension_runner.CachedHooksRunner`) runs
the hooks exactly as Strawberry's runner does: the same bytes and headers over HTTP for every
root field of the surface walk as every principal, and for the protection refusals (APQ,
limits, introspection, parse and validation errors, transport 4xx); and on a small schema
the same hook order, results and exceptions when hooks raise on entry or on exit.
"""

from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from types import MethodType
from typing import Any

import orjson
import pytest
import strawberry
from aiohttp import web
from aiohttp.test_utils import TestClient
from strawberry.extensions import SchemaExtension

from gateway.app import create_app
from gateway.core.logthrottle import LogThrottle
from gateway.http import accesslog
from gateway.http.keys import SERVICES
from gateway.http.view import GraphQLView
from gateway.settings import Settings
from schema.extension_runner import CachedHooksRunner
from tests import test_surface_walk as walk
from tests.test_surface_walk import ANONYMOUS, Fixture, every_query_request, raw_answer

pytestmark = pytest.mark.slow


@pytest.fixture
def walk_settings(mongo_uri: str, db_name: str, tmp_path: Any) -> Settings:
    """The walk's settings with the lean POST path off: the runner is what these tests
    compare, and the lean path (gateway.http.lean, tests/test_lean_post.py) uses none."""
    settings: Settings = walk.walk_settings.__wrapped__(mongo_uri, db_name, tmp_path)  # type: ignore[attr-defined]
    return settings.model_copy(update={"lean_post": False})


walk_client = walk.walk_client
fixture = walk.fixture

# Headers that differ between any two responses.

TOO_DEEP = "{ " + "viewer { " * 40 + "__typename" + " }" * 40 + " }"
TYPENAME = "{ __typename }"


def _apq(sha256: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256}}


REFUSALS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("syntax error", {"query": "{ viewer { "}),
    ("unknown field", {"query": "{ nope }"}),
    ("introspection", {"query": "{ __schema { types { name } } }"}),
    ("too deep", {"query": TOO_DEEP}),
    ("string too long", {"query": "query($v: String) { __typename }",
                         "variables": {"v": "x" * 10**5}}),
    ("APQ unknown hash", {"extensions": _apq("a" * 64)}),
    ("APQ wrong hash", {"query": TYPENAME, "extensions": _apq("b" * 64)}),
    ("APQ register", {"query": TYPENAME,
                      "extensions": _apq(hashlib.sha256(TYPENAME.encode()).hexdigest())}),
    ("APQ malformed", {"query": TYPENAME, "extensions": _apq("c" * 64, version=2)}),
    ("subscription over POST", {"query": "subscription { memberJoined { id } }"}),
    ("no query", {}),
    ("variables not an object", {"query": TYPENAME, "variables": [1]}),
    ("unknown operation name", {"query": "query A { __typename }", "operationName": "B"}),
)  # fmt: skip


def _strawberry_runner(app: web.Application) -> web.Application:
    """The app with Strawberry's own extension runner on its schema instance."""
    views = [r.handler for r in app.router.routes() if isinstance(r.handler, GraphQLView)]
    assert len(views) == 1
    schema = views[0].schema
    schema.create_extensions_runner = MethodType(  # type: ignore[method-assign]
        strawberry.Schema.create_extensions_runner, schema
    )
    return app


@pytest.fixture
async def strawberry_client(aiohttp_client: Any, walk_settings: Settings) -> TestClient[Any, Any]:
    """The same app on the same store, with Strawberry's extension runner."""
    client: TestClient[Any, Any] = await aiohttp_client(
        _strawberry_runner(create_app(walk_settings))
    )
    return client


async def test_every_root_field_answers_the_same_bytes_under_both_runners(
    walk_client: TestClient[Any, Any], strawberry_client: TestClient[Any, Any], fixture: Fixture
) -> None:
    # Given the demo data and every principal, including ones a field's guard refuses
    compared, differing = 0, []
    for label, persona, query, variables in every_query_request(fixture):
        body = {"query": query, "variables": variables}
        # When the operation runs under both runners
        ours = await raw_answer(walk_client, persona.headers, json=body)
        theirs = await raw_answer(strawberry_client, persona.headers, json=body)
        # Then status, headers and body are identical
        compared += 1
        if ours != theirs:
            differing.append(f"{label}: {ours!r:.300} != {theirs!r:.300}")
    assert differing == []
    assert compared > 100


def _access_line(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    lines = [r for r in caplog.records if r.name == "gateway.access"]
    caplog.clear()
    if not lines:
        return {}
    record = orjson.loads(lines[-1].getMessage())
    return {k: v for k, v in record.items() if k not in ("requestId", "durationMs")}


async def test_refusals_answer_the_same_under_both_runners(
    walk_client: TestClient[Any, Any],
    strawberry_client: TestClient[Any, Any],
    fixture: Fixture,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    # Given requests every protection step refuses, as an anonymous caller and as staff
    personas = [ANONYMOUS, *(p for p, _, _ in fixture.principals.values())]
    differing = []
    for client in (walk_client, strawberry_client):
        # A staff session is re-read once its cache entry is a minute old: on a slow machine
        # that fell between the two apps' requests of one pair (`mongoCommands` 0 vs 1).
        sessions = client.server.app[SERVICES].sessions
        assert sessions is not None
        sessions.max_age = 3600.0
    for persona in personas:  # credential caches and the limiter's task warm in both apps
        for client in (walk_client, strawberry_client):
            await raw_answer(client, persona.headers, json={"query": "{ __typename }"})
    for persona in personas:
        for label, body in REFUSALS:
            # When each is sent to both apps (error lines unthrottled: both apps share the
            # process-wide throttle, which would hold back the second app's line)
            monkeypatch.setattr(accesslog, "ERROR_LINES", LogThrottle(burst=10, window=60))
            caplog.clear()
            ours = await raw_answer(walk_client, persona.headers, json=body)
            our_line = _access_line(caplog)
            theirs = await raw_answer(strawberry_client, persona.headers, json=body)
            their_line = _access_line(caplog)
            # Then the answers and the access-log lines are identical, and they are refusals
            if our_line != their_line:
                keys = [k for k in our_line.keys() | their_line.keys()
                        if our_line.get(k) != their_line.get(k)]  # fmt: skip
                differing.append(
                    f"{label} as {persona.name}: log {keys}: {our_line} != {their_line}"
                )
            if ours != theirs:
                differing.append(f"{label} as {persona.name}: {ours!r:.300} != {theirs!r:.300}")
            assert label in ("APQ register", "introspection") or b'"errors"' in ours[2], label
        for label, raw in (("bad JSON", b"{"), ("a number", b"3"), ("a batch", b"[{}, {}]")):
            json_type = {"Content-Type": "application/json"}
            ours, theirs = [
                await raw_answer(c, persona.headers, data=raw, headers=json_type)
                for c in (walk_client, strawberry_client)
            ]
            if ours != theirs:
                differing.append(f"{label} as {persona.name}: {ours!r:.300} != {theirs!r:.300}")
            assert ours[0] >= 400, label
    assert differing == []


# --- hook semantics on a small schema --------------------------------------------------------

EVENTS: list[str] = []


class Failure(Exception):
    """Raised by a hook or a resolver on purpose."""


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> str:
        return "ok"

    @strawberry.field
    def boom(self) -> str:
        raise Failure("resolver")


def _extension(name: str, *, enter: str = "", exit: str = "", guard: bool = False) -> type:
    """An extension logging each hook's entry and exit; `enter`/`exit` name the step it
    raises in; `guard` wraps its operation hook's yield in try/finally."""

    def sync_hook(step: str) -> Any:
        def hook(self: SchemaExtension) -> Iterator[None]:
            EVENTS.append(f"{name}.{step} in")
            if enter == step:
                raise Failure(f"{name}.{step} enter")
            if guard and step == "on_operation":
                try:
                    yield
                finally:
                    EVENTS.append(f"{name}.{step} finally")
            else:
                yield
            result = self.execution_context.result
            EVENTS.append(f"{name}.{step} out {bool(result and result.errors)}")
            if exit == step:
                raise Failure(f"{name}.{step} exit")

        return hook

    def async_hook(step: str) -> Any:
        async def hook(self: SchemaExtension) -> AsyncIterator[None]:
            EVENTS.append(f"{name}.{step} in (async)")
            if enter == step:
                raise Failure(f"{name}.{step} enter")
            yield
            EVENTS.append(f"{name}.{step} out (async)")
            if exit == step:
                raise Failure(f"{name}.{step} exit")

        return hook

    def plain(self: SchemaExtension) -> None:
        EVENTS.append(f"{name}.on_execute (plain)")

    return type(name, (SchemaExtension,), {
        "on_operation": sync_hook("on_operation"),
        "on_parse": sync_hook("on_parse"),
        "on_validate": async_hook("on_validate"),
        "on_execute": plain,
    })  # fmt: skip


class CachedSchema(strawberry.Schema):
    def create_extensions_runner(self, execution_context: Any, extensions: Any) -> Any:
        return CachedHooksRunner(execution_context=execution_context, extensions=extensions)


SCENARIOS: dict[str, dict[str, dict[str, Any]]] = {
    "all pass": {"A": {"guard": True}, "B": {}, "C": {}},
    "raise entering the operation": {"A": {"guard": True}, "B": {"enter": "on_operation"}, "C": {}},
    "raise leaving the operation": {"A": {"guard": True}, "B": {"exit": "on_operation"}, "C": {}},
    "raise entering validation": {"A": {"guard": True}, "B": {}, "C": {"enter": "on_validate"}},
    "raise leaving validation": {"A": {"guard": True}, "B": {"exit": "on_validate"}, "C": {}},
    "raise leaving parsing": {"A": {}, "B": {}, "C": {"exit": "on_parse", "guard": True}},
    "two raise leaving": {"A": {"exit": "on_operation"}, "B": {}, "C": {"exit": "on_operation"}},
}


async def _run(schema_cls: type[strawberry.Schema], scenario: str, query: str) -> Any:
    extensions = [_extension(n, **kw) for n, kw in SCENARIOS[scenario].items()]
    schema = schema_cls(query=Query, extensions=extensions)
    gc.collect()
    EVENTS.clear()
    try:
        result = await schema.execute(query)
        outcome: Any = (result.data, [e.message for e in result.errors or ()])
        del result
    except Exception as exc:  # the runner let it out: compare that too
        outcome = (type(exc).__name__, str(exc), repr(exc.__context__))
    # A hook left suspended by a later hook's failed entry is finalised when the result's
    # tracebacks go (a garbage-collection moment, under either runner).
    gc.collect()
    return outcome, list(EVENTS)


@pytest.fixture
def young_heap() -> Iterator[None]:
    """Keep `gc.collect()` to this test's own objects: in a full suite the heap holds
    gigabytes, and collecting all of it four times per case took minutes."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.mark.usefixtures("young_heap")
@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("query", ["{ ok }", "{ boom }", "{ nope }"])
async def test_hooks_run_in_the_same_order_with_the_same_outcome(scenario: str, query: str) -> None:
    # Given extensions whose hooks log themselves (and some raise)
    # When the same operation runs under Strawberry's runner and under ours
    theirs = await _run(strawberry.Schema, scenario, query)
    ours = await _run(CachedSchema, scenario, query)
    # Then the hooks ran in the same order, saw the same results and the outcome is the same
    assert ours == theirs
    assert theirs[1], "the hooks ran"
