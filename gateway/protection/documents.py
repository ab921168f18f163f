"""What every protection step shares: the configured limits, an operation's measures,
and the per-schema caches of parsed documents, validation results and measures.

`limits`, `persisted` and `ratelimit` all import this module and none of each other's
internals, so the three stay free of import cycles.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, parse
from graphql.language import Lexer, Source, TokenKind
from graphql.validation import ASTValidationRule

from gateway.core.errors import OperationTooComplex
from gateway.settings import Settings

K = TypeVar("K")
V = TypeVar("V")

CACHE_SIZE = 1024

LIMIT_LABELS = {
    "depth": "depth",
    "aliases": "number of aliases",
    "directives": "number of directives",
    "tokens": "number of tokens",
    "cost": "cost",
    "stringLength": "longest string argument",
}


@dataclass(frozen=True)
class Limits:
    """The configured maxima (`GATEWAY_MAX_*`)."""

    depth: int
    aliases: int
    directives: int
    tokens: int
    cost: int
    string_length: int

    @classmethod
    def from_settings(cls, settings: Settings | None) -> Limits:
        if settings is None:
            fields = Settings.model_fields
            values = {name: fields[f"max_{name}"].default for name in _LIMIT_FIELDS}
            return cls(**values)
        return cls(**{name: getattr(settings, f"max_{name}") for name in _LIMIT_FIELDS})


_LIMIT_FIELDS = ("depth", "aliases", "directives", "tokens", "cost", "string_length")


def too_complex(limit: str, maximum: int, value: int | None = None) -> OperationTooComplex:
    """The public error for one exceeded limit (`extensions.limit` names it)."""
    label = LIMIT_LABELS[limit]
    if value is None:
        message = f"Operation too complex: {label} exceeds the limit of {maximum}."
    else:
        message = f"Operation too complex: {label} is {value}, the limit is {maximum}."
    return OperationTooComplex(message, limit=limit, maximum=maximum, value=value)


def as_graphql_error(exc: OperationTooComplex) -> GraphQLError:
    return GraphQLError(exc.message, extensions={"code": exc.code, **exc.extensions})


@dataclass(frozen=True)
class Stats:
    """What one selection (set) contributes; fragments are memoised as Stats."""

    cost: int = 0
    depth: int = 0
    aliases: int = 0
    directives: int = 0
    longest_string: int = 0

    def plus(self, other: Stats) -> Stats:
        return Stats(
            cost=self.cost + other.cost,
            depth=max(self.depth, other.depth),
            aliases=self.aliases + other.aliases,
            directives=self.directives + other.directives,
            longest_string=max(self.longest_string, other.longest_string),
        )


@dataclass(frozen=True)
class Measures:
    """An operation's measures; `login_fields` counts root login mutations."""

    stats: Stats
    login_fields: int = 0
    uses_variables: bool = False  # page sizes came from variables: cost is per request
    # Tokens of an operation made only of token-read fields (`activationStats(token:)`):
    # an anonymous caller is charged to these tokens' buckets, not to its address.
    activation_tokens: tuple[str, ...] = ()
    # The variables the measures were computed from (page sizes, tokens), for the cache key.
    variables_read: tuple[str, ...] = ()


def count_tokens(text: str, stop_after: int | None = None) -> int:
    """Lexical tokens of a document the way the parser's limit counts them."""
    lexer = Lexer(Source(text))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
        if stop_after is not None and count > stop_after:
            break
    return count


class LRU(Generic[K, V]):
    """A small least-recently-used map (one event loop per process: no locking)."""

    def __init__(self, maxsize: int = CACHE_SIZE) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)
        return value


class DocumentCache:
    """Per-schema caches of parsed documents, validation results and measures."""

    def __init__(self, limits: Limits, maxsize: int = CACHE_SIZE) -> None:
        self.limits = limits
        self.documents: LRU[str, DocumentNode] = LRU(maxsize)
        self.validations: LRU[tuple[str, tuple[type[ASTValidationRule], ...]], list[GraphQLError]]
        self.validations = LRU(maxsize)
        self.measures: LRU[tuple[str, str | None], Measures] = LRU(maxsize)
        # Measures of operations whose page sizes or tokens come from variables, by those values.
        self.variable_measures: LRU[tuple[Any, ...], Measures] = LRU(maxsize)

    def parse(self, text: str) -> DocumentNode:
        """Parse with the token limit; too many tokens is OPERATION_TOO_COMPLEX."""
        cached = self.documents.get(text)
        if cached is not None:
            return cached
        try:
            document = parse(text, max_tokens=self.limits.tokens)
        except GraphQLSyntaxError:
            if count_tokens(text, stop_after=self.limits.tokens) > self.limits.tokens:
                raise too_complex("tokens", self.limits.tokens) from None
            raise
        return self.documents.put(text, document)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
