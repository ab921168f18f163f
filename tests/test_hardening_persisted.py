"""Persisted operations: APQ round trip (POST and GET), hash checks, the safelist and its CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from pymongo import MongoClient

from gateway.cli import main
from gateway.http.keys import SERVICES
from gateway.protection.persisted import register_directory
from gateway.storage.mongo import Database
from schema import build_schema
from tests.conftest import World, error_codes, only_error
from tests.hardening_fixtures import MakeClient, make_client, post

__all__ = ["make_client"]

QUERY = "query Who { viewer { kind } }"
OTHER = "query Other { viewer { partnerId } }"
MUTATION = 'mutation M { partnerLogin(email: "a@b.example", password: "x") { accessToken } }'
PREFLIGHT = {"Apollo-Require-Preflight": "true"}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pq(text: str, digest: str | None = None) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest or sha(text)}}


# --- APQ ---------------------------------------------------------------------------------


async def test_apq_round_trip(
    client: TestClient[Any, Any], make_client: MakeClient, db: Database
) -> None:
    # when only the hash of an unknown query is sent
    body = await post(client, None, extensions=pq(QUERY))
    # then the client is told to send the text
    error = only_error(body)
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    # when hash and text come together, then it runs and is stored
    body = await post(client, QUERY, extensions=pq(QUERY))
    assert body == {"data": {"viewer": {"kind": "ANONYMOUS"}}}
    stored = await db.persisted_operations.find_one({"_id": sha(QUERY)})
    assert stored is not None and stored["query"] == QUERY and stored["kind"] == "apq"
    # when the hash alone comes again, then it runs
    assert await post(client, None, extensions=pq(QUERY)) == body
    # and another instance on the same database knows it too
    other_instance = await make_client()
    assert await post(other_instance, None, extensions=pq(QUERY)) == body


async def test_a_hash_that_does_not_match_the_text_is_refused(
    client: TestClient[Any, Any], db: Database
) -> None:
    body = await post(client, QUERY, extensions=pq(QUERY, sha(OTHER)))
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "sha256Hash"}
    assert body.get("data") is None
    assert await db.persisted_operations.count_documents({}) == 0


@pytest.mark.parametrize(
    "extension",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-hex"}},
        {"persistedQuery": {"version": 1, "sha256Hash": {"$ne": None}}},
        {"persistedQuery": "yes"},
    ],
)
async def test_malformed_persisted_query_extensions(
    client: TestClient[Any, Any], extension: dict[str, Any]
) -> None:
    assert error_codes(await post(client, None, extensions=extension)) == ["BAD_USER_INPUT"]


async def test_invalid_operations_are_not_stored(
    client: TestClient[Any, Any], db: Database
) -> None:
    bad = "{ noSuchField }"
    assert error_codes(await post(client, bad, extensions=pq(bad))) == ["BAD_USER_INPUT"]
    assert await db.persisted_operations.count_documents({}) == 0


async def test_apq_over_get(client: TestClient[Any, Any], world: World) -> None:
    params = {"extensions": orjson.dumps(pq(QUERY)).decode()}
    # unknown hash over GET
    response = await client.get("/graphql", params=params, headers=PREFLIGHT)
    assert error_codes(await response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    # registered with the text over GET, then by hash alone
    with_text = {**params, "query": QUERY}
    response = await client.get("/graphql", params=with_text, headers=PREFLIGHT)
    assert (await response.json())["data"]["viewer"]["kind"] == "ANONYMOUS"
    response = await client.get("/graphql", params=params, headers=world.a_app.headers)
    assert (await response.json())["data"]["viewer"]["kind"] == "APP"


async def test_persisted_mutations_never_run_over_get(
    client: TestClient[Any, Any], db: Database
) -> None:
    await post(client, MUTATION, extensions=pq(MUTATION))
    params = {"extensions": orjson.dumps(pq(MUTATION)).decode()}
    response = await client.get("/graphql", params=params, headers=PREFLIGHT)
    assert response.status == 400


async def test_a_persisted_hit_is_served_from_the_process_cache(
    client: TestClient[Any, Any], db: Database
) -> None:
    # given a registered operation that has been used on this instance
    await post(client, QUERY, extensions=pq(QUERY))
    # when the stored copy disappears, then this instance still runs it (no lookup, no parse)
    await db.persisted_operations.delete_many({})
    assert (await post(client, None, extensions=pq(QUERY)))["data"]["viewer"]["kind"]


# --- safelist ----------------------------------------------------------------------------


@pytest.fixture
def operations_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "operations"
    (directory / "nested").mkdir(parents=True)
    (directory / "who.graphql").write_text(QUERY)
    (directory / "nested" / "login.graphql").write_text(MUTATION)
    return directory


@pytest.fixture
async def safelisted(
    make_client: MakeClient, db: Database, operations_dir: Path
) -> TestClient[Any, Any]:
    client = await make_client(safelist=True)
    schema = build_schema(client.server.app[SERVICES].settings)._schema
    await register_directory(db, schema, operations_dir)
    return client


def not_safelisted(body: dict[str, Any]) -> None:
    error = only_error(body)
    assert error["extensions"] == {"code": "FORBIDDEN", "reason": "OPERATION_NOT_SAFELISTED"}
    assert body.get("data") is None


async def test_safelisted_operations_run_by_hash_or_by_text(
    safelisted: TestClient[Any, Any],
) -> None:
    by_hash = await post(safelisted, None, extensions=pq(QUERY))
    assert by_hash == {"data": {"viewer": {"kind": "ANONYMOUS"}}}
    assert await post(safelisted, QUERY) == by_hash


async def test_anything_else_is_refused_in_safelist_mode(
    safelisted: TestClient[Any, Any], db: Database
) -> None:
    not_safelisted(await post(safelisted, OTHER))
    not_safelisted(await post(safelisted, "{ __schema { types { name } } }"))
    # and APQ cannot add new operations
    not_safelisted(await post(safelisted, OTHER, extensions=pq(OTHER)))
    assert await db.persisted_operations.count_documents({"_id": sha(OTHER)}) == 0


async def test_apq_entries_do_not_count_as_safelisted(
    client: TestClient[Any, Any], safelisted: TestClient[Any, Any]
) -> None:
    # registered through APQ on a non-safelist instance sharing the database
    await post(client, OTHER, extensions=pq(OTHER))
    body = await post(safelisted, None, extensions=pq(OTHER))
    assert error_codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_cli_registers_a_directory(
    mongo_uri: str,
    db_name: str,
    tmp_path: Path,
    operations_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("GATEWAY_DB_NAME", db_name)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "data"))
    assert main(["operations", "register", str(operations_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{sha(QUERY)}  who.graphql  Who" in out
    assert f"{sha(MUTATION)}  nested/login.graphql  M" in out
    with MongoClient(mongo_uri) as sync:
        docs = {d["_id"]: d for d in sync[db_name].persisted_operations.find()}
    assert set(docs) == {sha(QUERY), sha(MUTATION)}
    assert all(d["kind"] == "safelist" and "expires_at" not in d for d in docs.values())
    # registering again is idempotent
    assert main(["operations", "register", str(operations_dir)]) == 0


def test_cli_refuses_an_invalid_file_and_stores_nothing(
    mongo_uri: str,
    db_name: str,
    tmp_path: Path,
    operations_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("GATEWAY_DB_NAME", db_name)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "data"))
    (operations_dir / "broken.graphql").write_text("query Broken { noSuchField }")
    assert main(["operations", "register", str(operations_dir)]) == 2  # bad input: exit 2
    assert "broken.graphql" in capsys.readouterr().err
    with MongoClient(mongo_uri) as sync:
        assert sync[db_name].persisted_operations.count_documents({}) == 0
