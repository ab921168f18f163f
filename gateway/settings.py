"""Settings read from the environment and validated once, at start.

Every knob has a production-safe default; development and demo only relax what
cannot hurt (generated JWT keys under the data dir, GraphiQL, introspection,
unmasked error messages in development).
"""

from __future__ import annotations

import json
import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from strawberry.http.websocket_origin import normalize_allowed_origins

PLACEHOLDER_SECRETS = frozenset(
    {"change-me", "changeme", "secret", "placeholder", "example", "password", "dev", "test"}
)
# Words that mark a long secret as a template value ("change-me-to-a-long-random-string");
# long enough not to occur by chance in a random secret.
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "placeholder", "example", "password")
MIN_SECRET_BYTES = 32
MIN_DISTINCT_CHARS = 10


class Environment(StrEnum):
    DEVELOPMENT = "development"
    DEMO = "demo"
    PRODUCTION = "production"


class SettingsError(Exception):
    """Raised when the environment does not describe a startable gateway."""


def _looks_like_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return (
        lowered in PLACEHOLDER_SECRETS
        or any(word in lowered for word in PLACEHOLDER_WORDS)
        # "aaaa…", "0000…": long enough, but not random.
        or len(set(secret)) < MIN_DISTINCT_CHARS
    )


def _parse_key_map(raw: str) -> dict[str, str]:
    """`kid1:secret1,kid2:secret2` -> {kid: secret}; order kept (first signs by default)."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        kid, sep, secret = item.partition(":")
        if not sep or not kid or not secret:
            raise ValueError("must look like 'kid:secret[,kid:secret…]'")
        keys[kid] = secret
    return keys


class Settings(BaseSettings):
    """The gateway's configuration, one field per environment variable."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    mongodb_uri: str | None = Field(default=None, validation_alias="MONGODB_URI")
    db_name: str = Field(default="gateway", pattern=r"^[A-Za-z0-9_-]{1,60}$")
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # JWT: "kid:secret,…"; the signing kid must be one of them, the others only verify.
    jwt_keys: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    jwt_signing_kid: str | None = None
    jwt_issuer: str = "oooc-gateway"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=3600)
    member_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=300)
    operator_token_ttl_seconds: int = Field(default=3600, ge=60)

    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    introspection: bool | None = None
    graphiql: bool | None = None
    mask_errors: bool | None = None
    store_start_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # First wait before restarting a dead embedded store (doubles up to 5 s while it keeps dying).
    store_restart_delay_seconds: float = Field(default=0.2, gt=0, le=60)
    mongo_timeout_ms: int = Field(default=5000, ge=100)
    # How long a request waits for a usable server (the app's client): short, so a request that
    # meets a store outage before the outage flag does still answers quickly.
    mongo_server_selection_timeout_ms: int = Field(default=2000, ge=100)

    # Plain leaf fields read without graphql-core's per-field machinery (schema.execution);
    # off: graphql-core's executor as is (the fast-path test compares the two).
    fast_execution: bool = True
    # A cached, valid, single POST operation runs without Strawberry's view and execute
    # plumbing (gateway.http.lean); off: every request through Strawberry (tests compare).
    lean_post: bool = True

    # --- Hardening (README "Hardening"): operation limits, transport, rate limits, APQ ---
    max_depth: int = Field(default=10, ge=1, le=100)
    max_aliases: int = Field(default=15, ge=0)
    max_directives: int = Field(default=50, ge=0)
    max_tokens: int = Field(default=2000, ge=10)
    max_cost: int = Field(default=10_000, ge=1)
    max_string_length: int = Field(default=10_000, ge=1)
    max_batch: int = Field(default=0, ge=0, le=100)  # 0: array-batched POSTs refused
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    body_timeout_seconds: float = Field(default=10.0, gt=0, le=300)  # whole body, else 408
    # /metrics: the bearer of this token; unset: open in dev/demo, loopback only in production.
    metrics_token: str | None = Field(default=None, min_length=16)
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024)
    # --- Live subscriptions (README "Subscriptions") ---
    ws_init_timeout_seconds: float = Field(default=5.0, gt=0, le=60)  # else closed with 4408
    ws_max_subscriptions: int = Field(default=20, ge=1, le=1000)  # per connection
    subscription_queue_size: int = Field(default=256, ge=1, le=100_000)  # events behind: closed
    stats_update_interval_ms: int = Field(default=250, ge=10, le=60_000)  # per activation
    cors_allow_credentials: bool = False
    introspection_for_operator: bool = True
    apq: bool = True
    safelist: bool = False
    rate_limit: bool | None = None
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=86_400)
    rate_limit_cost: int = Field(default=50_000, ge=1)
    rate_limit_anonymous_cost: int = Field(default=2_000, ge=1)
    rate_limit_login_requests: int = Field(default=30, ge=1)
    rate_limit_sync_ms: int = Field(default=200, ge=10, le=10_000)  # local counts -> MongoDB
    login_max_failures: int = Field(default=5, ge=1)
    login_ip_max_failures: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    login_lock_seconds: int = Field(default=60, ge=1)
    login_lock_max_seconds: int = Field(default=3600, ge=1)
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)
    # --- Affiliate tracking (README "Affiliate network": tracking links) ---
    # Origin tracking links are published under (e.g. https://go.example.com); unset: the
    # origin of the request that reads `TrackingLink.url`.
    public_url: str | None = Field(default=None, pattern=r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
    tracking_duplicate_window_seconds: int = Field(default=60, ge=0, le=86_400)

    @field_validator("jwt_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        return _parse_key_map(value) if isinstance(value, str) else value

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        # `GATEWAY_METRICS_TOKEN=` (compose's `${VAR:-}`) means unset, not a short token.
        return None if value == "" else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(filter(None, (o.strip() for o in value.split(","))))
        return value

    @model_validator(mode="after")
    def _cors_origins_are_origins(self) -> Settings:
        # Same normalisation the WebSocket origin check uses; raises on a path or junk.
        normalized = normalize_allowed_origins(self.cors_origins)
        if "*" in normalized and self.cors_allow_credentials:
            raise ValueError(
                "GATEWAY_CORS_ORIGINS: '*' cannot be combined with GATEWAY_CORS_ALLOW_CREDENTIALS"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.env is not Environment.PRODUCTION:
            return self
        # Secrets first: they are what an operator must generate; both named when both miss.
        missing = []
        if not self.jwt_keys:
            missing.append("GATEWAY_JWT_KEYS is required in production (kid:secret, 32+ bytes)")
        if not self.mongodb_uri:
            missing.append("MONGODB_URI is required in production (the embedded store is for dev)")
        if missing:
            raise ValueError("; ".join(missing))
        for kid, secret in self.jwt_keys.items():
            if _looks_like_placeholder(secret) or len(secret.encode()) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"GATEWAY_JWT_KEYS: key {kid!r} is a placeholder or shorter than "
                    f"{MIN_SECRET_BYTES} bytes"
                )
        return self

    @model_validator(mode="after")
    def _signing_kid_is_known(self) -> Settings:
        # Also without GATEWAY_JWT_KEYS: generated dev keys have random kids, so a named
        # signing kid could never match and the keyring would fail later, at first use.
        if self.jwt_signing_kid and self.jwt_signing_kid not in self.jwt_keys:
            raise ValueError("GATEWAY_JWT_SIGNING_KID must name one of GATEWAY_JWT_KEYS")
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    def may_introspect(self, operator: bool) -> bool:
        """Whether a caller may introspect: everyone where introspection is on, else an
        operator where `introspection_for_operator` allows it."""
        return self.introspection_enabled or (self.introspection_for_operator and operator)

    @property
    def errors_masked(self) -> bool:
        return self.mask_errors if self.mask_errors is not None else self.is_production

    @property
    def rate_limit_enabled(self) -> bool:
        # Off in development by default: one extra MongoDB command per operation.
        return (
            self.rate_limit
            if self.rate_limit is not None
            else self.env is not Environment.DEVELOPMENT
        )

    def signing_keys(self) -> tuple[str, dict[str, str]]:
        """The kid that signs and every verifying key; dev/demo keys live in the data dir."""
        keys = dict(self.jwt_keys) or _load_or_create_dev_keys(self.data_dir)
        kid = self.jwt_signing_kid or next(iter(keys))
        return kid, keys


def _load_or_create_dev_keys(data_dir: Path) -> dict[str, str]:
    # Generated once so tokens survive restarts of a dev/demo gateway.
    path = data_dir / "secrets" / "jwt_keys.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = {f"dev-{secrets.token_hex(4)}": secrets.token_urlsafe(48)}
    tmp = path.with_name(f".jwt_keys.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(keys, fh)
    try:
        # link() never replaces: when `serve` and `seed` start together, the first key
        # file wins and both use it (os.replace would let each sign with its own key).
        os.link(tmp, path)
    except FileExistsError:
        loaded = json.loads(path.read_text())
        return loaded
    finally:
        tmp.unlink()
    return keys


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (plus explicit overrides); raise SettingsError with readable lines."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = _env_name(err["loc"]) or "settings"
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {message}")
        raise SettingsError("invalid configuration: " + "; ".join(lines)) from None


def env_names() -> dict[str, str]:
    """Field name -> the environment variable that sets it."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: dict[str, str] = {}
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        names[name] = alias if isinstance(alias, str) else f"{prefix}{name}".upper()
    return names


def _env_name(loc: tuple[int | str, ...]) -> str:
    # Users set environment variables, so errors name those, not the Python fields.
    if not loc:
        return ""
    head = env_names().get(str(loc[0]), str(loc[0]))
    return ".".join([head, *(str(p) for p in loc[1:])])
