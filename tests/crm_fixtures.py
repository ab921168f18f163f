"""Given-state helpers for the CRM tests: fans, tickets, activities written through data access."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from gateway.storage.mongo import Database, Document
from loaders import crm as data


async def given_fan(db: Database, partner_id: str, **fields: Any) -> Document:
    fields.setdefault("email", f"fan-{uuid.uuid4().hex[:10]}@example.com")
    doc = data.new_fan_doc(partner_id, fields)
    await data.insert_fan(db, doc)
    return doc


def ticket_draft(email: str, purchased_at: datetime, **extra: Any) -> Document:
    draft: Document = {
        "email": email, "first_name": "Tess", "last_name": "Buyer", "phone": "",
        "purchased_at": purchased_at, "purchase_day": purchased_at.date().isoformat(),
        "paid_amount": 5000, "currency": "EUR", "num_seats": 2, "event_date": "2026-06-01",
        "event_name": "Summer Show", "event_key": "summer", "ticket_key": "",
        "customer_key": "", "price_code": "", "city": "", "province": "", "postal_code": "",
        "country_code": "", "artist_name": "", "venue_name": "Arena", "network": "tm",
        "order_key": "", "is_deleted": False,
    }  # fmt: skip
    draft.update(extra)
    draft["fan"] = {"email": email, "first_name": draft["first_name"],
                    "last_name": draft["last_name"]}  # fmt: skip
    return draft


async def given_tickets(db: Database, partner_id: str, drafts: list[Document]) -> list[Document]:
    results = await data.create_tickets(db, partner_id, drafts)
    return [doc for _, doc in results]


def at(day: str, hour: int = 12) -> datetime:
    y, m, d = (int(p) for p in day.split("-"))
    return datetime(y, m, d, hour, tzinfo=UTC)


def ticket_input(**overrides: Any) -> dict[str, Any]:
    """A valid `CreateTicketInput` as GraphQL variables."""
    value: dict[str, Any] = {
        "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
        "purchasedAt": "2026-03-01T10:00:00+00:00", "paidAmount": 4500, "currency": "EUR",
        "numSeats": 1, "eventDate": "2026-06-01", "eventName": "Summer Show",
        "eventKey": "summer", "venueName": "Arena",
    }  # fmt: skip
    value.update(overrides)
    return value
