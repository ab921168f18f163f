"""The CLI as a person meets it: every bad input is one line on stderr and exit code 2, and
`--help` describes every option with its default. Real subprocesses throughout."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gateway.settings import Settings
from gateway.storage.store import free_loopback_port
from tests.conftest import TEST_JWT_KEYS

ROOT = Path(__file__).resolve().parent.parent
JWT_KEYS = ",".join(f"{k}:{v}" for k, v in TEST_JWT_KEYS.items())


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "MONGODB_"))}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**clean, **(env or {})}, cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def db_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    return {
        "MONGODB_URI": settings.mongodb_uri or "",
        "GATEWAY_DB_NAME": settings.db_name,
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_JWT_KEYS": JWT_KEYS,
    }


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("gateway: "), lines
    return lines[0]


@pytest.mark.parametrize("port", ["99999", "-1", "eighty"])
def test_serve_with_a_bad_port_names_the_option(tmp_path: Path, port: str) -> None:
    line = one_line(run("serve", "--port", port, env={"GATEWAY_DATA_DIR": str(tmp_path)}))
    assert "--port" in line and port in line


def test_admin_token_with_an_unusable_data_dir(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("a file, not a directory")
    line = one_line(run("admin", "token", env={"GATEWAY_DATA_DIR": str(tmp_path / "afile/x")}))
    assert "afile" in line


def test_an_unreachable_mongodb_is_one_line(tmp_path: Path) -> None:
    port = free_loopback_port()
    env = {
        "MONGODB_URI": f"mongodb://user:s3cret-pass@127.0.0.1:{port}/",
        "GATEWAY_MONGO_TIMEOUT_MS": "300",
        "GATEWAY_DATA_DIR": str(tmp_path),
    }
    line = one_line(run("admin", "create-partner", "--name", "Nowhere", env=env))
    assert f"127.0.0.1:{port}" in line and "not reachable" in line
    assert "s3cret-pass" not in line


def test_onboarding_refusals_say_what_and_which_option(
    settings: Settings, tmp_path: Path
) -> None:
    env = db_env(settings, tmp_path)
    made = run("admin", "create-partner", "--name", "Twice Ltd", env=env)
    assert made.returncode == 0, made.stderr
    partner_id = made.stdout.strip()
    # the same name again
    line = one_line(run("admin", "create-partner", "--name", "Twice Ltd", env=env))
    assert line == "gateway: --name: a partner named 'Twice Ltd' already exists"
    # an unknown partner
    staff = ["admin", "create-staff", "--email", "a@example.com", "--password", "long-enough-pw"]
    line = one_line(run(*staff, "--partner", "par_nobody000000", env=env))
    assert line == "gateway: --partner: partner par_nobody000000 not found"
    # a short password
    short = ["admin", "create-staff", "--partner", partner_id, "--email", "b@example.com"]
    line = one_line(run(*short, "--password", "short", env=env))
    assert line.startswith("gateway: --password: must be 10 to 256 characters"), line
    # a taken email
    assert run(*staff, "--partner", partner_id, env=env).returncode == 0
    line = one_line(run(*staff, "--partner", partner_id, env=env))
    assert "--email" in line and "a@example.com" in line and "already exists" in line
    # an app client name that is too long
    long_name = ["admin", "create-app-client", "--partner", partner_id, "--name", "x" * 200]
    assert one_line(run(*long_name, env=env)).startswith("gateway: --name: ")


def test_production_names_the_missing_jwt_keys_before_the_uri(tmp_path: Path) -> None:
    line = one_line(run("admin", "token", env={"GATEWAY_ENV": "production"}))
    assert "GATEWAY_JWT_KEYS" in line and "MONGODB_URI" in line
    assert line.index("GATEWAY_JWT_KEYS") < line.index("MONGODB_URI")


SUBCOMMANDS = [
    ["serve"], ["seed"], ["export-schema"], ["admin", "token"], ["admin", "create-partner"],
    ["admin", "create-staff"], ["admin", "create-app-client"], ["operations", "register"],
    ["operations", "measure"],
]  # fmt: skip


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_help_describes_every_option_with_its_default(command: list[str]) -> None:
    done = run(*command, "--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    # every option line carries a description (text after the option and its metavar)
    options = re.findall(r"^\s{2}(--[a-z-]+)(?: [A-Z_{},a-z|]+)?(.*)$", text, re.MULTILINE)
    for name, rest in options:
        if name == "--help":
            continue
        described = rest.strip() or text.split(name, 1)[1].split("\n", 2)[1].strip()
        assert described, (name, text)
    defaults = {"token": ("--name", "cli"), "create-staff": ("--role", "owner")}
    if command[-1] in defaults:
        name, default = defaults[command[-1]]
        block = " ".join(text.split(name, 1)[1].split())
        assert f"(default: {default})" in block


@pytest.mark.slow
def test_serve_on_port_zero_picks_a_free_port_and_says_which(tmp_path: Path) -> None:
    env = {"GATEWAY_DATA_DIR": str(tmp_path)}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "MONGODB_"))}
    err = (tmp_path / "stderr").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", "0"],
        env={**clean, **env}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        found = None
        while found is None and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "stderr").read_text()
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", (tmp_path / "stderr")
                              .read_text())  # fmt: skip
            time.sleep(0.2)
        assert found is not None, (tmp_path / "stderr").read_text()
        port = int(found.group(1))
        assert port != 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        err.close()
