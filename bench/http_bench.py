"""Throughput of small GraphQL operations over real HTTP, on the embedded store.

    .venv/bin/python -m bench.http_bench [--seconds 10] [--concurrency 32]

Starts the gateway in-process on a free loopback port (fresh database on an embedded
store in a temp dir), then drives it from an aiohttp client in the same process and
prints requests/second and latency percentiles per operation. Bounded in time; sends
traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from gateway.app import create_app
from gateway.settings import load_settings
from gateway.storage.store import embedded_store, free_loopback_port

OPERATIONS = {
    "typename": "{ __typename }",
    "viewer": "{ viewer { kind partnerId scopes } }",
}


async def drive(url: str, query: str, seconds: float, concurrency: int) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.post(url, json={"query": query}) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"HTTP {response.status}")
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def main(seconds: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, embedded_store(Path(tmp)) as store:
        settings = load_settings(mongodb_uri=store.uri, data_dir=Path(tmp), db_name="bench")
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        port = free_loopback_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        url = f"http://127.0.0.1:{port}/graphql"
        try:
            for name, query in OPERATIONS.items():
                await drive(url, query, 1.0, concurrency)  # warm caches
                lat = await drive(url, query, seconds, concurrency)
                lat.sort()
                p50 = statistics.median(lat) * 1000
                p99 = lat[int(len(lat) * 0.99) - 1] * 1000
                print(
                    f"{name:10s} {len(lat) / seconds:8.0f} req/s   "
                    f"p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   (n={len(lat)}, c={concurrency})"
                )
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.concurrency))
