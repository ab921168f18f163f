"""The public GraphQL schema, composed from one module per domain.

Each domain module may define `Query`, `Mutation` and `Subscription` classes; they
are merged into the root types here. Add a domain by listing its module below.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

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
from schema.execution import FastExecutor
from schema.extension_runner import CachedHooksRunner
from schema.extensions import OperationMetrics, PublicErrors
from schema.scalars import SCALAR_OVERRIDES

if TYPE_CHECKING:
    from gateway.settings import Settings

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


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema without its error logging.

    Strawberry logs every error of every operation with a traceback and the document's
    source (inline literals included: passwords, tokens). `schema.extensions.PublicErrors`
    logs only unexpected errors, once, without the document; expected client errors are the
    access log's `errorCodes`.
    """

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        # Hooks found once per extension class, not per operation and step.
        return CachedHooksRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


def build_schema(
    settings: Settings | None = None, extensions: Sequence[type[SchemaExtension] | Any] = ()
) -> strawberry.Schema:
    """The schema; production settings harden its config.

    `extensions` run before the schema's own error and metrics extensions (the gateway
    passes its access-log note and protection steps: `gateway.app.gateway_schema`), so
    their `on_operation` exits after PublicErrors and sees the final operation state.
    """
    production = settings.is_production if settings else False
    max_batch = settings.max_batch if settings else 0
    fast = settings.fast_execution if settings else True
    query = _root("Query")
    if query is None:
        raise RuntimeError("no domain defines a Query")
    return GatewaySchema(
        query=query,
        mutation=_root("Mutation"),
        subscription=_root("Subscription"),
        extensions=[*extensions, PublicErrors, OperationMetrics],
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=FastExecutor if fast else None,
        config=StrawberryConfig(
            disable_field_suggestions=production,
            batching_config={"max_operations": max_batch} if max_batch else None,
        ),
    )


def schema_sdl() -> str:
    return str(build_schema()).rstrip() + "\n"
