"""Declarative guards for fields: which principal kinds, and which staff scope.

Every root field declares one of these (a test walks the schema to make sure);
resolvers never check identity inline. Denials carry UNAUTHENTICATED (no valid
credential) or FORBIDDEN (wrong kind of credential, or a missing scope).
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from gateway.auth.principal import SCOPED_KINDS, PrincipalKind
from gateway.context import Info


class IsAuthenticated(BasePermission):
    """Any valid credential."""

    message = "Authentication required."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal.is_authenticated


class PrincipalKindIs(BasePermission):
    """The credential is of one of the listed kinds."""

    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, *kinds: PrincipalKind) -> None:
        self.kinds = frozenset(kinds)
        self.message = "Not allowed for this kind of credential."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal.kind in self.kinds


class HasScope(BasePermission):
    """Partner staff and CRM API keys must hold the scope; other allowed kinds are not scoped."""

    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.message = f"Missing scope {scope}."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        return principal.kind not in SCOPED_KINDS or self.scope in principal.scopes


class Anyone(BasePermission):
    """Explicitly public (login, token-checked fields): documents intent, never denies."""

    message = None

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return True


def allow(*kinds: PrincipalKind, scope: str | None = None) -> list[FieldExtension]:
    """Field extensions admitting the given kinds; staff also need `scope` when given."""
    permissions: list[BasePermission] = [IsAuthenticated(), PrincipalKindIs(*kinds)]
    if scope is not None:
        permissions.append(HasScope(scope))
    return [PermissionExtension(permissions, use_directives=False)]


def public() -> list[FieldExtension]:
    return [PermissionExtension([Anyone()], use_directives=False)]


OPERATOR = PrincipalKind.OPERATOR
STAFF = PrincipalKind.STAFF
APP = PrincipalKind.APP
MEMBER = PrincipalKind.MEMBER
ACTIVATION = PrincipalKind.ACTIVATION
CRM_KEY = PrincipalKind.CRM_KEY
