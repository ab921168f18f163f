"""Staff roles and the scopes they grant (documented in the README's scope table)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Scope(StrEnum):
    PARTNER_READ = "partner:read"
    PARTNER_WRITE = "partner:write"
    STAFF_MANAGE = "staff:manage"
    VOUCHERS_READ = "vouchers:read"
    VOUCHERS_WRITE = "vouchers:write"
    MEMBERS_READ = "members:read"
    CONTENT_WRITE = "content:write"
    PRODUCTS_READ = "products:read"
    PRODUCTS_WRITE = "products:write"
    ANALYTICS_READ = "analytics:read"
    BILLING_READ = "billing:read"
    ACTIVATIONS_READ = "activations:read"
    ACTIVATIONS_WRITE = "activations:write"
    CRM_READ = "crm:read"
    CRM_WRITE = "crm:write"
    AFFILIATE_READ = "affiliate:read"
    AFFILIATE_WRITE = "affiliate:write"
    SEGMENTS_READ = "segments:read"
    SEGMENTS_WRITE = "segments:write"
    # Creating and revoking the partner's server-to-server CRM API keys.
    API_KEYS_MANAGE = "apikeys:manage"


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    ANALYST = "analyst"


_ALL = frozenset(s.value for s in Scope)
_READ = frozenset(s.value for s in Scope if s.value.endswith(":read"))

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.OWNER: _ALL,
    # Managers run the day-to-day but neither see billing nor change the company profile or staff.
    Role.MANAGER: _ALL
    - {Scope.BILLING_READ, Scope.PARTNER_WRITE, Scope.STAFF_MANAGE, Scope.API_KEYS_MANAGE},
    Role.ANALYST: _READ - {Scope.BILLING_READ},
}


class CrmKeyScope(StrEnum):
    """Scopes a CRM API key is issued with (the seed's `Required Scope` names)."""

    CRM = "crm"
    SEGMENTS = "segments"


_KEY_SCOPES: dict[CrmKeyScope, tuple[Scope, Scope]] = {
    CrmKeyScope.CRM: (Scope.CRM_READ, Scope.CRM_WRITE),
    CrmKeyScope.SEGMENTS: (Scope.SEGMENTS_READ, Scope.SEGMENTS_WRITE),
}


def crm_key_scopes(key_scopes: Iterable[str], secret: bool) -> frozenset[str]:
    """Gateway scopes a CRM key grants: the read scope of each key scope, and for a
    secret key also the write scope (a public key is meant to be shared: it only reads)."""
    granted: set[str] = set()
    for name in key_scopes:
        try:
            read, write = _KEY_SCOPES[CrmKeyScope(name)]
        except ValueError:
            continue  # a scope this gateway no longer knows grants nothing
        granted.add(read.value)
        if secret:
            granted.add(write.value)
    return frozenset(granted)
