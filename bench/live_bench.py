"""Event-to-client latency of GraphQL subscriptions over WebSocket, on the embedded store.

    .venv/bin/python -m bench.live_bench [--subscribers 200] [--events 200] [--seconds 30]

Starts the gateway in-process on a free loopback port (fresh database on an embedded
store in a temp dir) and opens many `graphql-transport-ws` connections from one aiohttp
client in the same process, then measures two kinds of subscription:

- `memberJoined` (event stream): N staff connections subscribe; once `/metrics` shows
  all N listening, M member documents are inserted straight into the store (a separate
  driver client, paced) and each delivery's latency is its receive time minus the time
  the insert started. Reports percentiles over every delivery and how many are missing.
- `activationStatsUpdated` (coalesced live value): K connections with the activation's
  token subscribe, then E `trackActivationEvent` mutations are sent over HTTP one after
  the other; per client, the latency is from the last mutation's response until the
  first update showing the final click count. Also reports updates received per client.

Server, store driver and clients share one event loop, so latencies include their
contention. Bounded in time (`--seconds` caps every wait); sends traffic only to
127.0.0.1.

    flock /tmp/bench.lock .venv/bin/python -m bench.live_bench --processes 4 \
        [--sockets 10000] [--events 50] [--interval-ms 500]

runs the fan-out mode instead: the gateway (and the inserting driver) in this process, the
clients in `--processes` separate processes, each holding its share of `--sockets` aiohttp
WebSocket connections on `memberJoined` (one staff token: one share key, one execution).
Event→client latency is the client's receive time minus the time the insert started
(`time.monotonic`, one clock for every process on Linux). Reports deliveries, missing, the
percentiles, the gateway process's RSS (and peak) and its CPU time while the events flowed;
the gateway's and the store's CPU over 5 s idle with the sockets open, the store's CPU and the
gateway's GC pauses while the events flowed, and per event the time from insert to the
gateway's publish and the write loop to every socket. `--busy-poll-ms 50` runs the hub at its
idle pace throughout (the A/B for its busy pace).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import itertools
import json
import multiprocessing
import os
import resource
import secrets
import statistics
import struct
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import WSMsgType, web
from pymongo import AsyncMongoClient

from gateway.app import create_app
from gateway.auth.issue import keyring_from, staff_access_token
from gateway.auth.scopes import Role
from gateway.http import wsprotocol
from gateway.http.keys import SERVICES
from gateway.settings import Settings, load_settings
from gateway.storage.store import RunningStore, embedded_store, free_loopback_port
from loaders import activations, identity, members, partners
from loaders.base import utcnow

PROTOCOL = "graphql-transport-ws"
DB_NAME = "bench"
MEMBER_JOINED = "subscription { memberJoined { id name } }"
STATS_UPDATED = (
    "subscription($id: ID!) { activationStatsUpdated(activationId: $id) "
    "{ metrics { clickCount } } }"
)
TRACK = (
    "mutation($id: ID!, $session: String!) "
    "{ trackActivationEvent(activationId: $id, kind: VIEW, sessionId: $session) }"
)
CONNECT_CONCURRENCY = 50


def voucher(member_id: str) -> dict[str, str]:
    """A voucher of its own for each member (one member per voucher: a unique index)."""
    return {"_id": f"vch_{member_id}", "code": member_id.upper()}


@dataclass
class Fixtures:
    partner_id: str
    staff_token: str
    app_key: str
    activation_id: str
    activation_token: str


@dataclass
class Subscriber:
    """One graphql-transport-ws connection with one subscription, read by a background task."""

    ws: aiohttp.ClientWebSocketResponse
    stream: str  # the subscription field
    received: dict[str, float] = field(default_factory=dict)  # memberJoined: id -> time
    clicks: list[tuple[int, float]] = field(default_factory=list)  # stats: (count, time)
    problems: list[str] = field(default_factory=list)
    first: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        while True:
            raw = await self.ws.receive()
            now = time.perf_counter()
            if raw.type != WSMsgType.TEXT:  # we never close first: cancelled before that
                detail = f"{self.ws.close_code} {raw.extra or ''}".strip()
                self.problems.append(f"{raw.type.name.lower()} {detail}")
                self.first.set()
                return
            message: dict[str, Any] = json.loads(raw.data)
            kind = message.get("type")
            if kind == "ping":
                await self.ws.send_json({"type": "pong"})
            elif kind == "next" and not message["payload"].get("errors"):
                value = message["payload"]["data"][self.stream]
                if self.stream == "memberJoined":
                    self.received[value["id"]] = now
                else:
                    self.clicks.append((int(value["metrics"]["clickCount"]), now))
                self.first.set()
            else:
                self.problems.append(json.dumps(message)[:300])
                self.first.set()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.ws.close()


async def subscribe(
    session: aiohttp.ClientSession, url: str, init: Mapping[str, str], field_name: str,
    query: str, variables: Mapping[str, Any],
) -> Subscriber:  # fmt: skip
    ws = await session.ws_connect(url, protocols=[PROTOCOL], heartbeat=None)
    await ws.send_json({"type": "connection_init", "payload": dict(init)})
    ack = await ws.receive_json(timeout=30)
    if ack.get("type") != "connection_ack":
        await ws.close()
        raise RuntimeError(f"expected connection_ack, got {ack}")
    payload = {"query": query, "variables": dict(variables)}
    await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
    sub = Subscriber(ws, field_name)
    sub.task = asyncio.create_task(sub.read())
    return sub


async def subscribe_all(
    count: int, make: Callable[[], Awaitable[Subscriber]]
) -> tuple[list[Subscriber], list[str]]:
    """Open `count` subscriptions, at most CONNECT_CONCURRENCY handshakes at a time."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> Subscriber:
        async with gate:
            return await make()

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    subs = [r for r in results if isinstance(r, Subscriber)]
    failures = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    return subs, failures


async def active_subscriptions(session: aiohttp.ClientSession, base: str) -> float:
    async with session.get(f"{base}/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith("gateway_active_subscriptions "):
            return float(line.split()[1])
    return -1.0


async def until_listening(
    session: aiohttp.ClientSession, base: str, count: int, seconds: float
) -> float:
    """Poll /metrics until `gateway_active_subscriptions <count>.0`; returns the last value."""
    deadline = time.perf_counter() + seconds
    value = await active_subscriptions(session, base)
    while value != float(count) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        value = await active_subscriptions(session, base)
    return value


def summary(values_s: list[float]) -> str:
    if not values_s:
        return f"{'-':>8s} {'-':>8s} {'-':>8s} {'-':>8s}"
    ms = sorted(v * 1000 for v in values_s)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, max(0, round(p * len(ms)) - 1))]

    return f"{statistics.median(ms):8.1f} {pct(0.95):8.1f} {pct(0.99):8.1f} {ms[-1]:8.1f}"


def row(name: str, values_s: list[float], got: int, expected: int) -> str:
    return f"{name:28s} {got:>9d} {expected - got:>8d} {summary(values_s)}"


HEADER = (
    f"{'subscription':28s} {'delivered':>9s} {'missing':>8s} "
    f"{'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}"
)


def report_problems(label: str, subs: list[Subscriber], failures: list[str]) -> None:
    problems = [p for s in subs for p in s.problems] + failures
    if problems:
        print(f"  {label}: {len(problems)} problem(s), e.g.:")
        for problem in sorted(set(problems))[:5]:
            print(f"    {problem}")


async def create_fixtures(app: web.Application, settings: Settings) -> Fixtures:
    db = app[SERVICES].db
    partner = await partners.insert_partner(db, f"Bench {secrets.token_hex(4)}")
    partner_id = partner["_id"]
    staff = await identity.insert_staff(
        db, partner_id, "owner@bench.example.com", "correct-horse-battery", Role.OWNER, "Owner"
    )
    session_id, _ = await identity.open_session(db, staff, 3600)
    token = staff_access_token(keyring_from(settings), settings, staff, session_id).token
    _, app_key = await identity.insert_app_client(db, partner_id, "bench app")
    now = utcnow()
    fields = activations.validate_new_activation(
        "bench-live", "Bench live", "premium", now - timedelta(days=1), now + timedelta(days=30),
        activations.ActivationStatus.LIVE,
    )  # fmt: skip
    activation, activation_token = await activations.insert_activation(db, partner_id, fields)
    return Fixtures(partner_id, token, app_key, activation["_id"], activation_token)


async def bench_member_joined(
    session: aiohttp.ClientSession, base: str, store_uri: str, fx: Fixtures,
    subscribers: int, events: int, interval: float, seconds: float,
) -> None:  # fmt: skip
    url = f"{base}/graphql"
    init = {"authorization": f"Bearer {fx.staff_token}"}
    started = time.perf_counter()
    subs, failures = await subscribe_all(
        subscribers, lambda: subscribe(session, url, init, "memberJoined", MEMBER_JOINED, {})
    )
    gauge = await until_listening(session, base, len(subs), seconds)
    ready = time.perf_counter() - started
    print(
        f"memberJoined: {len(subs)}/{subscribers} subscribed, gauge {gauge:.0f}, "
        f"ready after {ready:.2f} s; inserting {events} members every {interval * 1000:.0f} ms"
    )
    inserted_at: dict[str, float] = {}
    store: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(store_uri)
    try:
        collection = store[DB_NAME]["members"]
        tick = time.perf_counter()
        for i in range(events):
            member_id = f"mem_{secrets.token_hex(8)}"
            doc = members.new_member(
                fx.partner_id, f"Bench Member {i}", f"m{i}-{member_id}@bench.example.com", "x",
                voucher(member_id), member_id=member_id,
            )  # fmt: skip
            inserted_at[member_id] = time.perf_counter()
            await collection.insert_one(doc)
            tick += interval
            await asyncio.sleep(max(0.0, tick - time.perf_counter()))
    finally:
        await store.close()
    first_insert, last_insert = min(inserted_at.values()), max(inserted_at.values())

    expected = len(subs) * events
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if sum(len(s.received) for s in subs) >= expected:
            break
        await asyncio.sleep(0.05)

    latencies = [
        t - inserted_at[member_id]
        for s in subs
        for member_id, t in s.received.items()
        if member_id in inserted_at
    ]
    complete = sum(1 for s in subs if len(s.received) == events)
    last_delivery = max((t for s in subs for t in s.received.values()), default=last_insert)
    print(HEADER)
    print(row("memberJoined (per delivery)", latencies, len(latencies), subscribers * events))
    print(
        f"  {complete}/{subscribers} subscribers got all {events} events; inserts took "
        f"{last_insert - first_insert:.2f} s ({events / max(last_insert - first_insert, 1e-9):.0f}"
        f"/s, {len(latencies) / max(last_delivery - first_insert, 1e-9):.0f} deliveries/s); "
        f"last delivery {(last_delivery - last_insert) * 1000:.0f} ms after the last insert"
    )
    report_problems("memberJoined", subs, failures)
    await asyncio.gather(*(s.close() for s in subs))


async def bench_stats_updated(
    session: aiohttp.ClientSession, base: str, fx: Fixtures,
    subscribers: int, events: int, seconds: float,
) -> None:  # fmt: skip
    url = f"{base}/graphql"
    init = {"token": fx.activation_token}
    variables = {"id": fx.activation_id}
    gauge = await until_listening(session, base, 0, seconds)  # the event streams are gone
    started = time.perf_counter()
    subs, failures = await subscribe_all(
        subscribers,
        lambda: subscribe(session, url, init, "activationStatsUpdated", STATS_UPDATED, variables),
    )
    gauge = await until_listening(session, base, len(subs), seconds)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await asyncio.gather(*(s.first.wait() for s in subs))
    ready = time.perf_counter() - started
    initial = [s.clicks[0][0] for s in subs if s.clicks]
    print(
        f"activationStatsUpdated: {len(subs)}/{subscribers} subscribed, gauge {gauge:.0f}, "
        f"{len(initial)} initial stats (clickCount {sorted(set(initial))}), ready after "
        f"{ready:.2f} s; sending {events} trackActivationEvent mutations"
    )
    headers = {"X-API-Key": fx.app_key}
    sent = time.perf_counter()
    failed = 0
    for i in range(events):
        body = {"query": TRACK, "variables": {"id": fx.activation_id, "session": f"bench-{i:06d}"}}
        async with session.post(url, json=body, headers=headers) as response:
            result = await response.json()
        if response.status != 200 or result.get("errors") or not result["data"]:
            failed += 1
            if failed == 1:
                print(f"  trackActivationEvent failed: HTTP {response.status} {result}")
    last_response = time.perf_counter()
    total = initial[0] + events - failed if initial else events - failed

    deadline = last_response + seconds
    while time.perf_counter() < deadline:
        if all(any(c == total for c, _ in s.clicks) for s in subs):
            break
        await asyncio.sleep(0.05)

    latencies = [
        next(t for c, t in s.clicks if c == total) - last_response
        for s in subs
        if any(c == total for c, _ in s.clicks)
    ]
    updates = [len(s.clicks) for s in subs]
    print(
        f"  {events - failed}/{events} mutations ok in {last_response - sent:.2f} s "
        f"({events / (last_response - sent):.0f}/s); final clickCount {total}"
    )
    print(HEADER)
    print(row("activationStats (final)", latencies, len(latencies), subscribers))
    if updates:
        print(
            f"  updates per client (incl. initial): min {min(updates)}, "
            f"median {statistics.median(updates):.0f}, max {max(updates)}; "
            f"never going backwards: "
            f"{all(a[0] <= b[0] for s in subs for a, b in itertools.pairwise(s.clicks))}"
        )
    report_problems("activationStatsUpdated", subs, failures)
    await asyncio.gather(*(s.close() for s in subs))


def raise_file_limit(sockets: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * sockets + 512  # both ends of every socket live in this process
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


# --- fan-out mode: clients in separate processes ---------------------------------------


def rss_mb() -> tuple[float, float]:
    """This process's resident set size and its peak, in MB (Linux /proc)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def masked_frame(message: Mapping[str, Any]) -> bytes:
    """A client's (masked) text frame."""
    data = orjson.dumps(message)
    mask = secrets.token_bytes(4)
    length = len(data)
    if length < 126:
        header = struct.pack("!BB", 0x81, 0x80 | length)
    else:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return header + mask + masked


class RawSubscriber(asyncio.Protocol):
    """A minimal graphql-transport-ws client on a plain asyncio protocol (`--client raw`):
    the same frames on the wire as aiohttp's client, a fraction of its CPU per message, so
    the load generator steals less of the machine from the server it measures."""

    def __init__(self, on_message: Callable[[dict[str, Any], float], None]) -> None:
        self.on_message = on_message
        self.buffer = bytearray()
        self.upgraded = False
        self.acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.acked.done():
            self.acked.set_exception(ConnectionError("closed before connection_ack"))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.acked.set_exception(ConnectionError(bytes(buffer[:80]).decode()))
                return
            self.upgraded = True
            del buffer[: end + 4]
        while len(buffer) >= 2:
            opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
            start = 2
            if length == 126:
                if len(buffer) < 4:
                    return
                (length,) = struct.unpack_from("!H", buffer, 2)
                start = 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                (length,) = struct.unpack_from("!Q", buffer, 2)
                start = 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 0x1:
                message = orjson.loads(payload)
                if message.get("type") == "connection_ack" and not self.acked.done():
                    self.acked.set_result(None)
                else:
                    self.on_message(message, now)
            elif opcode == 0x8:
                self.on_message({"type": "close", "payload": payload[:100].hex()}, now)

    def send(self, message: Mapping[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(masked_frame(message))


async def _client_process(
    url: str, init: Mapping[str, str], sockets: int, events: int, seconds: float, pipe: Connection,
    raw: bool = False,
) -> None:  # fmt: skip
    if raw:
        await _raw_client_process(url, init, sockets, events, seconds, pipe)
        return
    received: dict[str, list[float]] = {}
    problems: list[str] = []
    expected = sockets * events
    delivered = 0
    complete = asyncio.Event()

    async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
        nonlocal delivered
        while True:
            raw = await ws.receive()
            now = time.monotonic()
            if raw.type != WSMsgType.TEXT:
                problems.append(f"{raw.type.name.lower()} {ws.close_code} {raw.extra or ''}")
                return
            message = orjson.loads(raw.data)
            payload = message.get("payload") or {}
            if message.get("type") == "next" and not payload.get("errors"):
                received.setdefault(payload["data"]["memberJoined"]["id"], []).append(now)
                delivered += 1
                if delivered == expected:
                    complete.set()
            elif message.get("type") == "ping":
                await ws.send_str('{"type":"pong"}')
            else:
                problems.append(raw.data[:300])

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    readers: list[asyncio.Task[None]] = []

    async def one(session: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
        async with gate:
            ws = await session.ws_connect(url, protocols=[PROTOCOL], heartbeat=None)
            await ws.send_json({"type": "connection_init", "payload": dict(init)})
            ack = await ws.receive_json(timeout=seconds)
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"expected connection_ack, got {ack}")
            body = {"query": MEMBER_JOINED, "variables": {}}
            await ws.send_json({"id": "1", "type": "subscribe", "payload": body})
            readers.append(asyncio.create_task(read(ws)))
            return ws

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        results = await asyncio.gather(
            *(one(session) for _ in range(sockets)), return_exceptions=True
        )
        opened = [r for r in results if isinstance(r, aiohttp.ClientWebSocketResponse)]
        failures = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
        expected = len(opened) * events
        pipe.send(("ready", len(opened), failures[:5], len(failures)))
        loop = asyncio.get_running_loop()
        # The parent says when the last event was inserted; then wait for the stragglers.
        await loop.run_in_executor(None, pipe.recv)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(complete.wait(), seconds)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime
        pipe.send(("done", received, problems[:5], len(problems), cpu))
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


async def _raw_client_process(
    url: str, init: Mapping[str, str], sockets: int, events: int, seconds: float, pipe: Connection
) -> None:
    received: dict[str, list[float]] = {}
    problems: list[str] = []
    delivered = 0
    expected = sockets * events
    complete = asyncio.Event()

    def on_message(message: dict[str, Any], now: float) -> None:
        nonlocal delivered
        payload = message.get("payload") or {}
        if message.get("type") == "next" and not payload.get("errors"):
            received.setdefault(payload["data"]["memberJoined"]["id"], []).append(now)
            delivered += 1
            if delivered == expected:
                complete.set()
        else:
            problems.append(json.dumps(message)[:300])

    host, port = url.split("//")[1].split("/")[0].split(":")
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> RawSubscriber:
        async with gate:
            _, client = await loop.create_connection(
                lambda: RawSubscriber(on_message), host, int(port)
            )
            key = base64.b64encode(secrets.token_bytes(16)).decode()
            assert client.transport is not None
            client.transport.write(
                (
                    f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n"
                ).encode()
            )
            client.send({"type": "connection_init", "payload": dict(init)})
            await asyncio.wait_for(client.acked, seconds)
            body = {"query": MEMBER_JOINED, "variables": {}}
            client.send({"id": "1", "type": "subscribe", "payload": body})
            return client

    results = await asyncio.gather(*(one() for _ in range(sockets)), return_exceptions=True)
    opened = [r for r in results if isinstance(r, RawSubscriber)]
    failures = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    expected = len(opened) * events
    pipe.send(("ready", len(opened), failures[:5], len(failures)))
    await loop.run_in_executor(None, pipe.recv)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(complete.wait(), seconds)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pipe.send(("done", received, problems[:5], len(problems), usage.ru_utime + usage.ru_stime))
    for client in opened:
        if client.transport is not None:
            client.transport.close()


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of another process (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def timed_publishes() -> Iterator[dict[str, tuple[float, float]]]:
    """Record when the gateway starts and ends writing each event to its group (by member id).

    Wraps `wsprotocol.publish` (the in-process gateway's one call per event and group): it
    splits a delivery's latency into insert → publish (store, watcher pace, execution) and
    the write loop, the rest being the clients'.
    """
    original = wsprotocol.publish
    spans: dict[str, tuple[float, float]] = {}

    def publish(group: Any, result: Any) -> None:
        start = time.monotonic()
        original(group, result)
        data = result.data or {}
        member = data.get("memberJoined") or {}
        if "id" in member:
            spans[member["id"]] = (start, time.monotonic())

    wsprotocol.publish = publish  # type: ignore[assignment]
    try:
        yield spans
    finally:
        wsprotocol.publish = original


class GcPauses:
    """The garbage collector's pauses in this process while `active` (gc.callbacks)."""

    def __init__(self) -> None:
        self.active = False
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if not self.active:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def close(self) -> str:
        gc.callbacks.remove(self._callback)
        total = sum(seconds for _, seconds in self.pauses)
        longest = max((seconds for _, seconds in self.pauses), default=0.0)
        full = sum(1 for generation, _ in self.pauses if generation == 2)
        return (
            f"{len(self.pauses)} collections ({full} of generation 2), longest "
            f"{longest * 1e3:.1f} ms, {total * 1e3:.0f} ms in all"
        )


def client_process(
    url: str, init: Mapping[str, str], sockets: int, events: int, seconds: float, pipe: Connection,
    raw: bool,
) -> None:  # fmt: skip
    """One client process: `sockets` subscriptions, then every receive time by member id."""
    raise_file_limit(sockets)
    asyncio.run(_client_process(url, init, sockets, events, seconds, pipe, raw))


async def bench_fanout(
    session: aiohttp.ClientSession, base: str, store: RunningStore, fx: Fixtures,
    args: argparse.Namespace, spans: Mapping[str, tuple[float, float]],
) -> None:  # fmt: skip
    store_uri = store.uri
    # `spans`: the gateway's publish times by member id (`timed_publishes`).
    url = f"{base}/graphql"
    init = {"authorization": f"Bearer {fx.staff_token}"}
    loop = asyncio.get_running_loop()
    spawn = multiprocessing.get_context("spawn")
    shares = [
        args.sockets // args.processes + (1 if i < args.sockets % args.processes else 0)
        for i in range(args.processes)
    ]
    # One subscriber first, in this process: the members watcher is open before the storm
    # of handshakes (a new watcher has `ready_timeout`, 10 s, to open; a loop busy with
    # thousands of handshakes can take longer). Its deliveries are not counted.
    warm = await subscribe(session, url, init, "memberJoined", MEMBER_JOINED, {})
    await until_listening(session, base, 1, args.seconds)
    pipes: list[Connection] = []
    processes = []
    rss_idle, _ = rss_mb()
    started = time.perf_counter()
    for share in shares:
        parent, child = spawn.Pipe()
        process = spawn.Process(
            target=client_process,
            args=(url, init, share, args.events, args.seconds, child, args.client == "raw"),
            daemon=True,
        )  # fmt: skip
        process.start()
        pipes.append(parent)
        processes.append(process)
    try:
        readies = await asyncio.gather(*(loop.run_in_executor(None, p.recv) for p in pipes))
        opened = sum(r[1] for r in readies)
        for ready in readies:
            for failure in ready[2]:
                print(f"  connect failure ({ready[3]} in that process), e.g. {failure}")
        gauge = await until_listening(session, base, opened + 1, args.seconds) - 1
        ready_s = time.perf_counter() - started
        rss_ready, _ = rss_mb()
        print(
            f"fan-out: {opened}/{args.sockets} sockets in {args.processes} client processes, "
            f"gauge {gauge:.0f}, ready after {ready_s:.1f} s; gateway RSS {rss_idle:.0f} MB "
            f"before the sockets, {rss_ready:.0f} MB with them; inserting {args.events} members "
            f"every {args.interval_ms:.0f} ms"
        )
        # Idle: the sockets open, the watcher polling at its idle pace, no events.
        idle_s = 5.0
        idle_cpu, idle_store = self_cpu_s(), process_cpu_s(store.pid)
        await asyncio.sleep(idle_s)
        idle_cpu, idle_store = self_cpu_s() - idle_cpu, process_cpu_s(store.pid) - idle_store
        print(
            f"  idle for {idle_s:.0f} s with the sockets open: gateway CPU "
            f"{idle_cpu / idle_s * 100:.1f}% of a core, store {idle_store / idle_s * 100:.1f}%"
        )
        inserted_at: dict[str, float] = {}
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        store_cpu_before = process_cpu_s(store.pid)
        events_started = time.monotonic()
        pauses = GcPauses()
        pauses.active = True
        driver: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(store_uri)
        try:
            collection = driver[DB_NAME]["members"]
            tick = time.monotonic()
            for i in range(args.events):
                member_id = f"mem_{secrets.token_hex(8)}"
                doc = members.new_member(
                    fx.partner_id, f"Fan-out Member {i}", f"f{i}-{member_id}@bench.example.com",
                    "x", voucher(member_id), member_id=member_id,
                )  # fmt: skip
                inserted_at[member_id] = time.monotonic()
                await collection.insert_one(doc)
                tick += args.interval_ms / 1000
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
        finally:
            await driver.close()
        for pipe in pipes:
            pipe.send("inserted")
        results = await asyncio.gather(*(loop.run_in_executor(None, p.recv) for p in pipes))
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        store_cpu = process_cpu_s(store.pid) - store_cpu_before
        gc_line = pauses.close()
        events_s = time.monotonic() - events_started
        rss_after, rss_peak = rss_mb()
    finally:
        await warm.close()
        for process in processes:
            if "results" in locals():  # they are closing their sockets; else stop them now
                process.join(timeout=args.seconds)
            if process.is_alive():
                process.kill()
                process.join()
    latencies = [
        t - inserted_at[member_id]
        for _, received, *_ in results
        for member_id, times in received.items()
        if member_id in inserted_at
        for t in times
    ]
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    print(HEADER)
    print(row("memberJoined (per delivery)", latencies, len(latencies), opened * args.events))
    print(
        f"  gateway RSS {rss_after:.0f} MB (peak {rss_peak:.0f} MB); gateway CPU while the "
        f"events flowed {cpu:.2f} s ({cpu / max(len(latencies), 1) * 1e6:.1f} µs per delivery)"
    )
    print(f"  store CPU while the events flowed {store_cpu:.2f} s in {events_s:.1f} s")
    print(f"  gateway GC while the events flowed: {gc_line}")
    waits = [spans[m][0] - t for m, t in inserted_at.items() if m in spans]
    writes = [end - start for start, end in spans.values()]
    if waits and writes:
        print(
            f"  gateway: insert → publish start p50 {statistics.median(waits) * 1e3:.1f} ms, "
            f"max {max(waits) * 1e3:.1f} ms; writing one event to every socket p50 "
            f"{statistics.median(writes) * 1e3:.1f} ms, max {max(writes) * 1e3:.1f} ms "
            f"({len(spans)} events)"
        )
        by_event = [
            f"#{i} {(spans[m][0] - t) * 1e3:.0f}+{(spans[m][1] - spans[m][0]) * 1e3:.0f}"
            for i, (m, t) in enumerate(inserted_at.items()) if m in spans
        ]  # fmt: skip
        print(f"  per event, ms (insert → publish + writing): {' '.join(by_event)}")
    client_cpu = sum(r[4] for r in results)
    print(
        f"  {args.client} clients: {client_cpu:.1f} s CPU in all ({args.processes} processes, "
        f"whole run incl. connecting)"
    )
    problems = [p for r in results for p in r[2]]
    count = sum(r[3] for r in results)
    if count:
        print(f"  {count} problem(s) on the clients, e.g.: {sorted(set(problems))[:3]}")


async def main(args: argparse.Namespace) -> None:
    if args.processes:
        raise_file_limit(args.sockets // 2)  # one end of each socket lives here
    else:
        raise_file_limit(max(args.subscribers, args.stats_subscribers))
    with tempfile.TemporaryDirectory() as tmp, embedded_store(Path(tmp)) as store:
        settings = load_settings(
            env="development",
            mongodb_uri=store.uri,
            db_name=DB_NAME,
            data_dir=Path(tmp),
            jwt_keys={"bench-k1": secrets.token_urlsafe(48)},
            jwt_signing_kid="bench-k1",
        )
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_loopback_port()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
        base = f"http://127.0.0.1:{port}"
        try:
            fx = await create_fixtures(app, settings)
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                if args.processes:
                    if args.busy_poll_ms is not None:
                        app[SERVICES].hub.busy_poll_seconds = args.busy_poll_ms / 1000
                    with timed_publishes() as spans:
                        await bench_fanout(session, base, store, fx, args, spans)
                    return
                await bench_member_joined(
                    session, base, store.uri, fx, args.subscribers, args.events,
                    args.interval_ms / 1000, args.seconds,
                )  # fmt: skip
                print()
                await bench_stats_updated(
                    session, base, fx, args.stats_subscribers, args.stats_events, args.seconds
                )
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=200, help="memberJoined clients")
    parser.add_argument("--events", type=int, help="members inserted (200; fan-out mode 50)")
    parser.add_argument(
        "--interval-ms", type=float, help="between inserts (20 ms; fan-out mode 500 ms)"
    )
    parser.add_argument("--stats-subscribers", type=int, default=100)
    parser.add_argument("--stats-events", type=int, default=300, help="mutations sent")
    parser.add_argument("--seconds", type=float, default=30.0, help="the longest of any wait")
    parser.add_argument(
        "--processes", type=int, default=0,
        help="fan-out mode: clients in this many separate processes (0: the in-loop benchmark)",
    )  # fmt: skip
    parser.add_argument("--sockets", type=int, default=10_000, help="fan-out mode: sockets")
    parser.add_argument(
        "--client", choices=("aiohttp", "raw"), default="aiohttp",
        help="fan-out mode: aiohttp WebSocket clients, or minimal raw-protocol ones",
    )  # fmt: skip
    parser.add_argument(
        "--busy-poll-ms", type=float,
        help="fan-out mode: the hub's pace while changes flow (default: the hub's own; "
        "50 = the idle pace throughout, as before the busy pace)",
    )  # fmt: skip
    arguments = parser.parse_args()
    if arguments.events is None:
        arguments.events = 50 if arguments.processes else 200
    if arguments.interval_ms is None:
        arguments.interval_ms = 500.0 if arguments.processes else 20.0
    asyncio.run(main(arguments))
