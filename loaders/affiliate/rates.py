"""Exchange rates stored with their date, for analytics `outputCurrency`.

One document per currency and UTC day: `{_id: "2025-03-10:GBP", day, currency, per_usd}`
where `per_usd` is how many units of `currency` one US dollar buys that day. That is the
one rate scale of the API: every rate is "units of the quote currency per one unit of the
base currency" (here the base is USD; a conversion's `currencyConversionRate` is units of
its `currency` per one unit of its `currencyOriginal`). An amount on day D converts with
each currency's latest rate on or before D.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from gateway.core.errors import BadUserInput
from gateway.storage.mongo import Database, Document

LOOKBACK_DAYS = 366  # a rate older than this before the amount's day is not used


def rate_doc(day: date, currency: str, per_usd: float) -> Document:
    if not per_usd > 0:
        raise ValueError("a rate is positive")
    text = day.isoformat()
    return {"_id": f"{text}:{currency}", "day": text, "currency": currency,
            "per_usd": float(per_usd)}  # fmt: skip


@dataclass
class Rates:
    """Rates per currency, by day, answering "the latest rate on or before day D"."""

    days: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, list[float]] = field(default_factory=dict)

    def per_usd(self, currency: str, day: str) -> float:
        if currency == "USD":
            return 1.0
        days = self.days.get(currency, [])
        i = bisect.bisect_right(days, day)
        if i == 0:
            raise BadUserInput(f"no exchange rate for {currency} on or before {day}",
                               field="outputCurrency")  # fmt: skip
        return self.values[currency][i - 1]

    def convert(self, amount: float, currency: str, day: str, to: str) -> float:
        """`amount` (major units of `currency` on `day`) in major units of `to`."""
        if currency == to:
            return amount
        return amount / self.per_usd(currency, day) * self.per_usd(to, day)


async def load_rates(db: Database, currencies: Iterable[str], days: Iterable[str]) -> Rates:
    """Every rate the amounts of these currencies on these days may need (one query)."""
    wanted = sorted({c for c in currencies if c != "USD"})
    span = sorted(set(days))
    rates = Rates()
    if not wanted or not span:
        return rates
    first = (date.fromisoformat(span[0]) - timedelta(days=LOOKBACK_DAYS)).isoformat()
    cursor = db.affiliate_exchange_rates.find(
        {"currency": {"$in": wanted}, "day": {"$gte": first, "$lte": span[-1]}},
        projection={"day": 1, "currency": 1, "per_usd": 1},
    ).sort([("currency", 1), ("day", 1)])
    async for doc in cursor:
        rates.days.setdefault(str(doc["currency"]), []).append(str(doc["day"]))
        rates.values.setdefault(str(doc["currency"]), []).append(float(doc["per_usd"]))
    return rates


async def upsert_rates(db: Database, docs: Iterable[Document]) -> None:
    """Store rates, replacing the one of the same currency and day. Matched on the unique
    `(currency, day)`, not on `_id`: the embedded store matches no string `_id` that starts
    with an ISO date by equality (README: embedded store deviations)."""
    for doc in docs:
        await db.affiliate_exchange_rates.update_one(
            {"currency": doc["currency"], "day": doc["day"]},
            {"$set": {"per_usd": doc["per_usd"]}, "$setOnInsert": {"_id": doc["_id"]}},
            upsert=True,
        )


async def list_rates(
    db: Database, currencies: Iterable[str], first_day: date, last_day: date
) -> list[Document]:
    """The stored rates of `first_day`..`last_day` (all currencies when none are named),
    by currency then day (one query)."""
    query: dict[str, object] = {"day": {"$gte": first_day.isoformat(),
                                        "$lte": last_day.isoformat()}}  # fmt: skip
    wanted = sorted(set(currencies))
    if wanted:
        query["currency"] = {"$in": wanted}
    cursor = db.affiliate_exchange_rates.find(query).sort([("currency", 1), ("day", 1)])
    return await cursor.to_list(None)
