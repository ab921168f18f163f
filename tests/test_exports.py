"""CSV exports: auth and scopes, headers, streamed rows, tenancy, formula-safe cells."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.http.exports import BILLING_HEADERS, MEMBER_HEADERS, VOUCHER_HEADERS
from gateway.settings import Settings
from gateway.storage.mongo import Database
from loaders.base import utcnow
from tests.conftest import Persona, World, make_member_persona
from tests.portal_fixtures import given_class, given_member, given_voucher, given_watches

Client = TestClient[Any, Any]


async def fetch(client: Client, path: str, persona: Persona | None = None) -> tuple[int, str, Any]:
    response = await client.get(path, headers=persona.headers if persona else {})
    return response.status, await response.text(), response.headers


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def this_month() -> tuple[int, int]:
    today = utcnow().date()
    return today.month, today.year


@pytest.mark.parametrize(
    "path", ["/export/vouchers.csv", "/export/members.csv", "/export/billing.csv?month=1&year=2026"]
)
async def test_exports_need_a_staff_token_with_the_read_scope(
    client: Client, world: World, settings: Settings, path: str
) -> None:
    assert (await fetch(client, path))[0] == 401
    bad = Persona("bad", {"Authorization": "Bearer not-a-token"})
    assert (await fetch(client, path, bad))[0] == 401
    assert (await fetch(client, path, world.a_app))[0] == 403
    assert (await fetch(client, path, world.a_member))[0] == 403
    assert (await fetch(client, path, world.operator))[0] == 403
    status, body, _ = await fetch(client, path, world.a_owner)
    assert status == 200, body


async def test_billing_export_needs_billing_scope(client: Client, world: World) -> None:
    month, year = this_month()
    path = f"/export/billing.csv?month={month}&year={year}"
    assert (await fetch(client, path, world.a_analyst))[0] == 403
    assert (await fetch(client, path, world.a_manager))[0] == 403
    assert (await fetch(client, "/export/vouchers.csv", world.a_analyst))[0] == 200


async def test_voucher_export_headers_status_filter_and_tenancy(
    client: Client, world: World, db: Database
) -> None:
    # given
    mine = await given_voucher(db, world.partner_a, code="A-ONE")
    await given_voucher(db, world.partner_a, code="A-USED", status="redeemed")
    await given_voucher(db, world.partner_a, code="A-OLD", expires_at=utcnow() - timedelta(1))
    await given_voucher(db, world.partner_b, code="B-ONE")
    # when
    status, text, headers = await fetch(client, "/export/vouchers.csv", world.a_owner)
    # then
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == 'attachment; filename="vouchers.csv"'
    rows = rows_of(text)
    assert tuple(rows[0]) == VOUCHER_HEADERS
    assert sorted(r[1] for r in rows[1:]) == ["A-OLD", "A-ONE", "A-USED"]
    assert all(line.startswith('"') for line in text.splitlines())
    by_code = {r[1]: r for r in rows[1:]}
    assert by_code["A-OLD"][2] == "expired"
    assert by_code["A-ONE"][0] == mine["_id"]
    _, text, _ = await fetch(client, "/export/vouchers.csv?status=expired", world.a_owner)
    assert [r[1] for r in rows_of(text)[1:]] == ["A-OLD"]
    assert (await fetch(client, "/export/vouchers.csv?status=bogus", world.a_owner))[0] == 400


async def test_member_export_neutralises_formulas(
    client: Client, world: World, db: Database
) -> None:
    # given members whose names a spreadsheet would run
    klass = await given_class(db, world.partner_a)
    hostile = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTabbed", "Plain"]
    for i, name in enumerate(hostile):
        member = await given_member(db, world.partner_a, name=name, email=f"h{i}@example.com")
        if i == 0:
            await given_watches(db, member, klass, [12, 8])
    await given_member(db, world.partner_b, name="Other Tenant")
    # when
    status, text, _ = await fetch(client, "/export/members.csv", world.a_analyst)
    # then
    assert status == 200
    rows = rows_of(text)
    assert tuple(rows[0]) == MEMBER_HEADERS
    names = [r[1] for r in rows[1:]]
    assert names == [
        "'=HYPERLINK(\"http://evil\",\"x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tTabbed", "Plain"
    ]  # fmt: skip
    first = rows[1]
    assert (first[3], first[7], first[8]) == ("active", "20", "2")
    assert "Other Tenant" not in text


async def test_billing_export_lists_members_who_watched_that_month(
    client: Client, world: World, db: Database, settings: Settings
) -> None:
    # given
    klass = await given_class(db, world.partner_a)
    watcher = await given_member(db, world.partner_a, name="Watcher")
    await given_member(db, world.partner_a, name="Idle")
    await given_watches(db, watcher, klass, [30, 15], at=datetime(2026, 3, 15, 12, tzinfo=UTC))
    await given_watches(db, watcher, klass, [99], at=datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
    month, year = 3, 2026
    # when
    path = f"/export/billing.csv?month={month}&year={year}"
    status, text, headers = await fetch(client, path, world.a_owner)
    # then
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="billing-2026-03.csv"'
    rows = rows_of(text)
    assert tuple(rows[0]) == BILLING_HEADERS
    assert [r[3] for r in rows[1:]] == ["Watcher"]
    assert rows[1][6:] == ["45", "2"]
    for bad in ("month=13&year=2026", "month=0&year=2026", "month=x&year=2026", "year=2026"):
        assert (await fetch(client, f"/export/billing.csv?{bad}", world.a_owner))[0] == 400
    member = make_member_persona(settings, world.a_app, watcher["_id"])
    assert (await fetch(client, path, member))[0] == 403
