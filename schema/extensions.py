"""Schema extensions: public error codes and masking, and operation metrics."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSchema
from pymongo.errors import ConnectionFailure
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension

from gateway.auth.principal import PrincipalKind
from gateway.core.errors import PUBLIC_CODES, GatewayError
from gateway.core.logthrottle import LogThrottle

log = logging.getLogger("gateway.core.errors")

MASKED_MESSAGE = "Internal server error."
# The store could not be reached (an outage the gateway recovers from): the same words
# masked or not, since the driver's message names the store's address.
STORE_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; retry shortly."
# The same unexpected error (field path, exception type) logs its traceback a few times a minute.
UNEXPECTED = LogThrottle(burst=5, window=60.0)


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
    if (
        original is None
        or isinstance(original, GraphQLError | StrawberryInputCoercionError)
        # Before execution (no path), a ValueError/OverflowError comes from coercing the
        # client's literals (an Int of 5,000 digits, a date past the calendar).
        or (not error.path and isinstance(original, ValueError | OverflowError))
    ):
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
    where = ".".join(str(p) for p in error.path or ()) or "(before execution)"
    suppressed = UNEXPECTED.admit((where, type(original).__name__))
    if suppressed is not None:
        # Once per error, with its traceback; never the document, variables or values.
        log.error(
            "unexpected error in %s: %s%s",
            where,
            type(original).__name__,
            f" ({suppressed} similar suppressed)" if suppressed else "",
            exc_info=original,
        )
    return GraphQLError(
        MASKED_MESSAGE if masked else str(original),
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


# --- no schema disclosure where introspection is off -------------------------------------

SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
QUOTED = re.compile(r"'([^']*)'")
CONCEALED = "'…'"
# (pattern, replacement) applied first: messages that would confirm a name of the schema.
REWRITES = (
    (re.compile(r"^Cannot query field '[^']*' on type '[^']*'\."), "Cannot query this field."),
    (
        re.compile(r"^Unknown argument '[^']*' on (field|directive|fragment) '[^']*'\."),
        "Unknown argument.",
    ),
    (re.compile(r"^Unknown type '[^']*'\."), "Unknown type."),
    (
        re.compile(r"^(Field '[^']*') of type '[^']*' must have a selection of subfields\."),
        r"\1 must have a selection of subfields.",
    ),
    (
        re.compile(
            r"^(Field '[^']*') must not have a selection since type '[^']*' has no subfields\."
        ),
        r"\1 must not have a selection.",
    ),
)


def schema_names(schema: GraphQLSchema) -> frozenset[str]:
    """Type names of the schema, also as coordinates' heads (`Query` of `Query.x(a:)`)."""
    return frozenset(schema.type_map)


def conceal(message: str, names: frozenset[str]) -> str:
    """The message without suggestions and without any name of the schema's types.

    With introspection off, error messages must not rebuild the schema: no "Did you mean",
    no type names (`of type 'Partner!'`, `'Query.ticketStats(minPurchaseDate:)'`), and no
    confirmation of which probed field or argument name does not exist.
    """
    for pattern, replacement in REWRITES:
        message = pattern.sub(replacement, message)
    message = SUGGESTION.sub("", message)

    def hide(match: re.Match[str]) -> str:
        quoted = match.group(1)
        head = re.split(r"[.(]", quoted.strip("[]!"), maxsplit=1)[0].strip("[]!")
        return CONCEALED if head in names else match.group(0)

    return QUOTED.sub(hide, message)


def _concealed(errors: list[GraphQLError], names: frozenset[str]) -> list[GraphQLError]:
    return [
        GraphQLError(
            conceal(e.message, names),
            nodes=e.nodes,
            path=e.path,
            original_error=e.original_error,
            extensions=e.extensions,
        )
        for e in errors
    ]


_NAMES: dict[int, frozenset[str]] = {}


def forget_tracebacks(error: BaseException) -> None:
    """Drop the tracebacks of an error, its original error and their causes.

    A traceback holds the frames an error passed through and a frame holds the error (a
    local `error` where it was raised or handled): a cycle that leaves the operation behind
    the frames (context, loaders, documents) to the cyclic collector. Once the errors are
    public, logged where unexpected, nothing reads their tracebacks again.
    """
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        linked = (getattr(current, "original_error", None), current.__cause__, current.__context__)
        pending.extend(e for e in linked if isinstance(e, BaseException))


def public_errors(
    errors: list[GraphQLError], settings: Any, principal_kind: PrincipalKind, schema: GraphQLSchema
) -> list[GraphQLError]:
    """`public_error` for each error and, where the caller may not introspect, `conceal`:
    what `PublicErrors` does to an operation's errors (also the lean POST path's)."""
    public = [public_error(e, settings.errors_masked) for e in errors]
    for error in errors:
        forget_tracebacks(error)
    if settings.may_introspect(principal_kind is PrincipalKind.OPERATOR):
        return public
    names = _NAMES.get(id(schema))
    if names is None:
        names = _NAMES[id(schema)] = schema_names(schema)
    return _concealed(public, names)


class PublicErrors(SchemaExtension):
    """Gives every error a public `extensions.code` and masks unexpected ones; where the
    caller may not introspect, messages disclose nothing of the schema (`conceal`)."""

    def _public(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        context = self.execution_context.context
        return public_errors(
            errors,
            context.settings,
            context.principal.kind,
            self.execution_context.schema._schema,
        )

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = self._public(result.errors)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Each subscription event (and a stream's closing error) is sent on its own.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._public(errors)
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
