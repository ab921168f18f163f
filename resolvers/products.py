"""Products: validate, write through data access, and read with the caller's visibility."""

from __future__ import annotations

from typing import Any

from gateway.context import Info
from gateway.core.errors import NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import products as data
from loaders.base import Page


async def create_product(info: Info, values: dict[str, Any], partner_id: str | None) -> Document:
    requested = parse_id(partner_id, "par", "partnerId") if partner_id is not None else None
    fields = data.ProductChanges(values).clean(None)
    owner = info.context.scope.partner_id_for_write(requested)
    doc = await data.insert_product(info.context.db, owner, fields)
    info.context.loaders.get(data.ProductByIdLoader).prime(doc["_id"], doc)
    return doc


async def _existing(info: Info, product_id: str) -> Document:
    doc: Document | None = await info.context.loaders.get(data.ProductByIdLoader).load(product_id)
    if doc is None:
        raise NotFound("Product not found.")
    return doc


async def update_product(info: Info, product_id: str, values: dict[str, Any]) -> Document:
    """Change only the fields sent; everything is validated before the write."""
    product_id = parse_id(product_id, "prd")
    current = await _existing(info, product_id)
    fields = data.ProductChanges(values).clean(current)
    if not fields:
        return current
    doc = await data.update_product(info.context.db, info.context.scope, product_id, fields)
    if doc is None:
        raise NotFound("Product not found.")
    return doc


async def delete_product(info: Info, product_id: str) -> str:
    product_id = parse_id(product_id, "prd")
    if not await data.delete_product(info.context.db, info.context.scope, product_id):
        raise NotFound("Product not found.")
    return product_id


async def product(info: Info, product_id: str) -> Document:
    return await _existing(info, parse_id(product_id, "prd"))


async def products(
    info: Info, status: str | None, product_type: str | None, search: str | None, sort: str,
    first: int | None, after: str | None,
) -> Page:  # fmt: skip
    page = await data.list_products(
        info.context.db, info.context.scope, status, product_type, search, sort, first, after
    )
    info.context.loaders.prime_rows(data.ProductByIdLoader, page.rows)
    return page


async def product_types(info: Info) -> list[tuple[str, int]]:
    return await data.product_types(info.context.db, info.context.scope)
