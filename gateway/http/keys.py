"""Typed aiohttp application keys for state shared by handlers."""

from __future__ import annotations

from aiohttp import web

from gateway.context import Services
from gateway.settings import Settings
from gateway.storage.health import StoreHealth

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
STORE_HEALTH = web.AppKey("store_health", StoreHealth)
