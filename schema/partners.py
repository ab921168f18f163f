"""Partner: the tenant every other object belongs to."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.affiliate import WebsitesByPartnerLoader, profile_value
from resolvers import partners as resolve
from schema.permissions import APP, MEMBER, OPERATOR, STAFF, allow


def staff_only() -> list[Any]:
    """Guard for partner details meant for its staff and operators, not app clients."""
    return allow(OPERATOR, STAFF, scope=Scope.PARTNER_READ)


@strawberry.enum(description="First day of the partner's reporting week.")
class WeekStart(Enum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


@strawberry.enum(description="Standing of the partner on the affiliate network (a/p/r/n).")
class NetworkStatus(Enum):
    ACTIVE = "active"
    PENDING = "pending"
    REJECTED = "rejected"
    INACTIVE = "inactive"


@strawberry.enum(description="Market vertical of a partner, website, brand or campaign.")
class Vertical(Enum):
    RETAIL = "retail"
    FASHION = "fashion"
    TRAVEL = "travel"
    FINANCE = "finance"
    TECHNOLOGY = "technology"
    HEALTH_AND_BEAUTY = "health_and_beauty"
    ENTERTAINMENT = "entertainment"
    SPORTS = "sports"
    FOOD_AND_DRINK = "food_and_drink"
    OTHER = "other"


@strawberry.enum(description="Legal form of the partner's business.")
class LegalEntity(Enum):
    INDIVIDUAL = "individual"
    SOLE_TRADER = "sole_trader"
    COMPANY = "company"
    PARTNERSHIP = "partnership"
    NON_PROFIT = "non_profit"


@strawberry.enum(description="Instant-messaging service of the contact handle.")
class ImProvider(Enum):
    SKYPE = "skype"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    SIGNAL = "signal"
    WECHAT = "wechat"
    LINE = "line"
    OTHER = "other"


@strawberry.enum(description="How a partner (or one of its websites) promotes brands.")
class PromotionalMethod(Enum):
    CONTENT = "content"
    PPC = "ppc"
    CASHBACK = "cashback"
    VOUCHER_CODES = "voucher_codes"
    EMAIL = "email"
    SOCIAL = "social"
    COMPARISON = "comparison"
    LOYALTY = "loyalty"
    INFLUENCER = "influencer"
    OTHER = "other"


def _enum(cls: type[Enum], value: Any) -> Any:
    return cls(value) if value is not None else None


@strawberry.type(description="A website through which a partner promotes campaigns.")
class Website:
    id: strawberry.ID = strawberry.field(description="Website id (`web_…`).")
    url: str = strawberry.field(description="Address, http(s).")
    name: str = strawberry.field(description="Label.")
    description: str = strawberry.field(description="Free text.")
    type: PromotionalMethod | None = strawberry.field(description="Kind of site.")
    vertical: Vertical | None = strawberry.field(description="Market vertical.")
    country: str | None = strawberry.field(description="Main audience country (ISO 3166-1).")
    primary: bool = strawberry.field(description="The partner's primary website (at most one).")
    active: bool = strawberry.field(description="Whether it is in use.")
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def from_doc(cls, doc: Document) -> Website:
        return cls(
            id=strawberry.ID(doc["_id"]), url=doc["url"], name=doc.get("name", ""),
            description=doc.get("description", ""), type=_enum(PromotionalMethod, doc.get("type")),
            vertical=_enum(Vertical, doc.get("vertical")), country=doc.get("country"),
            primary=bool(doc.get("primary")), active=bool(doc.get("active")),
            created_at=doc["created_at"],
        )  # fmt: skip


@strawberry.type(description="A partner (tenant): a company whose data the gateway serves.")
class Partner:
    id: strawberry.ID = strawberry.field(description="Partner id (`par_…`).")
    name: str = strawberry.field(description="Display name, unique across partners.")
    status: str = strawberry.field(description="Lifecycle status (`active`).")
    created_at: datetime = strawberry.field(description="When the partner was onboarded.")
    account_name: str = strawberry.field(description="Publisher account name.")
    company_name: str = strawberry.field(description="Legal company name.")
    # Contact details are for the partner's staff and operators, not for app clients.
    contact_name: str = strawberry.field(
        description="Main contact person (staff and operators only).", extensions=staff_only()
    )
    contact_email: str | None = strawberry.field(
        description="Main contact email (staff and operators only).", extensions=staff_only()
    )
    contact_locale: str = strawberry.field(
        description="Contact's locale, e.g. `en`, `de_at` (staff and operators only).",
        extensions=staff_only(),
    )
    default_currency: str = strawberry.field(description="Default currency (ISO 4217).")
    reporting_timezone: str = strawberry.field(
        description="IANA timezone reports default to (e.g. `Europe/London`)."
    )
    operating_country: str | None = strawberry.field(
        description="Country the partner operates from (ISO 3166-1 alpha-2)."
    )
    vertical: Vertical | None = strawberry.field(description="Market vertical.")
    promotional_method: PromotionalMethod | None = strawberry.field(
        description="Main promotional method."
    )
    week_start: WeekStart = strawberry.field(description="First day of the reporting week.")
    network_status: NetworkStatus = strawberry.field(
        description="Standing on the affiliate network (set by operators)."
    )
    phone: str | None = strawberry.field(
        description="Contact telephone, digits (staff and operators only).",
        extensions=staff_only(),
    )
    phone_area: str | None = strawberry.field(
        description="Country calling code of `phone`, e.g. `+44` (staff and operators only).",
        extensions=staff_only(),
    )
    im_provider: ImProvider | None = strawberry.field(
        description="Messaging service of `imUsername` (staff and operators only).",
        extensions=staff_only(),
    )
    im_username: str | None = strawberry.field(
        description="Messaging handle (staff and operators only).", extensions=staff_only()
    )
    legal_entity: LegalEntity | None = strawberry.field(description="Legal form.")
    company_division: str = strawberry.field(description="Division of the company.")
    description: str = strawberry.field(description="About the partner (sanitised HTML).")
    logo_url: str | None = strawberry.field(description="Company logo (PNG or JPEG URL).")
    vat_number: str | None = strawberry.field(
        description="VAT number with country prefix (staff and operators only).",
        extensions=staff_only(),
    )
    uk_vat_registered: bool = strawberry.field(description="Registered for UK VAT.")
    gst_registered: bool = strawberry.field(description="Registered for GST.")
    abn: str | None = strawberry.field(
        description="Australian Business Number, 11 digits (staff and operators only).",
        extensions=staff_only(),
    )
    us_tax_state: str | None = strawberry.field(
        description="US state of tax residence (staff and operators only).",
        extensions=staff_only(),
    )

    @strawberry.field(description="The partner's websites, oldest first.")
    async def websites(self, info: Info) -> list[Website]:
        rows = await info.context.loaders.get(WebsitesByPartnerLoader).load(str(self.id))
        return [Website.from_doc(row) for row in rows]

    @classmethod
    def from_doc(cls, doc: Document) -> Partner:
        return cls(
            id=strawberry.ID(doc["_id"]),
            name=doc["name"],
            status=doc["status"],
            created_at=doc["created_at"],
            account_name=profile_value(doc, "account_name"),
            company_name=profile_value(doc, "company_name"),
            contact_name=profile_value(doc, "contact_name"),
            contact_email=profile_value(doc, "contact_email"),
            contact_locale=profile_value(doc, "contact_locale"),
            default_currency=profile_value(doc, "default_currency"),
            reporting_timezone=profile_value(doc, "reporting_timezone"),
            operating_country=profile_value(doc, "operating_country"),
            vertical=_enum(Vertical, profile_value(doc, "vertical")),
            promotional_method=_enum(PromotionalMethod, profile_value(doc, "promotional_method")),
            week_start=WeekStart(profile_value(doc, "week_start")),
            network_status=NetworkStatus(profile_value(doc, "network_status")),
            phone=profile_value(doc, "phone"), phone_area=profile_value(doc, "phone_area"),
            im_provider=_enum(ImProvider, profile_value(doc, "im_provider")),
            im_username=profile_value(doc, "im_username"),
            legal_entity=_enum(LegalEntity, profile_value(doc, "legal_entity")),
            company_division=profile_value(doc, "company_division") or "",
            description=profile_value(doc, "description") or "",
            logo_url=profile_value(doc, "logo_url"), vat_number=profile_value(doc, "vat_number"),
            uk_vat_registered=bool(profile_value(doc, "uk_vat_registered")),
            gst_registered=bool(profile_value(doc, "gst_registered")),
            abn=profile_value(doc, "abn"), us_tax_state=profile_value(doc, "us_tax_state"),
        )


async def load_partner(info: Info, partner_id: str) -> Partner | None:
    """Partner of a child object, through the request's loader (for `…{ partner }` fields)."""
    doc = await resolve.partner_by_id(info, partner_id)
    return Partner.from_doc(doc) if doc else None


@strawberry.type
class Query:
    @strawberry.field(
        description="A partner: your own (no id needed), or any by id for operators.",
        extensions=allow(OPERATOR, STAFF, APP, MEMBER, scope=Scope.PARTNER_READ),
    )
    async def partner(self, info: Info, id: strawberry.ID | None = None) -> Partner:
        return Partner.from_doc(await resolve.partner(info, id))


@strawberry.input(description="A new partner.")
class CreatePartnerInput:
    name: str = strawberry.field(description="Display name, 2..120 characters, unique.")


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Onboard a partner (operator only).", extensions=allow(OPERATOR)
    )
    async def create_partner(self, info: Info, input: CreatePartnerInput) -> Partner:
        return Partner.from_doc(await resolve.create_partner(info, input.name))
