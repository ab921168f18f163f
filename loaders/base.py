"""Building blocks of data access: the tenant scope, the loader registry, keyset paging.

Tenancy lives here, below the resolvers: every query a domain module builds starts
from `Scope.tenant()`, so a resolver cannot forget the partner filter, and loaders
are created per request from the caller's scope, so a cached row never crosses
tenants.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import weakref
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from aiodataloader import DataLoader
from pymongo.asynchronous.collection import AsyncCollection

from gateway.auth.principal import Principal, PrincipalKind
from gateway.core.clock import utcnow as utcnow  # re-exported for the domains
from gateway.core.errors import BadUserInput, Forbidden, NotFound
from gateway.storage.indexes import IndexSpec as IndexSpec  # re-exported for the domains
from gateway.storage.mongo import Database, Document

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
L = TypeVar("L", bound="ScopedLoader[Any, Any]")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Scope:
    """What data the caller may touch, derived from its principal."""

    principal: Principal

    @property
    def is_operator(self) -> bool:
        return self.principal.kind is PrincipalKind.OPERATOR

    def tenant(self) -> dict[str, Any]:
        """The filter every tenant-owned query starts from ({} for the operator)."""
        if self.is_operator:
            return {}
        if self.principal.partner_id is None:
            raise Forbidden("This credential is not bound to a partner.")
        return {"partner_id": self.principal.partner_id}

    def partner_id_for_write(self, requested: str | None = None) -> str:
        """The partner a write lands in: the caller's own, or the one an operator names."""
        if self.is_operator:
            if requested is None:
                raise BadUserInput("operators must name the partner", field="partnerId")
            return requested
        own = self.principal.partner_id
        if own is None:
            raise Forbidden("This credential is not bound to a partner.")
        if requested is not None and requested != own:
            raise NotFound("Partner not found.")
        return own


class ScopedLoader(DataLoader[K, V], Generic[K, V]):
    """A dataloader bound to one request's database and scope.

    Subclasses implement `load_batch(keys)` with one query and return values in key order.
    """

    def __init__(self, db: Database, scope: Scope, registry: Loaders) -> None:
        super().__init__()
        self.db = db
        self.scope = scope
        # Weak: the registry holds its loaders, and a strong reference back would make a
        # cycle that keeps a request's cached documents alive until the cyclic collector runs.
        self._registry = weakref.ref(registry)
        # Values `load_all` read, by cache key, not yet in the futures' cache: a key becomes a
        # (done) future only when `load` asks for it (issue 15: a page's batch of 100 keys
        # made 100 futures that were read once and never awaited).
        self._batched: dict[Any, V] = {}

    @property
    def registry(self) -> Loaders:
        """The request's other loaders (to batch a related load or prime a cache)."""
        registry = self._registry()
        if registry is None:  # pragma: no cover - loaders run while their request does
            raise RuntimeError("the request's loaders are gone")
        return registry

    async def batch_load_fn(self, keys: list[K]) -> list[V]:
        return await self.load_batch(keys)

    async def load_all(self, keys: Sequence[K]) -> list[V]:
        """The values of many keys at once (a batch resolver's): the keys this request has
        not loaded yet in one batch of their own, then kept as `prime` would keep them (the
        first value of a key stays), without a future per key (`load_many` gathers one per
        key, each woken on its own). One key is loaded with `load`, so that rows resolving
        one key each still share one batch. A batch that fails raises, as `load_many` would."""
        if len(keys) == 1:
            return [await self.load(keys[0])]
        cache, batched = self._cache, self._batched
        cache_key = self.get_cache_key
        missing = [
            key for key in dict.fromkeys(keys)
            if (ck := cache_key(key)) not in cache and ck not in batched
        ]  # fmt: skip
        if missing:
            values = await self.load_batch(missing)
            if len(values) != len(missing):
                raise TypeError(f"{type(self).__name__} answered {len(values)} values for "
                                f"{len(missing)} keys")  # fmt: skip
            for key, value in zip(missing, values, strict=True):
                ck = cache_key(key)
                if ck not in cache:  # else `load` came first: its value stays, as `prime` does
                    batched.setdefault(ck, value)
        loaded: list[V] = []
        for key in keys:
            ck = cache_key(key)
            future = cache.get(ck)
            if future is None:
                value = batched[ck]
                if isinstance(value, Exception):  # as the primed future would raise it
                    raise value
                loaded.append(value)
            else:
                loaded.append(future.result() if future.done() else await future)
        return loaded

    def load(self, key: K) -> asyncio.Future[V]:
        """`DataLoader.load`, answering a key `load_all` read from its value."""
        if self._batched and self.cache:
            ck = self.get_cache_key(key)
            if ck in self._batched:
                super().prime(key, self._batched.pop(ck))
        return super().load(key)

    def prime(self, key: K, value: V) -> ScopedLoader[K, V]:
        """`DataLoader.prime`; a key `load_all` read keeps that value (the first stays)."""
        if self.get_cache_key(key) not in self._batched:
            super().prime(key, value)
        return self

    def clear(self, key: K) -> ScopedLoader[K, V]:
        """`DataLoader.clear`, also of a value `load_all` read."""
        self._batched.pop(self.get_cache_key(key), None)
        super().clear(key)
        return self

    def clear_all(self) -> ScopedLoader[K, V]:
        """`DataLoader.clear_all`, also of the values `load_all` read."""
        self._batched.clear()
        super().clear_all()
        return self

    async def load_batch(self, keys: list[K]) -> list[V]:
        raise NotImplementedError


class Loaders:
    """Per-request registry: each loader class is created lazily, once per request.

    Its loaders refer back to it weakly: whoever uses them keeps the registry (a request's
    context does)."""

    def __init__(self, db: Database, scope: Scope) -> None:
        self.db = db
        self.scope = scope
        self._made: dict[type[Any], Any] = {}
        # Rows to prime a loader with when it is first made (`prime_rows`).
        self._pending: dict[type[Any], list[Sequence[Document]]] = {}

    def get(self, loader_cls: type[L]) -> L:
        loader = self._made.get(loader_cls)
        if loader is None:
            loader = loader_cls(self.db, self.scope, self)
            self._made[loader_cls] = loader
            for rows in self._pending.pop(loader_cls, ()):
                for row in rows:
                    loader.prime(row["_id"], row)
        return loader

    def prime_rows(
        self, loader_cls: type[ScopedLoader[str, Any]], rows: Sequence[Document]
    ) -> None:
        """Prime a by-id loader with documents a page read (by their `_id`).

        Lazily: a list page's rows are primed only if the request uses that loader at all
        (each primed key is a future; most pages never load their rows by id again), and
        then exactly as `prime` would have done when the rows were read (the first primed
        value of a key is kept).
        """
        loader = self._made.get(loader_cls)
        if loader is None:
            self._pending.setdefault(loader_cls, []).append(rows)
            return
        for row in rows:
            loader.prime(row["_id"], row)


# --- filters -----------------------------------------------------------------------------

_BRANCHING = ("$or", "$nor")


def _conjuncts(clause: Mapping[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for key, value in clause.items():
        if key == "$and":
            for inner in value:
                parts.extend(_conjuncts(inner))
        elif key in _BRANCHING:
            parts.append({key: [conjoin(branch) for branch in value]})
        else:
            parts.append({key: value})
    return parts


def conjoin(*clauses: Mapping[str, Any] | None) -> dict[str, Any]:
    """The filter `clause AND clause AND …`, in a shape every server reads the same way.

    Every aggregation `$match` and every `find` filter that mixes fields with `$or`/`$nor`
    is built here. The embedded store reads `{partner_id: x, $or: [A, B]}` inside an
    aggregation as `(partner_id AND A) OR B`, which lets other tenants' rows in (see
    README: embedded store deviations), so a filter with a branch becomes an explicit
    `$and` of one-key clauses; branches are conjoined the same way, recursively. A
    filter of plain fields stays one document (one clause per field) so it reads as
    before and keeps using the same indexes.
    """
    parts: list[dict[str, Any]] = []
    for clause in clauses:
        if clause:
            parts.extend(_conjuncts(clause))
    if not parts:
        return {}
    keys = [key for part in parts for key in part]
    if len(parts) == 1 or (
        len(set(keys)) == len(keys) and not any(key in _BRANCHING for key in keys)
    ):
        return {key: value for part in parts for key, value in part.items()}
    return {"$and": parts}


def match_stage(*clauses: Mapping[str, Any] | None) -> dict[str, Any]:
    """An aggregation `$match` stage of the conjunction of `clauses` (see `conjoin`)."""
    return {"$match": conjoin(*clauses)}


def in_key_order(keys: Sequence[K], rows: Sequence[Document], key: str = "_id") -> list[Any]:
    """Rows matched back to the keys that asked for them (None where missing)."""
    by_key = {row[key]: row for row in rows}
    return [by_key.get(k) for k in keys]


def grouped_by(keys: Sequence[K], rows: Sequence[Document], key: str) -> list[list[Document]]:
    groups: dict[Any, list[Document]] = {k: [] for k in keys}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return [groups[k] for k in keys]


# --- keyset pagination ---------------------------------------------------------------


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.astimezone(UTC).isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$dt"} and isinstance(value["$dt"], str):
            return datetime.fromisoformat(value["$dt"])
        raise ValueError("unexpected object in cursor")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError("unexpected value in cursor")


# base64's alphabet to the URL-safe one (what `base64.urlsafe_b64encode` translates).
_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def encode_cursor(values: Sequence[Any]) -> str:
    raw = orjson.dumps([_encode_value(v) for v in values])
    # `base64.urlsafe_b64encode` without its two Python frames (a cursor per row of a page).
    return binascii.b2a_base64(raw, newline=False).translate(_URL_SAFE).rstrip(b"=").decode()


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """Decode an opaque cursor; anything not produced by `encode_cursor` is BAD_USER_INPUT."""
    try:
        if len(cursor) > 512:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong shape")
        return [_decode_value(v) for v in values]
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise BadUserInput("not a cursor from this list", field="after") from None


def check_first(first: int | None, maximum: int = MAX_PAGE_SIZE) -> int:
    if first is None:
        return min(DEFAULT_PAGE_SIZE, maximum)
    if not 1 <= first <= maximum:
        raise BadUserInput(f"must be between 1 and {maximum}", field="first")
    return first


def _value_at(doc: Mapping[str, Any], path: str) -> Any:
    if type(doc) is dict and "." not in path:  # a stored document's own field (most keys)
        return doc.get(path)
    current: Any = doc
    for part in path.split("."):
        current = current.get(part) if isinstance(current, Mapping) else None
    return current


def _after_filter(sort: Sequence[tuple[str, int]], values: Sequence[Any]) -> dict[str, Any]:
    # (k1 > v1) or (k1 == v1 and k2 > v2) or … with > / < per sort direction.
    branches: list[dict[str, Any]] = []
    for i, (field, direction) in enumerate(sort):
        branch: dict[str, Any] = {sort[j][0]: values[j] for j in range(i)}
        branch[field] = {"$gt" if direction > 0 else "$lt": values[i]}
        branches.append(branch)
    return {"$or": branches}


@dataclass
class Page:
    """One page of documents with the cursor of each, and a lazy total count."""

    rows: list[Document]
    cursors: list[str]
    has_next_page: bool
    count: Callable[[], Awaitable[int]]

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


async def paginate(
    collection: AsyncCollection[Document],
    query: Mapping[str, Any],
    *,
    sort: Sequence[tuple[str, int]],
    first: int | None,
    after: str | None,
    max_first: int = MAX_PAGE_SIZE,
    projection: Mapping[str, Any] | None = None,
) -> Page:
    """Keyset-paginate `query` ordered by `sort` (which must end with a unique key).

    One `find` per page; the total count runs only if the client selects it.
    """
    limit = check_first(first, max_first)
    keys = [field for field, _ in sort]
    # count_documents runs an aggregation `$match`, so the query is conjoined for it too.
    query = conjoin(query)
    full_query = query
    if after is not None:
        values = decode_cursor(after, len(sort))
        full_query = conjoin(query, _after_filter(sort, values))
    cursor = collection.find(full_query, projection=projection, sort=list(sort), limit=limit + 1)
    rows = await cursor.to_list(length=limit + 1)
    has_next = len(rows) > limit
    rows = rows[:limit]

    async def count() -> int:
        return await collection.count_documents(query)

    cursors = [encode_cursor([_value_at(row, k) for k in keys]) for row in rows]
    return Page(rows=rows, cursors=cursors, has_next_page=has_next, count=count)


def epoch_ms(moment: datetime) -> int:
    """Timestamps written by updates are epoch-ms ints (see README: embedded store deviations)."""
    return int(moment.timestamp() * 1000)


def from_epoch_ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)
