"""The embedded store under supervision, with real processes: SIGKILL the store child and
watch the gateway restart it, answer quickly with coded JSON meanwhile, keep every
acknowledged write, and keep a second gateway on the same data dir working.

Processes are spawned as in test_store_lifecycle.py. The gateways here run with a long
driver timeout (GATEWAY_MONGO_TIMEOUT_MS=30000), so an answer that waited for the driver
would take 30 s: "fast" is checked against that, never against a tight bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.http.keys import SERVICES
from gateway.storage.store import clear_stale_pid_file, free_loopback_port
from loaders import identity, partners
from tests.conftest import make_settings
from tests.test_store_lifecycle import (
    ROOT,
    START_SECONDS,
    STOP_SECONDS,
    children_of,
    clean_env,
    cli,
    cmdline,
    demo_staff,
    process_running,
    wait_until,
)
from tests.test_subscriptions_engine import StoreProcess

pytestmark = pytest.mark.slow

DRIVER_WAIT_MS = 30_000  # what a request would wait if it went to the driver during an outage
FAST_SECONDS = 10.0  # well under DRIVER_WAIT_MS: the answer did not wait for the driver
RECOVER_SECONDS = 60.0
RESTART_DELAY = 3.0  # long enough for the test to see the outage before the restart
LOGIN = (
    "mutation($e: String!, $p: String!) { partnerLogin(email: $e, password: $p) { accessToken } }"
)
PARTNER = "{ partner { name } }"
GENERATE = (
    "mutation($p: String!) { generateVouchers(input: {quantity: 1, prefix: $p}) "
    "{ vouchers { id code } } }"
)
VOUCHERS = (
    "query($s: String!, $after: String) { vouchers(search: $s, first: 100, after: $after) "
    "{ edges { node { code } } pageInfo { hasNextPage endCursor } } }"
)


@dataclass
class Answer:
    status: int
    content_type: str
    body: Any
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)


def call(url: str, body: dict[str, Any] | None = None, token: str = "") -> Answer:
    """One HTTP request; any status (503 included) is an answer, not an exception."""
    assert url.startswith("http://127.0.0.1:")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    started = time.monotonic()
    try:
        response = urllib.request.urlopen(request, timeout=60)  # noqa: S310 - our loopback
    except urllib.error.HTTPError as exc:
        response = exc
    with response:
        raw = response.read()
        content_type = response.headers.get("Content-Type", "")
        headers = dict(response.headers.items())
        status = response.status if hasattr(response, "status") else response.code
    body_value = json.loads(raw) if content_type.startswith("application/json") else raw
    return Answer(status, content_type, body_value, time.monotonic() - started, headers)


@dataclass
class Served:
    """A `gateway serve` process; `store_pid` is its store child when it owns one."""

    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, variables: dict[str, Any] | None = None, token: str = "") -> Any:
        return call(f"{self.url}/graphql", {"query": query, "variables": variables or {}}, token)

    def ok(self, query: str, variables: dict[str, Any] | None = None, token: str = "") -> Any:
        answer = self.graphql(query, variables, token)
        assert answer.status == 200 and "errors" not in answer.body, answer
        return answer.body["data"]

    def readyz(self) -> int:
        try:
            return call(f"{self.url}/readyz").status
        except OSError:
            return 0

    def store_children(self) -> list[int]:
        return [p for p in children_of(self.proc.pid) if b"nx_27017" in cmdline(p)]

    def store_pid(self) -> int:
        stores = self.store_children()
        assert len(stores) == 1, stores
        return stores[0]

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def log_events(self, event: str) -> list[dict[str, Any]]:
        found = []
        for line in self.stderr().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and record.get("event") == event:
                    found.append(record)
        return found


@contextlib.contextmanager
def gateway(
    data_dir: Path, name: str = "gateway", restart_delay: float = RESTART_DELAY
) -> Iterator[Served]:
    """`gateway serve` on a free port (owning or sharing the data dir's store); killed after."""
    port = free_loopback_port()
    stderr_path = data_dir / f"{name}.stderr"
    env = clean_env(
        data_dir,
        GATEWAY_MONGO_TIMEOUT_MS=str(DRIVER_WAIT_MS),
        GATEWAY_STORE_RESTART_DELAY_SECONDS=str(restart_delay),
    )
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    served = Served(proc, port, data_dir, stderr_path)
    stores: list[int] = []
    try:

        def up() -> bool:
            assert proc.poll() is None, served.stderr()
            return served.readyz() == 200

        wait_until(up, START_SECONDS, f"{name} to be ready")
        yield served
    finally:
        stores.extend(served.store_children())
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_SECONDS)
        for pid in stores:
            if process_running(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("supervised")
    done = cli(data_dir, "seed", "--demo", "--json", timeout=300)  # a loaded machine
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return data_dir, report


def login(served: Served, report: dict[str, Any]) -> str:
    _, email, password = demo_staff(report)
    token: str = served.ok(LOGIN, {"e": email, "p": password})["partnerLogin"]["accessToken"]
    return token


def assert_outage_answer(answer: Answer) -> None:
    """Coded, masked JSON, quickly: never text/plain, never the store's address."""
    assert answer.content_type.startswith("application/json"), answer
    assert answer.status == 503, answer
    assert answer.headers.get("Retry-After") == "1"
    [error] = answer.body["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "127.0.0.1" not in error["message"] and "mongodb" not in error["message"].lower()
    assert answer.seconds < FAST_SECONDS, answer


def assert_no_unhandled_error(log: str) -> None:
    """Nothing escaped to aiohttp (a plain-text 500) and no fork hook failed in a child.

    (Tracebacks as such are not checked: Strawberry's own `strawberry.execution` logger logs
    every resolver error with its traceback, an in-flight query's included.)
    """
    assert "Error handling request" not in log
    assert "Exception ignored" not in log
    assert "Unhandled exception" not in log


def all_voucher_codes(served: Served, search: str, token: str) -> set[str]:
    codes: set[str] = set()
    after = None
    while True:
        page = served.ok(VOUCHERS, {"s": search, "after": after}, token)["vouchers"]
        codes.update(edge["node"]["code"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return codes
        after = page["pageInfo"]["endCursor"]


class Writer(threading.Thread):
    """Generates one voucher per request until stopped; keeps the codes that were acknowledged."""

    def __init__(self, served: Served, token: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self.served, self.token, self.prefix = served, token, prefix
        self.acknowledged: list[str] = []
        self.refused: list[Answer] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            answer = self.served.graphql(GENERATE, {"p": self.prefix}, self.token)
            if answer.status == 200 and "errors" not in answer.body:
                [voucher] = answer.body["data"]["generateVouchers"]["vouchers"]
                self.acknowledged.append(voucher["code"])
            else:
                self.refused.append(answer)
                time.sleep(0.05)


# --- a killed store -------------------------------------------------------------------------


def test_a_killed_store_is_restarted_and_no_acknowledged_write_is_lost(
    seeded: tuple[Path, dict[str, Any]],
) -> None:
    data_dir, report = seeded
    with gateway(data_dir) as served:
        # Given a gateway that owns its store, and a client writing all the time
        token = login(served, report)
        first_pid = served.store_pid()
        writer = Writer(served, token, "ACK")
        writer.start()
        wait_until(lambda: len(writer.acknowledged) >= 3, RECOVER_SECONDS, "the first writes")

        # When the store child is SIGKILLed
        os.kill(first_pid, signal.SIGKILL)

        # Then the gateway reaps it (no zombie) and is not ready while it is down
        # (a zombie keeps its /proc entry until its parent waits for it)
        reaped = lambda: not Path(f"/proc/{first_pid}").exists()  # noqa: E731
        wait_until(reaped, STOP_SECONDS, "the dead store to be reaped, not left a zombie")
        wait_until(lambda: served.readyz() == 503, RECOVER_SECONDS, "/readyz to say 503")
        # …and answers GraphQL at once with a coded JSON error, for every kind of caller
        assert_outage_answer(served.graphql(PARTNER, token=token))
        assert_outage_answer(served.graphql("{ __typename }"))
        assert_outage_answer(served.graphql(LOGIN, {"e": "x@example.com", "p": "pw"}))

        # Then it restarts the store (a new child, on the same address) and is ready again
        wait_until(lambda: served.readyz() == 200, RECOVER_SECONDS, "/readyz to say 200 again")
        second_pid = served.store_pid()
        assert second_pid != first_pid
        assert int((data_dir / "store" / "nx-27017.pid").read_text()) == second_pid
        before = len(writer.acknowledged)
        wait_until(lambda: len(writer.acknowledged) >= before + 3, RECOVER_SECONDS, "later writes")
        writer.stopping.set()
        writer.join(timeout=60)

        # …every refusal meanwhile was a coded JSON answer (never a plain-text 500)
        # (how many of its requests met the outage depends on the machine's speed)
        for answer in writer.refused:
            assert answer.content_type.startswith("application/json"), answer
            codes = {e["extensions"]["code"] for e in answer.body["errors"]}
            assert codes == {"INTERNAL_SERVER_ERROR"}, answer
        # …every acknowledged write is there after the restart
        # (every page: how many writes were acknowledged depends on the machine's speed)
        assert set(writer.acknowledged) <= all_voucher_codes(served, "ACK-", token)
        # …and the exit and the restart are one JSON log line each
        [exited] = served.log_events("store_exited")
        assert exited["pid"] == first_pid and exited["returncode"] == -signal.SIGKILL
        [restarted] = served.log_events("store_restarted")
        assert restarted["pid"] == second_pid and restarted["restarts"] == 1
        assert_no_unhandled_error(served.stderr())


def test_a_second_gateway_on_the_data_dir_keeps_working_across_a_restart(
    seeded: tuple[Path, dict[str, Any]],
) -> None:
    data_dir, report = seeded
    name, _, _ = demo_staff(report)
    # (the first waits longer before restarting: the second sees the outage by the driver)
    with (
        gateway(data_dir, "first", restart_delay=3 * RESTART_DELAY) as first,
        gateway(data_dir, "second") as second,
    ):
        # Given two gateways on one data dir: the first runs the store, the second shares it
        assert len(first.store_children()) == 1
        assert second.store_children() == []
        token = login(second, report)
        assert second.ok(PARTNER, token=token) == {"partner": {"name": name}}

        # When the store dies and the first gateway restarts it
        os.kill(first.store_pid(), signal.SIGKILL)
        wait_until(lambda: second.readyz() == 503, RECOVER_SECONDS, "the second to notice")
        assert_outage_answer(second.graphql(PARTNER, token=token))
        wait_until(lambda: first.readyz() == 200, RECOVER_SECONDS, "the first to recover")

        # Then the second gateway reconnects to the same address and works again
        wait_until(lambda: second.readyz() == 200, RECOVER_SECONDS, "the second to recover")
        assert second.ok(PARTNER, token=token) == {"partner": {"name": name}}
        assert login(second, report)
        assert_no_unhandled_error(second.stderr())


# --- the pid file ----------------------------------------------------------------------------


def test_a_stale_pid_file_is_cleared_and_a_live_store_s_is_kept(tmp_path: Path) -> None:
    pid_file = tmp_path / "nx-27017.pid"
    # A process that is gone (reaped)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    pid_file.write_text(str(gone.pid))
    assert clear_stale_pid_file(pid_file) and not pid_file.exists()
    # A live process that is not the store (a recycled pid)
    pid_file.write_text(str(os.getpid()))
    assert clear_stale_pid_file(pid_file) and not pid_file.exists()
    # Garbage
    pid_file.write_text("not a pid")
    assert clear_stale_pid_file(pid_file) and not pid_file.exists()
    # No file at all
    assert not clear_stale_pid_file(pid_file)
    # A zombie (exited, not yet reaped by its parent) counts as gone
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_until(lambda: not process_running(zombie.pid), STOP_SECONDS, "the child to exit")
    assert Path(f"/proc/{zombie.pid}").exists()  # still a zombie: not waited for
    pid_file.write_text(str(zombie.pid))
    assert clear_stale_pid_file(pid_file)
    zombie.wait()
    # A live store keeps its pid file
    store_like = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "nx_27017"])
    try:
        pid_file.write_text(str(store_like.pid))
        assert not clear_stale_pid_file(pid_file) and pid_file.exists()
    finally:
        store_like.kill()
        store_like.wait()


# --- in process: a store this process does not supervise --------------------------------------


@pytest.fixture
def unsupervised_store(tmp_path: Path) -> Iterator[StoreProcess]:
    store = StoreProcess(tmp_path / "unsupervised", free_loopback_port())
    store.start()
    try:
        yield store
    finally:
        store.stop()


async def test_the_first_requests_after_an_unsupervised_store_dies_are_coded_json(
    aiohttp_client: Any, unsupervised_store: StoreProcess, tmp_path: Path
) -> None:
    # Given an app on a store it does not run (only the driver can tell it is gone), and an
    # app key, whose lookup happens before GraphQL (outside its error masking)
    settings = make_settings(unsupervised_store.uri, "unsupervised", tmp_path)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    db = client.app[SERVICES].db
    partner = await partners.insert_partner(db, "Unsupervised")
    _, key = await identity.insert_app_client(db, partner["_id"], "app")
    ok = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"X-API-Key": key})
    assert ok.status == 200
    # When the store dies
    assert unsupervised_store.proc is not None
    unsupervised_store.proc.kill()
    unsupervised_store.proc.wait()
    # Then every request answers quickly with coded JSON (from the driver's error after its
    # short server selection, or from the outage flag), never aiohttp's plain-text 500
    loop = asyncio.get_running_loop()
    for headers in ({"X-API-Key": key}, {"X-API-Key": key}, {}):
        started = loop.time()
        response = await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert response.content_type == "application/json", await response.text()
        assert response.status == 503
        body = await response.json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL_SERVER_ERROR"]
        assert "127.0.0.1" not in body["errors"][0]["message"]
        assert loop.time() - started < FAST_SECONDS
    ready = await client.get("/readyz")
    assert ready.status == 503
