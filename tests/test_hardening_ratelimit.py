"""Rate limiting per principal (MongoDB counters) and login brute-force protection.

Windows are one day long in these tests so that a window boundary cannot fall inside
a test (the counters are keyed by window start; a day boundary mid-test is the only
way these tests could see a fresh window).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.protection import ratelimit
from gateway.storage.mongo import CommandTally, Database, database, open_client
from loaders import hardening as data
from loaders.base import utcnow
from resolvers.identity import LOGIN_FAILED
from tests.conftest import World, error_codes, make_settings, only_error
from tests.hardening_fixtures import MakeClient, make_client

__all__ = ["make_client"]

DAY = 86_400
VIEWER = "{ viewer { kind } }"  # cost 2
LOGIN = (
    "mutation($email: String!, $password: String!) "
    "{ partnerLogin(email: $email, password: $password) { accessToken } }"
)


async def limited(make_client: MakeClient, **overrides: Any) -> TestClient[Any, Any]:
    settings: dict[str, Any] = {"rate_limit": True, "rate_limit_window_seconds": DAY}
    settings.update(overrides)
    return await make_client(**settings)


async def ask(
    client: TestClient[Any, Any], headers: dict[str, str], query: str = VIEWER, **kw: Any
) -> tuple[int, dict[str, str], dict[str, Any]]:
    response = await client.post("/graphql", json={"query": query, **kw}, headers=headers)
    return response.status, dict(response.headers), await response.json()


# --- per principal ---------------------------------------------------------------------


async def test_one_principal_is_limited_the_other_is_not(
    make_client: MakeClient, world: World
) -> None:
    # given a budget of 5 cost units per window; `viewer { kind }` costs 2
    client = await limited(make_client, rate_limit_cost=5)
    # when A's owner asks twice, then the headers count down
    status, headers, _ = await ask(client, world.a_owner.headers)
    assert status == 200
    assert headers["X-RateLimit-Limit"] == "5"
    assert headers["X-RateLimit-Remaining"] == "3"
    assert 0 < int(headers["X-RateLimit-Reset"]) <= DAY
    status, headers, _ = await ask(client, world.a_owner.headers)
    assert (status, headers["X-RateLimit-Remaining"]) == (200, "1")
    # when A's owner asks a third time, then it is refused with 429 and Retry-After
    status, headers, body = await ask(client, world.a_owner.headers)
    assert status == 429
    error = only_error(body)
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert body.get("data") is None
    assert headers["X-RateLimit-Remaining"] == "0"
    assert int(headers["Retry-After"]) == int(headers["X-RateLimit-Reset"]) > 0
    assert headers["X-RateLimit-Retry-After"] == headers["Retry-After"]
    # then B's owner, another principal, still has its whole budget
    status, headers, body = await ask(client, world.b_owner.headers)
    assert status == 200 and body["data"]["viewer"]["kind"] == "STAFF"
    assert headers["X-RateLimit-Remaining"] == "3"


async def test_cost_not_requests_is_counted(make_client: MakeClient, world: World) -> None:
    client = await limited(make_client, rate_limit_cost=10)
    _, headers, _ = await ask(client, world.a_app.headers, "{ viewer { kind partnerId scopes } }")
    assert headers["X-RateLimit-Remaining"] == str(10 - 4)


async def test_app_clients_and_anonymous_callers_have_their_own_buckets(
    make_client: MakeClient, world: World
) -> None:
    client = await limited(make_client, rate_limit_cost=100, rate_limit_anonymous_cost=3)
    status, headers, _ = await ask(client, {})
    assert (status, headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == (
        200,
        "3",
        "1",
    )
    status, _, body = await ask(client, {})
    assert status == 429 and error_codes(body) == ["RATE_LIMITED"]
    # the app's key is its own principal, not the (shared) address
    status, headers, _ = await ask(client, world.a_app.headers)
    assert (status, headers["X-RateLimit-Limit"]) == (200, "100")


async def test_counters_live_in_mongodb(
    make_client: MakeClient, world: World, db: Database
) -> None:
    # Shared by every instance: a second app on the same database counts the first one's
    # units once both have synced (tests/test_ratelimit_sync.py has the bound).
    first = await limited(make_client, rate_limit_cost=5, rate_limit_sync_ms=50)
    second = await limited(make_client, rate_limit_cost=5, rate_limit_sync_ms=50)
    await ask(first, world.a_owner.headers)
    key = {"_id": {"$regex": f"^staff:{world.a_owner.subject_id}"}}
    for _ in range(100):  # synced in the background within ~50 ms
        if (doc := await db.rate_limits.find_one(key)) is not None:
            break
        await asyncio.sleep(0.05)
    assert doc is not None and doc["count"] == 2 and doc["expires_at"] > utcnow()
    await ask(second, world.a_owner.headers)  # its first charge: synced right after
    await asyncio.sleep(0.3)
    _, headers, _ = await ask(second, world.a_owner.headers)
    assert headers["X-RateLimit-Remaining"] == "0"


async def test_off_by_default_in_development(client: TestClient[Any, Any], world: World) -> None:
    status, headers, _ = await ask(client, world.a_owner.headers)
    assert status == 200 and "X-RateLimit-Limit" not in headers


async def test_login_mutations_are_limited_per_ip_whatever_the_credential(
    make_client: MakeClient, world: World
) -> None:
    client = await limited(make_client, rate_limit_login_requests=2)
    variables = {"email": "nobody@example.com", "password": "wrong-password"}
    for _ in range(2):
        _, _, body = await ask(client, world.a_app.headers, LOGIN, variables=variables)
        assert error_codes(body) == ["UNAUTHENTICATED"]
    status, _, body = await ask(client, world.b_app.headers, LOGIN, variables=variables)
    assert status == 429 and error_codes(body) == ["RATE_LIMITED"]


async def test_aliased_logins_count_one_each(make_client: MakeClient) -> None:
    client = await limited(make_client, rate_limit_login_requests=2)
    three = (
        "mutation { "
        + " ".join(
            f'l{i}: partnerLogin(email: "x{i}@example.com", password: "p") {{ accessToken }}'
            for i in range(3)
        )
        + " }"
    )
    status, _, body = await ask(client, {}, three)
    assert status == 429 and error_codes(body) == ["RATE_LIMITED"]


# --- login brute force -----------------------------------------------------------------


async def login(
    client: TestClient[Any, Any], email: str, password: str
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        "/graphql", json={"query": LOGIN, "variables": {"email": email, "password": password}}
    )
    return response.status, await response.json()


async def test_account_locks_after_five_failures_and_answers_like_a_wrong_password(
    client: TestClient[Any, Any], world: World
) -> None:
    email, password = world.a_owner.extra["email"], world.a_owner.extra["password"]
    # given five wrong passwords for one account
    wrong = None
    for _ in range(5):
        wrong = await login(client, email, "not-the-password")
    assert wrong is not None and only_error(wrong[1])["message"] == LOGIN_FAILED
    # when the right password comes next, then the answer is exactly a wrong password's
    assert await login(client, email, password) == wrong
    # and an unknown account gets the very same answer (no enumeration)
    assert await login(client, "nobody@example.com", "whatever-password") == wrong
    # then another account from the same address is not affected
    other = world.a_manager.extra
    status, body = await login(client, other["email"], other["password"])
    assert status == 200 and body["data"]["partnerLogin"]["accessToken"]


async def test_success_before_the_threshold_resets_the_count(
    client: TestClient[Any, Any], world: World
) -> None:
    email, password = world.a_owner.extra["email"], world.a_owner.extra["password"]
    for _ in range(2):
        for _ in range(4):
            await login(client, email, "not-the-password")
        status, body = await login(client, email, password)
        assert status == 200 and "errors" not in body


async def test_the_address_locks_after_many_failures_across_accounts(
    make_client: MakeClient, world: World
) -> None:
    client = await make_client(login_ip_max_failures=3)
    for i in range(3):
        await login(client, f"guess{i}@example.com", "password-guess")
    # the real owner's correct password from the same (locked) address is refused
    _, body = await login(client, world.a_owner.extra["email"], world.a_owner.extra["password"])
    assert only_error(body)["message"] == LOGIN_FAILED


async def test_lock_periods_double_and_are_capped(db: Database) -> None:
    base = timedelta(seconds=60)
    policy = data.LockPolicy(
        max_failures=2, window=timedelta(minutes=15), lock_base=base, lock_max=4 * base
    )
    periods = []
    for _ in range(4):
        assert await data.record_failure(db, "staff:x@example.com", policy) is None
        before = utcnow()
        until = await data.record_failure(db, "staff:x@example.com", policy)
        assert until is not None
        periods.append(until - before)
        assert await data.locked_keys(db, ["staff:x@example.com"], utcnow()) == [
            "staff:x@example.com"
        ]

    def near(period: timedelta, expected: timedelta) -> bool:
        return expected <= period <= expected + timedelta(seconds=5)

    assert all(
        near(p, e) for p, e in zip(periods, (base, 2 * base, 4 * base, 4 * base), strict=True)
    )


async def test_case_variants_of_an_email_share_one_lock(
    client: TestClient[Any, Any], world: World
) -> None:
    email, password = world.a_owner.extra["email"], world.a_owner.extra["password"]
    for variant in (email.upper(), f" {email} ", email.title(), email.upper(), email):
        await login(client, variant, "not-the-password")
    _, body = await login(client, email, password)
    assert only_error(body)["message"] == LOGIN_FAILED


def _busy_until(fraction: float) -> int:
    """Spin until the clock's fraction of a second reaches `fraction`; its whole second."""
    while (now := time.time()) % 1 < fraction:
        pass
    return int(now)


async def test_the_seconds_to_reset_step_down_as_the_clock_passes_a_whole_second(
    mongo_uri: str, db_name: str, tmp_path: Path
) -> None:
    # Given a limiter of its own (its own database handle) with day-long windows
    settings = make_settings(
        mongo_uri, db_name, tmp_path, rate_limit=True, rate_limit_window_seconds=DAY
    )
    client = open_client(mongo_uri, CommandTally())
    db = database(client, db_name)
    try:
        for _ in range(5):
            # When it is charged in the last 3 ms of a second, once more in its last 0.7 ms,
            # and once just after the second has passed
            await asyncio.sleep(1.99 - time.time() % 1)  # the next second's end is near
            second = _busy_until(0.997)
            early = await ratelimit.charge(db, settings, "ip:reset-test", 100, 1)
            _busy_until(0.9993)
            late = await ratelimit.charge(db, settings, "ip:reset-test", 100, 1)
            if int(time.time()) != second:
                continue  # the process was held up past the second: try again
            while int(time.time()) == second:
                pass
            after = await ratelimit.charge(db, settings, "ip:reset-test", 100, 1)
            # Then both answers within the second agree, and the next second's is one less
            assert early.reset_seconds == late.reset_seconds
            assert after.reset_seconds == early.reset_seconds - 1
            return
        pytest.fail("five attempts were held up past the second")
    finally:
        await ratelimit.close_limiter(db)
        await client.close()
