"""GraphQL over HTTP: what a request must look like and which media type answers it.

- The body (or the GET parameters) must be a JSON object with `query` a string, `operationName`
  a string, `variables` and `extensions` objects (each may be null or absent); anything else is a
  400 with a GraphQL-shaped, coded error that says which parameter is wrong. JSON is decoded by
  orjson, which refuses invalid UTF-8, lone surrogates (`"\\ud800"`) and nesting deeper than 1,024;
  variables nested deeper than `MAX_VARIABLE_DEPTH` are refused as well.
- Responses are `application/graphql-response+json` when the client prefers it in `Accept`,
  else `application/json` (also for `*/*` and no `Accept`). With the former, request errors
  (parse, validation, variable coercion: no execution happened) are 400 without a `data`
  entry; with `application/json` they stay 200 with `"data": null`, as legacy clients expect.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
MAX_VARIABLE_DEPTH = 32
STRING_PARAMETERS = ("query", "operationName")
OBJECT_PARAMETERS = ("variables", "extensions")


def _accept_entries(accept: str) -> list[tuple[str, float]]:
    entries: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        entries.append((media.lower(), quality))
    return entries


@lru_cache(maxsize=64)  # clients send few distinct headers; parsing one is ~2 us (issue 15)
def negotiate(accept: str | None) -> str:
    """The media type of the response: the one of ours the client rates highest.

    Ties go to the one the client lists first; wildcards (`*/*`, `application/*`) and a missing
    header mean `application/json` (GraphQL over HTTP, legacy clients).
    """
    if not accept:
        return APPLICATION_JSON
    best, best_quality, best_position = APPLICATION_JSON, 0.0, len(accept) + 1
    for position, (media, quality) in enumerate(_accept_entries(accept)):
        if media in (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON):
            candidate = media
        elif media in ("*/*", "application/*"):
            candidate = APPLICATION_JSON
        else:
            continue
        if quality > best_quality or (quality == best_quality and position < best_position):
            best, best_quality, best_position = candidate, quality, position
    return best


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# `dict` first: what orjson decodes passes without `Mapping`'s ABC check (a Python call per
# test), and JSON's scalars are not walked into at all (issue 15).
MAPPINGS = (dict, Mapping)
SCALARS = frozenset({str, int, float, bool, type(None)})


def nesting_depth_exceeds(value: object, limit: int) -> bool:
    """True when lists/objects inside `value` nest deeper than `limit` (iterative walk)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, MAPPINGS):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children if type(child) not in SCALARS)
    return False


def check_parameters(data: object) -> Mapping[str, Any]:
    """The request parameters, or HTTPException(400) saying which one is wrong and why."""
    if not isinstance(data, MAPPINGS):
        raise HTTPException(
            400, f"The request must be a JSON object with a `query`, not a {_type_name(data)}."
        )
    for name in STRING_PARAMETERS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise HTTPException(
                400, f"`{name}` must be a string or null, not a {_type_name(value)}."
            )
    for name in OBJECT_PARAMETERS:
        value = data.get(name)
        if value is not None and not isinstance(value, MAPPINGS):
            raise HTTPException(
                400, f"`{name}` must be an object or null, not a {_type_name(value)}."
            )
    variables = data.get("variables")
    if variables is not None and nesting_depth_exceeds(variables, MAX_VARIABLE_DEPTH):
        raise HTTPException(400, f"`variables` are nested deeper than {MAX_VARIABLE_DEPTH} levels.")
    return data


def is_request_error(data: object, errors: list[GraphQLError] | None) -> bool:
    """No execution happened: the errors are about the request (parse, validation, coercion).

    GraphQL over HTTP calls these request errors; execution errors carry a `path`.
    """
    return data is None and bool(errors) and all(not e.path for e in errors or ())
