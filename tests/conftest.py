"""Shared fixtures: one embedded store per session (or MONGODB_URI), a fresh database per
test, the real app behind a real aiohttp test server, personas with real credentials,
and a MongoDB command counter for N+1 tests."""

from __future__ import annotations

import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pymongo import MongoClient

from gateway.app import TALLY, create_app
from gateway.auth.issue import keyring_from, member_token, operator_token, staff_access_token
from gateway.auth.scopes import Role
from gateway.http.keys import SERVICES
from gateway.settings import Settings, load_settings
from gateway.storage.mongo import Database
from gateway.storage.store import embedded_store
from loaders import identity, partners
from tests.portal_fixtures import hashed

STAFF_PASSWORD = "correct-horse-battery"
TEST_JWT_KEYS = {"test-k1": secrets.token_urlsafe(48), "test-k0": secrets.token_urlsafe(48)}


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """MONGODB_URI when set (run the suite against real MongoDB), else one embedded store."""
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    with embedded_store(tmp_path_factory.mktemp("store")) as store:
        yield store.uri


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave as soon as the report is out: the interpreter's teardown of the full suite's heap
    (over 2 GB) took about a minute of CI after the summary. Every fixture, store process and
    plugin has finished by now (this hook runs last)."""
    if _EXIT_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])


@pytest.fixture
def db_name(mongo_uri: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield name
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    try:
        client.drop_database(name)
    finally:
        client.close()


def make_settings(mongo_uri: str, db_name: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "development",
        "mongodb_uri": mongo_uri,
        "db_name": db_name,
        "data_dir": data_dir,
        "jwt_keys": TEST_JWT_KEYS,
        "jwt_signing_kid": "test-k1",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(mongo_uri: str, db_name: str, tmp_path: Path) -> Settings:
    return make_settings(mongo_uri, db_name, tmp_path)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient[Any, Any]:
    test_client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    return test_client


@pytest.fixture
def app(client: TestClient[Any, Any]) -> web.Application:
    return client.server.app  # type: ignore[no-any-return]


@pytest.fixture
def db(app: web.Application) -> Database:
    return app[SERVICES].db


@dataclass
class Persona:
    """A caller with real credentials: the headers it sends and what it stands for."""

    name: str
    headers: dict[str, str] = field(default_factory=dict)
    partner_id: str | None = None
    subject_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class GraphQL:
    """Sends GraphQL over real HTTP to the test server."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        as_: Persona | None = None,
        expect_status: int = 200,
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=as_.headers if as_ else {},
        )
        body: dict[str, Any] = await response.json()
        assert response.status == expect_status, body
        return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    return errors[0]  # type: ignore[no-any-return]


@pytest.fixture
def gql(client: TestClient[Any, Any]) -> GraphQL:
    return GraphQL(client)


@dataclass
class World:
    """Two partners (A, B) with staff of each role, app keys, members, and an operator."""

    operator: Persona
    anonymous: Persona
    a_owner: Persona
    a_manager: Persona
    a_analyst: Persona
    b_owner: Persona
    a_app: Persona
    b_app: Persona
    a_member: Persona
    b_member: Persona
    partner_a: str
    partner_b: str


async def make_staff(db: Database, settings: Settings, partner_id: str, role: Role) -> Persona:
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
    doc = identity.staff_document(
        partner_id, email, hashed(STAFF_PASSWORD), role, role.value
    )
    await db.staff.insert_one(doc)
    session_id, refresh = await identity.open_session(db, doc, 3600)
    token = staff_access_token(keyring_from(settings), settings, doc, session_id).token
    return Persona(
        name=f"{partner_id}:{role.value}",
        headers={"Authorization": f"Bearer {token}"},
        partner_id=partner_id,
        subject_id=doc["_id"],
        extra={"email": email, "password": STAFF_PASSWORD, "refresh": refresh,
               "session": session_id},
    )  # fmt: skip


async def make_app_persona(db: Database, partner_id: str) -> Persona:
    doc, key = await identity.insert_app_client(db, partner_id, "test app")
    return Persona(
        name=f"{partner_id}:app", headers={"X-API-Key": key}, partner_id=partner_id,
        subject_id=doc["_id"], extra={"key": key},
    )  # fmt: skip


def make_member_persona(settings: Settings, app: Persona, member_id: str | None = None) -> Persona:
    member_id = member_id or f"mem_{uuid.uuid4().hex[:12]}"
    assert app.partner_id
    token = member_token(keyring_from(settings), settings, member_id, app.partner_id).token
    return Persona(
        name=f"{app.partner_id}:member",
        headers={**app.headers, "Authorization": f"Bearer {token}"},
        partner_id=app.partner_id,
        subject_id=member_id,
    )


@pytest.fixture
async def world(db: Database, settings: Settings) -> AsyncIterator[World]:
    a = await partners.insert_partner(db, f"Partner A {uuid.uuid4().hex[:6]}")
    b = await partners.insert_partner(db, f"Partner B {uuid.uuid4().hex[:6]}")
    a_app = await make_app_persona(db, a["_id"])
    b_app = await make_app_persona(db, b["_id"])
    op = operator_token(keyring_from(settings), settings, "tests").token
    yield World(
        operator=Persona("operator", {"Authorization": f"Bearer {op}"}),
        anonymous=Persona("anonymous"),
        a_owner=await make_staff(db, settings, a["_id"], Role.OWNER),
        a_manager=await make_staff(db, settings, a["_id"], Role.MANAGER),
        a_analyst=await make_staff(db, settings, a["_id"], Role.ANALYST),
        b_owner=await make_staff(db, settings, b["_id"], Role.OWNER),
        a_app=a_app,
        b_app=b_app,
        a_member=make_member_persona(settings, a_app),
        b_member=make_member_persona(settings, b_app),
        partner_a=a["_id"],
        partner_b=b["_id"],
    )


class CommandCounter:
    """Counts MongoDB commands the app sends for requests between `start()` and `total`.

    Background work (change-stream watchers, the rate-limit sync) is not counted, nor are
    staff-session checks: those are cached per process (the first request of a session
    reads it, later ones do not; tests/test_session_cache.py counts them).
    """

    def __init__(self, app: web.Application) -> None:
        self._tally = app[TALLY]
        self._base = self._tally.request_snapshot()

    def start(self) -> None:
        self._base = self._tally.request_snapshot()

    @property
    def by_command(self) -> dict[str, int]:
        now = self._tally.request_snapshot()
        now.subtract(self._base)
        out: dict[str, int] = {}
        for (command, collection), n in now.items():
            if n and collection != "sessions":
                out[command] = out.get(command, 0) + n
        return out

    @property
    def total(self) -> int:
        return sum(self.by_command.values())


@pytest.fixture
def commands(app: web.Application) -> CommandCounter:
    return CommandCounter(app)
