"""Permissions and input helpers shared by the affiliate schema modules."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import strawberry

from gateway.auth.scopes import Scope
from schema.permissions import OPERATOR, STAFF, allow

READ = allow(STAFF, OPERATOR, scope=Scope.AFFILIATE_READ)
WRITE = allow(STAFF, OPERATOR, scope=Scope.AFFILIATE_WRITE)
PARTNER_ID_HELP = "Partner (operators only; staff act for their own partner)."

# The two currency arguments of the analytics roots (`partnerAnalytics`, `partnerAnalyticsFilter`).
CurrencyFilterArgument = Annotated[
    str | None,
    strawberry.argument(
        description="Filter: only conversions recorded in this currency (ISO 4217); "
        "their money is then summed as recorded, no rate needed. Not a conversion: "
        "see outputCurrency."
    ),
]
OutputCurrencyArgument = Annotated[
    str | None,
    strawberry.argument(
        description="Convert every amount into this currency (ISO 4217) at the "
        "stored rate of each conversion's UTC day (the seed's `output_currency`)."
    ),
]


def sent(obj: Any) -> dict[str, Any]:
    """The input fields the client actually sent (strawberry.UNSET = not sent)."""
    return {
        f.name: getattr(obj, f.name)
        for f in dataclasses.fields(obj)
        if getattr(obj, f.name) is not strawberry.UNSET
    }
