"""Scalars of the public surface: DateTime (offset required in, UTC out) and Date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition


def _serialize_datetime(value: datetime) -> str:
    if value.tzinfo is None:  # stored values are UTC; a naive one is a bug upstream, not input
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise StrawberryInputCoercionError("DateTime must be an ISO-8601 string with an offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise StrawberryInputCoercionError(f'not an ISO-8601 DateTime: "{value}"') from None
    if parsed.tzinfo is None:
        raise StrawberryInputCoercionError(f'DateTime needs a UTC offset: "{value}"')
    return parsed.astimezone(UTC)


def _parse_date(value: object) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise StrawberryInputCoercionError("Date must be YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise StrawberryInputCoercionError(f'not a Date: "{value}"') from None


DateTimeScalar = ScalarDefinition(
    name="DateTime",
    description="ISO-8601 date and time with offset; always returned in UTC.",
    specified_by_url=None,
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
    parse_literal=None,
    origin=datetime,
)

DateScalar = ScalarDefinition(
    name="Date",
    description="Calendar date, YYYY-MM-DD.",
    specified_by_url=None,
    serialize=lambda value: value.isoformat(),
    parse_value=_parse_date,
    parse_literal=None,
    origin=date,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {datetime: DateTimeScalar, date: DateScalar}
