"""The seed's `include_payment_info` on conversion reports: `selfBillId`, `paymentStatus`
and `paidAt` on conversions (from the stored self-bills, checked against a Python oracle
through a bill's whole life), the same columns on `/export/conversion-items.csv` with
`includePaymentInfo=true`; per tenant, batched."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.http.affiliate_exports import ITEM_COLUMNS, PAYMENT_COLUMNS
from gateway.storage.mongo import Database, Document
from loaders.affiliate import money
from tests.affiliate_fixtures import approve, catalogue, conversion
from tests.conftest import CommandCounter, GraphQL, World

CONVERSIONS = """
query C($first: Int, $pid: ID) {
  conversions(first: $first, partnerId: $pid, from: "2025-01-01T00:00:00+00:00") {
    edges { node { id status payable selfBillId paymentStatus paidAt selfBill { reference } } }
  }
}"""
WINDOW = {"from": "2025-01-01T00:00:00+00:00", "to": "2025-03-01T00:00:00+00:00",
          "timezone": "UTC"}  # fmt: skip


async def _sales(db: Database, world: World) -> dict[str, Document]:
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
    day = datetime(2025, 1, 10, tzinfo=UTC)
    made = {}
    a, b = world.partner_a, world.partner_b
    for name, pid, status, currency in (
        ("a_gbp_1", a, "approved", "GBP"), ("b_gbp", b, "approved", "GBP"),
        ("a_gbp_2", a, "approved", "GBP"), ("a_pending", a, "pending", "GBP"),
        ("a_rejected", a, "rejected", "GBP"), ("a_eur", a, "approved", "EUR"),
    ):  # fmt: skip
        made[name] = await conversion(db, pid, cat.open, day + timedelta(minutes=len(made)),
                                      value=1000, commission=100, status=status,
                                      currency=currency)  # fmt: skip
    return made


def _oracle(doc: Document, bill: Document | None) -> dict[str, Any]:
    if doc["status"] != "approved":
        status = "NOT_PAYABLE"
    elif bill is None:
        status = "PAYABLE"
    else:
        status = str(bill["status"]).upper()
    return {"selfBillId": bill["_id"] if bill else None, "paymentStatus": status,
            "paid": bill is not None and bill["status"] == "paid"}  # fmt: skip


async def _seen(gql: GraphQL, world: World) -> dict[str, dict[str, Any]]:
    body = await gql(CONVERSIONS, {"first": 50}, as_=world.a_owner)
    assert "errors" not in body, body
    return {e["node"]["id"]: e["node"] for e in body["data"]["conversions"]["edges"]}


async def test_payment_info_follows_the_selfbill_per_tenant(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given A's and B's sales, and a GBP self-bill for each partner
    sales = await _sales(db, world)
    kwargs: dict[str, Any] = {"vat_rate_ppm": 0, "legal_entity": "GB", "payment_detail_id": ""}
    bill = await money.create_selfbill(db, world.partner_a, "GBP", **kwargs)
    b_bill = await money.create_selfbill(db, world.partner_b, "GBP", **kwargs)
    assert bill is not None and b_bill is not None
    a_sales = {k: v for k, v in sales.items() if k.startswith("a_")}
    for step in ("created", "available", "paid"):
        if step != "created":
            moved = await money.advance_selfbill(db, bill["_id"], bill["status"], step)
            assert moved is not None
            bill = moved
        # when A lists its conversions
        seen = await _seen(gql, world)
        # then each carries its payment state, as the oracle has it
        assert set(seen) == {d["_id"] for d in a_sales.values()}  # B's sale is not A's
        for doc in a_sales.values():
            billed = bill if doc["currency"] == "GBP" and doc["status"] == "approved" else None
            want = _oracle(doc, billed)
            node = seen[doc["_id"]]
            assert node["selfBillId"] == want["selfBillId"], (step, doc["_id"])
            assert node["paymentStatus"] == want["paymentStatus"], (step, doc["_id"])
            assert (node["paidAt"] is not None) == want["paid"], (step, doc["_id"])
            assert node["payable"] == (want["paymentStatus"] == "PAYABLE")
    # B's bill stays CREATED for B while A's is paid
    body = await gql(CONVERSIONS, {"first": 5}, as_=world.b_owner)
    (b_node,) = [e["node"] for e in body["data"]["conversions"]["edges"]]
    assert (b_node["selfBillId"], b_node["paymentStatus"], b_node["paidAt"]) == (
        b_bill["_id"], "CREATED", None
    )


async def test_payment_columns_on_the_item_csv(
    client: TestClient[Any, Any], world: World, db: Database
) -> None:
    # given A's sales, the GBP ones billed and paid
    sales = await _sales(db, world)
    bill = await money.create_selfbill(db, world.partner_a, "GBP", vat_rate_ppm=0,
                                       legal_entity="GB", payment_detail_id="")  # fmt: skip
    assert bill is not None
    await money.advance_selfbill(db, bill["_id"], "created", "available")
    paid = await money.advance_selfbill(db, bill["_id"], "available", "paid")
    assert paid is not None
    headers = world.a_owner.headers
    # a bad flag is a 400 naming it
    bad = await client.get("/export/conversion-items.csv",
                           params={**WINDOW, "includePaymentInfo": "yes"}, headers=headers)
    assert bad.status == 400 and "includePaymentInfo" in await bad.text()
    # without the flag the seed's columns only
    plain = await client.get("/export/conversion-items.csv", params=WINDOW, headers=headers)
    assert next(csv.reader(io.StringIO(await plain.text()))) == ITEM_COLUMNS
    # with it, the payment columns follow
    response = await client.get("/export/conversion-items.csv",
                                params={**WINDOW, "includePaymentInfo": "true"}, headers=headers)
    assert response.status == 200
    text = await response.text()
    assert next(csv.reader(io.StringIO(text))) == ITEM_COLUMNS + PAYMENT_COLUMNS
    rows = {r["conversion_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {d["_id"] for k, d in sales.items() if k.startswith("a_")}
    stamp = datetime.fromtimestamp(paid["payment_ms"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    ref = paid["reference"]
    for key, status, reference, date in (
        ("a_gbp_1", "paid", ref, stamp), ("a_gbp_2", "paid", ref, stamp),
        ("a_pending", "not_payable", "", ""), ("a_rejected", "not_payable", "", ""),
        ("a_eur", "payable", "", ""),
    ):  # fmt: skip
        row = rows[sales[key]["_id"]]
        assert (row["payment_status"], row["self_bill_reference"], row["payment_date"]) == (
            status, reference, date
        ), key
    # the conversion CSV takes no such parameter in the seed: its columns stay
    conv = await client.get("/export/conversions.csv",
                            params={**WINDOW, "includePaymentInfo": "true"}, headers=headers)
    assert "payment_status" not in next(csv.reader(io.StringIO(await conv.text())))


async def test_payment_fields_cost_the_same_for_any_page(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    for i in range(20):
        await conversion(db, world.partner_a, cat.open,
                         datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=i), value=1000,
                         commission=100)  # fmt: skip
        if i % 2:  # a self-bill per two conversions
            await money.create_selfbill(db, world.partner_a, "GBP", vat_rate_ppm=0,
                                        legal_entity="", payment_detail_id="")  # fmt: skip

    async def run(first: int) -> int:
        commands.start()
        body = await gql(CONVERSIONS, {"first": first}, as_=world.a_owner)
        assert len(body["data"]["conversions"]["edges"]) == first, body
        return commands.total

    assert await run(2) == await run(20)
