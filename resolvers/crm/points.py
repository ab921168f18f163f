"""CRM awarded-points list and the display-name check (seed 002)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from gateway.context import Info
from gateway.core.errors import BadUserInput
from gateway.core.ids import parse_id
from loaders.base import Page
from loaders.crm import points as data
from resolvers.crm.core import text, write_partner

MAX_WINDOW_DAYS = 366
DISPLAY_NAME_RE = re.compile(r"^[\w .\-]{3,32}$")
SUGGESTIONS = 20


async def awards(
    info: Info, lo: date, hi: date, point_name: str | None, fan_id: str | None,
    first: int | None, after: str | None,
) -> Page:  # fmt: skip
    if hi < lo:
        raise BadUserInput("must not be before startDate", field="endDate")
    if (hi - lo).days >= MAX_WINDOW_DAYS:
        raise BadUserInput(f"at most {MAX_WINDOW_DAYS} days", field="endDate")
    name = (text(point_name, "pointName", 64) or None) if point_name is not None else None
    fan = parse_id(fan_id, "fan", "fanId") if fan_id is not None else None
    return await data.list_awards(info.context.db, info.context.scope, lo, hi, name, fan,
                                  first, after)  # fmt: skip


def check_display_name(value: str) -> str:
    """A valid display name (3..32 letters, digits, space, `_ . -`), or BAD_USER_INPUT."""
    name = unicodedata.normalize("NFC", value.strip())
    if not DISPLAY_NAME_RE.match(name) or "  " in name:
        raise BadUserInput(
            "3 to 32 letters, digits, spaces (single), '_', '.' or '-'", field="displayName"
        )
    return name


async def display_name(info: Info, value: str, partner_id: str | None) -> tuple[str, bool]:
    """(the name to use, whether it was free): a taken name gets the first free `name<N>`."""
    name = check_display_name(value)
    partner = await write_partner(info, partner_id)
    stem = name[: 32 - len(str(SUGGESTIONS))]
    candidates = [name, *(f"{stem}{n}" for n in range(2, SUGGESTIONS + 2))]
    taken = await data.taken_display_names(info.context.db, partner, candidates)
    if name not in taken:
        return name, True
    for candidate in candidates[1:]:
        if candidate not in taken:
            return candidate, False
    raise BadUserInput("taken, and so are its suggestions", field="displayName")
