"""Content strings: read for staff and the app, merge-update for staff."""

from __future__ import annotations

from gateway.context import Info
from gateway.core.ids import parse_id
from loaders import content as data


def _partner(info: Info, partner_id: str | None) -> str:
    requested = parse_id(partner_id, "par", "partnerId") if partner_id is not None else None
    return info.context.scope.partner_id_for_write(requested)


async def content_strings(info: Info, partner_id: str | None) -> dict[str, str]:
    return await data.content_strings(info.context.db, _partner(info, partner_id))


async def update_content_strings(
    info: Info, pairs: list[tuple[str, str]], partner_id: str | None
) -> dict[str, str]:
    owner = _partner(info, partner_id)
    values = data.clean_updates(pairs)
    await data.merge_content_strings(info.context.db, owner, values)
    return await data.content_strings(info.context.db, owner)
