"""The one clock: timezone-aware UTC now (storage.md: times are aware UTC datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """The one date-time text of every surface: UTC, milliseconds, `Z`
    (`2026-03-01T09:30:00.000Z`, JavaScript's `toISOString()` form).

    Naive values are taken as UTC (stored times are UTC; the embedded store may drop the zone).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
