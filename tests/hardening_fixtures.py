"""Shared helpers of the hardening tests: an app with overridden settings, raw posts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from tests.conftest import make_settings

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def make_client(aiohttp_client: Any, mongo_uri: str, db_name: str, tmp_path: Path) -> MakeClient:
    """A second app on the same database as `client`/`world`, with settings overrides."""

    async def make(**overrides: Any) -> TestClient[Any, Any]:
        settings = make_settings(mongo_uri, db_name, tmp_path, **overrides)
        test_client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
        return test_client

    return make


async def post(
    client: TestClient[Any, Any],
    query: str | None,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
    expect_status: int | None = 200,
    operation_name: str | None = None,
) -> dict[str, Any]:
    """POST one operation as JSON; returns the body (asserting the status when given)."""
    payload: dict[str, Any] = {"query": query, "variables": variables or {}}
    if operation_name is not None:
        payload["operationName"] = operation_name
    if extensions is not None:
        payload["extensions"] = extensions
    response = await client.post("/graphql", json=payload, headers=headers or {})
    body: dict[str, Any] = await response.json()
    if expect_status is not None:
        assert response.status == expect_status, body
    return body
