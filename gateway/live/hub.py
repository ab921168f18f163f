"""Live fan-out of MongoDB change streams: one watcher per collection per process.

A subscriber registers a *listener* for `(collection, field, value)`: an equality on the
changed document (its full document after the change, looked up for updates; `_id` is
matched on the change's document key, so deletes route too). The hub opens a collection's
watcher when its first listener arrives and closes it when the last one leaves; every
change is handed to the listeners whose key matches, nobody else ever sees it. Callers
route on the tenant or activation the principal was authorized for, so this routing *is*
the authorization filter.

Delivery never blocks the watcher and never grows without bound:

- `EventQueue` (event streams): a bounded FIFO; when a subscriber falls `capacity` events
  behind it is detached at once and its stream ends with an error after what it had.
  `shared_events` (what resolvers use) serves many subscribers with one execution
  (`gateway.live.fanout`): its queue is unbounded, because only a subscriber's own socket
  may cut it off (the transport measures that), never the server being behind.
- `Feed` / `Latest` (live values such as stats): changes only mark the feed dirty; the value
  is recomputed at most once per interval for all its subscribers together, and each
  subscriber holds only the newest value. The last change is never lost: a change during a
  computation triggers another one.

Watchers resume from their last resume token after any driver error (store restart,
failover): no event is read twice or skipped where the store keeps the change log.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import Counter as TallyCounter
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Generic, Protocol, TypeVar

from bson import json_util
from pymongo.errors import ConnectionFailure, PyMongoError

from gateway.core.errors import RateLimited
from gateway.core.metrics import Metrics
from gateway.live.fanout import TICKET, Group
from gateway.storage.mongo import Database

log = logging.getLogger(__name__)

Change = Mapping[str, Any]
T = TypeVar("T")

ALL_OPERATIONS = frozenset({"insert", "update", "replace", "delete"})
INSERTS = frozenset({"insert"})
_PIPELINE = [{"$match": {"operationType": {"$in": sorted(ALL_OPERATIONS)}}}]
_RETRY_FIRST_SECONDS = 0.1
_RETRY_MAX_SECONDS = 5.0


_EXTENDED_JSON = json_util.JSONOptions(tz_aware=True, tzinfo=UTC)


def _decoded(value: Any) -> Any:
    if isinstance(value, Mapping):
        inner = {key: _decoded(item) for key, item in value.items()}
        if len(inner) <= 2 and all(str(key).startswith("$") for key in inner):
            try:
                return json_util.object_hook(inner, _EXTENDED_JSON)
            except (TypeError, ValueError, KeyError):
                return inner
        return inner
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    return value


def decode_change(change: Change) -> Change:
    """The change with `fullDocument` and `documentKey` as `find` would return them.

    The embedded store delivers their dates (and other BSON types) as extended JSON
    (`{"$date": "…"}`) where `find` gives tz-aware datetimes (see README: embedded store
    deviations). Decoding here, once per change before routing, means no subscriber ever
    sees the difference; on MongoDB the documents are already BSON and come out unchanged.
    """
    decoded = dict(change)
    for part in ("fullDocument", "documentKey"):
        if isinstance(decoded.get(part), Mapping):
            decoded[part] = _decoded(decoded[part])
    return decoded


class Sink(Protocol):
    """Receives matching changes; must return at once (it runs inside the watcher)."""

    def deliver(self, change: Change) -> None: ...


@dataclass(eq=False)
class Listener:
    collection: str
    field: str
    value: str
    sink: Sink
    operations: frozenset[str] = ALL_OPERATIONS


class SlowSubscriber(RateLimited):
    """An event-stream subscriber fell too far behind and was detached."""

    def __init__(self, capacity: int) -> None:
        super().__init__(
            f"Subscription closed: more than {capacity} events were waiting for this client. "
            "Reload the data and subscribe again.",
            reason="SLOW_SUBSCRIBER",
        )


class ChangeStreamNotReady(ConnectionFailure):
    """A collection's change stream did not open within the store timeout.

    A `ConnectionFailure`, so the GraphQL error handling treats it as the store outage it
    is (a slow or stalled store): the coded "temporarily unavailable" error and one warning
    line, not an unexpected error with a traceback.
    """

    def __init__(self, collection: str, timeout: float) -> None:
        super().__init__(f"change stream on {collection} not open after {timeout:.1f}s")


class Watcher:
    """One collection's change stream, dispatching each change to matching listeners."""

    def __init__(self, hub: ChangeHub, collection: str) -> None:
        self.hub = hub
        self.collection = collection
        self.routes: dict[tuple[str, str], set[Listener]] = {}
        self.fields: TallyCounter[str] = TallyCounter()  # routed-on fields, by route count
        self.ready = asyncio.Event()
        self.stopping = False
        self.resume_token: Mapping[str, Any] | None = None
        # A fresh context: the first subscriber's request must not own the watcher's
        # commands (the access log counts commands per request through a context var).
        self.task = asyncio.create_task(
            self._run(), name=f"watch:{collection}", context=contextvars.Context()
        )

    @property
    def empty(self) -> bool:
        return not self.routes

    def add(self, listener: Listener) -> None:
        key = (listener.field, listener.value)
        if key not in self.routes:
            self.routes[key] = set()
            self.fields[listener.field] += 1
        self.routes[key].add(listener)

    def remove(self, listener: Listener) -> bool:
        """Forget `listener`; False if it was not listening."""
        key = (listener.field, listener.value)
        listeners = self.routes.get(key)
        if listeners is None or listener not in listeners:
            return False
        listeners.discard(listener)
        if not listeners:
            del self.routes[key]
            self.fields[listener.field] -= 1
            if not self.fields[listener.field]:
                del self.fields[listener.field]
        return True

    def dispatch(self, change: Change) -> None:
        operation = change.get("operationType")
        document = change.get("fullDocument") or {}
        key = (change.get("documentKey") or {}).get("_id")
        for field_name in tuple(self.fields):
            value = key if field_name == "_id" else document.get(field_name)
            if value is None:
                continue
            for listener in tuple(self.routes.get((field_name, str(value)), ())):
                if operation in listener.operations:
                    try:
                        listener.sink.deliver(change)
                    except Exception:
                        log.exception("a subscriber failed to take a change; others go on")

    def stop(self) -> None:
        """Finish after the current `getMore` (at most `max_await_ms`).

        Not `task.cancel()`: PyMongo leaks a socket when cancelled while it connects.
        """
        self.stopping = True

    async def _run(self) -> None:
        collection = self.hub.db[self.collection]
        delay = _RETRY_FIRST_SECONDS
        while not self.stopping:
            try:
                async with await collection.watch(
                    _PIPELINE,
                    full_document="updateLookup",
                    resume_after=self.resume_token,
                    max_await_time_ms=self.hub.max_await_ms,
                ) as stream:
                    self.ready.set()
                    delay = _RETRY_FIRST_SECONDS
                    loop = asyncio.get_running_loop()
                    hub = self.hub
                    last_change = -hub.busy_window_seconds
                    while stream.alive and not self.stopping:
                        asked = loop.time()
                        change = await stream.try_next()
                        now = loop.time()
                        if change is not None:
                            last_change = now
                            self.dispatch(decode_change(change))
                        else:
                            # The embedded store answers an idle getMore at once instead of
                            # holding it for max_await_ms (README deviations): pace the loop,
                            # briefly while changes flow, at the idle pace once they stop.
                            busy = now - last_change < hub.busy_window_seconds
                            pause = hub.busy_poll_seconds if busy else hub.idle_poll_seconds
                            if now - asked < pause:
                                await asyncio.sleep(pause)
                        # After every batch, also an empty one: on MongoDB the token then
                        # moves past changes the pipeline filtered out.
                        self.resume_token = stream.resume_token
            except Exception as exc:
                if self.stopping:
                    return
                self.hub.metrics.change_stream_errors.labels(collection=self.collection).inc()
                log.warning(
                    "change stream on %s failed (%s); resuming in %.1fs",
                    self.collection, exc, delay, exc_info=not isinstance(exc, PyMongoError),
                )  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_SECONDS)


class ChangeHub:
    """The process's change-stream fan-out (see the module docstring)."""

    def __init__(
        self, db: Database, metrics: Metrics, *, max_await_ms: int = 500,
        ready_timeout: float = 10.0,
    ) -> None:  # fmt: skip
        self.db = db
        self.metrics = metrics
        self.max_await_ms = max_await_ms
        # An empty getMore answered faster than the pace is followed by a pause that long
        # (at most that much delivery latency; MongoDB itself waits in getMore, never paced):
        # `busy_poll_seconds` within `busy_window_seconds` of the watcher's last change, else
        # `idle_poll_seconds`. On the embedded store an empty getMore costs ~1.2 ms of this
        # process's CPU: the idle pace keeps an idle watcher at ~2% of a core, the busy pace
        # spends more only while events flow (README, live fan-out benchmark).
        self.idle_poll_seconds = 0.05
        self.busy_poll_seconds = 0.01
        self.busy_window_seconds = 2.0
        self.ready_timeout = ready_timeout
        self._watchers: dict[str, Watcher] = {}
        self._feeds: dict[Hashable, Feed[Any]] = {}
        self.groups: dict[Hashable, Group] = {}  # open shared executions, by share key
        self._closing: set[asyncio.Task[None]] = set()

    async def listen(self, listener: Listener) -> None:
        """Start delivering to `listener`; returns once its collection is being watched."""
        watcher = self._watchers.get(listener.collection)
        if watcher is None:
            watcher = self._watchers[listener.collection] = Watcher(self, listener.collection)
            self.metrics.change_stream_watchers.labels(collection=listener.collection).set(1)
        watcher.add(listener)
        self.metrics.change_stream_listeners.labels(collection=listener.collection).inc()
        try:
            await asyncio.wait_for(watcher.ready.wait(), self.ready_timeout)
        except TimeoutError:
            self.unlisten(listener)
            raise ChangeStreamNotReady(listener.collection, self.ready_timeout) from None
        except BaseException:
            self.unlisten(listener)
            raise

    def watching(self, collection: str) -> bool:
        """Whether `collection`'s change stream is open: a listener added now sees every
        later change (a watcher that failed resumes from its token, so none is skipped)."""
        watcher = self._watchers.get(collection)
        return watcher is not None and watcher.ready.is_set()

    def unlisten(self, listener: Listener) -> None:
        """Stop delivering to `listener`; closes the watcher when it was the last one."""
        watcher = self._watchers.get(listener.collection)
        if watcher is None or not watcher.remove(listener):
            return
        self.metrics.change_stream_listeners.labels(collection=listener.collection).dec()
        if watcher.empty:
            del self._watchers[listener.collection]
            self.metrics.change_stream_watchers.labels(collection=listener.collection).set(0)
            watcher.stop()
            self._closing.add(watcher.task)
            watcher.task.add_done_callback(self._closing.discard)

    @contextlib.asynccontextmanager
    async def listening(self, *listeners: Listener) -> AsyncIterator[None]:
        """Listen for the duration of the block."""
        started: list[Listener] = []
        try:
            for listener in listeners:
                await self.listen(listener)
                started.append(listener)
            yield
        finally:
            for listener in started:
                self.unlisten(listener)

    @contextlib.asynccontextmanager
    async def events(
        self, collection: str, field_name: str, value: str, capacity: int,
        operations: frozenset[str] = INSERTS,
    ) -> AsyncIterator[EventQueue]:  # fmt: skip
        """A subscription to matching changes, as a bounded queue (see `EventQueue`)."""
        queue = EventQueue(capacity)
        listener = Listener(collection, field_name, value, queue, operations)
        queue.on_overflow = lambda: self.unlisten(listener)
        async with self.listening(listener), self._counted():
            yield queue

    @contextlib.asynccontextmanager
    async def shared_events(
        self, collection: str, field_name: str, value: str, capacity: int,
        operations: frozenset[str] = INSERTS,
    ) -> AsyncIterator[EventQueue | None]:  # fmt: skip
        """`events`, shared by every subscriber of the transport's ticket (`gateway.live.fanout`).

        Yields None when an open group already serves this subscriber (its stream should end
        at once: the group's execution delivers to it); else the queue of this execution,
        which then serves the group. Without a ticket: `events(..., capacity)`.
        """
        ticket = TICKET.get()
        if ticket is None:
            async with self.events(collection, field_name, value, capacity, operations) as own:
                yield own
            return
        key = (ticket.key, collection, field_name, value, operations)
        group = self.groups.get(key)
        if group is not None and group.open:
            ticket.join(group)
            yield None
            return
        group = Group(key, self.metrics, self.groups)
        ticket.lead(group)
        queue = EventQueue(None)
        try:
            async with self.listening(Listener(collection, field_name, value, queue, operations)):
                group.listening()
                yield queue
        finally:
            group.close()

    @contextlib.asynccontextmanager
    async def feed(self, key: Hashable, make: Callable[[], Feed[T]]) -> AsyncIterator[Latest[T]]:
        """A subscription to the shared feed `key` (made by `make` for its first subscriber)."""
        existing: Feed[T] | None = self._feeds.get(key)
        feed = existing if existing is not None else make()
        self._feeds[key] = feed
        latest: Latest[T] = Latest()
        feed.subscribers.add(latest)
        try:
            if feed.starting is None:
                feed.starting = asyncio.ensure_future(self._listen_all(feed.listeners))
            await asyncio.shield(feed.starting)
            if feed.has_value:
                latest.put(feed.value)
            else:
                feed.poke()
            async with self._counted():
                yield latest
        finally:
            feed.subscribers.discard(latest)
            if not feed.subscribers and self._feeds.get(key) is feed:
                del self._feeds[key]
                feed.stop()
                for listener in feed.listeners:
                    self.unlisten(listener)

    async def _listen_all(self, listeners: list[Listener]) -> None:
        await asyncio.gather(*(self.listen(listener) for listener in listeners))

    @contextlib.asynccontextmanager
    async def _counted(self) -> AsyncIterator[None]:
        self.metrics.active_subscriptions.inc()
        try:
            yield
        finally:
            self.metrics.active_subscriptions.dec()

    async def close(self) -> None:
        """Stop every watcher and feed (app shutdown); waits for their last round trip."""
        tasks = [w.task for w in self._watchers.values()] + list(self._closing)
        for watcher in self._watchers.values():
            watcher.stop()
            self.metrics.change_stream_watchers.labels(collection=watcher.collection).set(0)
            self.metrics.change_stream_listeners.labels(collection=watcher.collection).set(0)
        self._watchers.clear()
        for feed in self._feeds.values():
            feed.stop()
            tasks += feed.tasks()
        self._feeds.clear()
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self.max_await_ms / 1000 + self.ready_timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class EventQueue:
    """A FIFO of changes for one event-stream subscriber, bounded unless `capacity` is None."""

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self.overflowed = False
        self.on_overflow: Callable[[], None] = lambda: None
        self._items: deque[Change] = deque()
        self._wake = asyncio.Event()

    def deliver(self, change: Change) -> None:
        if self.overflowed:
            return
        if self.capacity is not None and len(self._items) >= self.capacity:
            # Detach now: memory stays bounded even if this client never reads again.
            self.overflowed = True
            self.on_overflow()
        else:
            self._items.append(change)
        self._wake.set()

    async def get(self) -> Change:
        """The next change; raises SlowSubscriber after the last one kept before overflow."""
        while not self._items:
            if self.overflowed:
                raise SlowSubscriber(self.capacity or 0)
            self._wake.clear()
            await self._wake.wait()
        return self._items.popleft()


class Latest(Generic[T]):
    """Holds only the newest value for one subscriber; `get` waits for one not yet taken.

    A value equal to the last one put is dropped: a feed recomputed for nothing (a change
    that moved no number, or a subscriber joining mid-computation) sends nothing again.
    """

    def __init__(self) -> None:
        self._value: T | None = None
        self._has_value = False
        self._fresh = asyncio.Event()

    def put(self, value: T) -> None:
        if self._has_value and value == self._value:
            return
        self._value, self._has_value = value, True
        self._fresh.set()

    async def get(self) -> T:
        await self._fresh.wait()
        self._fresh.clear()
        return self._value  # type: ignore[return-value]


@dataclass(eq=False)
class Feed(Generic[T]):
    """A value recomputed when its listeners see a change, at most once per `interval`.

    One computation serves every subscriber of the feed; failures are retried after
    `interval` so the newest state still arrives once the store answers again.
    """

    compute: Callable[[], Awaitable[T]]
    interval: float
    listeners: list[Listener] = field(default_factory=list)
    subscribers: set[Latest[T]] = field(default_factory=set)
    starting: asyncio.Future[None] | None = None
    has_value: bool = False
    value: Any = None
    _dirty: bool = False
    _last_run: float = float("-inf")
    _task: asyncio.Task[None] | None = None
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)

    def sink(self) -> Sink:
        return _Poke(self)

    def poke(self) -> None:
        self._dirty = True
        if not self._stopped.is_set() and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), context=contextvars.Context())

    def stop(self) -> None:
        self._stopped.set()  # not cancel(): a computation may be mid-query (see Watcher.stop)

    def tasks(self) -> list[asyncio.Task[None]]:
        return [self._task] if self._task is not None else []

    async def _run(self) -> None:
        while self._dirty and not self._stopped.is_set():
            wait = self._last_run + self.interval - time.monotonic()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), wait)
                if self._stopped.is_set():
                    return
            self._dirty = False
            self._last_run = time.monotonic()
            try:
                value = await self.compute()
            except Exception:
                log.exception("live feed computation failed; retrying")
                self._dirty = True
                continue
            self.value, self.has_value = value, True
            for latest in tuple(self.subscribers):
                latest.put(value)


@dataclass(frozen=True)
class _Poke:
    feed: Feed[Any]

    def deliver(self, change: Change) -> None:
        self.feed.poke()


__all__ = [
    "INSERTS",
    "ChangeHub",
    "EventQueue",
    "Feed",
    "Latest",
    "Listener",
    "SlowSubscriber",
]
