"""Money: payment details (validated, masked, per tenant), self-bills (created by the
operator from approved, unbilled commission; forward-only status; items; never billing a
conversion twice), the balance summary and available commission against a Python oracle,
and N+1 guards."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.storage.mongo import Database, Document
from loaders import affiliate as data
from loaders.affiliate import money
from loaders.base import epoch_ms
from tests.affiliate_fixtures import approve, catalogue, conversion
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

CREATE_PD = """
mutation P($input: CreatePaymentDetailsInput!) {
  createPaymentDetails(input: $input) {
    id paymentType country paidCurrency trackedCurrencies accountName account bic suspended
  }
}"""
PDS = "query { paymentDetails { totalCount edges { node { id account } } } }"
CREATE_SB = """
mutation S($pid: ID!, $cur: String!, $vat: Float! = 0, $pd: ID) {
  createSelfBill(partnerId: $pid, currency: $cur, vatRate: $vat, paymentDetailId: $pd) {
    id reference status currency conversionCount itemsInBill netValue vatRate vatValue
    withheldTax totalValue legalEntity paidAt partnerId paymentDetails { id account }
  }
}"""
ADVANCE = """
mutation A($id: ID!, $status: SelfBillStatus!) {
  updateSelfBillStatus(id: $id, status: $status) { id status paidAt }
}"""
SELFBILLS = """
query L($first: Int, $statuses: [SelfBillStatus!]) {
  selfBills(first: $first, statuses: $statuses) {
    totalCount
    edges { node { id reference status netValue
                   items(first: 3) { totalCount edges { node { id payable campaign { title } } } }
                   paymentDetails { id } } }
  }
}"""
SELFBILL = "query B($id: ID!) { selfBill(id: $id) { id netValue items { totalCount } } }"
CONVERSIONS = """
query C($first: Int) {
  conversions(first: $first, from: "2025-01-01T00:00:00+00:00") {
    edges { node { id status payable selfBill { id reference status } } }
  }
}"""
MONEY = """
query M($pid: ID) {
  balanceSummary(partnerId: $pid) { currency pending approved confirmed available paid }
  availableCommission(partnerId: $pid) { currency conversionCount itemCount value
                                         partnerCommission }
}"""
IBAN = {"accountName": "Acme Media Ltd", "iban": "GB82 WEST 1234 5698 7654 32", "bic": "NWBKGB2L"}


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


def pd_input(**extra: Any) -> dict[str, Any]:
    return {"input": {"paymentType": "IBAN", "country": "GB", "paidCurrency": "GBP",
                      "trackedCurrencies": ["GBP", "EUR"], "values": IBAN, **extra}}  # fmt: skip


# --- payment details -----------------------------------------------------------------


async def test_payment_details_rejections_then_success(
    gql: GraphQL, world: World, db: Database
) -> None:
    for extra, field in (
        ({"values": {**IBAN, "iban": "GB82 WEST 1234 5698 7654 33"}}, "iban"),
        ({"values": {**IBAN, "iban": "ZZ82WEST12345698765432"}}, "iban"),
        ({"values": {**IBAN, "bic": "NWB1"}}, "bic"),
        ({"values": {**IBAN, "accountName": ""}}, "accountName"),
        ({"paymentType": "EFT", "values": {"accountName": "A", "accountNumber": "12ab",
                                           "routingNumber": "122105155"}}, "accountNumber"),
        ({"paymentType": "EFT", "values": {"accountName": "A", "accountNumber": "12345678",
                                           "routingNumber": "12"}}, "routingNumber"),
        ({"paymentType": "PAYPAL", "values": {"accountName": "A", "email": "nope"}}, "email"),
        ({"country": "QQ"}, "country"),
        ({"paidCurrency": "ABC"}, "paidCurrency"),
        ({"trackedCurrencies": []}, "trackedCurrencies"),
    ):  # fmt: skip
        body = await gql(CREATE_PD, pd_input(**extra), as_=world.a_owner)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, extra
    for persona in (world.a_analyst, world.a_manager, world.a_app):
        assert error_codes(await gql(CREATE_PD, pd_input(), as_=persona)) == ["FORBIDDEN"]
    assert error_codes(await gql(CREATE_PD, pd_input(), as_=world.anonymous)) == ["UNAUTHENTICATED"]
    body = await gql(CREATE_PD, pd_input(partnerId=world.partner_b), as_=world.a_owner)
    assert error_codes(body) == ["NOT_FOUND"]
    assert await db.affiliate_payment_details.count_documents({}) == 0
    # success: stored whole, shown masked
    body = await gql(CREATE_PD, pd_input(), as_=world.a_owner)
    pd = body["data"]["createPaymentDetails"]
    assert pd == {"id": pd["id"], "paymentType": "IBAN", "country": "GB", "paidCurrency": "GBP",
                  "trackedCurrencies": ["EUR", "GBP"], "accountName": "Acme Media Ltd",
                  "account": "••••••••••••••••••5432", "bic": "NWBKGB2L",
                  "suspended": False}  # fmt: skip
    stored = await db.affiliate_payment_details.find_one({"_id": pd["id"]})
    assert stored is not None and stored["values"]["iban"] == "GB82WEST12345698765432"
    eft = await gql(CREATE_PD, pd_input(paymentType="EFT", country="US", values={
        "accountName": "Joe", "accountNumber": "12345678", "routingNumber": "122105155",
        "bankName": "Bob Bank"}), as_=world.a_owner)  # fmt: skip
    assert eft["data"]["createPaymentDetails"]["account"] == "••••5678"
    assert (await gql(PDS, as_=world.a_analyst))["data"]["paymentDetails"]["totalCount"] == 2
    assert (await gql(PDS, as_=world.b_owner))["data"]["paymentDetails"]["totalCount"] == 0


# --- self-bills ----------------------------------------------------------------------


async def _sales(db: Database, world: World) -> dict[str, Any]:
    cat = await catalogue(db)
    c = cat.open
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, c)
    day = datetime(2025, 1, 10, tzinfo=UTC)
    made: dict[str, Any] = {"campaign": c, "approved_gbp": []}
    for i, (value, commission) in enumerate(((10_000, 1_000), (5_000, 500), (2_000, 250))):
        made["approved_gbp"].append(await conversion(
            db, world.partner_a, c, day + timedelta(hours=i), value=value,
            commission=commission, quantity=2))  # fmt: skip
    made["pending"] = await conversion(db, world.partner_a, c, day, value=900, commission=90,
                                       status="pending")  # fmt: skip
    made["rejected"] = await conversion(db, world.partner_a, c, day, value=800, commission=80,
                                        status="rejected")  # fmt: skip
    made["eur"] = await conversion(db, world.partner_a, c, day, value=700, commission=70,
                                   currency="EUR")  # fmt: skip
    made["b"] = await conversion(db, world.partner_b, c, day, value=600, commission=60)
    return made


async def test_selfbill_rejections_then_lifecycle(gql: GraphQL, world: World, db: Database) -> None:
    sales = await _sales(db, world)
    await db.partners.update_one({"_id": world.partner_a}, {"$set": {"operating_country": "GB"}})
    pd = (await gql(CREATE_PD, pd_input(), as_=world.a_owner))["data"]["createPaymentDetails"]
    pd_b = (await gql(CREATE_PD, pd_input(), as_=world.b_owner))["data"]["createPaymentDetails"]
    usd_only = (await gql(CREATE_PD, pd_input(trackedCurrencies=["USD"]),
                          as_=world.a_owner))["data"]["createPaymentDetails"]  # fmt: skip
    ok = {"pid": world.partner_a, "cur": "GBP", "vat": 0.2, "pd": pd["id"]}
    # rejections: wrong principal, bad input, other tenant's details, nothing to bill
    assert error_codes(await gql(CREATE_SB, ok, as_=world.a_owner)) == ["FORBIDDEN"]
    assert error_codes(await gql(CREATE_SB, ok, as_=world.anonymous)) == ["UNAUTHENTICATED"]
    for extra, field in (({"cur": "XYZ"}, "currency"), ({"vat": 0.6}, "vatRate"),
                         ({"vat": -0.1}, "vatRate"), ({"pd": usd_only["id"]}, "paymentDetailId"),
                         ({"pid": "nope"}, "partnerId")):  # fmt: skip
        body = await gql(CREATE_SB, {**ok, **extra}, as_=world.operator)
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, extra
    body = await gql(CREATE_SB, {**ok, "pd": pd_b["id"]}, as_=world.operator)
    assert error_codes(body) == ["NOT_FOUND"] and field_of(body) == "paymentDetailId"
    body = await gql(CREATE_SB, {**ok, "cur": "USD", "pd": None}, as_=world.operator)
    assert error_codes(body) == ["CONFLICT"]
    assert await db.affiliate_selfbills.count_documents({}) == 0
    assert await db.affiliate_conversions.count_documents({"selfbill_id": {"$ne": ""}}) == 0
    # success: exactly A's approved GBP commission, VAT on top
    bill = (await gql(CREATE_SB, ok, as_=world.operator))["data"]["createSelfBill"]
    assert bill == {
        "id": bill["id"], "reference": f"S-{world.partner_a}-{bill['id']}", "status": "CREATED",
        "currency": "GBP", "conversionCount": 3, "itemsInBill": 3, "netValue": 1750,
        "vatRate": 0.2, "vatValue": 350, "withheldTax": 0, "totalValue": 2100,
        "legalEntity": "GB", "paidAt": None, "partnerId": world.partner_a,
        "paymentDetails": {"id": pd["id"], "account": pd["account"]},
    }  # fmt: skip
    # the conversions link to it and are no longer payable; others are untouched
    body = await gql(CONVERSIONS, {"first": 20}, as_=world.a_analyst)
    state = {e["node"]["id"]: e["node"] for e in body["data"]["conversions"]["edges"]}
    for c in sales["approved_gbp"]:
        assert state[c["_id"]]["payable"] is False
        assert state[c["_id"]]["selfBill"]["reference"] == bill["reference"]
    assert state[sales["eur"]["_id"]]["payable"] is True
    assert state[sales["pending"]["_id"]]["payable"] is False
    assert state[sales["pending"]["_id"]]["selfBill"] is None
    b_row = await db.affiliate_conversions.find_one({"_id": sales["b"]["_id"]})
    assert b_row is not None and b_row["selfbill_id"] == ""
    # billing again is CONFLICT (nothing left), status moves forward only
    assert error_codes(await gql(CREATE_SB, ok, as_=world.operator)) == ["CONFLICT"]
    assert error_codes(await gql(ADVANCE, {"id": bill["id"], "status": "PAID"},
                                 as_=world.operator)) == ["CONFLICT"]  # fmt: skip
    assert error_codes(await gql(ADVANCE, {"id": bill["id"], "status": "AVAILABLE"},
                                 as_=world.a_owner)) == ["FORBIDDEN"]  # fmt: skip
    body = await gql(ADVANCE, {"id": "sbl_doesnotexist00", "status": "AVAILABLE"},
                     as_=world.operator)  # fmt: skip
    assert error_codes(body) == ["NOT_FOUND"]
    body = await gql(ADVANCE, {"id": bill["id"], "status": "AVAILABLE"}, as_=world.operator)
    assert body["data"]["updateSelfBillStatus"]["status"] == "AVAILABLE"
    body = await gql(ADVANCE, {"id": bill["id"], "status": "PAID"}, as_=world.operator)
    assert body["data"]["updateSelfBillStatus"]["paidAt"] is not None
    assert error_codes(await gql(ADVANCE, {"id": bill["id"], "status": "CREATED"},
                                 as_=world.operator)) == ["CONFLICT"]  # fmt: skip
    # lists and detail are per tenant
    body = await gql(SELFBILLS, {}, as_=world.a_analyst)
    [node] = [e["node"] for e in body["data"]["selfBills"]["edges"]]
    assert node["items"]["totalCount"] == 3 and node["status"] == "PAID"
    assert (await gql(SELFBILLS, {}, as_=world.b_owner))["data"]["selfBills"]["totalCount"] == 0
    assert error_codes(await gql(SELFBILL, {"id": bill["id"]}, as_=world.b_owner)) == ["NOT_FOUND"]
    body = await gql(SELFBILL, {"id": bill["id"]}, as_=world.a_owner)
    assert body["data"]["selfBill"]["netValue"] == 1750


async def test_concurrent_selfbills_never_bill_a_conversion_twice(
    gql: GraphQL, world: World, db: Database
) -> None:
    await _sales(db, world)
    args = {"pid": world.partner_a, "cur": "GBP"}
    bodies = await asyncio.gather(*(gql(CREATE_SB, args, as_=world.operator) for _ in range(4)))
    made = [b["data"]["createSelfBill"] for b in bodies if b.get("data")]
    assert sorted(error_codes(b)[0] for b in bodies if b.get("errors")) == ["CONFLICT"] * (
        4 - len(made)
    )
    assert sum(m["netValue"] for m in made) == 1750
    assert sum(m["conversionCount"] for m in made) == 3


# --- balances against an oracle -------------------------------------------------------


def _oracle(rows: list[Document], bills: dict[str, str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(
        ("pending", "approved", "confirmed", "available", "paid"), 0))  # fmt: skip
    stage = {"created": "confirmed", "available": "available", "paid": "paid"}
    for r in rows:
        if r["status"] == "pending":
            out[r["currency"]]["pending"] += r["commission"]
        elif r["status"] == "approved" and not r.get("selfbill_id"):
            out[r["currency"]]["approved"] += r["commission"]
        elif r["status"] == "approved":
            out[r["currency"]][stage[bills[r["selfbill_id"]]]] += r["commission"]
    return dict(out)


@pytest.mark.parametrize("seed", [5, 6, 7])
async def test_balance_summary_and_available_match_the_oracle(
    gql: GraphQL, world: World, db: Database, seed: int
) -> None:
    # given generated conversions of both partners, some currencies billed and advanced
    rng = random.Random(seed)
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(rng.randint(10, 40)):
        lines = [{"value": (v := rng.randint(100, 5000)), "commission": v // rng.randint(5, 20)}
                 for _ in range(rng.randint(1, 3))]  # fmt: skip
        docs.append(data.conversion_doc(
            rng.choice((world.partner_a, world.partner_b)), cat.open,
            start + timedelta(hours=i), currency=rng.choice(("GBP", "EUR", "JPY")),
            status=rng.choice(data.CONVERSION_STATUSES), items=lines,
            conversion_id=f"cnv_bal{seed}-{i:03d}"))  # fmt: skip
    await db.affiliate_conversions.insert_many(docs)
    bills: dict[str, str] = {}
    for pid in (world.partner_a, world.partner_b):
        for currency in ("GBP", "EUR"):
            if rng.random() < 0.6:
                body = await gql(CREATE_SB, {"pid": pid, "cur": currency}, as_=world.operator)
                if body.get("data"):
                    bill = body["data"]["createSelfBill"]
                    status = "created"
                    for step in ("AVAILABLE", "PAID")[: rng.randint(0, 2)]:
                        await gql(ADVANCE, {"id": bill["id"], "status": step}, as_=world.operator)
                        status = step.lower()
                    bills[bill["id"]] = status
    # a later approved sale is unbilled again
    await conversion(db, world.partner_a, cat.open, start, value=1000, commission=100)
    rows = await db.affiliate_conversions.find({"partner_id": world.partner_a}).to_list(None)
    # when A reads its money
    body = await gql(MONEY, {}, as_=world.a_owner)
    # then both figures are what the oracle computes from the rows
    got = {b.pop("currency"): b for b in body["data"]["balanceSummary"]}
    assert got == _oracle(rows, bills)
    payable = [r for r in rows if r["status"] == "approved" and not r["selfbill_id"]]
    expected: dict[str, dict[str, int]] = {}
    for r in payable:
        e = expected.setdefault(r["currency"], {"conversionCount": 0, "itemCount": 0, "value": 0,
                                                "partnerCommission": 0})  # fmt: skip
        e["conversionCount"] += 1
        e["itemCount"] += len(r["items"])
        e["value"] += r["value"]
        e["partnerCommission"] += r["commission"]
    assert {a.pop("currency"): a for a in body["data"]["availableCommission"]} == expected
    # the other tenant's money is not A's to read
    body = await gql(MONEY, {"pid": world.partner_b}, as_=world.a_owner)
    assert set(error_codes(body)) == {"NOT_FOUND"} and body["data"] is None


# --- N+1 -------------------------------------------------------------------------------


async def test_selfbill_lists_have_no_n_plus_one(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    # given 20 self-bills of A, each paying two conversions, with payment details
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    pd = await money.insert_payment_detail(db, {
        "partner_id": world.partner_a, "payment_type": "paypal", "country": "GB",
        "paid_currency": "GBP", "tracked_currencies": ["GBP"],
        "values": {"account_name": "A", "email": "a@example.com"}})  # fmt: skip
    for i in range(20):
        for j in range(2):
            await conversion(db, world.partner_a, cat.open,
                             datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=i, minutes=j),
                             value=1000, commission=100)  # fmt: skip
        await money.create_selfbill(db, world.partner_a, "GBP", vat_rate_ppm=0, legal_entity="",
                                    payment_detail_id=pd["_id"])  # fmt: skip
        await db.affiliate_selfbills.update_many({}, {"$inc": {"created_ms": -1}})

    async def run(query: str, key: str, first: int) -> int:
        commands.start()
        body = await gql(query, {"first": first}, as_=world.a_owner)
        assert "errors" not in body, body
        assert len(body["data"][key]["edges"]) == first
        return commands.total

    assert await run(SELFBILLS, "selfBills", 2) == await run(SELFBILLS, "selfBills", 20)
    assert await run(CONVERSIONS, "conversions", 2) == await run(CONVERSIONS, "conversions", 20)
    assert epoch_ms(datetime.now(UTC)) > 0
