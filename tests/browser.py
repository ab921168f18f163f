"""A real demo gateway process and Debian's headless Chromium (driven by Playwright), shared by
the browser tests (tests/test_pages_browser.py) and the screenshot script
(scripts/screenshots.py).

Playwright's own browser download cannot work offline; it drives the system Chromium
(`apt-get install chromium`) through the driver its wheel ships.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.storage.store import free_loopback_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_SECONDS = 60.0  # generous: the machine is shared; not a timing assertion
STOP_SECONDS = 20.0


def gateway_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without gateway settings: demo mode on the embedded store."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.upper().startswith("GATEWAY_") or k.upper() == "MONGODB_URI")
    }
    env.update(GATEWAY_ENV="demo", GATEWAY_DATA_DIR=str(data_dir), **extra)
    return env


def http(
    url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One JSON request to our loopback gateway; (status, parsed body)."""
    assert url.startswith("http://127.0.0.1:")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@dataclass
class DemoGateway:
    """A running `gateway serve` in demo mode with the demo data, and its credentials."""

    url: str
    report: dict[str, Any]

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> dict[str, Any]:
        status, body = http(
            f"{self.url}/graphql", {"query": query, "variables": variables or {}}, headers
        )
        assert status == 200, body
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    def staff(self, role: str, partner: int = 0) -> dict[str, str]:
        found: dict[str, str] = next(
            s for s in self.report["partners"][partner]["staff"] if s["role"] == role
        )
        return found

    def login(self, role: str, partner: int = 0) -> str:
        staff = self.staff(role, partner)
        data = self.graphql(
            "mutation($e: String!, $p: String!) { partnerLogin(email: $e, password: $p) "
            "{ accessToken } }",
            {"e": staff["email"], "p": staff["password"]},
        )
        token: str = data["partnerLogin"]["accessToken"]
        return token


def _ready(url: str) -> bool:
    try:
        return http(f"{url}/readyz")[0] == 200
    except OSError:
        return False


@contextlib.contextmanager
def demo_gateway(data_dir: Path, **env: str) -> Iterator[DemoGateway]:
    """Seed the demo data into `data_dir`, serve it on a free port; always stop it after."""
    data_dir.mkdir(parents=True, exist_ok=True)
    seeded = subprocess.run(
        [sys.executable, "-m", "gateway", "seed", "--demo", "--json"],
        env=gateway_env(data_dir, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    port = free_loopback_port()
    with (data_dir / "gateway.stderr").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            env=gateway_env(data_dir, **env),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _ready(url):
            assert proc.poll() is None, (data_dir / "gateway.stderr").read_text()
            assert time.monotonic() < deadline, "gateway did not become ready"
            time.sleep(0.2)
        yield DemoGateway(url=url, report=json.loads(seeded.stdout))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the gateway stops its embedded store too
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_SECONDS)
