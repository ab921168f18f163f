"""Input hardening, generic over the schema so it covers every domain added later.

- No scalar accepts an object (so no `{"$ne": null}` can become a MongoDB filter).
- Every id taken by a root field (an `ID` argument, an argument or input field named
  `id` / `…Id`) refuses an operator object sent in its place: BAD_USER_INPUT, no data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)

from gateway.core.errors import BadUserInput
from gateway.core.ids import parse_id
from gateway.core.validation import check_user_keys
from schema import build_schema
from tests.conftest import TEST_JWT_KEYS, GraphQL, World
from tests.hardening_fixtures import MakeClient, make_client, post

__all__ = ["make_client"]

INJECTION: dict[str, Any] = {"$ne": None}
FORBIDDEN_SCALARS = {"JSON", "JSONObject", "JSONString", "Any", "Object", "Map", "Dict"}
SAMPLE_SCALARS: dict[str, Any] = {
    "ID": "abc_abcdefghijkl",
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "DateTime": "2026-01-01T00:00:00+00:00",
    "Date": "2026-01-01",
}

SCHEMA: GraphQLSchema = build_schema()._schema


def is_id_like(name: str, type_: GraphQLInputType) -> bool:
    named = get_named_type(type_)
    return named.name == "ID" or name == "id" or name.endswith("Id")


def sample(type_: GraphQLInputType, depth: int = 0) -> Any:
    """A plausible value of an input type (required input fields only)."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type, depth)
    if isinstance(type_, GraphQLList):
        return [sample(type_.of_type, depth)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        if depth > 5:
            return {}
        return {
            name: sample(field.type, depth + 1)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is None
        }
    assert isinstance(type_, GraphQLScalarType)
    return SAMPLE_SCALARS.get(type_.name, "x")


def injected_inputs(type_: GraphQLInputType, depth: int = 0) -> list[tuple[str, Any]]:
    """(path, value) for each id-like field inside an input type, set to the injection."""
    named = get_named_type(type_)
    if not isinstance(named, GraphQLInputObjectType) or depth > 5:
        return []
    found: list[tuple[str, Any]] = []
    base = sample(named, depth)
    for name, field in named.fields.items():
        if is_id_like(name, field.type):
            found.append((name, {**base, name: INJECTION}))
        for path, value in injected_inputs(field.type, depth + 1):
            found.append((f"{name}.{path}", {**base, name: value}))
    if isinstance(type_, GraphQLList) or (
        isinstance(type_, GraphQLNonNull) and isinstance(type_.of_type, GraphQLList)
    ):
        found = [(path, [value]) for path, value in found]
    return found


@dataclass(frozen=True)
class Case:
    """One root field with one of its ids replaced by an operator object."""

    label: str
    query: str
    variables: dict[str, Any]


def selection_for(field_type: Any) -> str:
    named = get_named_type(field_type)
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
        return " { __typename }"
    return ""


def cases(schema: GraphQLSchema) -> list[Case]:
    found: list[Case] = []
    for op, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        if root is None:
            continue
        for field_name, field in root.fields.items():
            args = field.args
            required = {n: a for n, a in args.items() if isinstance(a.type, GraphQLNonNull)}
            targets: list[tuple[str, str, Any]] = []
            for arg_name, arg in args.items():
                if is_id_like(arg_name, arg.type):
                    targets.append((arg_name, arg_name, INJECTION))
                for path, value in injected_inputs(arg.type):
                    targets.append((f"{arg_name}.{path}", arg_name, value))
            for label, target_arg, value in targets:
                used = {**required, target_arg: args[target_arg]}
                definitions = ", ".join(f"${n}: {a.type}" for n, a in used.items())
                call_args = ", ".join(f"{n}: ${n}" for n in used)
                variables = {n: sample(a.type) for n, a in used.items()}
                variables[target_arg] = value
                query = (
                    f"{op} Injection({definitions}) {{ {field_name}({call_args})"
                    f"{selection_for(field.type)} }}"
                )
                found.append(Case(f"{field_name}({label})", query, variables))
    return found


CASES = cases(SCHEMA)


def test_no_scalar_accepts_an_object() -> None:
    scalars = [t for t in SCHEMA.type_map.values() if isinstance(t, GraphQLScalarType)]
    assert not {s.name for s in scalars} & FORBIDDEN_SCALARS
    accepting = []
    for scalar in scalars:
        try:
            scalar.parse_value(INJECTION)
        except Exception:  # noqa: S112 - refusing is the point
            continue
        accepting.append(scalar.name)
    assert accepting == []


def test_the_walker_finds_the_known_id_arguments() -> None:
    # Guards the walker itself: it must see the id-taking fields of the foundation.
    labels = {case.label for case in CASES}
    assert {
        "partner(id)",
        "revokeAppClient(id)",
        "createAppClient(input.partnerId)",
        "createPartnerStaff(input.partnerId)",
    } <= labels


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
async def test_operator_objects_in_place_of_ids_are_refused(
    gql: GraphQL, world: World, case: Case
) -> None:
    # given the most privileged caller, when an id is replaced by {"$ne": null}
    body = await gql(case.query, case.variables, as_=world.operator)
    # then the request is refused as bad input and nothing runs
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    assert codes and set(codes) == {"BAD_USER_INPUT"}, body
    assert body.get("data") is None, body


@pytest.mark.parametrize(
    "value", [INJECTION, ["par_abcdefghijkl"], 42, "$ne", "par_$ne", "par_a.b"]
)
def test_parse_id_refuses_anything_but_a_prefixed_id(value: Any) -> None:
    with pytest.raises(BadUserInput) as caught:
        parse_id(value, "par", field="partnerId")
    assert caught.value.extensions == {"field": "partnerId"}


@pytest.mark.parametrize(
    "mapping",
    [
        {"$where": "1"},
        {"a.b": 1},
        {"ok": {"$gt": ""}},
        {"ok": [{"x": 1}, {"y$": 2}]},
        {"": 1},
        {"a\x00": 1},
    ],
)
def test_check_user_keys_refuses_operator_and_dotted_keys(mapping: dict[str, Any]) -> None:
    with pytest.raises(BadUserInput) as caught:
        check_user_keys(mapping, "strings")
    assert caught.value.extensions == {"field": "strings"}


def test_check_user_keys_accepts_plain_keys() -> None:
    check_user_keys({"title": "x", "nested": {"de-DE": "y", "list": [{"k": 1}]}}, "strings")


async def test_injection_is_bad_input_not_a_masked_error_in_production(
    make_client: MakeClient, world: World
) -> None:
    # Variable coercion errors carry the scalar's exception: they must not be masked
    # as INTERNAL_SERVER_ERROR, the client's input is at fault.
    client = await make_client(env="production", jwt_keys=TEST_JWT_KEYS)
    body = await post(
        client,
        "query($id: ID) { partner(id: $id) { name } }",
        {"id": INJECTION},
        headers=world.operator.headers,
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert body.get("data") is None
