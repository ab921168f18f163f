"""Fan CRM: validate input, then call data access (`loaders.crm`) and loaders.

Inputs arrive as the schema's input objects (typed `Any` here to keep the layers
acyclic); every check runs before the first write, so bad input changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError
from strawberry.types.unset import UnsetType

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.core.validation import check_printable
from gateway.storage.mongo import Document
from loaders import crm as data
from loaders.base import Page, check_first
from loaders.identity import normalize_email
from loaders.partners import PartnerByIdLoader
from resolvers.live import inserted

MAX_BATCH = 100
MAX_PAIRS = 50
MAX_TAGS = 50
MAX_AMOUNT = 10**12
GENDERS = frozenset({"male", "female", "diverse", "other"})
PHONE_RE = re.compile(r"^\+?[0-9]{6,15}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
LOCATION_FIELDS = (("province", "province"), ("city", "city"), ("postal_code", "postalCode"))


# --- field validation ------------------------------------------------------------------


def text(value: str | None, field: str, max_len: int = 120, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise BadUserInput("is required", field=field)
    if len(value) > max_len:
        raise BadUserInput(f"at most {max_len} characters", field=field)
    return check_printable(value, field)


def phone(value: str, field: str = "phone") -> str:
    cleaned = re.sub(r"[\s\-().]", "", value)
    if not PHONE_RE.match(cleaned):
        raise BadUserInput("not a valid phone number", field=field)
    return cleaned


def country(value: str | None, field: str = "countryCode") -> str:
    value = (value or "").strip().upper()
    if value and not COUNTRY_RE.match(value):
        raise BadUserInput("must be an ISO 3166-1 alpha-2 code", field=field)
    return value


def currency(value: str, field: str = "currency") -> str:
    value = value.strip().upper()
    if not CURRENCY_RE.match(value):
        raise BadUserInput("must be an ISO 4217 code", field=field)
    return value


def pairs(items: Iterable[Any] | None, field: str) -> dict[str, str]:
    """Key/value pairs as a map; keys become document keys, so `$` and `.` are refused."""
    out: dict[str, str] = {}
    for item in items or []:
        key = item.key.strip()
        if not 1 <= len(key) <= 64 or "$" in key or "." in key or "\x00" in key:
            raise BadUserInput("keys are 1..64 characters without '$' or '.'", field=field)
        if key in out:
            raise BadUserInput(f"key {key!r} given twice", field=field)
        check_printable(key, field)
        if len(item.value) > 1000:
            raise BadUserInput("values are at most 1000 characters", field=field)
        out[key] = check_printable(item.value, field, multiline=True)
    if len(out) > MAX_PAIRS:
        raise BadUserInput(f"at most {MAX_PAIRS} pairs", field=field)
    return out


def tags(values: Iterable[str] | None, field: str = "tags") -> list[str]:
    out: list[str] = []
    for value in values or []:
        tag = text(value, field, 64, required=True)
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise BadUserInput(f"at most {MAX_TAGS} tags", field=field)
    return out


def opt_ins(items: Iterable[Any] | None, current: Sequence[str] = ()) -> list[str]:
    """Business opt-ins applied to the current set: true opts in, false opts out."""
    out = list(current)
    for item in items or []:
        business = text(item.business_id, "businessOptIns", 64, required=True)
        if item.opted_in and business not in out:
            out.append(business)
        elif not item.opted_in and business in out:
            out.remove(business)
    return out


def gender(value: Any) -> str:
    return "" if value is None else str(value.value)


def _sent(value: Any) -> bool:
    return not isinstance(value, UnsetType)


# --- tenancy helpers -------------------------------------------------------------------


async def write_partner(info: Info, requested: str | None) -> str:
    """The partner a create lands in; operators must name an existing one."""
    scope = info.context.scope
    wanted = parse_id(requested, "par", "partnerId") if requested is not None else None
    partner_id = scope.partner_id_for_write(wanted)
    if (
        scope.is_operator
        and await info.context.loaders.get(PartnerByIdLoader).load(partner_id) is None
    ):
        raise NotFound("Partner not found.", field="partnerId")
    return partner_id


async def fan_by_id(info: Info, fan_id: str, field: str = "id") -> Document:
    doc: Document | None = await info.context.loaders.get(data.FanByIdLoader).load(
        parse_id(fan_id, "fan", field)
    )
    if doc is None:
        raise NotFound("Fan not found.", field=field)
    return doc


async def load_fan(info: Info, fan_id: str) -> Document | None:
    doc: Document | None = await info.context.loaders.get(data.FanByIdLoader).load(fan_id)
    return doc


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
    }  # fmt: skip
    for lo, hi, name in (("youngest_age", "oldest_age", "oldestAge"),
                         ("active_from", "active_to", "activeTo"),
                         ("ticket_event_from", "ticket_event_to", "ticketEventTo"),
                         ("ticket_seat_price_min", "ticket_seat_price_max", "ticketSeatPriceMax"),
                         ("ticket_seat_count_min", "ticket_seat_count_max", "ticketSeatCountMax"),
                         ("ticket_sales_count_min", "ticket_sales_count_max",
                          "ticketSalesCountMax")):  # fmt: skip
        _ordered(f[lo], f[hi], name)
    return f


async def fans(info: Info, filter: Any, first: int | None, after: str | None) -> Page:
    check_first(first)
    return await data.list_fans(info.context.db, info.context.scope, fan_filters(filter),
                                first, after)  # fmt: skip


def fan_child_key(fan_id: str, first: int | None, after: str | None) -> data.ChildKey:
    return (fan_id, check_first(first), after)


# --- tickets ---------------------------------------------------------------------------


def ticket_draft(item: Any, require_event_key: bool = False) -> Document:
    """A validated ticket (and its buyer's fan fields), or BadUserInput naming the field."""
    email = normalize_email(item.email)
    first_name = text(item.first_name, "firstName", required=True)
    last_name = text(item.last_name, "lastName", required=True)
    if not 0 <= item.paid_amount <= MAX_AMOUNT:
        raise BadUserInput("must be 0 or more (minor units)", field="paidAmount")
    if not 1 <= item.num_seats <= 10_000:
        raise BadUserInput("must be 1 to 10000", field="numSeats")
    event_key = text(item.event_key, "eventKey", required=require_event_key)
    buyer_phone = phone(item.phone) if item.phone else ""
    purchased_at: datetime = item.purchased_at
    draft: Document = {
        "email": email, "first_name": first_name, "last_name": last_name, "phone": buyer_phone,
        "purchased_at": purchased_at, "purchase_day": purchased_at.date().isoformat(),
        "paid_amount": int(item.paid_amount), "currency": currency(item.currency),
        "num_seats": int(item.num_seats), "event_date": item.event_date.isoformat(),
        "event_name": text(item.event_name, "eventName", 200, required=True),
        "event_key": event_key, "ticket_key": text(item.ticket_key, "ticketKey", 200),
        "customer_key": text(item.customer_key, "customerKey"),
        "price_code": text(item.price_code, "priceCode", 64),
        "city": text(item.city, "city", 64), "province": text(item.province, "province", 64),
        "postal_code": text(item.postal_code, "postalCode", 64),
        "country_code": country(item.country_code),
        "artist_name": text(item.artist_name, "artistName", 200),
        "venue_name": text(item.venue_name, "venueName", 200),
        "network": text(item.network, "network", 64),
        "order_key": text(item.order_key, "orderKey", 200),
        "is_deleted": bool(item.is_deleted),
    }  # fmt: skip
    fan: Document = {
        "email": email, "first_name": first_name, "last_name": last_name,
        "is_subscribed": bool(item.is_subscribed),
        "is_phone_subscribed": bool(item.is_phone_subscribed),
        "country_code": draft["country_code"], "source": text(item.fan_source, "fanSource", 64),
    }  # fmt: skip
    if buyer_phone:
        fan["phone"] = buyer_phone
    if draft["country_code"]:
        fan.update({k: draft[k] for k, _ in LOCATION_FIELDS})
    draft["fan"] = fan
    return draft


async def create_ticket(info: Info, item: Any, partner_id: str | None) -> tuple[str, Document]:
    draft = ticket_draft(item)
    partner = await write_partner(info, partner_id)
    [result] = await data.create_tickets(info.context.db, partner, [draft])
    return result


async def create_tickets(
    info: Info, items: Sequence[Any], partner_id: str | None
) -> list[tuple[str, Document | BadUserInput]]:
    """One result per item: SUCCESS / DUPLICATE with its ticket, or INVALID with its error."""
    if not 1 <= len(items) <= MAX_BATCH:
        raise BadUserInput(f"send 1 to {MAX_BATCH} tickets", field="tickets")
    partner = await write_partner(info, partner_id)
    drafts: list[Document | BadUserInput] = []
    for item in items:
        try:
            drafts.append(ticket_draft(item, require_event_key=True))
        except BadUserInput as error:
            drafts.append(error)
    valid = [d for d in drafts if not isinstance(d, BadUserInput)]
    created = iter(await data.create_tickets(info.context.db, partner, valid) if valid else [])
    return [("INVALID", d) if isinstance(d, BadUserInput) else next(created) for d in drafts]


async def ticket(info: Info, ticket_id: str) -> Document:
    doc: Document | None = await info.context.loaders.get(data.TicketByIdLoader).load(
        parse_id(ticket_id, "tkt", "id")
    )
    if doc is None:
        raise NotFound("Ticket not found.", field="id")
    return doc


async def tickets(info: Info, filter: Any, first: int | None, after: str | None) -> Page:
    filters: Document = {}
    if filter is not None:
        filters = {
            "min_purchase_date": filter.min_purchase_date,
            "max_purchase_date": filter.max_purchase_date,
            "min_last_update_date": filter.min_last_update_date,
            "max_last_update_date": filter.max_last_update_date,
            "email": normalize_email(filter.email, "filter.email") if filter.email else None,
            "fan_id": parse_id(filter.fan_id, "fan", "filter.fanId") if filter.fan_id else None,
            "include_deleted": bool(filter.include_deleted),
        }
    return await data.list_tickets(info.context.db, info.context.scope, filters, first, after)


async def ticket_stats(info: Info, lo: date, hi: date, filters: Document, event_specific: bool,
                       partner_id: str | None) -> Document:  # fmt: skip
    if hi < lo:
        raise BadUserInput("must not be before minPurchaseDate", field="maxPurchaseDate")
    if (hi - lo).days > 3660:
        raise BadUserInput("at most ten years", field="maxPurchaseDate")
    partner = await write_partner(info, partner_id)
    return await data.ticket_stats(info.context.db, partner, lo, hi, filters, event_specific)


# --- ticket events ---------------------------------------------------------------------


def _event_fields(input: Any) -> Document:
    return {
        "event_name": text(input.event_name, "eventName", 200, required=True),
        "event_key": text(input.event_key, "eventKey", 120, required=True),
        "event_date": input.event_date.isoformat(),
        "network": text(input.network, "network", 64, required=True),
        "venue_name": text(input.venue_name, "venueName", 200),
        "artist_name": text(input.artist_name, "artistName", 200),
        "notes": text(input.notes, "notes", 2000),
        "label_name": text(input.label_name, "labelName", 120),
        "event_type": text(input.event_type, "eventType", 64),
    }


async def upsert_ticket_event(info: Info, input: Any) -> tuple[str, Document]:
    """Create, update or delete a ticket event: (action, the event as it was / is now)."""
    action = str(input.action.value)
    db, scope = info.context.db, info.context.scope
    if action == "delete":
        if not input.id:
            raise BadUserInput("id is required to delete", field="id")
        gone = await data.delete_ticket_event(db, scope, parse_id(input.id, "tev", "id"))
        if gone is None:
            raise NotFound("Ticket event not found.", field="id")
        return action, gone
    fields = _event_fields(input)
    try:
        if action == "create":
            partner = await write_partner(info, input.partner_id)
            return action, await data.insert_ticket_event(db, partner, fields)
        if not input.id:
            raise BadUserInput("id is required to update", field="id")
        doc = await data.update_ticket_event(db, scope, parse_id(input.id, "tev", "id"), fields)
    except DuplicateKeyError:
        raise Conflict("An event with this network and eventKey exists.",
                       field="eventKey") from None  # fmt: skip
    if doc is None:
        raise NotFound("Ticket event not found.", field="id")
    return action, doc


async def ticket_events(info: Info, filters: Document, first: int | None,
                        after: str | None) -> Page:  # fmt: skip
    return await data.list_ticket_events(info.context.db, info.context.scope, filters, first,
                                         after)  # fmt: skip


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


# --- live ----------------------------------------------------------------------------


async def sold_tickets(info: Info) -> AsyncIterator[Document]:
    """`ticketSold`: the caller's partner's tickets as they are stored (not deleted ones)."""
    async for ticket in inserted(info, "tickets"):
        if not ticket.get("is_deleted"):
            yield ticket


async def fan_activities(info: Info) -> AsyncIterator[Document]:
    """`fanActivity`: the caller's partner's fan activities as they are recorded."""
    async for activity in inserted(info, "fan_activities"):
        yield activity
