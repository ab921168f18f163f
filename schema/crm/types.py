"""Fan CRM object types and enums: fans, tickets, activities, ticket events, stats, results."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.storage.mongo import Document
from loaders import crm as data
from resolvers import crm as resolve
from schema.connection import Connection
from schema.permissions import CRM_KEY, OPERATOR, STAFF, allow
from schema.rows import document_rows

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
    last_campaign_id: str | None = strawberry.field(
        description="Campaign id (`campaignId`) of the fan's latest activity, null when that "
        "activity named no campaign id (the seed's last_page_tab_id)."
    )
    fan_time_key: str = strawberry.field(
        description="The seed's time key of the fan's last change (`<unix>_<ms>_<fan id>`): "
        "pass it as `updatedFans(minTimeKey:)` to continue a sync after this fan."
    )
    name: str | None = strawberry.field(description="Full name: first and last (the seed's name).")
    rating: int = strawberry.field(description="The fan's rating, 1..5 (0: not rated).")
    latitude: float | None = strawberry.field(description="Latitude of the fan's location.")
    longitude: float | None = strawberry.field(description="Longitude of the fan's location.")
    metro_area: str | None = strawberry.field(
        description="Metro area (DMA / CMA) of the fan's location."
    )
    ip_address: str | None = strawberry.field(description="IP address the fan last came from.")
    networks: list[str] = strawberry.field(
        description="Connected networks (e.g. facebook, spotify), lower case."
    )
    idol_names: list[str] = strawberry.field(description="Connected idols (artists, teams).")

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
        """The fan of a stored document; each field is computed when first read."""
        return _fan_row(doc)


def _fan_name(doc: Document) -> str | None:
    return " ".join(p for p in (doc["first_name"], doc["last_name"]) if p) or None


def _gender(doc: Document) -> FanGender | None:
    gender = doc["gender"]
    return (GENDERS.get(gender) or FanGender(gender)) if gender else None


_fan_row = document_rows(Fan, {
    "id": lambda doc: doc["_id"], "partner_id": lambda doc: doc["partner_id"],
    "email": lambda doc: doc.get("email"), "phone": lambda doc: doc.get("phone"),
    "first_name": lambda doc: doc["first_name"] or None,
    "last_name": lambda doc: doc["last_name"] or None,
    "display_name": lambda doc: doc["display_name"] or None,
    "gender": _gender,
    "birth_date": lambda doc: date.fromisoformat(doc["birth_date"]) if doc["birth_date"] else None,
    "is_subscribed": lambda doc: bool(doc["is_subscribed"]),
    "is_phone_subscribed": lambda doc: bool(doc["is_phone_subscribed"]),
    "is_optout": lambda doc: bool(doc["is_optout"]),
    "business_opt_ins": lambda doc: list(doc["business_opt_ins"]),
    "tags": lambda doc: list(doc["tags"]), "fields": lambda doc: _kv(doc["fields"]),
    "country_code": lambda doc: doc["country_code"] or None,
    "province": lambda doc: doc["province"] or None,
    "city": lambda doc: doc["city"] or None,
    "postal_code": lambda doc: doc["postal_code"] or None,
    "source": lambda doc: doc["source"] or None,
    "created_at": lambda doc: doc["created_at"],
    "updated_at": lambda doc: data.from_ms(doc["updated_ms"]) or doc["created_at"],
    "first_purchase_at": lambda doc: data.from_ms(doc.get("first_purchase_ms")),
    "last_active_at": lambda doc: data.from_ms(doc.get("last_active_ms")),
    "last_campaign_title": lambda doc: doc.get("last_campaign_title") or None,
    "last_campaign_id": lambda doc: doc.get("last_campaign_id") or None,
    "fan_time_key": data.sync.time_key,
    "name": _fan_name,
    "rating": lambda doc: int(doc.get("rating") or 0),
    "latitude": lambda doc: doc.get("latitude"), "longitude": lambda doc: doc.get("longitude"),
    "metro_area": lambda doc: doc.get("metro_area") or None,
    "ip_address": lambda doc: doc.get("ip_address") or None,
    "networks": lambda doc: list(doc.get("networks") or []),
    "idol_names": lambda doc: list(doc.get("idol_names") or []),
})  # fmt: skip


# Gender members by stored value (the enum's own lookup is a Python call per row).
GENDERS = {member.value: member for member in FanGender}


async def _fan(info: Info, fan_id: str) -> Fan | None:
    doc = await resolve.load_fan(info, fan_id)
    return Fan.from_doc(doc) if doc else None


@strawberry.type(description="A ticket (purchase line item) synced from a ticketing network.")
class Ticket:
    id: strawberry.ID = strawberry.field(description="Ticket id (`tkt_…`).")
    partner_id: strawberry.ID = strawberry.field(description="Partner (the seed's account_id).")
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
    metro_area: str | None = strawberry.field(
        description="Buyer metro area: DMA or CMA (the seed's metro_area)."
    )
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
            id=strawberry.ID(doc["_id"]), partner_id=strawberry.ID(doc["partner_id"]),
            sequence=int(doc["seq"]), ticket_key=doc.get("ticket_key"), email=doc["email"],
            first_name=doc["first_name"], last_name=doc["last_name"], phone=_opt(doc["phone"]),
            customer_key=_opt(doc["customer_key"]), network=_opt(doc["network"]),
            order_key=_opt(doc["order_key"]), event_key=_opt(doc["event_key"]),
            event_name=doc["event_name"], event_date=date.fromisoformat(doc["event_date"]),
            artist_name=_opt(doc["artist_name"]), venue_name=_opt(doc["venue_name"]),
            price_code=_opt(doc["price_code"]), purchased_at=doc["purchased_at"],
            paid_amount=Money(amount=int(doc["paid_amount"]), currency=doc["currency"]),
            num_seats=int(doc["num_seats"]), city=_opt(doc["city"]),
            province=_opt(doc["province"]), country_code=_opt(doc["country_code"]),
            postal_code=_opt(doc["postal_code"]), metro_area=_opt(doc.get("metro_area")),
            is_deleted=bool(doc["is_deleted"]),
            created_at=doc["created_at"],
            last_updated_at=data.from_ms(doc["updated_ms"]) or doc["created_at"],
            fan_id=doc["fan_id"],
        )  # fmt: skip


@strawberry.type(
    description="One fan activity: a fan took part in a campaign (seed 002 activity structure)."
)
class FanActivity:
    id: strawberry.ID = strawberry.field(description="Activity id (`fac_…`).")
    sequence: int = strawberry.field(
        description="Increasing number per partner (the seed's `activity_id`: sync windows)."
    )
    partner_id: strawberry.ID = strawberry.field(description="Partner (the seed's account_id).")
    fan_id: strawberry.ID = strawberry.field(description="The fan's id.")
    campaign_title: str = strawberry.field(description="Title of the campaign.")
    campaign_id: str | None = strawberry.field(
        description="Key of the CRM campaign (the seed's `page_tab_id`; contests only)."
    )
    app_type: str | None = strawberry.field(description="For contests: the type of contest.")
    stream_key: str | None = strawberry.field(description="Stream the activity is tied to.")
    props: list[KeyValue] = strawberry.field(
        description="Campaign details (the seed's `details`), sorted by key."
    )
    day: date = strawberry.field(name="date", description="UTC day of the activity.")
    created_at: datetime = strawberry.field(
        description="When the activity happened (the seed's creation_timestamp)."
    )
    ip_address: str | None = strawberry.field(description="IP address the activity came from.")
    user_key: str | None = strawberry.field(description="The fan's Facebook/Spotify/… user key.")
    name: str | None = strawberry.field(description="The fan's full name at the activity.")
    is_subscribed: bool = strawberry.field(
        description="The fan's email marketing opt-in at the activity."
    )
    is_phone_subscribed: bool = strawberry.field(
        description="The fan's SMS marketing opt-in at the activity."
    )
    business_opt_ins: list[str] = strawberry.field(
        description="Businesses the fan was opted in to at the activity (opted_in_business_ids)."
    )
    networks: list[str] = strawberry.field(description="Networks connected with this activity.")
    idol_names: list[str] = strawberry.field(description="Idols connected with this activity.")
    duration_ms: int | None = strawberry.field(
        description="Time spent on the activity in ms (leaderboards)."
    )
    correct_count: int | None = strawberry.field(
        description="Questions answered correctly (leaderboards)."
    )

    @strawberry.field(description="The fan (null if the fan was deleted; `include_details`).")
    async def fan(self, info: Info) -> Fan | None:
        return await _fan(info, self.fan_id)

    @strawberry.field(
        description="Every network the fan has connected, sorted (`include_details` "
        "connections; empty if the fan was deleted)."
    )
    async def fan_networks(self, info: Info) -> list[str]:
        doc = await resolve.load_fan(info, self.fan_id)
        return sorted(doc.get("networks") or []) if doc else []

    @strawberry.field(
        description="Every idol the fan has connected, sorted (`include_details` idols; empty "
        "if the fan was deleted)."
    )
    async def fan_idol_names(self, info: Info) -> list[str]:
        doc = await resolve.load_fan(info, self.fan_id)
        return sorted(doc.get("idol_names") or []) if doc else []

    @classmethod
    def from_doc(cls, doc: Document) -> FanActivity:
        return cls(
            id=strawberry.ID(doc["_id"]), sequence=int(doc["seq"]),
            partner_id=strawberry.ID(doc["partner_id"]), fan_id=strawberry.ID(doc["fan_id"]),
            campaign_title=doc["campaign_title"], campaign_id=_opt(doc.get("campaign_id")),
            app_type=_opt(doc.get("app_type")), stream_key=_opt(doc.get("stream_key")),
            props=_kv(doc["props"]), day=date.fromisoformat(doc["day"]),
            created_at=doc["created_at"], ip_address=_opt(doc.get("ip_address")),
            user_key=_opt(doc.get("user_key")), name=_opt(doc.get("name")),
            is_subscribed=bool(doc.get("is_subscribed")),
            is_phone_subscribed=bool(doc.get("is_phone_subscribed")),
            business_opt_ins=list(doc.get("business_opt_ins") or []),
            networks=list(doc.get("networks") or []),
            idol_names=list(doc.get("idol_names") or []),
            duration_ms=doc.get("duration_ms"), correct_count=doc.get("correct_count"),
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
