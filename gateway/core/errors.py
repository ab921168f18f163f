"""The gateway's exceptions: one base, one subclass per public error code.

Resolvers and data access raise these; the schema's error extension copies
`code` (and `field` where given) into `extensions`. Anything else becomes
INTERNAL_SERVER_ERROR with its message masked where masking is on.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base of every expected failure; `code` is the public `extensions.code`."""

    code = "INTERNAL_SERVER_ERROR"
    default_message = "Internal server error."

    def __init__(self, message: str | None = None, **extensions: Any) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.extensions = {k: v for k, v in extensions.items() if v is not None}


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"
    default_message = "Authentication required."


class Forbidden(GatewayError):
    code = "FORBIDDEN"
    default_message = "Not allowed."


class NotFound(GatewayError):
    code = "NOT_FOUND"
    default_message = "Not found."


class BadUserInput(GatewayError):
    """Invalid input; `field` names the argument or input field at fault."""

    code = "BAD_USER_INPUT"
    default_message = "Invalid input."

    def __init__(self, message: str, field: str | None = None, **extensions: Any) -> None:
        super().__init__(message, field=field, **extensions)
        self.field = field


class Conflict(GatewayError):
    code = "CONFLICT"
    default_message = "Conflicts with the current state."


class RateLimited(GatewayError):
    code = "RATE_LIMITED"
    default_message = "Rate limit exceeded."


class OperationTooComplex(GatewayError):
    code = "OPERATION_TOO_COMPLEX"
    default_message = "Operation too complex."


class PersistedQueryNotFound(GatewayError):
    code = "PERSISTED_QUERY_NOT_FOUND"
    default_message = "PersistedQueryNotFound"


PUBLIC_CODES = frozenset(
    cls.code
    for cls in (
        GatewayError, Unauthenticated, Forbidden, NotFound, BadUserInput, Conflict,
        RateLimited, OperationTooComplex, PersistedQueryNotFound,
    )
)  # fmt: skip
