"""Fan resolvers: create, update, delete, get and list fans."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import crm as data
from loaders.base import Page, check_first
from loaders.identity import normalize_email
from resolvers.crm.common import (
    LOCATION_FIELDS,
    MAX_AMOUNT,
    _sent,
    country,
    gender,
    opt_ins,
    pairs,
    phone,
    tags,
    text,
    write_partner,
)
from resolvers.crm.fan_profile import networks, profile_for_create, profile_for_update

# --- fans ------------------------------------------------------------------------------


def _location(fields: Document, input: Any, require_country: bool) -> None:
    for key, name in LOCATION_FIELDS:
        value = getattr(input, key)
        if _sent(value):
            fields[key] = text(value, name, 64)
            if fields[key] and require_country and not fields.get("country_code"):
                raise BadUserInput("needs countryCode in the same request", field=name)


def fan_fields_for_create(input: Any) -> Document:
    fields: Document = {
        "first_name": text(input.first_name, "firstName"),
        "last_name": text(input.last_name, "lastName"),
        "display_name": text(input.display_name, "displayName", 64),
        "gender": gender(input.gender),
        "birth_date": input.birth_date.isoformat() if input.birth_date else "",
        "is_subscribed": bool(input.is_subscribed),
        "is_phone_subscribed": bool(input.is_phone_subscribed),
        "is_optout": bool(input.is_optout),
        "business_opt_ins": opt_ins(input.business_opt_ins),
        "tags": tags(input.tags),
        "fields": pairs(input.fields, "fields"),
        "country_code": country(input.country_code),
        "source": text(input.source, "source", 64),
        **profile_for_create(input),
    }
    if input.email:
        fields["email"] = normalize_email(input.email)
    if input.phone:
        fields["phone"] = phone(input.phone)
    if "email" not in fields and "phone" not in fields:
        raise BadUserInput("email or phone is required", field="email")
    _location(fields, input, require_country=True)
    return fields


async def create_fan(info: Info, input: Any) -> Document:
    fields = fan_fields_for_create(input)
    partner_id = await write_partner(info, input.partner_id)
    doc = data.new_fan_doc(partner_id, fields)
    try:
        await data.insert_fan(info.context.db, doc)
    except DuplicateKeyError:
        raise await _contact_conflict(info, partner_id, fields) from None
    info.context.loaders.get(data.FanByIdLoader).prime(doc["_id"], doc)
    return doc


async def _contact_conflict(
    info: Info, partner_id: str, fields: Document, fan_id: str = ""
) -> Conflict:
    taken = await data.conflicting_contact(
        info.context.db, partner_id, fields.get("email"), fields.get("phone"), fan_id
    )
    return Conflict(f"Another fan has this {taken or 'email'}.", field=taken or "email")


def _update_fields(input: Any, current: Document) -> tuple[Document, list[str]]:
    sets: Document = {}
    unsets: list[str] = []
    for name, key, max_len in (
        ("first_name", "first_name", 120),
        ("last_name", "last_name", 120),
        ("display_name", "display_name", 64),
        ("source", "source", 64),
    ):
        value = getattr(input, name)
        if _sent(value):
            sets[key] = text(value, _camel(name), max_len)
    if _sent(input.email):
        if input.email:
            sets["email"] = normalize_email(input.email)
        else:
            unsets.append("email")
    if _sent(input.phone):
        if input.phone:
            sets["phone"] = phone(input.phone)
        else:
            unsets.append("phone")
    if _sent(input.gender):
        sets["gender"] = gender(input.gender)
    if _sent(input.birth_date):
        sets["birth_date"] = input.birth_date.isoformat() if input.birth_date else ""
    for name in ("is_subscribed", "is_phone_subscribed", "is_optout"):
        value = getattr(input, name)
        if _sent(value):
            if value is None:
                raise BadUserInput("cannot be null", field=_camel(name))
            sets[name] = bool(value)
    if _sent(input.tags):
        sets["tags"] = tags(input.tags)
    if _sent(input.fields):
        sets["fields"] = pairs(input.fields, "fields")
    if _sent(input.business_opt_ins):
        sets["business_opt_ins"] = opt_ins(input.business_opt_ins, current["business_opt_ins"])
    if _sent(input.country_code):
        sets["country_code"] = country(input.country_code)
    _location(sets, input, require_country=True)
    profile, cleared = profile_for_update(input)
    sets.update(profile)
    unsets += cleared
    final = {**current, **sets}
    for key in unsets:
        final.pop(key, None)
    if not final.get("email") and not final.get("phone"):
        raise BadUserInput("a fan keeps an email or a phone", field="email" if unsets else "phone")
    if {"first_name", "last_name"} & set(sets):
        sets["name_lower"] = data.name_lower(final)
    return sets, unsets


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def update_fan(info: Info, fan_id: str, input: Any) -> Document:
    fan_id = parse_id(fan_id, "fan", "id")
    current = await data.find_fan(info.context.db, info.context.scope, fan_id)
    if current is None:
        raise NotFound("Fan not found.", field="id")
    sets, unsets = _update_fields(input, current)
    try:
        doc = await data.update_fan(info.context.db, info.context.scope, fan_id, sets, unsets)
    except DuplicateKeyError:
        raise await _contact_conflict(info, current["partner_id"], sets, fan_id) from None
    if doc is None:
        raise NotFound("Fan not found.", field="id")
    return doc


async def delete_fan(info: Info, fan_id: str) -> bool:
    deleted = await data.delete_fan(
        info.context.db, info.context.scope, parse_id(fan_id, "fan", "id")
    )
    if not deleted:
        raise NotFound("Fan not found.", field="id")
    return True


def fan_filters(filter: Any) -> Document:
    if filter is None:
        return {}
    f: Document = {
        "text": text(filter.text, "filter.text", 200) or None,
        "is_subscribed": filter.is_subscribed,
        "is_phone_subscribed": filter.is_phone_subscribed,
        "is_optout": filter.is_optout,
        "tags": filter.tags,
        "country_code": country(filter.country_code, "filter.countryCode") or None,
        "provinces": filter.provinces,
        "postal_codes": filter.postal_codes,
        "genders": [g.value for g in filter.genders or []],
        "created_from": filter.created_from,
        "created_to": filter.created_to,
        "ticket_event_name": filter.ticket_event_name,
        "ticket_venue_name": filter.ticket_venue_name,
        "ticket_purchased_from": filter.ticket_purchased_from,
        "ticket_purchased_to": filter.ticket_purchased_to,
    }
    for name in ("tags", "provinces", "postal_codes"):
        if f[name] is not None and len(f[name]) > 100:
            raise BadUserInput("at most 100 values", field=f"filter.{_camel(name)}")
    f.update(search_filters(filter))
    return f


def _list(values: Sequence[str] | None, name: str, max_len: int = 120) -> list[str] | None:
    if values is None:
        return None
    if len(values) > 100:
        raise BadUserInput("at most 100 values", field=f"filter.{name}")
    return [text(v, f"filter.{name}", max_len, required=True) for v in values]


def _bounded(value: int | None, name: str, lo: int, hi: int) -> int | None:
    if value is not None and not lo <= value <= hi:
        raise BadUserInput(f"must be {lo} to {hi}", field=f"filter.{name}")
    return value


def _ordered(lo: Any, hi: Any, name: str) -> None:
    if lo is not None and hi is not None and hi < lo:
        raise BadUserInput("must not be below its lower bound", field=f"filter.{name}")


def search_filters(filter: Any) -> Document:
    """The seed's further CRM search filters, checked (see `loaders.crm.search`)."""
    f: Document = {
        "tags_all": _list(filter.tags_all, "tagsAll", 64),
        "tags_none": _list(filter.tags_none, "tagsNone", 64),
        "sources": _list(filter.sources, "sources", 64),
        "youngest_age": _bounded(filter.youngest_age, "youngestAge", 0, 150),
        "oldest_age": _bounded(filter.oldest_age, "oldestAge", 0, 150),
        "in_snapshots": [parse_id(i, "snp", "filter.inSnapshots")
                         for i in _list(filter.in_snapshots, "inSnapshots") or []] or None,
        "not_in_snapshots": [parse_id(i, "snp", "filter.notInSnapshots")
                             for i in _list(filter.not_in_snapshots, "notInSnapshots") or []]
                            or None,
        "active_within_days": _bounded(filter.active_within_days, "activeWithinDays", 1, 36500),
        "inactive_for_days": _bounded(filter.inactive_for_days, "inactiveForDays", 1, 36500),
        "active_from": filter.active_from,
        "active_to": filter.active_to,
        "ticket_price_code": text(filter.ticket_price_code, "filter.ticketPriceCode", 64) or None,
        "ticket_artist_name": text(filter.ticket_artist_name, "filter.ticketArtistName", 200)
        or None,
        "ticket_venue_provinces": _list(filter.ticket_venue_provinces, "ticketVenueProvinces", 64),
        "ticket_purchased_days": _bounded(filter.ticket_purchased_days, "ticketPurchasedDays", 1,
                                          36500),
        "ticket_event_from": filter.ticket_event_from,
        "ticket_event_to": filter.ticket_event_to,
        "ticket_seat_price_min": _bounded(filter.ticket_seat_price_min, "ticketSeatPriceMin", 0,
                                          MAX_AMOUNT),
        "ticket_seat_price_max": _bounded(filter.ticket_seat_price_max, "ticketSeatPriceMax", 0,
                                          MAX_AMOUNT),
        "ticket_seat_count_min": _bounded(filter.ticket_seat_count_min, "ticketSeatCountMin", 1,
                                          10_000),
        "ticket_seat_count_max": _bounded(filter.ticket_seat_count_max, "ticketSeatCountMax", 1,
                                          10_000),
        "ticket_sales_count_min": _bounded(filter.ticket_sales_count_min, "ticketSalesCountMin",
                                           1, 1_000_000),
        "ticket_sales_count_max": _bounded(filter.ticket_sales_count_max, "ticketSalesCountMax",
                                           1, 1_000_000),
        "ticket_negative": True if filter.ticket_negative else None,
        "networks": networks(filter.networks, "filter.networks") or None,
        "rating_min": _bounded(filter.rating_min, "ratingMin", 0, 5),
        "rating_max": _bounded(filter.rating_max, "ratingMax", 0, 5),
        "metro_areas": _list(filter.metro_areas, "metroAreas", 64),
        "idols": _list(filter.idols, "idols"),
        "idols_all": _list(filter.idols_all, "idolsAll"),
        "idols_none": _list(filter.idols_none, "idolsNone"),
        "max_count": _bounded(filter.max_count, "maxCount", 1, data.search.MAX_MAX_COUNT),
    }  # fmt: skip
    for lo, hi, name in (("youngest_age", "oldest_age", "oldestAge"),
                         ("active_from", "active_to", "activeTo"),
                         ("ticket_event_from", "ticket_event_to", "ticketEventTo"),
                         ("ticket_seat_price_min", "ticket_seat_price_max", "ticketSeatPriceMax"),
                         ("ticket_seat_count_min", "ticket_seat_count_max", "ticketSeatCountMax"),
                         ("ticket_sales_count_min", "ticket_sales_count_max",
                          "ticketSalesCountMax"),
                         ("rating_min", "rating_max", "ratingMax")):  # fmt: skip
        _ordered(f[lo], f[hi], name)
    return f


async def fans(info: Info, filter: Any, first: int | None, after: str | None) -> Page:
    check_first(first)
    return await data.list_fans(info.context.db, info.context.scope, fan_filters(filter),
                                first, after)  # fmt: skip


def fan_child_key(fan_id: str, first: int | None, after: str | None) -> data.ChildKey:
    return (fan_id, check_first(first), after)
