"""Staff roles and the scopes they grant (documented in the README's scope table)."""

from __future__ import annotations

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


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    ANALYST = "analyst"


_ALL = frozenset(s.value for s in Scope)
_READ = frozenset(s.value for s in Scope if s.value.endswith(":read"))

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.OWNER: _ALL,
    # Managers run the day-to-day but neither see billing nor change the company profile or staff.
    Role.MANAGER: _ALL - {Scope.BILLING_READ, Scope.PARTNER_WRITE, Scope.STAFF_MANAGE},
    Role.ANALYST: _READ - {Scope.BILLING_READ},
}
