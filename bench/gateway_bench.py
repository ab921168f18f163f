"""Server CPU per request of the gateway against a hand-written aiohttp floor, same run.

    flock /tmp/bench.lock .venv/bin/python -m bench.gateway_bench [--seconds 5] [--rounds 2]

One invocation: starts an embedded store (fresh temp dir), seeds the demo data plus extra
rows for partner Alpha (120 members with watch history, 120 fans, 60 products), then runs
two servers on the same store and data, both pinned to CPU 0 with `taskset`:

- (a) the gateway (`gateway serve`, demo environment: rate limiter on, as in production);
- (b) `bench.floor`: hand-written aiohttp handlers, no GraphQL, the same credential checks,
  rate-limit charge and MongoDB commands, JSON built by hand and encoded with orjson.

The load generator (this process, aiohttp client, `--concurrency` workers) runs on CPU 1;
the store is not pinned. Before measuring, every operation's answer is compared between
the two servers (parsed JSON must be equal) and so is the number of MongoDB commands each
request sends. Then, per operation and round, each server is driven for `--seconds`; its
CPU time is read from `/proc/<pid>/stat` (utime + stime) before and after. Printed per
operation: req/s and CPU ms per request for both, and the ratios gateway / floor ("raw":
all CPU of the run), then the same net of idle CPU: before the load both servers sit idle
for `--idle-seconds` and their background CPU per second (rate-limit syncs, change-stream
`getMore`s) times each run's seconds is subtracted ("net"). That idle CPU is measured at
rest; under load the change-stream polling costs far less (README, 2026-12-08: with it slowed
to every 2 s the history rows' CPU per row hardly moved), so "net" over-subtracts where the
background is a large share, the store-bound rows at ~10-25 req/s: read "raw" there. The
scaling part runs `members(first: N) { history(first: 3) }` and `fans(first: N)` for
N = 5, 20, 50, 100 and prints server CPU microseconds per returned row.

Ratios are what to read: other processes share the machine, so absolute numbers move;
both servers are measured in the same run, alternately (who goes first alternates by round),
under the same conditions. Each row also gives the median and range of the rounds' own CPU
ratios: one round disturbed by the machine moves the total, not the median.
Traffic goes only to 127.0.0.1. Linux only (taskset, /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import hdrs
from pymongo import AsyncMongoClient

from bench.operations import OPERATIONS
from gateway.storage.store import embedded_store, free_loopback_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DB_NAME = "bench"
ALPHA = "par_demo-alpha"
EXTRA_MEMBERS = 120
EXTRA_FANS = 120
EXTRA_PRODUCTS = 60
SERVER_CPU = "0"
TASKSET = shutil.which("taskset") or "/usr/bin/taskset"
CLIENT_CPU = 1
TICKS = os.sysconf("SC_CLK_TCK")
HEADLINE: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("typename", {}),
    ("catalogue", {"first": 50}),
    ("dashboard", {"first": 50}),
    ("partner_stats", None),  # variables: the live activation's id and token
)
SIZES = (5, 20, 50, 100)


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime

    async def commands(self, session: aiohttp.ClientSession) -> int:
        base = self.url.removesuffix("/graphql")
        if self.name == "floor":
            async with session.get(f"{base}/commands") as response:
                return int(orjson.loads(await response.read()))
        async with session.get(f"{base}/metrics") as response:
            text = await response.text()
        return int(
            sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("gateway_mongo_commands_total{")
            )
        )


@dataclass
class Sample:
    requests: int
    seconds: float
    cpu: float
    commands: int = 0

    @property
    def commands_per_request(self) -> float:
        return self.commands / max(1, self.requests)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / max(1, self.requests)


async def seed_extra(uri: str) -> None:
    """Extra rows for partner Alpha, cloned from its demo rows (unique fields changed)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    db = client[DB_NAME]
    try:
        member = await db.members.find_one({"partner_id": ALPHA, "watch_minutes": {"$gt": 0}})
        assert member is not None
        events = await db.watch_events.find({"member_id": member["_id"]}).to_list(None)
        members, history = [], []
        for i in range(EXTRA_MEMBERS):
            mid = f"mem_bench-{i:04d}"
            members.append({**member, "_id": mid, "email": f"bench{i}@alpha.bench",
                            "name": f"Bench Member {i}",
                            "voucher_id": f"vch_bench-{i:04d}",  # unique per member
                            "voucher_code": f"BENCH-{i:04d}",
                            "created_ms": member["created_ms"] - i})  # fmt: skip
            history += [{**e, "_id": f"wev_bench-{i:04d}-{j}", "member_id": mid}
                        for j, e in enumerate(events)]  # fmt: skip
        await db.members.insert_many(members)
        await db.watch_events.insert_many(history)
        fan = await db.fans.find_one({"partner_id": ALPHA})
        assert fan is not None
        await db.fans.insert_many([
            {**fan, "_id": f"fan_bench-{i:04d}", "email": f"fan{i}@alpha.bench",
             "phone": f"+4917{i:08d}"}
            for i in range(EXTRA_FANS)
        ])  # fmt: skip
        product = await db.products.find_one({"partner_id": ALPHA, "status": "active"})
        assert product is not None
        await db.products.insert_many([
            {**product, "_id": f"prd_bench-{i:04d}", "name": f"Bench product {i}"}
            for i in range(EXTRA_PRODUCTS)
        ])  # fmt: skip
    finally:
        await client.close()


# `--uvloop`: both servers under uvloop's event loop (installed separately: an experiment).
UVLOOP = "import sys, runpy, uvloop; uvloop.install(); sys.argv = sys.argv[1:]; "


def _commands(use_uvloop: bool) -> list[tuple[str, list[str]]]:
    if not use_uvloop:
        return [
            ("gateway", [str(BIN / "gateway"), "serve", "--host", "127.0.0.1", "--port"]),
            ("floor", [sys.executable, "-m", "bench.floor", "--port"]),
        ]
    return [
        ("gateway", [sys.executable, "-c", UVLOOP + "runpy.run_module('gateway', run_name="
                     "'__main__')", "gateway", "serve", "--host", "127.0.0.1", "--port"]),
        ("floor", [sys.executable, "-c", UVLOOP + "runpy.run_module('bench.floor', run_name="
                   "'__main__')", "floor", "--port"]),
    ]  # fmt: skip


@contextmanager
def servers(env: dict[str, str], use_uvloop: bool = False) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for name, command in _commands(use_uvloop):
            port = free_loopback_port()
            log = (Path(env["GATEWAY_DATA_DIR"]) / f"{name}.log").open("wb")
            process = subprocess.Popen(
                [TASKSET, "-c", SERVER_CPU, *command, str(port)],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            started.append(Server(name, f"http://127.0.0.1:{port}/graphql", process))
        yield started
    except BaseException:
        for server in started:
            path = Path(env["GATEWAY_DATA_DIR"]) / f"{server.name}.log"
            print(f"--- last lines of the {server.name} log", file=sys.stderr)
            print(*path.read_text(errors="replace").splitlines()[-30:], sep="\n", file=sys.stderr)
        raise
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(10)
            except subprocess.TimeoutExpired:
                server.process.kill()


async def wait_ready(session: aiohttp.ClientSession, server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
        try:
            async with session.post(server.url, json={"query": "{ __typename }"}) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{server.name} did not start")


async def staff_token(session: aiohttp.ClientSession, url: str, staff: dict[str, str]) -> str:
    query = (
        "mutation($e: String!, $p: String!) { partnerLogin(email: $e, password: $p) "
        "{ accessToken } }"
    )
    body = {"query": query, "variables": {"e": staff["email"], "p": staff["password"]}}
    async with session.post(url, json=body, headers={"X-Bench": "1"}) as response:
        out = await response.json()
    return str(out["data"]["partnerLogin"]["accessToken"])


async def drive(
    session: aiohttp.ClientSession, server: Server, body: bytes, headers: dict[str, str],
    seconds: float, concurrency: int,
) -> Sample:  # fmt: skip
    count = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            async with session.post(server.url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{server.name}: HTTP {response.status}")
            count += 1

    commands = await server.commands(session)
    cpu0, t0 = server.cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sample = Sample(count, time.perf_counter() - t0, server.cpu_seconds() - cpu0)
    sample.commands = await server.commands(session) - commands
    return sample


async def answer(
    session: aiohttp.ClientSession, server: Server, body: bytes, headers: dict[str, str]
) -> tuple[Any, int]:
    before = await server.commands(session)
    async with session.post(server.url, data=body, headers=headers) as response:
        payload = await response.read()
        if response.status != 200:
            raise RuntimeError(f"{server.name}: HTTP {response.status}: {payload[:300]!r}")
    return orjson.loads(payload), await server.commands(session) - before


def rows_in(data: Any) -> int:
    root = next(iter(data["data"].values()))
    return len(root["edges"])


async def run(args: argparse.Namespace, env: dict[str, str], creds: dict[str, Any]) -> None:
    alpha = next(p for p in creds["partners"] if p["id"] == ALPHA)
    live = alpha["activations"][0]  # the demo's live activation comes first
    with servers(env, args.uvloop) as (gateway, floor):
        os.sched_setaffinity(0, {CLIENT_CPU})
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        # aiohttp's client asks for gzip by default; the gateway honours it (answers of 1 KB and
        # more), the floor does not compress: ask both for identity, the same work on each.
        headers = {hdrs.ACCEPT_ENCODING: "identity"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            for server in (gateway, floor):
                await wait_ready(session, server)
            owner = next(s for s in alpha["staff"] if s["role"] == "owner")
            bearer = await staff_token(session, gateway.url, owner)
            credentials = {
                "none": {},
                "app": {"X-API-Key": alpha["appKeys"][0]},
                "staff": {"Authorization": f"Bearer {bearer}"},
            }

            def request(
                name: str, variables: dict[str, Any] | None
            ) -> tuple[bytes, dict[str, str]]:
                text, who = OPERATIONS[name]
                if variables is None:
                    variables = {"id": live["id"], "token": live["token"]}
                body = orjson.dumps({"query": text, "variables": variables})
                return body, {"Content-Type": "application/json", **credentials[who]}

            cases = [(name, variables) for name, variables in HEADLINE]
            cases += [(n, {"first": size}) for n in ("member_history", "fans") for size in SIZES]
            print(f"checking answers ({len(cases)} operations)…", flush=True)
            for name, variables in cases:
                body, headers = request(name, variables)
                (g, g_cmds), (f, f_cmds) = [
                    await answer(session, s, body, headers) for s in (gateway, floor)
                ]
                same = "identical JSON" if g == f else "DIFFERENT JSON"
                print(f"  {name:15s} {json.dumps(variables or {}):16s} {same}; MongoDB commands "
                      f"per request: gateway {g_cmds}, floor {f_cmds}")  # fmt: skip
                if g != f:
                    print("    gateway:", orjson.dumps(g)[:600].decode())
                    print("    floor:  ", orjson.dumps(f)[:600].decode())
                    raise SystemExit(1)

            # Background CPU (rate-limit syncs of the windows just charged, change-stream
            # getMores): both servers idle for a short window, after the checks above.
            idle: dict[str, float] = {}
            cpu0 = {server.name: server.cpu_seconds() for server in (gateway, floor)}
            t0 = time.perf_counter()
            await asyncio.sleep(args.idle_seconds)
            elapsed = time.perf_counter() - t0
            for server in (gateway, floor):
                idle[server.name] = (server.cpu_seconds() - cpu0[server.name]) / elapsed
            per_second = {name: f"{value * 1000:.1f}" for name, value in idle.items()}
            print(f"\nidle CPU over {elapsed:.1f} s (ms of CPU per second): "
                  f"gateway {per_second['gateway']}, floor {per_second['floor']}")  # fmt: skip

            def net_ms(server: str, sample: Sample) -> float:
                busy = sample.cpu - idle[server] * sample.seconds
                return max(0.0, busy) * 1000 / max(1, sample.requests)

            async def compare(
                name: str, variables: dict[str, Any] | None, concurrency: int
            ) -> dict[str, Sample]:
                body, headers = request(name, variables)
                samples: dict[str, list[Sample]] = {"gateway": [], "floor": []}
                for server in (gateway, floor):  # warm-up
                    await drive(session, server, body, headers, 1.0, concurrency)
                for index in range(args.rounds):
                    # Alternate who goes first: a drift of the machine's load between the
                    # two halves of a round then weighs on both servers alike.
                    for server in (gateway, floor) if index % 2 == 0 else (floor, gateway):
                        sample = await drive(
                            session, server, body, headers, args.seconds, concurrency
                        )
                        samples[server.name].append(sample)
                totals = {k: _total(v) for k, v in samples.items()}
                round_ratios[name, concurrency, json.dumps(variables)] = sorted(
                    g.cpu_ms / f.cpu_ms
                    for g, f in zip(samples["gateway"], samples["floor"], strict=True)
                )
                return totals

            # Per compared operation: the CPU ratio of each round, sorted.
            round_ratios: dict[tuple[str, int, str], list[float]] = {}

            def rounds_of(name: str, variables: dict[str, Any] | None, concurrency: int) -> str:
                ratios = round_ratios[name, concurrency, json.dumps(variables)]
                middle = ratios[len(ratios) // 2] if len(ratios) % 2 else (
                    (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
                )  # fmt: skip
                return f"{middle:.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})"

            print(f"\nconcurrency {args.concurrency}, {args.rounds} x {args.seconds:g} s each, "
                  f"servers on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}")  # fmt: skip
            print("raw = all server CPU over the run / requests; net = the same less the idle "
                  "CPU per second above x the run's seconds (measured at rest: it over-subtracts "
                  "on store-bound rows, read raw there)")  # fmt: skip
            print(f"{'operation':28s} {'gateway req/s':>13s} {'floor req/s':>12s} "
                  f"{'gw CPU ms/req':>13s} {'floor CPU ms/req':>16s} {'CPU ratio':>9s} "
                  f"{'req/s ratio':>11s} {'cmds/req gw/floor':>17s} {'net gw ms/req':>13s} "
                  f"{'net floor ms/req':>16s} {'net ratio':>9s}  "
                  "rounds: median (range)")  # fmt: skip
            for name, variables in HEADLINE:
                if args.only and name not in args.only:
                    continue
                s = await compare(name, variables, args.concurrency)
                g, f = s["gateway"], s["floor"]
                net_g, net_f = net_ms("gateway", g), net_ms("floor", f)
                print(f"{name:28s} {g.rps:13.0f} {f.rps:12.0f} {g.cpu_ms:13.2f} "
                      f"{f.cpu_ms:16.2f} {g.cpu_ms / f.cpu_ms:9.2f} {g.rps / f.rps:11.2f} "
                      f"{g.commands_per_request:8.2f}/{f.commands_per_request:<8.2f} "
                      f"{net_g:13.3f} {net_f:16.3f} {net_g / max(net_f, 1e-9):9.2f}  "
                      f"{rounds_of(name, variables, args.concurrency)}",
                      flush=True)  # fmt: skip

            print(
                "\nserver CPU per returned row (microseconds), gateway / floor, "
                f"concurrency {args.scaling_concurrency}"
            )
            for name in ("member_history", "fans"):
                if args.only and name not in args.only:
                    continue
                for size in SIZES:
                    s = await compare(name, {"first": size}, args.scaling_concurrency)
                    g, f = s["gateway"], s["floor"]
                    per_row = [x.cpu * 1e6 / max(1, x.requests * size) for x in (g, f)]
                    net = net_ms("gateway", g) / max(net_ms("floor", f), 1e-9)
                    print(f"{name + f'(first: {size})':28s} {per_row[0]:9.0f} us/row "
                          f"{per_row[1]:9.0f} us/row   CPU ratio {g.cpu_ms / f.cpu_ms:5.2f} "
                          f"(net {net:5.2f}; rounds "
                          f"{rounds_of(name, {'first': size}, args.scaling_concurrency)})  "
                          f"req/s {g.rps:6.0f} / {f.rps:6.0f}  cmds/req "
                          f"{g.commands_per_request:.2f} / {f.commands_per_request:.2f}",
                          flush=True)  # fmt: skip


def _total(samples: list[Sample]) -> Sample:
    return Sample(
        sum(s.requests for s in samples),
        sum(s.seconds for s in samples),
        sum(s.cpu for s in samples),
        sum(s.commands for s in samples),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--scaling-concurrency", type=int, default=4)
    parser.add_argument(
        "--only", type=lambda v: v.split(","), default=None,
        help="comma-separated operations to time (typename, catalogue, dashboard, "
        "partner_stats, member_history, fans); default all",
    )  # fmt: skip
    parser.add_argument(
        "--idle-seconds", type=float, default=3.0,
        help="idle window before the load: each server's background CPU per second, "
        "subtracted for the net columns",
    )  # fmt: skip
    parser.add_argument("--uvloop", action="store_true", help="run both servers on uvloop")
    parser.add_argument("--env", default="demo", help="GATEWAY_ENV of both servers")
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs two CPUs (server on one, load generator on the other)")
    with tempfile.TemporaryDirectory() as tmp, embedded_store(Path(tmp) / "store") as store:
        env = {
            **os.environ,
            "MONGODB_URI": store.uri,
            "GATEWAY_ENV": args.env,
            "GATEWAY_DATA_DIR": tmp,
            "GATEWAY_DB_NAME": DB_NAME,
            # The limiter stays on (its commands are part of the cost); the benchmark's
            # one principal must not run out of units.
            "GATEWAY_RATE_LIMIT_COST": str(10**12),
            "GATEWAY_RATE_LIMIT_ANONYMOUS_COST": str(10**12),
            "GATEWAY_ACCESS_TOKEN_TTL_SECONDS": "3600",
        }
        seeded = subprocess.run(
            [str(BIN / "gateway"), "seed", "--demo", "--json"],
            env=env, cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
        creds = json.loads(seeded.stdout)
        asyncio.run(seed_extra(store.uri))
        asyncio.run(run(args, env, creds))


if __name__ == "__main__":
    main()
