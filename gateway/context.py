"""The per-request context every resolver receives, and the project's `Info` alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import strawberry
from aiohttp import web

from gateway.auth.principal import Principal
from gateway.auth.tokens import Keyring
from gateway.core.metrics import Metrics
from gateway.live.hub import ChangeHub
from gateway.live.sessions import SessionCache
from gateway.settings import Settings
from gateway.storage.mongo import Database
from loaders.base import Loaders, Scope

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass
class Services:
    """Process-wide collaborators, created by the app factory and shared by requests."""

    settings: Settings
    db: Database
    keyring: Keyring
    metrics: Metrics
    hub: ChangeHub
    sessions: SessionCache | None = None  # live staff sessions (None: read the store each time)


@dataclass
class Context:
    """What one GraphQL operation knows: who asks, where data lives, its loaders."""

    request: web.Request | None
    response: web.StreamResponse | None
    services: Services
    principal: Principal
    loaders: Loaders
    connection_params: Mapping[str, Any] | None = None

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def scope(self) -> Scope:
        return self.loaders.scope

    def fresh_loaders(self) -> None:
        """Drop every cached load: a live subscription calls this before each event."""
        self.loaders = Loaders(self.services.db, Scope(self.principal))

    @classmethod
    def build(
        cls,
        services: Services,
        principal: Principal,
        request: web.Request | None = None,
        response: web.StreamResponse | None = None,
    ) -> Context:
        return cls(
            request=request,
            response=response,
            services=services,
            principal=principal,
            loaders=Loaders(services.db, Scope(principal)),
        )


Info = strawberry.Info[Context, None]
