"""The per-request loader registry and loaders (`loaders.base`) on the real store: rows a
page read prime the by-id loaders lazily, with exactly `prime`'s outcome; `load_all` loads
many keys in one batch, and one key per row still in one batch."""

from __future__ import annotations

import asyncio

from gateway.auth.principal import Principal, PrincipalKind
from gateway.storage.mongo import REQUEST_COMMANDS, Database, Document
from loaders.base import Loaders, Scope
from loaders.members import MemberByIdLoader, WatchHistoryLoader, history_key
from tests.conftest import World
from tests.portal_fixtures import given_class, given_member, given_watches


def _name(doc: Document | None) -> str:
    assert doc is not None
    name: str = doc["name"]
    return name


def _registry(db: Database, world: World) -> Loaders:
    staff = Principal(kind=PrincipalKind.STAFF, subject_id="stf_x", partner_id=world.partner_a)
    return Loaders(db, Scope(staff))


async def test_rows_primed_before_the_loader_exists_answer_its_loads(
    db: Database, world: World
) -> None:
    # Given two stored members, and a page that read one of them (its copy marked)
    read = await given_member(db, world.partner_a, name="Read")
    unread = await given_member(db, world.partner_a, name="Unread")
    registry = _registry(db, world)
    registry.prime_rows(MemberByIdLoader, [{**read, "name": "as the page read it"}])
    registry.prime_rows(MemberByIdLoader, [{**read, "name": "primed later"}])
    # When the request first loads members by id
    loader = registry.get(MemberByIdLoader)
    by_page, by_store = await loader.load_many([read["_id"], unread["_id"]])
    # Then the page's row answers (the first primed copy, as `prime` keeps it) and the
    # other member comes from the store
    assert by_page is not None and by_page["name"] == "as the page read it"
    assert by_store is not None and by_store["name"] == "Unread"


async def test_rows_primed_after_the_loader_exists_prime_it_at_once(
    db: Database, world: World
) -> None:
    member = await given_member(db, world.partner_a, name="Stored")
    registry = _registry(db, world)
    loader = registry.get(MemberByIdLoader)
    registry.prime_rows(MemberByIdLoader, [{**member, "name": "primed"}])
    loaded = await loader.load(member["_id"])
    assert loaded is not None and loaded["name"] == "primed"


async def test_load_all_sends_one_batch_and_single_keys_still_share_one(
    db: Database, world: World
) -> None:
    # Given four members with watch history
    klass = await given_class(db, world.partner_a)
    members = [await given_member(db, world.partner_a, name=f"M{i}") for i in range(4)]
    for i, member in enumerate(members):
        await given_watches(db, member, klass, [i + 1, i + 2])
    keys = [history_key(member["_id"], 3, None) for member in members]
    sent = [0]
    counting = REQUEST_COMMANDS.set(sent)
    try:
        # When a batch resolver loads three pages at once
        registry = _registry(db, world)  # loaders hold theirs weakly: keep it
        loader = registry.get(WatchHistoryLoader)
        pages = await loader.load_all(keys[:3])
        # Then one command loads them, in key order
        assert sent[0] == 1
        assert [len(page.rows) for page in pages] == [2, 2, 2]
        assert [page.rows[0]["member_id"] for page in pages] == [m["_id"] for m in members[:3]]
        # and a later call loads only what is not loaded yet, answering every key
        sent[0] = 0
        again = await loader.load_all([keys[3], keys[0], keys[3]])
        assert sent[0] == 1
        assert again[1] is pages[0] and again[0] is again[2]
        # When rows each load their own key at once (the per-row resolver's path)
        sent[0] = 0
        other_registry = _registry(db, world)
        other = other_registry.get(WatchHistoryLoader)
        alone = await asyncio.gather(*(other.load_all([key]) for key in keys))
        # Then they still share one batch
        assert sent[0] == 1
        assert [page[0].rows[0]["member_id"] for page in alone] == [m["_id"] for m in members]
    finally:
        REQUEST_COMMANDS.reset(counting)


async def test_keys_load_all_read_answer_load_prime_and_clear_as_primed_keys(
    db: Database, world: World
) -> None:
    # Given two stored members read by a batch resolver (`load_all`)
    first = await given_member(db, world.partner_a, name="First")
    second = await given_member(db, world.partner_a, name="Second")
    registry = _registry(db, world)
    loader = registry.get(MemberByIdLoader)
    sent = [0]
    counting = REQUEST_COMMANDS.set(sent)
    try:
        read = await loader.load_all([first["_id"], second["_id"]])
        assert sent[0] == 1
        # When a resolver loads one of them by id, and another primes the other
        loaded = await loader.load(first["_id"])
        loader.prime(second["_id"], {**second, "name": "primed later"})
        # Then the batch's values answer, with no command (the first value of a key stays)
        assert loaded is read[0]
        assert _name(await loader.load(second["_id"])) == "Second"
        assert (await loader.load_all([second["_id"], first["_id"]])) == [read[1], read[0]]
        assert sent[0] == 1
        # When a key is cleared (a mutation changed its document)
        await db.members.update_one({"_id": second["_id"]}, {"$set": {"name": "Renamed"}})
        loader.clear(second["_id"])
        sent[0] = 0
        # Then the next load reads the store again
        again = await loader.load_all([first["_id"], second["_id"]])
        assert sent[0] == 1
        assert again[0] is read[0] and _name(again[1]) == "Renamed"
        # and after clearing everything, both are read again
        loader.clear_all()
        sent[0] = 0
        assert [_name(m) for m in await loader.load_all([first["_id"], second["_id"]])] == [
            "First",
            "Renamed",
        ]
        assert sent[0] == 1
    finally:
        REQUEST_COMMANDS.reset(counting)


async def test_a_load_in_flight_is_shared_by_load_all(db: Database, world: World) -> None:
    # Given a key already being loaded by one resolver
    member = await given_member(db, world.partner_a, name="Shared")
    other = await given_member(db, world.partner_a, name="Other")
    registry = _registry(db, world)
    loader = registry.get(MemberByIdLoader)
    pending = loader.load(member["_id"])
    # When a batch resolver asks for it and another key at once
    both = await loader.load_all([member["_id"], other["_id"]])
    # Then it gets the in-flight load's value (one value per key in this request)
    assert both[0] is await pending
    assert _name(both[1]) == "Other"
