"""The process's one MongoDB client and the command listener behind the metrics.

PyMongo's native async API is used (not Motor, which reached end of life in 2026).
"""

from __future__ import annotations

import threading
from collections import Counter as TallyCounter
from contextvars import ContextVar
from datetime import UTC
from typing import Any

from bson.codec_options import CodecOptions
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from gateway.core.metrics import Metrics

Document = dict[str, Any]
Database = AsyncDatabase[Document]


# Commands sent on behalf of the current request (the access log's `mongoCommands`).
# The async driver publishes events in the awaiting task, so the value set by the
# request middleware is visible here, also from dataloader batches it spawned.
REQUEST_COMMANDS: ContextVar[list[int] | None] = ContextVar("request_commands", default=None)


class CommandTally(monitoring.CommandListener):
    """Counts every command the driver actually sends (fed to metrics and N+1 tests)."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics
        self._lock = threading.Lock()
        self._counts: TallyCounter[str] = TallyCounter()
        # (command, collection) of commands sent on behalf of a request (not background work)
        self._request_counts: TallyCounter[tuple[str, str]] = TallyCounter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        per_request = REQUEST_COMMANDS.get()
        with self._lock:
            self._counts[event.command_name] += 1
            if per_request is not None:
                target = event.command.get(event.command_name)
                collection = target if isinstance(target, str) else ""
                if event.command_name == "getMore":
                    collection = str(event.command.get("collection", ""))
                self._request_counts[(event.command_name, collection)] += 1
        if per_request is not None:
            per_request[0] += 1
        if self._metrics is not None:
            self._metrics.mongo_command_child(event.command_name).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def snapshot(self) -> TallyCounter[str]:
        with self._lock:
            return TallyCounter(self._counts)

    def request_snapshot(self) -> TallyCounter[tuple[str, str]]:
        """Commands sent for requests only, by (command, collection)."""
        with self._lock:
            return TallyCounter(self._request_counts)


def open_client(
    uri: str,
    tally: CommandTally,
    timeout_ms: int = 5000,
    *,
    heartbeat_ms: int | None = None,
    selection_timeout_ms: int | None = None,
) -> AsyncMongoClient[Document]:
    """Create the process's client: tz-aware UTC datetimes, bounded timeouts, the tally attached.

    `heartbeat_ms`: how often the driver checks the server (its default is 10 s; the app's
    StoreHealth reads the driver's view, so the app checks faster). `selection_timeout_ms`:
    how long an operation waits for a usable server (default `timeout_ms`).
    """
    extra: dict[str, Any] = {}
    if heartbeat_ms is not None:
        extra["heartbeatFrequencyMS"] = heartbeat_ms
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        tzinfo=UTC,
        serverSelectionTimeoutMS=selection_timeout_ms or timeout_ms,
        connectTimeoutMS=timeout_ms,
        event_listeners=[tally],
        appname="oooc-gateway",
        **extra,
    )


def database(client: AsyncMongoClient[Document], name: str) -> Database:
    return client.get_database(name, codec_options=CodecOptions(tz_aware=True, tzinfo=UTC))
