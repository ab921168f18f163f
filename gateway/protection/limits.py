"""Operation limits: depth, aliases, directives, tokens, cost and string lengths.

Everything here runs on the parsed document, after parsing and before execution,
so an abusive operation costs one bounded parse and one linear walk, never a
resolver call. A violation is an `OPERATION_TOO_COMPLEX` error naming the limit in
its message and in `extensions.limit`.

`OperationLimits` also owns the parse and validation caches (it replaces
Strawberry's ParserCache/ValidationCache): parses are cached by query text,
validation results by (query text, rule set), limit measures by (query text,
operation name). Persisted operations feed their stored text, so a persisted hit
skips parsing and validation as well.

Cost model (measured the same way by `gateway operations measure`): every field
costs 1; the cost of a connection field's (a field with a `first` argument)
selection is multiplied by its page size (`first`, or 20 when omitted), so
`a(first: 100) { edges { node { b(first: 100) { … } } } }` costs about 100 x 100
x the inner selection. Introspection subtrees (`__schema`, `__type`) are not measured.
"""

from __future__ import annotations

import ast
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    parse,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.auth.principal import PrincipalKind
from gateway.core.errors import OperationTooComplex
from gateway.protection.documents import (
    DocumentCache,
    Limits,
    Measures,
    Stats,
    as_graphql_error,
    count_tokens,
    too_complex,
)
from gateway.protection.ratelimit import charge_operation

if TYPE_CHECKING:
    from gateway.context import Context

DEFAULT_PAGE_SIZE = 20  # api.md: `first` defaults to 20
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # GraphQL Int is 32-bit
INT_DIGITS = 11  # longer literals are not Ints (and int() of huge ones is slow or refused)
LOGIN_FIELDS = frozenset({"partnerLogin", "memberLogin"})
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,127}$")


def placeholder_document(operation_name: str | None) -> DocumentNode:
    """Stands in for a document refused while parsing (too many tokens); never executed.

    It names the requested operation, so that picking the operation succeeds and the
    refusal is what the client reads.
    """
    name = operation_name if operation_name and GRAPHQL_NAME.match(operation_name) else ""
    return parse(f"query {name} {{ __typename }}")


# --- measuring ------------------------------------------------------------------------


def _longest_literal(value: ValueNode) -> int:
    if isinstance(value, StringValueNode):
        return len(value.value)
    if isinstance(value, ListValueNode):
        return max((_longest_literal(v) for v in value.values), default=0)
    if isinstance(value, ObjectValueNode):
        return max((_longest_literal(f.value) for f in value.fields), default=0)
    return 0


class _Walker:
    """One pass over an operation, fragments expanded once each (memoised)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = variables or {}
        self.variable_defaults = {
            d.variable.name.value: d.default_value for d in operation.variable_definitions or ()
        }
        self.uses_variables = False
        self.read: dict[str, None] = {}  # variables the measures depend on, in reading order
        self._memo: dict[tuple[str, str | None], Stats] = {}

    def page_size(self, node: FieldNode, field_def: GraphQLField) -> int:
        arg = next((a for a in node.arguments or () if a.name.value == "first"), None)
        value: Any = None
        if arg is None:
            default = field_def.args["first"].default_value
            value = default if isinstance(default, int) else None
        elif isinstance(arg.value, IntValueNode) and len(arg.value.value) <= INT_DIGITS:
            value = int(arg.value.value)
        elif isinstance(arg.value, VariableNode):
            self.uses_variables = True
            name = arg.value.name.value
            self.read[name] = None
            value = self.variables.get(name)
            if value is None and isinstance(self.variable_defaults.get(name), IntValueNode):
                value = int(self.variable_defaults[name].value)  # type: ignore[union-attr]
        if not isinstance(value, int) or isinstance(value, bool) or not INT_MIN <= value <= INT_MAX:
            # Not a GraphQL Int (e.g. 2^63): validation or variable coercion refuses it with
            # BAD_USER_INPUT; the cost must not turn it into OPERATION_TOO_COMPLEX first.
            return DEFAULT_PAGE_SIZE
        return max(value, 0)

    def selection_set(
        self, node: SelectionSetNode, parent: GraphQLNamedType | None, visiting: frozenset[str]
    ) -> Stats:
        total = Stats()
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total = total.plus(self.field(selection, parent, visiting))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                stats = self.selection_set(selection.selection_set, inner, visiting)
                total = total.plus(stats).plus(Stats(directives=len(selection.directives or ())))
            elif isinstance(selection, FragmentSpreadNode):
                total = total.plus(Stats(directives=len(selection.directives or ())))
                total = total.plus(self.fragment(selection.name.value, visiting))
        return total

    def fragment(self, name: str, visiting: frozenset[str]) -> Stats:
        definition = self.fragments.get(name)
        if definition is None or name in visiting:
            return Stats()  # unknown fragments and cycles are validation errors anyway
        key = (name, None)
        if key not in self._memo:
            inner = self.schema.get_type(definition.type_condition.name.value)
            stats = self.selection_set(definition.selection_set, inner, visiting | {name})
            self._memo[key] = stats.plus(Stats(directives=len(definition.directives or ())))
        return self._memo[key]

    def field(
        self, node: FieldNode, parent: GraphQLNamedType | None, visiting: frozenset[str]
    ) -> Stats:
        name = node.name.value
        directives = len(node.directives or ())
        if name in INTROSPECTION_ROOTS:
            return Stats(cost=1, depth=1, directives=directives)
        longest = max((_longest_literal(a.value) for a in node.arguments or ()), default=0)
        aliases = 1 if node.alias is not None and name != "__typename" else 0
        field_def = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            field_def = parent.fields.get(name)
        if node.selection_set is None:
            return Stats(
                cost=1, depth=1, aliases=aliases, directives=directives, longest_string=longest
            )
        child_type = get_named_type(field_def.type) if field_def is not None else None
        child = self.selection_set(node.selection_set, child_type, visiting)
        multiplier = 1
        if field_def is not None and "first" in field_def.args:
            multiplier = self.page_size(node, field_def)
        return Stats(
            cost=1 + multiplier * child.cost,
            depth=1 + child.depth,
            aliases=aliases + child.aliases,
            directives=directives + child.directives,
            longest_string=max(longest, child.longest_string),
        )


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Measures | None:
    """Measures of the operation that would run (None when it cannot be picked)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    walker = _Walker(schema, document, operation, variables)
    root = schema.get_root_type(operation.operation)
    stats = walker.selection_set(operation.selection_set, root, frozenset())
    stats = stats.plus(Stats(directives=len(operation.directives or ())))
    login_fields = 0
    if operation.operation.value == "mutation":
        login_fields = sum(
            1
            for s in operation.selection_set.selections
            if isinstance(s, FieldNode) and s.name.value in LOGIN_FIELDS
        )
    tokens = _activation_tokens(operation, walker)
    return Measures(stats, login_fields, walker.uses_variables, tokens, tuple(walker.read))


TOKEN_FIELDS = frozenset({"activationStats", "activationStatsUpdated"})


def _activation_tokens(operation: OperationDefinitionNode, walker: _Walker) -> tuple[str, ...]:
    """The `token` arguments, when every root field is a token read (else none)."""
    tokens: list[str] = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            return ()
        name = selection.name.value
        if name == "__typename":
            continue
        if name not in TOKEN_FIELDS:
            return ()
        arg = next((a for a in selection.arguments or () if a.name.value == "token"), None)
        value: Any = None
        if arg is not None and isinstance(arg.value, StringValueNode):
            value = arg.value.value
        elif arg is not None and isinstance(arg.value, VariableNode):
            walker.uses_variables = True  # the token comes with each request
            walker.read[arg.value.name.value] = None
            value = walker.variables.get(arg.value.name.value)
        if not isinstance(value, str) or not value:
            return ()
        tokens.append(value)
    return tuple(dict.fromkeys(tokens))


def longest_variable_string(variables: Mapping[str, Any] | None) -> int:
    """The longest string anywhere in the variables (iterative: nesting is unbounded)."""
    longest = 0
    stack: list[Any] = [variables or {}]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            longest = max(longest, len(value))
        elif isinstance(value, Mapping):
            stack.extend(value.values())
            longest = max([longest, *(len(k) for k in value if isinstance(k, str))])
        elif isinstance(value, list):
            stack.extend(value)
    return longest


# Variable values a measure may be cached for: the key keeps the type, so `true` is not `1`.
_CACHEABLE_TYPES = (int, str, type(None))


def variable_key(
    query: str, operation_name: str | None, measures: Measures, variables: Mapping[str, Any] | None
) -> tuple[Any, ...] | None:
    """The cache key of an operation's measures for these variables, or None (not cacheable).

    The measures depend on the document and on the variables the walk read (page sizes,
    activation tokens) only; other values (lists, floats, booleans) are measured each time.
    """
    values = variables or {}
    key: list[Any] = [query, operation_name]
    for name in measures.variables_read:
        value = values.get(name)
        if type(value) not in _CACHEABLE_TYPES:
            return None
        key.append((name, type(value).__name__, value))
    return tuple(key)


def violations(limits: Limits, measures: Measures) -> list[OperationTooComplex]:
    """Every limit the operation exceeds, in a fixed order (depth first)."""
    s = measures.stats
    found = []
    for limit, value, maximum in (
        ("depth", s.depth, limits.depth),
        ("aliases", s.aliases, limits.aliases),
        ("directives", s.directives, limits.directives),
        ("stringLength", s.longest_string, limits.string_length),
        ("cost", s.cost, limits.cost),
    ):
        if value > maximum:
            found.append(too_complex(limit, maximum, value))
    return found


# --- the extension --------------------------------------------------------------------


def cached_measures(
    cache: DocumentCache,
    schema: GraphQLSchema,
    document: DocumentNode,
    query: str,
    name: str | None,
    variables: Mapping[str, Any] | None,
) -> Measures | None:
    """The measures of an operation given as text, from `cache` when it has them (per text
    and name, or per the values of the variables they depend on), else measured and kept."""
    key = (query, name)
    cached = cache.measures.get(key)
    if cached is not None and not cached.uses_variables:
        return cached
    if cached is not None:
        by_values = variable_key(query, name, cached, variables)
        found = cache.variable_measures.get(by_values) if by_values else None
        if found is not None:
            return found
    found = measure(schema, document, name, variables)
    if found is not None:
        cache.measures.put(key, found)
        # Stored under the variables this walk read: a walk with the same values for them
        # reads the same variables and measures the same (its path depends on nothing else),
        # whichever earlier walk's names the lookup above used.
        own = variable_key(query, name, found, variables)
        if found.uses_variables and own is not None:
            cache.variable_measures.put(own, found)
    return found


class OperationLimits(SchemaExtension):
    """Parse (cached, token-limited), limits, validation (cached) and rate limiting."""

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache
        self.parse_refusal: OperationTooComplex | None = None

    def _rules_for(self, context: Context) -> tuple[type[ASTValidationRule], ...]:
        rules = self.execution_context.validation_rules
        settings = context.settings
        if not settings.may_introspect(context.principal.kind is PrincipalKind.OPERATOR):
            rules = (*rules, NoSchemaIntrospectionCustomRule)
        return rules

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.validation_rules = self._rules_for(ctx.context)
        yield

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query:
            try:
                ctx.graphql_document = self.cache.parse(ctx.query)
            except OperationTooComplex as exc:
                # Raised here, the error would escape Strawberry's parse step (a bare
                # `complete` over WebSocket). A placeholder document lets the operation
                # reach validation, where the refusal is reported like any other limit.
                self.parse_refusal = exc
                ctx.graphql_document = placeholder_document(ctx.operation_name)
        yield

    def _measures(self) -> Measures | None:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None:  # pragma: no cover - validation only runs after a parse
            return None
        schema = ctx.schema._schema
        if ctx.query is None:
            return measure(schema, document, ctx.operation_name, ctx.variables)
        return cached_measures(
            self.cache, schema, document, ctx.query, ctx.operation_name, ctx.variables
        )

    def _validate(self) -> list[GraphQLError]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None:  # pragma: no cover - validation only runs after a parse
            return []
        rules = ctx.validation_rules
        if ctx.query is None:
            return validate_document(ctx.schema._schema, document, rules)
        key = (ctx.query, rules)
        cached = self.cache.validations.get(key)
        if cached is None:
            cached = self.cache.validations.put(
                key, validate_document(ctx.schema._schema, document, rules)
            )
        return list(cached)

    async def on_validate(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        limits = self.cache.limits
        errors: list[GraphQLError] = []
        measures = None if self.parse_refusal else self._measures()
        if self.parse_refusal is not None:
            errors = [as_graphql_error(self.parse_refusal)]
        elif measures is not None:
            errors = [as_graphql_error(e) for e in violations(limits, measures)]
        longest = longest_variable_string(ctx.variables)
        if longest > limits.string_length:
            errors.append(
                as_graphql_error(too_complex("stringLength", limits.string_length, longest))
            )
        if not errors:
            errors = self._validate()
        # Refused operations are charged too (at most the cost limit), so probing the schema
        # with invalid documents spends the same budget as running operations.
        charged = measures or Measures(Stats(cost=1))
        if errors:
            capped = Stats(cost=max(1, min(charged.stats.cost, limits.cost)))
            charged = replace(charged, stats=capped)
        refused = await charge_operation(ctx.context, charged)
        if refused is not None:
            errors = [
                GraphQLError(
                    refused.message, extensions={"code": refused.code, **refused.extensions}
                )
            ]
        # Set even when empty: Strawberry then skips its own (uncached) validation.
        ctx.pre_execution_errors = errors
        yield


# --- measuring the operations clients actually send --------------------------------------


@dataclass(frozen=True)
class Measured:
    """One operation found in a source file, with its measures (`gateway operations measure`)."""

    source: str
    name: str
    tokens: int
    measures: Measures


def _documents_in(path: Path) -> Iterator[tuple[str, str]]:
    """(label, text) of every candidate document in a .graphql file or a Python module."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".graphql":
        yield str(path), text
        return
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value:
            yield f"{path}:{node.lineno}", node.value


def measure_sources(schema: GraphQLSchema, paths: list[Path]) -> list[Measured]:
    """Measure every executable operation in .graphql files and Python string constants.

    Used to set the limits from the operations the tests (and clients) really send;
    Python strings that do not parse as GraphQL operations are skipped.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in {".py", ".graphql"}))
        else:
            files.append(path)
    found: list[Measured] = []
    for file in files:
        for label, text in _documents_in(file):
            try:
                document = parse(text)
            except GraphQLSyntaxError:
                continue
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            for operation in operations:
                name = operation.name.value if operation.name else None
                if name is None and len(operations) > 1:
                    continue  # not runnable: an anonymous operation among several
                measures = measure(schema, document, name)
                if measures is not None:
                    tokens = count_tokens(text)
                    found.append(Measured(label, name or "(anonymous)", tokens, measures))
    return found
