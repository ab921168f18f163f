#!/usr/bin/env python3
"""One-command set-up and run on a fresh machine with only Python 3.11+.

    python3 dev.py demo    # venv + install, demo data, gateway on http://127.0.0.1:8000
    python3 dev.py test    # venv + install, the whole test suite (pytest)
    python3 dev.py lint    # ruff + mypy (strict)

The virtualenv lives in .venv and is rebuilt when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py must explain itself on old Pythons
        sys.exit("dev.py: Python 3.11 or newer is required")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("dev.py: installing the gateway and its test tools", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def run(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.call(list(args), cwd=ROOT, env={**os.environ, **(env or {})})


def main() -> int:
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("help", [])
    if command not in {"demo", "test", "lint"}:
        print(__doc__)
        return 0 if command == "help" else 2
    ensure_venv()
    gateway = str(BIN / "gateway")
    if command == "demo":
        env = {"GATEWAY_ENV": os.environ.get("GATEWAY_ENV", "demo")}
        data_dir = Path(os.environ.get("GATEWAY_DATA_DIR", ROOT / "var"))
        data_dir.mkdir(parents=True, exist_ok=True)
        creds = data_dir / "demo-credentials.json"
        with creds.open("w") as out:
            if subprocess.call([gateway, "seed", "--demo", "--json"], stdout=out,
                               env={**os.environ, **env}) != 0:  # fmt: skip
                return 1
        print(f"dev.py: demo data loaded; credentials in {creds}", flush=True)
        return run(gateway, "serve", *rest, env=env)
    if command == "test":
        code = run(str(BIN / "python"), "-m", "pytest", *rest)
        return 0 if code == 5 else code  # 5 = nothing collected (e.g. a -k that matched none)
    code = run(str(BIN / "ruff"), "check", ".")
    return code or run(str(BIN / "mypy"))


if __name__ == "__main__":
    sys.exit(main())
