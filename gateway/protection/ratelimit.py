"""Rate limiting per principal, shared by every instance through MongoDB.

Each operation is charged its cost (see `gateway.protection.limits`) against its principal's
bucket for the current fixed window: staff id, app client id, member id, activation
id or operator name; the client IP for anonymous callers. Operations with login
mutations (`partnerLogin`, `memberLogin`) are also charged one unit per login field
against a per-IP login bucket, whatever credential they carry.

Login brute force is handled by `gateway.auth.lockout`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.auth.lockout import client_ip
from gateway.auth.principal import Principal, PrincipalKind
from gateway.core.errors import RateLimited
from gateway.settings import Settings
from loaders import hardening as data

if TYPE_CHECKING:
    from gateway.context import Context
    from gateway.protection.documents import Measures
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
