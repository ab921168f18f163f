"""Storage: the process's MongoDB client and command listener, index creation, and the
embedded MongoDB-compatible store's lifecycle (`nx-27017` as a child process).

May import `gateway.core` and `gateway.settings` only; the data layers (`loaders/`) build on
it, never the other way round (the domains hand their index declarations in).
"""
