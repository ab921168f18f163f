"""Client-facing content strings (About us, Privacy policy, …) per partner.

The app renders these values as HTML, so every value is sanitised on write with nh3
against an allow-list: no script, no event-handler attributes, no `javascript:` URLs
are ever stored. One document per partner holds all its strings; updates merge keys
with `$set` on `strings.<key>` (keys are validated, so they never contain `.` or `$`).
"""

from __future__ import annotations

import re
from typing import Any

import nh3

from gateway.core.errors import BadUserInput
from gateway.core.validation import check_printable
from gateway.storage.mongo import Database
from loaders.base import IndexSpec, epoch_ms, utcnow

INDEXES = [IndexSpec("content_strings", [("partner_id", 1)], unique=True)]

KEY_RE = re.compile(r"^st_[a-z0-9_]{1,60}$")
MAX_VALUE_LENGTH = 5_000  # below the gateway-wide 10,000-character argument cap
MAX_KEYS_PER_UPDATE = 50

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def sanitize(value: str) -> str:
    """Allow-listed HTML only; script/style contents are dropped, not kept as text."""
    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        strip_comments=True,
    )


def clean_updates(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Validate keys and lengths, then sanitise values (nothing written if any is bad)."""
    if not 1 <= len(pairs) <= MAX_KEYS_PER_UPDATE:
        raise BadUserInput(f"send 1 to {MAX_KEYS_PER_UPDATE} strings", field="strings")
    out: dict[str, str] = {}
    for key, value in pairs:
        if not KEY_RE.match(key):
            raise BadUserInput("keys look like st_[a-z0-9_]+", field="strings", key=key[:64])
        if key in out:
            raise BadUserInput("a key appears twice", field="strings", key=key)
        if len(value) > MAX_VALUE_LENGTH:
            raise BadUserInput(f"at most {MAX_VALUE_LENGTH} characters", field="strings", key=key)
        check_printable(value, "strings", multiline=True)
        out[key] = sanitize(value)
    return out


def _doc_id(partner_id: str) -> str:
    return f"cst_{partner_id}"


async def content_strings(db: Database, partner_id: str) -> dict[str, str]:
    doc = await db.content_strings.find_one({"_id": _doc_id(partner_id), "partner_id": partner_id})
    strings: dict[str, Any] = (doc or {}).get("strings") or {}
    return {str(k): str(v) for k, v in strings.items()}


async def merge_content_strings(db: Database, partner_id: str, values: dict[str, str]) -> None:
    """Set the given keys, keep the others."""
    await db.content_strings.update_one(
        {"_id": _doc_id(partner_id), "partner_id": partner_id},
        {
            "$set": {**{f"strings.{k}": v for k, v in values.items()},
                     "updated_ms": epoch_ms(utcnow())},
        },
        upsert=True,
    )  # fmt: skip
