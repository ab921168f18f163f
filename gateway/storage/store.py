"""The embedded MongoDB-compatible store (`nx-27017`) as a supervised child process.

With no `MONGODB_URI`, the gateway runs `nx-27017` on a free loopback port with its
files under the data dir. The child is tied to the parent's life three ways: the
context manager stops it on every normal or exceptional exit, SIGTERM/SIGINT are
turned into normal exits by the CLI, and on Linux the kernel sends it SIGTERM when
the parent dies for any other reason (PR_SET_PDEATHSIG), so it is never orphaned.

A lock file in the data dir keeps two stores off the same files; the running one
publishes its URI there so other commands (`gateway seed`) can share it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pymongo import MongoClient
from pymongo.errors import PyMongoError

PR_SET_PDEATHSIG = 1


class StoreError(Exception):
    """The embedded store could not be started, reached or shared."""


@dataclass(frozen=True)
class RunningStore:
    uri: str
    pid: int | None


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


@contextlib.contextmanager
def embedded_store(data_dir: Path, start_timeout: float = 20.0) -> Iterator[RunningStore]:
    """Run nx-27017 for the duration of the block; reuse one already serving this data dir."""
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
        with _spawn(store_dir, start_timeout) as running:
            (store_dir / "store.uri").write_text(running.uri)
            try:
                yield running
            finally:
                with contextlib.suppress(OSError):
                    (store_dir / "store.uri").unlink()
    finally:
        lock.close()


@contextlib.contextmanager
def _spawn(store_dir: Path, start_timeout: float) -> Iterator[RunningStore]:
    port = free_loopback_port()
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    log_path = store_dir / "nx-27017.log"
    cmd = [
        sys.executable, "-m", "nx_27017.nx_27017",
        "--data-dir", str(store_dir / "db"),
        "--host", "127.0.0.1", "--port", str(port),
        "--log-file", str(log_path), "--pid-file", str(store_dir / "nx-27017.pid"),
    ]  # fmt: skip
    (store_dir / "db").mkdir(exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    try:
        deadline = time.monotonic() + start_timeout
        while not _ping(uri, 500):
            if proc.poll() is not None:
                raise StoreError(
                    f"embedded store exited with code {proc.returncode} at start; see {log_path}"
                )
            if time.monotonic() > deadline:
                raise StoreError(
                    f"embedded store did not answer within {start_timeout:.0f}s; see {log_path}"
                )
            time.sleep(0.1)
        yield RunningStore(uri=uri, pid=proc.pid)
    finally:
        _stop(proc)


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
