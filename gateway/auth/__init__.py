"""Identity: principals, credentials and their verification.

JWT issuing and checking (pinned algorithm, per-kind audience, key rotation), password
hashing, app keys and activation tokens, staff roles and scopes, revocation documents,
login lock-out, and the dashboard's refresh-token cookie (`cookie`). May import
`gateway.core`, `gateway.storage`, `gateway.settings` and the identity data access in
`loaders/`; never the HTTP edge.
"""
