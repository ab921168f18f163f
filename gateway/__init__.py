"""The OOOC GraphQL gateway: one Strawberry schema on aiohttp over MongoDB."""

__version__ = "0.1.0"
