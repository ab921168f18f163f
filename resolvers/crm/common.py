"""Fan CRM resolvers' shared checks: field validation and the tenancy of writes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from strawberry.types.unset import UnsetType

from gateway.context import Info
from gateway.core.errors import BadUserInput, NotFound
from gateway.core.ids import parse_id
from gateway.core.validation import check_printable
from gateway.storage.mongo import Document
from loaders import crm as data
from loaders.partners import PartnerByIdLoader

MAX_BATCH = 100
MAX_PAIRS = 50
MAX_TAGS = 50
MAX_AMOUNT = 10**12
GENDERS = frozenset({"male", "female", "diverse", "other"})
PHONE_RE = re.compile(r"^\+?[0-9]{6,15}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
LOCATION_FIELDS = (("province", "province"), ("city", "city"), ("postal_code", "postalCode"))


# --- field validation ------------------------------------------------------------------


def text(value: str | None, field: str, max_len: int = 120, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise BadUserInput("is required", field=field)
    if len(value) > max_len:
        raise BadUserInput(f"at most {max_len} characters", field=field)
    return check_printable(value, field)


def phone(value: str, field: str = "phone") -> str:
    cleaned = re.sub(r"[\s\-().]", "", value)
    if not PHONE_RE.match(cleaned):
        raise BadUserInput("not a valid phone number", field=field)
    return cleaned


def country(value: str | None, field: str = "countryCode") -> str:
    value = (value or "").strip().upper()
    if value and not COUNTRY_RE.match(value):
        raise BadUserInput("must be an ISO 3166-1 alpha-2 code", field=field)
    return value


def currency(value: str, field: str = "currency") -> str:
    value = value.strip().upper()
    if not CURRENCY_RE.match(value):
        raise BadUserInput("must be an ISO 4217 code", field=field)
    return value


def pairs(items: Iterable[Any] | None, field: str) -> dict[str, str]:
    """Key/value pairs as a map; keys become document keys, so `$` and `.` are refused."""
    out: dict[str, str] = {}
    for item in items or []:
        key = item.key.strip()
        if not 1 <= len(key) <= 64 or "$" in key or "." in key or "\x00" in key:
            raise BadUserInput("keys are 1..64 characters without '$' or '.'", field=field)
        if key in out:
            raise BadUserInput(f"key {key!r} given twice", field=field)
        check_printable(key, field)
        if len(item.value) > 1000:
            raise BadUserInput("values are at most 1000 characters", field=field)
        out[key] = check_printable(item.value, field, multiline=True)
    if len(out) > MAX_PAIRS:
        raise BadUserInput(f"at most {MAX_PAIRS} pairs", field=field)
    return out


def tags(values: Iterable[str] | None, field: str = "tags") -> list[str]:
    out: list[str] = []
    for value in values or []:
        tag = text(value, field, 64, required=True)
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise BadUserInput(f"at most {MAX_TAGS} tags", field=field)
    return out


def opt_ins(items: Iterable[Any] | None, current: Sequence[str] = ()) -> list[str]:
    """Business opt-ins applied to the current set: true opts in, false opts out."""
    out = list(current)
    for item in items or []:
        business = text(item.business_id, "businessOptIns", 64, required=True)
        if item.opted_in and business not in out:
            out.append(business)
        elif not item.opted_in and business in out:
            out.remove(business)
    return out


def gender(value: Any) -> str:
    return "" if value is None else str(value.value)


def _sent(value: Any) -> bool:
    return not isinstance(value, UnsetType)


# --- tenancy helpers -------------------------------------------------------------------


async def write_partner(info: Info, requested: str | None) -> str:
    """The partner a create lands in; operators must name an existing one."""
    scope = info.context.scope
    wanted = parse_id(requested, "par", "partnerId") if requested is not None else None
    partner_id = scope.partner_id_for_write(wanted)
    if (
        scope.is_operator
        and await info.context.loaders.get(PartnerByIdLoader).load(partner_id) is None
    ):
        raise NotFound("Partner not found.", field="partnerId")
    return partner_id


async def fan_by_id(info: Info, fan_id: str, field: str = "id") -> Document:
    doc: Document | None = await info.context.loaders.get(data.FanByIdLoader).load(
        parse_id(fan_id, "fan", field)
    )
    if doc is None:
        raise NotFound("Fan not found.", field=field)
    return doc


async def load_fan(info: Info, fan_id: str) -> Document | None:
    doc: Document | None = await info.context.loaders.get(data.FanByIdLoader).load(fan_id)
    return doc
