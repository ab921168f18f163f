"""Settings: production refuses what is unsafe, readably; dev keys are generated once.

Settings are read from a controlled environment (every GATEWAY_* and MONGODB_URI variable
removed first), the way the CLI reads them.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.settings import Environment, Settings, SettingsError, env_names, load_settings

STRONG = "Zq3vN8wL0pX7rT2yB5mK9cJ4hF6dS1aG-uE_oI"  # 38 bytes, many distinct characters
MONGO = "mongodb://db.internal:27017/?replicaSet=rs0"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment: nothing from the caller's shell leaks into Settings."""
    for name in list(os.environ):
        if name.upper().startswith("GATEWAY_") or name.upper() == "MONGODB_URI":
            monkeypatch.delenv(name)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def production(env: pytest.MonkeyPatch, **values: str) -> None:
    env.setenv("GATEWAY_ENV", "production")
    for name, value in values.items():
        env.setenv(name, value)


def refused(match: str) -> pytest.RaisesExc[SettingsError]:
    return pytest.raises(SettingsError, match=match)


# --- production refusals -----------------------------------------------------------------


def test_production_refuses_a_missing_mongodb_uri(env: pytest.MonkeyPatch) -> None:
    production(env, GATEWAY_JWT_KEYS=f"k1:{STRONG}")
    with refused("MONGODB_URI is required in production") as caught:
        load_settings()
    assert "\n" not in str(caught.value)


def test_production_refuses_missing_jwt_keys(env: pytest.MonkeyPatch) -> None:
    production(env, MONGODB_URI=MONGO)
    with refused("GATEWAY_JWT_KEYS is required in production"):
        load_settings()


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("too-short-but-random-9f3", id="short"),
        pytest.param("change-me", id="placeholder"),
        pytest.param("CHANGEME", id="placeholder-upper"),
        pytest.param("change-me-to-a-long-random-string-please", id="long-template"),
        pytest.param("a" * 64, id="one-repeated-character"),
        pytest.param("01" * 32, id="two-characters"),
    ],
)
def test_production_refuses_weak_jwt_keys(env: pytest.MonkeyPatch, secret: str) -> None:
    production(env, MONGODB_URI=MONGO, GATEWAY_JWT_KEYS=f"good:{STRONG},weak:{secret}")
    with refused("GATEWAY_JWT_KEYS: key 'weak' is a placeholder or shorter than 32 bytes") as e:
        load_settings()
    # The message names the key, never the secret.
    assert secret not in str(e.value)
    assert STRONG not in str(e.value)


def test_malformed_jwt_keys_are_refused_readably(env: pytest.MonkeyPatch) -> None:
    production(env, MONGODB_URI=MONGO, GATEWAY_JWT_KEYS=STRONG)
    with refused(r"^invalid configuration: GATEWAY_JWT_KEYS: must look like 'kid:secret"):
        load_settings()


def test_production_with_real_secrets_starts_safe(env: pytest.MonkeyPatch) -> None:
    production(env, MONGODB_URI=MONGO, GATEWAY_JWT_KEYS=f"k2:{STRONG}")
    settings = load_settings()
    assert settings.env is Environment.PRODUCTION
    assert settings.errors_masked
    assert not settings.introspection_enabled
    assert not settings.graphiql_enabled
    assert settings.signing_keys() == ("k2", {"k2": STRONG})
    # No dev key was generated on the side.
    assert not (settings.data_dir / "secrets").exists()


# --- any environment ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["staging", "prod", ""])
def test_unknown_environment_is_refused(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("GATEWAY_ENV", value)
    with refused(r"^invalid configuration: GATEWAY_ENV: Input should be 'development'"):
        load_settings()


def test_signing_kid_must_be_one_of_the_keys(env: pytest.MonkeyPatch) -> None:
    env.setenv("GATEWAY_JWT_KEYS", f"k1:{STRONG},k2:{STRONG[::-1]}")
    env.setenv("GATEWAY_JWT_SIGNING_KID", "k3")
    with refused("GATEWAY_JWT_SIGNING_KID must name one of GATEWAY_JWT_KEYS"):
        load_settings()
    env.setenv("GATEWAY_JWT_SIGNING_KID", "k2")
    assert load_settings().signing_keys()[0] == "k2"


def test_signing_kid_without_keys_is_refused(env: pytest.MonkeyPatch) -> None:
    # Generated dev keys have random kids, so a named signing kid can never match them.
    env.setenv("GATEWAY_JWT_SIGNING_KID", "k1")
    with refused("GATEWAY_JWT_SIGNING_KID must name one of GATEWAY_JWT_KEYS"):
        load_settings()


def test_an_empty_signing_kid_means_the_first_key(env: pytest.MonkeyPatch) -> None:
    # docker-compose passes `${GATEWAY_JWT_SIGNING_KID:-}`, i.e. an empty string.
    env.setenv("GATEWAY_JWT_KEYS", f"k1:{STRONG},k0:{STRONG[::-1]}")
    env.setenv("GATEWAY_JWT_SIGNING_KID", "")
    kid, keys = load_settings().signing_keys()
    assert kid == "k1"
    assert set(keys) == {"k1", "k0"}


def test_out_of_range_values_name_the_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("GATEWAY_PORT", "70000")
    with refused(r"^invalid configuration: GATEWAY_PORT: "):
        load_settings()


def test_comma_separated_values_are_split(env: pytest.MonkeyPatch) -> None:
    env.setenv("GATEWAY_CORS_ORIGINS", "https://a.example, https://b.example,")
    assert load_settings().cors_origins == ("https://a.example", "https://b.example")


def test_every_field_has_an_environment_name() -> None:
    names = env_names()
    assert set(names) == set(Settings.model_fields)
    assert names["mongodb_uri"] == "MONGODB_URI"
    assert names["jwt_keys"] == "GATEWAY_JWT_KEYS"
    assert all(n == "MONGODB_URI" or n.startswith("GATEWAY_") for n in names.values())


# --- generated development keys ------------------------------------------------------------


def test_dev_keys_are_generated_once_private_and_reused(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a development environment without GATEWAY_JWT_KEYS
    env.setenv("GATEWAY_ENV", "development")
    settings = load_settings()
    key_file = settings.data_dir / "secrets" / "jwt_keys.json"
    assert not key_file.exists()

    # When keys are needed, they are generated into the data dir, readable by the owner only
    kid, keys = settings.signing_keys()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) & 0o077 == 0
    assert json.loads(key_file.read_text()) == keys
    assert kid in keys
    assert len(keys[kid].encode()) >= 32
    assert [p.name for p in key_file.parent.iterdir()] == ["jwt_keys.json"]

    # Then a later start (a new Settings) reuses them instead of generating new ones
    assert load_settings().signing_keys() == (kid, keys)
    assert json.loads(key_file.read_text()) == keys


def test_dev_keys_are_per_data_dir(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path / "one").signing_keys()
    second = load_settings(data_dir=tmp_path / "two").signing_keys()
    assert first != second


def test_explicit_keys_never_touch_the_data_dir(env: pytest.MonkeyPatch) -> None:
    env.setenv("GATEWAY_JWT_KEYS", f"k1:{STRONG}")
    settings = load_settings()
    assert settings.signing_keys() == ("k1", {"k1": STRONG})
    assert not (settings.data_dir / "secrets").exists()


# --- through the CLI -----------------------------------------------------------------------


def test_cli_refuses_bad_production_config_with_one_line(tmp_path: Path) -> None:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not (k.upper().startswith("GATEWAY_") or k.upper() == "MONGODB_URI")
    }
    environ.update(GATEWAY_ENV="production", GATEWAY_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("gateway: invalid configuration: ")
    assert "MONGODB_URI is required in production" in lines[0]
    # Nothing was started or written.
    assert list(tmp_path.iterdir()) == []
