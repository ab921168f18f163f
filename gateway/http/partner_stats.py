"""`GET /api/partner-stats/{activationId}?token=…[&format=csv]`, exactly as seed 000.

JSON `{"success": true, "data": {…}}` or `{"success": false, "error": "…"}` with 400 (no
token), 403 (a token that does not open this activation, including one of a deleted
activation), 404 (unknown activation), 409 (an activation with no stats yet: a draft).
CSV: the seed's 17 headers and one row, formula-safe.

The token travels in the URL, so nothing here logs the request URL or query string; if a
URL must ever be logged, pass it through `redact_query` first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from aiohttp import web

from gateway.core.clock import iso_utc
from gateway.core.errors import BadUserInput, Conflict, Forbidden, NotFound
from gateway.core.ids import parse_id
from gateway.http.csvcells import safe_cell
from gateway.http.keys import SERVICES
from resolvers.activations import StatsReport, stats_by_token

ROUTE = "/api/partner-stats/{activationId}"

CSV_HEADERS = (
    "activation_id", "event_key", "event_name", "tier", "start_at", "end_at", "views",
    "outbound_clicks", "calendar_syncs", "unique_sessions", "unique_view_sessions",
    "unique_outbound_sessions", "unique_calendar_sessions", "outbound_session_rate",
    "calendar_session_rate", "outbound_interaction_rate", "calendar_interaction_rate",
)  # fmt: skip
SECRET_PARAMS = frozenset({"token"})
REDACTED = "[redacted]"

# The token must not leak through caches or the Referer of links followed from the page.
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

MISSING_TOKEN = "Missing token parameter"  # noqa: S105 - a message
BAD_TOKEN = "Invalid or expired token"  # noqa: S105 - a message
UNKNOWN_ACTIVATION = "Activation not found"
NO_STATS = "Activation is not in a state that has stats"
BAD_FORMAT = "Unsupported format: omit it for JSON or use format=csv"


def redact_query(url: str) -> str:
    """The URL with the value of every secret query parameter (`token`) replaced."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [
        (k, REDACTED if k in SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="[]")))


def js_iso(moment: datetime) -> str:
    """`Date.prototype.toISOString()` form, as in the seed: `2026-03-01T00:00:00.000Z`."""
    return iso_utc(moment)


def js_number(value: float) -> int | float:
    # JSON.stringify / String() print 34.0 as 34: keep the seed's number forms.
    return int(value) if float(value).is_integer() else value


def stats_data(report: StatsReport) -> dict[str, Any]:
    """The seed's `data` object."""
    doc, m = report.activation, report.metrics
    return {
        "activationId": doc["_id"],
        "eventKey": doc["event_key"],
        "eventName": doc["event_name"],
        "tier": doc["tier"],
        "range": {"startAt": js_iso(report.range.start_at), "endAt": js_iso(report.range.end_at)},
        "metrics": {
            "clickCount": m.click_count,
            "outboundClickCount": m.outbound_click_count,
            "calendarSyncCount": m.calendar_sync_count,
            "uniqueSessionCount": m.unique_session_count,
            "uniqueViewSessionCount": m.unique_view_session_count,
            "uniqueOutboundSessionCount": m.unique_outbound_session_count,
            "uniqueCalendarSessionCount": m.unique_calendar_session_count,
            "outboundSessionRate": js_number(m.outbound_session_rate),
            "calendarSessionRate": js_number(m.calendar_session_rate),
            "outboundInteractionRate": js_number(m.outbound_interaction_rate),
            "calendarInteractionRate": js_number(m.calendar_interaction_rate),
        },
    }


def csv_text(rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def stats_csv(report: StatsReport) -> str:
    """The seed's 17 headers and one data row."""
    data = stats_data(report)
    m = data["metrics"]
    row = (
        data["activationId"], data["eventKey"], data["eventName"], data["tier"],
        data["range"]["startAt"], data["range"]["endAt"], m["clickCount"],
        m["outboundClickCount"], m["calendarSyncCount"], m["uniqueSessionCount"],
        m["uniqueViewSessionCount"], m["uniqueOutboundSessionCount"],
        m["uniqueCalendarSessionCount"], m["outboundSessionRate"], m["calendarSessionRate"],
        m["outboundInteractionRate"], m["calendarInteractionRate"],
    )  # fmt: skip
    return csv_text([CSV_HEADERS, row])


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=NO_STORE
    )


def _error(status: int, message: str) -> web.Response:
    return _json({"success": False, "error": message}, status)


async def partner_stats(request: web.Request) -> web.Response:
    """The handler; the activation's token is the only credential it reads."""
    token = request.query.get("token", "")
    if not token:
        return _error(400, MISSING_TOKEN)
    fmt = request.query.get("format", "json")
    if fmt not in {"json", "csv"}:
        return _error(400, BAD_FORMAT)
    try:
        activation_id = parse_id(request.match_info["activationId"], "act")
    except BadUserInput:
        return _error(404, UNKNOWN_ACTIVATION)
    try:
        report = await stats_by_token(request.app[SERVICES].db, activation_id, token)
    except Forbidden:
        return _error(403, BAD_TOKEN)
    except NotFound:
        return _error(404, UNKNOWN_ACTIVATION)
    except Conflict:
        return _error(409, NO_STATS)
    if fmt == "csv":
        filename = f"oooc-partner-stats-{report.activation['event_key']}.csv"
        return web.Response(
            body=stats_csv(report).encode(),
            headers={
                **NO_STORE,
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )
    return _json({"success": True, "data": stats_data(report)})


def register(app: web.Application) -> None:
    """Mount the endpoint (one line in `create_app`)."""
    app.router.add_get(ROUTE, partner_stats)
