"""Rate limiting per principal, shared by every instance through MongoDB.

Each operation is charged its cost (see `gateway.limits`) against its principal's
bucket for the current fixed window: staff id, app client id, member id, activation
id or operator name; the client IP for anonymous callers. Operations with login
mutations (`partnerLogin`, `memberLogin`) are also charged one unit per login field
against a per-IP login bucket, whatever credential they carry.

Login brute force is handled separately (`login_guard`): failures are counted per
account and per client IP; after `GATEWAY_LOGIN_MAX_FAILURES` failures within the
window the account is locked for `GATEWAY_LOGIN_LOCK_SECONDS`, doubling with every
further lock-out (capped). A locked account answers exactly like a wrong password.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.auth.principal import Principal, PrincipalKind
from gateway.core.clock import utcnow
from gateway.core.errors import RateLimited
from gateway.settings import Settings
from loaders import hardening as data

if TYPE_CHECKING:
    from gateway.context import Context
    from gateway.limits import Measures
    from gateway.storage.mongo import Database


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


def client_ip(request: web.BaseRequest | None, settings: Settings) -> str:
    """The caller's address; X-Forwarded-For only as far as trusted proxies added it."""
    if request is None:
        return "unknown"
    hops = settings.trusted_proxy_hops
    if hops:
        forwarded = [
            part.strip()
            for value in request.headers.getall("X-Forwarded-For", [])
            for part in value.split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote or "unknown"


def principal_bucket(principal: Principal, ip: str, settings: Settings) -> tuple[str, int]:
    """Bucket key and its limit per window for this principal."""
    kind = principal.kind
    if kind is PrincipalKind.ANONYMOUS or principal.subject_id is None:
        return f"ip:{ip}", settings.rate_limit_anonymous_cost
    return f"{kind.value}:{principal.subject_id}", settings.rate_limit_cost


async def charge(
    db: Database, settings: Settings, bucket: str, limit: int, amount: int
) -> RateDecision:
    """Charge `amount` to the bucket's current window and report what is left."""
    window = settings.rate_limit_window_seconds
    now = time.time()
    start = int(now // window) * window
    used = await data.charge_window(db, bucket, start, window, amount)
    reset = max(1, int(start + window - now + 0.999))
    return RateDecision(
        limit=limit, remaining=max(0, limit - used), reset_seconds=reset, allowed=used <= limit
    )


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
    bucket, limit = principal_bucket(context.principal, ip, settings)
    decisions.append(await charge(context.db, settings, bucket, limit, max(1, measures.stats.cost)))
    refused = next((d for d in decisions if not d.allowed), None)
    _remember(context, refused or min(decisions, key=lambda d: d.remaining))
    if refused is not None:
        return RateLimited(
            f"Rate limit exceeded; retry in {refused.reset_seconds} s.",
            retryAfter=refused.reset_seconds,
        )
    return None


# --- login brute force -----------------------------------------------------------------


@dataclass
class LoginGuard:
    """One login attempt's view of the lock-out state; resolvers report the outcome."""

    db: Database
    settings: Settings
    account_key: str
    ip_key: str
    locked: bool

    def _policy(self, max_failures: int) -> data.LockPolicy:
        s = self.settings
        return data.LockPolicy(
            max_failures=max_failures,
            window=timedelta(seconds=s.login_failure_window_seconds),
            lock_base=timedelta(seconds=s.login_lock_seconds),
            lock_max=timedelta(seconds=s.login_lock_max_seconds),
        )

    async def failed(self) -> None:
        """Count a failed attempt (wrong password, unknown account or refused while locked)."""
        if self.locked:
            return  # attempts while locked do not extend the lock: no lock-out of the owner
        await data.record_failure(
            self.db, self.account_key, self._policy(self.settings.login_max_failures)
        )
        await data.record_failure(
            self.db, self.ip_key, self._policy(self.settings.login_ip_max_failures)
        )

    async def succeeded(self) -> None:
        await data.clear_failures(self.db, self.account_key)


async def login_guard(context: Context, kind: str, account: str) -> LoginGuard:
    """Lock-out state for a login of `kind` (`staff`, `member`) to `account` (an email).

    Call before checking the password; when `guard.locked`, answer exactly as for a
    wrong password (after the same password-hash work), then report `failed()` or
    `succeeded()`.
    """
    settings = context.settings
    ip = client_ip(context.request, settings)
    account_key = f"{kind}:{account.strip().lower()[:320]}"
    ip_key = f"{kind}-ip:{ip}"
    locked = await data.locked_keys(context.db, [account_key, ip_key], utcnow())
    return LoginGuard(context.db, settings, account_key, ip_key, locked=bool(locked))
