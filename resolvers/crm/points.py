"""CRM points (seed 002): awarding with links and a dedup key, the awarded-points list, and
the display-name check. Awards land in the fan's partner; another partner's fan or activity is
`NOT_FOUND`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders.base import Page
from loaders.crm import points as data
from resolvers.crm.common import fan_by_id, text, write_partner

MAX_POINTS = 1_000_000
MAX_WINDOW_DAYS = 366
DISPLAY_NAME_RE = re.compile(r"^[\w .\-]{3,32}$")
SUGGESTIONS = 20


async def award_points(info: Info, input: Any) -> tuple[Document, bool]:
    point_name = text(input.point_name, "pointName", 64, required=True)
    if "|" in point_name:
        raise BadUserInput("must not contain '|'", field="pointName")
    if input.count == 0 or abs(input.count) > MAX_POINTS:
        raise BadUserInput(f"non-zero, at most {MAX_POINTS} either way", field="count")
    award_key = text(input.award_key, "awardKey", 200) or None
    links: Document = {
        "point_type": input.point_type.value,
        "reward_id": text(input.reward_id, "rewardId", 64) or None,
        "campaign_id": text(input.campaign_id, "campaignId", 64) or None,
        "session_id": text(input.session_id, "sessionId", 64) or None,
    }
    activity_id = parse_id(input.activity_id, "fac", "activityId") if input.activity_id else None
    fan = await fan_by_id(info, input.fan_id, "fanId")
    if activity_id is not None:
        activity = await data.activity_of(info.context.db, fan["partner_id"], activity_id)
        if activity is None:
            raise NotFound("Activity not found.", field="activityId")
        if activity["fan_id"] != fan["_id"]:
            raise BadUserInput("is another fan's activity", field="activityId")
        links["activity_id"] = activity_id
    doc, duplicate = await data.award_points(
        info.context.db,
        fan["partner_id"],
        fan["_id"],
        point_name,
        int(input.count),
        award_key,
        links,
    )
    if duplicate and (doc["fan_id"] != fan["_id"] or doc["point_name"] != point_name):
        raise Conflict("awardKey was used for another award.", field="awardKey")
    return doc, duplicate


async def awards(
    info: Info, lo: date, hi: date, point_name: str | None, fan_id: str | None,
    first: int | None, after: str | None, leaderboard: bool = False,
) -> Page:  # fmt: skip
    if hi < lo:
        raise BadUserInput("must not be before startDate", field="endDate")
    if (hi - lo).days >= MAX_WINDOW_DAYS:
        raise BadUserInput(f"at most {MAX_WINDOW_DAYS} days", field="endDate")
    name = (text(point_name, "pointName", 64) or None) if point_name is not None else None
    fan = parse_id(fan_id, "fan", "fanId") if fan_id is not None else None
    return await data.list_awards(info.context.db, info.context.scope, lo, hi, name, fan,
                                  first, after, leaderboard)  # fmt: skip


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
