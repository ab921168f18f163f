"""The HTTP and WebSocket edge: where every request enters.

The GraphQL view (`view`, POST/GET/WebSocket at /graphql), the seed-000 partner-stats REST
endpoint, the CSV exports, health/readiness/metrics handlers, access logs, the transport
guards (CSRF, CORS, body caps, security headers; run with the others by the one middleware,
`edge`) and the pages people use (`pages`:
the partners' dashboard, the event host's page, GraphiQL; their files in `static/`). It may
import every other layer; nothing below it (data layers, live engine, protection, storage,
core) imports it.
"""
