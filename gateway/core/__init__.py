"""The small core every layer shares: error types, prefixed ids, metrics, input checks.

Anything here may be imported by any layer (HTTP edge, live engine, protection, storage,
auth, and the data layers `schema/`, `resolvers/`, `loaders/`). It imports nothing from
the rest of `gateway` (nor from the data layers), so it can never close an import cycle.
"""
