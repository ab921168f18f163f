"""The CRM's live streams: `ticketSold` and `fanActivity` for the caller's partner."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gateway.context import Info
from gateway.storage.mongo import Document
from resolvers.live import inserted

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
