#!/usr/bin/env python3
"""One-command set-up and run on a fresh machine with only Python 3.11+.

    python3 dev.py demo [--host H] [--port P]   # venv, demo data, gateway (--port 0: a free one)
    python3 dev.py test [pytest args]           # venv + install, the test suite (pytest)
    python3 dev.py lint                         # ruff + mypy (strict)

The virtualenv lives in .venv and is rebuilt when pyproject.toml changes (with `uv` when it is
on PATH, else pip; binary wheels preferred). `demo` writes every credential a client developer
needs to var/demo-credentials.json and stops the gateway and its store on SIGTERM/SIGINT.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"
START_SECONDS = 120
PR_SET_PDEATHSIG = 1
UV_VERSION = "0.9.5"  # also pinned in pyproject.toml's test extras


def say(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py must explain itself on old Pythons
        sys.exit("dev.py: Python 3.11 or newer is required")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    started = time.monotonic()
    uv = shutil.which("uv")
    if not (BIN / "python").exists():
        say(f"creating .venv (Python {sys.version.split()[0]})")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if uv is None:
        uv = _bootstrap_uv()
    tool = "uv" if uv else "pip"
    say(f"installing the gateway and its pinned dependencies with {tool} (binary wheels)…")
    if uv:
        command = [uv, "pip", "install", "--quiet", "--python", str(BIN / "python")]
    else:
        command = [str(BIN / "python"), "-m", "pip", "install", "--quiet",
                   "--disable-pip-version-check", "--prefer-binary"]  # fmt: skip
    subprocess.run([*command, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)
    say(f"installed in {time.monotonic() - started:.0f} s")


def _bootstrap_uv() -> str | None:
    """uv (pinned) installed into .venv with pip: one wheel, then ~30x faster installs.

    None when it cannot be had (no wheel for this platform, no index): pip does the work.
    """
    if (BIN / "uv").exists():
        return str(BIN / "uv")
    say(f"fetching uv {UV_VERSION} for a fast install")
    done = subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--only-binary=:all:", f"uv=={UV_VERSION}"],
        check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return str(BIN / "uv") if done.returncode == 0 and (BIN / "uv").exists() else None


def run(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.call(list(args), cwd=ROOT, env={**os.environ, **(env or {})})


def _option(rest: list[str], name: str) -> str | None:
    """The value of `--name V` or `--name=V` among the pass-through arguments."""
    for i, arg in enumerate(rest):
        if arg == name and i + 1 < len(rest):
            return rest[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _without(rest: list[str], name: str) -> list[str]:
    out: list[str] = []
    skip = False
    for i, arg in enumerate(rest):
        if skip:
            skip = False
            continue
        if arg == name and i + 1 < len(rest):
            skip = True
            continue
        if not arg.startswith(name + "="):
            out.append(arg)
    return out


def _free_port(host: str, port: int) -> int | None:
    """`port` if it can be bound on `host` now (0: a free one the OS picks), else None."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.bind((host, port))
            chosen: int = sock.getsockname()[1]
            return chosen
    except OSError:
        return None


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    # If dev.py is killed outright (SIGKILL), the kernel stops the gateway too.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our loopback URL
            return bool(response.status == 200)
    except OSError:
        return False


def demo(rest: list[str]) -> int:
    env = {**os.environ, "GATEWAY_ENV": os.environ.get("GATEWAY_ENV", "demo")}
    host = _option(rest, "--host") or os.environ.get("GATEWAY_HOST", "127.0.0.1")
    wanted = _option(rest, "--port") or os.environ.get("GATEWAY_PORT", "8000")
    if not wanted.isdigit() or not 0 <= int(wanted) <= 65535:
        print(f"dev.py: --port {wanted}: not a port (0..65535; 0 picks a free one)",
              file=sys.stderr)  # fmt: skip
        return 2
    port = _free_port(host, int(wanted))
    if port is None:
        print(f"dev.py: port {wanted} on {host} is already in use; choose another with --port "
              "(e.g. python3 dev.py demo --port 9000, or --port 0 for a free one)",
              file=sys.stderr)  # fmt: skip
        return 2
    rest = [*_without(_without(rest, "--port"), "--host"), "--host", host, "--port", str(port)]
    data_dir = Path(os.environ.get("GATEWAY_DATA_DIR", ROOT / "var"))
    data_dir.mkdir(parents=True, exist_ok=True)
    gateway = str(BIN / "gateway")
    say("seeding the demo data…")
    seeded = subprocess.run([gateway, "seed", "--demo", "--json"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, check=False)  # fmt: skip
    if seeded.returncode != 0:
        return seeded.returncode
    base = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    report: dict[str, Any] = json.loads(seeded.stdout)
    report["urls"] = {
        "dashboard": f"{base}/",
        "graphql": f"{base}/graphql",
        "graphqlWebSocket": f"{base.replace('http', 'ws', 1)}/graphql",
        "partnerStats": f"{base}/api/partner-stats/{{activationId}}?token={{token}}",
        "exports": f"{base}/export/vouchers.csv",
        "metrics": f"{base}/metrics",
    }
    creds = data_dir / "demo-credentials.json"
    fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(report, out, indent=2)
    shown = creds.relative_to(ROOT) if creds.is_relative_to(ROOT) else creds
    say("starting the gateway…")
    child = subprocess.Popen(
        [gateway, "serve", *rest], env=env, cwd=ROOT,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )  # fmt: skip

    def forward(signum: int, _: object) -> None:
        # The gateway stops its store; dev.py exits once the gateway has.
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    deadline = time.monotonic() + START_SECONDS
    while child.poll() is None and time.monotonic() < deadline:
        if _ready(f"{base}/healthz"):
            say(f"listening on {base} — dashboard at /, GraphQL at /graphql, "
                f"credentials in {shown}")  # fmt: skip
            break
        time.sleep(0.2)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:  # pragma: no cover - SIGINT is forwarded, keep waiting
            continue


def main() -> int:
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("help", [])
    if command not in {"demo", "test", "lint"}:
        print(__doc__)
        return 0 if command == "help" else 2
    ensure_venv()
    if command == "demo":
        return demo(rest)
    if command == "test":
        code = run(str(BIN / "python"), "-m", "pytest", *rest)
        return 0 if code == 5 else code  # 5 = nothing collected (e.g. a -k that matched none)
    code = run(str(BIN / "ruff"), "check", ".")
    return code or run(str(BIN / "mypy"))


if __name__ == "__main__":
    sys.exit(main())
