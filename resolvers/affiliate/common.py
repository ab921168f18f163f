"""The partner an affiliate call is about."""

from __future__ import annotations

from gateway.core.ids import parse_id
from loaders.base import Scope


def partner_for(scope: Scope, requested: str | None) -> str:
    """The partner a call is about: the caller's own, or the one an operator names."""
    return scope.partner_id_for_write(
        parse_id(requested, "par", "partnerId") if requested is not None else None
    )
