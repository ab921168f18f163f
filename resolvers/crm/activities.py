"""Activity resolvers (createFanActivity with its fan upsert, lists) and point awards."""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, NotFound
from gateway.core.ids import parse_id
from gateway.core.validation import check_printable
from gateway.storage.mongo import Document
from loaders import crm as data
from loaders.base import Page, check_first
from loaders.identity import normalize_email
from resolvers.crm.common import country, fan_by_id, pairs, phone, text, write_partner
from resolvers.crm.fans import _contact_conflict

# --- activities ------------------------------------------------------------------------


def activity_fan_details(input: Any) -> Document:
    """The fan fields an activity submit carries (only those sent), checked."""
    details: Document = {}
    for key, name in (("first_name", "firstName"), ("last_name", "lastName")):
        if getattr(input, key) is not None:
            details[key] = text(getattr(input, key), name)
    if input.phone:
        details["phone"] = phone(input.phone)
    if input.country_code is not None:
        details["country_code"] = country(input.country_code)
    for key, name in (("province", "province"), ("postal_code", "postalCode")):
        if getattr(input, key) is not None:
            details[key] = text(getattr(input, key), name, 64)
            if details[key] and not details.get("country_code"):
                raise BadUserInput("needs countryCode in the same request", field=name)
    for flag in ("is_subscribed", "is_phone_subscribed"):
        if getattr(input, flag) is not None:
            details[flag] = bool(getattr(input, flag))
    return details


async def _apply_fan_details(info: Info, fan: Document, details: Document) -> Document:
    if not details:
        return fan
    sets = dict(details)
    if {"first_name", "last_name"} & set(sets):
        sets["name_lower"] = data.name_lower({**fan, **sets})
    try:
        updated = await data.update_fan(info.context.db, info.context.scope, fan["_id"], sets, [])
    except DuplicateKeyError:
        raise await _contact_conflict(info, fan["partner_id"], sets, fan["_id"]) from None
    if updated is None:
        return fan
    # The fan was loaded (and cached) before the update: nested `fan` fields read the new one.
    info.context.loaders.get(data.FanByIdLoader).clear(fan["_id"]).prime(fan["_id"], updated)
    return updated


_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_NETWORK = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")


def campaign_key(value: str, field: str = "campaignId") -> str:
    """A campaign key (the seed's `page_tab_id`): 1..64 of letters, digits, `_ . : -`."""
    value = value.strip()
    if not _KEY.match(value):
        raise BadUserInput("1..64 letters, digits, '_', '.', ':' or '-'", field=field)
    return value


def _names(values: list[str] | None, field: str, pattern: re.Pattern[str] | None,
           max_len: int, max_count: int) -> list[str]:  # fmt: skip
    """A de-duplicated list of short names, in the order sent."""
    out: list[str] = []
    for raw in values or []:
        value = raw.strip().lower() if pattern else text(raw, field, max_len, required=True)
        if pattern is not None and not pattern.match(value):
            raise BadUserInput(f"each is 1..{max_len} of a-z, 0-9, '_', '.', '-'", field=field)
        if value not in out:
            out.append(value)
    if len(out) > max_count:
        raise BadUserInput(f"at most {max_count} different values", field=field)
    return out


def _count(value: int | None, field: str, maximum: int) -> int | None:
    if value is not None and not 0 <= value <= maximum:
        raise BadUserInput(f"must be between 0 and {maximum}", field=field)
    return value


def activity_extra(input: Any) -> Document:
    """The activity's own fields of a submit (seed 002 activity structure), checked."""
    extra: Document = {}
    if input.ip_address is not None:
        try:
            extra["ip_address"] = str(ipaddress.ip_address(input.ip_address.strip()))
        except ValueError:
            raise BadUserInput("not an IPv4 or IPv6 address", field="ipAddress") from None
    for key, name in (("app_type", "appType"), ("stream_key", "streamKey")):
        if getattr(input, key) is not None:
            extra[key] = text(getattr(input, key), name, 64)
    if input.user_key is not None:
        extra["user_key"] = text(input.user_key, "userKey", 200)
    extra["networks"] = _names(input.networks, "networks", _NETWORK, 32, 20)
    extra["idol_names"] = _names(input.idol_names, "idolNames", None, 200, 50)
    extra["duration_ms"] = _count(input.duration_ms, "durationMs", 7 * 24 * 3_600_000)
    extra["correct_count"] = _count(input.correct_count, "correctCount", 100_000)
    return extra


async def create_activity(info: Info, input: Any) -> Document:
    campaign_id = campaign_key(input.campaign_id) if input.campaign_id is not None else None
    campaign = ""
    if input.campaign_title is not None or campaign_id is None:
        campaign = text(input.campaign_title, "campaignTitle", 200, required=True)
    props = pairs(input.props, "props")
    details = activity_fan_details(input)
    extra = activity_extra(input)
    if bool(input.fan_id) == bool(input.email):
        raise BadUserInput("give exactly one of fanId and email", field="fanId")
    if input.fan_id:
        fan = await fan_by_id(info, input.fan_id, "fanId")
        partner_id = fan["partner_id"]
        if input.partner_id is not None and input.partner_id != partner_id:
            raise NotFound("Fan not found.", field="fanId")
    else:
        fan = None
        partner_id = await write_partner(info, input.partner_id)
    if campaign_id is not None:
        # A contest's activity carries the contest's title, type and stream (seed: page_tab_id).
        found = await data.campaigns.campaign_by_key(info.context.db, partner_id, campaign_id)
        if found is None:
            raise NotFound("Campaign not found.", field="campaignId")
        if campaign and campaign != found["title"]:
            raise BadUserInput("differs from the campaign's title", field="campaignTitle")
        campaign = str(found["title"])
        extra = {"app_type": found["app_type"], "stream_key": found["stream_key"], **extra,
                 "campaign_id": campaign_id}  # fmt: skip
    if fan is None:
        fan, created = await _fan_by_email(info, partner_id, normalize_email(input.email), details)
        details = {} if created else details
    fan = await _apply_fan_details(info, fan, details)
    doc = await data.insert_activity(info.context.db, partner_id, fan, campaign, props, extra)
    # The activity added to the fan's networks and idols: nested fields read the fan anew.
    info.context.loaders.get(data.FanByIdLoader).clear(fan["_id"])
    return doc


async def _fan_by_email(
    info: Info, partner_id: str, email: str, details: Document
) -> tuple[Document, bool]:
    """The partner's fan with this email, else a new one with the details: (fan, created)."""
    found = await data.find_fan_by_email(info.context.db, partner_id, email)
    if found is not None:
        return found, False
    # As in the CRM's activity submit: an unknown email becomes a new fan.
    try:
        doc = await data.insert_fan(
            info.context.db, data.new_fan_doc(partner_id, {"email": email, **details})
        )
        return doc, True
    except DuplicateKeyError:
        found = await data.find_fan_by_email(info.context.db, partner_id, email)
        if found is None:  # the email is free, so the phone is another fan's
            raise await _contact_conflict(info, partner_id, details) from None
        return found, False


async def activities(info: Info, filters: Document, descending: bool | None,
                     first: int | None, after: str | None) -> Page:  # fmt: skip
    """The activities call: id (sequence) windows, either order, the seed's page of 200.

    Without an order (`descending` None), a `minSequence` window reads forward (ASC: the next
    batch of a sync) and anything else newest first (DESC), as the seed's meta `order` does.
    """
    check_first(first, data.MAX_ACTIVITY_PAGE)
    for key, name in (("min_seq", "minSequence"), ("max_seq", "maxSequence")):
        if filters.get(key) is not None and filters[key] < 0:
            raise BadUserInput("must not be negative", field=name)
    lo, hi = filters.get("min_seq"), filters.get("max_seq")
    if lo is not None and hi is not None and hi <= lo:
        raise BadUserInput("must be above minSequence", field="maxSequence")
    if filters.get("fan_id"):
        filters["fan_id"] = parse_id(filters["fan_id"], "fan", "fanId")
    if filters.get("campaign_id") is not None:
        filters["campaign_id"] = campaign_key(filters["campaign_id"])
    if descending is None:
        descending = lo is None
    return await data.list_activities(
        info.context.db, info.context.scope, filters, first, after, descending
    )


async def activity_counters(
    info: Info, campaign_title: str | None, property_name: str | None, partner_id: str | None
) -> list[tuple[str, str, str, int]]:
    title = None
    if campaign_title is not None:
        title = text(campaign_title, "campaignTitle", 200, required=True)
    prop = None
    if property_name is not None:
        prop = property_name.strip()
        if not 1 <= len(prop) <= 64 or "$" in prop or "." in prop:
            raise BadUserInput("1..64 characters without '$' or '.'", field="propertyName")
        check_printable(prop, "propertyName")
    scope = info.context.scope
    if scope.is_operator:
        partner = parse_id(partner_id, "par", "partnerId") if partner_id is not None else None
    else:
        partner = scope.partner_id_for_write(
            parse_id(partner_id, "par", "partnerId") if partner_id is not None else None
        )
    return await data.activity_counters(info.context.db, partner, title, prop)


# --- points ----------------------------------------------------------------------------


async def leaderboard(
    info: Info, point_name: str, lo: date | None, hi: date | None, first: int | None,
    partner_id: str | None,
) -> list[tuple[str, int]]:  # fmt: skip
    name = text(point_name, "pointName", 64, required=True)
    if lo is not None and hi is not None and hi < lo:
        raise BadUserInput("must not be before startDate", field="endDate")
    limit = check_first(first)
    partner = await write_partner(info, partner_id)
    return await data.leaderboard(info.context.db, partner, name, lo, hi, limit)
