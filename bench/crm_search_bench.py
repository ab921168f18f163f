"""CRM fan search over a large partner, end to end over real HTTP, on the embedded store.

    .venv/bin/python -m bench.crm_search_bench [--fans 100000] [--runs 5] [--only text]

Starts the gateway in-process (fresh embedded store in a temp dir, loopback only), writes
`--fans` fans of one partner (plus a tenth as many of a second partner) with tags, sources,
provinces, birth dates, last activity, rating, metro area, networks, idols, and one or two
tickets for a third of them, and a snapshot of every fifth fan, then times
each search below as `fans(filter, first: 20) { edges { node { id } } }` (median of `--runs`)
and once more with `totalCount`, with a partner staff token.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gateway.app import create_app
from gateway.auth.issue import keyring_from, staff_access_token
from gateway.auth.scopes import Role
from gateway.http.keys import SERVICES
from gateway.settings import load_settings
from gateway.storage.store import embedded_store, free_loopback_port
from loaders import crm as data
from loaders import identity, partners

PAGE = """query($filter: FanFilter) {
  fans(filter: $filter, first: 20) { edges { node { id } } }
}"""
COUNTED = """query($filter: FanFilter) {
  fans(filter: $filter, first: 20) { totalCount edges { node { id } } }
}"""
SNAPSHOT = "snp_benchsnapshot000"  # every fifth fan of the partner
SEARCHES: dict[str, dict[str, Any]] = {
    "no filter": {},
    "tag (any)": {"tags": ["t3"]},
    "tags AND + NOT": {"tagsAll": ["t1", "t2"], "tagsNone": ["t5"]},
    "subscribed + province": {"isSubscribed": True, "provinces": ["ON"]},
    "age 25..34": {"youngestAge": 25, "oldestAge": 34},
    "active in 7 days": {"activeWithinDays": 7},
    "inactive 30 days": {"inactiveForDays": 30},
    "source + created window": {"sources": ["pos"], "createdFrom": "2025-01-01",
                                "createdTo": "2025-06-30"},
    "text (name/email)": {"text": "fan1234"},
    "text matching every fan": {"text": "bench"},
    "text of 1 character, every fan": {"text": "b"},
    "text of 2 characters, rare": {"text": "zq"},
    "text of 2 characters, a tenth": {"text": "99"},
    "text of 3 characters, no fan": {"text": "qqq"},
    "text + ticket event": {"text": "fan12", "ticketEventName": "Show 3"},
    "text + snapshot": {"text": "bench", "inSnapshots": [SNAPSHOT]},
    "text + snapshot + ticket negative": {"text": "fan1", "inSnapshots": [SNAPSHOT],
                                          "ticketPurchasedDays": 30, "ticketNegative": True},
    "text + tags AND + province": {"text": "bench", "tagsAll": ["t1", "t2"],
                                   "provinces": ["ON"]},
    "network + rating 4..5": {"networks": ["spotify"], "ratingMin": 4},
    "metro areas": {"metroAreas": ["M1", "M2"]},
    "idols AND + NOT": {"idolsAll": ["i1", "i2"], "idolsNone": ["i3"]},
    "no filter, maxCount 1,000": {"maxCount": 1000},
    "ticket event": {"ticketEventName": "Show 3"},
    "ticket event + seat price + 2 sales": {"ticketEventName": "Show 3",
                                            "ticketSeatPriceMin": 3000,
                                            "ticketSalesCountMin": 2},
    "ticket negative (no purchase in 30 days)": {"ticketPurchasedDays": 30,
                                                 "ticketNegative": True},
}  # fmt: skip


def fan_doc(partner_id: str, i: int, now: datetime, rng: random.Random) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "email": f"fan{i}@{partner_id}.bench", "first_name": f"Fan{i}", "last_name": "Bench",
        "tags": rng.sample([f"t{k}" for k in range(10)], rng.randint(0, 3)),
        "source": rng.choice(["web", "pos", "import"]), "country_code": "CA",
        "province": rng.choice(["ON", "BC", "QC", "AB"]), "is_subscribed": rng.random() < 0.6,
        "birth_date": (date(1950, 1, 1) + timedelta(days=rng.randint(0, 26000)))
        .isoformat() if rng.random() < 0.8 else "",
        "created_at": now - timedelta(days=rng.randint(0, 900)),
        "rating": rng.randint(0, 5), "metro_area": rng.choice(["M1", "M2", "M3", "M4", ""]),
        "networks": rng.sample(["facebook", "spotify", "instagram"], rng.randint(0, 2)),
        "idol_names": rng.sample([f"i{k}" for k in range(6)], rng.randint(0, 3)),
    }  # fmt: skip
    if rng.random() < 0.7:
        fields["last_active_ms"] = data.to_ms(now - timedelta(hours=rng.randint(0, 24 * 120)))
    return data.new_fan_doc(partner_id, fields, now)


def ticket_doc(fan: dict[str, Any], n: int, now: datetime, rng: random.Random) -> dict[str, Any]:
    bought = now - timedelta(days=rng.randint(0, 200))
    seats = rng.randint(1, 4)
    return {
        "_id": f"tkt_{fan['_id'][4:]}{n}", "partner_id": fan["partner_id"], "seq": 0,
        "fan_id": fan["_id"], "email": fan["email"], "event_name": f"Show {rng.randint(0, 9)}",
        "artist_name": "Band", "price_code": rng.choice("ABC"), "province": fan["province"],
        "num_seats": seats, "paid_amount": seats * rng.randint(1000, 8000), "currency": "CAD",
        "purchased_at": bought, "event_date": bought.date().isoformat(), "is_deleted": False,
        "venue_name": "Hall", "created_at": bought, "updated_ms": data.to_ms(bought),
    }  # fmt: skip


async def main(fans: int, runs: int, only: str = "") -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp, embedded_store(Path(tmp)) as store:
        settings = load_settings(mongodb_uri=store.uri, data_dir=Path(tmp), db_name="bench")
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_loopback_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            db = app[SERVICES].db
            partner = await partners.insert_partner(db, "Bench A")
            other = await partners.insert_partner(db, "Bench B")
            staff = await identity.insert_staff(
                db, partner["_id"], "bench@example.com", "bench-password-1", Role.ANALYST
            )
            session_id, _ = await identity.open_session(db, staff, 3600)
            token = staff_access_token(keyring_from(settings), settings, staff, session_id).token
            now = datetime.now(UTC)
            started = time.perf_counter()
            for owner, count in ((partner["_id"], fans), (other["_id"], fans // 10)):
                for start in range(0, count, 5000):
                    batch = [fan_doc(owner, i, now, rng) for i in range(start,
                             min(start + 5000, count))]  # fmt: skip
                    await db.fans.insert_many(batch)
                    tickets = [ticket_doc(f, n, now, rng) for f in batch if rng.random() < 0.33
                               for n in range(rng.randint(1, 2))]  # fmt: skip
                    if tickets:
                        await db.tickets.insert_many(tickets)
            # A snapshot of every fifth fan of the partner (for the snapshot searches).
            members = [r["_id"] for r in await db.fans.find(
                {"partner_id": partner["_id"]}, projection={"_id": 1}).to_list(None)][::5]
            await db.crm_snapshots.insert_one({
                "_id": SNAPSHOT, "partner_id": partner["_id"], "name": "bench",
                "filter": {}, "fan_count": len(members), "created_at": now,
                "created_ms": data.to_ms(now)})
            await data.segments.add_snapshot_members(db, partner["_id"], SNAPSHOT, members)
            print(f"wrote {fans + fans // 10} fans in {time.perf_counter() - started:.0f} s")
            url = f"http://127.0.0.1:{port}/graphql"
            headers = {"Authorization": f"Bearer {token}"}
            print(f"{'search':44} {'matches':>8} {'page (median)':>14} {'+ totalCount':>13}")
            async with aiohttp.ClientSession(headers=headers) as session:

                async def timed(query: str, filter: dict[str, Any]) -> tuple[float, Any]:
                    t0 = time.perf_counter()
                    async with session.post(url, json={"query": query,
                                            "variables": {"filter": filter}}) as r:  # fmt: skip
                        body = await r.json()
                    if "errors" in body:
                        raise RuntimeError(body["errors"])
                    return time.perf_counter() - t0, body["data"]["fans"]

                for name, filter in SEARCHES.items():
                    if only not in name:
                        continue
                    pages = [(await timed(PAGE, filter))[0] for _ in range(runs)]
                    counted, result = await timed(COUNTED, filter)
                    print(f"{name:44} {result['totalCount']:>8} "
                          f"{statistics.median(pages) * 1000:>11.0f} ms {counted * 1000:>10.0f} ms",
                          flush=True)  # fmt: skip
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fans", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="time only searches whose name has this")
    args = parser.parse_args()
    asyncio.run(main(args.fans, args.runs, args.only))
