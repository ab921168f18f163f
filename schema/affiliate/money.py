"""Money: self-bills and their items, payment details, the balance summary per currency
and the available commission; the operator's self-bill mutations and the partner's
payment-details mutation. Money is in minor units of its currency; rates are fractions."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.affiliate import money
from loaders.affiliate.commissions import page_rows
from loaders.base import from_epoch_ms
from resolvers.affiliate import money as resolve
from schema.affiliate.common import PARTNER_ID_HELP, READ
from schema.affiliate.events import Conversion
from schema.connection import Connection
from schema.permissions import OPERATOR, STAFF, allow


@strawberry.enum(
    description="Where a self-bill is: CREATED (allocated, awaiting the brand's funds), "
    "AVAILABLE (funds received, can be withdrawn), PAID (withdrawn). Moves forward only."
)
class SelfBillStatus(Enum):
    CREATED = "created"
    AVAILABLE = "available"
    PAID = "paid"


@strawberry.enum(description="How a partner is paid.")
class PaymentType(Enum):
    EFT = "eft"
    IBAN = "iban"
    PAYPAL = "paypal"


@strawberry.type(description="The conversions a self-bill pays.")
class SelfBillItemConnection(Connection[Conversion]):
    pass


@strawberry.type(description="A self-billing invoice: the statement that pays approved commission.")
class SelfBill:
    id: strawberry.ID = strawberry.field(description="Self-bill id (`sbl_…`).")
    reference: str = strawberry.field(description="Self-bill reference (`S-{partner}-{id}`).")
    status: SelfBillStatus = strawberry.field(description="CREATED, AVAILABLE or PAID.")
    currency: str = strawberry.field(description="Tracked and paid currency (ISO 4217).")
    conversion_count: int = strawberry.field(description="Conversions it pays.")
    items_in_bill: int = strawberry.field(description="Conversion items (basket lines) it pays.")
    net_value: int = strawberry.field(description="Commission, minor units.")
    vat_rate: float = strawberry.field(description="VAT rate, fraction 0..1.")
    vat_value: int = strawberry.field(description="VAT, minor units (rounded down).")
    withheld_tax: int = strawberry.field(description="Tax withheld, minor units.")
    total_value: int = strawberry.field(description="net + VAT, minor units.")
    legal_entity: str = strawberry.field(description="Partner's legal country (ISO 3166-1).")
    created_at: datetime = strawberry.field(description="When it was created.")
    paid_at: datetime | None = strawberry.field(description="When it was paid out.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    payment_detail_id: strawberry.Private[str]

    @strawberry.field(description="The conversions it pays (by id).")
    async def items(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> SelfBillItemConnection:
        rows = await info.context.loaders.get(money.ConversionsBySelfBillLoader).load(str(self.id))
        page = page_rows(sorted(rows, key=lambda r: str(r["_id"])), "_id", first, after)
        connection = Connection.of(page, Conversion.from_doc)
        return SelfBillItemConnection(
            edges=connection.edges, page_info=connection.page_info, count=page.count
        )

    @strawberry.field(description="The payment details it is paid to, if named.")
    async def payment_details(self, info: Info) -> PaymentDetails | None:
        if not self.payment_detail_id:
            return None
        doc = await info.context.loaders.get(money.PaymentDetailByIdLoader).load(
            self.payment_detail_id
        )
        return PaymentDetails.from_doc(doc) if doc else None

    @classmethod
    def from_doc(cls, doc: Document) -> SelfBill:
        return cls(
            id=strawberry.ID(doc["_id"]), reference=doc["reference"],
            status=SelfBillStatus(doc["status"]), currency=doc["currency"],
            conversion_count=int(doc["conversion_count"]),
            items_in_bill=int(doc["items_in_bill"]), net_value=int(doc["net_value"]),
            vat_rate=int(doc["vat_rate_ppm"]) / money.PPM, vat_value=int(doc["vat_value"]),
            withheld_tax=int(doc["withheld_tax"]), total_value=int(doc["total_value"]),
            legal_entity=doc["legal_entity"], created_at=doc["created_at"],
            paid_at=from_epoch_ms(doc["payment_ms"]) if doc.get("payment_ms") else None,
            partner_id=strawberry.ID(doc["partner_id"]),
            payment_detail_id=doc.get("payment_detail_id", ""),
        )  # fmt: skip


def _last4(value: str) -> str:
    return "•" * max(0, len(value) - 4) + value[-4:] if value else ""


@strawberry.type(
    description="Where a partner is paid. Account numbers are shown masked (last 4 only)."
)
class PaymentDetails:
    id: strawberry.ID = strawberry.field(description="Payment details id (`pmd_…`).")
    payment_type: PaymentType = strawberry.field(description="EFT, IBAN or PAYPAL.")
    country: str = strawberry.field(description="Bank country (ISO 3166-1).")
    paid_currency: str = strawberry.field(description="Currency paid out.")
    tracked_currencies: list[str] = strawberry.field(description="Currencies it takes.")
    account_name: str = strawberry.field(description="Account holder.")
    account: str = strawberry.field(
        description="IBAN / account number masked to its last 4, or the PayPal email."
    )
    bic: str = strawberry.field(description="BIC (IBAN payments), else empty.")
    suspended: bool = strawberry.field(description="Payments to it are suspended.")
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def from_doc(cls, doc: Document) -> PaymentDetails:
        values = doc["values"]
        account = values.get("email") or _last4(values.get("iban") or values.get(
            "account_number", ""))  # fmt: skip
        return cls(
            id=strawberry.ID(doc["_id"]), payment_type=PaymentType(doc["payment_type"]),
            country=doc["country"], paid_currency=doc["paid_currency"],
            tracked_currencies=list(doc["tracked_currencies"]),
            account_name=values["account_name"], account=account, bic=values.get("bic", ""),
            suspended=bool(doc.get("suspended")), created_at=doc["created_at"],
        )  # fmt: skip


@strawberry.type(description="A partner's money in one currency, by stage (minor units).")
class CurrencyBalance:
    currency: str = strawberry.field(description="ISO 4217.")
    pending: int = strawberry.field(description="Commission of pending conversions.")
    approved: int = strawberry.field(description="Approved, not yet on a self-bill.")
    confirmed: int = strawberry.field(description="On CREATED self-bills (awaiting funds).")
    available: int = strawberry.field(description="On AVAILABLE self-bills (withdrawable).")
    paid: int = strawberry.field(description="On PAID self-bills (withdrawn).")


@strawberry.type(description="Approved commission not yet on a self-bill, in one currency.")
class AvailableCommission:
    currency: str = strawberry.field(description="ISO 4217.")
    conversion_count: int = strawberry.field(description="Conversions.")
    item_count: int = strawberry.field(description="Conversion items (basket lines).")
    value: int = strawberry.field(description="Order value, minor units.")
    partner_commission: int = strawberry.field(description="Commission, minor units.")


@strawberry.input(description="New payment details; `values` by payment type.")
class PaymentValuesInput:
    account_name: str = strawberry.field(description="Account holder (required).")
    iban: str = strawberry.field(default="", description="IBAN: the IBAN (checksum-checked).")
    bic: str = strawberry.field(default="", description="IBAN: the BIC (8 or 11).")
    account_number: str = strawberry.field(default="", description="EFT: 4..20 digits.")
    routing_number: str = strawberry.field(default="", description="EFT: 6..9 digits.")
    bank_name: str = strawberry.field(default="", description="EFT: bank name.")
    email: str = strawberry.field(default="", description="PAYPAL: account email.")


@strawberry.input(description="New payment details of the partner.")
class CreatePaymentDetailsInput:
    payment_type: PaymentType = strawberry.field(description="EFT, IBAN or PAYPAL.")
    country: str = strawberry.field(description="Bank country (ISO 3166-1).")
    paid_currency: str = strawberry.field(description="Currency paid out (ISO 4217).")
    tracked_currencies: list[str] = strawberry.field(description="Currencies it takes (1+).")
    values: PaymentValuesInput = strawberry.field(description="Account values.")
    partner_id: strawberry.ID | None = strawberry.field(default=None, description=PARTNER_ID_HELP)


@strawberry.type
class Query:
    @strawberry.field(description="The partner's self-bills, newest first.", extensions=READ)
    async def self_bills(
        self, info: Info, partner_id: strawberry.ID | None = None,
        statuses: list[SelfBillStatus] | None = None, currency: str | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[SelfBill]:  # fmt: skip
        page = await resolve.selfbills(info, partner_id, [s.value for s in statuses or []],
                                       currency, first, after)  # fmt: skip
        return Connection.of(page, SelfBill.from_doc)

    @strawberry.field(description="One self-bill of the partner.", extensions=READ)
    async def self_bill(self, info: Info, id: strawberry.ID) -> SelfBill:
        return SelfBill.from_doc(await resolve.selfbill(info, id))

    @strawberry.field(description="The partner's payment details.", extensions=READ)
    async def payment_details(
        self, info: Info, partner_id: strawberry.ID | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[PaymentDetails]:  # fmt: skip
        page = await resolve.payment_details(info, partner_id, first, after)
        return Connection.of(page, PaymentDetails.from_doc)

    @strawberry.field(
        description="The partner's pending, approved, confirmed, available and paid money per "
        "currency (minor units).",
        extensions=READ,
    )
    async def balance_summary(
        self, info: Info, partner_id: strawberry.ID | None = None
    ) -> list[CurrencyBalance]:
        return [
            CurrencyBalance(currency=b.currency, pending=b.pending, approved=b.approved,
                            confirmed=b.confirmed, available=b.available, paid=b.paid)
            for b in await resolve.balances(info, partner_id)
        ]  # fmt: skip

    @strawberry.field(
        description="Approved commission not yet on a self-bill, per currency.", extensions=READ
    )
    async def available_commission(
        self, info: Info, partner_id: strawberry.ID | None = None
    ) -> list[AvailableCommission]:
        return [
            AvailableCommission(currency=a.currency, conversion_count=a.conversions,
                                item_count=a.items, value=a.value,
                                partner_commission=a.commission)
            for a in await resolve.available(info, partner_id)
        ]  # fmt: skip


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Bill a partner's approved, unbilled commission in one currency (operator "
        "only); nothing to bill is CONFLICT.",
        extensions=allow(OPERATOR),
    )
    async def create_self_bill(
        self, info: Info, partner_id: strawberry.ID, currency: str, vat_rate: float = 0.0,
        payment_detail_id: strawberry.ID | None = None,
    ) -> SelfBill:  # fmt: skip
        doc = await resolve.create_selfbill(info, partner_id, currency, vat_rate,
                                            payment_detail_id)  # fmt: skip
        return SelfBill.from_doc(doc)

    @strawberry.mutation(
        description="Move a self-bill forward: CREATED → AVAILABLE → PAID (operator only).",
        extensions=allow(OPERATOR),
    )
    async def update_self_bill_status(
        self, info: Info, id: strawberry.ID, status: SelfBillStatus
    ) -> SelfBill:
        return SelfBill.from_doc(await resolve.update_selfbill_status(info, id, status.value))

    @strawberry.mutation(
        description="Add payment details for the partner.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.PARTNER_WRITE),
    )
    async def create_payment_details(
        self, info: Info, input: CreatePaymentDetailsInput
    ) -> PaymentDetails:
        fields = {
            "payment_type": input.payment_type.value, "country": input.country,
            "paid_currency": input.paid_currency, "tracked_currencies": input.tracked_currencies,
            "values": vars(input.values),
        }  # fmt: skip
        doc = await resolve.create_payment_detail(info, input.partner_id, fields)
        return PaymentDetails.from_doc(doc)
