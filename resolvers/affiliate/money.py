"""Money: self-bills (operator creates and advances them; partners read them), payment
details (partners add theirs), balance summary and available commission."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import money
from loaders.base import Page
from loaders.identity import normalize_email
from resolvers.affiliate.common import partner_for

NEXT_STATUS = {"created": "available", "available": "paid"}
MAX_VAT_RATE = 0.5
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_DIGITS = re.compile(r"^[0-9]{4,20}$")


def iban_ok(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 = 1."""
    if not _IBAN.match(iban) or iban[:2] not in data.COUNTRIES:
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _details(payment_type: str, values: Mapping[str, str]) -> dict[str, str]:
    name = data.validate_text(values.get("account_name", ""), "accountName", 120, required=True)
    out = {"account_name": name}
    if payment_type == "iban":
        iban = re.sub(r"\s+", "", values.get("iban", "")).upper()
        if not iban_ok(iban):
            raise BadUserInput("not a valid IBAN (country, length, checksum)", field="iban")
        bic = values.get("bic", "").strip().upper()
        if not _BIC.match(bic):
            raise BadUserInput("a BIC has 8 or 11 characters: bank, country, location, branch",
                               field="bic")  # fmt: skip
        out.update(iban=iban, bic=bic)
    elif payment_type == "eft":
        account = values.get("account_number", "").strip()
        routing = values.get("routing_number", "").strip()
        if not _DIGITS.match(account):
            raise BadUserInput("4 to 20 digits", field="accountNumber")
        if not re.fullmatch(r"[0-9]{6,9}", routing):
            raise BadUserInput("6 to 9 digits", field="routingNumber")
        out.update(
            account_number=account,
            routing_number=routing,
            bank_name=data.validate_text(values.get("bank_name", ""), "bankName", 120),
        )
    else:
        out["email"] = normalize_email(values.get("email", ""), field="email")
    return out


async def create_payment_detail(
    info: Info, partner_id: str | None, fields: Mapping[str, Any]
) -> Document:
    pid = partner_for(info.context.scope, partner_id)
    payment_type = fields["payment_type"]
    if payment_type not in money.PAYMENT_TYPES:
        raise BadUserInput(f"unknown payment type {payment_type!r}", field="paymentType")
    country = data.validate_country(fields["country"])
    paid = data.validate_currency(fields["paid_currency"], "paidCurrency")
    tracked = sorted({data.validate_currency(c, "trackedCurrencies")
                      for c in fields["tracked_currencies"]})  # fmt: skip
    if not tracked:
        raise BadUserInput("at least one tracked currency", field="trackedCurrencies")
    details = _details(payment_type, fields["values"])
    if await info.context.db.partners.count_documents({"_id": pid}) == 0:
        raise NotFound("Partner not found.", field="partnerId")
    return await money.insert_payment_detail(info.context.db, {
        "partner_id": pid, "payment_type": payment_type, "country": country,
        "paid_currency": paid, "tracked_currencies": tracked, "values": details,
    })  # fmt: skip


async def create_selfbill(
    info: Info, partner_id: str, currency: str, vat_rate: float, payment_detail_id: str | None
) -> Document:
    """Bill a partner's approved, unbilled commission in one currency (operator)."""
    pid = partner_for(info.context.scope, partner_id)
    code = data.validate_currency(currency)
    if not 0 <= vat_rate <= MAX_VAT_RATE:
        raise BadUserInput(f"a fraction between 0 and {MAX_VAT_RATE}", field="vatRate")
    detail_id = ""
    if payment_detail_id is not None:
        detail_id = parse_id(payment_detail_id, "pmd", "paymentDetailId")
        detail = await info.context.loaders.get(money.PaymentDetailByIdLoader).load(detail_id)
        if detail is None or detail["partner_id"] != pid:
            raise NotFound("Payment details not found.", field="paymentDetailId")
        if code not in detail["tracked_currencies"]:
            raise BadUserInput("these payment details do not take this currency",
                               field="paymentDetailId")  # fmt: skip
    partner = await info.context.db.partners.find_one({"_id": pid}, projection={
        "operating_country": 1})  # fmt: skip
    if partner is None:
        raise NotFound("Partner not found.", field="partnerId")
    doc = await money.create_selfbill(
        info.context.db, pid, code, vat_rate_ppm=round(vat_rate * money.PPM),
        legal_entity=str(partner.get("operating_country") or ""), payment_detail_id=detail_id,
    )  # fmt: skip
    if doc is None:
        raise Conflict("Nothing to bill: no approved, unbilled commission in this currency.",
                       field="currency")  # fmt: skip
    return doc


async def update_selfbill_status(info: Info, bill_id: str, status: str) -> Document:
    sid = parse_id(bill_id, "sbl")
    if status not in money.SELFBILL_STATUSES:
        raise BadUserInput(f"unknown status {status!r}", field="status")
    current = await info.context.loaders.get(money.SelfBillByIdLoader).load(sid)
    if current is None:
        raise NotFound("Self-bill not found.")
    if NEXT_STATUS.get(current["status"]) != status:
        raise Conflict(f"a {current['status']} self-bill cannot become {status}", field="status")
    doc = await money.advance_selfbill(info.context.db, sid, current["status"], status)
    if doc is None:
        raise Conflict("The self-bill changed meanwhile; read it again.", field="status")
    return doc


async def selfbills(
    info: Info, partner_id: str | None, statuses: Sequence[str], currency: str | None,
    first: int | None, after: str | None,
) -> Page:  # fmt: skip
    pid = partner_for(info.context.scope, partner_id)
    code = data.validate_currency(currency) if currency else None
    return await money.list_selfbills(info.context.db, info.context.scope, pid, list(statuses),
                                      code, first, after)  # fmt: skip


async def selfbill(info: Info, bill_id: str) -> Document:
    doc = await info.context.loaders.get(money.SelfBillByIdLoader).load(parse_id(bill_id, "sbl"))
    if doc is None:
        raise NotFound("Self-bill not found.")
    return doc


async def payment_details(
    info: Info, partner_id: str | None, first: int | None, after: str | None
) -> Page:
    pid = partner_for(info.context.scope, partner_id)
    return await money.list_payment_details(info.context.db, info.context.scope, pid, first,
                                            after)  # fmt: skip


async def balances(info: Info, partner_id: str | None) -> list[money.Balance]:
    pid = partner_for(info.context.scope, partner_id)
    return await money.balances(info.context.db, info.context.scope, pid)


async def available(info: Info, partner_id: str | None) -> list[money.Available]:
    pid = partner_for(info.context.scope, partner_id)
    return await money.available_commission(info.context.db, info.context.scope, pid)
