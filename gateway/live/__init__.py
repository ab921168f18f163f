"""The live engine: MongoDB change streams fanned out to GraphQL subscriptions.

`hub` runs one change-stream watcher per collection per process and routes each change to
the listeners registered for its routing key (the subscribe API resolvers use); `guard`
closes a WebSocket when its credential expires or is revoked. May import `gateway.core`,
`gateway.auth` and `gateway.storage`; never the HTTP edge.
"""
