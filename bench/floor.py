"""The floor for Python: hand-written aiohttp handlers for the benchmark's operations.

    .venv/bin/python -m bench.floor --port 8101   (env as for `gateway serve`)

No GraphQL at all: each known operation text maps to one handler that authenticates the
request with the gateway's own credential code (and its staff-session cache), charges the
rate limiter like the gateway (same bucket, same cost), issues the same MongoDB commands
through the same data-access functions, builds the response dicts by hand and encodes
them with orjson. The benchmark (`bench/gateway_bench.py`) checks that its answers are
the same JSON as the gateway's and how many MongoDB commands each sends per request.
Only the benchmark's operations are known; anything else is a 404. Listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web
from graphql import parse

from bench.operations import OPERATIONS
from gateway.app import gateway_schema
from gateway.auth.authenticate import bearer_from_header, principal_from_credentials
from gateway.auth.issue import keyring_from
from gateway.auth.lockout import client_ip
from gateway.auth.principal import Principal
from gateway.auth.tokens import Keyring
from gateway.core.clock import iso_utc
from gateway.core.errors import GatewayError
from gateway.core.heap import settle_heap_once_started
from gateway.core.ids import parse_id
from gateway.core.metrics import Metrics
from gateway.live.hub import ChangeHub
from gateway.live.sessions import SessionCache
from gateway.protection import ratelimit
from gateway.protection.limits import measure
from gateway.settings import Settings, load_settings
from gateway.storage.mongo import CommandTally, Database, Document, database, open_client
from loaders import content as content_data
from loaders import crm as crm_data
from loaders import members as member_data
from loaders import products as product_data
from loaders.base import Loaders, Scope, from_epoch_ms
from resolvers.activations import stats_by_token

Json = dict[str, Any]
Handler = Callable[["Floor", Principal, Json], Awaitable[Json]]


def _dt(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def _page_info(page: Any) -> Json:
    return {"hasNextPage": page.has_next_page, "endCursor": page.end_cursor}


async def catalogue(floor: Floor, principal: Principal, variables: Json) -> Json:
    scope = Scope(principal)
    partner_id = scope.partner_id_for_write(None)
    page = await product_data.list_products(
        floor.db, scope, None, None, None, "NEWEST", variables["first"], None
    )
    strings = await content_data.content_strings(floor.db, partner_id)
    return {
        "products": {
            "edges": [
                {
                    "cursor": cursor,
                    "node": {
                        "id": d["_id"],
                        "name": d["name"],
                        "description": d["description"],
                        "image": d["image"],
                        "price": product_data.format_price(d["price_minor"], d["currency"]),
                        "priceMinor": int(d["price_minor"]),
                        "currency": d["currency"],
                        "externalUrl": d["external_url"],
                        "productType": d["product_type"],
                        "featured": bool(d["featured"]),
                    },
                }
                for d, cursor in zip(page.rows, page.cursors, strict=True)
            ],
            "pageInfo": _page_info(page),
        },
        "contentStrings": [{"key": k, "value": strings[k]} for k in sorted(strings)],
    }


def _member(d: Document) -> Json:
    return {
        "id": d["_id"],
        "name": d["name"],
        "email": d["email"],
        "status": member_data.member_status(d).upper(),
        "joinedAt": _dt(d["created_at"]),
        "lastWatchedAt": _dt(from_epoch_ms(d.get("last_watched_ms") or None)),
        "totalWatchMinutes": int(d.get("watch_minutes") or 0),
        "classesWatched": int(d.get("classes_watched") or 0),
    }


async def dashboard(floor: Floor, principal: Principal, variables: Json) -> Json:
    scope = Scope(principal)
    page = await member_data.list_members(
        floor.db, scope, None, None, "NEWEST", variables["first"], None
    )
    edges = [
        {"cursor": c, "node": _member(d)} for d, c in zip(page.rows, page.cursors, strict=True)
    ]
    return {
        "members": {
            "totalCount": await page.count(),
            "edges": edges,
            "pageInfo": _page_info(page),
        }
    }


async def member_history(floor: Floor, principal: Principal, variables: Json) -> Json:
    scope = Scope(principal)
    page = await member_data.list_members(
        floor.db, scope, None, None, "NEWEST", variables["first"], None
    )
    # The gateway's loader class, called once with every key: the same single command (its
    # registry is kept while it runs: loaders hold theirs weakly).
    registry = Loaders(floor.db, scope)
    loader = registry.get(member_data.WatchHistoryLoader)
    keys = [member_data.history_key(d["_id"], 3, None) for d in page.rows]
    histories = await loader.load_batch(keys) if keys else []
    edges = []
    for d, history in zip(page.rows, histories, strict=True):
        events = [
            {
                "node": {
                    "id": e["_id"],
                    "minutes": int(e["minutes"]),
                    "watchedAt": _dt(from_epoch_ms(e["ts"]) or e["watched_at"]),
                    "classTitle": e["class_title"],
                    "category": e["category"],
                }
            }
            for e in history.rows
        ]
        edges.append({"node": {"id": d["_id"], "name": d["name"], "history": {"edges": events}}})
    return {"members": {"edges": edges}}


def _opt(value: Any) -> Any:
    return value if value else None


async def fans(floor: Floor, principal: Principal, variables: Json) -> Json:
    scope = Scope(principal)
    page = await crm_data.list_fans(floor.db, scope, {}, variables["first"], None)
    edges = [
        {
            "node": {
                "id": d["_id"],
                "email": d.get("email"),
                "firstName": _opt(d["first_name"]),
                "lastName": _opt(d["last_name"]),
                "displayName": _opt(d["display_name"]),
                "isSubscribed": bool(d["is_subscribed"]),
                "tags": list(d["tags"]),
                "countryCode": _opt(d["country_code"]),
                "city": _opt(d["city"]),
                "createdAt": _dt(d["created_at"]),
                "updatedAt": _dt(crm_data.from_ms(d["updated_ms"]) or d["created_at"]),
                "firstPurchaseAt": _dt(crm_data.from_ms(d.get("first_purchase_ms"))),
            }
        }
        for d in page.rows
    ]
    return {"fans": {"edges": edges, "pageInfo": _page_info(page)}}


async def partner_stats(floor: Floor, principal: Principal, variables: Json) -> Json:
    activation_id = parse_id(variables["id"], "act", "activationId")
    report = await stats_by_token(floor.db, activation_id, variables["token"])
    doc, m = report.activation, report.metrics
    return {
        "activationStats": {
            "activationId": doc["_id"],
            "eventKey": doc["event_key"],
            "eventName": doc["event_name"],
            "tier": doc["tier"],
            "range": {"startAt": _dt(report.range.start_at), "endAt": _dt(report.range.end_at)},
            "metrics": {
                "clickCount": m.click_count,
                "outboundClickCount": m.outbound_click_count,
                "calendarSyncCount": m.calendar_sync_count,
                "uniqueSessionCount": m.unique_session_count,
                "uniqueViewSessionCount": m.unique_view_session_count,
                "uniqueOutboundSessionCount": m.unique_outbound_session_count,
                "uniqueCalendarSessionCount": m.unique_calendar_session_count,
                "outboundSessionRate": m.outbound_session_rate,
                "calendarSessionRate": m.calendar_session_rate,
            },
        }
    }


async def typename(floor: Floor, principal: Principal, variables: Json) -> Json:
    return {"__typename": "Query"}


HANDLERS: dict[str, Handler] = {
    "typename": typename,
    "catalogue": catalogue,
    "dashboard": dashboard,
    "partner_stats": partner_stats,
    "member_history": member_history,
    "fans": fans,
}


class Floor:
    """The floor server's state: settings, database, keyring, costs per operation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tally = CommandTally()
        self.db: Database
        self.sessions: SessionCache | None = None
        self.keyring: Keyring = keyring_from(settings)
        schema = gateway_schema(settings)._schema
        self.by_text: dict[str, tuple[Handler, bool]] = {}
        self.measured: dict[tuple[str, str], int] = {}
        self._schema = schema
        for name, (text, _) in OPERATIONS.items():
            self.by_text[text] = (HANDLERS[name], "$" in text)

    def cost(self, text: str, variables: Json) -> int:
        # The gateway measures once per text, or per call when variables set page sizes;
        # here once per (text, variables), outside the timed path after the first call.
        key = (text, orjson.dumps(variables, option=orjson.OPT_SORT_KEYS).decode())
        cost = self.measured.get(key)
        if cost is None:
            found = measure(self._schema, parse(text), None, variables)
            cost = self.measured[key] = max(1, found.stats.cost if found else 1)
        return cost

    async def handle(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        text, variables = body.get("query"), body.get("variables") or {}
        known = self.by_text.get(text)
        if known is None:
            return web.Response(status=404)
        handler, _ = known
        try:
            principal = await principal_from_credentials(
                self.db,
                self.keyring,
                bearer=bearer_from_header(request.headers.get("Authorization")),
                api_key=request.headers.get("X-API-Key"),
                sessions=self.sessions,
            )
        except GatewayError as exc:
            error = {"message": exc.message, "extensions": {"code": exc.code}}
            return web.Response(body=orjson.dumps({"errors": [error]}), status=401)
        if self.settings.rate_limit_enabled:
            ip = client_ip(request, self.settings)
            bucket, limit = ratelimit.principal_bucket(principal, ip, self.settings)
            decision = await ratelimit.charge(
                self.db, self.settings, bucket, limit, self.cost(text, variables)
            )
            if not decision.allowed:
                return web.Response(status=429, headers=decision.headers())
        data = await handler(self, principal, variables)
        return web.Response(body=orjson.dumps({"data": data}), content_type="application/json")

    async def commands(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(sum(self.tally.snapshot().values())))


def create_floor(settings: Settings) -> web.Application:
    floor = Floor(settings)
    app = web.Application()

    async def mongo_ctx(app: web.Application) -> Any:
        assert settings.mongodb_uri
        client = open_client(settings.mongodb_uri, floor.tally, settings.mongo_timeout_ms)
        floor.db = database(client, settings.db_name)
        # The gateway's session cache (on its own change hub), so staff requests read their
        # session as rarely as the gateway's do.
        hub = ChangeHub(floor.db, Metrics())
        floor.sessions = SessionCache(hub)
        floor.sessions.start()
        yield
        await ratelimit.close_limiter(floor.db)
        floor.sessions.close()
        await hub.close()
        await client.close()

    app.cleanup_ctx.append(mongo_ctx)
    app.router.add_post("/graphql", floor.handle)
    app.router.add_get("/commands", floor.commands)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings()
    app = create_floor(settings)
    app.on_startup.append(settle_heap_once_started)  # as `gateway serve` does
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
