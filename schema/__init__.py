"""The public GraphQL schema, composed from one module per domain.

Each domain module may define `Query`, `Mutation` and `Subscription` classes; they
are merged into the root types here. Add a domain by listing its module below.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from gateway.limits import hardening_extensions
from gateway.settings import Settings
from schema import (
    activations,
    affiliate,
    content,
    crm,
    identity,
    members,
    partners,
    products,
    vouchers,
)
from schema.extensions import OperationMetrics, PublicErrors
from schema.scalars import SCALAR_OVERRIDES

DOMAINS: tuple[ModuleType, ...] = (
    identity,
    partners,
    activations,
    affiliate,
    vouchers,
    members,
    products,
    content,
    crm,
)


def _root(name: str) -> type | None:
    parts = tuple(getattr(m, name) for m in DOMAINS if hasattr(m, name))
    return merge_types(name, parts) if parts else None


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema with the gateway's extensions; production settings harden it."""
    production = settings.is_production if settings else False
    max_batch = settings.max_batch if settings else 0
    # Hardening (gateway.limits): persisted operations, cached parse + validation with
    # operation limits, introspection policy, rate limiting, access-log notes.
    extensions: list[type[SchemaExtension] | Any] = [
        *hardening_extensions(settings),
        PublicErrors,
        OperationMetrics,
    ]
    query = _root("Query")
    if query is None:
        raise RuntimeError("no domain defines a Query")
    return strawberry.Schema(
        query=query,
        mutation=_root("Mutation"),
        subscription=_root("Subscription"),
        extensions=extensions,
        scalar_overrides=SCALAR_OVERRIDES,
        config=StrawberryConfig(
            disable_field_suggestions=production,
            batching_config={"max_operations": max_batch} if max_batch else None,
        ),
    )


def schema_sdl() -> str:
    return str(build_schema()).rstrip() + "\n"
