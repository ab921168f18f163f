"""Operations free themselves: no reference cycle keeps a finished request alive.

A cycle (graphql-core's executor holding its own bound methods, a loader holding the
registry that holds it) leaves the whole operation (its context, loaders, futures and every
document it read) to the cyclic collector. On a `history` page that was a third of the
server's CPU: documents outlived the young generation, were promoted and paid for again in
full collections (issue 15). These tests run every query root as every principal (answers
and refusals alike), a rate-limited run and a subscription, and look at what the collector
finds unreachable afterwards.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.cli import serving_app
from gateway.core.heap import YOUNG_COLLECTION_EVERY, settle_heap_once_started
from gateway.settings import Settings
from gateway.storage.mongo import Database
from tests import test_subscription_payloads as payloads
from tests import test_surface_walk as walk
from tests.conftest import GraphQL, Persona, World
from tests.live import LiveClient, until_subscribed
from tests.portal_fixtures import given_voucher
from tests.test_subscriptions import REGISTER, auth, registration
from tests.test_surface_walk import Fixture, every_query_request, raw_answer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

walk_settings = walk.walk_settings
walk_client = walk.walk_client
fixture = walk.fixture

# Where the server's objects come from; the test client's own objects are not the subject.
SERVER_MODULES = ("gateway", "loaders", "resolvers", "schema", "strawberry", "graphql")
SERVER_CLASSES = ("aiohttp.web_request", "aiohttp.web_response", "aiohttp.web_protocol")


def _from_server(obj: object) -> bool:
    module = type(obj).__module__
    return module.split(".")[0] in SERVER_MODULES or module in SERVER_CLASSES


@contextmanager
def cyclic_garbage() -> Iterator[Counter[str]]:
    """Counts, by type, the server objects that only the cyclic collector frees while the
    block runs (the collector keeps what it finds, and is run once more at the end)."""
    found: Counter[str] = Counter()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.update(
            f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage if _from_server(o)
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


Request = tuple[str, Persona, str, dict[str, Any]]


async def _send(client: TestClient[Any, Any], requests: list[Request]) -> None:
    for _label, persona, query, variables in requests:
        await raw_answer(client, persona.headers, json={"query": query, "variables": variables})


async def test_no_query_leaves_a_cycle_as_any_principal(
    walk_client: TestClient[Any, Any], fixture: Fixture
) -> None:
    # Given every query root as every principal, each sent once (parsing, validation and
    # the operation caches fill on a first sight, and keep what they fill)
    requests = list(every_query_request(fixture))
    await _send(walk_client, requests)
    # When they all run again
    with cyclic_garbage() as found:
        await _send(walk_client, requests)
    # Then reference counting alone freed every one of them, answers and refusals alike
    assert len(requests) > 100
    assert found == Counter()


async def test_a_subscription_and_the_mutations_feeding_it_leave_no_cycle(
    app: web.Application, client: TestClient[Any, Any], gql: GraphQL, db: Database, world: World
) -> None:
    # Given a staff socket on `memberJoined` selecting every field, one event already seen
    live = await LiveClient.connect(client, payload=auth(world.a_owner))
    await live.subscribe("m", payloads.subscription("memberJoined"))
    await until_subscribed(app, 1)

    async def join(email: str) -> None:
        voucher = await given_voucher(db, world.partner_a)
        body = await gql(REGISTER, registration(voucher["code"], email), as_=world.a_app)
        assert "errors" not in body, body
        assert (await live.next_data("m"))["memberJoined"]["email"] == email

    await join("first@example.com")
    # When members register (a mutation each) and their events reach the socket
    with cyclic_garbage() as found:
        for i in range(3):
            await join(f"member{i}@example.com")
    # Then reference counting alone freed every operation, event and execution
    assert found == Counter()


def test_settling_freezes_the_start_up_heap_and_collects_young_objects_less_often() -> None:
    # Given a fresh process that has built the schema (in a child: freezing is for good)
    script = (
        "import gc; from schema import build_schema; from gateway.core import heap; "
        "build_schema(); before = gc.get_threshold(); heap.settle_heap(); "
        "print(gc.get_freeze_count(), before[0], *gc.get_threshold())"
    )
    # When it settles its heap
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    frozen, default_young, young, middle, old = map(int, out)
    # Then what start-up built is frozen and the young generation waits for more allocations
    assert frozen > 50_000
    assert (default_young, young) == (700, YOUNG_COLLECTION_EVERY)
    assert (middle, old) == (10, 10)


def test_gateway_serve_settles_the_heap_once_the_app_has_started(
    walk_settings: Settings,
) -> None:
    # Given the app `gateway serve` runs
    app = serving_app(walk_settings)
    # Then settling is its last start-up step, after the store and caches (cleanup contexts)
    assert list(app.on_startup)[-1] is settle_heap_once_started
    assert len(app.cleanup_ctx) > 0
