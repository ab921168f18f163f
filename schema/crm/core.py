"""Fan CRM: fans, activities, tickets, ticket events, ticket stats, points and leaderboards.

The CRM "account" is the partner. Queries need `crm:read`, mutations `crm:write`
(staff); operators see every partner and name one (`partnerId`) when they create.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.core.errors import BadUserInput
from gateway.storage.mongo import Document
from loaders import crm as data
from resolvers import crm as resolve
from schema.connection import Connection
from schema.permissions import CRM_KEY, OPERATOR, STAFF, allow

# CRM API keys (seed 002): a public key reads, a secret key also writes (see gateway.auth.scopes).
READ = allow(STAFF, OPERATOR, CRM_KEY, scope=Scope.CRM_READ)
WRITE = allow(STAFF, OPERATOR, CRM_KEY, scope=Scope.CRM_WRITE)


def _opt(value: Any) -> str | None:
    return value if value else None


def _kv(mapping: dict[str, str]) -> list[KeyValue]:
    return [KeyValue(key=k, value=str(v)) for k, v in sorted(mapping.items())]


@strawberry.enum(description="Gender of a fan, as the CRM records it.")
class FanGender(Enum):
    MALE = "male"
    FEMALE = "female"
    DIVERSE = "diverse"
    OTHER = "other"


@strawberry.enum(description="Outcome of one ticket create.")
class TicketCreateStatus(Enum):
    SUCCESS = "SUCCESS"
    DUPLICATE = "DUPLICATE"
    INVALID = "INVALID"


@strawberry.enum(description="What `upsertTicketEvent` does.")
class TicketEventAction(Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@strawberry.type(description="A key/value pair (custom fields, activity props).")
class KeyValue:
    key: str = strawberry.field(description="Key: 1..64 characters, no `$` or `.`.")
    value: str = strawberry.field(description="Value (text).")


@strawberry.input(description="A key/value pair: key 1..64 characters without `$` or `.`.")
class KeyValueInput:
    key: str = strawberry.field(description="Key: 1..64 characters, no `$` or `.`.")
    value: str = strawberry.field(description="Value, at most 1000 characters.")


@strawberry.input(description="Opt a fan in to (true) or out of (false) one business.")
class BusinessOptInInput:
    business_id: str = strawberry.field(description="Business identifier.")
    opted_in: bool = strawberry.field(description="True opts in, false opts out.")


@strawberry.type(description="An amount of money in minor units (cents) of a currency.")
class Money:
    amount: int = strawberry.field(description="Amount in minor units (e.g. cents).")
    currency: str = strawberry.field(description="ISO 4217 currency code.")


@strawberry.type(description="A fan's total of one kind of points.")
class FanPointTotal:
    point_name: str = strawberry.field(description="Name of the points.")
    total: int = strawberry.field(description="Sum of all awards of this name (may be negative).")


@strawberry.type(description="A fan: one person in a partner's CRM, unique by email and phone.")
class Fan:
    id: strawberry.ID = strawberry.field(description="Fan id (`fan_…`).")
    partner_id: strawberry.ID = strawberry.field(description="Partner (CRM account) of the fan.")
    email: str | None = strawberry.field(description="Email (lower case), unique per partner.")
    phone: str | None = strawberry.field(
        description="Phone (digits, optional +), unique per partner."
    )
    first_name: str | None = strawberry.field(description="First name.")
    last_name: str | None = strawberry.field(description="Last name.")
    display_name: str | None = strawberry.field(description="Public display name (leaderboards).")
    gender: FanGender | None = strawberry.field(description="Gender, if given.")
    birth_date: date | None = strawberry.field(description="Date of birth, if given.")
    is_subscribed: bool = strawberry.field(description="Explicit opt-in to email marketing.")
    is_phone_subscribed: bool = strawberry.field(description="Explicit opt-in to SMS marketing.")
    is_optout: bool = strawberry.field(description="Opted out of all communication.")
    business_opt_ins: list[str] = strawberry.field(description="Businesses the fan opted in to.")
    tags: list[str] = strawberry.field(description="Tags.")
    fields: list[KeyValue] = strawberry.field(description="Custom fields, sorted by key.")
    country_code: str | None = strawberry.field(description="ISO 3166-1 alpha-2 country.")
    province: str | None = strawberry.field(description="Province or state.")
    city: str | None = strawberry.field(description="City.")
    postal_code: str | None = strawberry.field(description="Postal code / ZIP.")
    source: str | None = strawberry.field(description="Where the fan record came from.")
    created_at: datetime = strawberry.field(description="When the fan was created.")
    updated_at: datetime = strawberry.field(description="Last change of the fan record.")
    first_purchase_at: datetime | None = strawberry.field(
        description="Purchase time of the fan's first (not deleted) ticket with this partner."
    )
    last_active_at: datetime | None = strawberry.field(
        description="Time of the fan's latest activity (null if none)."
    )
    last_campaign_title: str | None = strawberry.field(
        description="Campaign of the fan's latest activity (the seed's last_campaign_name)."
    )
    fan_time_key: str = strawberry.field(
        description="The seed's time key of the fan's last change (`<unix>_<ms>_<fan id>`): "
        "pass it as `updatedFans(minTimeKey:)` to continue a sync after this fan."
    )

    @strawberry.field(description="The fan's tickets (not deleted), in ticket order.")
    async def tickets(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Ticket]:
        page = await info.context.loaders.get(data.TicketPageByFanLoader).load(
            resolve.fan_child_key(self.id, first, after)
        )
        return Connection.of(page, Ticket.from_doc)

    @strawberry.field(description="The fan's activities, in activity order.")
    async def activities(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[FanActivity]:
        page = await info.context.loaders.get(data.ActivityPageByFanLoader).load(
            resolve.fan_child_key(self.id, first, after)
        )
        return Connection.of(page, FanActivity.from_doc)

    @strawberry.field(description="Point totals per point name, sorted by name.")
    async def points(self, info: Info) -> list[FanPointTotal]:
        totals = await info.context.loaders.get(data.PointTotalsByFanLoader).load(self.id)
        return [FanPointTotal(point_name=name, total=total) for name, total in totals]

    @classmethod
    def from_doc(cls, doc: Document) -> Fan:
        return cls(
            id=strawberry.ID(doc["_id"]), partner_id=strawberry.ID(doc["partner_id"]),
            email=doc.get("email"), phone=doc.get("phone"),
            first_name=_opt(doc["first_name"]), last_name=_opt(doc["last_name"]),
            display_name=_opt(doc["display_name"]),
            gender=FanGender(doc["gender"]) if doc["gender"] else None,
            birth_date=date.fromisoformat(doc["birth_date"]) if doc["birth_date"] else None,
            is_subscribed=bool(doc["is_subscribed"]),
            is_phone_subscribed=bool(doc["is_phone_subscribed"]),
            is_optout=bool(doc["is_optout"]), business_opt_ins=list(doc["business_opt_ins"]),
            tags=list(doc["tags"]), fields=_kv(doc["fields"]),
            country_code=_opt(doc["country_code"]), province=_opt(doc["province"]),
            city=_opt(doc["city"]), postal_code=_opt(doc["postal_code"]),
            source=_opt(doc["source"]), created_at=doc["created_at"],
            updated_at=data.from_ms(doc["updated_ms"]) or doc["created_at"],
            first_purchase_at=data.from_ms(doc.get("first_purchase_ms")),
            last_active_at=data.from_ms(doc.get("last_active_ms")),
            last_campaign_title=doc.get("last_campaign_title") or None,
            fan_time_key=data.sync.time_key(doc),
        )  # fmt: skip


async def _fan(info: Info, fan_id: str) -> Fan | None:
    doc = await resolve.load_fan(info, fan_id)
    return Fan.from_doc(doc) if doc else None


@strawberry.type(description="A ticket (purchase line item) synced from a ticketing network.")
class Ticket:
    id: strawberry.ID = strawberry.field(description="Ticket id (`tkt_…`).")
    sequence: int = strawberry.field(description="Increasing number per partner (sync order).")
    ticket_key: str | None = strawberry.field(description="Key in the remote system (unique).")
    email: str = strawberry.field(description="Buyer email on the ticket.")
    first_name: str = strawberry.field(description="Buyer first name.")
    last_name: str = strawberry.field(description="Buyer last name.")
    phone: str | None = strawberry.field(description="Buyer phone.")
    customer_key: str | None = strawberry.field(description="Customer id in the remote system.")
    network: str | None = strawberry.field(description="Ticketing network.")
    order_key: str | None = strawberry.field(description="Order id in the remote system.")
    event_key: str | None = strawberry.field(description="Event key in the remote system.")
    event_name: str = strawberry.field(description="Event name.")
    event_date: date = strawberry.field(description="Event date.")
    artist_name: str | None = strawberry.field(description="Artist name.")
    venue_name: str | None = strawberry.field(description="Venue name.")
    price_code: str | None = strawberry.field(description="Price code or level.")
    purchased_at: datetime = strawberry.field(description="Purchase time.")
    paid_amount: Money = strawberry.field(description="Total paid for the line item.")
    num_seats: int = strawberry.field(description="Seats on the purchase.")
    city: str | None = strawberry.field(description="Buyer city.")
    province: str | None = strawberry.field(description="Buyer province or state.")
    country_code: str | None = strawberry.field(description="Buyer country (ISO alpha-2).")
    postal_code: str | None = strawberry.field(description="Buyer postal code.")
    is_deleted: bool = strawberry.field(description="True if the ticket was deleted remotely.")
    created_at: datetime = strawberry.field(description="When the ticket was stored.")
    last_updated_at: datetime = strawberry.field(description="Last change of the ticket.")
    fan_id: strawberry.Private[str]

    @strawberry.field(description="The fan who bought the ticket (null if the fan was deleted).")
    async def fan(self, info: Info) -> Fan | None:
        return await _fan(info, self.fan_id)

    @classmethod
    def from_doc(cls, doc: Document) -> Ticket:
        return cls(
            id=strawberry.ID(doc["_id"]), sequence=int(doc["seq"]),
            ticket_key=doc.get("ticket_key"), email=doc["email"],
            first_name=doc["first_name"], last_name=doc["last_name"], phone=_opt(doc["phone"]),
            customer_key=_opt(doc["customer_key"]), network=_opt(doc["network"]),
            order_key=_opt(doc["order_key"]), event_key=_opt(doc["event_key"]),
            event_name=doc["event_name"], event_date=date.fromisoformat(doc["event_date"]),
            artist_name=_opt(doc["artist_name"]), venue_name=_opt(doc["venue_name"]),
            price_code=_opt(doc["price_code"]), purchased_at=doc["purchased_at"],
            paid_amount=Money(amount=int(doc["paid_amount"]), currency=doc["currency"]),
            num_seats=int(doc["num_seats"]), city=_opt(doc["city"]),
            province=_opt(doc["province"]), country_code=_opt(doc["country_code"]),
            postal_code=_opt(doc["postal_code"]), is_deleted=bool(doc["is_deleted"]),
            created_at=doc["created_at"],
            last_updated_at=data.from_ms(doc["updated_ms"]) or doc["created_at"],
            fan_id=doc["fan_id"],
        )  # fmt: skip


@strawberry.type(description="One fan activity: a fan took part in a campaign.")
class FanActivity:
    id: strawberry.ID = strawberry.field(description="Activity id (`fac_…`).")
    sequence: int = strawberry.field(description="Increasing number per partner (sync order).")
    campaign_title: str = strawberry.field(description="Title of the campaign.")
    props: list[KeyValue] = strawberry.field(description="Campaign details, sorted by key.")
    day: date = strawberry.field(name="date", description="UTC day of the activity.")
    created_at: datetime = strawberry.field(description="When the activity happened.")
    fan_id: strawberry.Private[str]

    @strawberry.field(description="The fan (null if the fan was deleted).")
    async def fan(self, info: Info) -> Fan | None:
        return await _fan(info, self.fan_id)

    @classmethod
    def from_doc(cls, doc: Document) -> FanActivity:
        return cls(
            id=strawberry.ID(doc["_id"]), sequence=int(doc["seq"]),
            campaign_title=doc["campaign_title"], props=_kv(doc["props"]),
            day=date.fromisoformat(doc["day"]), created_at=doc["created_at"],
            fan_id=doc["fan_id"],
        )  # fmt: skip


@strawberry.type(description="A ticketed event of the partner.")
class TicketEvent:
    id: strawberry.ID = strawberry.field(description="Event id (`tev_…`).")
    event_key: str = strawberry.field(description="Event key, unique per network.")
    event_name: str = strawberry.field(description="Event name.")
    event_date: date = strawberry.field(description="Event date.")
    network: str = strawberry.field(description="Ticketing network.")
    venue_name: str | None = strawberry.field(description="Venue name.")
    artist_name: str | None = strawberry.field(description="Artist name.")
    notes: str | None = strawberry.field(description="Free notes.")
    label_name: str | None = strawberry.field(description="Label name.")
    event_type: str | None = strawberry.field(description="Event type.")
    created_at: datetime = strawberry.field(description="When the event was created.")
    updated_at: datetime = strawberry.field(description="Last change.")

    @classmethod
    def from_doc(cls, doc: Document) -> TicketEvent:
        return cls(
            id=strawberry.ID(doc["_id"]), event_key=doc["event_key"],
            event_name=doc["event_name"], event_date=date.fromisoformat(doc["event_date"]),
            network=doc["network"], venue_name=_opt(doc["venue_name"]),
            artist_name=_opt(doc["artist_name"]), notes=_opt(doc["notes"]),
            label_name=_opt(doc["label_name"]), event_type=_opt(doc["event_type"]),
            created_at=doc["created_at"],
            updated_at=data.from_ms(doc["updated_ms"]) or doc["created_at"],
        )  # fmt: skip


@strawberry.type(description="Sales and fan counts of a purchase window.")
class TicketStats:
    returning_fans_count: int = strawberry.field(
        description="Fans who bought in the window AND bought before it (with this partner; "
        "with eventSpecific, only purchases matching the event filters count)."
    )
    new_fans_count: int = strawberry.field(
        description="Fans whose FIRST purchase ever (with this partner; with eventSpecific, "
        "the first matching the event filters) falls inside the window."
    )
    sales_count: int = strawberry.field(description="Tickets (line items) sold in the window.")
    seats_count: int = strawberry.field(description="Seats sold in the window.")
    revenue: list[Money] = strawberry.field(
        description="Paid amounts in the window, one entry per currency (sorted by currency)."
    )


@strawberry.type(description="One row of a points leaderboard.")
class LeaderboardEntry:
    rank: int = strawberry.field(description="Rank (1 = most points; ties share a rank).")
    fan_id: strawberry.ID = strawberry.field(description="The fan's id.")
    display_name: str = strawberry.field(
        description="Display name, else first name and last initial, else `Fan`."
    )
    points: int = strawberry.field(description="Points of this name in the date range.")


@strawberry.type(description="Why one item of a batch was refused.")
class ItemError:
    message: str = strawberry.field(description="What is wrong.")
    field: str | None = strawberry.field(description="Input field at fault.")


@strawberry.type(description="Outcome of creating one ticket.")
class CreateTicketResult:
    index: int = strawberry.field(description="Position of the item in the request.")
    status: TicketCreateStatus = strawberry.field(
        description="SUCCESS (stored), DUPLICATE (ticketKey known: the existing ticket, nothing "
        "stored) or INVALID (see error; batch only)."
    )
    ticket: Ticket | None = strawberry.field(description="The new or existing ticket.")
    error: ItemError | None = strawberry.field(description="Why the item was refused.")


@strawberry.type(description="Outcome of `upsertTicketEvent`.")
class TicketEventResult:
    id: strawberry.ID = strawberry.field(description="Id of the event.")
    action: TicketEventAction = strawberry.field(description="What was done.")
    status: str = strawberry.field(description="`success`.")
    event: TicketEvent | None = strawberry.field(description="The event (null once deleted).")


# --- inputs ----------------------------------------------------------------------------


@strawberry.input(description="A new fan; email or phone is required.")
class CreateFanInput:
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Partner (operators must name it)."
    )
    email: str | None = strawberry.field(default=None, description="Email, unique per partner.")
    phone: str | None = strawberry.field(default=None, description="Phone, unique per partner.")
    first_name: str | None = strawberry.field(default=None, description="First name.")
    last_name: str | None = strawberry.field(default=None, description="Last name.")
    display_name: str | None = strawberry.field(default=None, description="Display name.")
    gender: FanGender | None = strawberry.field(default=None, description="Gender.")
    birth_date: date | None = strawberry.field(default=None, description="Date of birth.")
    is_subscribed: bool = strawberry.field(default=False, description="Email opt-in.")
    is_phone_subscribed: bool = strawberry.field(default=False, description="SMS opt-in.")
    is_optout: bool = strawberry.field(default=False, description="Opted out of everything.")
    business_opt_ins: list[BusinessOptInInput] | None = strawberry.field(
        default=None, description="Business opt-ins."
    )
    tags: list[str] | None = strawberry.field(default=None, description="Tags (at most 50).")
    fields: list[KeyValueInput] | None = strawberry.field(
        default=None, description="Custom fields (at most 50; keys without `$` or `.`)."
    )
    country_code: str | None = strawberry.field(default=None, description="ISO alpha-2.")
    province: str | None = strawberry.field(default=None, description="Needs countryCode.")
    city: str | None = strawberry.field(default=None, description="Needs countryCode.")
    postal_code: str | None = strawberry.field(default=None, description="Needs countryCode.")
    source: str | None = strawberry.field(default=None, description="Fan source label.")


@strawberry.input(description="Changes to a fan: only the fields sent change (null clears).")
class UpdateFanInput:
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Email.")
    phone: str | None = strawberry.field(default=strawberry.UNSET, description="Phone.")
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="First name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Last name.")
    display_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name."
    )
    gender: FanGender | None = strawberry.field(default=strawberry.UNSET, description="Gender.")
    birth_date: date | None = strawberry.field(
        default=strawberry.UNSET, description="Date of birth."
    )
    is_subscribed: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Email opt-in."
    )
    is_phone_subscribed: bool | None = strawberry.field(
        default=strawberry.UNSET, description="SMS opt-in."
    )
    is_optout: bool | None = strawberry.field(default=strawberry.UNSET, description="Opt-out.")
    business_opt_ins: list[BusinessOptInInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Opt-ins/outs applied to the current set."
    )
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the tags."
    )
    fields: list[KeyValueInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the custom fields."
    )
    country_code: str | None = strawberry.field(default=strawberry.UNSET, description="Country.")
    province: str | None = strawberry.field(
        default=strawberry.UNSET, description="Needs countryCode in the same request."
    )
    city: str | None = strawberry.field(
        default=strawberry.UNSET, description="Needs countryCode in the same request."
    )
    postal_code: str | None = strawberry.field(
        default=strawberry.UNSET, description="Needs countryCode in the same request."
    )
    source: str | None = strawberry.field(default=strawberry.UNSET, description="Fan source.")


@strawberry.input(description="Fan search filters (all combine with AND).")
class FanFilter:
    text: str | None = strawberry.field(default=None, description="Part of name or email.")
    is_subscribed: bool | None = strawberry.field(default=None, description="Email opt-in.")
    is_phone_subscribed: bool | None = strawberry.field(default=None, description="SMS opt-in.")
    is_optout: bool | None = strawberry.field(default=None, description="Opted out.")
    tags: list[str] | None = strawberry.field(default=None, description="Has any of the tags.")
    country_code: str | None = strawberry.field(default=None, description="Country.")
    provinces: list[str] | None = strawberry.field(default=None, description="Any province.")
    postal_codes: list[str] | None = strawberry.field(default=None, description="Any postal code.")
    genders: list[FanGender] | None = strawberry.field(default=None, description="Any gender.")
    created_from: date | None = strawberry.field(default=None, description="Created on/after.")
    created_to: date | None = strawberry.field(default=None, description="Created on/before.")
    ticket_event_name: str | None = strawberry.field(
        default=None, description="Bought a ticket for this event (exact name)."
    )
    ticket_venue_name: str | None = strawberry.field(
        default=None, description="Bought a ticket at this venue (exact name)."
    )
    ticket_purchased_from: date | None = strawberry.field(
        default=None, description="Bought a ticket on/after this day."
    )
    ticket_purchased_to: date | None = strawberry.field(
        default=None, description="Bought a ticket on/before this day."
    )
    tags_all: list[str] | None = strawberry.field(
        default=None, description="Has every one of the tags (the seed's AND relation)."
    )
    tags_none: list[str] | None = strawberry.field(
        default=None, description="Has none of the tags (NOT)."
    )
    sources: list[str] | None = strawberry.field(default=None, description="Any fan source.")
    youngest_age: int | None = strawberry.field(
        default=None, description="At least this old today (0..150; fans without a birth date "
        "never match an age filter)."
    )
    oldest_age: int | None = strawberry.field(
        default=None, description="At most this old today (0..150)."
    )
    in_snapshots: list[strawberry.ID] | None = strawberry.field(
        default=None, description="In any of these snapshots (`snp_…`)."
    )
    not_in_snapshots: list[strawberry.ID] | None = strawberry.field(
        default=None, description="In none of these snapshots."
    )
    active_within_days: int | None = strawberry.field(
        default=None, description="Had an activity in the last N days (crm_active_days)."
    )
    inactive_for_days: int | None = strawberry.field(
        default=None, description="No activity in the last N days, or never (crm_inactive_days)."
    )
    active_from: date | None = strawberry.field(
        default=None, description="Last activity on/after this day."
    )
    active_to: date | None = strawberry.field(
        default=None, description="Last activity on/before this day."
    )
    ticket_price_code: str | None = strawberry.field(
        default=None, description="Bought a ticket with this price code."
    )
    ticket_artist_name: str | None = strawberry.field(
        default=None, description="Bought a ticket for this artist (exact name)."
    )
    ticket_venue_provinces: list[str] | None = strawberry.field(
        default=None, description="Bought a ticket whose province is one of these."
    )
    ticket_purchased_days: int | None = strawberry.field(
        default=None, description="Bought a ticket in the last N days (today included)."
    )
    ticket_event_from: date | None = strawberry.field(
        default=None, description="Bought a ticket for an event on/after this day."
    )
    ticket_event_to: date | None = strawberry.field(
        default=None, description="Bought a ticket for an event on/before this day."
    )
    ticket_seat_price_min: int | None = strawberry.field(
        default=None, description="Per-seat price (paid / seats, minor units) at least this."
    )
    ticket_seat_price_max: int | None = strawberry.field(
        default=None, description="Per-seat price at most this."
    )
    ticket_seat_count_min: int | None = strawberry.field(
        default=None, description="A purchase of at least this many seats."
    )
    ticket_seat_count_max: int | None = strawberry.field(
        default=None, description="A purchase of at most this many seats."
    )
    ticket_sales_count_min: int | None = strawberry.field(
        default=None, description="At least this many matching purchases (1 or more)."
    )
    ticket_sales_count_max: int | None = strawberry.field(
        default=None, description="At most this many matching purchases."
    )
    ticket_negative: bool = strawberry.field(
        default=False, description="Invert the ticket filters: fans WITHOUT such purchases."
    )


@strawberry.input(description="Ticket list filters (dates inclusive, UTC days).")
class TicketFilter:
    min_purchase_date: date | None = strawberry.field(default=None, description="Bought on/after.")
    max_purchase_date: date | None = strawberry.field(default=None, description="Bought on/before.")
    min_last_update_date: date | None = strawberry.field(
        default=None, description="Changed on/after."
    )
    max_last_update_date: date | None = strawberry.field(
        default=None, description="Changed on/before."
    )
    email: str | None = strawberry.field(default=None, description="Buyer email.")
    fan_id: strawberry.ID | None = strawberry.field(default=None, description="Buyer fan.")
    include_deleted: bool = strawberry.field(default=False, description="Include deleted.")


@strawberry.input(description="A ticket and its buyer (matched to a fan by email, or created).")
class CreateTicketInput:
    first_name: str = strawberry.field(description="Buyer first name.")
    last_name: str = strawberry.field(description="Buyer last name.")
    email: str = strawberry.field(description="Buyer email.")
    purchased_at: datetime = strawberry.field(description="Purchase time.")
    paid_amount: int = strawberry.field(description="Paid, in minor units.")
    currency: str = strawberry.field(description="ISO 4217 currency of paidAmount.")
    num_seats: int = strawberry.field(description="Seats (1..10000).")
    event_date: date = strawberry.field(description="Event date.")
    event_name: str = strawberry.field(description="Event name.")
    event_key: str | None = strawberry.field(
        default=None, description="Event key (required in createTickets)."
    )
    ticket_key: str | None = strawberry.field(
        default=None, description="Unique line-item key; a repeated key is a DUPLICATE."
    )
    phone: str | None = strawberry.field(default=None, description="Buyer phone.")
    customer_key: str | None = strawberry.field(default=None, description="Remote customer id.")
    price_code: str | None = strawberry.field(default=None, description="Price code.")
    is_subscribed: bool = strawberry.field(default=False, description="Email opt-in (new fan).")
    is_phone_subscribed: bool = strawberry.field(default=False, description="SMS opt-in (new fan).")
    city: str | None = strawberry.field(default=None, description="City.")
    province: str | None = strawberry.field(default=None, description="Province.")
    postal_code: str | None = strawberry.field(default=None, description="Postal code.")
    country_code: str | None = strawberry.field(default=None, description="Country.")
    artist_name: str | None = strawberry.field(default=None, description="Artist.")
    venue_name: str | None = strawberry.field(default=None, description="Venue.")
    network: str | None = strawberry.field(default=None, description="Ticketing network.")
    order_key: str | None = strawberry.field(default=None, description="Remote order id.")
    is_deleted: bool = strawberry.field(default=False, description="Deleted remotely.")
    fan_source: str | None = strawberry.field(
        default=None, description="Source label if a fan is created."
    )


@strawberry.input(description="Create, update or delete a ticket event.")
class UpsertTicketEventInput:
    action: TicketEventAction = strawberry.field(
        default=TicketEventAction.CREATE, description="What to do (default CREATE)."
    )
    id: strawberry.ID | None = strawberry.field(
        default=None, description="Event id: required for UPDATE and DELETE."
    )
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Partner (operators creating)."
    )
    event_name: str = strawberry.field(default="", description="Event name (create/update).")
    event_key: str = strawberry.field(default="", description="Event key (create/update).")
    event_date: date = strawberry.field(
        default=date(1970, 1, 1), description="Event date (create/update)."
    )
    network: str = strawberry.field(default="", description="Network (create/update).")
    venue_name: str | None = strawberry.field(default=None, description="Venue name.")
    artist_name: str | None = strawberry.field(default=None, description="Artist name.")
    notes: str | None = strawberry.field(default=None, description="Notes.")
    label_name: str | None = strawberry.field(default=None, description="Label name.")
    event_type: str | None = strawberry.field(default=None, description="Event type.")


@strawberry.input(
    description="A fan activity; the fan by id or by email (unknown email: new fan). Fan details "
    "sent here are written to the fan (the seed's activity submit), before the activity."
)
class CreateFanActivityInput:
    campaign_title: str = strawberry.field(description="Campaign title.")
    fan_id: strawberry.ID | None = strawberry.field(default=None, description="Fan id.")
    email: str | None = strawberry.field(default=None, description="Fan email.")
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Partner (operators with email)."
    )
    props: list[KeyValueInput] | None = strawberry.field(
        default=None, description="Details (keys without `$` or `.`)."
    )
    first_name: str | None = strawberry.field(
        default=None, description="Fan first name (set on the fan, new or known)."
    )
    last_name: str | None = strawberry.field(default=None, description="Fan last name.")
    phone: str | None = strawberry.field(default=None, description="Fan phone (unique).")
    country_code: str | None = strawberry.field(default=None, description="ISO alpha-2.")
    province: str | None = strawberry.field(default=None, description="Needs countryCode.")
    postal_code: str | None = strawberry.field(default=None, description="Needs countryCode.")
    is_subscribed: bool | None = strawberry.field(default=None, description="Email opt-in.")
    is_phone_subscribed: bool | None = strawberry.field(
        default=None, description="SMS opt-in."
    )


def _ticket_result(index: int, status: str, value: Document | BadUserInput) -> CreateTicketResult:
    if isinstance(value, BadUserInput):
        return CreateTicketResult(
            index=index, status=TicketCreateStatus.INVALID, ticket=None,
            error=ItemError(message=value.message, field=value.field),
        )  # fmt: skip
    return CreateTicketResult(
        index=index, status=TicketCreateStatus(status), ticket=Ticket.from_doc(value), error=None
    )


def _display_name(doc: Document | None) -> str:
    if doc is None:
        return "Fan"
    if doc["display_name"]:
        return str(doc["display_name"])
    if doc["first_name"]:
        initial = f" {doc['last_name'][0]}." if doc["last_name"] else ""
        return f"{doc['first_name']}{initial}"
    return "Fan"


@strawberry.type
class Query:
    @strawberry.field(description="Search fans (newest first).", extensions=READ)
    async def fans(
        self, info: Info, filter: FanFilter | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[Fan]:  # fmt: skip
        return Connection.of(await resolve.fans(info, filter, first, after), Fan.from_doc)

    @strawberry.field(description="One fan by id.", extensions=READ)
    async def fan(self, info: Info, id: strawberry.ID) -> Fan:
        return Fan.from_doc(await resolve.fan_by_id(info, id))

    @strawberry.field(
        description="Activities in ascending activity order (page on with `after` to sync "
        "incrementally).",
        extensions=READ,
    )
    async def activities(
        self, info: Info, campaign_title: str | None = None,
        day: Annotated[date | None, strawberry.argument(name="date")] = None,
        fan_id: strawberry.ID | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[FanActivity]:  # fmt: skip
        page = await resolve.activities(info, campaign_title, day, fan_id, first, after)
        return Connection.of(page, FanActivity.from_doc)

    @strawberry.field(
        description="Tickets in ascending ticket order (page on with `after` to sync "
        "incrementally).",
        extensions=READ,
    )
    async def tickets(
        self, info: Info, filter: TicketFilter | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[Ticket]:  # fmt: skip
        return Connection.of(await resolve.tickets(info, filter, first, after), Ticket.from_doc)

    @strawberry.field(description="One ticket by id.", extensions=READ)
    async def ticket(self, info: Info, id: strawberry.ID) -> Ticket:
        return Ticket.from_doc(await resolve.ticket(info, id))

    @strawberry.field(
        description="Ticket sales of a purchase window (inclusive UTC days) with new and "
        "returning fans. A fan is NEW when its first purchase with the partner falls in the "
        "window, RETURNING when it bought in the window and also before it. With "
        "eventSpecific, only purchases matching the event filters count for both.",
        extensions=READ,
    )
    async def ticket_stats(
        self, info: Info, min_purchase_date: date, max_purchase_date: date,
        event_name: str | None = None, event_key: str | None = None,
        event_date: date | None = None, venue_name: str | None = None,
        artist_name: str | None = None, event_specific: bool = False,
        partner_id: strawberry.ID | None = None,
    ) -> TicketStats:  # fmt: skip
        filters = {"event_name": event_name, "event_key": event_key, "venue_name": venue_name,
                   "event_date": event_date.isoformat() if event_date else None,
                   "artist_name": artist_name}  # fmt: skip
        stats = await resolve.ticket_stats(
            info, min_purchase_date, max_purchase_date, filters, event_specific, partner_id
        )
        return TicketStats(
            returning_fans_count=stats["returning_fans_count"],
            new_fans_count=stats["new_fans_count"], sales_count=stats["sales_count"],
            seats_count=stats["seats_count"],
            revenue=[Money(amount=a, currency=c) for c, a in stats["revenue"]],
        )  # fmt: skip

    @strawberry.field(description="Ticket events, by date.", extensions=READ)
    async def ticket_events(
        self, info: Info, event_name: str | None = None, event_key: str | None = None,
        event_date: date | None = None, venue_name: str | None = None,
        network: str | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[TicketEvent]:  # fmt: skip
        filters = {"event_name": event_name, "event_key": event_key, "venue_name": venue_name,
                   "event_date": event_date.isoformat() if event_date else None,
                   "network": network}  # fmt: skip
        page = await resolve.ticket_events(info, filters, first, after)
        return Connection.of(page, TicketEvent.from_doc)

    @strawberry.field(
        description="Top fans by points of one name in a date range (inclusive UTC days); "
        "`first` 1..100 rows, default 20.",
        extensions=READ,
    )
    async def leaderboard(
        self, info: Info, point_name: str, start_date: date | None = None,
        end_date: date | None = None, first: int | None = None,
        partner_id: strawberry.ID | None = None,
    ) -> list[LeaderboardEntry]:  # fmt: skip
        rows = await resolve.leaderboard(info, point_name, start_date, end_date, first, partner_id)
        loader = info.context.loaders.get(data.FanByIdLoader)
        fans = await loader.load_many([fan_id for fan_id, _ in rows])
        entries: list[LeaderboardEntry] = []
        for i, ((fan_id, points), fan) in enumerate(zip(rows, fans, strict=True)):
            rank = entries[-1].rank if entries and entries[-1].points == points else i + 1
            entries.append(
                LeaderboardEntry(
                    rank=rank,
                    fan_id=strawberry.ID(fan_id),
                    display_name=_display_name(fan),
                    points=points,
                )
            )
        return entries


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a fan.", extensions=WRITE)
    async def create_fan(self, info: Info, input: CreateFanInput) -> Fan:
        return Fan.from_doc(await resolve.create_fan(info, input))

    @strawberry.mutation(description="Change a fan; only the fields sent change.", extensions=WRITE)
    async def update_fan(self, info: Info, id: strawberry.ID, input: UpdateFanInput) -> Fan:
        return Fan.from_doc(await resolve.update_fan(info, id, input))

    @strawberry.mutation(
        description="Delete a fan with its activities and points (its tickets stay).",
        extensions=WRITE,
    )
    async def delete_fan(self, info: Info, id: strawberry.ID) -> bool:
        return await resolve.delete_fan(info, id)

    @strawberry.mutation(description="Record a fan activity.", extensions=WRITE)
    async def create_fan_activity(self, info: Info, input: CreateFanActivityInput) -> FanActivity:
        return FanActivity.from_doc(await resolve.create_activity(info, input))

    @strawberry.mutation(
        description="Store a ticket; a known ticketKey returns DUPLICATE with the existing one.",
        extensions=WRITE,
    )
    async def create_ticket(
        self, info: Info, input: CreateTicketInput, partner_id: strawberry.ID | None = None
    ) -> CreateTicketResult:
        status, doc = await resolve.create_ticket(info, input, partner_id)
        return _ticket_result(0, status, doc)

    @strawberry.mutation(
        description="Store 1..100 tickets; one result per item (SUCCESS, DUPLICATE, INVALID).",
        extensions=WRITE,
    )
    async def create_tickets(
        self, info: Info, tickets: list[CreateTicketInput], partner_id: strawberry.ID | None = None
    ) -> list[CreateTicketResult]:
        results = await resolve.create_tickets(info, tickets, partner_id)
        return [_ticket_result(i, status, value) for i, (status, value) in enumerate(results)]

    @strawberry.mutation(description="Create, update or delete a ticket event.", extensions=WRITE)
    async def upsert_ticket_event(
        self, info: Info, input: UpsertTicketEventInput
    ) -> TicketEventResult:
        action, doc = await resolve.upsert_ticket_event(info, input)
        return TicketEventResult(
            id=strawberry.ID(doc["_id"]), action=TicketEventAction(action), status="success",
            event=None if action == "delete" else TicketEvent.from_doc(doc),
        )  # fmt: skip


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Your partner's tickets as they are sold or synced (partner staff).",
        extensions=allow(STAFF, scope=Scope.CRM_READ),
    )
    async def ticket_sold(self, info: Info) -> AsyncGenerator[Ticket, None]:
        async for doc in resolve.sold_tickets(info):
            yield Ticket.from_doc(doc)

    @strawberry.subscription(
        description="Your partner's fan activities as they are recorded (partner staff).",
        extensions=allow(STAFF, scope=Scope.CRM_READ),
    )
    async def fan_activity(self, info: Info) -> AsyncGenerator[FanActivity, None]:
        async for doc in resolve.fan_activities(info):
            yield FanActivity.from_doc(doc)
