"""The protection steps as Strawberry schema extensions, in the order they must run."""

from __future__ import annotations

from functools import partial
from typing import Any

from gateway.protection.documents import DocumentCache, Limits
from gateway.protection.limits import OperationLimits
from gateway.protection.persisted import PersistedOperations, PersistedTexts
from gateway.settings import Settings


def protection_extensions(settings: Settings | None) -> list[Any]:
    """Persisted operations, then cached parse + validation with limits and rate limiting.

    They share one document cache, so a persisted hit skips parsing and validation.
    """
    cache = DocumentCache(Limits.from_settings(settings))
    texts = PersistedTexts()
    return [
        partial(PersistedOperations, cache=cache, texts=texts),
        partial(OperationLimits, cache=cache),
    ]
