"""CSV exports of the partner portal: vouchers, members with activity, monthly billing.

`GET /export/vouchers.csv?status=`, `/export/members.csv`, `/export/billing.csv?month=&year=`
take a partner staff bearer token holding the read scope (401 without or with an invalid
one, 403 for another kind of credential or a missing scope). Rows are streamed as the
cursor yields them. Every cell is quoted, and a cell starting with `= + - @`, tab, CR or
LF is prefixed with a single quote so spreadsheets never evaluate it (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from aiohttp import web

from gateway.auth.principal import Principal, PrincipalKind
from gateway.auth.scopes import Scope as StaffScope
from gateway.core.errors import BadUserInput, Forbidden, GatewayError, Unauthenticated
from gateway.http.compression import compress_stream
from gateway.http.csvcells import safe_cell
from gateway.http.keys import SERVICES
from gateway.http.view import error_body, principal_for_request
from loaders import members as member_data
from loaders import vouchers as voucher_data
from loaders.base import Scope, from_epoch_ms

FLUSH_BYTES = 16 * 1024

VOUCHER_HEADERS = (
    "id", "code", "status", "expiresAt", "createdAt", "redeemedAt", "revokedAt",
    "redeemedByMemberId",
)  # fmt: skip
MEMBER_HEADERS = (
    "id", "name", "email", "status", "joinedAt", "voucherCode", "lastWatchedAt",
    "totalWatchMinutes", "classesWatched",
)  # fmt: skip
BILLING_HEADERS = (
    "month", "year", "memberId", "name", "email", "joinedAt", "watchMinutes", "classesWatched",
)  # fmt: skip


def _json_error(exc: GatewayError, status: int) -> web.Response:
    return web.json_response(
        error_body(exc), status=status, dumps=lambda v: orjson.dumps(v).decode()
    )


async def _staff(request: web.Request, scope: str) -> Principal:
    """The staff principal of the request, or a GatewayError naming the HTTP status."""
    principal = await principal_for_request(request.app[SERVICES], request)
    if not principal.is_authenticated:
        raise Unauthenticated()
    if principal.kind is not PrincipalKind.STAFF or principal.partner_id is None:
        raise Forbidden("Partner staff only.")
    if scope not in principal.scopes:
        raise Forbidden(f"Missing scope {scope}.")
    return principal


async def _stream(
    request: web.Request, filename: str, headers: Sequence[str],
    rows: AsyncIterator[Sequence[Any]],
) -> web.StreamResponse:  # fmt: skip
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
    )
    compress_stream(request, response)
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    async for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        if buffer.tell() >= FLUSH_BYTES:
            await response.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode("utf-8"))
    await response.write_eof()
    return response


def _guarded(scope: str, handler: Any) -> Any:
    async def view(request: web.Request) -> web.StreamResponse:
        try:
            principal = await _staff(request, scope)
            return await handler(request, Scope(principal))  # type: ignore[no-any-return]
        except Unauthenticated as exc:
            return _json_error(exc, 401)
        except Forbidden as exc:
            return _json_error(exc, 403)
        except BadUserInput as exc:
            return _json_error(exc, 400)

    return view


async def export_vouchers(request: web.Request, scope: Scope) -> web.StreamResponse:
    # The GraphQL enum values (ACTIVE) as well as the stored lower-case ones (active).
    status = (request.query.get("status") or "").lower() or None
    if status is not None and status not in voucher_data.STATUSES:
        raise BadUserInput(
            "status must be ACTIVE, REDEEMED, EXPIRED or REVOKED (any case)", field="status"
        )
    db = request.app[SERVICES].db

    async def rows() -> AsyncIterator[Sequence[Any]]:
        async for doc in voucher_data.iter_vouchers(db, scope, status):
            expires = doc["expires_at"]
            yield (
                doc["_id"], doc["code"], voucher_data.status_of(doc),
                None if expires == voucher_data.NEVER else expires, doc["created_at"],
                from_epoch_ms(doc.get("redeemed_ms") or None),
                from_epoch_ms(doc.get("revoked_ms") or None), doc.get("redeemed_by") or "",
            )  # fmt: skip

    return await _stream(request, "vouchers.csv", VOUCHER_HEADERS, rows())


async def export_members(request: web.Request, scope: Scope) -> web.StreamResponse:
    db = request.app[SERVICES].db

    async def rows() -> AsyncIterator[Sequence[Any]]:
        async for doc in member_data.iter_members(db, scope):
            yield (
                doc["_id"], doc["name"], doc["email"], member_data.member_status(doc),
                doc["created_at"], doc["voucher_code"],
                from_epoch_ms(doc.get("last_watched_ms") or None),
                int(doc.get("watch_minutes") or 0), int(doc.get("classes_watched") or 0),
            )  # fmt: skip

    return await _stream(request, "members.csv", MEMBER_HEADERS, rows())


def _int_param(request: web.Request, name: str) -> int:
    raw = request.query.get(name, "")
    if not raw.isdigit() or len(raw) > 4:
        raise BadUserInput("a number is required", field=name)
    return int(raw)


async def export_billing(request: web.Request, scope: Scope) -> web.StreamResponse:
    month, year = _int_param(request, "month"), _int_param(request, "year")
    db = request.app[SERVICES].db
    usage = await member_data.billing_usage(db, scope, month, year)
    members = await member_data.members_by_ids(db, scope, [u["member_id"] for u in usage])
    billed = sorted(
        ((u, members[u["member_id"]]) for u in usage if u["member_id"] in members),
        key=lambda pair: (pair[1]["name_lower"], pair[1]["_id"]),
    )

    async def rows() -> AsyncIterator[Sequence[Any]]:
        for used, doc in billed:
            yield (
                month, year, doc["_id"], doc["name"], doc["email"], doc["created_at"],
                used["minutes"], used["views"],
            )  # fmt: skip

    return await _stream(request, f"billing-{year}-{month:02d}.csv", BILLING_HEADERS, rows())


def register(app: web.Application) -> None:
    """Add the export routes to the app."""
    app.router.add_get("/export/vouchers.csv", _guarded(StaffScope.VOUCHERS_READ, export_vouchers))
    app.router.add_get("/export/members.csv", _guarded(StaffScope.MEMBERS_READ, export_members))
    app.router.add_get("/export/billing.csv", _guarded(StaffScope.BILLING_READ, export_billing))
