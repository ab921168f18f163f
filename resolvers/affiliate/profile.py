"""Publisher profile and websites."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput, Forbidden, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import identifiers as ids
from loaders.base import Scope
from loaders.identity import normalize_email
from resolvers.affiliate.common import partner_for

# --- profile and websites ------------------------------------------------------------

_REQUIRED_PROFILE = {"contact_locale", "default_currency", "reporting_timezone", "week_start",
                     "network_status", "account_name", "company_name", "contact_name"}  # fmt: skip
_CAMEL = {
    "account_name": "accountName", "company_name": "companyName", "contact_name": "contactName",
    "contact_email": "contactEmail", "contact_locale": "contactLocale",
    "default_currency": "defaultCurrency", "reporting_timezone": "reportingTimezone",
    "operating_country": "operatingCountry", "vertical": "vertical",
    "promotional_method": "promotionalMethod", "week_start": "weekStart",
    "network_status": "networkStatus", "phone": "phone", "phone_area": "phoneArea",
    "im_provider": "imProvider", "im_username": "imUsername", "legal_entity": "legalEntity",
    "company_division": "companyDivision", "description": "description", "logo_url": "logoUrl",
    "vat_number": "vatNumber", "uk_vat_registered": "ukVatRegistered",
    "gst_registered": "gstRegistered", "abn": "abn", "us_tax_state": "usTaxState",
}  # fmt: skip
_IDENTIFIERS = {
    "phone": ids.validate_phone, "phone_area": ids.validate_phone_area,
    "im_username": ids.validate_im_username, "description": ids.validate_description,
    "logo_url": ids.validate_logo, "vat_number": ids.validate_vat, "abn": ids.validate_abn,
    "us_tax_state": ids.validate_us_state,
}  # fmt: skip


def validate_profile(changes: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
    """Profile changes (snake_case keys, only the fields sent) as stored values."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        name = _CAMEL[key]
        if value is None:
            if key in _REQUIRED_PROFILE:
                raise BadUserInput("cannot be cleared", field=name)
            out[key] = None
        elif key in {"account_name", "company_name", "contact_name"}:
            out[key] = data.validate_text(value, name, 120)
        elif key == "contact_email":
            out[key] = normalize_email(value, field=name)
        elif key == "contact_locale":
            out[key] = data.validate_locale(value, field=name)
        elif key == "default_currency":
            out[key] = data.validate_currency(value, field=name)
        elif key == "reporting_timezone":
            out[key] = data.validate_timezone(value, field=name).key
        elif key == "operating_country":
            out[key] = data.validate_country(value, field=name)
        elif key in _IDENTIFIERS:
            out[key] = _IDENTIFIERS[key](value, name)
        elif key == "company_division":
            out[key] = data.validate_text(value, name, 120)
        elif key in {"uk_vat_registered", "gst_registered"}:
            out[key] = bool(value)
        elif key == "network_status":
            # The network decides a publisher's standing, not the publisher.
            if not scope.is_operator:
                raise Forbidden("Only operators change the network status.", field=name)
            out[key] = value.value
        else:  # enums already checked by GraphQL
            out[key] = value.value
    if not out:
        raise BadUserInput("nothing to update", field="input")
    if out.get("im_username") and "im_provider" not in out:
        raise BadUserInput("name the messaging provider with the username", field="imProvider")
    return out


async def update_partner_profile(
    info: Info, partner_id: str | None, changes: Mapping[str, Any]
) -> Document:
    pid = partner_for(info.context.scope, partner_id)
    fields = validate_profile(changes, info.context.scope)
    doc = await data.update_partner_profile(info.context.db, pid, fields)
    if doc is None:
        raise NotFound("Partner not found.")
    return doc


def validate_website(fields: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            if key in {"url", "primary", "active", "name", "description"}:
                raise BadUserInput("cannot be null", field=key)
            out[key] = None
        elif key == "url":
            out[key] = data.validate_url(value, "url")
        elif key in {"name", "description"}:
            out[key] = data.validate_text(value, key, 120 if key == "name" else 1000)
        elif key == "country":
            out[key] = data.validate_country(value, field="country")
        elif key in {"primary", "active"}:
            out[key] = bool(value)
        else:
            out[key] = value.value
    if creating:
        defaults = {"name": "", "description": "", "type": None, "vertical": None,
                    "country": None, "primary": False, "active": True}  # fmt: skip
        out = {**defaults, **out}
    elif not out:
        raise BadUserInput("nothing to update", field="input")
    return out


async def create_website(info: Info, partner_id: str | None, fields: Mapping[str, Any]) -> Document:
    pid = partner_for(info.context.scope, partner_id)
    values = validate_website(fields, creating=True)
    if await info.context.db.partners.count_documents({"_id": pid}) == 0:
        raise NotFound("Partner not found.", field="partnerId")
    return await data.insert_website(info.context.db, pid, values)


async def update_website(info: Info, website_id: str, fields: Mapping[str, Any]) -> Document:
    wid = parse_id(website_id, "web")
    values = validate_website(fields, creating=False)
    doc = await data.update_website(info.context.db, info.context.scope, wid, values)
    if doc is None:
        raise NotFound("Website not found.")
    return doc
