"""Filters of the clicks / conversions lists and exports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gateway.core.errors import BadUserInput
from gateway.core.ids import parse_id
from gateway.storage.mongo import Database
from loaders import affiliate as data
from loaders.affiliate import EventFilter
from loaders.affiliate.events import CONVERSION_REFERENCES, PIVOT_FIELDS
from loaders.affiliate.reference import REFERENCE_LISTS
from loaders.base import Scope, utcnow
from resolvers.affiliate.common import partner_for

# --- lists and filters ---------------------------------------------------------------


async def event_filter(
    db: Database,
    scope: Scope,
    *,
    partner_id: str | None,
    start: datetime | None,
    end: datetime | None,
    text_date: str | None,
    timezone: str | None,
    campaign_id: str | None,
    statuses: Sequence[str] = (),
    currencies: Sequence[str] = (),
    references: Mapping[str, str | None] | None = None,
    date_type: str = "standard",
    conversion_id: str | None = None,
    conversion_metric_ids: Sequence[str] = (),
    pivots: Sequence[tuple[str, Sequence[str]]] = (),
) -> EventFilter:
    """Validated filters of the clicks / conversions lists and exports."""
    pid = partner_for(scope, partner_id)
    cmp_ids = [parse_id(campaign_id, "cmp", "campaignId")] if campaign_id else []
    codes = [data.validate_currency(c) for c in currencies]
    cnv_id = parse_id(conversion_id, "cnv", "conversionId") if conversion_id else ""
    metrics = {entry.id for entry in REFERENCE_LISTS["conversion_metric"]}
    for metric in conversion_metric_ids:
        if metric not in metrics:
            raise BadUserInput(f"unknown conversion metric id {metric!r} (affiliateReference)",
                               field="conversionMetricIds")  # fmt: skip
    if date_type not in DATE_TYPES:
        raise BadUserInput(f"unknown date type {date_type!r} (standard, last_modified)",
                           field="dateType")  # fmt: skip
    if text_date is not None and (start is not None or end is not None):
        raise BadUserInput("give either textDate or from/to", field="textDate")
    if start is not None and end is not None and start >= end:
        raise BadUserInput("must be after from", field="to")
    start_ms = data.to_ms(start) if start else None
    end_ms = data.to_ms(end) if end else None
    if text_date is not None:
        tz_name = timezone or await data.reporting_timezone(db, pid)
        tz = data.validate_timezone(tz_name)
        week_start = await data.week_start_index(db, pid)
        lo, hi = data.text_date_range(text_date, tz, utcnow(), week_start)
        start_ms, end_ms = data.to_ms(lo), data.to_ms(hi)
    elif timezone is not None:
        data.validate_timezone(timezone)
    refs = {
        CONVERSION_REFERENCES[name]: data.validate_text(value, name, 255, required=True)
        for name, value in (references or {}).items() if value is not None
    }  # fmt: skip
    return EventFilter(
        pivots=pivot_filters(pivots), partner_id=pid, start_ms=start_ms, end_ms=end_ms,
        campaign_ids=cmp_ids,
        statuses=list(statuses), currencies=codes, references=refs, date_type=date_type,
        conversion_id=cnv_id, conversion_metric_ids=list(conversion_metric_ids),
    )  # fmt: skip


DATE_TYPES = ("standard", "last_modified")
MAX_PIVOT_VALUES = 100


def pivot_filters(pivots: Sequence[tuple[str, Sequence[str]]]) -> dict[str, list[Any]]:
    """The seed's `multipivot[{pivot}][]=value`: each pivot once, 1..100 values of its kind
    (campaign ids, ISO countries, device classes, creative numbers), stored field -> values."""
    out: dict[str, list[Any]] = {}
    for pivot, values in pivots:
        key = PIVOT_FIELDS.get(pivot)
        if key is None:
            raise BadUserInput(f"unknown pivot {pivot!r}", field="multipivot")
        if key in out:
            raise BadUserInput(f"pivot {pivot} given twice", field="multipivot")
        if not 1 <= len(values) <= MAX_PIVOT_VALUES:
            raise BadUserInput(f"1..{MAX_PIVOT_VALUES} values per pivot", field="multipivot")
        out[key] = [_pivot_value(pivot, v) for v in values]
    return out


def _pivot_value(pivot: str, value: str) -> Any:
    if pivot == "campaign":
        return parse_id(value, "cmp", "multipivot")
    if pivot == "country":
        if value.upper() not in data.COUNTRIES:
            raise BadUserInput(f"unknown country {value!r}", field="multipivot")
        return value.upper()
    if pivot == "device":
        if value not in data.DEVICES:
            raise BadUserInput(f"unknown device {value!r}", field="multipivot")
        return value
    if not value.isdigit() or len(value) > 12:
        raise BadUserInput(f"{pivot} values are whole numbers", field="multipivot")
    return int(value)
