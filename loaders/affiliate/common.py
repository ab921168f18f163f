"""Affiliate indexes, the 15-minute slot, and the tenant helpers every sub-module uses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.core.errors import NotFound
from loaders.base import (
    IndexSpec,
    Scope,
)

INDEXES = [
    IndexSpec("affiliate_websites", [("partner_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_campaigns", [("brand_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_participations", [("partner_id", 1), ("campaign_id", 1)], unique=True),
    IndexSpec("affiliate_participations", [("partner_id", 1), ("status", 1), ("_id", 1)]),
    IndexSpec("affiliate_links", [("partner_id", 1), ("campaign_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_clicks", [("partner_id", 1), ("ts", -1), ("_id", -1)]),
    IndexSpec("affiliate_clicks", [("partner_id", 1), ("campaign_id", 1), ("ts", -1)]),
    IndexSpec("affiliate_conversions", [("partner_id", 1), ("ts", -1), ("_id", -1)]),
    IndexSpec("affiliate_conversions", [("partner_id", 1), ("campaign_id", 1), ("ts", -1)]),
    IndexSpec("affiliate_conversions", [("partner_id", 1), ("modified_ms", -1)]),
    # commissions (loaders/affiliate/commissions.py)
    IndexSpec("affiliate_commissions", [("campaign_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_commission_groups", [("campaign_id", 1), ("_id", 1)]),
    IndexSpec(
        "affiliate_commission_group_members", [("group_id", 1), ("partner_id", 1)], unique=True
    ),
    IndexSpec("affiliate_commission_group_members", [("partner_id", 1), ("_id", 1)]),
    # money (loaders/affiliate/money.py)
    IndexSpec("affiliate_selfbills", [("partner_id", 1), ("created_ms", -1), ("_id", -1)]),
    IndexSpec("affiliate_payment_details", [("partner_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_conversions", [("partner_id", 1), ("selfbill_id", 1)]),
    # joining: terms and invitations (loaders/affiliate/joining.py)
    IndexSpec("affiliate_terms", [("campaign_id", 1), ("locale", 1), ("version", -1)]),
    IndexSpec("affiliate_terms", [("created_ms", -1), ("_id", -1)]),
    IndexSpec("affiliate_terms_acks", [("partner_id", 1), ("terms_id", 1)], unique=True),
    IndexSpec("affiliate_invitations", [("partner_id", 1), ("campaign_id", 1)], unique=True),
    IndexSpec("affiliate_invitations", [("partner_id", 1), ("created_ms", -1), ("_id", -1)]),
    # promotion: creatives, feeds, voucher codes (loaders/affiliate/promotion.py)
    IndexSpec("affiliate_creatives", [("campaign_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_feeds", [("campaign_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_voucher_codes", [("campaign_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_voucher_codes", [("campaign_id", 1), ("code", 1)], unique=True),
    IndexSpec("affiliate_impressions", [("partner_id", 1), ("ts", -1)]),
    IndexSpec("affiliate_exchange_rates", [("currency", 1), ("day", 1)], unique=True),
    # transaction queries (loaders/affiliate/queries.py)
    IndexSpec(
        "affiliate_transaction_queries", [("partner_id", 1), ("created_ms", -1), ("_id", -1)]
    ),
    IndexSpec("affiliate_campaigns", [("camref", 1)]),
    IndexSpec("affiliate_databases", [("partner_id", 1), ("_id", 1)]),
    IndexSpec("affiliate_tags", [("partner_id", 1), ("_id", 1)]),
]

SLOT_MS = 15 * 60 * 1000


def owned(scope: Scope, partner_id: str) -> dict[str, Any]:
    """The filter for one partner's rows, refusing a partner outside the caller's tenant."""
    tenant = scope.tenant()
    if tenant and tenant["partner_id"] != partner_id:
        raise NotFound("Partner not found.")
    return {"partner_id": partner_id}


def allowed_partners(scope: Scope, keys: Iterable[str]) -> list[str]:
    """The subset of partner ids the caller may read (loaders batch over these only)."""
    if scope.is_operator:
        return sorted(set(keys))
    own = scope.principal.partner_id
    return [own] if own is not None and own in set(keys) else []
