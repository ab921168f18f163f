"""The network's feeds besides clicks and conversions (operator only): impressions counted
by the ad server, and the daily exchange rates analytics `outputCurrency` converts with."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate.impressions import impression_doc, insert_impressions
from loaders.affiliate.promotion import CreativeByIdLoader
from loaders.affiliate.rates import LOOKBACK_DAYS, list_rates, rate_doc, upsert_rates
from loaders.base import utcnow
from resolvers.affiliate.campaigns import require_approved
from resolvers.affiliate.common import partner_for

MAX_BATCH = 500
MAX_COUNT = 1_000_000
MAX_PER_USD = 10_000_000.0


def _batch(rows: Sequence[Any], field: str) -> None:
    if not 1 <= len(rows) <= MAX_BATCH:
        raise BadUserInput(f"between 1 and {MAX_BATCH} rows", field=field)


async def record_impressions(info: Info, rows: Sequence[Mapping[str, Any]]) -> int:
    """Validate every row first (any bad row rejects the batch), then insert them all.
    Returns the number of impressions recorded (the sum of the counts)."""
    _batch(rows, "impressions")
    now = utcnow()
    docs: list[Document] = []
    for i, row in enumerate(rows):
        pid = partner_for(info.context.scope, row["partner_id"])
        cmp_id = parse_id(row["campaign_id"], "cmp", "campaignId")
        occurred: datetime = row["occurred_at"] or now
        if occurred > now:
            raise BadUserInput(f"row {i}: cannot be in the future", field="occurredAt")
        count = int(row["count"])
        if not 1 <= count <= MAX_COUNT:
            raise BadUserInput(f"row {i}: 1..{MAX_COUNT:,}", field="count")
        if row["device"] not in data.DEVICES:
            raise BadUserInput(f"row {i}: unknown device", field="device")
        reference = data.validate_text(row["publisher_reference"], "publisherReference", 255)
        agent = data.validate_text(row["user_agent"], "userAgent", 512)
        campaign = await require_approved(info, pid, cmp_id)
        number = 0
        if row["creative_id"]:
            crv_id = parse_id(row["creative_id"], "crv", "creativeId")
            creative = await info.context.loaders.get(CreativeByIdLoader).load(crv_id)
            if creative is None or creative["campaign_id"] != cmp_id:
                raise NotFound(f"row {i}: creative not found on this campaign",
                               field="creativeId")  # fmt: skip
            number = int(creative.get("number") or 0)
        docs.append(impression_doc(
            pid, campaign, occurred, count=count, creative_id=number, device=row["device"],
            publisher_reference=reference, user_agent=agent,
        ))  # fmt: skip
    await insert_impressions(info.context.db, docs)
    return sum(int(d["count"]) for d in docs)


async def set_exchange_rates(info: Info, rows: Sequence[Mapping[str, Any]]) -> list[Document]:
    """Validate every rate first, then store them (replacing the same currency and day)."""
    _batch(rows, "rates")
    today = utcnow().date()
    seen: set[tuple[str, date]] = set()
    docs: list[Document] = []
    for i, row in enumerate(rows):
        currency = data.validate_currency(row["currency"])
        if currency == "USD":
            raise BadUserInput("USD is the base of every rate (always 1)", field="currency")
        day: date = row["day"]
        if day > today:
            raise BadUserInput(f"row {i}: a rate of a future day", field="day")
        per_usd = float(row["per_usd"])
        if not math.isfinite(per_usd) or not 0 < per_usd <= MAX_PER_USD:
            raise BadUserInput(f"row {i}: units per US dollar, > 0 and <= {MAX_PER_USD:,.0f}",
                               field="perUsd")  # fmt: skip
        if (currency, day) in seen:
            raise BadUserInput(f"row {i}: {currency} on {day} given twice", field="rates")
        seen.add((currency, day))
        docs.append(rate_doc(day, currency, per_usd))
    await upsert_rates(info.context.db, docs)
    return docs


async def exchange_rates(
    info: Info, first_day: date, last_day: date, currencies: Sequence[str]
) -> list[Document]:
    """Stored rates over at most a year (`LOOKBACK_DAYS`), for the named currencies."""
    if last_day < first_day:
        raise BadUserInput("must not be before from", field="to")
    if (last_day - first_day).days >= LOOKBACK_DAYS:
        raise BadUserInput(f"at most {LOOKBACK_DAYS} days", field="to")
    if len(currencies) > 50:
        raise BadUserInput("at most 50 currencies", field="currencies")
    codes = [data.validate_currency(c) for c in currencies]
    return await list_rates(info.context.db, codes, first_day, last_day)
