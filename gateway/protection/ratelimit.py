"""Rate limiting per principal: local counts per process, reconciled through MongoDB.

Each operation is charged its cost (see `gateway.protection.limits`) against its principal's
bucket for the current fixed window: staff id, app client id, member id, activation
id or operator name; the client IP for anonymous callers, except that an anonymous
operation made only of `activationStats` / `activationStatsUpdated` fields with a `token`
is charged to that token's own bucket (with the authenticated budget). Operations with
login mutations (`partnerLogin`, `memberLogin`) are also charged one unit per login field
against a per-IP login bucket, whatever credential they carry.

No charge waits for the store. Every process keeps its own count per bucket and window
(`RateLimiter`): a charge adds to it and decides on the store's total as of the last sync
plus what this process charged since. A background task pushes the local units to the
shared `rate_limits` documents and reads the totals back every
`GATEWAY_RATE_LIMIT_SYNC_MS` (at once when a bucket is new to the process), in a fixed
number of commands however many buckets are active. The bound: one process alone is
exact; with several, a bucket's total may pass its limit by what the *other* processes
admitted for it since their last sync, i.e. at most one sync interval (plus one sync
round trip) of their traffic on that bucket. If the store is unreachable each process
goes on enforcing its own count and pushes the units once it answers again.

Login brute force is handled by `gateway.auth.lockout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.auth import secrets as creds
from gateway.auth.lockout import client_ip
from gateway.auth.principal import Principal, PrincipalKind
from gateway.core.errors import RateLimited
from gateway.settings import Settings
from loaders import hardening as data

if TYPE_CHECKING:
    from gateway.context import Context
    from gateway.protection.documents import Measures
    from gateway.storage.mongo import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateDecision:
    """The state of one bucket after a charge (headers as in seed 001)."""

    limit: int
    remaining: int
    reset_seconds: int
    allowed: bool

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
            headers["X-RateLimit-Retry-After"] = str(self.reset_seconds)
        return headers


# The decision the response headers report (the most restrictive one of the request).
RATE_DECISION = web.RequestKey("rate_decision", RateDecision)


def principal_bucket(principal: Principal, ip: str, settings: Settings) -> tuple[str, int]:
    """Bucket key and its limit per window for this principal."""
    kind = principal.kind
    if kind is PrincipalKind.ANONYMOUS or principal.subject_id is None:
        return f"ip:{ip}", settings.rate_limit_anonymous_cost
    return f"{kind.value}:{principal.subject_id}", settings.rate_limit_cost


@dataclass
class _Window:
    """One bucket's current window as this process sees it."""

    end: int  # epoch seconds
    known: int = 0  # the store's total at the last sync (this process's pushed units included)
    pending: int = 0  # charged here since, not pushed yet


class RateLimiter:
    """Per-process counts for every bucket, reconciled with MongoDB in the background."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.windows: dict[str, _Window] = {}  # counter id ("bucket|window start") -> state
        self._wake = asyncio.Event()
        self._urgent = False
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            # A fresh context: the request that happens to start it must not own its commands.
            self._task = asyncio.create_task(
                self._run(), name="rate-limit-sync", context=contextvars.Context()
            )

    def charge(self, bucket: str, limit: int, amount: int) -> RateDecision:
        """Charge `amount` now (no I/O) and decide on the best known total."""
        window_seconds = self.settings.rate_limit_window_seconds
        now = time.time()
        start = int(now // window_seconds) * window_seconds
        key = f"{bucket}|{start}"
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = _Window(end=start + window_seconds)
            self._urgent = True  # learn the other instances' total for it soon
            self._wake.set()
        window.pending += amount
        used = window.known + window.pending
        self.start()
        # Whole seconds until the window ends, rounded up: it steps down exactly as the clock
        # passes a whole second, so all answers within one second of the clock agree.
        reset = max(1, math.ceil(window.end - now))
        return RateDecision(
            limit=limit, remaining=max(0, limit - used), reset_seconds=reset, allowed=used <= limit
        )

    async def sync(self) -> None:
        """Push pending units, read totals back; forget windows that have ended."""
        now = time.time()
        items = dict(self.windows)
        if not items:
            return
        pushes = {
            key: (w.pending, datetime.fromtimestamp(w.end, UTC))
            for key, w in items.items()
            if w.pending
        }
        totals = await data.sync_windows(self.db, pushes, list(items))
        for key, window in items.items():
            window.pending -= pushes.get(key, (0, None))[0]
            window.known = max(window.known, totals.get(key, 0))
            if window.end <= now and not window.pending:
                self.windows.pop(key, None)

    async def _run(self) -> None:
        interval = self.settings.rate_limit_sync_ms / 1000
        while True:
            if not self._urgent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            self._urgent = False
            try:
                await self.sync()
            except Exception:
                # Keep enforcing the local counts; the units are pushed once the store answers.
                log.warning("rate-limit sync failed; retrying", exc_info=True)
                if not self._closing:
                    await asyncio.sleep(interval)
            if self._closing:
                return
            if not self.windows:
                # Nothing charged in any open window: sleep until the next charge.
                await self._wake.wait()

    async def close(self) -> None:
        """Push what is pending and stop (stopped between syncs, never cancelled mid-call)."""
        self._closing = True
        self._urgent = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        else:
            try:
                await self.sync()
            except Exception:
                log.warning("rate-limit units could not be pushed at shutdown", exc_info=True)


_LIMITERS: dict[int, RateLimiter] = {}  # by id() of the Database object they serve


def limiter_for(db: Database, settings: Settings) -> RateLimiter:
    """The process's limiter for this database (created on first use)."""
    limiter = _LIMITERS.get(id(db))
    if limiter is None or limiter.db is not db:
        limiter = _LIMITERS[id(db)] = RateLimiter(db, settings)
    return limiter


async def close_limiter(db: Database) -> None:
    """Push pending units and stop the database's limiter (app shutdown)."""
    limiter = _LIMITERS.pop(id(db), None)
    if limiter is not None and limiter.db is db:
        await limiter.close()


async def charge(
    db: Database, settings: Settings, bucket: str, limit: int, amount: int
) -> RateDecision:
    """Charge `amount` to the bucket's current window and report what is left.

    Decided on this process's count, without a round trip (see the module docstring).
    """
    return limiter_for(db, settings).charge(bucket, limit, amount)


def token_bucket(token: str) -> str:
    """The bucket of one activation token (its digest: the token never leaves the request)."""
    return f"activation-token:{creds.digest(token)}"


def _remember(context: Context, decision: RateDecision) -> None:
    request = context.request
    if request is None:
        return
    previous = request.get(RATE_DECISION)
    if previous is not None and not previous.allowed and decision.allowed:
        return  # a refusal earlier in the batch is what the headers must say
    if previous is None or not decision.allowed or decision.remaining <= previous.remaining:
        request[RATE_DECISION] = decision


async def charge_operation(context: Context, measures: Measures) -> RateLimited | None:
    """Charge an operation about to run; the error to return when over a limit."""
    settings = context.settings
    if not settings.rate_limit_enabled:
        return None
    ip = client_ip(context.request, settings)
    decisions = []
    if measures.login_fields:
        decisions.append(
            await charge(
                context.db,
                settings,
                f"login-ip:{ip}",
                settings.rate_limit_login_requests,
                measures.login_fields,
            )
        )
    cost = max(1, measures.stats.cost)
    if context.principal.kind is PrincipalKind.ANONYMOUS and measures.activation_tokens:
        # Stats read with a token: the token's own budget, not the caller's address.
        for token in measures.activation_tokens:
            bucket = token_bucket(token)
            decisions.append(
                await charge(context.db, settings, bucket, settings.rate_limit_cost, cost)
            )
    else:
        bucket, limit = principal_bucket(context.principal, ip, settings)
        decisions.append(await charge(context.db, settings, bucket, limit, cost))
    refused = next((d for d in decisions if not d.allowed), None)
    _remember(context, refused or min(decisions, key=lambda d: d.remaining))
    if refused is not None:
        return RateLimited(
            f"Rate limit exceeded; retry in {refused.reset_seconds} s.",
            retryAfter=refused.reset_seconds,
        )
    return None
