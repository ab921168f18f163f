"""`python3 dev.py demo` as a newcomer runs it: it says what it does, leaves a credentials file
that is enough to call every surface, serves consistent data, and leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from tests.test_store_lifecycle import children_of, process_running, wait_gone

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(
    r"dev\.py: listening on http://127\.0\.0\.1:(\d+) — dashboard at /, GraphQL at /graphql, "
    r"credentials in (\S+)"
)


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "MONGODB_"))}
    return {**env, "GATEWAY_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


def graphql(port: int, query: str, variables: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        body: dict[str, Any] = json.loads(response.read())
        return body


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`dev.py demo --port 0` running; yields its pid, port, output and credentials."""
    data_dir = tmp_path_factory.mktemp("devdemo")
    out_path, err_path = data_dir / "stdout", data_dir / "stderr"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "dev.py", "demo", "--port", "0"],
            cwd=ROOT, env=clean_env(data_dir), stdout=out, stderr=err,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        found = None
        while found is None and time.monotonic() < deadline:
            assert proc.poll() is None, (out_path.read_text(), err_path.read_text())
            found = LISTENING.search(out_path.read_text())
            time.sleep(0.2)
        assert found is not None, (out_path.read_text(), err_path.read_text())
        port = int(found.group(1))
        credentials = json.loads((data_dir / "demo-credentials.json").read_text())
        yield {"proc": proc, "port": port, "data_dir": data_dir, "out": out_path,
               "err": err_path, "credentials": credentials, "shown": found.group(2)}  # fmt: skip
    finally:
        if proc.poll() is None:
            for child in children_of(proc.pid):
                os.kill(child, signal.SIGKILL)
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.slow
def test_it_says_what_it_does(demo: dict[str, Any]) -> None:
    out = demo["out"].read_text()
    assert "dev.py: seeding the demo data" in out
    assert demo["port"] != 0  # --port 0 picked a free port, and the line names it
    assert demo["shown"].endswith("demo-credentials.json")
    err = demo["err"].read_text()
    seeded = re.search(r"gateway: seeded Alpha Fitness, Bravo Events: (.*)", err)
    assert seeded, err
    counts = dict(reversed(item.split(" ", 1)) for item in seeded.group(1).split(", "))
    assert int(counts["vouchers"]) > 0 and int(counts["members"]) > 0, counts


@pytest.mark.slow
def test_the_credentials_file_is_enough_to_call_every_surface(demo: dict[str, Any]) -> None:
    creds, port = demo["credentials"], demo["port"]
    assert creds["urls"]["graphql"] == f"http://127.0.0.1:{port}/graphql"
    assert creds["urls"]["graphqlWebSocket"] == f"ws://127.0.0.1:{port}/graphql"
    assert creds["mintOperatorToken"].endswith("gateway admin token --name you")
    assert creds["operatorTokenExpiresAt"] > time.strftime("%Y-%m-%dT", time.gmtime(
        time.time() + 6 * 86400))  # fmt: skip
    operator = {"Authorization": f"Bearer {creds['operatorToken']}"}
    assert graphql(port, "{ viewer { kind } }", headers=operator)["data"]["viewer"]["kind"] == (
        "OPERATOR"
    )
    for partner in creds["partners"]:
        app = {"X-API-Key": partner["appKeys"][0]}
        # unused voucher codes validate
        assert partner["unusedVoucherCodes"]
        for code in partner["unusedVoucherCodes"]:
            body = graphql(port, "mutation($c: String!) { validateVoucher(code: $c) { valid } }",
                           {"c": code}, app)  # fmt: skip
            assert body["data"]["validateVoucher"]["valid"] is True, (code, body)
        # the member login works through the app key
        login = partner["memberLogin"]
        body = graphql(
            port,
            "mutation($e: String!, $p: String!) { memberLogin(email: $e, password: $p) "
            "{ __typename } }",
            {"e": login["email"], "p": login["password"]},
            {"X-API-Key": login["appKey"]},
        )
        assert "errors" not in body, body
        # staff log in; activation tokens open their stats
        staff = partner["staff"][0]
        body = graphql(
            port,
            "mutation($e: String!, $p: String!) { partnerLogin(email: $e, password: $p) "
            "{ accessToken } }",
            {"e": staff["email"], "p": staff["password"]},
        )
        assert body["data"]["partnerLogin"]["accessToken"]
        activation = partner["activations"][0]
        url = f"http://127.0.0.1:{port}/api/partner-stats/{activation['id']}"
        with urllib.request.urlopen(f"{url}?token={activation['token']}", timeout=30) as response:  # noqa: S310
            assert json.loads(response.read())["success"] is True


@pytest.mark.slow
def test_demo_data_is_consistent(demo: dict[str, Any]) -> None:
    uri = (demo["data_dir"] / "store" / "store.uri").read_text().strip()
    client: MongoClient[dict[str, Any]] = MongoClient(uri)
    try:
        db = client["gateway"]
        vouchers = {v["_id"]: v for v in db.vouchers.find({"partner_id": {"$regex": "^par_demo"}})}
        redeemed = [v for v in vouchers.values() if v["redeemed_ms"]]
        assert redeemed
        assert all(v["created_ms"] <= v["redeemed_ms"] for v in redeemed)
        members = list(db.members.find({"partner_id": {"$regex": "^par_demo"}}))
        assert members
        for member in members:
            voucher = vouchers[member["voucher_id"]]
            assert member["created_ms"] >= voucher["created_ms"], member["_id"]
            assert voucher["redeemed_ms"] == member["created_ms"]
    finally:
        client.close()


@pytest.mark.slow
def test_sigterm_to_dev_py_leaves_no_process(demo: dict[str, Any]) -> None:
    proc, port = demo["proc"], demo["port"]
    descendants = children_of(proc.pid)
    for child in list(descendants):
        descendants += children_of(child)
    assert descendants  # the gateway, and the store under it
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    for pid in descendants:
        wait_gone(pid, 30)
    with socket.socket() as sock:
        # The port is free again (SO_REUSEADDR: closed connections may linger in TIME_WAIT).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def test_a_busy_port_names_the_option(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "dev.py", "demo", "--port", str(port)],
            cwd=ROOT, env=clean_env(tmp_path), capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"port {port}" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "demo-credentials.json").exists()  # refused before seeding


def test_a_port_that_is_not_a_port_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "dev.py", "demo", "--port", "99999"],
        cwd=ROOT, env=clean_env(tmp_path), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "--port 99999" in done.stderr
    assert process_running(os.getpid())
