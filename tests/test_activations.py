"""Activations over GraphQL: create/delete, tracking, stats access, lists without N+1."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.auth import secrets as creds
from gateway.auth.authenticate import principal_from_credentials
from gateway.context import Context
from gateway.http.keys import SERVICES
from gateway.storage.mongo import Database
from loaders import activations as data
from loaders.activations import ActivationStatus, EventKind
from loaders.base import utcnow
from loaders.identity import find_activation_by_token
from schema import build_schema
from tests.activations_fixtures import given_activation
from tests.conftest import CommandCounter, GraphQL, Persona, World, error_codes, only_error

CREATE = """
mutation Create($input: CreateActivationInput!) {
  createActivation(input: $input) {
    activation { id eventKey eventName tier status startAt endAt partner { id } }
    token
  }
}"""
DELETE = "mutation Delete($id: ID!) { deleteActivation(id: $id) }"
SET_STATUS = """
mutation SetStatus($id: ID!, $status: ActivationStatus!) {
  setActivationStatus(id: $id, status: $status) { id status }
}"""
TRACK = """
mutation Track($id: ID!, $kind: ActivationEventKind!, $session: String!) {
  trackActivationEvent(activationId: $id, kind: $kind, sessionId: $session)
}"""
METRICS = """
metrics {
  clickCount outboundClickCount calendarSyncCount uniqueSessionCount uniqueViewSessionCount
  uniqueOutboundSessionCount uniqueCalendarSessionCount outboundSessionRate calendarSessionRate
  outboundInteractionRate calendarInteractionRate
}"""
STATS = (
    """
query Stats($id: ID!, $token: String, $startAt: DateTime, $endAt: DateTime) {
  activationStats(activationId: $id, token: $token, startAt: $startAt, endAt: $endAt) {
    activationId eventKey eventName tier range { startAt endAt }
"""
    + METRICS
    + "}}"
)
ACTIVATION = "query One($id: ID!) { activation(id: $id) { id status } }"
LIST = """
query List($first: Int, $status: ActivationStatus) {
  activations(first: $first, status: $status) {
    totalCount
    edges { node { id status partner { name } stats { eventKey """
LIST += METRICS + "} } } } }"

START = "2026-03-01T00:00:00+00:00"
END = "2026-03-31T23:59:59.999+00:00"
START_OUT = "2026-03-01T00:00:00.000Z"  # the DateTime scalar: UTC, milliseconds, Z
END_OUT = "2026-03-31T23:59:59.999Z"


def create_input(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "eventKey": "jazz-sunset-2026-03-15",
        "eventName": "Jazz Night at Le Sunset",
        "tier": "premium",
        "startAt": START,
        "endAt": END,
    }
    values.update(overrides)
    return values


async def track(gql: GraphQL, as_: Persona, activation_id: str, kind: str, session: str) -> Any:
    return await gql(TRACK, {"id": activation_id, "kind": kind, "session": session}, as_=as_)


# --- createActivation ----------------------------------------------------------------


async def test_create_rejects_bad_input_and_writes_nothing(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a manager of partner A
    cases = [
        (create_input(eventKey="has space"), "eventKey"),
        (create_input(eventName="  "), "eventName"),
        (create_input(tier="Premium!"), "tier"),
        (create_input(endAt=START), "endAt"),
        (create_input(endAt="2027-06-01T00:00:00+00:00"), "endAt"),
        (create_input(partnerId="not-an-id"), "partnerId"),
    ]
    for values, field in cases:
        # when it creates with one bad field
        body = await gql(CREATE, {"input": values}, as_=world.a_manager)
        # then BAD_USER_INPUT names the field
        error = only_error(body)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, values
    assert await db.activations.count_documents({}) == 0


async def test_create_rejects_the_wrong_callers(gql: GraphQL, world: World, db: Database) -> None:
    # given callers that may not create an activation for partner A
    refused = [
        (world.anonymous, {}, "UNAUTHENTICATED"),
        (world.a_app, {}, "FORBIDDEN"),  # wrong kind
        (world.a_member, {}, "FORBIDDEN"),
        (world.a_analyst, {}, "FORBIDDEN"),  # no activations:write
        (world.a_owner, {"partnerId": world.partner_b}, "NOT_FOUND"),  # other tenant
        (world.operator, {}, "BAD_USER_INPUT"),  # operators must name the partner
    ]
    for persona, extra, code in refused:
        # when each tries
        body = await gql(CREATE, {"input": create_input(**extra)}, as_=persona)
        # then it is refused and nothing about partner B leaks
        assert error_codes(body) == [code], persona.name
        assert body["data"] is None
    assert await db.activations.count_documents({}) == 0


async def test_create_returns_the_token_once_and_stores_only_its_digest(
    gql: GraphQL, world: World, db: Database
) -> None:
    # when a manager of A creates an activation
    body = await gql(CREATE, {"input": create_input(status="LIVE")}, as_=world.a_manager)
    # then it gets the activation and a tok_ token
    payload = body["data"]["createActivation"]
    activation, token = payload["activation"], payload["token"]
    assert token.startswith("tok_") and len(token) > 40
    assert activation["eventKey"] == "jazz-sunset-2026-03-15"
    assert activation["status"] == "LIVE"
    assert activation["startAt"] == START_OUT
    assert activation["endAt"] == END_OUT
    assert activation["partner"] == {"id": world.partner_a}
    # and the store holds its digest, never the token itself
    doc = await db.activations.find_one({"_id": activation["id"]})
    assert doc is not None
    assert doc["partner_id"] == world.partner_a
    assert doc["token_digest"] == creds.digest(token)
    assert token not in str(doc)
    found = await find_activation_by_token(db, token, activation["id"])
    assert found is not None and found["_id"] == activation["id"]


async def test_operator_creates_for_a_named_partner(
    gql: GraphQL, world: World, db: Database
) -> None:
    body = await gql(CREATE, {"input": create_input(partnerId=world.partner_b)}, as_=world.operator)
    activation = body["data"]["createActivation"]["activation"]
    assert activation["status"] == "DRAFT"
    assert await db.activations.count_documents({"partner_id": world.partner_b}) == 1


# --- deleteActivation ----------------------------------------------------------------


async def test_delete_rejections_change_nothing(gql: GraphQL, world: World, db: Database) -> None:
    # given a live activation of A
    doc, token = await given_activation(db, world.partner_a)
    refused = [
        (world.a_owner, "act_", "BAD_USER_INPUT"),
        (world.anonymous, doc["_id"], "UNAUTHENTICATED"),
        (world.a_app, doc["_id"], "FORBIDDEN"),
        (world.a_analyst, doc["_id"], "FORBIDDEN"),
        (world.b_owner, doc["_id"], "NOT_FOUND"),
    ]
    for persona, activation_id, code in refused:
        body = await gql(DELETE, {"id": activation_id}, as_=persona)
        assert error_codes(body) == [code], persona.name
    stored = await db.activations.find_one({"_id": doc["_id"]})
    assert stored is not None and stored["status"] == "live"
    assert await find_activation_by_token(db, token) is not None


async def test_delete_kills_the_token_and_hides_the_activation(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a live activation of A with its token working
    doc, token = await given_activation(db, world.partner_a)
    assert (await gql(STATS, {"id": doc["_id"], "token": token}))["data"] is not None
    # when the owner deletes it
    body = await gql(DELETE, {"id": doc["_id"]}, as_=world.a_owner)
    assert body == {"data": {"deleteActivation": True}}
    # then the token is dead, the activation invisible, and a second delete finds nothing
    stored = await db.activations.find_one({"_id": doc["_id"]})
    assert stored is not None and stored["status"] == "deleted"
    assert await find_activation_by_token(db, token) is None
    refused = await gql(STATS, {"id": doc["_id"], "token": token})
    assert error_codes(refused) == ["FORBIDDEN"]
    assert error_codes(await gql(ACTIVATION, {"id": doc["_id"]}, as_=world.a_owner)) == [
        "NOT_FOUND"
    ]
    listed = await gql(LIST, {"first": 10}, as_=world.a_owner)
    assert listed["data"]["activations"]["totalCount"] == 0
    assert error_codes(await gql(DELETE, {"id": doc["_id"]}, as_=world.a_owner)) == ["NOT_FOUND"]
    stats = await gql(STATS, {"id": doc["_id"]}, as_=world.a_owner)
    assert error_codes(stats) == ["NOT_FOUND"]


async def test_status_moves_forward_only(gql: GraphQL, world: World, db: Database) -> None:
    doc, _ = await given_activation(db, world.partner_a, ActivationStatus.DRAFT)
    analyst = await gql(SET_STATUS, {"id": doc["_id"], "status": "LIVE"}, as_=world.a_analyst)
    assert error_codes(analyst) == ["FORBIDDEN"]
    other = await gql(SET_STATUS, {"id": doc["_id"], "status": "LIVE"}, as_=world.b_owner)
    assert error_codes(other) == ["NOT_FOUND"]
    live = await gql(SET_STATUS, {"id": doc["_id"], "status": "LIVE"}, as_=world.a_owner)
    assert live["data"]["setActivationStatus"]["status"] == "LIVE"
    back = await gql(SET_STATUS, {"id": doc["_id"], "status": "DRAFT"}, as_=world.a_owner)
    assert error_codes(back) == ["CONFLICT"]
    stored = await db.activations.find_one({"_id": doc["_id"]})
    assert stored is not None and stored["status"] == "live"


# --- trackActivationEvent ------------------------------------------------------------


async def test_track_rejections_write_nothing(gql: GraphQL, world: World, db: Database) -> None:
    # given A's live, draft and over-window activations
    live, _ = await given_activation(db, world.partner_a)
    draft, _ = await given_activation(db, world.partner_a, ActivationStatus.DRAFT)
    past = utcnow() - timedelta(days=40)
    stale, _ = await given_activation(
        db, world.partner_a, start_at=past, end_at=past + timedelta(days=10)
    )
    ok_session = "session-0001"
    refused = [
        (world.a_app, live["_id"], "short", "BAD_USER_INPUT", "sessionId"),
        (world.a_app, live["_id"], "bad session!", "BAD_USER_INPUT", "sessionId"),
        (world.a_app, live["_id"], "x" * 129, "BAD_USER_INPUT", "sessionId"),
        (world.a_app, "vch_12345678", ok_session, "BAD_USER_INPUT", "activationId"),
        (world.anonymous, live["_id"], ok_session, "UNAUTHENTICATED", None),
        (world.a_owner, live["_id"], ok_session, "FORBIDDEN", None),  # staff: wrong kind
        (world.operator, live["_id"], ok_session, "FORBIDDEN", None),
        (world.b_app, live["_id"], ok_session, "NOT_FOUND", None),  # another partner's app
        (world.a_app, draft["_id"], ok_session, "CONFLICT", None),
        (world.a_app, stale["_id"], ok_session, "CONFLICT", None),  # live, window over
    ]
    for persona, activation_id, session, code, field in refused:
        # when each sends an event
        body = await track(gql, persona, activation_id, "VIEW", session)
        # then it is refused with the right code (and field)
        error = only_error(body)
        assert error["extensions"]["code"] == code, (persona.name, session)
        assert error["extensions"].get("field") == field
    # and nothing was counted
    assert await db.activation_daily.count_documents({}) == 0
    assert await db.activation_sessions.count_documents({}) == 0


async def test_concurrent_tracking_counts_exactly(gql: GraphQL, world: World, db: Database) -> None:
    # given a live activation of A
    doc, token = await given_activation(db, world.partner_a)
    # and 200 events over 50 sessions: every session views; some also click out / sync
    sessions = [f"session-{i:04d}" for i in range(50)]
    events: list[tuple[str, str]] = []
    for i, session in enumerate(sessions):
        kinds = ["VIEW", "VIEW"]
        kinds.append("OUTBOUND_CLICK" if i % 2 == 0 else "VIEW")
        kinds.append("CALENDAR_SYNC" if i % 5 == 0 else "OUTBOUND_CLICK")
        events.extend((kind, session) for kind in kinds)
    assert len(events) == 200
    # when they are all sent at once over real HTTP
    results = await asyncio.gather(
        *(track(gql, world.a_app, doc["_id"], kind, session) for kind, session in events)
    )
    # then each was accepted
    assert all(r == {"data": {"trackActivationEvent": True}} for r in results)
    # and the stats are exact
    views = sum(1 for k, _ in events if k == "VIEW")
    outbound = sum(1 for k, _ in events if k == "OUTBOUND_CLICK")
    calendar = sum(1 for k, _ in events if k == "CALENDAR_SYNC")
    outbound_sessions = len({s for k, s in events if k == "OUTBOUND_CLICK"})
    calendar_sessions = len({s for k, s in events if k == "CALENDAR_SYNC"})
    body = await gql(STATS, {"id": doc["_id"], "token": token})
    metrics = body["data"]["activationStats"]["metrics"]
    assert metrics == {
        "clickCount": views,
        "outboundClickCount": outbound,
        "calendarSyncCount": calendar,
        "uniqueSessionCount": 50,
        "uniqueViewSessionCount": 50,
        "uniqueOutboundSessionCount": outbound_sessions,
        "uniqueCalendarSessionCount": calendar_sessions,
        "outboundSessionRate": data.rate(outbound_sessions, 50),
        "calendarSessionRate": data.rate(calendar_sessions, 50),
        "outboundInteractionRate": data.rate(outbound_sessions, 50),
        "calendarInteractionRate": data.rate(calendar_sessions, 50),
    }
    assert (views, outbound, calendar) == (125, 65, 10)
    assert (outbound_sessions, calendar_sessions) == (45, 10)
    # and the store holds one counter document per day, not one per event
    assert await db.activation_daily.count_documents({"activation_id": doc["_id"]}) <= 2


# --- activationStats -----------------------------------------------------------------


async def test_activation_stats_by_token_alone(gql: GraphQL, world: World, db: Database) -> None:
    # given a live activation with three events in two sessions
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 3, 31, 23, 59, 59, 999000, tzinfo=UTC)
    doc, token = await given_activation(db, world.partner_a, start_at=start, end_at=end)
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    await data.record_event(db, doc, EventKind.VIEW, "session-aaaa", at)
    await data.record_event(db, doc, EventKind.VIEW, "session-bbbb", at)
    await data.record_event(db, doc, EventKind.OUTBOUND_CLICK, "session-aaaa", at)
    # when an anonymous caller asks with the token
    body = await gql(STATS, {"id": doc["_id"], "token": token})
    # then it gets the seed's data object
    assert body["data"]["activationStats"] == {
        "activationId": doc["_id"],
        "eventKey": "jazz-sunset-2026-03-15",
        "eventName": "Jazz Night at Le Sunset",
        "tier": "premium",
        "range": {"startAt": START_OUT, "endAt": END_OUT},
        "metrics": {
            "clickCount": 2,
            "outboundClickCount": 1,
            "calendarSyncCount": 0,
            "uniqueSessionCount": 2,
            "uniqueViewSessionCount": 2,
            "uniqueOutboundSessionCount": 1,
            "uniqueCalendarSessionCount": 0,
            "outboundSessionRate": 50.0,
            "calendarSessionRate": 0.0,
            "outboundInteractionRate": 50.0,
            "calendarInteractionRate": 0.0,
        },
    }


async def test_activation_stats_refusals(gql: GraphQL, world: World, db: Database) -> None:
    # given two live activations of A, a draft of A, one of B
    a1, token_a1 = await given_activation(db, world.partner_a)
    a2, _ = await given_activation(db, world.partner_a)
    draft, draft_token = await given_activation(db, world.partner_a, ActivationStatus.DRAFT)
    b1, _ = await given_activation(db, world.partner_b)
    unknown = "act_doesnotexist1"
    cases = [
        (world.anonymous, a1["_id"], "tok_wrong", "FORBIDDEN"),
        (world.anonymous, a2["_id"], token_a1, "FORBIDDEN"),  # A1's token on A2
        (world.anonymous, unknown, token_a1, "NOT_FOUND"),
        (world.anonymous, draft["_id"], draft_token, "CONFLICT"),
        (world.anonymous, "bad", token_a1, "BAD_USER_INPUT"),
        (world.anonymous, a1["_id"], None, "UNAUTHENTICATED"),  # no token, no credential
        (world.a_app, a1["_id"], None, "FORBIDDEN"),
        (world.a_member, a1["_id"], None, "FORBIDDEN"),
        (world.b_owner, a1["_id"], None, "NOT_FOUND"),  # other tenant
        (world.a_owner, b1["_id"], None, "NOT_FOUND"),
        (world.a_owner, draft["_id"], None, "CONFLICT"),
    ]
    for persona, activation_id, token, code in cases:
        body = await gql(STATS, {"id": activation_id, "token": token}, as_=persona)
        assert error_codes(body) == [code], (persona.name, activation_id, token)
        assert body["data"] is None


async def test_activation_stats_for_staff_and_operator_without_token(
    gql: GraphQL, world: World, db: Database
) -> None:
    doc, _ = await given_activation(db, world.partner_a)
    await data.record_event(db, doc, EventKind.VIEW, "session-aaaa", utcnow())
    for persona in (world.a_analyst, world.a_owner, world.operator):
        body = await gql(STATS, {"id": doc["_id"]}, as_=persona)
        assert body["data"]["activationStats"]["metrics"]["clickCount"] == 1, persona.name


async def test_narrower_range_counts_distinct_sessions_of_its_days(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a March activation and sessions active on several days
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 3, 31, 23, 59, 59, 999000, tzinfo=UTC)
    doc, token = await given_activation(db, world.partner_a, start_at=start, end_at=end)

    def day(n: int) -> datetime:
        return datetime(2026, 3, n, 10, tzinfo=UTC)

    await data.record_event(db, doc, EventKind.VIEW, "session-early", day(2))
    await data.record_event(db, doc, EventKind.VIEW, "session-both", day(2))
    await data.record_event(db, doc, EventKind.VIEW, "session-both", day(10))
    await data.record_event(db, doc, EventKind.VIEW, "session-both", day(11))
    await data.record_event(db, doc, EventKind.CALENDAR_SYNC, "session-both", day(11))
    await data.record_event(db, doc, EventKind.OUTBOUND_CLICK, "session-late", day(12))
    await data.record_event(db, doc, EventKind.VIEW, "session-after", day(20))
    # when stats are asked for 10..12 March
    variables = {
        "id": doc["_id"],
        "token": token,
        "startAt": "2026-03-10T00:00:00+00:00",
        "endAt": "2026-03-12T23:59:59+00:00",
    }
    body = await gql(STATS, variables)
    # then each session counts once across the days, and only sessions of those days count
    stats = body["data"]["activationStats"]
    assert stats["range"] == {
        "startAt": "2026-03-10T00:00:00.000Z",
        "endAt": "2026-03-12T23:59:59.000Z",
    }
    m = stats["metrics"]
    assert (m["clickCount"], m["outboundClickCount"], m["calendarSyncCount"]) == (2, 1, 1)
    assert m["uniqueSessionCount"] == 2  # both, late
    assert m["uniqueViewSessionCount"] == 1  # both (on two days)
    assert m["uniqueOutboundSessionCount"] == 1
    assert m["uniqueCalendarSessionCount"] == 1
    assert m["outboundSessionRate"] == 100.0
    assert m["outboundInteractionRate"] == 50.0
    # and the whole window counts all four sessions
    whole = (await gql(STATS, {"id": doc["_id"], "token": token}))["data"]["activationStats"]
    assert whole["metrics"]["uniqueSessionCount"] == 4
    assert whole["metrics"]["uniqueViewSessionCount"] == 3
    assert whole["metrics"]["clickCount"] == 5


async def test_range_outside_the_window_or_reversed_is_bad_input(
    gql: GraphQL, world: World, db: Database
) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 3, 31, tzinfo=UTC)
    doc, token = await given_activation(db, world.partner_a, start_at=start, end_at=end)
    cases = [
        ({"startAt": "2026-02-28T00:00:00+00:00"}, "startAt"),
        ({"endAt": "2026-04-01T00:00:00+00:00"}, "endAt"),
        ({"startAt": "2026-03-20T00:00:00+00:00", "endAt": "2026-03-10T00:00:00+00:00"}, "endAt"),
    ]
    for extra, field in cases:
        body = await gql(STATS, {"id": doc["_id"], "token": token, **extra})
        assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


# --- lists ---------------------------------------------------------------------------


async def test_list_filters_by_status_within_the_tenant(
    gql: GraphQL, world: World, db: Database
) -> None:
    await given_activation(db, world.partner_a)
    await given_activation(db, world.partner_a, ActivationStatus.DRAFT)
    await given_activation(db, world.partner_b)
    body = await gql(LIST, {"first": 10}, as_=world.a_analyst)
    nodes = [e["node"] for e in body["data"]["activations"]["edges"]]
    assert sorted(n["status"] for n in nodes) == ["DRAFT", "LIVE"]
    draft = next(n for n in nodes if n["status"] == "DRAFT")
    assert draft["stats"] is None  # drafts have no stats
    live = await gql(LIST, {"first": 10, "status": "LIVE"}, as_=world.a_analyst)
    assert live["data"]["activations"]["totalCount"] == 1
    assert error_codes(await gql(LIST, {"first": 10}, as_=world.a_app)) == ["FORBIDDEN"]
    everyone = await gql(LIST, {"first": 10}, as_=world.operator)
    assert everyone["data"]["activations"]["totalCount"] == 3


async def test_list_with_stats_costs_the_same_for_2_and_20(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    # given 20 live activations of A, each with engagement
    for i in range(20):
        doc, _ = await given_activation(db, world.partner_a, event_key=f"event-{i}")
        await data.record_event(db, doc, EventKind.VIEW, f"session-{i:04d}", utcnow())

    async def cost(first: int) -> int:
        commands.start()
        body = await gql(LIST, {"first": first}, as_=world.a_owner)
        edges = body["data"]["activations"]["edges"]
        assert len(edges) == first
        assert all(e["node"]["stats"]["metrics"]["clickCount"] == 1 for e in edges)
        return commands.total

    # then a page of 2 and a page of 20 (with partner and stats) send the same commands
    small, large = await cost(2), await cost(20)
    assert small == large


async def test_an_activation_principal_reads_only_its_own_stats(
    app: Any, world: World, db: Database
) -> None:
    # given two activations and a principal built from A1's token (as a WebSocket would)
    a1, token = await given_activation(db, world.partner_a)
    a2, _ = await given_activation(db, world.partner_a)
    services = app[SERVICES]
    principal = await principal_from_credentials(db, services.keyring, activation_token=token)
    schema = build_schema(services.settings)

    async def ask(activation_id: str) -> Any:
        return await schema.execute(
            STATS, {"id": activation_id}, context_value=Context.build(services, principal)
        )

    # when it asks for A1 without passing the token, then it gets A1's stats
    own = await ask(a1["_id"])
    assert own.errors is None and own.data is not None
    assert own.data["activationStats"]["activationId"] == a1["_id"]
    # and A2 is refused
    other = await ask(a2["_id"])
    assert other.data is None and other.errors is not None
    assert [e.extensions["code"] for e in other.errors if e.extensions] == ["FORBIDDEN"]
