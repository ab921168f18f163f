"""GraphQL selections built from the committed schema: every field of a type, to a depth."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema, build_schema, get_named_type

ROOT = Path(__file__).resolve().parent.parent


@cache
def sdl_schema() -> GraphQLSchema:
    return build_schema((ROOT / "schema.graphql").read_text())


def needs_arguments(field: object) -> bool:
    args = getattr(field, "args", {})
    return any(
        isinstance(arg.type, GraphQLNonNull) and arg.default_value is None for arg in args.values()
    )


def selection(type_name: str, depth: int = 3) -> str:
    """Every field of `type_name` (objects to `depth` levels; fields needing arguments skipped)."""
    parent = sdl_schema().type_map[type_name]
    assert isinstance(parent, GraphQLObjectType)
    parts: list[str] = []
    for name, field in parent.fields.items():
        if needs_arguments(field):
            continue
        inner = get_named_type(field.type)
        if isinstance(inner, GraphQLObjectType):
            if depth > 1:
                sub = selection(inner.name, depth - 1)
                if sub:
                    parts.append(f"{name} {{ {sub} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def root_type(root: str, operation: str = "query") -> str:
    """The named type a root field of `operation` returns."""
    schema = sdl_schema()
    parent = schema.subscription_type if operation == "subscription" else schema.query_type
    assert parent is not None
    return str(get_named_type(parent.fields[root].type).name)
