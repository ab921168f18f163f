"""CRM segments (seed 002): the list, a segment's status and fans, saving searches.

Segments belong to one partner: staff and keys use their own, operators name `partnerId`.
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders.base import Page, check_first
from loaders.crm import segments as data
from resolvers.crm.common import text, write_partner
from resolvers.crm.fans import fan_filters

_ID_PREFIX = {"snapshot": "snp", "filter": "sfl"}


def segment_id(seg_type: str, seg_id: str) -> str:
    """Check a segment id of its type: a tag name, or a `snp_…` / `sfl_…` id."""
    if seg_type == "tag":
        return text(seg_id, "id", 64, required=True)
    return parse_id(seg_id, _ID_PREFIX[seg_type], "id")


async def segments(
    info: Info, seg_type: str | None, partner_id: str | None, first: int | None, after: str | None
) -> Page:
    check_first(first)
    partner = await write_partner(info, partner_id)
    return await data.list_segments(info.context.db, partner, seg_type, first, after)


async def _query(info: Info, seg_type: str, seg_id: str, partner_id: str | None) -> dict[str, Any]:
    wanted = segment_id(seg_type, seg_id)
    partner = await write_partner(info, partner_id)
    query = await data.segment_fan_query(
        info.context.db, info.context.scope, partner, seg_type, wanted
    )
    if query is None:
        raise NotFound("Segment not found.", field="id")
    return query


async def segment_status(
    info: Info, seg_type: str, seg_id: str, partner_id: str | None
) -> Document:
    query = await _query(info, seg_type, seg_id, partner_id)
    return await data.segment_status(info.context.db, query)


async def segment_fans(
    info: Info, seg_type: str, seg_id: str, partner_id: str | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    check_first(first, data.MAX_SEGMENT_PAGE)
    query = await _query(info, seg_type, seg_id, partner_id)
    return await data.segment_fans(info.context.db, query, first, after)


async def save_segment(info: Info, kind: str, name: str, filter: Any, partner_id: str | None
                       ) -> Document:  # fmt: skip
    """Save a search as a FILTER segment, or freeze its result as a SNAPSHOT."""
    label = text(name, "name", 120, required=True)
    filters = {k: v for k, v in fan_filters(filter).items() if v is not None}
    partner = await write_partner(info, partner_id)
    insert = data.insert_snapshot if kind == "snapshot" else data.insert_search_filter
    try:
        return await insert(info.context.db, info.context.scope, partner, label, filters)
    except DuplicateKeyError:
        raise Conflict(f"A {kind} with this name exists.", field="name") from None


async def delete_segment(info: Info, seg_type: str, seg_id: str, partner_id: str | None) -> bool:
    if seg_type == "tag":
        raise BadUserInput("tags are removed by updating fans", field="type")
    wanted = segment_id(seg_type, seg_id)
    partner = await write_partner(info, partner_id)
    if not await data.delete_segment(info.context.db, partner, seg_type, wanted):
        raise NotFound("Segment not found.", field="id")
    return True
