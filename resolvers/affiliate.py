"""Affiliate network: validate arguments, call data access and loaders, return documents.

Also the CSV exports (`GET /export/conversions.csv`, `/export/clicks.csv`), which share
the list filters with the GraphQL fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, Forbidden, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Database, Document
from loaders import affiliate as data
from loaders.affiliate import AnalyticsFilter, AnalyticsSpec, EventFilter
from loaders.base import Page, Scope, utcnow
from loaders.identity import normalize_email


def partner_for(scope: Scope, requested: str | None) -> str:
    """The partner a call is about: the caller's own, or the one an operator names."""
    return scope.partner_id_for_write(
        parse_id(requested, "par", "partnerId") if requested is not None else None
    )


# --- profile and websites ------------------------------------------------------------

_REQUIRED_PROFILE = {"contact_locale", "default_currency", "reporting_timezone", "week_start",
                     "network_status", "account_name", "company_name", "contact_name"}  # fmt: skip
_CAMEL = {
    "account_name": "accountName", "company_name": "companyName", "contact_name": "contactName",
    "contact_email": "contactEmail", "contact_locale": "contactLocale",
    "default_currency": "defaultCurrency", "reporting_timezone": "reportingTimezone",
    "operating_country": "operatingCountry", "vertical": "vertical",
    "promotional_method": "promotionalMethod", "week_start": "weekStart",
    "network_status": "networkStatus",
}  # fmt: skip


def validate_profile(changes: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
    """Profile changes (snake_case keys, only the fields sent) as stored values."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        name = _CAMEL[key]
        if value is None:
            if key in _REQUIRED_PROFILE:
                raise BadUserInput("cannot be cleared", field=name)
            out[key] = None
        elif key in {"account_name", "company_name", "contact_name"}:
            out[key] = data.validate_text(value, name, 120)
        elif key == "contact_email":
            out[key] = normalize_email(value, field=name)
        elif key == "contact_locale":
            out[key] = data.validate_locale(value, field=name)
        elif key == "default_currency":
            out[key] = data.validate_currency(value, field=name)
        elif key == "reporting_timezone":
            out[key] = data.validate_timezone(value, field=name).key
        elif key == "operating_country":
            out[key] = data.validate_country(value, field=name)
        elif key == "network_status":
            # The network decides a publisher's standing, not the publisher.
            if not scope.is_operator:
                raise Forbidden("Only operators change the network status.", field=name)
            out[key] = value.value
        else:  # enums already checked by GraphQL
            out[key] = value.value
    if not out:
        raise BadUserInput("nothing to update", field="input")
    return out


async def update_partner_profile(
    info: Info, partner_id: str | None, changes: Mapping[str, Any]
) -> Document:
    pid = partner_for(info.context.scope, partner_id)
    fields = validate_profile(changes, info.context.scope)
    doc = await data.update_partner_profile(info.context.db, pid, fields)
    if doc is None:
        raise NotFound("Partner not found.")
    return doc


def validate_website(fields: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            if key in {"url", "primary", "active", "name", "description"}:
                raise BadUserInput("cannot be null", field=key)
            out[key] = None
        elif key == "url":
            out[key] = data.validate_url(value, "url")
        elif key in {"name", "description"}:
            out[key] = data.validate_text(value, key, 120 if key == "name" else 1000)
        elif key == "country":
            out[key] = data.validate_country(value, field="country")
        elif key in {"primary", "active"}:
            out[key] = bool(value)
        else:
            out[key] = value.value
    if creating:
        defaults = {"name": "", "description": "", "type": None, "vertical": None,
                    "country": None, "primary": False, "active": True}  # fmt: skip
        out = {**defaults, **out}
    elif not out:
        raise BadUserInput("nothing to update", field="input")
    return out


async def create_website(info: Info, partner_id: str | None, fields: Mapping[str, Any]) -> Document:
    pid = partner_for(info.context.scope, partner_id)
    values = validate_website(fields, creating=True)
    if await info.context.db.partners.count_documents({"_id": pid}) == 0:
        raise NotFound("Partner not found.", field="partnerId")
    return await data.insert_website(info.context.db, pid, values)


async def update_website(info: Info, website_id: str, fields: Mapping[str, Any]) -> Document:
    wid = parse_id(website_id, "web")
    values = validate_website(fields, creating=False)
    doc = await data.update_website(info.context.db, info.context.scope, wid, values)
    if doc is None:
        raise NotFound("Website not found.")
    return doc


# --- brands, campaigns, participations -----------------------------------------------


async def create_brand(info: Info, name: str, vertical: str) -> Document:
    return await data.insert_brand(
        info.context.db, data.validate_text(name, "name", 120, required=True), vertical
    )


async def create_campaign(info: Info, fields: Mapping[str, Any]) -> Document:
    brand_id = parse_id(fields["brand_id"], "brd", "brandId")
    values = {
        "brand_id": brand_id,
        "title": data.validate_text(fields["title"], "title", 160, required=True),
        "currency": data.validate_currency(fields["currency"]),
        "vertical": fields["vertical"],
        "status": fields["status"],
        "default_destination_url": data.validate_url(
            fields["default_destination_url"], "defaultDestinationUrl"
        ),
        "custom_terms": bool(fields["custom_terms"]),
        "terms": data.validate_text(fields["terms"], "terms", 20_000),
        "auto_approve": bool(fields["auto_approve"]),
        "description": data.validate_text(fields["description"], "description", 2000),
    }
    if values["custom_terms"] and not values["terms"]:
        raise BadUserInput("campaigns with custom terms need their text", field="terms")
    brand = await info.context.loaders.get(data.BrandByIdLoader).load(brand_id)
    if brand is None:
        raise NotFound("Brand not found.", field="brandId")
    doc = await data.insert_campaign(info.context.db, values)
    info.context.loaders.get(data.CampaignByIdLoader).prime(doc["_id"], doc)
    return doc


async def campaign(info: Info, campaign_id: str, field: str = "campaignId") -> Document:
    doc: Document | None = await info.context.loaders.get(data.CampaignByIdLoader).load(
        parse_id(campaign_id, "cmp", field)
    )
    if doc is None:
        raise NotFound("Campaign not found.", field=field)
    return doc


async def campaigns(
    info: Info,
    partner_id: str | None,
    brand_id: str | None,
    statuses: Sequence[str],
    first: int | None,
    after: str | None,
) -> tuple[Page, str | None]:
    """A page of campaigns and the partner whose participation each shows (None: none)."""
    scope = info.context.scope
    viewer = partner_for(scope, partner_id) if partner_id is not None or not scope.is_operator \
        else None  # fmt: skip
    bid = parse_id(brand_id, "brd", "brandId") if brand_id is not None else None
    page = await data.list_campaigns(info.context.db, bid, statuses, first, after)
    loader = info.context.loaders.get(data.CampaignByIdLoader)
    for row in page.rows:
        loader.prime(row["_id"], row)
    return page, viewer


async def request_participation(
    info: Info, partner_id: str | None, campaign_id: str, accept_terms: bool
) -> Document:
    pid = partner_for(info.context.scope, partner_id)
    doc = await campaign(info, campaign_id)
    if doc["status"] != "active":
        raise Conflict("The campaign is not accepting partners.", field="campaignId")
    if bool(doc.get("custom_terms")) and not accept_terms:
        raise BadUserInput("this campaign's terms must be accepted", field="acceptTerms")
    if await data.participation_status(info.context.db, pid, doc["_id"]) is not None:
        raise Conflict("Participation already requested.", field="campaignId")
    try:
        return await data.insert_participation(info.context.db, pid, doc, accept_terms)
    except DuplicateKeyError:
        raise Conflict("Participation already requested.", field="campaignId") from None


async def review_participation(info: Info, participation_id: str, status: str) -> Document:
    pid = parse_id(participation_id, "ptc")
    if status not in {"approved", "rejected"}:
        raise BadUserInput("a review approves or rejects", field="status")
    doc = await data.decide_participation(info.context.db, info.context.scope, pid, status)
    if doc is None:
        raise NotFound("Participation not found.")
    return doc


async def participations(
    info: Info, partner_id: str | None, statuses: Sequence[str], first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    pid = partner_for(info.context.scope, partner_id)
    return await data.list_participations(
        info.context.db, info.context.scope, pid, statuses, first, after
    )


async def _require_approved(info: Info, partner_id: str, campaign_id: str) -> Document:
    doc = await campaign(info, campaign_id)
    status = await data.participation_status(info.context.db, partner_id, doc["_id"])
    if status != "approved":
        raise Forbidden("The partner is not approved on this campaign.", field="campaignId")
    return doc


# --- tracking links ------------------------------------------------------------------


def validate_link(fields: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            raise BadUserInput("cannot be null", field=_camel(key))
        if key == "destination_url":
            out[key] = data.validate_url(value, "destinationUrl")
        elif key == "description":
            out[key] = data.validate_text(value, "description", 500)
        elif key == "params":
            out[key] = data.validate_link_params((p.key, p.value) for p in value)
        elif key == "active":
            out[key] = bool(value)
    if creating:
        out = {"description": "", "params": [], "active": True, **out}
    elif not out:
        raise BadUserInput("nothing to update", field="input")
    return out


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)


async def create_link(
    info: Info, partner_id: str | None, campaign_id: str, fields: Mapping[str, Any]
) -> Document:
    pid = partner_for(info.context.scope, partner_id)
    cmp_id = parse_id(campaign_id, "cmp", "campaignId")
    values = validate_link(fields, creating=True)
    doc = await _require_approved(info, pid, cmp_id)
    values.setdefault("destination_url", doc["default_destination_url"])
    return await data.insert_link(
        info.context.db, {"partner_id": pid, "campaign_id": cmp_id, **values}
    )


async def update_link(info: Info, link_id: str, fields: Mapping[str, Any]) -> Document:
    lid = parse_id(link_id, "lnk")
    values = validate_link(fields, creating=False)
    current = await info.context.loaders.get(data.LinkByIdLoader).load(lid)
    if current is None:
        raise NotFound("Tracking link not found.")
    await _require_approved(info, current["partner_id"], current["campaign_id"])
    doc = await data.update_link(info.context.db, info.context.scope, lid, values)
    if doc is None:
        raise NotFound("Tracking link not found.")
    return doc


async def links(
    info: Info, partner_id: str | None, campaign_id: str | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    pid = partner_for(info.context.scope, partner_id)
    cmp_id = parse_id(campaign_id, "cmp", "campaignId") if campaign_id is not None else None
    return await data.list_links(info.context.db, info.context.scope, pid, cmp_id, first, after)


# --- recording clicks and conversions (operator) -------------------------------------


def _occurred(value: datetime | None) -> datetime:
    now = utcnow()
    if value is None:
        return now
    if value > now:
        raise BadUserInput("cannot be in the future", field="occurredAt")
    return value


def _device(value: str) -> str:
    if value not in data.DEVICES:
        raise BadUserInput(f"unknown device {value!r}", field="device")
    return value


async def record_click(info: Info, fields: Mapping[str, Any]) -> Document:
    pid = partner_for(info.context.scope, fields["partner_id"])
    cmp_id = parse_id(fields["campaign_id"], "cmp", "campaignId")
    occurred = _occurred(fields["occurred_at"])
    country = data.validate_country(fields["country"]) if fields["country"] else ""
    cookie = data.validate_text(fields["cookie_id"], "cookieId", 100)
    reference = data.validate_text(fields["publisher_reference"], "publisherReference", 255)
    link_id = parse_id(fields["link_id"], "lnk", "linkId") if fields["link_id"] else ""
    device = _device(fields["device"])
    doc = await _require_approved(info, pid, cmp_id)
    if link_id:
        link = await info.context.loaders.get(data.LinkByIdLoader).load(link_id)
        if link is None or link["partner_id"] != pid or link["campaign_id"] != cmp_id:
            raise NotFound("Tracking link not found.", field="linkId")
    click = data.click_doc(
        pid, doc, occurred, cookie_id=cookie, country=country, device=device, link_id=link_id,
        publisher_reference=reference,
    )  # fmt: skip
    return await data.insert_click(info.context.db, click)


async def record_conversion(info: Info, fields: Mapping[str, Any]) -> Document:
    pid = partner_for(info.context.scope, fields["partner_id"])
    cmp_id = parse_id(fields["campaign_id"], "cmp", "campaignId")
    occurred = _occurred(fields["occurred_at"])
    currency = data.validate_currency(fields["currency"])
    country = data.validate_country(fields["country"]) if fields["country"] else ""
    device = _device(fields["device"])
    click_id = parse_id(fields["click_id"], "clk", "clickId") if fields["click_id"] else ""
    refs = {
        key: data.validate_text(fields[key], _camel(key), 255)
        for key in ("conversion_reference", "advertiser_reference", "publisher_reference",
                    "customer_reference")
    }  # fmt: skip
    customer_type = data.validate_text(fields["customer_type"], "customerType", 40)
    items = fields["items"]
    if not 1 <= len(items) <= 100:
        raise BadUserInput("between 1 and 100 items", field="items")
    for item in items:
        if item["value"] < 0 or item["commission"] < 0 or item["quantity"] < 1:
            raise BadUserInput("values and commissions >= 0, quantity >= 1", field="items")
        if item["commission"] > item["value"]:
            raise BadUserInput("commission cannot exceed the item value", field="items")
        data.validate_text(item["sku"], "items", 100)
        data.validate_text(item["category"], "items", 100)
    doc = await _require_approved(info, pid, cmp_id)
    click = None
    if click_id:
        click = await data.find_click(info.context.db, pid, click_id)
        if click is None or click["campaign_id"] != cmp_id:
            raise NotFound("Click not found.", field="clickId")
    conversion = data.conversion_doc(
        pid, doc, occurred, currency=currency, status=fields["status"], items=items, click=click,
        country=country, device=device, customer_type=customer_type, **refs,
    )  # fmt: skip
    return await data.insert_conversion(info.context.db, conversion)


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
) -> EventFilter:
    """Validated filters of the clicks / conversions lists and exports."""
    pid = partner_for(scope, partner_id)
    cmp_ids = [parse_id(campaign_id, "cmp", "campaignId")] if campaign_id else []
    codes = [data.validate_currency(c) for c in currencies]
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
    return EventFilter(
        partner_id=pid, start_ms=start_ms, end_ms=end_ms, campaign_ids=cmp_ids,
        statuses=list(statuses), currencies=codes,
    )  # fmt: skip


# --- analytics -----------------------------------------------------------------------

SHAPES = ("COUNT", "EXPLODE", "TIMESERIES")
DIRECTIONS = ("ASCENDING", "DESCENDING")
MAX_TOP = 50_000


@dataclass
class AnalyticsRequest:
    """Raw analytics arguments, as sent."""

    shape: str
    metrics: Sequence[str]
    group_by: Sequence[str]
    filter_by: Sequence[tuple[str, str, Sequence[str], bool]]
    date_ranges: Sequence[tuple[str, str]]
    text_date: str | None
    interval: str | None
    timezone: str | None
    currency: str | None
    order_by: Sequence[tuple[str, str]]
    top: int | None
    zerofill: bool


@dataclass
class AnalyticsOutcome:
    """Result rows with the settings they were computed with."""

    rows: list[data.AnalyticsRow]
    timezone: str
    interval: str | None
    currency: str | None
    start: datetime
    end: datetime


def _local_moment(value: str, tz: Any, end: bool) -> datetime:
    """A range bound: with offset as given; naive in `tz`; a date-only end includes that day."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return data.local_midnight(day + timedelta(days=1) if end else day, tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadUserInput(f"not an ISO-8601 date or date-time: {value!r}",
                           field="dateRanges") from None  # fmt: skip
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _check_names(names: Sequence[str], known: Sequence[str], what: str, field: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name not in known:
            raise BadUserInput(f"unknown {what} {name!r}", field=field, value=name)
        if name in seen:
            raise BadUserInput(f"{what} {name!r} given twice", field=field, value=name)
        seen.add(name)


async def partner_analytics(
    info: Info, partner_id: str | None, req: AnalyticsRequest
) -> AnalyticsOutcome:
    scope = info.context.scope
    db = info.context.db
    pid = partner_for(scope, partner_id)
    if req.shape not in SHAPES:
        raise BadUserInput(f"unknown shape {req.shape!r}", field="shape")
    if not req.metrics:
        raise BadUserInput("at least one metric", field="metrics")
    _check_names(req.metrics, data.METRICS, "metric", "metrics")
    _check_names(req.group_by, list(data.DIMENSIONS), "dimension", "groupBy")
    sources_clicks = any(m in data.CLICK_METRICS for m in req.metrics)
    sources_conv = any(m in data.CONVERSION_METRICS for m in req.metrics)
    dims = [data.DIMENSIONS[n] for n in req.group_by]
    if req.shape == "COUNT" and dims:
        raise BadUserInput("COUNT takes no groupBy", field="groupBy")
    if req.shape == "TIMESERIES" and dims:
        raise BadUserInput("TIMESERIES groups by time only", field="groupBy")
    if req.shape == "EXPLODE" and not dims:
        raise BadUserInput("EXPLODE needs at least one dimension", field="groupBy")
    for dim in dims:
        if (sources_clicks and not dim.clicks) or (sources_conv and not dim.conversions):
            raise BadUserInput(
                f"dimension {dim.name!r} does not apply to the requested metrics",
                field="groupBy", value=dim.name,
            )  # fmt: skip
    filters: list[AnalyticsFilter] = []
    for name, operator, values, negate in req.filter_by:
        found = data.FILTER_FIELDS.get(name)
        if found is None:
            raise BadUserInput(f"unknown filter field {name!r}", field="filterBy", value=name)
        dim = found
        if (sources_clicks and not dim.clicks) or (sources_conv and not dim.conversions):
            raise BadUserInput(f"filter field {name!r} does not apply to the requested metrics",
                               field="filterBy", value=name)  # fmt: skip
        op = operator.strip().upper()
        if op not in data.FILTER_OPERATORS:
            raise BadUserInput(f"unknown operator {operator!r}", field="filterBy", value=operator)
        if not 1 <= len(values) <= 100:
            raise BadUserInput("a filter takes 1 to 100 values", field="filterBy")
        filters.append(AnalyticsFilter(dim, op, tuple(str(v) for v in values), bool(negate)))
    tz_name = req.timezone if req.timezone is not None else await data.reporting_timezone(db, pid)
    tz = data.validate_timezone(tz_name)
    currency = data.validate_currency(req.currency) if req.currency is not None else None
    wants_money = any(m in data.MONEY_METRICS for m in req.metrics)
    if wants_money and currency is None and "currency" not in req.group_by:
        raise BadUserInput("money metrics need a currency (or groupBy currency)",
                           field="currency")  # fmt: skip
    ranges = await _ranges(db, pid, req, tz)
    interval = None
    if req.shape == "TIMESERIES" or "date_time" in req.group_by:
        interval = data.parse_interval(
            req.interval or "P1D", tz, await data.week_start_index(db, pid)
        )
    elif req.interval is not None:
        data.parse_interval(req.interval, tz)  # validated even when unused
    order = _order(req, dims)
    top = req.top if req.top is not None else 10_000
    if not 1 <= top <= MAX_TOP:
        raise BadUserInput(f"must be between 1 and {MAX_TOP}", field="top")
    spec = AnalyticsSpec(pid, list(req.metrics), dims, filters, ranges, interval, currency)
    rows = await data.run_analytics(db, scope, spec)
    if req.shape == "COUNT":
        rows = rows or [data.empty_row(spec, None)]
    elif req.shape == "TIMESERIES" and interval is not None:
        by_bucket = {row.bucket: row for row in rows}
        if req.zerofill:
            buckets = data.interval_buckets(interval, ranges)
            rows = [by_bucket.get(b) or data.empty_row(spec, b) for b in buckets]
        else:
            rows = sorted(rows, key=lambda r: data.to_ms(r.bucket) if r.bucket else 0)
    else:
        rows = _sorted(rows, order)[:top]
    return AnalyticsOutcome(
        rows=rows, timezone=tz.key, interval=interval.period if interval else None,
        currency=currency, start=data.from_ms(ranges[0][0]), end=data.from_ms(ranges[-1][1]),
    )  # fmt: skip


async def _ranges(db: Database, pid: str, req: AnalyticsRequest, tz: Any) -> list[tuple[int, int]]:
    if req.text_date is not None and req.date_ranges:
        raise BadUserInput("give either textDate or dateRanges", field="textDate")
    if req.text_date is not None or not req.date_ranges:
        lo, hi = data.text_date_range(req.text_date or "last 30 days", tz, utcnow(),
                                      await data.week_start_index(db, pid))  # fmt: skip
        return [(data.to_ms(lo), data.to_ms(hi))]
    if len(req.date_ranges) > 20:
        raise BadUserInput("at most 20 date ranges", field="dateRanges")
    ranges: list[tuple[int, int]] = []
    for start, end in req.date_ranges:
        lo = _local_moment(start, tz, end=False)
        hi = _local_moment(end, tz, end=True)
        if lo >= hi:
            raise BadUserInput("each range must end after it starts", field="dateRanges")
        if hi - lo > (data.from_ms(366 * 5 * 86_400_000) - data.from_ms(0)):
            raise BadUserInput("a range spans at most five years", field="dateRanges")
        ranges.append((data.to_ms(lo), data.to_ms(hi)))
    return data.merge_ranges(ranges)


def _order(req: AnalyticsRequest, dims: Sequence[data.Dimension]) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    names = {d.name for d in dims}
    for name, direction in req.order_by:
        if name not in req.metrics and name not in names:
            raise BadUserInput(f"cannot order by {name!r}: not a requested metric or dimension",
                               field="orderBy", value=name)  # fmt: skip
        flag = direction.strip().upper()
        if flag not in DIRECTIONS:
            raise BadUserInput(f"unknown direction {direction!r}", field="orderBy",
                               value=direction)  # fmt: skip
        order.append((name, flag == "DESCENDING"))
    return order


def _sorted(
    rows: list[data.AnalyticsRow], order: Sequence[tuple[str, bool]]
) -> list[data.AnalyticsRow]:
    # Dimension values first (a stable base order), then stable sorts from the last key.
    rows = sorted(rows, key=lambda r: tuple(r.dimensions.values()))
    for name, descending in reversed(order):
        if rows and name in rows[0].metrics:
            rows = sorted(rows, key=lambda r, n=name: r.metrics[n], reverse=descending)  # type: ignore[misc]
        else:
            rows = sorted(rows, key=lambda r, n=name: r.dimensions[n], reverse=descending)  # type: ignore[misc]
    return rows
