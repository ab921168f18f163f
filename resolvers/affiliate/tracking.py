"""Tracking links, and recording clicks and conversions (operator)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate.promotion import (
    CreativeByIdLoader,
    VoucherCodesByCampaignLoader,
    creative_attribution,
    voucher_status,
)
from loaders.base import Page, epoch_ms, utcnow
from resolvers.affiliate.campaigns import require_approved
from resolvers.affiliate.common import partner_for

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
    fields = dict(fields)
    creative_id = fields.pop("creative_id", None)
    values = validate_link(fields, creating=True)
    doc = await require_approved(info, pid, cmp_id)
    values.setdefault("destination_url", doc["default_destination_url"])
    values["creative_ref"] = await _link_creative(info, cmp_id, creative_id)
    return await data.insert_link(
        info.context.db, {"partner_id": pid, "campaign_id": cmp_id, **values}
    )


async def update_link(info: Info, link_id: str, fields: Mapping[str, Any]) -> Document:
    lid = parse_id(link_id, "lnk")
    fields = dict(fields)
    creative_sent = "creative_id" in fields
    creative_id = fields.pop("creative_id", None)
    values = validate_link(fields, creating=False) if fields or not creative_sent else {}
    current = await info.context.loaders.get(data.LinkByIdLoader).load(lid)
    if current is None:
        raise NotFound("Tracking link not found.")
    await require_approved(info, current["partner_id"], current["campaign_id"])
    if creative_sent:  # null detaches the creative
        values["creative_ref"] = await _link_creative(info, current["campaign_id"], creative_id)
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
    adref = data.validate_text(fields["advertiser_reference"], "advertiserReference", 255)
    ip = data.validate_ip(fields["ip"])
    referer = data.validate_text(fields["referer"], "referer", 2048)
    creative_id = fields.get("creative_id")
    crv_id = parse_id(creative_id, "crv", "creativeId") if creative_id else ""
    doc = await require_approved(info, pid, cmp_id)
    params: list[dict[str, Any]] = []
    if link_id:
        link = await info.context.loaders.get(data.LinkByIdLoader).load(link_id)
        if link is None or link["partner_id"] != pid or link["campaign_id"] != cmp_id:
            raise NotFound("Tracking link not found.", field="linkId")
        params = list(link.get("params", []))
    creative = await _creative(info, cmp_id, crv_id) if crv_id else None
    click = data.click_doc(
        pid, doc, occurred, cookie_id=cookie, country=country, device=device, link_id=link_id,
        publisher_reference=reference, advertiser_reference=adref, ip=ip, referer=referer,
        **creative_attribution(creative), params=params,
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
    original = fields["original_currency"]
    original = data.validate_currency(original, "originalCurrency") if original else currency
    rate = float(fields["conversion_rate"])
    if not 0 < rate <= 1_000_000 or (original == currency and rate != 1):
        raise BadUserInput(
            "must be > 0 (and 1 when the original currency is the same)", field="conversionRate"
        )
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
        item["voucher_codes"] = _voucher_codes(item.get("voucher_codes") or [])
        item["meta_data"] = _meta(item.get("meta_data") or [], "items")
        reason = data.validate_text(item.get("reject_reason") or "", "items", 255)
        if reason and (item.get("status") or fields["status"]) != "rejected":
            raise BadUserInput("rejectReason only on a rejected item", field="items")
        item["reject_reason"] = reason
    meta = _meta(fields.get("meta_data") or [], "metaData")
    doc = await require_approved(info, pid, cmp_id)
    click = None
    if click_id:
        click = await data.find_click(info.context.db, pid, click_id)
        if click is None or click["campaign_id"] != cmp_id:
            raise NotFound("Click not found.", field="clickId")
    codes = [c for item in items for c in item["voucher_codes"]]
    status = ""
    if codes:
        known = await info.context.loaders.get(VoucherCodesByCampaignLoader).load(cmp_id)
        status = voucher_status(codes[0], known, pid, epoch_ms(occurred))
    conversion = data.conversion_doc(
        pid, doc, occurred, currency=currency, status=fields["status"], items=items, click=click,
        voucher_status=status,
        country=country, device=device, customer_type=customer_type, currency_original=original,
        currency_conversion_rate=rate, was_disputed=bool(fields["was_disputed"]), **refs,
        meta_data=meta, modified_at=utcnow(),
    )  # fmt: skip
    return await data.insert_conversion(info.context.db, conversion)


_META_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _meta(pairs: Sequence[Any], field: str) -> dict[str, str]:
    """The brand's meta data: up to 20 unique keys (letters, digits, `_ . -`), values of at
    most 255 printable characters."""
    if len(pairs) > 20:
        raise BadUserInput("at most 20 meta data entries", field=field)
    out: dict[str, str] = {}
    for pair in pairs:
        key, value = _pair(pair)
        if not _META_KEY.match(key):
            raise BadUserInput(f"meta data key {key[:64]!r}: 1..64 of A-Z a-z 0-9 _ . -",
                               field=field)  # fmt: skip
        if key in out:
            raise BadUserInput(f"meta data key {key!r} given twice", field=field)
        out[key] = data.validate_text(value, field, 255)
    return out


def _pair(pair: Any) -> tuple[str, str]:
    if isinstance(pair, Mapping):
        return str(pair["key"]), str(pair["value"])
    return str(pair.key), str(pair.value)


def _voucher_codes(codes: Sequence[str]) -> list[str]:
    if len(codes) > 10:
        raise BadUserInput("at most 10 voucher codes per item", field="items")
    out = [data.validate_text(c, "items", 50, required=True) for c in codes]
    if len(set(out)) != len(out):
        raise BadUserInput("a voucher code is listed twice on one item", field="items")
    return out


async def _creative(info: Info, campaign_id: str, creative_id: str) -> Document:
    """An active creative of `campaign_id` (another campaign's or an unknown one is
    NOT_FOUND, an inactive one CONFLICT; both on `creativeId`)."""
    doc = await info.context.loaders.get(CreativeByIdLoader).load(creative_id)
    if doc is None or doc["campaign_id"] != campaign_id:
        raise NotFound("Creative not found on this campaign.", field="creativeId")
    if not doc.get("active"):
        raise Conflict("The creative is not active.", field="creativeId")
    return doc


async def _link_creative(info: Info, campaign_id: str, creative_id: str | None) -> str:
    """The `crv_` id a link stores ("" for none), checked against the link's campaign."""
    if not creative_id:
        return ""
    crv_id = parse_id(creative_id, "crv", "creativeId")
    return str((await _creative(info, campaign_id, crv_id))["_id"])
