"""The committed SDL matches the code; every field is described and every root field guarded."""

from __future__ import annotations

from pathlib import Path

from strawberry.permission import PermissionExtension

from schema import build_schema, schema_sdl

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_matches_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema_sdl(), (
        "schema.graphql drifted: run `gateway export-schema > schema.graphql`"
    )


def test_every_type_and_field_has_a_description() -> None:
    schema = build_schema()
    missing = []
    for name, gql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if name not in {"Query", "Mutation", "Subscription"} and not gql_type.description:
            missing.append(name)
        for field_name, field in (getattr(gql_type, "fields", None) or {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
    assert missing == []


def test_every_root_field_declares_its_guard() -> None:
    schema = build_schema()
    unguarded = []
    for root in (schema.query, schema.mutation, schema.subscription):
        if root is None:
            continue
        for field in root.__strawberry_definition__.fields:
            if not any(isinstance(ext, PermissionExtension) for ext in field.extensions):
                unguarded.append(field.name)
    assert unguarded == []
