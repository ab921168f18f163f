"""`gateway admin …` onboarding, run as real subprocesses against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gateway.settings import Settings
from tests.conftest import TEST_JWT_KEYS, GraphQL, Persona, error_codes

VIEWER = "{ viewer { kind partnerId } }"
LOGIN = """
mutation L($e: String!, $p: String!) { partnerLogin(email: $e, password: $p) { accessToken } }"""


def gateway(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MONGODB_URI": settings.mongodb_uri or "",
        "GATEWAY_DB_NAME": settings.db_name,
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_JWT_KEYS": ",".join(f"{k}:{v}" for k, v in TEST_JWT_KEYS.items()),
        "GATEWAY_JWT_SIGNING_KID": "test-k1",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway", "admin", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_admin_commands_onboard_a_partner_end_to_end(
    gql: GraphQL, settings: Settings, tmp_path: Path
) -> None:
    # given a partner created from the CLI
    made = gateway(settings, tmp_path, "create-partner", "--name", "Cli Partner")
    assert made.returncode == 0, made.stderr
    partner_id = made.stdout.strip()
    assert partner_id.startswith("par_")
    # when staff and an app client are created for it
    staff = gateway(
        settings, tmp_path, "create-staff", "--partner", partner_id,
        "--email", "cli@example.com", "--password", "cli-password-123", "--role", "analyst",
    )  # fmt: skip
    assert staff.returncode == 0, staff.stderr
    client = gateway(
        settings, tmp_path, "create-app-client", "--partner", partner_id, "--name", "a"
    )
    assert client.returncode == 0, client.stderr
    key = client.stdout.strip()
    # then the API accepts those credentials, and an operator token from the CLI
    app_view = (await gql(VIEWER, as_=Persona("app", {"X-API-Key": key})))["data"]["viewer"]
    assert app_view == {"kind": "APP", "partnerId": partner_id}
    login = await gql(LOGIN, {"e": "cli@example.com", "p": "cli-password-123"})
    assert login["data"]["partnerLogin"]["accessToken"]
    token = gateway(settings, tmp_path, "token").stdout.strip()
    operator = await gql(VIEWER, as_=Persona("op", {"Authorization": f"Bearer {token}"}))
    assert operator["data"]["viewer"]["kind"] == "OPERATOR"


async def test_admin_commands_fail_in_one_line(
    gql: GraphQL, settings: Settings, tmp_path: Path
) -> None:
    missing = gateway(settings, tmp_path, "create-staff", "--partner", "par_nope1234",
                      "--email", "x@example.com", "--password", "long-enough-pw")  # fmt: skip
    # (tests/test_cli_errors.py has every case; bad input is exit code 2)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "Traceback" not in missing.stderr
    gateway(settings, tmp_path, "create-partner", "--name", "Twice")
    twice = gateway(settings, tmp_path, "create-partner", "--name", "Twice")
    assert twice.returncode == 2
    assert twice.stderr.strip() == "gateway: --name: a partner named 'Twice' already exists"
    bad = gateway(settings, tmp_path, "create-partner", "--name", "x")
    assert bad.returncode == 2 and bad.stderr.startswith("gateway: --name: must be")
    assert error_codes(await gql(VIEWER)) == []
