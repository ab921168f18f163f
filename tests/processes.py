"""A second `gateway serve` process on the tests' store, for cross-instance tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp

from gateway.storage.store import free_loopback_port
from tests.conftest import TEST_JWT_KEYS

READY_SECONDS = 30


@contextlib.asynccontextmanager
async def gateway_process(
    mongo_uri: str, db_name: str, data_dir: Path, extra_env: Mapping[str, str] | None = None
) -> AsyncIterator[str]:
    """Run `gateway serve` on `db_name` until it answers /readyz; yield its base URL.

    The process gets the tests' JWT keys, so tokens minted by the fixtures are valid on
    both instances. It is terminated on the way out, even when the test failed.
    """
    port = free_loopback_port()
    env = {
        **os.environ,
        "MONGODB_URI": mongo_uri,
        "GATEWAY_DB_NAME": db_name,
        "GATEWAY_ENV": "development",
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_JWT_KEYS": ",".join(f"{kid}:{secret}" for kid, secret in TEST_JWT_KEYS.items()),
        "GATEWAY_JWT_SIGNING_KID": "test-k1",
        **(extra_env or {}),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + READY_SECONDS
            while True:
                assert proc.returncode is None, "second gateway exited"
                try:
                    async with session.get(f"{url}/readyz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert time.monotonic() < deadline, "second gateway did not become ready"
                await asyncio.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)
