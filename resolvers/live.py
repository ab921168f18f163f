"""Shared shape of the event-stream subscriptions: the caller's partner's new documents."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gateway.context import Info
from gateway.core.errors import Forbidden
from gateway.storage.mongo import Document


def inserted(info: Info, collection: str) -> AsyncIterator[Document]:
    """Documents inserted into `collection` for the caller's own partner, as they arrive.

    The guard admits only partner staff; routing on their partner id is the tenant filter,
    so another partner's documents never reach this subscriber. Loaders are replaced before
    every event, so nested fields never come from a cache filled for an earlier one.
    Under a fan-out transport one execution serves every subscriber with the same share key
    (`ChangeHub.shared_events`): a subscriber that joins one ends its own stream here.
    """
    partner_id = info.context.principal.partner_id
    if partner_id is None:
        raise Forbidden("Live events are for partner staff.")
    return _inserted(info, collection, partner_id)


async def _inserted(info: Info, collection: str, partner_id: str) -> AsyncIterator[Document]:
    hub, capacity = info.context.services.hub, info.context.settings.subscription_queue_size
    async with hub.shared_events(collection, "partner_id", partner_id, capacity) as queue:
        while queue is not None:
            change = await queue.get()
            info.context.fresh_loaders()
            yield dict(change["fullDocument"])
