"""Resolving where MongoDB is: `MONGODB_URI`, or the embedded store under the data dir."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator

from gateway.settings import Settings
from gateway.storage.indexes import IndexSpec, ensure_indexes
from gateway.storage.mongo import CommandTally, Database, database, open_client
from gateway.storage.store import embedded_store


@contextlib.contextmanager
def resolved_store(settings: Settings) -> Iterator[Settings]:
    """Settings whose `mongodb_uri` is set, starting the embedded store when needed."""
    if settings.mongodb_uri:
        yield settings
        return
    with embedded_store(
        settings.data_dir,
        settings.store_start_timeout_seconds,
        restart_delay=settings.store_restart_delay_seconds,
    ) as store:
        yield settings.model_copy(update={"mongodb_uri": store.uri})


@contextlib.asynccontextmanager
async def connected(settings: Settings, indexes: Iterable[IndexSpec]) -> AsyncIterator[Database]:
    """A database handle with indexes ensured, for CLI commands (`settings` resolved)."""
    if not settings.mongodb_uri:
        raise RuntimeError("settings must be resolved (see resolved_store)")
    client = open_client(settings.mongodb_uri, CommandTally(), settings.mongo_timeout_ms)
    try:
        db = database(client, settings.db_name)
        await ensure_indexes(db, indexes)
        yield db
    finally:
        await client.close()
