"""Activity resolvers (createFanActivity with its fan upsert, lists) and point awards."""

from __future__ import annotations

from datetime import date
from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, NotFound
from gateway.core.ids import parse_id
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


async def create_activity(info: Info, input: Any) -> Document:
    campaign = text(input.campaign_title, "campaignTitle", 200, required=True)
    props = pairs(input.props, "props")
    details = activity_fan_details(input)
    if bool(input.fan_id) == bool(input.email):
        raise BadUserInput("give exactly one of fanId and email", field="fanId")
    if input.fan_id:
        fan = await fan_by_id(info, input.fan_id, "fanId")
        partner_id = fan["partner_id"]
        if input.partner_id is not None and input.partner_id != partner_id:
            raise NotFound("Fan not found.", field="fanId")
    else:
        email = normalize_email(input.email)
        partner_id = await write_partner(info, input.partner_id)
        found = await data.find_fan_by_email(info.context.db, partner_id, email)
        if found is None:
            # As in the CRM's activity submit: an unknown email becomes a new fan.
            try:
                found = await data.insert_fan(
                    info.context.db, data.new_fan_doc(partner_id, {"email": email, **details})
                )
                details = {}
            except DuplicateKeyError:
                found = await data.find_fan_by_email(info.context.db, partner_id, email)
                if found is None:  # the email is free, so the phone is another fan's
                    raise await _contact_conflict(info, partner_id, details) from None
        fan = found
    fan = await _apply_fan_details(info, fan, details)
    return await data.insert_activity(info.context.db, partner_id, fan["_id"], campaign, props)


async def activities(info: Info, campaign_title: str | None, day: date | None, fan_id: str | None,
                     first: int | None, after: str | None) -> Page:  # fmt: skip
    filters = {
        "campaign_title": campaign_title,
        "day": day.isoformat() if day else None,
        "fan_id": parse_id(fan_id, "fan", "fanId") if fan_id else None,
    }
    return await data.list_activities(info.context.db, info.context.scope, filters, first, after)


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
