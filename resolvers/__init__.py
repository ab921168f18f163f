"""Thin resolvers: validate arguments, call data access and loaders, return documents."""
