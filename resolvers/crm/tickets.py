"""Ticket resolvers: create one or a batch, list, stats; ticket events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import crm as data
from loaders.base import Page
from loaders.identity import normalize_email
from resolvers.crm.common import (
    LOCATION_FIELDS,
    MAX_AMOUNT,
    MAX_BATCH,
    country,
    currency,
    phone,
    text,
    write_partner,
)

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
        "metro_area": text(item.metro_area, "metroArea", 64),
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


def ticket_filters(filter: Any) -> Document:
    """The checked `TicketFilter` (shared by `tickets` and `ticketSync`)."""
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
    return filters


async def tickets(info: Info, filter: Any, first: int | None, after: str | None) -> Page:
    filters = ticket_filters(filter)
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
