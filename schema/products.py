"""Affiliate products in the app's store: staff manage them, the app lists active ones."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from gateway.auth.scopes import Scope
from gateway.context import Info
from gateway.storage.mongo import Document
from loaders import products as data
from loaders.base import from_epoch_ms
from resolvers import products as resolve
from schema.connection import Connection
from schema.partners import Partner, load_partner
from schema.permissions import APP, MEMBER, OPERATOR, STAFF, allow
from schema.rows import document_rows


@strawberry.enum(description="Publication status; the app sees active products only.")
class ProductStatus(Enum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


@strawberry.enum(description="Orders of the product list.")
class ProductSort(Enum):
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    SORT_ORDER = "SORT_ORDER"


@strawberry.type(description="An affiliate product with an external buy link.")
class Product:
    id: strawberry.ID = strawberry.field(description="Product id (`prd_…`).")
    name: str = strawberry.field(description="Product name.")
    description: str = strawberry.field(description="Description (plain text).")
    image: str = strawberry.field(description="Image URL (http/https), or empty.")
    price: str = strawberry.field(description='Price as a decimal string ("29.99").')
    price_minor: int = strawberry.field(description="Price in minor units (cents).")
    currency: str = strawberry.field(description="ISO 4217 currency code.")
    external_url: str = strawberry.field(description="External buy link (http/https), or empty.")
    product_type: str = strawberry.field(description="Free-text category, e.g. Supplements.")
    featured: bool = strawberry.field(description="Highlighted in the store.")
    status: ProductStatus = strawberry.field(description="draft, active or archived.")
    sort_order: int = strawberry.field(description="Display order (ascending).")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    partner_id: strawberry.Private[str]

    @strawberry.field(description="The partner selling it.")
    async def partner(self, info: Info) -> Partner | None:
        return await load_partner(info, self.partner_id)

    @classmethod
    def from_doc(cls, doc: Document) -> Product:
        """The product of a stored document; each field is computed when first read."""
        return _product_row(doc)


def _product_status(doc: Document) -> ProductStatus:
    status = doc["status"]
    return STATUSES.get(status) or ProductStatus(status)


_product_row = document_rows(Product, {
    "id": lambda doc: doc["_id"], "name": lambda doc: doc["name"],
    "description": lambda doc: doc["description"], "image": lambda doc: doc["image"],
    "price": lambda doc: data.format_price(doc["price_minor"], doc["currency"]),
    "price_minor": lambda doc: int(doc["price_minor"]), "currency": lambda doc: doc["currency"],
    "external_url": lambda doc: doc["external_url"],
    "product_type": lambda doc: doc["product_type"],
    "featured": lambda doc: bool(doc["featured"]), "status": _product_status,
    "sort_order": lambda doc: int(doc["sort_order"]), "created_at": lambda doc: doc["created_at"],
    "updated_at": lambda doc: from_epoch_ms(doc["updated_ms"]) or doc["created_at"],
    "partner_id": lambda doc: doc["partner_id"],
})  # fmt: skip


# Status members by stored value (the enum's own lookup is a Python call per row).
STATUSES = {member.value: member for member in ProductStatus}


@strawberry.type(description="A product type and how many products have it.")
class ProductTypeCount:
    name: str = strawberry.field(description="The product type.")
    count: int = strawberry.field(description="Products of this type (visible to the caller).")


@strawberry.input(description="A new product. Only `name` is required.")
class CreateProductInput:
    name: str = strawberry.field(description="1..200 characters.")
    description: str | None = strawberry.field(default=None, description="Up to 5000 characters.")
    image: str | None = strawberry.field(default=None, description="http(s) image URL.")
    price: str | None = strawberry.field(
        default=None, description='Decimal amount ("29.99"); default 0.'
    )
    currency: str | None = strawberry.field(default=None, description="ISO 4217; default USD.")
    external_url: str | None = strawberry.field(default=None, description="http(s) buy link.")
    product_type: str | None = strawberry.field(default=None, description="Up to 60 characters.")
    featured: bool | None = strawberry.field(default=None, description="Default false.")
    status: ProductStatus | None = strawberry.field(default=None, description="Default draft.")
    sort_order: int | None = strawberry.field(default=None, description="Default 0.")
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Partner the product belongs to (operators only)."
    )


@strawberry.input(description="Changes to a product: only the fields sent are changed.")
class UpdateProductInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="1..200 chars.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Up to 5000 characters; null clears."
    )
    image: str | None = strawberry.field(
        default=strawberry.UNSET, description="http(s) URL; null clears."
    )
    price: str | None = strawberry.field(default=strawberry.UNSET, description="Decimal amount.")
    currency: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 4217.")
    external_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="http(s) URL; null clears."
    )
    product_type: str | None = strawberry.field(
        default=strawberry.UNSET, description="Up to 60 characters; null clears."
    )
    featured: bool | None = strawberry.field(default=strawberry.UNSET, description="Featured.")
    status: ProductStatus | None = strawberry.field(
        default=strawberry.UNSET, description="draft, active or archived."
    )
    sort_order: int | None = strawberry.field(
        default=strawberry.UNSET, description="Display order."
    )


FIELDS = {
    "name": "name", "description": "description", "image": "image", "price": "price",
    "currency": "currency", "external_url": "externalUrl", "product_type": "productType",
    "featured": "featured", "status": "status", "sort_order": "sortOrder",
}  # fmt: skip


def _sent(input: CreateProductInput | UpdateProductInput, create: bool) -> dict[str, Any]:
    """The fields the client sent, by their public names (enum values unwrapped)."""
    values: dict[str, Any] = {}
    for attr, public_name in FIELDS.items():
        value = getattr(input, attr)
        if value is strawberry.UNSET or (create and value is None):
            continue
        values[public_name] = value.value if isinstance(value, Enum) else value
    return values


@strawberry.type
class Query:
    @strawberry.field(
        description="Products (max 50 a page); the app sees active products only.",
        extensions=allow(STAFF, OPERATOR, APP, MEMBER, scope=Scope.PRODUCTS_READ),
    )
    async def products(
        self, info: Info, status: ProductStatus | None = None, product_type: str | None = None,
        search: str | None = None, sort: ProductSort = ProductSort.NEWEST,
        first: int | None = None, after: str | None = None,
    ) -> Connection[Product]:  # fmt: skip
        page = await resolve.products(
            info, status.value if status else None, product_type, search, sort.value, first, after
        )
        return Connection.of(page, Product.from_doc)

    @strawberry.field(
        description="One product (the app: active ones only).",
        extensions=allow(STAFF, OPERATOR, APP, MEMBER, scope=Scope.PRODUCTS_READ),
    )
    async def product(self, info: Info, id: strawberry.ID) -> Product:
        return Product.from_doc(await resolve.product(info, id))

    @strawberry.field(
        description="Product types with counts (the app: of active products).",
        extensions=allow(STAFF, OPERATOR, APP, MEMBER, scope=Scope.PRODUCTS_READ),
    )
    async def product_types(self, info: Info) -> list[ProductTypeCount]:
        return [ProductTypeCount(name=n, count=c) for n, c in await resolve.product_types(info)]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a product (draft unless a status is given).",
        extensions=allow(STAFF, OPERATOR, scope=Scope.PRODUCTS_WRITE),
    )
    async def create_product(self, info: Info, input: CreateProductInput) -> Product:
        doc = await resolve.create_product(info, _sent(input, create=True), input.partner_id)
        return Product.from_doc(doc)

    @strawberry.mutation(
        description="Change the fields sent; the others stay as they are.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.PRODUCTS_WRITE),
    )
    async def update_product(
        self, info: Info, id: strawberry.ID, input: UpdateProductInput
    ) -> Product:
        return Product.from_doc(await resolve.update_product(info, id, _sent(input, create=False)))

    @strawberry.mutation(
        description="Delete a product permanently; returns its id.",
        extensions=allow(STAFF, OPERATOR, scope=Scope.PRODUCTS_WRITE),
    )
    async def delete_product(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(await resolve.delete_product(info, id))
