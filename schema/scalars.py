"""Scalars of the public surface: DateTime (offset required in, UTC out) and Date.

One date-time text everywhere (`gateway.core.clock.iso_utc`): UTC, milliseconds, `Z`. Input
dates and date-times must lie in years 0002..9998 (in UTC), so that code adding a day or a
time-zone offset to them can never leave Python's calendar: the edges are a clear
`BAD_USER_INPUT`, never an overflow deep in a resolver.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from bson.tz_util import utc as BSON_UTC
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

from gateway.core.clock import iso_utc

MIN_YEAR, MAX_YEAR = 2, 9998
RANGE_MESSAGE = f"must lie in the years {MIN_YEAR:04d} to {MAX_YEAR}"


def _serialize_datetime(value: datetime) -> str:
    """`iso_utc`; a date-time already in UTC (Python's zone, or PyMongo's `tz_aware` one)
    skips its conversion: its own ISO text is the same up to the `+00:00` that becomes `Z`
    (a few datetimes per row of a page: the most frequent custom leaf)."""
    zone = value.tzinfo
    if (zone is UTC or zone is BSON_UTC) and type(value) is datetime:
        return value.isoformat(timespec="milliseconds")[:-6] + "Z"
    return iso_utc(value)


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise StrawberryInputCoercionError("DateTime must be an ISO-8601 string with an offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise StrawberryInputCoercionError(f'not an ISO-8601 DateTime: "{value}"') from None
    if parsed.tzinfo is None:
        raise StrawberryInputCoercionError(f'DateTime needs a UTC offset: "{value}"')
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise StrawberryInputCoercionError(f'DateTime {RANGE_MESSAGE}: "{value}"')
    return parsed.astimezone(UTC)


def _parse_date(value: object) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise StrawberryInputCoercionError("Date must be YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise StrawberryInputCoercionError(f'not a Date: "{value}"') from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise StrawberryInputCoercionError(f'Date {RANGE_MESSAGE}: "{value}"')
    return parsed


DateTimeScalar = ScalarDefinition(
    name="DateTime",
    description=(
        "ISO-8601 date and time with an offset (years 0002..9998); always returned in UTC "
        "with milliseconds and `Z`, e.g. 2026-03-01T09:30:00.000Z."
    ),
    specified_by_url=None,
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
    parse_literal=None,
    origin=datetime,
)

DateScalar = ScalarDefinition(
    name="Date",
    description="Calendar date, YYYY-MM-DD (years 0002..9998).",
    specified_by_url=None,
    serialize=lambda value: value.isoformat(),
    parse_value=_parse_date,
    parse_literal=None,
    origin=date,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {datetime: DateTimeScalar, date: DateScalar}
