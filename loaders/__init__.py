"""Data access: tenant-scoped queries and per-request dataloaders, one module per domain."""
