"""The lean POST path: a cached, valid, single operation without Strawberry's plumbing.

Strawberry's view `run()` and `Schema.execute` cost about a fifth of the server CPU of
`{ __typename }` (request adapter, execution context, five extension instances, four
lifecycle steps of context managers, result conversions; issue 15). For the common case,
`POST /graphql` with `Content-Type: application/json`, one operation (not a batch) whose
document this process has parsed, validated and measured before, `LeanPost.answer` runs
the same steps inline, in the same order and with the same functions:

- persisted operations: the APQ hash or the safelist resolved from this process's cache
  (`PersistedTexts.cached`), as `PersistedOperations.on_operation` would;
- the cached document, operation type, validation result (with the introspection rule
  where the caller may not introspect), measures and limits of `OperationLimits`;
- the rate-limit charge (`charge_operation`), a refusal answered like the normal path's;
- graphql-core's `execute` with the schema's executor class (`FastExecutor`), as
  `Schema.execute` calls it;
- `public_errors` (the `PublicErrors` extension), `OperationMetrics`' count, the access log's
  operation note (`OperationLog`), then the view's own `process_result` and `create_response`.

Anything else returns None *before any side effect* (no charge, no store command), and the
view takes Strawberry's path: GET, batches, multipart, other media types, bodies that are
not a JSON object or have a bad parameter, a document seen for the first time, validation or
limit errors, APQ misses and registrations of new hashes, subscriptions, unknown operation
names. `GATEWAY_LEAN_POST=false` turns it off; `tests/test_lean_post.py` compares both paths
byte for byte (status, headers, body, access-log lines).
"""

from __future__ import annotations

import inspect
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import hdrs, web
from cross_web import HTTPException
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, execute
from graphql.validation import NoSchemaIntrospectionCustomRule, specified_rules
from strawberry.execution import optimized_is_awaitable
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.base import BaseSchema
from strawberry.schema.schema import _coerce_error
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.operation import get_first_operation, get_operation_type

from gateway.auth.principal import Principal, PrincipalKind
from gateway.core.errors import GatewayError
from gateway.core.metrics import Metrics
from gateway.http import accesslog
from gateway.http.keys import SERVICES
from gateway.http.protocol import APPLICATION_JSON, check_parameters
from gateway.protection.documents import CACHE_SIZE, DocumentCache, sha256_hex
from gateway.protection.limits import (
    OperationLimits,
    cached_measures,
    longest_variable_string,
    violations,
)
from gateway.protection.persisted import PersistedOperations, PersistedTexts, _requested_hash
from gateway.protection.ratelimit import charge_operation
from gateway.settings import Settings
from schema import GatewaySchema
from schema.extensions import OperationMetrics, PublicErrors, public_errors

if TYPE_CHECKING:
    import strawberry

    from gateway.http.view import GraphQLView

# An operation's name, type, the type's value and the document's SHA-256.
Operation = tuple[str | None, OperationType, str, str]
POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
# The rules `OperationLimits` validates with: Strawberry's default, plus the introspection
# refusal for callers who may not introspect (the validation cache is keyed by them).
RULES = tuple(specified_rules)
RULES_WITHOUT_INTROSPECTION = (*RULES, NoSchemaIntrospectionCustomRule)


def _protection_caches(schema: strawberry.Schema) -> tuple[DocumentCache, PersistedTexts] | None:
    """The shared caches of the gateway's extensions, when the schema has exactly the
    extensions this path replicates (else None: the lean path stays off)."""
    extensions = list(schema.extensions)
    if len(extensions) != 5:
        return None
    log, persisted, limits, public, metrics = extensions
    if (
        log is not accesslog.OperationLog
        or public is not PublicErrors
        or metrics is not OperationMetrics
        or not isinstance(persisted, partial)
        or persisted.func is not PersistedOperations
        or not isinstance(limits, partial)
        or limits.func is not OperationLimits
    ):
        return None
    cache: Any = persisted.keywords.get("cache")
    texts: Any = persisted.keywords.get("texts")
    shared = limits.keywords.get("cache") is cache
    if not shared or not isinstance(cache, DocumentCache) or not isinstance(texts, PersistedTexts):
        return None
    return cache, texts


class LeanPost:
    """Answers cached single POST operations without Strawberry's view and execute."""

    def __init__(self, schema: strawberry.Schema, cache: DocumentCache, texts: PersistedTexts):
        self.schema = schema
        self.graphql_schema = schema._schema
        self.cache = cache
        self.texts = texts
        self.executor_class = schema.execution_context_class
        # (document text, operationName) -> the operation's name and type, and what the access
        # log notes (the type's value, the text's SHA-256): found once per text and name, as
        # documents are cached by text.
        self._operations: dict[tuple[str, str | None], Operation] = {}
        # Rules by whether the caller is an operator, for `self._rules_settings` (frozen).
        self._rules_settings: Settings | None = None
        self._rules: dict[bool, tuple[Any, ...]] = {}
        self._counters: dict[tuple[int, OperationType, bool], tuple[Any, Any]] = {}

    @classmethod
    def for_schema(cls, schema: BaseSchema) -> LeanPost | None:
        """The lean path for the gateway's schema; None for a schema it does not replicate
        (other extensions, schema directives, incremental delivery, error logging)."""
        if not isinstance(schema, GatewaySchema):
            return None
        caches = _protection_caches(schema)
        if (
            caches is None
            or type(schema).execute is not GatewaySchema.execute
            or schema.directives
            or schema.config.enable_experimental_incremental_execution
        ):
            return None
        return cls(schema, *caches)

    async def answer(
        self, view: GraphQLView, request: web.Request, principal: Principal
    ) -> web.Response | None:
        """The response, or None (nothing done yet) for Strawberry's path to answer."""
        if request.method != hdrs.METH_POST or hdrs.UPGRADE in request.headers:
            return None
        raw_type = request.headers.get("content-type")
        if raw_type != APPLICATION_JSON:  # the usual header needs no parsing (7% of the path)
            content_type, _ = parse_content_type(raw_type or "")
            if content_type != APPLICATION_JSON:
                return None
        try:
            data = orjson.loads(await request.read())
            if not isinstance(data, dict):
                return None
            check_parameters(data)
        except (orjson.JSONDecodeError, HTTPException):
            return None
        query: str | None = data.get("query")
        variables: dict[str, Any] | None = data.get("variables")
        provided_name: str | None = data.get("operationName")
        extensions: dict[str, Any] | None = data.get("extensions")
        services = request.app[SERVICES]
        settings = services.settings

        # PersistedOperations.on_operation, from this process's cache only.
        try:
            sha = _requested_hash(extensions)
        except GatewayError:
            return None
        register: tuple[str, str] | None = None
        if sha is None:
            if settings.safelist and query and self.texts.cached(sha256_hex(query), True) is None:
                return None
        elif not settings.apq and not settings.safelist:
            return None
        elif query:
            if sha256_hex(query) != sha or self.texts.cached(sha, settings.safelist) is None:
                return None  # a wrong hash, or a registration that would write to the store
            if not settings.safelist:
                register = (sha, query)
        else:
            query = self.texts.cached(sha, settings.safelist)
        if not query:
            return None
        document = self.cache.documents.get(query)
        if document is None:
            return None

        operation = self._operation(document, query, provided_name)
        if operation is None:
            return None
        name, operation_type, type_value, digest = operation
        if operation_type not in POST_OPERATIONS:
            return None

        # OperationLimits: rules, measures and limits, validation (all cached and passing).
        rules = self._rules_for(settings, principal.kind is PrincipalKind.OPERATOR)
        measures = cached_measures(
            self.cache, self.graphql_schema, document, query, name, variables
        )
        if measures is None or violations(self.cache.limits, measures):
            return None
        if longest_variable_string(variables) > self.cache.limits.string_length:
            return None
        validated = self.cache.validations.get((query, rules))
        if validated is None or validated:
            return None

        # From here on the operation runs: no way back to Strawberry's path.
        sub_response = await view.get_sub_response(request)
        context = await view.get_context(request, sub_response)
        result_data: dict[str, Any] | None = None
        errors: list[GraphQLError] | None = None
        completed = True  # False: an exception escaped, as it would escape the extensions
        try:
            try:
                refused = await charge_operation(context, measures)
                if refused is not None:
                    errors = [
                        GraphQLError(
                            refused.message, extensions={"code": refused.code, **refused.extensions}
                        )
                    ]
                else:
                    if register is not None:
                        await self.texts.store(services.db, *register)  # cached: no command
                    result: Any = execute(
                        self.graphql_schema,
                        document,
                        root_value=None,
                        context_value=context,
                        variable_values=variables,
                        operation_name=name,
                        executor_class=self.executor_class,
                        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                        operation_extensions=extensions,
                    )
                    if inspect.isawaitable(result):
                        result = await result
                    result_data, errors = result.data, result.errors
            except Exception as exc:  # Schema.execute answers it as an error too
                completed, result_data, errors = False, None, [_coerce_error(exc)]
            if completed:
                if errors:
                    errors = public_errors(errors, settings, principal.kind, self.graphql_schema)
                self._operations_counter(services.metrics, operation_type, bool(errors)).inc()
        finally:
            # `OperationLog` notes the operation whatever happened (its hook's `finally`).
            accesslog.note_operation(request, context.principal, name, type_value, digest)
        processed = await view.process_result(
            request, ExecutionResult(data=result_data, errors=errors)
        )
        # What `view.create_response` leaves (Strawberry's text setter, then the media type
        # and charset), without encoding the JSON to str and back to bytes.
        sub_response.body = orjson.dumps(processed)
        media_type = getattr(sub_response, "media_type", APPLICATION_JSON)
        if hdrs.CONTENT_TYPE in sub_response.headers:  # set by a resolver: keep its parameters
            sub_response.content_type = media_type
            sub_response.charset = "utf-8"
        else:  # the header those two setters write, without their parsing (2% of the path)
            sub_response.headers[hdrs.CONTENT_TYPE] = media_type + "; charset=utf-8"
        return sub_response

    def _operation(
        self, document: DocumentNode, query: str, provided_name: str | None
    ) -> Operation | None:
        """The operation as Strawberry's ExecutionContext names and types it, and the
        document's SHA-256 for the access log; None when the name matches no operation."""
        key = (query, provided_name)
        found = self._operations.get(key)
        if found is not None:
            return found
        name = provided_name
        if name is None:
            first: OperationDefinitionNode | None = get_first_operation(document)
            name = first.name.value if first is not None and first.name is not None else None
        try:
            operation_type = get_operation_type(document, name)
        except RuntimeError:
            return None
        if len(self._operations) >= CACHE_SIZE:
            self._operations.clear()
        digest = accesslog.document_hash(query)
        found = self._operations[key] = (name, operation_type, operation_type.value, digest)
        return found

    def _rules_for(self, settings: Settings, operator: bool) -> tuple[Any, ...]:
        # `Settings.may_introspect` reads three properties of the (frozen) settings.
        if settings is not self._rules_settings:
            self._rules = {
                who: RULES if settings.may_introspect(who) else RULES_WITHOUT_INTROSPECTION
                for who in (False, True)
            }
            self._rules_settings = settings
        return self._rules[operator]

    def _operations_counter(
        self, metrics: Metrics, operation_type: OperationType, failed: bool
    ) -> Any:
        # `OperationMetrics`' counter child, looked up once per label values.
        counter = metrics.graphql_operations
        key = (id(counter), operation_type, failed)
        child = self._counters.get(key)
        if child is None or child[0] is not counter:
            outcome = "error" if failed else "ok"
            child = self._counters[key] = (counter, counter.labels(operation_type.value, outcome))
        return child[1]
