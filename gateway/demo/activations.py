"""Demo activations: per partner one live (with engagement), one ended, one draft.

Ids and tokens are deterministic (`demo.token`), so re-running the seed keeps the printed
tokens working; engagement is written only when an activation has none yet.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from gateway.auth import secrets as creds
from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.storage.mongo import Database, Document
from loaders import activations as data
from loaders.activations import ActivationStatus, EventKind
from loaders.base import epoch_ms, utcnow

LIVE_EVENTS = 360
ENDED_EVENTS = 120


def _windows(now: datetime) -> list[tuple[str, ActivationStatus, datetime, datetime, int]]:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        ("live", ActivationStatus.LIVE, midnight - timedelta(days=7),
         midnight + timedelta(days=30, milliseconds=-1), LIVE_EVENTS),
        ("ended", ActivationStatus.ENDED, midnight - timedelta(days=60),
         midnight - timedelta(days=30, milliseconds=1), ENDED_EVENTS),
        ("draft", ActivationStatus.DRAFT, midnight + timedelta(days=45),
         midnight + timedelta(days=46, milliseconds=-1), 0),
    ]  # fmt: skip


async def seed(db: Database, partner: DemoPartner, demo: DemoSecrets) -> None:
    """Create or refresh this partner's activations (the first one live, covering now)."""
    now = utcnow()
    slug = partner.id.removeprefix("par_demo-")
    for position, (label, status, start, end, events) in enumerate(_windows(now), start=1):
        activation_id = f"act_demo-{slug}-{position}"
        token = creds.ACTIVATION_TOKEN_PREFIX + demo.token(f"activation:{activation_id}")
        event_key = f"{slug}-{label}-{start.date().isoformat()}"
        existing = await db.activations.find_one({"_id": activation_id})
        if existing is None:
            fields = data.NewActivation(
                event_key, f"{partner.name} {label} night", "premium" if position == 1 else
                "standard", start, end, status,
            )  # fmt: skip
            doc, _ = await data.insert_activation(db, partner.id, fields, token, activation_id)
        else:
            doc = existing
            updates: Document = {"status": status.value,
                                          "token_digest": creds.digest(token)}  # fmt: skip
            # Keep the live one live: move its window only once it no longer covers now.
            if status is ActivationStatus.LIVE and not data.accepts_events(
                {**existing, "status": status.value}, now
            ):
                updates |= {"start_at": start, "end_at": end}
            doc = {**existing, **updates}
            doc["start_ms"] = epoch_ms(doc["start_at"])
            # A whole-document replace keeps datetimes datetimes on the embedded store,
            # where a `$set` of one reads back as a string.
            await db.activations.replace_one({"_id": activation_id}, doc)
        partner.activations.append({"id": activation_id, "eventKey": doc["event_key"],
                                    "token": token})  # fmt: skip
        if (
            events
            and await db.activation_daily.count_documents({"activation_id": activation_id}) == 0
        ):
            await _engagement(db, doc, events, partner.index * 10 + position, now)


async def _engagement(
    db: Database, activation: Document, events: int, seed: int, now: datetime
) -> None:
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    start: datetime = activation["start_at"]
    end: datetime = min(activation["end_at"], now)
    span = max(int((end - start).total_seconds()), 1)
    sessions = [f"demo-session-{seed}-{i:04d}" for i in range(events // 3)]
    kinds = [EventKind.VIEW] * 6 + [EventKind.OUTBOUND_CLICK] * 3 + [EventKind.CALENDAR_SYNC]
    for _ in range(events):
        at = start + timedelta(seconds=rng.randrange(span))
        await data.record_event(db, activation, rng.choice(kinds), rng.choice(sessions), at)
