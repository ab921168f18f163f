"""Tracking links, and following one: the click it records and where it leads."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pymongo import ReturnDocument

from gateway.core.errors import BadUserInput
from gateway.core.ids import new_id
from gateway.storage.mongo import Database, Document
from loaders.affiliate.common import owned
from loaders.affiliate.events import click_doc
from loaders.affiliate.promotion import campaign_creative, creative_attribution
from loaders.affiliate.reference import LINK_PARAM_KEYS, validate_text
from loaders.base import (
    Page,
    Scope,
    ScopedLoader,
    epoch_ms,
    in_key_order,
    paginate,
    utcnow,
)

# --- tracking links ------------------------------------------------------------------


def validate_link_params(params: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for key, value in params:
        if key not in LINK_PARAM_KEYS:
            allowed = ", ".join(sorted(LINK_PARAM_KEYS))
            raise BadUserInput(f"unknown parameter {key!r} (allowed: {allowed})", field="params")
        if key in seen:
            raise BadUserInput(f"parameter {key!r} given twice", field="params")
        seen.add(key)
        out.append({"key": key, "value": validate_text(value, "params", 255, required=True)})
    if len(out) > 20:
        raise BadUserInput("at most 20 parameters", field="params")
    return out


async def insert_link(db: Database, fields: Mapping[str, Any]) -> Document:
    now = utcnow()
    doc: Document = {"_id": new_id("lnk"), **fields, "created_at": now, "updated_ms": epoch_ms(now)}
    await db.affiliate_links.insert_one(doc)
    return doc


async def update_link(
    db: Database, scope: Scope, link_id: str, changes: Mapping[str, Any]
) -> Document | None:
    return await db.affiliate_links.find_one_and_update(
        {**scope.tenant(), "_id": link_id},
        {"$set": {**changes, "updated_ms": epoch_ms(utcnow())}},
        return_document=ReturnDocument.AFTER,
    )


class LinkByIdLoader(ScopedLoader[str, Document | None]):
    """Tracking links by id, within the caller's tenant."""

    async def load_batch(self, keys: list[str]) -> list[Document | None]:
        query = {**self.scope.tenant(), "_id": {"$in": keys}}
        rows = await self.db.affiliate_links.find(query).to_list(None)
        return in_key_order(keys, rows)


async def list_links(
    db: Database,
    scope: Scope,
    partner_id: str,
    campaign_id: str | None,
    first: int | None,
    after: str | None,
) -> Page:
    query: dict[str, Any] = owned(scope, partner_id)
    if campaign_id is not None:
        query["campaign_id"] = campaign_id
    return await paginate(db.affiliate_links, query, sort=[("_id", 1)], first=first, after=after)


# --- following a link (GET /t/{linkId}) ----------------------------------------------

# User agents that are not people: crawlers, link unfurlers, uptime checks, scripts.
# Their visits are redirected but never recorded as clicks.
_BOT_AGENT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|unfurl|monitor|headless|lighthouse|curl/|wget/|"
    r"python-|httpclient|okhttp|java/|go-http|libwww|facebookexternalhit|embedly|scanner",
    re.IGNORECASE,
)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|android(?!.*mobile)", re.IGNORECASE)
_MOBILE = re.compile(r"mobi|iphone|ipod|android|blackberry|opera mini|iemobile", re.IGNORECASE)
_DESKTOP = re.compile(r"windows nt|macintosh|x11|cros|linux x86_64", re.IGNORECASE)
_COOKIE_ID = re.compile(r"^ck_[A-Za-z0-9_-]{8,40}$")
DEFAULT_COOKIE_DAYS = 30
MAX_UA = 512
MAX_REFERER = 2048


def is_bot(user_agent: str) -> bool:
    """No user agent, or one naming a crawler / unfurler / script."""
    return not user_agent.strip() or bool(_BOT_AGENT.search(user_agent))


def device_of(user_agent: str) -> str:
    """The device class a user agent names (tablet before mobile: tablets say Android too)."""
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    if _DESKTOP.search(user_agent):
        return "desktop"
    return "other"


def visitor_cookie(value: str | None) -> str:
    """The visitor id from our cookie, or a new one when absent or not ours."""
    if value and _COOKIE_ID.match(value):
        return value
    return new_id("ck")


def destination(link: Mapping[str, Any], click_id: str | None) -> str:
    """Where a link leads: its stored destination plus its parameters and, when a click was
    recorded, `clickref` (the click id the brand reports conversions against) unless the
    link sets its own. Nothing from the visitor's request goes into the URL."""
    parts = urlsplit(str(link["destination_url"]))
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = [(str(p["key"]), str(p["value"])) for p in link.get("params", [])]
    if click_id is not None and "clickref" not in {k for k, _ in params}:
        params.append(("clickref", click_id))
    return urlunsplit(parts._replace(query=urlencode([*query, *params])))


@dataclass(frozen=True)
class Visit:
    """One request for a tracking link, as the HTTP edge saw it."""

    ip: str
    user_agent: str
    referer: str
    cookie_id: str
    recordable: bool = True  # False for HEAD requests: link checkers, not people
    # the `creative` query parameter of a creative's tracking code (crv_ id, shape-checked)
    creative_id: str = ""


@dataclass(frozen=True)
class Followed:
    """Where to send the visitor, and what was recorded."""

    location: str
    cookie_id: str
    cookie_days: int
    click_id: str | None = None
    duplicate: bool = False


async def follow_link(
    db: Database, link_id: str, visit: Visit, duplicate_window_ms: int
) -> Followed | None:
    """Record a click for a visit of `link_id` and say where to redirect (None: no such link).

    Public: the link id is all the visitor has, so the link decides the tenant. A click is
    recorded only for a person (not a bot, not HEAD) following an active link on an active
    campaign the partner is approved on; otherwise the visitor still lands on the link's own
    destination. The same visitor on the same link within `duplicate_window_ms` is one
    click: its `last_ms` / `last_ip` move instead of a new row (double clicks, reloads).
    """
    link = await db.affiliate_links.find_one({"_id": link_id})
    if link is None:
        return None
    campaign = await db.affiliate_campaigns.find_one({"_id": link["campaign_id"]}) or {}
    days = int(campaign.get("cookie_period_days") or DEFAULT_COOKIE_DAYS)
    pid = str(link["partner_id"])
    tracked = (
        visit.recordable
        and bool(link.get("active"))
        and campaign.get("status") == "active"
        and not is_bot(visit.user_agent)
    )
    if tracked:
        ptc = await db.affiliate_participations.find_one(
            {"partner_id": pid, "campaign_id": link["campaign_id"]}, projection={"status": 1}
        )
        tracked = ptc is not None and ptc["status"] == "approved"
    if not tracked:
        return Followed(destination(link, None), visit.cookie_id, days)
    now = utcnow()
    now_ms = epoch_ms(now)
    previous = await db.affiliate_clicks.find_one_and_update(
        {"partner_id": pid, "link_id": link_id, "cookie_id": visit.cookie_id,
         "ts": {"$gte": now_ms - duplicate_window_ms}},
        {"$set": {"last_ms": now_ms, "last_ip": visit.ip}},
        sort=[("ts", -1)], projection={"_id": 1},
    )  # fmt: skip
    if previous is not None:
        return Followed(destination(link, previous["_id"]), visit.cookie_id, days,
                        previous["_id"], duplicate=True)  # fmt: skip
    refs = {str(p["key"]): str(p["value"]) for p in link.get("params", [])}
    creative = await _creative(db, link, visit.creative_id)
    click = click_doc(
        pid, campaign, now, cookie_id=visit.cookie_id, device=device_of(visit.user_agent),
        link_id=link_id, publisher_reference=refs.get("pubref", ""),
        advertiser_reference=refs.get("adref", ""), referer=visit.referer[:MAX_REFERER],
        ip=visit.ip, user_agent=visit.user_agent[:MAX_UA], **creative_attribution(creative),
        params=link.get("params", []),
    )  # fmt: skip
    await db.affiliate_clicks.insert_one(click)
    return Followed(destination(link, click["_id"]), visit.cookie_id, days, click["_id"])


async def _creative(db: Database, link: Mapping[str, Any], requested: str) -> Document | None:
    """The creative a click came through: the one its tracking code names (`?creative=`) when
    that is an active creative of the link's campaign, else the link's own, else none. An
    unknown or foreign creative is ignored (the visitor is a person, not an API client: the
    click still counts, attributed as the link says)."""
    for candidate in (requested, str(link.get("creative_ref") or "")):
        if candidate:
            found = await campaign_creative(db, str(link["campaign_id"]), candidate)
            if found is not None:
                return found
    return None
