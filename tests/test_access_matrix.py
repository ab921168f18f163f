"""Every root field and mutation, called by every principal kind, is allowed or denied
exactly as its declared guard and the role/scope table say.

The guard declarations are read from the schema (so a new domain is covered without
editing this file); what is proven is that the running gateway enforces them with real
credentials: denied callers get UNAUTHENTICATED / FORBIDDEN and no data, allowed callers
get past the guard (their result may still be NOT_FOUND or BAD_USER_INPUT for the dummy
arguments used here).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
)
from strawberry.permission import PermissionExtension

from gateway.auth.principal import PrincipalKind
from gateway.auth.scopes import ROLE_SCOPES, Role
from schema import build_schema
from schema.permissions import Anyone, HasScope, IsAuthenticated, PrincipalKindIs
from tests.conftest import GraphQL, Persona, World

GUARD_MESSAGES = {IsAuthenticated.message, PrincipalKindIs().message}
PERSONA_KINDS = {
    "anonymous": (PrincipalKind.ANONYMOUS, None),
    "operator": (PrincipalKind.OPERATOR, None),
    "a_owner": (PrincipalKind.STAFF, Role.OWNER),
    "a_manager": (PrincipalKind.STAFF, Role.MANAGER),
    "a_analyst": (PrincipalKind.STAFF, Role.ANALYST),
    "a_app": (PrincipalKind.APP, None),
    "a_member": (PrincipalKind.MEMBER, None),
}
# Run last: they end the caller's session.
SESSION_ENDING = {"logout"}

SCALAR_SAMPLES: dict[str, Any] = {
    "String": "x",
    "ID": "zzz_matrix0000",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "DateTime": "2030-01-01T00:00:00+00:00",
    "Date": "2030-01-01",
}


def sample(gql_type: GraphQLInputType) -> Any:
    """A type-correct value for a required argument (content is irrelevant to the guard)."""
    if isinstance(gql_type, GraphQLNonNull):
        return sample(gql_type.of_type)
    if isinstance(gql_type, GraphQLList):
        return [sample(gql_type.of_type)]
    if isinstance(gql_type, GraphQLEnumType):
        return next(iter(gql_type.values))
    if isinstance(gql_type, GraphQLInputObjectType):
        return {
            name: sample(f.type)
            for name, f in gql_type.fields.items()
            if isinstance(f.type, GraphQLNonNull)
        }
    if isinstance(gql_type, GraphQLScalarType):
        return SCALAR_SAMPLES.get(gql_type.name, "x")
    raise TypeError(gql_type)


def selection(gql_type: Any) -> str:
    named = get_named_type(gql_type)
    if isinstance(named, GraphQLObjectType | GraphQLUnionType) or hasattr(named, "fields"):
        return "{ __typename }"
    return ""


def operation(kind: str, name: str, field: Any) -> tuple[str, dict[str, Any]]:
    required = {
        arg_name: arg
        for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull)
    }
    if not required:
        return f"{kind} {{ {name} {selection(field.type)} }}", {}
    decls = ", ".join(f"${a}: {arg.type}" for a, arg in required.items())
    args = ", ".join(f"{a}: ${a}" for a in required)
    variables = {a: sample(arg.type) for a, arg in required.items()}
    return f"{kind} M({decls}) {{ {name}({args}) {selection(field.type)} }}", variables


def expected_denial(field: Any, kind: PrincipalKind, role: Role | None) -> str | None:
    """What the field's declared guard must answer this caller (None: let through)."""
    permissions = [
        p
        for ext in field.extensions
        if isinstance(ext, PermissionExtension)
        for p in ext.permissions
    ]
    assert permissions, f"{field.name} has no guard"
    for permission in permissions:
        if isinstance(permission, Anyone):
            continue
        if isinstance(permission, IsAuthenticated) and kind is PrincipalKind.ANONYMOUS:
            return "UNAUTHENTICATED"
        if isinstance(permission, PrincipalKindIs) and kind not in permission.kinds:
            return "FORBIDDEN"
        if (
            isinstance(permission, HasScope)
            and role is not None
            and permission.scope not in ROLE_SCOPES[role]
        ):
            return "FORBIDDEN"
    return None


def root_fields() -> list[tuple[str, Any, Any]]:
    schema = build_schema()
    gql_schema = schema._schema
    out = []
    for kind, root, gql_root in (
        ("query", schema.query, gql_schema.query_type),
        ("mutation", schema.mutation, gql_schema.mutation_type),
    ):
        if root is None or gql_root is None:
            continue
        for field in root.__strawberry_definition__.fields:
            name = schema.config.name_converter.get_graphql_name(field)
            out.append((kind, field, gql_root.fields[name]))
    return sorted(out, key=lambda item: item[1].name in SESSION_ENDING)


async def test_every_root_field_enforces_its_guard_for_every_principal(
    gql: GraphQL, world: World
) -> None:
    mismatches = []
    checked = 0
    for kind, field, gql_field in root_fields():
        name = build_schema().config.name_converter.get_graphql_name(field)
        query, variables = operation(kind, name, gql_field)
        for persona_name, (principal_kind, role) in PERSONA_KINDS.items():
            persona: Persona = getattr(world, persona_name)
            body = await gql(query, variables, as_=persona)
            # Guard denials are told apart from resolver outcomes by the guards' own messages.
            guard = {
                e["extensions"]["code"]
                for e in body.get("errors") or []
                if e["message"] in GUARD_MESSAGES or e["message"].startswith("Missing scope ")
            }
            denial = expected_denial(field, principal_kind, role)
            if denial is not None:
                leaked = (body.get("data") or {}).get(name)
                if guard != {denial} or leaked:
                    mismatches.append((name, persona_name, f"expected {denial}", guard))
            elif guard:
                mismatches.append((name, persona_name, "expected allowed", guard))
            checked += 1
    assert mismatches == []
    assert checked == len(root_fields()) * len(PERSONA_KINDS)


def test_the_matrix_sees_the_identity_fields() -> None:
    names = {f.name for _, f, _ in root_fields()}
    assert {"viewer", "partner", "partner_login", "create_partner", "logout"} <= names
