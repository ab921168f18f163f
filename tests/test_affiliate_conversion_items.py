"""Conversion report fields of the seed that were missing: meta data, item voucher codes and
reject reasons, the `ref_*` attribution, the click object, `last_modified` (and the
`dateType: LAST_MODIFIED` range), and conversion items as their own list (Relay connection)
and CSV export (`/export/conversion-items.csv`), checked against a Python oracle."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.http.affiliate_exports import ITEM_COLUMNS
from gateway.storage.mongo import Database
from loaders import affiliate as data
from loaders.affiliate.money import create_selfbill
from loaders.base import encode_cursor, utcnow
from tests.affiliate_fixtures import approve, catalogue
from tests.conftest import CommandCounter, GraphQL, World, error_codes, only_error

RECORD_CLICK = """
mutation Click($input: RecordClickInput!) { recordClick(input: $input) { id } }"""
RECORD = """
mutation Conv($input: RecordConversionInput!) {
  recordConversion(input: $input) {
    id lastModifiedAt conversionLagSeconds creativeType specificCreativeId
    metaData { key value }
    attribution {
      device { id title } partnershipModel { id title } trafficSource { id title }
      userContext { id title } conversionMetric { id title } conversionType { id title }
    }
    click { id type specificCreativeId attribution { trafficSource { id title }
            conversionMetric { id } } }
    items { itemId status voucherCodes metaData { key value } rejectReason lastUpdatedAt }
  }
}"""
ITEMS = """
query I($first: Int, $after: String, $pid: ID, $dateType: ConversionDateType,
        $from: DateTime, $to: DateTime, $statuses: [ConversionStatus!]) {
  conversionItems(first: $first, after: $after, partnerId: $pid, dateType: $dateType,
                  from: $from, to: $to, statuses: $statuses) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node {
      item { itemId sku value partnerCommission status voucherCodes }
      conversion { id partnerId campaign { title } click { id } }
    } }
  }
}"""
BY_DATE_TYPE = """
query C($from: DateTime, $dateType: ConversionDateType) {
  conversions(from: $from, dateType: $dateType) {
    totalCount edges { node { id wasDisputed lastModifiedAt } }
  }
}"""
DISPUTE = """
mutation Q($queries: [TransactionQueryInput!]!) {
  createTransactionQueries(queries: $queries) { id }
}"""
WINDOW = {"from": "2025-01-01T00:00:00+00:00", "to": "2025-03-01T00:00:00+00:00"}


def field_of(body: dict[str, Any]) -> str | None:
    return only_error(body)["extensions"].get("field")  # type: ignore[no-any-return]


async def _csv(
    client: TestClient[Any, Any], params: dict[str, str], headers: dict[str, str]
) -> tuple[list[str], list[dict[str, str]]]:
    response = await client.get("/export/conversion-items.csv", params=params, headers=headers)
    assert response.status == 200, await response.text()
    text = await response.text()
    header = next(csv.reader(io.StringIO(text)))
    return header, list(csv.DictReader(io.StringIO(text)))


# --- recording the new facts: rejections first ------------------------------------------


async def test_record_conversion_rejects_bad_meta_vouchers_and_reasons(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given an approved campaign
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    base = {"partnerId": world.partner_a, "campaignId": cat.open["_id"], "currency": "GBP"}
    line = {"value": 100, "commission": 10}
    many = [{"key": f"k{i}", "value": "v"} for i in range(21)]
    # when the operator sends malformed meta data, voucher codes or reject reasons
    for extra, field in (
        ({"metaData": [{"key": "bad key", "value": "v"}]}, "metaData"),
        ({"metaData": [{"key": "", "value": "v"}]}, "metaData"),
        ({"metaData": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}, "metaData"),
        ({"metaData": [{"key": "a", "value": "x" * 256}]}, "metaData"),
        ({"metaData": [{"key": "a", "value": "bad\x00"}]}, "metaData"),
        ({"metaData": many}, "metaData"),
        ({"items": [{**line, "voucherCodes": ["SPRING", "SPRING"]}]}, "items"),
        ({"items": [{**line, "voucherCodes": [""]}]}, "items"),
        ({"items": [{**line, "voucherCodes": [f"C{i}" for i in range(11)]}]}, "items"),
        ({"items": [{**line, "voucherCodes": ["x" * 51]}]}, "items"),
        ({"items": [{**line, "rejectReason": "fraud"}]}, "items"),  # a pending line
        ({"items": [{**line, "metaData": [{"key": "$bad", "value": "v"}]}]}, "items"),
    ):
        body = await gql(RECORD, {"input": {"items": [line], **base, **extra}},
                         as_=world.operator)  # fmt: skip
        # then each is BAD_USER_INPUT naming the field, and nothing is stored
        assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == field, extra
    body = await gql(RECORD, {"input": {"items": [line], **base}}, as_=world.a_owner)
    assert error_codes(body) == ["FORBIDDEN"]
    body = await gql(RECORD, {"input": {"items": [line], **base}}, as_=world.anonymous)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert await db.affiliate_conversions.count_documents({}) == 0


async def test_record_conversion_stores_meta_vouchers_attribution_and_click(
    gql: GraphQL, world: World, db: Database
) -> None:
    # given a click through this gateway's attribution
    cat = await catalogue(db)
    await approve(db, world.partner_a, cat.open)
    clicked = datetime(2025, 1, 10, 10, 0, tzinfo=UTC)
    click = (await gql(RECORD_CLICK, {"input": {
        "partnerId": world.partner_a, "campaignId": cat.open["_id"],
        "occurredAt": clicked.isoformat(), "device": "DESKTOP",
    }}, as_=world.operator))["data"]["recordClick"]  # fmt: skip
    before = utcnow()
    # when the operator records a converted sale with meta data and voucher codes
    body = await gql(RECORD, {"input": {
        "partnerId": world.partner_a, "campaignId": cat.open["_id"], "currency": "GBP",
        "clickId": click["id"], "occurredAt": (clicked + timedelta(minutes=5)).isoformat(),
        "status": "APPROVED", "device": "DESKTOP",
        "metaData": [{"key": "gclid", "value": "adword_google_meta_data"}],
        "items": [
            {"value": 955, "commission": 95, "voucherCodes": ["SPRING10", "VIP"],
             "metaData": [{"key": "cabin_code", "value": "Y"}]},
            {"value": 100, "commission": 0, "status": "REJECTED", "rejectReason": "returned"},
        ],
    }}, as_=world.operator)  # fmt: skip
    conv = body["data"]["recordConversion"]
    # then every new fact reads back as recorded
    assert datetime.fromisoformat(conv["lastModifiedAt"]) >= before.replace(microsecond=0)
    assert conv["conversionLagSeconds"] == 300
    assert (conv["creativeType"], conv["specificCreativeId"]) == (0, 0)
    assert conv["metaData"] == [{"key": "gclid", "value": "adword_google_meta_data"}]
    assert conv["attribution"] == {
        "device": {"id": "desktop", "title": "desktop"},
        "partnershipModel": {"id": "2", "title": "CPA"},
        "trafficSource": {"id": "3", "title": "Affiliate"},
        "userContext": {"id": "2", "title": "Web"},
        "conversionMetric": {"id": "2", "title": "Standard"},
        "conversionType": {"id": "1", "title": "standard"},
    }
    assert conv["click"] == {
        "id": click["id"], "type": "standard", "specificCreativeId": 0,
        "attribution": {"trafficSource": {"id": "3", "title": "Affiliate"},
                        "conversionMetric": None},
    }  # fmt: skip
    first, second = conv["items"]
    assert first["voucherCodes"] == ["SPRING10", "VIP"] and first["rejectReason"] == ""
    assert first["metaData"] == [{"key": "cabin_code", "value": "Y"}]
    assert second["status"] == "REJECTED" and second["rejectReason"] == "returned"
    assert first["lastUpdatedAt"] == conv["lastModifiedAt"]
    # and the basket's first voucher code is the conversion's analytics `voucher_code`
    stored = await db.affiliate_conversions.find_one({"_id": conv["id"]})
    assert stored is not None and stored["voucher_code"] == "SPRING10"


# --- dateType: LAST_MODIFIED --------------------------------------------------------------


async def test_last_modified_range_finds_what_changed_not_what_happened(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database
) -> None:
    # given three old sales of A (one to be disputed, one to be billed) and one of B
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
    old = datetime(2025, 1, 5, tzinfo=UTC)
    docs = [
        data.conversion_doc(pid, cat.open, old + timedelta(hours=i), currency=cur,
                            status="approved", items=[{"value": 100, "commission": 10}],
                            conversion_reference=ref, conversion_id=f"cnv_lm{i:02d}")
        for i, (pid, ref, cur) in enumerate([
            (world.partner_a, "DISPUTE-ME", "GBP"), (world.partner_a, "BILL-ME", "EUR"),
            (world.partner_a, "LEAVE-ME", "GBP"), (world.partner_b, "DISPUTE-ME", "GBP"),
        ])
    ]  # fmt: skip
    await db.affiliate_conversions.insert_many(docs)
    since = (utcnow() - timedelta(minutes=5)).isoformat()
    standard = await gql(BY_DATE_TYPE, {"from": since}, as_=world.a_analyst)
    assert standard["data"]["conversions"]["totalCount"] == 0
    # when A disputes one and the network bills another
    body = await gql(DISPUTE, {"queries": [{"type": "DECLINED", "camref": cat.open["camref"],
                                            "conversionReference": "DISPUTE-ME"}]},
                     as_=world.a_owner)  # fmt: skip
    assert "errors" not in body, body
    bill = await create_selfbill(db, world.partner_a, "EUR", vat_rate_ppm=0,
                                      legal_entity="GB", payment_detail_id="")  # fmt: skip
    assert bill is not None
    # then LAST_MODIFIED since a few minutes ago lists exactly those two, A's only
    body = await gql(BY_DATE_TYPE, {"from": since, "dateType": "LAST_MODIFIED"},
                     as_=world.a_analyst)  # fmt: skip
    nodes = body["data"]["conversions"]["edges"]
    assert sorted(n["node"]["id"] for n in nodes) == ["cnv_lm00", "cnv_lm01"]
    assert body["data"]["conversions"]["totalCount"] == 2
    # the old range by STANDARD still lists all three, by LAST_MODIFIED only the untouched
    body = await gql(ITEMS, {**WINDOW, "dateType": "LAST_MODIFIED"}, as_=world.a_analyst)
    edges = body["data"]["conversionItems"]["edges"]
    assert [e["node"]["conversion"]["id"] for e in edges] == ["cnv_lm02"]
    body = await gql(ITEMS, WINDOW, as_=world.a_analyst)
    assert body["data"]["conversionItems"]["totalCount"] == 3
    # and the CSV export takes the same switch (bad values are 400)
    headers = world.a_owner.headers
    _, rows = await _csv(client, {"from": since, "dateType": "last_modified"}, headers)
    assert sorted(r["conversion_id"] for r in rows) == ["cnv_lm00", "cnv_lm01"]
    billed = next(r for r in rows if r["conversion_id"] == "cnv_lm01")
    assert billed["invoice_id"] == bill["_id"]
    response = await client.get("/export/conversion-items.csv",
                                params={"dateType": "changed"}, headers=headers)  # fmt: skip
    assert response.status == 400 and "dateType" in await response.text()
    _, rows = await _csv(client, {"from": since, "dateType": "last_modified"},
                         world.b_owner.headers)  # fmt: skip
    assert rows == []  # B's sale with the same reference was not disputed by A


# --- conversion items as their own list -----------------------------------------------------


def _generate(world: World, cat: Any, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(rng.randint(8, 30)):
        pid = rng.choice((world.partner_a, world.partner_b))
        lines = [
            {"value": rng.randint(100, 900), "commission": rng.randint(0, 50),
             "sku": f"SKU{rng.randint(1, 5)}", "voucher_codes": rng.choice([[], ["V1"]])}
            for _ in range(rng.randint(1, 4))
        ]  # fmt: skip
        # a few share a timestamp, so the `_id` tie-break is exercised
        moment = start + timedelta(hours=rng.randint(0, 24 * 20) if i % 5 else 7)
        docs.append(data.conversion_doc(
            pid, cat.open, moment, currency="GBP", status=rng.choice(data.CONVERSION_STATUSES),
            items=lines, conversion_id=f"cnv_it{seed}-{i:03d}",
        ))  # fmt: skip
    return docs


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_conversion_items_pages_match_an_oracle(
    gql: GraphQL, world: World, db: Database, seed: int
) -> None:
    # given generated conversions of both partners with 1..4 lines each
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
    docs = _generate(world, cat, seed)
    await db.affiliate_conversions.insert_many(docs)
    rng = random.Random(seed)
    statuses = rng.choice([None, ["APPROVED"], ["PENDING", "REJECTED"]])
    page_size = rng.randint(1, 5)
    # when A pages through its items
    seen: list[tuple[str, str]] = []
    after = None
    total = None
    while True:
        body = await gql(ITEMS, {**WINDOW, "first": page_size, "after": after,
                                 "statuses": statuses}, as_=world.a_analyst)  # fmt: skip
        conn = body["data"]["conversionItems"]
        total = conn["totalCount"]
        seen += [(e["node"]["conversion"]["id"], e["node"]["item"]["itemId"])
                 for e in conn["edges"]]  # fmt: skip
        assert all(e["node"]["conversion"]["partnerId"] == world.partner_a for e in conn["edges"])
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    # then the oracle agrees: A's conversions newest first (id breaks ties), basket order
    wanted = {s.lower() for s in statuses} if statuses else set(data.CONVERSION_STATUSES)
    mine = sorted(
        (d for d in docs if d["partner_id"] == world.partner_a and d["status"] in wanted),
        key=lambda d: (d["ts"], d["_id"]), reverse=True,
    )  # fmt: skip
    expected = [(d["_id"], item["item_id"]) for d in mine for item in d["items"]]
    assert seen == expected
    assert total == len(expected)


async def test_conversion_items_guards_and_bad_input(gql: GraphQL, world: World) -> None:
    assert error_codes(await gql(ITEMS, WINDOW, as_=world.a_app)) == ["FORBIDDEN"]
    assert error_codes(await gql(ITEMS, WINDOW, as_=world.anonymous)) == ["UNAUTHENTICATED"]
    body = await gql(ITEMS, {**WINDOW, "pid": world.partner_b}, as_=world.a_analyst)
    assert error_codes(body) == ["NOT_FOUND"]
    body = await gql(ITEMS, {**WINDOW, "after": "garbage"}, as_=world.a_analyst)
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "after"
    body = await gql(ITEMS, {**WINDOW, "first": 101}, as_=world.a_analyst)
    assert error_codes(body) == ["BAD_USER_INPUT"] and field_of(body) == "first"
    # a cursor of another list (conversions: two values) is not one of this list
    other = encode_cursor([1, "cnv_x"])
    body = await gql(ITEMS, {**WINDOW, "after": other}, as_=world.a_analyst)
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_conversion_items_have_no_n_plus_one(
    gql: GraphQL, world: World, db: Database, commands: CommandCounter
) -> None:
    # given 30 conversions of A over 3 campaigns, each with a click and two lines
    cats = [await catalogue(db, f"Shop{i}") for i in range(3)]
    day = datetime(2025, 1, 5, tzinfo=UTC)
    for c in cats:
        await approve(db, world.partner_a, c.open)
    docs = []
    for i in range(30):
        camp = cats[i % 3].open
        click = data.click_doc(world.partner_a, camp, day + timedelta(minutes=i))
        await data.insert_click(db, click)
        docs.append(data.conversion_doc(
            world.partner_a, camp, day + timedelta(minutes=i, seconds=30), currency="GBP",
            status="approved", click=click,
            items=[{"value": 100, "commission": 10}, {"value": 50, "commission": 5}],
        ))  # fmt: skip
    await db.affiliate_conversions.insert_many(docs)

    async def run(first: int) -> int:
        commands.start()
        body = await gql(ITEMS, {**WINDOW, "first": first}, as_=world.a_analyst)
        edges = body["data"]["conversionItems"]["edges"]
        assert len(edges) == first and all(e["node"]["conversion"]["click"] for e in edges)
        return commands.total

    # then a page of 2 and a page of 40 lines cost the same number of commands
    assert await run(2) == await run(40)


# --- the conversion-item CSV ------------------------------------------------------------------


async def test_conversion_items_csv_has_the_seed_columns_filled(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database
) -> None:
    # given a converted sale of A with two lines (meta data, voucher codes, a rejected line)
    cat = await catalogue(db)
    for pid in (world.partner_a, world.partner_b):
        await approve(db, pid, cat.open)
    click = data.click_doc(world.partner_a, cat.open, datetime(2025, 1, 10, 9, tzinfo=UTC),
                           ip="192.0.2.7", referer="https://blog.example/")  # fmt: skip
    await data.insert_click(db, click)
    doc = data.conversion_doc(
        world.partner_a, cat.open, datetime(2025, 1, 10, 9, 10, tzinfo=UTC), currency="GBP",
        status="approved", click=click, conversion_id="cnv_csv01",
        conversion_reference="ORDER-7", customer_reference="=HYPERLINK(1)",
        items=[
            {"value": 1000, "commission": 100, "sku": "SKU-1", "category": "Shoes",
             "voucher_codes": ["SPRING10", "VIP"],
             "meta_data": {"cabin_code": "Y", "dest": "@LHR", "origin": "JFK"}},
            {"value": 250, "commission": 0, "sku": "SKU-2", "status": "rejected",
             "reject_reason": "returned"},
        ],
    )  # fmt: skip
    await data.insert_conversion(db, doc)
    await data.insert_conversion(db, data.conversion_doc(
        world.partner_b, cat.open, datetime(2025, 1, 10, tzinfo=UTC), currency="GBP",
        status="approved", items=[{"value": 1, "commission": 0}],
    ))  # fmt: skip
    # when A exports conversion items
    header, rows = await _csv(client, {**WINDOW, "timezone": "UTC"}, world.a_owner.headers)
    # then the header is the seed's, one row per line, both carrying the conversion's cells
    seed_text = (
        "conversion_id,campaign_id,publisher_id,conversion_date,conversion_date_time,click_time,"
        "click_date,click_date_time,currency,advertiser_reference,conversion_reference,"
        "referer_ip,source_referer,campaign_title,publisher_name,conversion_status,"
        "conversion_lag,value,commission,publisher_commission,creative_type,creative_id,"
        "specific_creative_id,customer_type,was_disputed,cookie_id,country,currency_original,"
        "currency_conversion_rate,conversion_item_id,sku,category,item_value,item_commission,"
        "item_publisher_commission,item_status,item_status_id,reject_reason,last_update,"
        "voucher_codes,customer_reference,camref,invoice_id,meta_item_cabin_code,"
        "meta_item_departure_date,meta_item_dest,meta_item_device,meta_item_origin,"
        "meta_item_passenger,meta_item_payment_method,meta_item_product_ids,"
        "meta_item_return_date"
    )
    seed_header = seed_text.split(",")
    assert header == seed_header == ITEM_COLUMNS
    assert [r["conversion_item_id"] for r in rows] == ["cnv_csv01-0", "cnv_csv01-1"]
    first, second = rows
    assert {k: first[k] for k in ("conversion_id", "value", "item_value", "item_commission",
                                  "item_status", "item_status_id", "voucher_codes", "sku",
                                  "category", "referer_ip", "conversion_lag",
                                  "meta_item_cabin_code", "meta_item_origin",
                                  "meta_item_passenger", "last_update")} == {
        "conversion_id": "cnv_csv01", "value": "12.50", "item_value": "10.00",
        "item_commission": "1.00", "item_status": "approved", "item_status_id": "2",
        "voucher_codes": "SPRING10,VIP", "sku": "SKU-1", "category": "Shoes",
        "referer_ip": "192.0.2.7", "conversion_lag": "600", "meta_item_cabin_code": "Y",
        "meta_item_origin": "JFK", "meta_item_passenger": "", "last_update": "2025-01-10 09:10:00",
    }  # fmt: skip
    # formula-looking cells are neutralised, as in every export
    assert first["meta_item_dest"] == "'@LHR" and first["customer_reference"] == "'=HYPERLINK(1)"
    assert (second["item_status"], second["item_status_id"], second["reject_reason"]) == (
        "rejected", "3", "returned",
    )  # fmt: skip
    assert second["conversion_reference"] == "ORDER-7" and second["invoice_id"] == ""
    # and the guards of the other exports apply
    anon = await client.get("/export/conversion-items.csv", params=WINDOW)
    assert anon.status == 401
    app = await client.get("/export/conversion-items.csv", params=WINDOW,
                           headers=world.a_app.headers)  # fmt: skip
    assert app.status == 403
    other = await client.get("/export/conversion-items.csv",
                             params={**WINDOW, "partnerId": world.partner_b},
                             headers=world.a_owner.headers)  # fmt: skip
    assert other.status == 404
    _, b_rows = await _csv(client, WINDOW, world.b_owner.headers)
    assert [r["publisher_id"] for r in b_rows] == [world.partner_b]


# --- the seed's export filters: conversion id and conversion metric ---------------------------

BY_ID_AND_METRIC = """
query F($id: ID, $metrics: [ID!]) {
  conversions(from: "2025-01-01T00:00:00+00:00", conversionId: $id,
              conversionMetricIds: $metrics) { totalCount edges { node { id } } }
  conversionItems(from: "2025-01-01T00:00:00+00:00", conversionId: $id,
                  conversionMetricIds: $metrics) { totalCount }
}"""


async def test_conversion_id_and_metric_filters(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database
) -> None:
    # given A's sale and lead (a lead campaign), and B's sale
    cat = await catalogue(db)
    await db.affiliate_campaigns.update_one(
        {"_id": cat.auto["_id"]}, {"$set": {"tracking": {"conversion_type": "lead"}}}
    )
    leads = await db.affiliate_campaigns.find_one({"_id": cat.auto["_id"]})
    assert leads is not None
    day = datetime(2025, 1, 5, tzinfo=UTC)
    for pid, camp, cid in ((world.partner_a, cat.open, "cnv_filter-sale"),
                           (world.partner_a, leads, "cnv_filter-lead"),
                           (world.partner_b, cat.open, "cnv_filter-bsale")):  # fmt: skip
        await data.insert_conversion(db, data.conversion_doc(
            pid, camp, day, currency="GBP", status="approved", conversion_id=cid,
            items=[{"value": 100, "commission": 1}, {"value": 50, "commission": 1}],
        ))  # fmt: skip
    # when A filters by id or by metric (2 Standard, 4 Lead)
    async def ids(**variables: Any) -> tuple[list[str], int]:
        body = await gql(BY_ID_AND_METRIC, variables, as_=world.a_analyst)
        assert "errors" not in body, body
        conv = body["data"]["conversions"]
        return [e["node"]["id"] for e in conv["edges"]], body["data"]["conversionItems"][
            "totalCount"]  # fmt: skip

    # then each narrows to exactly the matching rows of A (B's sale of that id is not A's)
    assert await ids(id="cnv_filter-lead") == (["cnv_filter-lead"], 2)
    assert await ids(id="cnv_filter-bsale") == ([], 0)
    assert await ids(metrics=["4"]) == (["cnv_filter-lead"], 2)
    assert await ids(metrics=["2"]) == (["cnv_filter-sale"], 2)
    assert sorted((await ids(metrics=["2", "4"]))[0]) == ["cnv_filter-lead", "cnv_filter-sale"]
    # bad values are refused on their argument
    for variables, field in (({"id": "clk_x1234567"}, "conversionId"),
                             ({"metrics": ["99"]}, "conversionMetricIds")):  # fmt: skip
        body = await gql(BY_ID_AND_METRIC, variables, as_=world.a_analyst)
        assert "BAD_USER_INPUT" in error_codes(body)
        assert {e["extensions"].get("field") for e in body["errors"]} == {field}
    # and the CSV exports take them as query parameters
    _, rows = await _csv(client, {"from": WINDOW["from"], "conversionMetricId": "4"},
                         world.a_owner.headers)  # fmt: skip
    assert {r["conversion_id"] for r in rows} == {"cnv_filter-lead"} and len(rows) == 2
    response = await client.get("/export/conversions.csv",
                                params={"from": WINDOW["from"], "conversionId": "cnv_filter-sale"},
                                headers=world.a_owner.headers)  # fmt: skip
    assert [r["conversion_id"] for r in csv.DictReader(io.StringIO(await response.text()))] == [
        "cnv_filter-sale"
    ]
    response = await client.get("/export/conversions.csv",
                                params={"conversionMetricId": "x"}, headers=world.a_owner.headers)
    assert response.status == 400 and "conversionMetricIds" in await response.text()
