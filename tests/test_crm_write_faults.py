"""CRM batch writes against a real store process that is paused (SIGSTOP / SIGCONT) or killed
(SIGKILL, restarted by the supervisor) while concurrent `upsertCrmCampaign` and `createTickets`
calls run: every failed attempt is a coded JSON error, every retry completes, and nothing is
half-written (one campaign per key with its last fields, one ticket per key, one fan per
buyer, no ticket-key claim without its ticket, buyers' metro areas copied)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.auth.scopes import Role
from gateway.http.keys import SERVICES
from gateway.storage.mongo import Database
from gateway.storage.store import RunningStore, embedded_store
from loaders import partners
from tests.conftest import make_settings, make_staff
from tests.crm_fixtures import ticket_input
from tests.faults import until_answered

UPSERT = """
mutation($input: UpsertCrmCampaignInput!) {
  upsertCrmCampaign(input: $input) { created campaign { id campaignId title } }
}"""
TICKETS = """
mutation($tickets: [CreateTicketInput!]!) {
  createTickets(tickets: $tickets) { status ticket { id ticketKey } error { message field } }
}"""
CLIENTS = 8
OUTAGE_SECONDS = 2.5


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[RunningStore]:
    """A store process of this test's own (restarted quickly by its supervisor when killed)."""
    with embedded_store(tmp_path / "faults", restart_delay=0.2) as store:
        assert store.pid is not None
        try:
            yield store
        finally:
            pid = store.supervisor.pid if store.supervisor else store.pid
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)


@pytest.fixture
async def faulty_app(
    aiohttp_client: Any, own_store: RunningStore, tmp_path: Path
) -> AsyncIterator[TestClient[Any, Any]]:
    # A socket timeout (as an operator may configure): writes in flight when the store
    # stalls fail after sending, the ambiguous failure a retry must survive.
    uri = f"{own_store.uri}&socketTimeoutMS=1000"
    settings = make_settings(uri, "crmfaults", tmp_path, mongo_timeout_ms=1000)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    yield client


def store_pid(store: RunningStore) -> int:
    pid = store.supervisor.pid if store.supervisor else store.pid
    assert pid is not None
    return pid


async def outage(store: RunningStore, kind: str) -> None:
    await asyncio.sleep(0.3)
    if kind == "pause":
        os.kill(store_pid(store), signal.SIGSTOP)
        await asyncio.sleep(OUTAGE_SECONDS)
        os.kill(store_pid(store), signal.SIGCONT)
    else:
        os.kill(store_pid(store), signal.SIGKILL)  # the supervisor starts a new one


@pytest.mark.parametrize("kind", ["pause", "kill"])
async def test_crm_writes_survive_a_store_outage_whole_or_not_at_all(
    faulty_app: TestClient[Any, Any], own_store: RunningStore, kind: str
) -> None:
    client = faulty_app
    db: Database = client.server.app[SERVICES].db
    settings = client.server.app[SERVICES].settings
    # given a partner manager
    partner = await partners.insert_partner(db, "Faulty Partner")
    manager = await make_staff(db, settings, partner["_id"], Role.MANAGER)
    # when clients upsert campaigns (each key twice, the second with a new title) and store
    # ticket batches (a shared buyer, keyed tickets, metro areas) while the store goes away
    upserts = [
        until_answered(client, manager.headers, UPSERT, {"input": {"campaignId": f"tab-{i}",
                   "title": f"Quiz {i}", "appType": "trivia"}}, i * 0.05)
        for i in range(CLIENTS)
    ] + [
        until_answered(client, manager.headers, UPSERT, {"input": {"campaignId": f"tab-{i}",
                   "title": f"Quiz {i} final", "appType": "trivia"}}, 1.5 + OUTAGE_SECONDS * 2)
        for i in range(CLIENTS)
    ]  # fmt: skip
    batches = [
        until_answered(client, manager.headers, TICKETS, {"tickets": [
            ticket_input(email=f"buyer{i}@example.com", ticketKey=f"k{i}-a",
                         metroArea="Toronto CMA", countryCode="CA"),
            ticket_input(email=f"buyer{i}@example.com", ticketKey=f"k{i}-b"),
            ticket_input(email="shared@example.com", ticketKey=f"k{i}-s"),
        ]}, 0.1 + i * 0.05)
        for i in range(CLIENTS)
    ]  # fmt: skip
    outages = asyncio.create_task(outage(own_store, kind))
    results = await asyncio.gather(*upserts, *batches)
    await outages

    # then every write completed, some after failing during the outage
    assert any(failed for _, failed in results), "no write met the outage"
    for data, _ in results[2 * CLIENTS :]:
        statuses = [r["status"] for r in data["createTickets"]]
        assert set(statuses) <= {"SUCCESS", "DUPLICATE"}, data
    # …one campaign per key, with the last title
    campaigns = await db.crm_campaigns.find({"partner_id": partner["_id"]}).to_list(None)
    assert sorted((c["campaign_id"], c["title"]) for c in campaigns) == sorted(
        (f"tab-{i}", f"Quiz {i} final") for i in range(CLIENTS)
    )
    # …one ticket per key, each with its buyer, one fan per email, no orphan claim
    tickets = await db.tickets.find({"partner_id": partner["_id"]}).to_list(None)
    keys = sorted(t["ticket_key"] for t in tickets)
    assert keys == sorted(f"k{i}-{s}" for i in range(CLIENTS) for s in "abs")
    fans = await db.fans.find({"partner_id": partner["_id"]}).to_list(None)
    emails = sorted(f["email"] for f in fans)
    assert emails == sorted({*(f"buyer{i}@example.com" for i in range(CLIENTS)),
                             "shared@example.com"})  # fmt: skip
    assert {t["fan_id"] for t in tickets} <= {f["_id"] for f in fans}
    claims = await db.ticket_claims.count_documents({"partner_id": partner["_id"]})
    assert claims == len(tickets)
    # …and each buyer of a metro-area ticket has it (copied by the retried batch if not before)
    by_email = {f["email"]: f for f in fans}
    for i in range(CLIENTS):
        assert by_email[f"buyer{i}@example.com"]["metro_area"] == "Toronto CMA"
