"""Who is calling: the principal every request and subscription carries.

The principal is built once per request from its credential and never changes
afterwards; data access derives its tenant filter from it (see `loaders.base.Scope`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    OPERATOR = "operator"
    STAFF = "staff"
    APP = "app"
    MEMBER = "member"
    ACTIVATION = "activation"
    # A partner's server-to-server CRM API key (public or secret; seed 002).
    CRM_KEY = "crm_key"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller (or the anonymous one)."""

    kind: PrincipalKind
    subject_id: str | None = None
    partner_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # Members act through their app: the app client that registered the request.
    app_client_id: str | None = None
    activation_id: str | None = None
    expires_at: datetime | None = None
    session_family: str | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not PrincipalKind.ANONYMOUS

    def has_scope(self, scope: str) -> bool:
        return self.kind is PrincipalKind.OPERATOR or scope in self.scopes


# Kinds whose access is limited by the scopes they carry (staff by role, CRM keys by key).
SCOPED_KINDS = frozenset({PrincipalKind.STAFF, PrincipalKind.CRM_KEY})


ANONYMOUS = Principal(kind=PrincipalKind.ANONYMOUS)
