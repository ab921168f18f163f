"""Affiliate CSV exports (`/export/conversions.csv`, `/export/clicks.csv`) with the seed's
columns: staff with affiliate:read (or an operator naming the partner), streamed, every cell
quoted and formula-safe."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web

from gateway.auth.principal import Principal, PrincipalKind
from gateway.auth.scopes import Scope as StaffScope
from gateway.core.errors import BadUserInput, GatewayError
from gateway.http.compression import compress_stream
from gateway.http.csvcells import safe_cell
from gateway.http.keys import SERVICES
from gateway.http.view import principal_for_request
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import money as money_data
from loaders.affiliate.items import iter_conversion_items
from loaders.base import Scope, from_epoch_ms
from resolvers.affiliate import event_filter

_CONVERSION_HEADER = (
    "conversion_id,campaign_id,publisher_id,conversion_date,conversion_date_time,click_time,cli"
    "ck_date,click_date_time,currency,advertiser_reference,conversion_reference,referer_ip,sour"
    "ce_referer,campaign_title,publisher_name,conversion_status,conversion_lag,value,commission"
    ",publisher_commission,creative_type,creative_id,specific_creative_id,customer_type,was_dis"
    "puted,cookie_id,country,currency_original,currency_conversion_rate,customer_reference,camr"
    "ef"
)
_CLICK_HEADER = (
    "click_id,cookie_id,campaign_id,publisher_id,status,set_time,set_ip,last_used,last_ip,adver"
    "tiser_reference,referer,creative_id,creative_type,specific_creative_id,country,publisher_n"
    "ame"
)
CONVERSION_COLUMNS = _CONVERSION_HEADER.split(",")
# The seed's conversion-item report: the conversion's columns around the item's.
META_ITEM_KEYS = ("cabin_code", "departure_date", "dest", "device", "origin", "passenger",
                  "payment_method", "product_ids", "return_date")  # fmt: skip
ITEM_COLUMNS = [
    *CONVERSION_COLUMNS[: CONVERSION_COLUMNS.index("customer_reference")],
    "conversion_item_id", "sku", "category", "item_value", "item_commission",
    "item_publisher_commission", "item_status", "item_status_id", "reject_reason",
    "last_update", "voucher_codes", "customer_reference", "camref", "invoice_id",
    *(f"meta_item_{key}" for key in META_ITEM_KEYS),
]  # fmt: skip
# `includePaymentInfo=true` (the seed's `include_payment_info`, which only the item report
# takes) appends these.
PAYMENT_COLUMNS = ["payment_status", "self_bill_reference", "payment_date"]
# item_status_id as the seed's sample (pending = 1); approved / rejected are this gateway's.
ITEM_STATUS_IDS = {"pending": 1, "approved": 2, "rejected": 3}
# Exact-match filters (query parameters named as the GraphQL arguments).
REFERENCE_PARAMS = ("conversionReference", "advertiserReference", "publisherReference",
                    "customerReference")  # fmt: skip
CLICK_COLUMNS = _CLICK_HEADER.split(",")


def _money(minor: int, currency: str) -> str:
    exponent = data.currency_exponent(currency)
    return f"{minor / 10**exponent:.{exponent}f}"


def _rate(value: Any) -> str:
    # Up to 6 decimals, no trailing zeros: 1 -> "1", 1.0001 -> "1.0001".
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


def _local(moment: datetime | None, tz: Any) -> tuple[str, str, str]:
    """(date, date-time, time) of a moment in the export's timezone."""
    if moment is None:
        return "", "", ""
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d"), local.strftime("%Y-%m-%d %H:%M:%S"), \
        local.strftime("%H:%M:%S")  # fmt: skip


def conversion_row(
    doc: Document,
    titles: Mapping[str, str],
    partner_name: str,
    tz: Any,
    camrefs: Mapping[str, str] | None = None,
) -> list[str]:
    day, stamp, _ = _local(doc["occurred_at"], tz)
    click_day, click_stamp, click_time = _local(doc.get("clicked_at"), tz)
    lag = (
        int((doc["occurred_at"] - doc["clicked_at"]).total_seconds())
        if doc.get("clicked_at") else ""
    )  # fmt: skip
    cur = doc["currency"]
    values: dict[str, Any] = {
        "conversion_id": doc["_id"], "campaign_id": doc["campaign_id"],
        "publisher_id": doc["partner_id"], "conversion_date": day, "conversion_date_time": stamp,
        "click_time": click_time, "click_date": click_day, "click_date_time": click_stamp,
        "currency": cur, "advertiser_reference": doc.get("advertiser_reference", ""),
        "conversion_reference": doc.get("conversion_reference", ""),
        "campaign_title": titles.get(doc["campaign_id"], ""), "publisher_name": partner_name,
        "conversion_status": doc["status"], "conversion_lag": lag,
        "value": _money(doc["value"], cur), "commission": _money(doc["commission"], cur),
        "publisher_commission": _money(doc["commission"], cur),
        "customer_type": doc.get("customer_type", ""),
        "was_disputed": "1" if int(doc.get("was_disputed", 0)) else "0",
        "cookie_id": doc.get("cookie_id", ""), "country": doc.get("country", ""),
        "customer_reference": doc.get("customer_reference", ""),
        "referer_ip": doc.get("referer_ip", ""), "source_referer": doc.get("source_referer", ""),
        "creative_type": int(doc.get("creative_type", 0)),
        "creative_id": int(doc.get("creative_id", 0)),
        "specific_creative_id": int(doc.get("specific_creative_id", 0)),
        "currency_original": doc.get("currency_original") or cur,
        "currency_conversion_rate": _rate(doc.get("currency_conversion_rate", 1.0)),
        "camref": (camrefs or {}).get(doc["campaign_id"], ""),
    }  # fmt: skip
    return [safe_cell(values.get(col, "")) for col in CONVERSION_COLUMNS]


def item_row(
    row: Mapping[str, Any],
    titles: Mapping[str, str],
    partner_name: str,
    tz: Any,
    camrefs: Mapping[str, str],
) -> list[str]:
    """One item line: its conversion's cells (money of the conversion) and the item's own."""
    doc, item = row["conversion"], row["item"]
    cells = dict(zip(CONVERSION_COLUMNS, conversion_row(doc, titles, partner_name, tz, camrefs),
                     strict=True))  # fmt: skip
    cur = doc["currency"]
    modified = from_epoch_ms(doc.get("modified_ms")) or doc["occurred_at"]
    meta = {pair["key"]: pair["value"] for pair in item.get("meta", [])}
    values: dict[str, Any] = {
        "conversion_item_id": item["item_id"], "sku": item.get("sku", ""),
        "category": item.get("category", ""), "item_value": _money(item["value"], cur),
        "item_commission": _money(item["commission"], cur),
        "item_publisher_commission": _money(item["commission"], cur),
        "item_status": item["status"], "item_status_id": ITEM_STATUS_IDS[item["status"]],
        "reject_reason": item.get("reject_reason", ""),
        "last_update": _local(modified, tz)[1],
        "voucher_codes": ",".join(item.get("voucher_codes") or []),
        "invoice_id": doc.get("selfbill_id", ""),
        **{f"meta_item_{key}": meta.get(key, "") for key in META_ITEM_KEYS},
    }  # fmt: skip
    return [cells[col] if col in cells else safe_cell(values.get(col, "")) for col in ITEM_COLUMNS]


def payment_cells(doc: Document, bills: Mapping[str, Document], tz: Any) -> list[str]:
    """The payment columns of a conversion (its self-bill from `bills`)."""
    bill = bills.get(str(doc.get("selfbill_id") or ""))
    paid = from_epoch_ms(bill.get("payment_ms") or None) if bill is not None else None
    return [safe_cell(v) for v in (
        money_data.payment_status(doc, bill), bill["reference"] if bill is not None else "",
        _local(paid, tz)[1] if paid is not None else "",
    )]  # fmt: skip


def _flag(value: str | None, name: str) -> bool:
    if value is None or value in ("false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise BadUserInput("true or false", field=name)


def click_row(doc: Document, partner_name: str, tz: Any) -> list[str]:
    _, stamp, _ = _local(doc["occurred_at"], tz)
    # A duplicate visit moves `last_ms` / `last_ip` (loaders.affiliate.tracking).
    _, last_stamp, _ = _local(from_epoch_ms(doc.get("last_ms")) or doc["occurred_at"], tz)
    values: dict[str, Any] = {
        "click_id": doc["_id"], "cookie_id": doc.get("cookie_id", ""),
        "campaign_id": doc["campaign_id"], "publisher_id": doc["partner_id"],
        "status": "converted" if int(doc.get("converted", 0)) else "nibbled", "set_time": stamp,
        "set_ip": doc.get("ip", ""), "last_used": last_stamp,
        "last_ip": doc.get("last_ip") or doc.get("ip", ""),
        "advertiser_reference": doc.get("advertiser_reference", ""),
        "referer": doc.get("referer", ""), "creative_id": int(doc.get("creative_id", 0)),
        "creative_type": int(doc.get("creative_type", 0)),
        "specific_creative_id": int(doc.get("specific_creative_id", 0)),
        "country": doc.get("country", ""), "publisher_name": partner_name,
    }  # fmt: skip
    return [safe_cell(values.get(col, "")) for col in CLICK_COLUMNS]


async def _export_principal(request: web.Request) -> Principal:
    principal = await principal_for_request(request.app[SERVICES], request)
    if not principal.is_authenticated:
        raise web.HTTPUnauthorized(text="Authentication required.")
    if principal.kind is PrincipalKind.STAFF:
        if StaffScope.AFFILIATE_READ not in principal.scopes:
            raise web.HTTPForbidden(text=f"Missing scope {StaffScope.AFFILIATE_READ}.")
    elif principal.kind is not PrincipalKind.OPERATOR:
        raise web.HTTPForbidden(text="Not allowed for this kind of credential.")
    return principal


def _parse_dt(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadUserInput("not an ISO-8601 date-time", field=name) from None
    if moment.tzinfo is None:
        raise BadUserInput("needs a UTC offset", field=name)
    return moment


async def _export(request: web.Request, kind: str) -> web.StreamResponse:
    conversions = kind != "clicks"
    try:
        principal = await _export_principal(request)
    except GatewayError as exc:
        raise web.HTTPUnauthorized(text=exc.message) from None
    services = request.app[SERVICES]
    db, scope, q = services.db, Scope(principal), request.query
    try:
        filters = await event_filter(
            db, scope, partner_id=q.get("partnerId"), start=_parse_dt(q.get("from"), "from"),
            end=_parse_dt(q.get("to"), "to"), text_date=q.get("textDate"),
            timezone=q.get("timezone"), campaign_id=q.get("campaignId"),
            statuses=_statuses(q.getall("status", [])) if conversions else (),
            currencies=q.getall("currency", []) if conversions else (),
            references={name: q.get(name) for name in REFERENCE_PARAMS},
            date_type=q.get("dateType", "standard") if conversions else "standard",
            conversion_id=q.get("conversionId") if conversions else None,
            conversion_metric_ids=q.getall("conversionMetricId", []) if conversions else (),
        )  # fmt: skip
        with_payment = kind == "conversion-items" and _flag(
            q.get("includePaymentInfo"), "includePaymentInfo"
        )
        tz = data.validate_timezone(
            q.get("timezone") or await data.reporting_timezone(db, filters.partner_id)
        )
    except BadUserInput as exc:
        raise web.HTTPBadRequest(text=f"{exc.field}: {exc.message}") from None
    except GatewayError as exc:
        raise web.HTTPNotFound(text=exc.message) from None
    partner_name = await data.partner_name(db, filters.partner_id)
    titles = await data.campaign_titles(db)
    camrefs = await data.campaign_camrefs(db) if conversions else {}
    bills = await money_data.selfbills_by_id(db, filters.partner_id) if with_payment else {}
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="affiliate-{kind}.csv"',
            "Cache-Control": "no-store",
        }
    )
    compress_stream(request, response)
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    columns = {"conversions": CONVERSION_COLUMNS, "clicks": CLICK_COLUMNS}
    writer.writerow(columns.get(kind, ITEM_COLUMNS + (PAYMENT_COLUMNS if with_payment else [])))
    rows: Any = (
        iter_conversion_items(db, scope, filters) if kind == "conversion-items"
        else data.iter_events(db, scope, filters, conversions)
    )  # fmt: skip
    async for doc in rows:
        if kind == "conversions":
            writer.writerow(conversion_row(doc, titles, partner_name, tz, camrefs))
        elif kind == "clicks":
            writer.writerow(click_row(doc, partner_name, tz))
        else:
            line = item_row(doc, titles, partner_name, tz, camrefs)
            if with_payment:
                line += payment_cells(doc["conversion"], bills, tz)
            writer.writerow(line)
        if buffer.tell() > 64_000:
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


def _statuses(values: Sequence[str]) -> list[str]:
    for value in values:
        if value not in data.CONVERSION_STATUSES:
            raise BadUserInput(f"unknown status {value!r}", field="status")
    return list(values)


async def export_conversions_csv(request: web.Request) -> web.StreamResponse:
    """`GET /export/conversions.csv`: the conversions list as CSV (seed columns)."""
    return await _export(request, "conversions")


async def export_conversion_items_csv(request: web.Request) -> web.StreamResponse:
    """`GET /export/conversion-items.csv`: one row per conversion item (the seed's
    conversion-item report columns)."""
    return await _export(request, "conversion-items")


async def export_clicks_csv(request: web.Request) -> web.StreamResponse:
    """`GET /export/clicks.csv`: the clicks list as CSV (seed columns)."""
    return await _export(request, "clicks")


EXPORT_ROUTES = [
    web.get("/export/conversions.csv", export_conversions_csv),
    web.get("/export/clicks.csv", export_clicks_csv),
    web.get("/export/conversion-items.csv", export_conversion_items_csv),
]
