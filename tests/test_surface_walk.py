"""Whole-surface walk: every field of every root query and of every subscription payload,
selected to a bounded depth from the schema itself, run as every principal the field's
guard admits, over the demo data; no INTERNAL_SERVER_ERROR anywhere.

The walk is generic: a new root field or type field is selected without editing this
file. A root field with required arguments gets values drawn from the seeded data in
ROOT_ARGUMENTS, or else type-correct dummies (still walked for INTERNAL_SERVER_ERROR, but
not required to answer with data); a subscription needs a TRIGGER that makes it emit (a
new one without fails the completeness test, naming it); a field that cannot be walked
is listed in SKIPPED with its reason.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
)

from gateway.app import create_app
from gateway.auth.issue import keyring_from, member_token
from gateway.auth.principal import PrincipalKind
from gateway.auth.scopes import Role
from gateway.demo import seed_demo
from gateway.http.keys import SERVICES
from gateway.settings import Settings
from gateway.storage.mongo import Database
from loaders.affiliate import METRICS
from loaders.base import utcnow
from schema import build_schema
from tests.conftest import GraphQL, Persona, make_settings
from tests.live import LiveClient, active_subscriptions
from tests.portal_fixtures import given_voucher
from tests.test_access_matrix import expected_denial, sample

pytestmark = pytest.mark.slow

# Object levels selected below each root field (a connection's edges/node take two).
DEPTH = 5
LOGIN = (
    "mutation($e: String!, $p: String!) { partnerLogin(email: $e, password: $p) { accessToken } }"
)
REGISTER = """mutation($input: RegisterMemberInput!) { registerMember(input: $input) { token } }"""
SEGMENTS = "{ segments(first: 100) { edges { node { type id } } } }"
CREATE_TICKET = (
    "mutation($input: CreateTicketInput!) { createTicket(input: $input) { __typename } }"
)
CREATE_ACTIVITY = (
    "mutation($input: CreateFanActivityInput!) { createFanActivity(input: $input) { id } }"
)

# Root fields not walked, with the reason (none today: every root field is walked).
SKIPPED: dict[str, str] = {}


@dataclass
class Fixture:
    """The seeded data the walk draws arguments and principals from."""

    db: Database
    settings: Settings
    report: dict[str, Any]
    principals: dict[str, tuple[Persona, PrincipalKind, Role | None]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    segments: list[dict[str, Any]] = field(default_factory=list)  # one {type, id} per type


# --- building operations from the schema ------------------------------------------------------


def selection(gql_type: Any, depth: int, skipped: set[str]) -> str:
    """Every field of the (object) type to `depth` object levels; "" for leaves."""
    named = get_named_type(gql_type)
    if not isinstance(named, GraphQLObjectType):
        return ""
    if depth <= 0:
        return "{ __typename }"
    parts = ["__typename"]
    for name, child in named.fields.items():
        if required_arguments(child):
            skipped.add(f"{named.name}.{name}")
            continue
        parts.append(f"{name} {selection(child.type, depth - 1, skipped)}".rstrip())
    return "{ " + " ".join(parts) + " }"


def required_arguments(gql_field: GraphQLField) -> dict[str, Any]:
    return {
        name: arg
        for name, arg in gql_field.args.items()
        if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
    }


def operation(kind: str, name: str, gql_field: GraphQLField, variables: dict[str, Any]) -> str:
    skipped: set[str] = set()
    body = selection(gql_field.type, DEPTH, skipped)
    assert not skipped, f"nested fields with required arguments need a rule here: {skipped}"
    if not variables:
        return f"{kind} Walk {{ {name} {body} }}"
    decls = ", ".join(f"${a}: {gql_field.args[a].type}" for a in variables)
    args = ", ".join(f"{a}: ${a}" for a in variables)
    return f"{kind} Walk({decls}) {{ {name}({args}) {body} }}"


def enum_values(schema: GraphQLSchema, type_name: str) -> list[str]:
    enum = schema.type_map[type_name]
    assert isinstance(enum, GraphQLEnumType)
    return list(enum.values)


def walk_schema() -> tuple[Any, GraphQLSchema]:
    strawberry_schema = build_schema()
    return strawberry_schema, strawberry_schema._schema


def roots(kind: str) -> list[tuple[str, Any, GraphQLField]]:
    """(GraphQL name, Strawberry field, graphql-core field) of each root field of `kind`."""
    strawberry_schema, gql_schema = walk_schema()
    root = getattr(strawberry_schema, kind)
    gql_root = {"query": gql_schema.query_type, "subscription": gql_schema.subscription_type}[kind]
    assert root is not None and gql_root is not None
    out = []
    for definition in root.__strawberry_definition__.fields:
        name = strawberry_schema.config.name_converter.get_graphql_name(definition)
        out.append((name, definition, gql_root.fields[name]))
    return out


# --- arguments from the seeded data --------------------------------------------------------------


def _one(key: str) -> Callable[[Fixture, GraphQLSchema], list[dict[str, Any]]]:
    def values(fx: Fixture, _: GraphQLSchema) -> list[dict[str, Any]]:
        return [{"id": fx.ids[key]}]

    return values


ROOT_ARGUMENTS: dict[str, Callable[[Fixture, GraphQLSchema], list[dict[str, Any]]]] = {
    "activation": _one("activation"),
    "activationStats": lambda fx, _: [{"activationId": fx.ids["activation"]}],
    "partnerAnalytics": lambda fx, s: [
        {
            "shape": shape,
            "metrics": list(METRICS),
            "zerofill": zerofill,
            "currency": "EUR",
            **({"groupBy": list(group)} if group else {}),
        }
        for shape in enum_values(s, "AnalyticsShape")
        for zerofill in (False, True)
        for group in ((), ("campaign", "country"), ("date_time",), ("conversion_status",))
        if (shape == "EXPLODE") == bool(group)
    ],
    "members": lambda fx, s: [{"sort": sort} for sort in enum_values(s, "MemberSort")],
    "member": _one("member"),
    "billing": lambda fx, _: [{"month": utcnow().month, "year": utcnow().year}],
    "products": lambda fx, s: [{"sort": sort} for sort in enum_values(s, "ProductSort")],
    "product": _one("product"),
    "fan": _one("fan"),
    "ticket": _one("ticket"),
    "ticketStats": lambda fx, _: [
        {"minPurchaseDate": "2020-01-01", "maxPurchaseDate": "2029-12-31", "eventSpecific": e}
        for e in (False, True)
    ],
    "leaderboard": lambda fx, _: [{"pointName": "stars"}, {"pointName": "badges"}],
    "crmCampaignLeaderboard": lambda fx, _: [
        {"campaignId": "tab-trivia-night", "showHidden": hidden} for hidden in (False, True)
    ],
    "segmentStatus": lambda fx, _: fx.segments,
    "segmentFans": lambda fx, _: fx.segments,
    "partnerWebsite": _one("website"),
    "selfBill": _one("selfbill"),
    "partnerTag": _one("tag"),
    "exchangeRates": lambda fx, _: [{"from": "2025-01-01", "to": "2025-12-31"}],
}


ANONYMOUS = Persona("anonymous", {})


def every_query_request(fx: Fixture) -> Iterator[tuple[str, Persona, str, dict[str, Any]]]:
    """Every query root as every principal of the walk plus anonymous (guards refusing some):
    `(label, persona, operation text, variables)`, for tests comparing two apps request by
    request."""
    _, gql_schema = walk_schema()
    personas = {who: persona for who, (persona, _, _) in fx.principals.items()}
    personas["anonymous"] = ANONYMOUS
    for name, _definition, gql_field in roots("query"):
        for who, persona in personas.items():
            kind = fx.principals[who][1] if who in fx.principals else None
            found = variants(name, gql_field, fx, gql_schema, kind) if kind else [{}]
            for variables in found:
                query = operation("query", name, gql_field, variables)
                yield f"{name} as {who}", persona, query, variables


# One app's answer, comparable with another's: status, headers but the volatile ones, body.
Answer = tuple[int, list[tuple[str, str]], bytes]
VOLATILE_HEADERS = frozenset({"Date", "X-Request-ID"})


async def raw_answer(
    client: TestClient[Any, Any], caller: dict[str, str], **request: Any
) -> Answer:
    """POST /graphql as `caller` (its headers), for comparing two apps byte for byte.

    Uncompressed, so that the serving origin (tracking links carry it, and it differs
    between two test servers) can be blanked out of the body."""
    headers = {**caller, "Accept-Encoding": "identity", **request.pop("headers", {})}
    response = await client.request("POST", "/graphql", headers=headers, **request)
    origin = f"{client.host}:{client.port}".encode()
    body = await response.read()
    volatile = VOLATILE_HEADERS | ({"Content-Length"} if origin in body else set())
    kept = sorted((k, v) for k, v in response.headers.items() if k not in volatile)
    return response.status, kept, body.replace(origin, b"ORIGIN")


def variants(
    name: str, gql_field: GraphQLField, fx: Fixture, schema: GraphQLSchema, kind: PrincipalKind
) -> list[dict[str, Any]]:
    required = required_arguments(gql_field)
    if not required:
        found: list[dict[str, Any]] = [{}]
    elif name in ROOT_ARGUMENTS:
        found = ROOT_ARGUMENTS[name](fx, schema)
    else:
        # A field nobody gave fixture arguments yet: type-correct dummies still walk it for
        # INTERNAL_SERVER_ERROR (its answer may be NOT_FOUND or BAD_USER_INPUT).
        found = [{a: sample(arg.type) for a, arg in required.items()}]
    if kind is PrincipalKind.OPERATOR and "partnerId" in gql_field.args:
        # Operators name the partner whose data they read.
        found = [{**v, "partnerId": fx.report["partners"][0]["id"]} for v in found]
    return found


# --- the seeded world ----------------------------------------------------------------------------


@pytest.fixture
def walk_settings(mongo_uri: str, db_name: str, tmp_path: Any) -> Settings:
    # The walk is about correctness: operation limits and rate limits are out of its way.
    return make_settings(
        mongo_uri, db_name, tmp_path, max_depth=40, max_tokens=200_000, max_cost=10**9,
        max_aliases=1000, rate_limit=False,
    )  # fmt: skip


@pytest.fixture
async def walk_client(aiohttp_client: Any, walk_settings: Settings) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = await aiohttp_client(create_app(walk_settings))
    return client


@pytest.fixture
async def fixture(walk_client: TestClient[Any, Any], walk_settings: Settings) -> Fixture:
    db: Database = walk_client.server.app[SERVICES].db
    report = await seed_demo(db, walk_settings)
    alpha = report["partners"][0]
    gql = GraphQL(walk_client)
    owner = next(s for s in alpha["staff"] if s["role"] == "owner")
    login = await gql(LOGIN, {"e": owner["email"], "p": owner["password"]})
    staff_token = login["data"]["partnerLogin"]["accessToken"]
    app_key = alpha["appKeys"][0]
    member = await db.members.find_one({"partner_id": alpha["id"]}, sort=[("_id", 1)])
    assert member is not None
    member_jwt = member_token(
        keyring_from(walk_settings), walk_settings, member["_id"], alpha["id"]
    ).token
    fx = Fixture(db=db, settings=walk_settings, report=report)
    fx.principals = {
        "operator": (
            Persona("operator", {"Authorization": f"Bearer {report['operatorToken']}"}),
            PrincipalKind.OPERATOR, None,
        ),
        "staff owner": (
            Persona("owner", {"Authorization": f"Bearer {staff_token}"}, partner_id=alpha["id"]),
            PrincipalKind.STAFF, Role.OWNER,
        ),
        "app key": (
            Persona("app", {"X-API-Key": app_key}, partner_id=alpha["id"]),
            PrincipalKind.APP, None,
        ),
        "member": (
            Persona("member", {"X-API-Key": app_key, "Authorization": f"Bearer {member_jwt}"},
                    partner_id=alpha["id"], subject_id=member["_id"]),
            PrincipalKind.MEMBER, None,
        ),
    }  # fmt: skip
    for key, collection in (
        ("member", "members"), ("product", "products"), ("fan", "fans"), ("ticket", "tickets"),
        ("activation", "activations"), ("website", "affiliate_websites"),
        ("selfbill", "affiliate_selfbills"), ("tag", "affiliate_tags"),
    ):  # fmt: skip
        doc = await db[collection].find_one({"partner_id": alpha["id"]}, sort=[("_id", 1)])
        assert doc is not None, f"the demo seeds no {collection}"
        fx.ids[key] = doc["_id"]
    listed = await gql(SEGMENTS, as_=fx.principals["staff owner"][0])
    by_type = {e["node"]["type"]: e["node"]["id"] for e in listed["data"]["segments"]["edges"]}
    fx.segments = [{"type": kind, "id": seg_id} for kind, seg_id in sorted(by_type.items())]
    assert fx.segments, "the demo seeds no segments"
    # The member persona reads itself.
    fx.ids["member"] = member["_id"]
    fx.ids["activation_token"] = next(
        a["token"] for a in alpha["activations"] if a["id"] == fx.ids["activation"]
    )
    return fx


def internal_errors(root: str, who: str, body: dict[str, Any]) -> list[str]:
    found = []
    for error in body.get("errors") or []:
        if (error.get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR":
            continue
        path = error.get("path") or []
        found.append(f"{root} as {who}: {'.'.join(map(str, path))}: {error['message']}")
    return found


# --- the walks ------------------------------------------------------------------------------------


def test_every_root_field_is_walked_or_listed() -> None:
    _, _gql_schema = walk_schema()
    queries = {name: f for name, _, f in roots("query")}
    assert set(ROOT_ARGUMENTS) <= set(queries), "ROOT_ARGUMENTS names a field that is gone"
    subscriptions = {name for name, _, _ in roots("subscription")}
    assert subscriptions - set(TRIGGERS) - set(SKIPPED) == set(), "give these a TRIGGER"
    assert set(SKIPPED) <= set(queries) | subscriptions


async def test_every_query_field_as_every_admitted_principal(
    walk_client: TestClient[Any, Any], fixture: Fixture
) -> None:
    gql = GraphQL(walk_client)
    _, gql_schema = walk_schema()
    failures: list[str] = []
    walked: dict[str, int] = {}
    for name, definition, gql_field in roots("query"):
        if name in SKIPPED:
            continue
        for who, (persona, kind, role) in fixture.principals.items():
            if expected_denial(definition, kind, role) is not None:
                continue
            for variables in variants(name, gql_field, fixture, gql_schema, kind):
                body = await gql(
                    operation("query", name, gql_field, variables), variables, as_=persona
                )
                failures.extend(internal_errors(name, who, body))
                if (body.get("data") or {}).get(name) is not None:
                    walked[name] = walked.get(name, 0) + 1
    assert failures == []
    # Each root field answered with data for at least one principal (not only refusals).
    # (Fields walked with dummy arguments only are not held to this: see `variants`.)
    fixture_fed = {
        n for n, _, f in roots("query") if n in ROOT_ARGUMENTS or not required_arguments(f)
    }
    unwalked = fixture_fed - set(walked) - set(SKIPPED)
    assert unwalked == set(), unwalked


# --- subscriptions: one event each over a real WebSocket -----------------------------------------

Trigger = Callable[[GraphQL, Fixture], Awaitable[None]]


async def _register(gql: GraphQL, fx: Fixture) -> None:
    alpha = fx.report["partners"][0]
    voucher = await given_voucher(fx.db, alpha["id"])
    body = await gql(
        REGISTER,
        {"input": {"voucherCode": voucher["code"], "name": "Walk Member",
                   "email": f"walk-{uuid.uuid4().hex[:8]}@example.com",
                   "password": "long-enough-pw"}},
        as_=fx.principals["app key"][0],
    )  # fmt: skip
    assert "errors" not in body, body


async def _sell_ticket(gql: GraphQL, fx: Fixture) -> None:
    ticket = {
        "firstName": "Walk", "lastName": "Er", "email": f"t-{uuid.uuid4().hex[:8]}@example.com",
        "purchasedAt": "2026-03-01T10:00:00+00:00", "paidAmount": 4500, "currency": "EUR",
        "numSeats": 1, "eventDate": "2026-06-01", "eventName": "Walk Show",
        "eventKey": f"walk-{uuid.uuid4().hex[:6]}", "venueName": "Arena",
    }  # fmt: skip
    body = await gql(CREATE_TICKET, {"input": ticket}, as_=fx.principals["staff owner"][0])
    assert "errors" not in body, body


async def _record_activity(gql: GraphQL, fx: Fixture) -> None:
    activity = {"campaignTitle": "Walk campaign", "fanId": fx.ids["fan"],
                "props": [{"key": "k", "value": "v"}]}  # fmt: skip
    body = await gql(CREATE_ACTIVITY, {"input": activity}, as_=fx.principals["staff owner"][0])
    assert "errors" not in body, body


async def _nothing(gql: GraphQL, fx: Fixture) -> None:
    """The stream sends the current state at once."""


TRIGGERS: dict[str, Trigger] = {
    "activationStatsUpdated": _nothing,
    "voucherRedeemed": _register,
    "memberJoined": _register,
    "ticketSold": _sell_ticket,
    "fanActivity": _record_activity,
}
SUBSCRIPTION_ARGUMENTS: dict[str, Callable[[Fixture], dict[str, Any]]] = {
    "activationStatsUpdated": lambda fx: {"activationId": fx.ids["activation"]},
}


def connection_payloads(
    fx: Fixture,
) -> dict[str, tuple[dict[str, str], PrincipalKind, Role | None]]:
    """connection_init payloads of the principals that may open a socket."""
    payloads: dict[str, tuple[dict[str, str], PrincipalKind, Role | None]] = {}
    for who, (persona, kind, role) in fx.principals.items():
        payload = {}
        if "Authorization" in persona.headers:
            payload["authorization"] = persona.headers["Authorization"]
        if "X-API-Key" in persona.headers:
            payload["apiKey"] = persona.headers["X-API-Key"]
        payloads[who] = (payload, kind, role)
    payloads["activation token"] = (
        {"token": fx.ids["activation_token"]},
        PrincipalKind.ACTIVATION,
        None,
    )
    return payloads


async def test_every_subscription_payload_as_every_admitted_principal(
    walk_client: TestClient[Any, Any], fixture: Fixture
) -> None:
    gql = GraphQL(walk_client)
    app = walk_client.server.app
    failures: list[str] = []
    received: set[str] = set()
    for name, definition, gql_field in roots("subscription"):
        if name in SKIPPED:
            continue
        variables = SUBSCRIPTION_ARGUMENTS.get(name, lambda _: {})(fixture)
        query = operation("subscription", name, gql_field, variables)
        for who, (payload, kind, role) in connection_payloads(fixture).items():
            if expected_denial(definition, kind, role) is not None:
                continue
            live = await LiveClient.connect(walk_client, payload=payload)
            try:
                await live.subscribe("walk", query, variables)
                message = await first_message(app, live, TRIGGERS[name], gql, fixture)
                assert message["id"] == "walk", message
                if message["type"] == "next":
                    failures.extend(internal_errors(name, who, message["payload"]))
                    if (message["payload"].get("data") or {}).get(name) is not None:
                        received.add(name)
                else:  # refused at subscribe (the resolver's own admission): never an ISE
                    failures.extend(internal_errors(name, who, {"errors": message["payload"]}))
            finally:
                await live.close()
                await until_no_subscriptions(app)
    assert failures == []
    assert {n for n, _, _ in roots("subscription")} - received - set(SKIPPED) == set()


async def first_message(
    app: Any, live: LiveClient, trigger: Trigger, gql: GraphQL, fx: Fixture
) -> dict[str, Any]:
    """The subscription's first message: an immediate one (a refusal, or a stream that starts
    with the current state), else the event the trigger causes once it is listening."""
    reading = asyncio.create_task(live.message(within=30))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while active_subscriptions(app) < 1 and not reading.done():
        assert loop.time() < deadline, "the subscription neither started nor answered"
        await asyncio.sleep(0.05)
    if not reading.done():
        await trigger(gql, fx)
    return await reading


async def until_no_subscriptions(app: Any, within: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while active_subscriptions(app) > 0:
        assert loop.time() < deadline, "a subscription did not end"
        await asyncio.sleep(0.05)
