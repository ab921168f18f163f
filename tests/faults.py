"""Helpers for tests that stop the real store under load: a client that retries a write."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import error_codes

# Long enough for a killed store to be restarted and a paused one resumed, under CI load.
RETRY_FOR_SECONDS = 90.0


async def until_answered(
    client: TestClient[Any, Any], headers: Mapping[str, str], query: str,
    variables: dict[str, Any], start_after: float,
) -> tuple[dict[str, Any], int]:  # fmt: skip
    """Send the write until it is answered with data; each refusal must be the coded outage
    error (INTERNAL_SERVER_ERROR, JSON), never a verdict on the input. Returns the data and
    how many attempts failed."""
    failed = 0
    await asyncio.sleep(start_after)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RETRY_FOR_SECONDS
    while loop.time() < deadline:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=dict(headers)
        )
        assert response.content_type == "application/json"
        body = await response.json()
        if "errors" not in body:
            return body["data"], failed
        assert error_codes(body) == ["INTERNAL_SERVER_ERROR"], (variables, body)
        failed += 1
        await asyncio.sleep(0.1)
    raise AssertionError(f"{variables} never completed")
