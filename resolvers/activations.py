"""Activations: create/delete/status, listing, event tracking and stats access.

Stats are reachable three ways, all ending in `StatsReport`: the activation's token
(GraphQL argument or the REST endpoint, no other credential), an ACTIVATION principal of
that activation, or partner staff / the operator through the tenant-scoped loaders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from gateway.auth.principal import PrincipalKind
from gateway.auth.scopes import Scope as StaffScope
from gateway.context import Info
from gateway.core.errors import Conflict, Forbidden, NotFound, Unauthenticated
from gateway.core.ids import parse_id
from gateway.live.hub import Feed, Listener
from gateway.storage.mongo import Database, Document
from loaders import activations as data
from loaders.activations import ActivationStatus, EventKind, Metrics, StatsRange
from loaders.base import Page, utcnow
from loaders.partners import PartnerByIdLoader

TOKEN_REFUSED = "Invalid or expired token."  # noqa: S105 - a message
NOT_FOUND = "Activation not found."
NO_STATS = "This activation has no stats in its current state."


@dataclass(frozen=True)
class StatsReport:
    """One activation's stats over one range: what GraphQL and REST both render."""

    activation: Document
    range: StatsRange
    metrics: Metrics


# --- lifecycle -----------------------------------------------------------------------


async def create_activation(
    info: Info, partner_id: str | None, event_key: str, event_name: str, tier: str,
    start_at: datetime, end_at: datetime, status: ActivationStatus,
) -> tuple[Document, str]:  # fmt: skip
    """Validate everything, check the partner, then insert; returns (activation, token)."""
    requested = parse_id(partner_id, "par", "partnerId") if partner_id is not None else None
    target = info.context.scope.partner_id_for_write(requested)
    fields = data.validate_new_activation(event_key, event_name, tier, start_at, end_at, status)
    if await info.context.loaders.get(PartnerByIdLoader).load(target) is None:
        raise NotFound("Partner not found.", field="partnerId")
    doc, token = await data.insert_activation(info.context.db, target, fields)
    info.context.loaders.get(data.ActivationByIdLoader).prime(doc["_id"], doc)
    return doc, token


async def delete_activation(info: Info, activation_id: str) -> bool:
    doc = await data.delete_activation(
        info.context.db, info.context.scope, parse_id(activation_id, "act")
    )
    if doc is None:
        raise NotFound(NOT_FOUND)
    return True


async def set_activation_status(
    info: Info, activation_id: str, status: ActivationStatus
) -> Document:
    """Move an activation forward in its lifecycle (draft → live → ended → archived)."""
    doc = await activation(info, activation_id)
    if status not in data.VISIBLE_STATUSES:
        raise Conflict("unknown status")
    if data.STATUS_ORDER[status] <= data.STATUS_ORDER[ActivationStatus(doc["status"])]:
        raise Conflict(f"cannot move from {doc['status']} to {status.value}", field="status")
    updated = await data.set_status(
        info.context.db, info.context.scope, doc["_id"], doc["status"], status
    )
    if updated is None:
        raise Conflict("the activation changed meanwhile; reload and retry", field="status")
    return updated


async def activation(info: Info, activation_id: str) -> Document:
    doc: Document | None = await info.context.loaders.get(data.ActivationByIdLoader).load(
        parse_id(activation_id, "act")
    )
    if doc is None:
        raise NotFound(NOT_FOUND)
    return doc


async def activations(
    info: Info, status: ActivationStatus | None, partner_id: str | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    requested = parse_id(partner_id, "par", "partnerId") if partner_id is not None else None
    page = await data.list_activations(
        info.context.db, info.context.scope, status, requested, first, after
    )
    info.context.loaders.prime_rows(data.ActivationByIdLoader, page.rows)
    return page


# --- tracking ------------------------------------------------------------------------


async def track_event(info: Info, activation_id: str, kind: EventKind, session_id: str) -> bool:
    """Count one engagement event for a live activation of the app's own partner."""
    activation_id = parse_id(activation_id, "act", "activationId")
    session_id = data.validate_session_id(session_id)
    doc: Document | None = await info.context.loaders.get(data.ActivationByIdLoader).load(
        activation_id
    )
    if doc is None:
        raise NotFound(NOT_FOUND)
    now = utcnow()
    if not data.accepts_events(doc, now):
        raise Conflict("This activation is not live.")
    await data.record_event(info.context.db, doc, kind, session_id, now)
    return True


# --- stats ---------------------------------------------------------------------------


def _require_stats(doc: Document) -> None:
    if doc["status"] not in data.STATS_STATUSES:
        raise Conflict(NO_STATS)


async def _activation_by_token(db: Database, activation_id: str, token: str) -> Document:
    """NotFound: no such activation; Forbidden: the token does not open it (wrong token, a
    token of another activation, or the activation was deleted)."""
    check = await data.check_token(db, activation_id, token)
    if check.activation is None:
        raise Forbidden(TOKEN_REFUSED) if check.exists else NotFound(NOT_FOUND)
    return check.activation


async def stats_by_token(
    db: Database, activation_id: str, token: str,
    start_at: datetime | None = None, end_at: datetime | None = None,
) -> StatsReport:  # fmt: skip
    """Stats for the holder of an activation's token (no other credential needed).

    Errors as `_activation_by_token`, and Conflict for a draft.
    """
    doc = await _activation_by_token(db, activation_id, token)
    _require_stats(doc)
    return await _report(db, doc, data.stats_range(doc, start_at, end_at))


async def _report(db: Database, doc: Document, span: StatsRange) -> StatsReport:
    """Stats over `span`, read from the store (no loader cache)."""
    if span.whole_window:
        metrics = (
            await data.window_metrics(
                db, {"partner_id": doc["partner_id"]}, [(doc["partner_id"], doc["_id"])]
            )
        )[0]
    else:
        metrics = await data.range_metrics(db, doc, span.first_day, span.last_day)
    return StatsReport(doc, span, metrics)


async def stats_of(
    info: Info, doc: Document, start_at: datetime | None, end_at: datetime | None
) -> StatsReport:
    """Stats of an activation the caller already may read (loaded through its scope)."""
    _require_stats(doc)
    span = data.stats_range(doc, start_at, end_at)
    if span.whole_window:
        loader = info.context.loaders.get(data.WindowMetricsByActivationLoader)
        metrics = await loader.load((doc["partner_id"], doc["_id"]))
    else:
        metrics = await data.range_metrics(info.context.db, doc, span.first_day, span.last_day)
    return StatsReport(doc, span, metrics)


async def activation_stats(
    info: Info, activation_id: str, token: str | None,
    start_at: datetime | None, end_at: datetime | None,
) -> StatsReport:  # fmt: skip
    """`activationStats`: by token, or for the activation's own principal, staff, operator."""
    activation_id = parse_id(activation_id, "act", "activationId")
    if token is not None:
        return await stats_by_token(info.context.db, activation_id, token, start_at, end_at)
    doc = await _readable_activation(info, activation_id)
    return await stats_of(info, doc, start_at, end_at)


async def _readable_activation(info: Info, activation_id: str) -> Document:
    """The activation, if the caller's own credential may read its stats (no token given)."""
    principal = info.context.principal
    if principal.kind is PrincipalKind.ANONYMOUS:
        raise Unauthenticated("Pass the activation's token or authenticate.")
    if principal.kind is PrincipalKind.ACTIVATION:
        if principal.activation_id != activation_id:
            raise Forbidden(TOKEN_REFUSED)
    elif principal.kind is PrincipalKind.STAFF:
        if not principal.has_scope(StaffScope.ACTIVATIONS_READ):
            raise Forbidden("Missing scope activations:read.")
    elif principal.kind is not PrincipalKind.OPERATOR:
        raise Forbidden("Not allowed for this kind of credential.")
    doc: Document | None = await info.context.loaders.get(data.ActivationByIdLoader).load(
        activation_id
    )
    if doc is None:
        if principal.kind is PrincipalKind.ACTIVATION:
            raise Forbidden(TOKEN_REFUSED)  # its activation was deleted: the token is dead
        raise NotFound(NOT_FOUND)
    return doc


# --- live stats ----------------------------------------------------------------------


async def stats_updates(
    info: Info, activation_id: str, token: str | None
) -> AsyncIterator[StatsReport]:
    """`activationStatsUpdated`: whole-window stats now, then after changes, coalesced.

    Admission is exactly `activationStats`'s, checked before the stream starts (refusals
    are the protocol's `error` message). One feed per activation and process computes the
    stats at most once per `stats_update_interval_ms` for all its subscribers, each of
    which keeps only the newest report. Deleting the activation ends the stream with the
    error `activationStats` would now give.
    """
    activation_id = parse_id(activation_id, "act", "activationId")
    db = info.context.db
    if token is not None:
        doc = await _activation_by_token(db, activation_id, token)
    else:
        doc = await _readable_activation(info, activation_id)
    _require_stats(doc)
    by_token = token is not None or info.context.principal.kind is PrincipalKind.ACTIVATION
    return _stats_stream(info, doc["partner_id"], activation_id, by_token)


async def _stats_stream(
    info: Info, partner_id: str, activation_id: str, by_token: bool
) -> AsyncIterator[StatsReport]:
    db = info.context.db
    interval = info.context.settings.stats_update_interval_ms / 1000

    def make_feed() -> Feed[StatsReport | None]:
        feed: Feed[StatsReport | None] = Feed(
            compute=lambda: current_stats(db, partner_id, activation_id), interval=interval
        )
        sink = feed.sink()
        feed.listeners += [
            Listener("activation_daily", "activation_id", activation_id, sink),
            Listener("activations", "_id", activation_id, sink),
        ]
        return feed

    hub = info.context.services.hub
    async with hub.feed(("activation_stats", activation_id), make_feed) as latest:
        while True:
            report = await latest.get()
            if report is None:
                raise Forbidden(TOKEN_REFUSED) if by_token else NotFound(NOT_FOUND)
            yield report


async def current_stats(db: Database, partner_id: str, activation_id: str) -> StatsReport | None:
    """Whole-window stats straight from the store (no cache); None once it is gone."""
    doc = await data.find_visible_activation(db, partner_id, activation_id)
    if doc is None:
        return None
    return await _report(db, doc, data.stats_range(doc, None, None))
