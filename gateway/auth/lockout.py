"""Login brute-force protection and the caller's address.

Failures are counted per account and per client IP; after `GATEWAY_LOGIN_MAX_FAILURES`
failures within the window the account is locked for `GATEWAY_LOGIN_LOCK_SECONDS`,
doubling with every further lock-out (capped). A locked account answers exactly like a
wrong password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.core.clock import utcnow
from gateway.settings import Settings
from loaders import hardening as data

if TYPE_CHECKING:
    from gateway.context import Context
    from gateway.storage.mongo import Database


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
