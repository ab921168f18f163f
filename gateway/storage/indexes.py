"""Index declarations and their idempotent creation at start (the domains declare them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.storage.mongo import Database


@dataclass(frozen=True)
class IndexSpec:
    """An index a domain needs; created idempotently at start (`ensure_indexes`)."""

    collection: str
    keys: Sequence[tuple[str, int]]
    unique: bool = False
    partial: Mapping[str, Any] | None = None
    expire_after_seconds: int | None = None
    name: str | None = None


async def store_cannot_index_id_in_compound(db: Database) -> bool:
    """True on the embedded store, where a compound index containing `_id` breaks inserts.

    (storage.md deviation, found by the conformance tests: on an empty collection such
    an index is accepted but every later insert fails with "JSON path error near '_id'".)
    """
    info = await db.client.admin.command("buildInfo")
    return info.get("process") == "nx_27017"


async def ensure_indexes(db: Database, specs: Iterable[IndexSpec]) -> None:
    """Create the given indexes (`loaders.all_indexes()`); idempotent, so it runs at each start."""
    strip_id = await store_cannot_index_id_in_compound(db)
    for spec in specs:
        options: dict[str, Any] = {"unique": spec.unique}
        if spec.partial is not None:
            options["partialFilterExpression"] = dict(spec.partial)
        if spec.expire_after_seconds is not None:
            options["expireAfterSeconds"] = spec.expire_after_seconds
        if spec.name is not None:
            options["name"] = spec.name
        keys = list(spec.keys)
        if strip_id and len(keys) > 1:
            # MongoDB gets the full keyset index; the embedded store its `_id`-less prefix.
            keys = [k for k in keys if k[0] != "_id"]
        await db[spec.collection].create_index(keys, **options)
