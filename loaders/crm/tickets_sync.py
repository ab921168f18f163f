"""Seed 002 "Download incremental list of tickets": windows of the partner's ticket sequence.

A ticket's `seq` (the seed's `ticket_id`) comes from a per-partner counter, so it only grows
and is unique within the partner: `min_seq < seq < max_seq` is the seed's window, read in
ascending or descending order on the index `(partner_id, seq, _id)`. The next batch of an
ascending sync starts above the batch's largest sequence (`min_seq = max of the batch`), of a
descending one below its smallest. The list filters (purchase and last-update days, email,
deleted tickets) are the same as `tickets` (`loaders.crm.tickets.ticket_conditions`).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.storage.mongo import Database, Document
from loaders.base import conjoin
from loaders.crm.tickets import ticket_conditions

MAX_TICKET_SYNC_PAGE = 1000  # the seed's "Max. allowed value is 1000"


@dataclass
class TicketBatch:
    """One batch of the sync: its rows in the asked order and whether the window holds more."""

    rows: list[Document]
    has_more: bool

    @property
    def min_seq(self) -> int | None:
        return min((int(r["seq"]) for r in self.rows), default=None)

    @property
    def max_seq(self) -> int | None:
        return max((int(r["seq"]) for r in self.rows), default=None)


async def sync_tickets(
    db: Database, partner_id: str, filters: Document, min_seq: int | None,
    max_seq: int | None, descending: bool, limit: int,
) -> TicketBatch:  # fmt: skip
    """Tickets of one partner with `min_seq < seq < max_seq`, at most `limit`, one `find`."""
    window: dict[str, int] = {}
    if min_seq is not None:
        window["$gt"] = min_seq
    if max_seq is not None:
        window["$lt"] = max_seq
    query = conjoin({"partner_id": partner_id}, ticket_conditions(filters),
                    {"seq": window} if window else None)  # fmt: skip
    direction = -1 if descending else 1
    rows = await db.tickets.find(
        query, sort=[("seq", direction), ("_id", direction)], limit=limit + 1
    ).to_list(limit + 1)
    return TicketBatch(rows=rows[:limit], has_more=len(rows) > limit)
