"""Batched fields: a resolver field under every row of a list, resolved once per list.

`members(first: 100) { edges { node { history(first: 3) { … } } } }` calls the `history`
resolver once per member: Strawberry's resolver wrapper, its argument conversion, a loader
future and an awaitable row each time, and graphql-core gathers the 100 awaitable rows as
100 tasks. That was half of a 100-member history page's CPU (issue 15), though the loader
already sends one command for all of them.

A field declares a *batch resolver* in its metadata (`metadata=batched(function)`):
`await function(info, sources, **arguments)` answers the field for many sources at once, a
sequence in the order of `sources`, each item the field's value for that source or an
`Exception` that is that source's error. The field's own resolver stays, and answers one
source through the same function (`one`), so both paths give the same values by
construction; the executor (`schema.execution.executor.FastExecutor`) calls the batch once
for all rows of a list page before completing them, and completes each row with its value.

A batch resolver receives the Strawberry `Info` of the list's first source (`info.context`
is the request's; `info.path` is not a row's), and the field's converted arguments (the same
for every row: a batched field's arguments are all immutable values).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

BATCH = "gateway.batch"

BatchResolver = Callable[..., Awaitable[Sequence[Any]]]


def batched(function: BatchResolver) -> dict[str, Any]:
    """Field metadata naming the field's batch resolver (see the module docstring)."""
    return {BATCH: function}


def batch_resolver(metadata: Mapping[Any, Any] | None) -> BatchResolver | None:
    """The batch resolver a field's metadata names, if any."""
    if not metadata:
        return None
    function: BatchResolver | None = metadata.get(BATCH)
    return function


async def one(function: BatchResolver, info: Any, source: Any, **arguments: Any) -> Any:
    """The field's value for one source, by its batch resolver (the per-row resolver)."""
    values = await function(info, [source], **arguments)
    if len(values) != 1:
        raise TypeError(f"{function.__qualname__} answered {len(values)} values for 1 source")
    value = values[0]
    if isinstance(value, Exception):
        raise value
    return value
