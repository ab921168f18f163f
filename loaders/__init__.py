"""Data access: tenant-scoped queries and per-request dataloaders, one module per domain.

Imports from `gateway` only its core, auth, storage and the request context.
"""

from __future__ import annotations

from gateway.storage.indexes import IndexSpec


def all_indexes() -> list[IndexSpec]:
    """Every index the domains declare (created by `gateway.storage.indexes.ensure_indexes`)."""
    from loaders import (
        activations,
        affiliate,
        content,
        crm,
        hardening,
        identity,
        members,
        partners,
        products,
        vouchers,
    )

    domains = (
        identity, partners, activations, affiliate, vouchers, members, products, content, crm,
        hardening,
    )  # fmt: skip
    return [spec for module in domains for spec in module.INDEXES]
