"""The per-request loader registry (`loaders.base.Loaders`): rows a page read prime the
by-id loaders lazily, with exactly `prime`'s outcome, on the real store."""

from __future__ import annotations

from gateway.auth.principal import Principal, PrincipalKind
from gateway.storage.mongo import Database
from loaders.base import Loaders, Scope
from loaders.members import MemberByIdLoader
from tests.conftest import World
from tests.portal_fixtures import given_member


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
