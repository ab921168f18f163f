"""Strawberry resolver calls without the per-call wrapper chain.

For every call of a field with a resolver, Strawberry's `_async_resolver` builds the
field's extension chain anew (`functools.reduce` of `partial`s around a closure) and awaits
its way through three coroutine frames (`await_maybe`, `PermissionExtension.resolve_async`,
`await_maybe` again) around the resolver (issue 15: a root field's plumbing cost more than
a row). `direct_resolver` gives, once per field, an `async` resolve function doing the same
steps in the same order with the same functions: Strawberry's `Info`, its `get_arguments`
(conversion, then the extensions' `map_arguments`, kept per argument values when all are
immutable, then `self`, `Parent`, root and `Info` parameters), each permission's `has_permission`
with the same checks and refusal (`PermissionExtension._on_unauthorized`), then the
resolver through `StrawberryField.get_result`. Only the plain cases take it: an `async`
resolver (not a subscription) with no field extension but a `PermissionExtension` that does
not fail silently, and no exception handler; any other field keeps Strawberry's resolver.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from graphql import GraphQLField, GraphQLResolveInfo
from strawberry.exceptions import PermissionReturnedNonBooleanError
from strawberry.permission import PermissionExtension
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from schema.execution.fields import immutable, immutable_key
from schema.execution.selections import DEFINITION

Resolve = Callable[..., Coroutine[Any, Any, Any]]

# How many sets of converted arguments a field keeps.
MAX_CONVERTED = 64


# Per field of a schema, kept on the schema (fields are not hashable): (field, its direct
# resolve function or None, when Strawberry's own resolver stays).
CACHE_ATTRIBUTE = "_gateway_direct_resolvers"


def direct_resolver(field_def: GraphQLField, strawberry_schema: Any) -> Resolve | None:
    """The field's direct resolve function (see the module docstring), or None."""
    cache: dict[int, tuple[GraphQLField, Resolve | None]] | None = getattr(
        strawberry_schema, CACHE_ATTRIBUTE, None
    )
    if cache is None:
        if strawberry_schema is None:
            return None
        cache = {}
        setattr(strawberry_schema, CACHE_ATTRIBUTE, cache)
    hit = cache.get(id(field_def))
    if hit is not None and hit[0] is field_def:
        return hit[1]
    resolve = _build(field_def, strawberry_schema)
    cache[id(field_def)] = (field_def, resolve)
    return resolve


Convert = Callable[[dict[str, Any], Any], dict[str, Any]]


def argument_converter(definition: StrawberryField, strawberry_schema: Any) -> Convert:
    """Strawberry's conversion of a field's coerced arguments (its `convert_arguments`,
    then the field extensions' `map_arguments`), kept per argument values when all of them
    are immutable (the same conversion every time; input objects and lists are converted
    per call): `convert(arguments, info)` gives a fresh dict the caller may change."""
    config = strawberry_schema.config
    registry = strawberry_schema.schema_converter.scalar_registry
    extensions = tuple(definition.extensions)
    converted: dict[tuple[Any, ...], dict[str, Any]] = {}

    def convert(arguments: dict[str, Any], info: Any) -> dict[str, Any]:
        key = immutable_key(arguments)
        values = converted.get(key) if key is not None else None
        if values is None:
            values = convert_arguments(
                arguments, definition.arguments, scalar_registry=registry, config=config,
                info=info,
            )  # fmt: skip
            for extension in extensions:
                values = extension.map_arguments(values)
            if key is not None and immutable(values):
                if len(converted) >= MAX_CONVERTED:
                    converted.clear()
                converted[key] = values
        return dict(values)

    return convert


def _build(field_def: GraphQLField, strawberry_schema: Any) -> Resolve | None:
    definition = (field_def.extensions or {}).get(DEFINITION)
    converter = getattr(strawberry_schema, "schema_converter", None)
    if (
        not isinstance(definition, StrawberryField)
        or converter is None
        or definition.base_resolver is None
        or not definition.is_async
        or definition.is_subscription
        or converter._get_field_exception_handlers(definition)
    ):
        return None
    extensions = list(definition.extensions)
    permission_extension: PermissionExtension | None = None
    if extensions:
        only = extensions[0]
        if (
            len(extensions) != 1
            or type(only) is not PermissionExtension
            or only.fail_silently
            or any(inspect.iscoroutinefunction(p.has_permission) for p in only.permissions)
        ):
            return None
        permission_extension = only
    permissions = tuple(permission_extension.permissions) if permission_extension else ()
    info_class = strawberry_schema.config.info_class
    get_result = definition.get_result
    isawaitable = inspect.isawaitable

    base_resolver = definition.base_resolver
    convert = argument_converter(definition, strawberry_schema)

    def arguments_of(
        source: Any, strawberry_info: Any, kwargs: dict[str, Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """Strawberry's `get_arguments`, its conversion kept per argument values."""
        field_kwargs = convert(kwargs, strawberry_info)
        field_args: list[Any] = []
        if base_resolver.self_parameter:
            field_args.append(source)
        if parent_parameter := base_resolver.parent_parameter:
            field_kwargs[parent_parameter.name] = source
        if root_parameter := base_resolver.root_parameter:
            field_kwargs[root_parameter.name] = source
        if info_parameter := base_resolver.info_parameter:
            field_kwargs[info_parameter.name] = strawberry_info
        return field_args, field_kwargs

    async def resolve(_source: Any, info: GraphQLResolveInfo[Any], **kwargs: Any) -> Any:
        strawberry_info = info_class(_raw_info=info, _field=definition)
        field_args, field_kwargs = arguments_of(_source, strawberry_info, kwargs)
        requested_info = "info" in field_kwargs
        if requested_info:
            field_kwargs.pop("info")
        for permission in permissions:
            allowed = permission.has_permission(_source, strawberry_info, **field_kwargs)
            if isawaitable(allowed):
                allowed = await allowed
            if not isinstance(allowed, bool):
                if inspect.iscoroutine(allowed):
                    allowed.close()
                raise PermissionReturnedNonBooleanError(permission, allowed)
            if not allowed:
                return permission_extension._on_unauthorized(permission)  # type: ignore[union-attr]
        if requested_info:
            field_kwargs["info"] = strawberry_info
        result = get_result(_source, info=strawberry_info, args=field_args, kwargs=field_kwargs)
        if isawaitable(result):
            return await result
        return result

    return resolve
