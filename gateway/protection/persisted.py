"""Persisted operations: automatic persisted queries (APQ) and the production safelist.

APQ (Apollo's `persistedQuery` extension, version 1): a client sends
`extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}`, first
without the query text. Unknown hash -> `PERSISTED_QUERY_NOT_FOUND` (message
`PersistedQueryNotFound`); the client then sends hash and text, the gateway checks
the hash (mismatch -> `BAD_USER_INPUT`), runs the operation and, once it validated,
stores it in MongoDB (`persisted_operations`, shared by every instance). Works over
GET too (`?extensions=…`), for queries.

Safelist (`GATEWAY_SAFELIST=true`): only operations registered with
`gateway operations register <dir>` run, by hash or by their exact text; anything
else is `FORBIDDEN` with `extensions.reason = "OPERATION_NOT_SAFELISTED"`, and APQ
registration of new operations is refused the same way.

A persisted hit skips parsing and validation: hash -> text is cached in-process, and
the parse/validation caches of `gateway.protection.limits` are keyed by that text.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema, GraphQLSyntaxError, OperationDefinitionNode, parse
from graphql.validation import specified_rules
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.core.errors import BadUserInput, Forbidden, GatewayError, PersistedQueryNotFound
from gateway.protection.documents import LRU, DocumentCache, sha256_hex
from gateway.storage.mongo import Database
from loaders import hardening as data

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
NOT_SAFELISTED = "OPERATION_NOT_SAFELISTED"


def not_safelisted() -> Forbidden:
    return Forbidden("This operation is not on the safelist.", reason=NOT_SAFELISTED)


class PersistedTexts:
    """In-process cache of persisted texts by hash (one per schema), backed by MongoDB."""

    def __init__(self) -> None:
        self._apq: LRU[str, str] = LRU()
        self._safelist: LRU[str, str] = LRU()

    async def lookup(self, db: Database, sha256: str, safelisted_only: bool) -> str | None:
        """The text stored under the hash (only safelisted ones when asked), or None."""
        text = self._safelist.get(sha256)
        if text is None and not safelisted_only:
            text = self._apq.get(sha256)
        if text is not None:
            return text
        doc = await data.find_persisted(db, sha256, safelisted_only)
        if doc is None:
            return None
        text = str(doc["query"])
        cache = self._safelist if doc.get("kind") == data.SAFELIST else self._apq
        return cache.put(sha256, text)

    def cached(self, sha256: str, safelisted_only: bool) -> str | None:
        """What `lookup` finds without the store (None: not in this process's cache)."""
        text = self._safelist.get(sha256)
        if text is None and not safelisted_only:
            text = self._apq.get(sha256)
        return text

    async def store(self, db: Database, sha256: str, text: str) -> None:
        if self._apq.get(sha256) is None and self._safelist.get(sha256) is None:
            await data.store_apq(db, sha256, text)
            self._apq.put(sha256, text)


def _requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The APQ hash asked for, or None; a malformed extension is BAD_USER_INPUT."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    pq = extensions["persistedQuery"]
    if not isinstance(pq, Mapping) or pq.get("version") != 1:
        raise BadUserInput(
            "persistedQuery must be {version: 1, sha256Hash}", field="persistedQuery"
        )
    sha = pq.get("sha256Hash")
    if not isinstance(sha, str) or not SHA256_RE.match(sha):
        raise BadUserInput("sha256Hash must be 64 lower-case hex digits", field="sha256Hash")
    return sha


class PersistedOperations(SchemaExtension):
    """Resolves APQ hashes to documents and enforces the safelist, before parsing."""

    def __init__(self, cache: DocumentCache, texts: PersistedTexts) -> None:
        self.cache = cache
        self.texts = texts
        self._register: tuple[str, str] | None = None

    async def on_operation(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        settings = ctx.context.settings
        db = ctx.context.db
        sha = _requested_hash(ctx.operation_extensions)
        if sha is None:
            if (
                settings.safelist
                and ctx.query
                and await self.texts.lookup(db, sha256_hex(ctx.query), True) is None
            ):
                raise not_safelisted()
            yield
            return
        if not settings.apq and not settings.safelist:
            raise BadUserInput("Persisted queries are disabled.", field="persistedQuery")
        if ctx.query:
            if sha256_hex(ctx.query) != sha:
                raise BadUserInput("provided sha does not match query", field="sha256Hash")
            if settings.safelist:
                if await self.texts.lookup(db, sha, True) is None:
                    raise not_safelisted()
            else:
                self._register = (sha, ctx.query)
        else:
            text = await self.texts.lookup(db, sha, settings.safelist)
            if text is None:
                raise PersistedQueryNotFound()
            ctx.query = text
            ctx.graphql_document = self.cache.parse(text)
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        yield
        # Only operations that parsed and validated (and were within limits) are stored.
        ctx = self.execution_context
        if self._register is not None and not ctx.pre_execution_errors:
            sha, text = self._register
            await self.texts.store(ctx.context.db, sha, text)


@dataclass(frozen=True)
class Registered:
    """One safelisted document: its hash, file and operation names."""

    sha256: str
    path: str
    operation_names: list[str]


def read_operation_files(
    schema: GraphQLSchema, directory: Path
) -> list[tuple[Path, str, list[str]]]:
    """Every `*.graphql` file under the directory, checked against the schema.

    A file is one document (one or more operations plus their fragments), stored under
    the SHA-256 of its exact UTF-8 text: clients send that text (or its hash). A file
    that does not parse or validate stops the whole registration (GatewayError).
    """
    if not directory.is_dir():
        raise GatewayError(f"{directory} is not a directory")
    files = sorted(directory.rglob("*.graphql"))
    if not files:
        raise GatewayError(f"no .graphql files under {directory}")
    checked = []
    for file in files:
        text = file.read_text(encoding="utf-8")
        try:
            document = parse(text)
        except GraphQLSyntaxError as exc:
            raise GatewayError(f"{file}: {exc.message}") from None
        errors = validate_document(schema, document, tuple(specified_rules))
        if errors:
            raise GatewayError(f"{file}: {errors[0].message}")
        names = [
            d.name.value
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode) and d.name is not None
        ]
        checked.append((file, text, names))
    return checked


async def register_directory(
    db: Database, schema: GraphQLSchema, directory: Path
) -> list[Registered]:
    """Put every operation file under the directory on the safelist (idempotent)."""
    registered = []
    for file, text, names in read_operation_files(schema, directory):
        sha = sha256_hex(text)
        source = str(file.relative_to(directory))
        await data.store_safelisted(db, sha, text, names, source)
        registered.append(Registered(sha, source, names))
    return registered
