"""The production stack files agree with the code: docker-compose.yml, Dockerfile, pyproject."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import Environment, env_names

ROOT = Path(__file__).resolve().parent.parent
REQUIRED_IN_PRODUCTION = ("GATEWAY_ENV", "MONGODB_URI", "GATEWAY_JWT_KEYS")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def gateway_env(compose: dict[str, Any]) -> dict[str, str]:
    environment = compose["services"]["gateway"]["environment"]
    if isinstance(environment, list):  # the `- NAME=value` form
        environment = dict(item.split("=", 1) for item in environment)
    return {str(k): str(v) for k, v in environment.items()}


def command_words(command: Any) -> list[str]:
    return [str(word) for word in command] if isinstance(command, list) else shlex.split(command)


def test_compose_has_the_three_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= {"mongo", "gateway", "proxy"}


def test_mongo_runs_as_a_replica_set_with_a_healthcheck(compose: dict[str, Any]) -> None:
    mongo = compose["services"]["mongo"]
    words = command_words(mongo["command"])
    # Change streams and transactions need a replica set.
    assert "--replSet" in words
    replica_set = words[words.index("--replSet") + 1]
    test = command_words(mongo["healthcheck"]["test"])
    assert test[0] in {"CMD", "CMD-SHELL"}
    assert any("rs.initiate" in word and replica_set in word for word in test)
    assert mongo["image"].startswith("mongo:")


def test_gateway_waits_for_a_healthy_mongo(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    assert gateway["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(command_words(gateway["healthcheck"]["test"]))


def test_gateway_environment_is_read_by_settings(gateway_env: dict[str, str]) -> None:
    # A typo in compose would silently fall back to a default; every name must be known.
    known = set(env_names().values())
    assert set(gateway_env) - known == set()


def test_production_essentials_are_set(
    compose: dict[str, Any], gateway_env: dict[str, str]
) -> None:
    for name in REQUIRED_IN_PRODUCTION:
        assert gateway_env.get(name), name
    assert gateway_env["GATEWAY_ENV"] == Environment.PRODUCTION.value
    # The URI names the replica set that the mongo service initiates.
    words = command_words(compose["services"]["mongo"]["command"])
    replica_set = words[words.index("--replSet") + 1]
    assert f"replicaSet={replica_set}" in gateway_env["MONGODB_URI"]
    assert gateway_env["MONGODB_URI"].startswith("mongodb://mongo:")
    # The JWT keys come from the operator's environment, and compose refuses to start without.
    assert re.fullmatch(r"\$\{GATEWAY_JWT_KEYS:\?[^}]*\}", gateway_env["GATEWAY_JWT_KEYS"])


def test_gateway_listens_where_the_proxy_sends(
    compose: dict[str, Any], gateway_env: dict[str, str]
) -> None:
    # Inside the container the gateway must listen beyond loopback to be reachable at all.
    assert gateway_env["GATEWAY_HOST"] == "0.0.0.0"  # noqa: S104
    gateway = compose["services"]["gateway"]
    assert gateway_env["GATEWAY_PORT"] in [str(p) for p in gateway["expose"]]
    upstream = caddy_upstream()
    assert upstream == ("gateway", gateway_env["GATEWAY_PORT"])


# --- scale-out: two replicas behind a reverse proxy ----------------------------------------

MAINTAINED_PROXIES = ("caddy:", "nginx:", "traefik:")


def caddy_upstream() -> tuple[str, str]:
    """(service, port) the Caddyfile proxies to (`dynamic a` upstreams: every replica)."""
    text = (ROOT / "deploy" / "Caddyfile").read_text()
    dynamic = re.search(r"dynamic a \{\s*name (\S+)\s*port (\d+)", text)
    assert dynamic, "the proxy must resolve every replica (dynamic a upstreams)"
    assert re.search(r"^:(\d+) \{", text, re.MULTILINE)
    return dynamic.group(1), dynamic.group(2)


def test_two_gateway_replicas_and_no_published_gateway_port(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    assert gateway["deploy"]["replicas"] >= 2
    # A published host port could be bound by one replica only; the proxy is the way in.
    assert "ports" not in gateway
    assert "container_name" not in gateway


def test_a_maintained_reverse_proxy_is_the_only_way_in(compose: dict[str, Any]) -> None:
    proxy = compose["services"]["proxy"]
    assert proxy["image"].startswith(MAINTAINED_PROXIES)
    assert proxy["depends_on"]["gateway"]["condition"] == "service_healthy"
    published = [str(p) for p in proxy["ports"]]
    listen = re.search(r"^:(\d+) \{", (ROOT / "deploy" / "Caddyfile").read_text(), re.MULTILINE)
    assert listen and any(p.endswith(f":{listen.group(1)}") for p in published)
    mounts = [str(v) for v in proxy["volumes"]]
    assert any(m.startswith("./deploy/Caddyfile:") for m in mounts)
    words = command_words(proxy["command"])
    assert words[:2] == ["caddy", "run"] and "/etc/caddy/Caddyfile" in words
    others = {name for name, s in compose["services"].items() if s.get("ports")}
    assert others == {"proxy"}


def test_the_proxy_passes_websockets_and_streams(compose: dict[str, Any]) -> None:
    text = (ROOT / "deploy" / "Caddyfile").read_text()
    # Caddy's reverse_proxy passes WebSocket upgrades unless told otherwise: nothing may
    # strip the Upgrade/Connection headers or cap the connection.
    assert "reverse_proxy" in text
    for forbidden in ("-Upgrade", "-Connection", "stream_timeout"):
        assert forbidden not in text
    assert "flush_interval -1" in text  # CSV exports and live answers are not buffered
    assert "lb_policy" in text


def test_client_addresses_survive_the_proxy(gateway_env: dict[str, str]) -> None:
    # One proxy hop appends to X-Forwarded-For; rate limits and lock-outs key on the client.
    assert gateway_env["GATEWAY_TRUSTED_PROXY_HOPS"] == "1"


def test_an_empty_metrics_token_from_compose_means_unset() -> None:
    from gateway.settings import load_settings

    assert load_settings(metrics_token="").metrics_token is None


def dockerfile_copies() -> set[str]:
    copied: set[str] = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words and words[0].upper() == "COPY":
            sources = [w for w in words[1:-1] if not w.startswith("--")]
            copied.update(s.rstrip("/") for s in sources)
    return copied


def test_dockerfile_copies_every_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*").rstrip(".") for pattern in include}
    assert packages, include
    copied = dockerfile_copies()
    assert packages - copied == set()
    # …and what the build needs besides the packages.
    assert {"pyproject.toml", "README.md"} <= copied
    for package in packages:
        assert (ROOT / package / "__init__.py").exists(), package


def test_dockerfile_runs_the_gateway_unprivileged_in_production() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER\s+(?!root\b)\S+", text, re.MULTILINE)
    assert "GATEWAY_ENV=production" in text
    assert re.search(r'^CMD\s+\["gateway",\s*"serve"\]', text, re.MULTILINE)
