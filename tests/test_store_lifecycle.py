"""The real `gateway` CLI as a process: start, serve, stop on signals, never orphan the store.

Each test runs `python -m gateway …` with the embedded store (no MONGODB_URI) under a
temporary data dir and talks to it over HTTP. Every wait is bounded; a test that fails
kills what it started (the gateway, and the store by the pid the gateway spawned).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from gateway.storage.store import free_loopback_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# Generous bounds: the machine may be shared and loaded; none of these is a timing assertion.
START_SECONDS = 45.0
STOP_SECONDS = 20.0
ORPHAN_SECONDS = 10.0  # SIGKILLed gateway -> kernel SIGTERMs the store -> it shuts down
PARTNER = "{ partner { name } }"
LOGIN = (
    "mutation($e: String!, $p: String!) { partnerLogin(email: $e, password: $p) { accessToken } }"
)
VIEWER = "{ viewer { kind partnerId } }"


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any gateway settings, on the embedded store."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.upper().startswith("GATEWAY_") or k.upper() == "MONGODB_URI")
    }
    env.update(GATEWAY_ENV="development", GATEWAY_DATA_DIR=str(data_dir), **extra)
    return env


def cli(data_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=clean_env(data_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")
        time.sleep(0.1)


def process_running(pid: int) -> bool:
    """True while `pid` is a live process (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in {"Z", "X"}


def wait_gone(pid: int, seconds: float) -> None:
    """Wait (bounded) for the process to end; the failure shows what state it is stuck in."""
    try:
        wait_until(lambda: not process_running(pid), seconds, f"process {pid} to exit")
    except AssertionError as exc:
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            raise AssertionError(f"{exc}: {[line for line in status if ':' in line][:8]}") from None
        raise


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def http(url: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our loopback
        return response.status, json.loads(response.read())


@dataclass
class Gateway:
    """A running `gateway serve` and the embedded store it spawned."""

    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    store_pid: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, variables: dict[str, Any] | None = None, token: str = "") -> Any:
        status, body = http(
            f"{self.url}/graphql", {"query": query, "variables": variables or {}}, token or None
        )
        assert status == 200, body
        return body

    def login(self, email: str, password: str) -> str:
        body = self.graphql(LOGIN, {"e": email, "p": password})
        token: str = body["data"]["partnerLogin"]["accessToken"]
        return token

    def stop(self, sig: signal.Signals) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=STOP_SECONDS)

    def stderr(self) -> str:
        return (self.data_dir / "gateway.stderr").read_text()


def ready(port: int) -> bool:
    try:
        return all(
            http(f"http://127.0.0.1:{port}{path}")[0] == 200 for path in ("/healthz", "/readyz")
        )
    except (OSError, urllib.error.URLError):
        return False


@contextlib.contextmanager
def serving(data_dir: Path) -> Iterator[Gateway]:
    """Start `gateway serve` on a free port; on the way out, kill whatever is left."""
    port = free_loopback_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "gateway.stderr").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            env=clean_env(data_dir),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    store_pids: list[int] = []
    try:

        def up() -> bool:
            assert proc.poll() is None, (data_dir / "gateway.stderr").read_text()
            return ready(port)

        wait_until(up, START_SECONDS, "/healthz and /readyz")
        stores = [p for p in children_of(proc.pid) if b"nx_27017" in cmdline(p)]
        assert len(stores) == 1, stores
        store_pids.extend(stores)
        # The pid file the store writes names the same process.
        pid_file = data_dir / "store" / "nx-27017.pid"
        assert int(pid_file.read_text().strip()) == stores[0]
        yield Gateway(proc=proc, port=port, data_dir=data_dir, store_pid=stores[0])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STOP_SECONDS)
        for pid in store_pids:
            if process_running(pid):
                os.kill(pid, signal.SIGKILL)


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A data dir with the demo data, and the credentials `seed --demo --json` printed."""
    data_dir = tmp_path_factory.mktemp("seeded")
    done = cli(data_dir, "seed", "--demo", "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return data_dir, report


def demo_staff(report: dict[str, Any]) -> tuple[str, str, str]:
    partner = report["partners"][0]
    staff = partner["staff"][0]
    return partner["name"], staff["email"], staff["password"]


def assert_one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("gateway: ")
    return lines[0]


# --- serving and stopping ------------------------------------------------------------------


def test_sigterm_stops_the_gateway_and_its_store(seeded: tuple[Path, dict[str, Any]]) -> None:
    # Given demo data seeded by an earlier process (its store has stopped since)
    data_dir, report = seeded
    name, email, password = demo_staff(report)
    with serving(data_dir) as gateway:
        # When a demo staff member logs in, the data is there
        token = gateway.login(email, password)
        assert gateway.graphql(PARTNER, token=token) == {"data": {"partner": {"name": name}}}
        assert gateway.graphql("{ __typename }") == {"data": {"__typename": "Query"}}
        # When the gateway gets SIGTERM, it exits 0 and takes the store with it
        assert gateway.stop(signal.SIGTERM) == 0
        wait_gone(gateway.store_pid, STOP_SECONDS)
        assert "Traceback" not in gateway.stderr()


MALFORMED_REQUESTS = (
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: s3cr3t-in-a-header\r\n\r\n",
    b"GARBAGE\x01\r\n\r\n",
    b"GET /" + b"s3cr3t" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
)


def raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        return conn.recv(4096)


def test_malformed_http_is_a_400_and_one_log_line_without_traceback_or_bytes(
    seeded: tuple[Path, dict[str, Any]],
) -> None:
    data_dir, _ = seeded
    with serving(data_dir) as gateway:
        # When clients send what aiohttp's parser refuses, several times over
        answers = [raw_exchange(gateway.port, raw) for raw in MALFORMED_REQUESTS * 4]
        assert gateway.stop(signal.SIGTERM) == 0
    # Then each gets a 400, and the log has one short warning per kind, throttled to 5
    assert all(answer.startswith(b"HTTP/1.0 400") for answer in answers), answers
    log = gateway.stderr()
    assert "Traceback" not in log and "s3cr3t" not in log
    warnings = [line for line in log.splitlines() if "malformed HTTP request" in line]
    kinds = {line.rsplit(": ", 1)[1] for line in warnings}
    # (aiohttp logs a bad method on a connection's first request at debug level only)
    assert kinds == {"BadHttpMessage", "LineTooLong"}, warnings
    assert all(sum(k in line for line in warnings) <= 5 for k in kinds), warnings


def test_sigint_stops_both_and_data_survives_restarts(
    seeded: tuple[Path, dict[str, Any]],
) -> None:
    data_dir, report = seeded
    name, email, password = demo_staff(report)
    for _ in range(2):
        # Each start on the same data dir still finds the seeded partner
        with serving(data_dir) as gateway:
            token = gateway.login(email, password)
            assert gateway.graphql(PARTNER, token=token)["data"]["partner"]["name"] == name
            assert gateway.stop(signal.SIGINT) == 0
            wait_gone(gateway.store_pid, STOP_SECONDS)
            assert "Traceback" not in gateway.stderr()


def test_a_killed_gateway_takes_the_store_down(seeded: tuple[Path, dict[str, Any]]) -> None:
    data_dir, report = seeded
    name, email, password = demo_staff(report)
    with serving(data_dir) as gateway:
        # When the gateway is killed outright (no handler runs)
        gateway.proc.kill()
        gateway.proc.wait(timeout=STOP_SECONDS)
        # Then the kernel's parent-death signal stops the store within a few seconds
        wait_gone(gateway.store_pid, ORPHAN_SECONDS)
    # And the data dir is usable again despite the stale pid/uri files left behind
    with serving(data_dir) as again:
        token = again.login(email, password)
        assert again.graphql(PARTNER, token=token)["data"]["partner"]["name"] == name
        assert again.stop(signal.SIGTERM) == 0


def test_admin_token_is_accepted_as_operator(seeded: tuple[Path, dict[str, Any]]) -> None:
    data_dir, _ = seeded
    with serving(data_dir) as gateway:
        # Given an operator token printed by the CLI for the same data dir (same dev keys)
        done = cli(data_dir, "admin", "token", "--name", "lifecycle")
        assert done.returncode == 0, done.stderr
        token = done.stdout.strip()
        assert len(token.split(".")) == 3
        assert jwt.get_unverified_header(token)["alg"].startswith("HS")
        # Then the running gateway accepts it as an operator
        viewer = gateway.graphql(VIEWER, token=token)["data"]["viewer"]
        assert viewer == {"kind": "OPERATOR", "partnerId": None}
        # …and refuses it once tampered with
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        with pytest.raises(urllib.error.HTTPError) as refused:
            gateway.graphql(VIEWER, token=forged)
        assert refused.value.code == 401
        refused.value.close()
        assert gateway.stop(signal.SIGTERM) == 0


# --- refusing to start --------------------------------------------------------------------


def test_busy_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = cli(tmp_path, "serve", "--port", str(port))
    line = assert_one_line_error(done)
    assert str(port) in line
    assert "in use" in line
    # The store it started for the attempt is gone too.
    pid_file = tmp_path / "store" / "nx-27017.pid"
    if pid_file.exists():
        wait_gone(int(pid_file.read_text().strip()), STOP_SECONDS)


def test_unusable_data_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # A path below a regular file cannot be created, even by root.
    (tmp_path / "afile").write_text("not a directory")
    done = cli(tmp_path / "afile" / "sub", "serve", "--port", str(free_loopback_port()))
    line = assert_one_line_error(done)
    assert "afile" in line


# --- other commands ------------------------------------------------------------------------


def test_export_schema_prints_the_committed_schema(tmp_path: Path) -> None:
    done = cli(tmp_path, "export-schema")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "schema.graphql").read_text()
    # Printing the schema needs no store and writes nothing.
    assert list(tmp_path.iterdir()) == []
