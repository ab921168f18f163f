"""Products: field validation, partial updates, delete, listing and the app's active-only view."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.storage.mongo import Database
from tests.conftest import GraphQL, World, error_codes, only_error

FIELDS = "id name description image price priceMinor currency externalUrl productType " \
    "featured status sortOrder createdAt updatedAt"  # fmt: skip
CREATE = f"""
mutation Create($input: CreateProductInput!) {{ createProduct(input: $input) {{ {FIELDS} }} }}"""
UPDATE = f"""
mutation Update($id: ID!, $input: UpdateProductInput!) {{
  updateProduct(id: $id, input: $input) {{ {FIELDS} }}
}}"""
DELETE = "mutation Del($id: ID!) { deleteProduct(id: $id) }"
LIST = """
query List($status: ProductStatus, $productType: String, $search: String, $sort: ProductSort,
           $first: Int, $after: String) {
  products(status: $status, productType: $productType, search: $search, sort: $sort,
           first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name price status } }
  }
}"""
ONE = "query One($id: ID!) { product(id: $id) { id name status } }"
TYPES = "{ productTypes { name count } }"
WITH_PARTNER = (
    "query P($first: Int) { products(first: $first) { edges { node { id partner { name } } } } }"
)

PROTEIN = {
    "name": "Protein Powder", "description": "Premium whey protein isolate",
    "image": "https://example.com/image.jpg", "price": "29.99", "currency": "USD",
    "externalUrl": "https://shop.example.com/protein", "productType": "Supplements",
    "featured": False, "status": "DRAFT", "sortOrder": 0,
}  # fmt: skip


async def create(gql: GraphQL, world: World, **overrides: Any) -> dict[str, Any]:
    body = await gql(CREATE, {"input": {**PROTEIN, **overrides}}, as_=world.a_owner)
    assert not body.get("errors"), body
    return body["data"]["createProduct"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"description": "x" * 5001}, "description"),
        ({"image": "javascript:alert(1)"}, "image"),
        ({"image": "ftp://example.com/a.png"}, "image"),
        ({"externalUrl": "data:text/html,hi"}, "externalUrl"),
        ({"externalUrl": "https://"}, "externalUrl"),
        ({"price": "-1"}, "price"),
        ({"price": "29.999"}, "price"),
        ({"price": "1e5"}, "price"),
        ({"price": "12.5", "currency": "JPY"}, "price"),
        ({"currency": "XXQ"}, "currency"),
        ({"productType": "x" * 61}, "productType"),
        ({"sortOrder": 10_000_000}, "sortOrder"),
    ],
)
async def test_create_rejects_each_bad_field(
    gql: GraphQL, world: World, db: Database, overrides: dict[str, Any], field: str
) -> None:
    body = await gql(CREATE, {"input": {**PROTEIN, **overrides}}, as_=world.a_owner)
    assert only_error(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await db.products.count_documents({}) == 0


async def test_create_refuses_wrong_principals(gql: GraphQL, world: World, db: Database) -> None:
    for persona, code in [
        (world.anonymous, "UNAUTHENTICATED"),
        (world.a_analyst, "FORBIDDEN"),
        (world.a_app, "FORBIDDEN"),
        (world.a_member, "FORBIDDEN"),
    ]:
        body = await gql(CREATE, {"input": PROTEIN}, as_=persona)
        assert error_codes(body) == [code], persona.name
    body = await gql(CREATE, {"input": {**PROTEIN, "partnerId": world.partner_b}},
                     as_=world.a_owner)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.products.count_documents({}) == 0


async def test_create_stores_minor_units_and_defaults(
    gql: GraphQL, world: World, db: Database
) -> None:
    product = await create(gql, world)
    assert (product["price"], product["priceMinor"], product["status"]) == ("29.99", 2999, "DRAFT")
    stored = await db.products.find_one({"_id": product["id"]})
    assert (stored["partner_id"], stored["price_minor"], stored["currency"]) == (
        world.partner_a, 2999, "USD"
    )  # fmt: skip
    body = await gql(CREATE, {"input": {"name": "Yen Mat", "price": "1500", "currency": "jpy"}},
                     as_=world.a_manager)  # fmt: skip
    mat = body["data"]["createProduct"]
    assert (mat["price"], mat["currency"], mat["featured"], mat["sortOrder"]) == (
        "1500", "JPY", False, 0
    )  # fmt: skip


async def test_update_rejections_then_changes_only_sent_fields(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given
    product = await create(gql, world)
    pid = product["id"]
    # bad input, nulls for required fields, other tenant, wrong principals
    for variables, field in [
        ({"id": "nope", "input": {"name": "x"}}, "id"),
        ({"id": pid, "input": {"name": None}}, "name"),
        ({"id": pid, "input": {"price": "abc"}}, "price"),
        ({"id": pid, "input": {"currency": "JPY"}}, "price"),
        ({"id": pid, "input": {"externalUrl": "javascript:alert(1)"}}, "externalUrl"),
    ]:
        error = only_error(await gql(UPDATE, variables, as_=world.a_owner))
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, variables
    ok = {"id": pid, "input": {"price": "19.50"}}
    assert error_codes(await gql(UPDATE, ok, as_=world.b_owner)) == ["NOT_FOUND"]
    assert error_codes(await gql(UPDATE, ok, as_=world.a_analyst)) == ["FORBIDDEN"]
    assert error_codes(await gql(UPDATE, ok, as_=world.a_app)) == ["FORBIDDEN"]
    assert error_codes(await gql(UPDATE, ok)) == ["UNAUTHENTICATED"]
    assert (await db.products.find_one({"_id": pid}))["price_minor"] == 2999
    # success: only price and status change; description null clears it
    body = await gql(
        UPDATE, {"id": pid, "input": {"price": "19.50", "status": "ACTIVE", "description": None}},
        as_=world.a_manager,
    )  # fmt: skip
    updated = body["data"]["updateProduct"]
    assert (updated["price"], updated["status"], updated["description"]) == ("19.50", "ACTIVE", "")
    assert {k: updated[k] for k in ("name", "image", "externalUrl", "productType")} == {
        "name": "Protein Powder", "image": PROTEIN["image"],
        "externalUrl": PROTEIN["externalUrl"], "productType": "Supplements",
    }  # fmt: skip
    stored = await db.products.find_one({"_id": pid})
    assert (stored["price_minor"], stored["status"]) == (1950, "active")


async def test_delete_rejections_then_success(gql: GraphQL, world: World, db: Database) -> None:
    product = await create(gql, world)
    assert error_codes(await gql(DELETE, {"id": "prd"}, as_=world.a_owner)) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(DELETE, {"id": product["id"]}, as_=world.b_owner)) == ["NOT_FOUND"]
    assert error_codes(await gql(DELETE, {"id": product["id"]}, as_=world.a_analyst)) == [
        "FORBIDDEN"
    ]
    assert await db.products.count_documents({}) == 1
    body = await gql(DELETE, {"id": product["id"]}, as_=world.a_owner)
    assert body["data"]["deleteProduct"] == product["id"]
    assert await db.products.count_documents({}) == 0
    assert error_codes(await gql(DELETE, {"id": product["id"]}, as_=world.a_owner)) == ["NOT_FOUND"]


async def given_catalogue(gql: GraphQL, world: World) -> dict[str, str]:
    ids = {}
    for name, price, status, ptype in [
        ("Whey", "29.99", "ACTIVE", "Supplements"),
        ("Creatine", "9.99", "ACTIVE", "Supplements"),
        ("Hoodie", "49.00", "ACTIVE", "Apparel"),
        ("Old Tee", "5.00", "ARCHIVED", "Apparel"),
        ("Secret Bar", "2.50", "DRAFT", "Snacks"),
    ]:
        product = await create(gql, world, name=name, price=price, status=status,
                               productType=ptype, description=f"{name} description")  # fmt: skip
        ids[name] = product["id"]
    return ids


async def test_list_filters_sorts_and_app_sees_active_only(
    gql: GraphQL, world: World, db: Database
) -> None:
    ids = await given_catalogue(gql, world)

    async def names(persona: Any = None, **variables: Any) -> list[str]:
        body = await gql(LIST, variables, as_=persona or world.a_analyst)
        assert not body.get("errors"), body
        return [e["node"]["name"] for e in body["data"]["products"]["edges"]]

    assert await names(sort="PRICE_ASC") == ["Secret Bar", "Old Tee", "Creatine", "Whey", "Hoodie"]
    assert await names(sort="PRICE_DESC", status="ACTIVE") == ["Hoodie", "Whey", "Creatine"]
    assert await names(sort="OLDEST", productType="apparel") == ["Hoodie", "Old Tee"]
    assert await names(search="HOOD") == ["Hoodie"]
    assert await names(search="bar desc") == ["Secret Bar"]
    # the app: active only, whatever it asks for
    assert sorted(await names(world.a_app)) == ["Creatine", "Hoodie", "Whey"]
    assert await names(world.a_app, status="DRAFT") == []
    assert await names(world.b_app) == []
    body = await gql(ONE, {"id": ids["Secret Bar"]}, as_=world.a_app)
    assert error_codes(body) == ["NOT_FOUND"]
    body = await gql(ONE, {"id": ids["Whey"]}, as_=world.a_app)
    assert body["data"]["product"]["name"] == "Whey"
    assert error_codes(await gql(ONE, {"id": ids["Whey"]}, as_=world.b_owner)) == ["NOT_FOUND"]
    # paging: at most 50, cursors continue
    assert only_error(await gql(LIST, {"first": 51}, as_=world.a_owner))["extensions"] == {
        "code": "BAD_USER_INPUT", "field": "first"
    }  # fmt: skip
    body = await gql(LIST, {"first": 3, "sort": "SORT_ORDER"}, as_=world.a_owner)
    page = body["data"]["products"]
    after = page["pageInfo"]["endCursor"]
    body = await gql(LIST, {"first": 3, "sort": "SORT_ORDER", "after": after}, as_=world.a_owner)
    rest = body["data"]["products"]
    assert len({e["node"]["id"] for e in page["edges"] + rest["edges"]}) == 5
    assert page["totalCount"] == 5


async def test_product_types_count_what_the_caller_sees(
    gql: GraphQL, world: World, db: Database
) -> None:
    await given_catalogue(gql, world)
    staff = (await gql(TYPES, as_=world.a_analyst))["data"]["productTypes"]
    assert staff == [
        {"name": "Apparel", "count": 2}, {"name": "Snacks", "count": 1},
        {"name": "Supplements", "count": 2},
    ]  # fmt: skip
    app = (await gql(TYPES, as_=world.a_app))["data"]["productTypes"]
    assert app == [{"name": "Apparel", "count": 1}, {"name": "Supplements", "count": 2}]
    assert (await gql(TYPES, as_=world.b_owner))["data"]["productTypes"] == []


async def test_products_with_partner_cost_the_same_for_2_and_20(
    gql: GraphQL, world: World, commands: Any
) -> None:
    for i in range(20):
        await create(gql, world, name=f"Item {i}")

    async def cost(first: int) -> int:
        commands.start()
        body = await gql(WITH_PARTNER, {"first": first}, as_=world.a_owner)
        assert len(body["data"]["products"]["edges"]) == first
        return commands.total  # type: ignore[no-any-return]

    assert await cost(2) == await cost(20)
