"""Staff sessions known to be live, dropped the moment their document changes.

A staff access token is only as good as its session (logout and refresh-token reuse
revoke it), so authenticating one used to cost a `find` on `sessions` per request. This
cache answers from memory instead, and stays as strict as that read:

- an entry is cached only while a change-hub listener on its `sessions/<id>` document
  is registered, and the listener is registered *before* the document is read, so a
  revocation written after the read always arrives as a change and drops the entry;
- a change seen while the read is in flight means the read may be stale: not cached;
- this process's own revocations (`logout`, refresh-token reuse) drop the entry
  synchronously before the mutation answers, so the next request is refused at once;
  another instance's revocation drops it when the change stream delivers it;
- until the `sessions` watcher is open (start-up, store restart) nothing is cached and
  every check reads the store, as before; entries also expire after `max_age` seconds
  and the cache holds at most `max_entries` sessions (least recently used go first).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from gateway.core.clock import utcnow
from gateway.live.hub import Change, ChangeHub, Listener
from gateway.storage.mongo import Database

log = logging.getLogger(__name__)

COLLECTION = "sessions"
_KEEPER_ID = ""  # a listener routed on no document: keeps the watcher open while caching


@dataclass(eq=False)
class _Entry:
    """One cached session and the listener that drops it."""

    cache: SessionCache
    session_id: str
    staff_id: str = ""
    expires_at: datetime | None = None
    cached_at: float = 0.0
    changed: bool = False
    listener: Listener | None = field(default=None, repr=False)

    def deliver(self, change: Change) -> None:
        self.changed = True
        self.cache.drop(self.session_id, self)


class _Keeper:
    def deliver(self, change: Change) -> None:
        """Never routed to (no document has the empty id)."""


class SessionCache:
    """Per-process cache of live staff sessions, invalidated by the change hub."""

    def __init__(self, hub: ChangeHub, *, max_entries: int = 10_000, max_age: float = 60.0) -> None:
        self.hub = hub
        self.max_entries = max_entries
        self.max_age = max_age
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._keeper = Listener(COLLECTION, "_id", _KEEPER_ID, _Keeper())
        self._keeping: asyncio.Task[None] | None = None
        self.hits = 0
        self.misses = 0

    def start(self) -> None:
        """Open the `sessions` watcher in the background (caching begins once it is open)."""
        if self._keeping is None:
            self._keeping = asyncio.create_task(self._keep(), name="session-cache-watch")

    async def _keep(self) -> None:
        try:
            await self.hub.listen(self._keeper)
        except Exception:
            log.warning("session cache: the sessions watcher did not open; reading the store")

    def close(self) -> None:
        """Forget everything and stop listening (app shutdown, before the hub closes)."""
        for session_id in list(self._entries):
            self.drop(session_id)
        self.hub.unlisten(self._keeper)

    def drop(self, session_id: str, entry: _Entry | None = None) -> None:
        """Forget a session (its document changed, or this process revoked it)."""
        current = self._entries.get(session_id)
        if current is None or (entry is not None and current is not entry):
            return
        del self._entries[session_id]
        self._unlisten(current)

    def _unlisten(self, entry: _Entry) -> None:
        # The entry and its listener refer to each other: cut the link, and reference
        # counting frees both at once (not the cyclic collector, later).
        if entry.listener is not None:
            self.hub.unlisten(entry.listener)
            entry.listener = None

    async def is_live(self, db: Database, session_id: str, staff_id: str) -> bool:
        """Whether the session is live and belongs to `staff_id` (the store when unsure)."""
        entry = self._entries.get(session_id)
        if entry is not None:
            fresh = time.monotonic() - entry.cached_at < self.max_age
            if fresh and entry.expires_at is not None and entry.expires_at > utcnow():
                self._entries.move_to_end(session_id)
                self.hits += 1
                return entry.staff_id == staff_id
            self.drop(session_id)
        self.misses += 1
        if not self.hub.watching(COLLECTION):
            return await _read(db, session_id, staff_id) is not None
        entry = _Entry(self, session_id)
        entry.listener = Listener(COLLECTION, "_id", session_id, entry)
        await self.hub.listen(entry.listener)  # before the read: no revocation slips between
        try:
            expires_at = await _read(db, session_id, staff_id)
        except BaseException:
            self._unlisten(entry)
            raise
        if expires_at is None or entry.changed or session_id in self._entries:
            self._unlisten(entry)
            return expires_at is not None
        entry.staff_id, entry.expires_at, entry.cached_at = staff_id, expires_at, time.monotonic()
        self._entries[session_id] = entry
        while len(self._entries) > self.max_entries:
            self.drop(next(iter(self._entries)))
        return True


async def _read(db: Database, session_id: str, staff_id: str) -> datetime | None:
    """The session's expiry when it is live and belongs to `staff_id`, else None."""
    session = await db.sessions.find_one({"_id": session_id, "staff_id": staff_id})
    if session is None or session["revoked"] or not session["expires_at"] > utcnow():
        return None
    expires_at: datetime = session["expires_at"]
    return expires_at
