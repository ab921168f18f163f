"""Prometheus metrics: one registry per app, so several apps in one process stay apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    """Every metric the gateway exports (names fixed by docs/api: clients scrape them)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    # Children of the metrics fed per request or per command, by (metric, label values):
    # `labels()` validates and joins its values on every call (~1.8 us: issue 15). Their
    # values are routes, status classes and command names, so this stays as small as the
    # metrics' own label sets.
    _children: dict[tuple[Any, ...], Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.mongo_commands = Counter(
            "gateway_mongo_commands_total",
            "MongoDB commands sent by this process, by command name.",
            ["command"],
            registry=self.registry,
        )
        self.graphql_operations = Counter(
            "gateway_graphql_operations_total",
            "GraphQL operations executed, by type and outcome (ok | error).",
            ["operation_type", "outcome"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "gateway_http_request_duration_seconds",
            "HTTP request duration by route and status class.",
            ["route", "status"],
            registry=self.registry,
        )
        self.active_subscriptions = Gauge(
            "gateway_active_subscriptions",
            "GraphQL subscriptions currently open on this process.",
            registry=self.registry,
        )
        self.live_groups = Gauge(
            "gateway_live_groups",
            "Shared subscription executions: each serves every subscriber of one share key.",
            registry=self.registry,
        )
        self.change_stream_watchers = Gauge(
            "gateway_change_stream_watchers",
            "Open change-stream watchers on this process, by collection.",
            ["collection"],
            registry=self.registry,
        )
        self.change_stream_listeners = Gauge(
            "gateway_change_stream_listeners",
            "Shared executions, other subscribers and connection guards on a collection's watcher.",
            ["collection"],
            registry=self.registry,
        )
        self.change_stream_errors = Counter(
            "gateway_change_stream_errors_total",
            "Change-stream failures (each followed by a resume from the last token).",
            ["collection"],
            registry=self.registry,
        )

    def mongo_command_child(self, command: str) -> Any:
        """`mongo_commands`' child for a command name, looked up once per name."""
        return self._child(self.mongo_commands, command)

    def http_duration_child(self, route: str, status: int) -> Any:
        """`http_duration`'s child for a route and an HTTP status (labelled by its class,
        `2xx`), looked up once per route and class."""
        return self._child(self.http_duration, route, f"{status // 100}xx")

    def _child(self, metric: Any, *values: str) -> Any:
        key = (metric, *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child
