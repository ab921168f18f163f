"""Shared executions for event-stream subscriptions: resolve and encode once per event.

Subscribers whose results for any event must be equal share one execution: the same
operation text, operation name and variables, the same routing key (collection, field,
tenant) and the same *visibility* of the principal (`visibility`: its kind, partner,
scopes, app, activation and, for every kind but staff, its subject). Everything an
authorization or data-scoping decision reads is in that key, so two tenants, two partners,
two roles or two members never share; two staff sockets of one partner with the same
scopes (one dashboard open 10,000 times) do.

How a transport takes part (the WebSocket edge does, `gateway.http.wsprotocol`):

1. Per `subscribe`, it runs the operation as usual (parse, validation, limits, rate limit,
   the root field's permissions: every subscriber is admitted on its own) inside a
   `Ticket` (`TICKET` context variable) naming its share key and its `Member`.
2. The event-stream resolver asks the hub for `shared_events(...)`. With a ticket, the
   hub looks up the group of `ticket.key + route`: if one is open, the subscriber joins it
   and its own stream ends at once (`None`); otherwise this execution *leads* a new group,
   listens with an unbounded queue and goes on resolving events for everyone.
3. The transport publishes each result of a leading stream to every member of its group.
   Members leave on their own (`Group.remove`); the last one to leave stops the shared
   execution. A member is never cut because the execution is behind: only its own socket
   decides (see the edge).

Without a ticket (another transport, a direct call) `shared_events` is `ChangeHub.events`.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Hashable, Mapping
from typing import Any, Protocol

import orjson

from gateway.auth.principal import Principal, PrincipalKind
from gateway.core.metrics import Metrics


class Member(Protocol):
    """One subscriber in a group (the edge's socket writer)."""

    def ended(self) -> None:
        """The shared stream is over: finish this subscriber's operation."""


def visibility(principal: Principal) -> tuple[Hashable, ...]:
    """What of a principal can change a result: the part of the share key it gives.

    Staff of one partner with the same scopes see the same data (no payload reads the
    staff user's own id), so their subject is left out; every other kind keeps it.
    """
    subject = None if principal.kind is PrincipalKind.STAFF else principal.subject_id
    return (
        principal.kind.value, principal.partner_id, tuple(sorted(principal.scopes)),
        principal.app_client_id, principal.activation_id, subject,
    )  # fmt: skip


def share_key(
    query: str, operation_name: str | None, variables: Mapping[str, Any] | None,
    principal: Principal,
) -> Hashable:  # fmt: skip
    """The transport's part of a group key: the operation as sent, and the principal's view."""
    canonical = orjson.dumps(dict(variables or {}), option=orjson.OPT_SORT_KEYS)
    return (query, operation_name or "", canonical, visibility(principal))


class Group:
    """The subscribers served by one execution (see the module docstring)."""

    def __init__(self, key: Hashable, metrics: Metrics, registry: dict[Hashable, Group]) -> None:
        self.key = key
        self.metrics = metrics
        self.registry = registry
        self.members: dict[Member, bool] = {}  # member -> counted as an active subscription
        self.open = True
        self.ready = False
        self.task: asyncio.Task[Any] | None = None  # the leading execution
        self.events = 0
        registry[key] = self
        metrics.live_groups.inc()

    def add(self, member: Member) -> None:
        self.members[member] = self.ready
        if self.ready:
            self.metrics.active_subscriptions.inc()

    def listening(self) -> None:
        """The shared execution's listener is registered: count its subscribers as active."""
        self.ready = True
        for member, counted in self.members.items():
            if not counted:
                self.members[member] = True
                self.metrics.active_subscriptions.inc()

    def remove(self, member: Member) -> None:
        """`member` left; the last one leaving stops the shared execution."""
        counted = self.members.pop(member, None)
        if counted:
            self.metrics.active_subscriptions.dec()
        if not self.members:
            self.close()
            if self.task is not None and self.task is not asyncio.current_task():
                self.task.cancel()

    def close(self) -> None:
        """Take no new members (the execution is ending)."""
        if self.open:
            self.open = False
            self.metrics.live_groups.dec()
            if self.registry.get(self.key) is self:
                del self.registry[self.key]

    def end(self) -> None:
        """The shared stream ended: every member finishes (and leaves on its own)."""
        self.close()
        for member in tuple(self.members):
            member.ended()


class Ticket:
    """A subscriber's admission to fan-out, set by the transport around its execution."""

    def __init__(self, key: Hashable, member: Member) -> None:
        self.key = key
        self.member = member
        self.group: Group | None = None
        self.leads = False

    def join(self, group: Group) -> None:
        self.group = group
        group.add(self.member)

    def lead(self, group: Group) -> None:
        self.group, self.leads = group, True
        group.task = asyncio.current_task()
        group.add(self.member)


TICKET: contextvars.ContextVar[Ticket | None] = contextvars.ContextVar(
    "fanout_ticket", default=None
)

__all__ = ["TICKET", "Group", "Member", "Ticket", "share_key", "visibility"]
