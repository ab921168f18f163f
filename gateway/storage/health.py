"""Is the store reachable right now? One flag the edge reads before touching the database.

Two sources decide it, so both the gateway that owns the embedded store and any other
process on the same store (a second `gateway serve`, or MongoDB itself) answer at once
during an outage instead of each request waiting out the driver's server selection:

- the driver's current view of the deployment: once connected, no writable server left
  (a failed heartbeat or a network error on any operation marks a server `Unknown`) is
  down, and the next successful heartbeat is up again. The app's client checks every
  HEARTBEAT_MS, so an outage is seen, and its end too, within about a second; a replica
  set that loses only a secondary stays up;
- the embedded store's supervisor, when this process runs it: down the moment the child
  exits, up once the restarted child answers a ping.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.topology_description import TopologyDescription

from gateway.storage.store import StoreSupervisor

HEARTBEAT_MS = 1000


class StoreHealth:
    """`available` is False while the supervised child is down or the driver sees no
    writable server (after it has seen one: before the first connection nothing is down)."""

    def __init__(self, supervisor: StoreSupervisor | None = None) -> None:
        self.supervisor = supervisor
        self._client: AsyncMongoClient[Any] | None = None
        self._seen_writable = False
        # The last description found writable. The driver never changes a description in
        # place: every change (heartbeat, network error) replaces it, so the same object
        # gives the same answer and only a new one is asked again (issue 15: asking cost
        # ~2% of a `{ __typename }` request).
        self._writable: TopologyDescription | None = None

    def watch(self, client: AsyncMongoClient[Any]) -> None:
        """Judge by this client's view of the deployment from now on."""
        self._client = client

    @property
    def available(self) -> bool:
        if self.supervisor is not None and not self.supervisor.available.is_set():
            return False
        if self._client is None:
            return True
        description = self._client.topology_description
        if description is self._writable:
            return True
        if description.has_writable_server():
            self._seen_writable = True
            self._writable = description
            return True
        return not self._seen_writable
