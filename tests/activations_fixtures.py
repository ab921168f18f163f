"""Given-state helpers for the activation tests: activations written straight to the store."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.storage.mongo import Database, Document
from loaders import activations as data
from loaders.activations import ActivationStatus
from loaders.base import utcnow


async def given_activation(
    db: Database,
    partner_id: str,
    status: ActivationStatus = ActivationStatus.LIVE,
    *,
    event_key: str = "jazz-sunset-2026-03-15",
    event_name: str = "Jazz Night at Le Sunset",
    start_at: datetime | None = None,
    end_at: datetime | None = None,
) -> tuple[Document, str]:
    """An activation (live, window around now by default) and its token."""
    now = utcnow()
    start = start_at or now - timedelta(days=7)
    end = end_at or now + timedelta(days=30)
    fields = data.validate_new_activation(event_key, event_name, "premium", start, end, status)
    return await data.insert_activation(db, partner_id, fields)
