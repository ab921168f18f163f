"""`GET /api/partner-stats/{activationId}` exactly as seed 000, and the rate formulas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.demo import seed_demo
from gateway.http.csvcells import safe_cell
from gateway.http.partner_stats import redact_query
from gateway.settings import Settings
from gateway.storage.mongo import Database
from loaders import activations as data
from loaders.activations import ActivationStatus, EventKind, Metrics
from tests.activations_fixtures import given_activation
from tests.conftest import World

CSV_HEADER_LINE = (
    b"activation_id,event_key,event_name,tier,start_at,end_at,views,outbound_clicks,"
    b"calendar_syncs,unique_sessions,unique_view_sessions,unique_outbound_sessions,"
    b"unique_calendar_sessions,outbound_session_rate,calendar_session_rate,"
    b"outbound_interaction_rate,calendar_interaction_rate\n"
)
MARCH_START = datetime(2026, 3, 1, tzinfo=UTC)
MARCH_END = datetime(2026, 3, 31, 23, 59, 59, 999000, tzinfo=UTC)
DELETE = "mutation Delete($id: ID!) { deleteActivation(id: $id) }"


def url(activation_id: str) -> str:
    return f"/api/partner-stats/{activation_id}"


async def get_json(
    client: TestClient[Any, Any], activation_id: str, params: dict[str, str], status: int
) -> dict[str, Any]:
    response = await client.get(url(activation_id), params=params)
    assert response.status == status
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = await response.json()
    return body


async def given_march_activation(db: Database, world: World, **kwargs: Any) -> tuple[Any, str]:
    doc, token = await given_activation(
        db, world.partner_a, start_at=MARCH_START, end_at=MARCH_END, **kwargs
    )
    at = datetime(2026, 3, 15, 20, tzinfo=UTC)
    for kind, session in [
        (EventKind.VIEW, "session-aaaa"),
        (EventKind.VIEW, "session-aaaa"),
        (EventKind.VIEW, "session-bbbb"),
        (EventKind.VIEW, "session-cccc"),
        (EventKind.OUTBOUND_CLICK, "session-aaaa"),
        (EventKind.CALENDAR_SYNC, "session-dddd"),  # synced without a view
    ]:
        await data.record_event(db, doc, kind, session, at)
    return doc, token


# --- rates (pure) --------------------------------------------------------------------


def test_rates_on_the_seed_example() -> None:
    metrics = Metrics(
        click_count=1250, outbound_click_count=342, calendar_sync_count=158,
        unique_session_count=892, unique_view_session_count=867,
        unique_outbound_session_count=298, unique_calendar_session_count=142,
    )  # fmt: skip
    assert metrics.outbound_session_rate == 34.4
    assert metrics.calendar_session_rate == 16.4
    assert metrics.outbound_interaction_rate == 33.4
    assert metrics.calendar_interaction_rate == 15.9


def test_rate_is_zero_without_a_denominator_and_rounds_half_up() -> None:
    assert data.rate(5, 0) == 0.0
    assert data.rate(0, 0) == 0.0
    assert data.rate(1, 8) == 12.5
    assert data.rate(1, 16) == 6.3  # 6.25 -> 6.3 (half up, not banker's)
    assert data.rate(2, 3) == 66.7
    assert Metrics().outbound_session_rate == 0.0


def test_redact_query_hides_the_token_only() -> None:
    assert (
        redact_query("/api/partner-stats/act_x?token=tok_secret&format=csv")
        == "/api/partner-stats/act_x?token=[redacted]&format=csv"
    )
    assert redact_query("/api/partner-stats/act_x") == "/api/partner-stats/act_x"
    assert "tok_secret" not in redact_query("https://h/p?a=1&token=tok_secret")


def test_formula_cells_are_neutralised() -> None:
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("Jazz Night") == "Jazz Night"
    assert safe_cell(34.4) == "34.4"


# --- errors --------------------------------------------------------------------------


async def test_missing_or_empty_token_is_400(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    doc, _ = await given_march_activation(db, world)
    expected = {"success": False, "error": "Missing token parameter"}
    assert await get_json(client, doc["_id"], {}, 400) == expected
    assert await get_json(client, doc["_id"], {"token": ""}, 400) == expected
    assert await get_json(client, "act_unknown12345", {}, 400) == expected


async def test_bad_tokens_are_403(client: TestClient[Any, Any], world: World, db: Database) -> None:
    # given activations A and B of partner A
    a, token_a = await given_march_activation(db, world)
    b, _ = await given_march_activation(db, world)
    expected = {"success": False, "error": "Invalid or expired token"}
    # then a made-up token, a token of another kind and A's token on B are refused
    for token in ("tok_made-up", "not-a-token", world.a_app.extra["key"]):
        assert await get_json(client, a["_id"], {"token": token}, 403) == expected
    assert await get_json(client, b["_id"], {"token": token_a}, 403) == expected


async def test_unknown_activation_is_404(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    _, token = await given_march_activation(db, world)
    expected = {"success": False, "error": "Activation not found"}
    assert await get_json(client, "act_doesnotexist1", {"token": token}, 404) == expected
    assert await get_json(client, "not-an-id", {"token": token}, 404) == expected


async def test_draft_is_409(client: TestClient[Any, Any], world: World, db: Database) -> None:
    doc, token = await given_activation(db, world.partner_a, ActivationStatus.DRAFT)
    body = await get_json(client, doc["_id"], {"token": token}, 409)
    assert body == {"success": False, "error": "Activation is not in a state that has stats"}


async def test_deleted_activations_token_is_refused(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    # given an activation whose token works
    doc, token = await given_march_activation(db, world)
    await get_json(client, doc["_id"], {"token": token}, 200)
    # when its owner deletes it
    deleted = await client.post(
        "/graphql", json={"query": DELETE, "variables": {"id": doc["_id"]}},
        headers=world.a_owner.headers,
    )  # fmt: skip
    assert (await deleted.json()) == {"data": {"deleteActivation": True}}
    # then the token is refused as JSON and as CSV
    expected = {"success": False, "error": "Invalid or expired token"}
    assert await get_json(client, doc["_id"], {"token": token}, 403) == expected
    csv_try = await client.get(url(doc["_id"]), params={"token": token, "format": "csv"})
    assert csv_try.status == 403


async def test_unknown_format_is_400(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    doc, token = await given_march_activation(db, world)
    body = await get_json(client, doc["_id"], {"token": token, "format": "xml"}, 400)
    assert body["success"] is False


# --- success -------------------------------------------------------------------------


async def test_json_is_the_seed_shape(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    doc, token = await given_march_activation(db, world)
    body = await get_json(client, doc["_id"], {"token": token}, 200)
    assert body == {
        "success": True,
        "data": {
            "activationId": doc["_id"],
            "eventKey": "jazz-sunset-2026-03-15",
            "eventName": "Jazz Night at Le Sunset",
            "tier": "premium",
            "range": {"startAt": "2026-03-01T00:00:00.000Z", "endAt": "2026-03-31T23:59:59.999Z"},
            "metrics": {
                "clickCount": 4,
                "outboundClickCount": 1,
                "calendarSyncCount": 1,
                "uniqueSessionCount": 4,
                "uniqueViewSessionCount": 3,
                "uniqueOutboundSessionCount": 1,
                "uniqueCalendarSessionCount": 1,
                "outboundSessionRate": 33.3,
                "calendarSessionRate": 33.3,
                "outboundInteractionRate": 25,
                "calendarInteractionRate": 25,
            },
        },
    }


async def test_ended_and_archived_still_report(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    for status in (ActivationStatus.ENDED, ActivationStatus.ARCHIVED):
        doc, token = await given_activation(db, world.partner_a, status)
        body = await get_json(client, doc["_id"], {"token": token}, 200)
        assert body["data"]["metrics"]["clickCount"] == 0


async def test_csv_export(client: TestClient[Any, Any], world: World, db: Database) -> None:
    # given an activation whose name would be a formula in a spreadsheet
    doc, token = await given_march_activation(db, world, event_name='=HYPERLINK("x")')
    # when its stats are fetched as CSV
    response = await client.get(url(doc["_id"]), params={"token": token, "format": "csv"})
    # then the headers and the file are the seed's
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="oooc-partner-stats-jazz-sunset-2026-03-15.csv"'
    )
    raw = await response.read()
    header, row, end = raw.split(b"\n")
    assert header + b"\n" == CSV_HEADER_LINE
    assert end == b""
    assert row.decode() == (
        f'{doc["_id"]},jazz-sunset-2026-03-15,"\'=HYPERLINK(""x"")",premium,'
        "2026-03-01T00:00:00.000Z,2026-03-31T23:59:59.999Z,4,1,1,4,3,1,1,33.3,33.3,25,25"
    )


# --- demo seed -----------------------------------------------------------------------

TRACK = """
mutation Track($id: ID!) {
  trackActivationEvent(activationId: $id, kind: VIEW, sessionId: "demo-check-0001")
}"""


async def test_demo_seed_reports_working_tokens_and_is_idempotent(
    client: TestClient[Any, Any], db: Database, settings: Settings
) -> None:
    # given the demo seed has run once
    first = await seed_demo(db, settings)
    before = {
        a["id"]: await get_json(client, a["id"], {"token": a["token"]}, 200)
        for p in first["partners"]
        for a in p["activations"][:1]
    }
    # when it runs again
    second = await seed_demo(db, settings)
    # then it reports the same activations with the same, still working tokens
    assert [p["activations"] for p in first["partners"]] == [
        p["activations"] for p in second["partners"]
    ]
    for partner in second["partners"]:
        activations = partner["activations"]
        stored = await db.activations.find({"partner_id": partner["id"]}).to_list()
        assert {a["id"] for a in activations} == {d["_id"] for d in stored}
        status = {d["_id"]: d["status"] for d in stored}
        assert status[activations[0]["id"]] == "live"
        assert set(status.values()) == {"draft", "live", "ended"}
        # and the first activation has engagement over many sessions, written only once
        live = activations[0]
        body = await get_json(client, live["id"], {"token": live["token"]}, 200)
        assert body == before[live["id"]]
        assert body["data"]["metrics"]["clickCount"] >= 100
        assert body["data"]["metrics"]["uniqueSessionCount"] >= 50
        assert await db.activation_daily.count_documents({"activation_id": live["id"]}) >= 5
        # and it accepts events now, from the partner's app key
        tracked = await client.post(
            "/graphql", json={"query": TRACK, "variables": {"id": live["id"]}},
            headers={"X-API-Key": partner["appKeys"][0]},
        )  # fmt: skip
        assert await tracked.json() == {"data": {"trackActivationEvent": True}}
