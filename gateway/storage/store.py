"""The embedded MongoDB-compatible store (`nx-27017`) as a supervised child process.

With no `MONGODB_URI`, the gateway runs `nx-27017` on a loopback port with its files
under the data dir. The child is tied to the parent's life three ways: the context
manager stops it on every normal or exceptional exit, SIGTERM/SIGINT are turned into
normal exits by the CLI, and on Linux the kernel sends it SIGTERM when the parent dies
for any other reason (PR_SET_PDEATHSIG), so it is never orphaned.

While the block runs, a supervisor thread waits on the child (so a dead one never stays
a zombie) and restarts it when it exits unbidden: on the same port, after clearing the
pid file it left, with a backoff that doubles from `restart_delay` (setting
`GATEWAY_STORE_RESTART_DELAY_SECONDS`) up to RESTART_MAX_SECONDS while the child keeps
dying young. Each exit and restart is one JSON
line on the `gateway.store` logger. The port is recorded in the data dir and reused by
the next start when it is free, so the store's address is stable for a data dir: other
processes sharing it (a second `gateway serve`, `gateway seed`) reconnect on their own.

A lock file in the data dir keeps two stores off the same files; the running one
publishes its URI there so other commands can share it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from pymongo import MongoClient
from pymongo.errors import PyMongoError

RESTART_FIRST_SECONDS = 0.2
RESTART_MAX_SECONDS = 5.0
# A child that ran this long before dying was healthy: the next restart starts the backoff over.
HEALTHY_RUN_SECONDS = 30.0

log = logging.getLogger("gateway.store")


class StoreError(Exception):
    """The embedded store could not be started, reached or shared."""


@dataclass(frozen=True)
class RunningStore:
    """The store a block runs against; `supervisor` is set when this process owns the child."""

    uri: str
    pid: int | None
    supervisor: StoreSupervisor | None = None


# The child's first lines, before nx-27017 runs: ask the kernel for SIGTERM when the parent
# dies (PR_SET_PDEATHSIG), then check the parent is still the one that started it. Done in
# the child rather than in a `preexec_fn`: forking with one runs the parent's at-fork
# hooks, and the async MongoDB client's hook fails outside an event loop.
_CHILD_BOOT = """
import ctypes, os, runpy, signal, sys
try:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
sys.argv = ["nx_27017", *sys.argv[2:]]
runpy.run_module("nx_27017.nx_27017", run_name="__main__", alter_sys=True)
"""


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def store_uri(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def _ping(uri: str, timeout_ms: int) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(
        uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _log_event(event: str, **fields: Any) -> None:
    log.warning(orjson.dumps({"event": event, **fields}).decode())


def _prepare_data_dir(data_dir: Path) -> Path:
    store_dir = data_dir / "store"
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
        probe = store_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise StoreError(f"data dir {data_dir} is not writable: {exc.strerror}") from None
    return store_dir


def shared_store_uri(data_dir: Path) -> str | None:
    """URI of a store another gateway process runs on this data dir, if one is alive."""
    uri_file = data_dir / "store" / "store.uri"
    lock_file = data_dir / "store" / "store.lock"
    if not uri_file.exists() or not lock_file.exists():
        return None
    with lock_file.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            uri = uri_file.read_text().strip()
            return uri if _ping(uri, 1000) else None
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


def _recorded_port(store_dir: Path) -> int:
    """The port this data dir's store used last time when it is free now, else a new one."""
    with contextlib.suppress(OSError, ValueError):
        port = int((store_dir / "store.port").read_text().strip())
        if 1024 <= port <= 65535 and _port_is_free(port):
            return port
    port = free_loopback_port()
    (store_dir / "store.port").write_text(str(port))
    return port


@contextlib.contextmanager
def embedded_store(
    data_dir: Path, start_timeout: float = 20.0, *, restart_delay: float = RESTART_FIRST_SECONDS
) -> Iterator[RunningStore]:
    """Run a supervised nx-27017 for the block; reuse one already serving this data dir."""
    store_dir = _prepare_data_dir(data_dir)
    lock: IO[str] = (store_dir / "store.lock").open("a")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            uri = shared_store_uri(data_dir)
            if uri is None:
                raise StoreError(
                    f"data dir {data_dir} is locked by another gateway whose store is not answering"
                ) from None
            yield RunningStore(uri=uri, pid=None)
            return
        supervisor = StoreSupervisor(
            store_dir, _recorded_port(store_dir), start_timeout, restart_delay=restart_delay
        )
        supervisor.start()
        try:
            (store_dir / "store.uri").write_text(supervisor.uri)
            _SUPERVISED[supervisor.uri] = supervisor
            yield RunningStore(uri=supervisor.uri, pid=supervisor.pid, supervisor=supervisor)
        finally:
            _SUPERVISED.pop(supervisor.uri, None)
            supervisor.stop()
            with contextlib.suppress(OSError):
                (store_dir / "store.uri").unlink()
    finally:
        lock.close()


# The stores this process supervises, by URI: the app asks whether the store it connects to
# is one of them, to answer at once while it is down instead of waiting for the driver.
_SUPERVISED: dict[str, StoreSupervisor] = {}


def supervised_store(uri: str) -> StoreSupervisor | None:
    """The supervisor of the embedded store at `uri`, when this process runs it."""
    return _SUPERVISED.get(uri)


@dataclass
class StoreSupervisor:
    """Owns the nx-27017 child: starts it, reaps it, restarts it on the same port.

    `available` is set while the child answers; `on_change` callbacks hear each flip
    (they run in the supervisor thread, so they must only set flags).
    """

    store_dir: Path
    port: int
    start_timeout: float
    restart_delay: float = RESTART_FIRST_SECONDS
    restarts: int = 0
    available: threading.Event = field(default_factory=threading.Event)
    on_change: list[Callable[[bool], None]] = field(default_factory=list)
    _proc: subprocess.Popen[bytes] | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    @property
    def uri(self) -> str:
        return store_uri(self.port)

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    @property
    def pid_file(self) -> Path:
        return self.store_dir / "nx-27017.pid"

    def start(self) -> None:
        """Start the child and wait until it answers; then watch it from a daemon thread."""
        self._launch()
        self._set_available(True)
        self._thread = threading.Thread(target=self._watch, name="store-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising and stop the child (it is not restarted any more)."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None:
            _stop(proc)
        if self._thread is not None:
            self._thread.join(timeout=RESTART_MAX_SECONDS + self.start_timeout)

    def _set_available(self, value: bool) -> None:
        if value:
            self.available.set()
        else:
            self.available.clear()
        for callback in self.on_change:
            callback(value)

    def _watch(self) -> None:
        delay = self.restart_delay
        while not self._stopping.is_set():
            proc = self._proc
            if proc is None:  # pragma: no cover - start() always launched one
                return
            started = time.monotonic()
            code = proc.wait()  # reaps it: a dead child never stays a zombie
            if self._stopping.is_set():
                return
            self._set_available(False)
            down_since = time.monotonic()
            if time.monotonic() - started >= HEALTHY_RUN_SECONDS:
                delay = self.restart_delay
            _log_event("store_exited", pid=proc.pid, returncode=code, restartInSeconds=delay)
            while not self._stopping.wait(delay):
                delay = min(delay * 2, max(RESTART_MAX_SECONDS, self.restart_delay))
                self.restarts += 1
                try:
                    self._launch()
                except StoreError as exc:
                    _log_event("store_restart_failed", attempt=self.restarts, reason=str(exc))
                    continue
                if self._stopping.is_set():
                    return
                _log_event(
                    "store_restarted", pid=self.pid, restarts=self.restarts,
                    downSeconds=round(time.monotonic() - down_since, 2),
                )  # fmt: skip
                self._set_available(True)
                break

    def _launch(self) -> None:
        clear_stale_pid_file(self.pid_file)
        log_path = self.store_dir / "nx-27017.log"
        cmd = [
            sys.executable, "-c", _CHILD_BOOT, str(os.getpid()),
            "--data-dir", str(self.store_dir / "db"),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--log-file", str(log_path), "--pid-file", str(self.pid_file),
        ]  # fmt: skip
        (self.store_dir / "db").mkdir(exist_ok=True)
        with self._lock:
            if self._stopping.is_set():
                return
            with log_path.open("ab") as log_file:
                proc = self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, our interpreter
                    cmd,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
        deadline = time.monotonic() + self.start_timeout
        while not _ping(self.uri, 500):
            if proc.poll() is not None:
                raise StoreError(
                    f"embedded store exited with code {proc.returncode} at start; see {log_path}"
                )
            if self._stopping.is_set():
                return
            if time.monotonic() > deadline:
                _stop(proc)
                raise StoreError(
                    f"embedded store did not answer within {self.start_timeout:.0f}s; "
                    f"see {log_path}"
                )
            time.sleep(0.1)


def clear_stale_pid_file(pid_file: Path) -> bool:
    """Remove a pid file whose process is gone (or is no longer the store); True if removed.

    nx-27017 refuses to start while its pid file names a live process, and a recycled pid
    or an unreaped zombie would pass that check.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        pid = 0
    if pid > 0 and process_running(pid) and b"nx_27017" in _cmdline(pid):
        return False
    with contextlib.suppress(FileNotFoundError):
        pid_file.unlink()
    return True


def process_running(pid: int) -> bool:
    """True while `pid` is a live process; a zombie waiting for its reaper counts as gone."""
    if not Path("/proc/self").exists():  # no procfs: signal 0 is all there is
        return pid_alive(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b"nx_27017"  # cannot tell (no procfs): assume it is the store


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
