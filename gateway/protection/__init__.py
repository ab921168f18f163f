"""Operation protection, run as schema extensions before any resolver: persisted
operations (APQ and the safelist), operation limits (depth, aliases, directives, tokens,
cost, string length) over cached parses and validations, and cost-based rate limits.

`documents` holds what the others share (limits, measures, caches); `extensions` puts the
steps in order. May import `gateway.core`, `gateway.auth`, `gateway.storage`,
`gateway.settings` and the data access of `loaders.hardening`; never the HTTP edge.
"""
