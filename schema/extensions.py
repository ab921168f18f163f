"""Schema extensions: public error codes and masking, and operation metrics."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from pymongo.errors import ConnectionFailure
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension

from gateway.core.errors import PUBLIC_CODES, GatewayError

log = logging.getLogger("gateway.core.errors")

MASKED_MESSAGE = "Internal server error."
# The store could not be reached (an outage the gateway recovers from): the same words
# masked or not, since the driver's message names the store's address.
STORE_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; retry shortly."


def public_error(error: GraphQLError, masked: bool) -> GraphQLError:
    """The error as clients see it: a public code always, internals never when masked."""
    code = (error.extensions or {}).get("code")
    original = error.original_error
    if isinstance(original, GatewayError):
        return GraphQLError(
            original.message,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": original.code, **original.extensions},
        )
    if code in PUBLIC_CODES:
        return error
    if original is None or isinstance(original, GraphQLError | StrawberryInputCoercionError):
        # Parse, validation and variable-coercion errors: the client's input is at fault.
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "BAD_USER_INPUT"},
        )
    if isinstance(original, ConnectionFailure):
        # Expected while the store restarts: one line, no traceback (see README, store lifecycle).
        log.warning("store unreachable in %s (%s)", error.path, type(original).__name__)
        return GraphQLError(
            STORE_UNAVAILABLE_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )
    log.error("unexpected error in %s", error.path, exc_info=original)
    return GraphQLError(
        MASKED_MESSAGE if masked else str(original),
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


class PublicErrors(SchemaExtension):
    """Gives every error a public `extensions.code` and masks unexpected ones."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        masked = self.execution_context.context.settings.errors_masked
        result.errors = [public_error(e, masked) for e in result.errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Each subscription event (and a stream's closing error) is sent on its own.
        errors = getattr(result, "errors", None)
        if errors:
            masked = self.execution_context.context.settings.errors_masked
            result.errors = [public_error(e, masked) for e in errors]
        yield


class OperationMetrics(SchemaExtension):
    """Counts operations by type and outcome."""

    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        try:
            op_type = ctx.operation_type.value
        except Exception:  # unparsable document: no operation type to report
            op_type = "unknown"
        outcome = "error" if ctx.result is not None and ctx.result.errors else "ok"
        ctx.context.services.metrics.graphql_operations.labels(op_type, outcome).inc()
