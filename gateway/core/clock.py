"""The one clock: timezone-aware UTC now (storage.md: times are aware UTC datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
