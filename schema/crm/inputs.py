"""Fan CRM inputs: fan create/update, the fan search filter, tickets, events, activities."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from schema.crm.types import BusinessOptInInput, FanGender, KeyValueInput, TicketEventAction

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
    rating: int | None = strawberry.field(default=None, description="Rating 0..5 (0: none).")
    latitude: float | None = strawberry.field(
        default=None, description="Latitude -90..90 (with longitude)."
    )
    longitude: float | None = strawberry.field(
        default=None, description="Longitude -180..180 (with latitude)."
    )
    metro_area: str | None = strawberry.field(default=None, description="Metro area (DMA/CMA).")
    ip_address: str | None = strawberry.field(default=None, description="IPv4 or IPv6 address.")
    networks: list[str] | None = strawberry.field(
        default=None, description="Connected networks (at most 20; a-z, 0-9, _ . and -)."
    )
    idol_names: list[str] | None = strawberry.field(
        default=None, description="Connected idols (at most 50)."
    )


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
    rating: int | None = strawberry.field(
        default=strawberry.UNSET, description="Rating 0..5 (null: not rated)."
    )
    latitude: float | None = strawberry.field(
        default=strawberry.UNSET, description="Latitude (send with longitude; null clears both)."
    )
    longitude: float | None = strawberry.field(
        default=strawberry.UNSET, description="Longitude (send with latitude)."
    )
    metro_area: str | None = strawberry.field(default=strawberry.UNSET, description="Metro area.")
    ip_address: str | None = strawberry.field(default=strawberry.UNSET, description="IP address.")
    networks: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the connected networks."
    )
    idol_names: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the connected idols."
    )


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
        default=None,
        description="At least this old today (0..150; fans without a birth date "
        "never match an age filter).",
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
    networks: list[str] | None = strawberry.field(
        default=None, description="Connected to any of these networks (fan_networks)."
    )
    rating_min: int | None = strawberry.field(
        default=None, description="Rating at least this (0..5; fan_rating)."
    )
    rating_max: int | None = strawberry.field(default=None, description="Rating at most this.")
    metro_areas: list[str] | None = strawberry.field(
        default=None, description="In any of these metro areas (fan_metro_areas)."
    )
    idols: list[str] | None = strawberry.field(
        default=None, description="Connected to any of these idols (idol_names, OR relation)."
    )
    idols_all: list[str] | None = strawberry.field(
        default=None, description="Connected to every one of these idols (AND relation)."
    )
    idols_none: list[str] | None = strawberry.field(
        default=None, description="Connected to none of these idols (NOT relation)."
    )
    max_count: int | None = strawberry.field(
        default=None,
        description="At most this many fans in the whole result (1..1,000,000; default "
        "100,000, the seed's max_count): paging stops there and `totalCount` is capped to it.",
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
    metro_area: str | None = strawberry.field(
        default=None, description="Metro area: DMA or CMA, up to 64 characters."
    )
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
    campaign_title: str | None = strawberry.field(
        default=None,
        description="Campaign title, 1..200 characters; required unless `campaignId` is given "
        "(then it is the campaign's title, and a different one is refused).",
    )
    campaign_id: str | None = strawberry.field(
        default=None,
        description="Key of one of the partner's CRM campaigns (the seed's `page_tab_id`); the "
        "activity takes its title, app type and stream key.",
    )
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
    is_phone_subscribed: bool | None = strawberry.field(default=None, description="SMS opt-in.")
    ip_address: str | None = strawberry.field(
        default=None, description="IP address of the fan (IPv4 or IPv6; stored normalised)."
    )
    user_key: str | None = strawberry.field(
        default=None, description="The fan's user key on a network (Facebook, Spotify, ...)."
    )
    app_type: str | None = strawberry.field(
        default=None, description="Type of contest, up to 64 characters (default: the campaign's)."
    )
    stream_key: str | None = strawberry.field(
        default=None, description="Stream the activity is tied to (default: the campaign's)."
    )
    networks: list[str] | None = strawberry.field(
        default=None,
        description="Networks the fan connected (up to 20; each 1..32 of a-z, 0-9, `_ . -`, "
        "lower-cased); added to the fan's connections.",
    )
    idol_names: list[str] | None = strawberry.field(
        default=None,
        description="Idols the fan connected (up to 50 names of 1..200 characters); added to the "
        "fan's idols.",
    )
    duration_ms: int | None = strawberry.field(
        default=None, description="Time spent on the activity in ms (0..7 days; leaderboards)."
    )
    correct_count: int | None = strawberry.field(
        default=None, description="Questions answered correctly (0..100000; leaderboards)."
    )
