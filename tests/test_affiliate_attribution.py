"""Analytics dimensions that used to be constants, now from stored facts, checked against a
Python oracle: partnership model (the campaign's commission model), traffic source (the
link's `utm_medium`), conversion type / metric (the campaign's tracked conversion type),
voucher code and status (the basket's code against the campaign's codes). Events go
through the real paths: `GET /t/{linkId}` and `recordConversion`."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.storage.mongo import Database, Document
from loaders.affiliate import commissions as com
from loaders.affiliate import promotion
from loaders.base import epoch_ms, utcnow
from tests.affiliate_fixtures import approve, campaign, catalogue
from tests.conftest import GraphQL, World
from tests.test_affiliate_tracking import DESKTOP, visit

CREATE_LINK = """
mutation Create($input: CreateTrackingLinkInput!) { createTrackingLink(input: $input) { id } }"""
RECORD = """
mutation Conv($input: RecordConversionInput!) { recordConversion(input: $input) { id } }"""
EXPLODE = """
query A($metrics: [String!]!, $groupBy: [String!]) {
  partnerAnalytics(shape: EXPLODE, metrics: $metrics, groupBy: $groupBy, textDate: "today",
                   timezone: "UTC") {
    rows { dimensions { name value label } metrics { name value } }
  }
}"""
CONVERSION_DIMS = ["partnership_model", "traffic_source", "user_context", "conversion_type",
                   "conversion_metric", "voucher_code", "voucher_status", "type"]  # fmt: skip
MEDIUMS = {None: "3", "social": "4", "email": "5", "display": "2", "newsletter": "3"}


def _status(code: str, codes: dict[str, dict[str, Any]], partner: str, now_ms: int) -> str:
    # the oracle's reading of the rules, written independently of the implementation
    doc = codes.get(code.lower())
    if doc is None:
        return "unknown"
    if doc["end_ms"] <= now_ms:
        return "expired"
    if not doc["active"] or doc["start_ms"] > now_ms:
        return "invalid"
    if doc["partner_ids"] and partner not in doc["partner_ids"]:
        return "invalid"
    return "valid"


async def _explode(gql: GraphQL, world: World, metric: str, dims: list[str]) -> Counter[tuple]:
    body = await gql(EXPLODE, {"metrics": [metric], "groupBy": dims}, as_=world.a_analyst)
    assert "errors" not in body, body
    out: Counter[tuple] = Counter()
    for row in body["data"]["partnerAnalytics"]["rows"]:
        key = tuple(d["value"] for d in row["dimensions"])
        out[key] += int(row["metrics"][0]["value"])
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_attribution_dimensions_match_an_oracle(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database, seed: int
) -> None:
    rng = random.Random(seed)
    now_ms = epoch_ms(utcnow())
    # given campaigns with different commission models and conversion types, each with codes
    cat = await catalogue(db)
    camps: list[Document] = [cat.open]
    for i in range(2):
        camps.append(await campaign(db, cat.brand, f"Extra {i}"))
    codes: dict[str, dict[str, dict[str, Any]]] = {}
    for camp in camps:
        model = rng.choice(com.MODELS)
        kind = rng.choice(("sale", "lead"))
        await db.affiliate_campaigns.update_one({"_id": camp["_id"]}, {"$set": {
            "default_commission": {"model": model, "rate_ppm": 50_000, "amount": 100},
            "tracking": {"conversion_type": kind}}})  # fmt: skip
        camp.update(model=model, kind=kind)
        codes[camp["_id"]] = {}
        for code, extra in (
            ("OPEN", {}), ("OLD", {"end_ms": now_ms - 1000}),
            ("LATER", {"start_ms": now_ms + 86_400_000}), ("OFF", {"active": False}),
            ("BONLY", {"partner_ids": [world.partner_b]}),
        ):
            fields = {"campaign_id": camp["_id"], "code": f"{code}{camp['_id'][-4:]}",
                      "description": "", "start_ms": 0, "end_ms": com.OPEN_END_MS,
                      "partner_ids": [], "active": True, **extra}  # fmt: skip
            await promotion.insert(db, "voucher", fields)
            codes[camp["_id"]][fields["code"].lower()] = fields
        for pid in (world.partner_a, world.partner_b):
            await approve(db, pid, camp)
    # and links of both partners with various utm_medium
    links: list[tuple[str, Document, str | None]] = []
    for persona in (world.a_owner, world.b_owner):
        for _ in range(rng.randint(2, 4)):
            camp = rng.choice(camps)
            medium = rng.choice(list(MEDIUMS))
            params = [{"key": "utm_medium", "value": medium}] if medium else []
            body = await gql(CREATE_LINK, {"input": {"campaignId": camp["_id"],
                                                     "params": params}}, as_=persona)  # fmt: skip
            links.append((body["data"]["createTrackingLink"]["id"], camp, medium))
    by_id = {c["_id"]: c for c in camps}
    # when visitors follow the links and some clicks (and some without a click) convert
    clicks: Counter[tuple] = Counter()
    sales: Counter[tuple] = Counter()
    for n in range(rng.randint(6, 14)):
        link_id, camp, medium = rng.choice(links)
        await visit(client, f"/t/{link_id}", ua=DESKTOP, cookie=f"ck_attr{seed}x{n:06d}")
        stored = await db.affiliate_clicks.find_one({"cookie_id": f"ck_attr{seed}x{n:06d}"})
        assert stored is not None
        pid = stored["partner_id"]
        model = "3" if camp["model"] == "cpc" else "2"
        source = MEDIUMS[medium]
        if pid == world.partner_a:
            clicks[(model, source)] += 1
        for with_click in (True, False):
            if rng.random() < 0.5:
                continue
            code = rng.choice([None, *(f"{c}{camp['_id'][-4:]}" for c in
                                       ("OPEN", "OLD", "LATER", "OFF", "BONLY")), "NOPE"])
            item: dict[str, Any] = {"value": 100, "commission": 5}
            if code:
                item["voucherCodes"] = [code.lower() if rng.random() < 0.3 else code]
            body = await gql(RECORD, {"input": {
                "partnerId": pid, "campaignId": camp["_id"], "currency": "GBP",
                "items": [item], **({"clickId": stored["_id"]} if with_click else {}),
            }}, as_=world.operator)  # fmt: skip
            assert "errors" not in body, body
            if pid != world.partner_a:
                continue
            type_id, metric_id = ("1", "2") if by_id[camp["_id"]]["kind"] == "sale" else ("2", "4")
            used = item.get("voucherCodes", [""])[0]
            sales[(model, source if with_click else "3", "2", type_id, metric_id, used,
                   _status(used, codes[camp["_id"]], pid, now_ms) if used else "",
                   "standard")] += 1  # fmt: skip
    # then analytics groups A's clicks and sales exactly as the oracle
    assert await _explode(gql, world, "total_clicks",
                          ["partnership_model", "traffic_source"]) == clicks  # fmt: skip
    assert await _explode(gql, world, "total_conversions", CONVERSION_DIMS) == sales


async def test_attribution_labels_come_from_the_reference_lists(
    gql: GraphQL, client: TestClient[Any, Any], world: World, db: Database
) -> None:
    # given a CPC campaign tracking leads, and a social link of A on it
    cat = await catalogue(db)
    await db.affiliate_campaigns.update_one({"_id": cat.open["_id"]}, {"$set": {
        "default_commission": {"model": "cpc", "amount": 20},
        "tracking": {"conversion_type": "lead"}}})  # fmt: skip
    await approve(db, world.partner_a, cat.open)
    body = await gql(CREATE_LINK, {"input": {"campaignId": cat.open["_id"], "params": [
        {"key": "utm_medium", "value": "Social"}]}}, as_=world.a_owner)  # fmt: skip
    link_id = body["data"]["createTrackingLink"]["id"]
    await visit(client, f"/t/{link_id}", ua=DESKTOP)
    click = await db.affiliate_clicks.find_one({"link_id": link_id})
    assert click is not None
    await gql(RECORD, {"input": {"partnerId": world.partner_a, "campaignId": cat.open["_id"],
                                 "currency": "GBP", "clickId": click["_id"],
                                 "items": [{"value": 1, "commission": 0}]}},
              as_=world.operator)  # fmt: skip
    # when A groups its leads by the reference dimensions
    body = await gql(EXPLODE, {"metrics": ["total_conversions"], "groupBy": [
        "partnership_model", "traffic_source", "conversion_type", "conversion_metric"]},
        as_=world.a_analyst)  # fmt: skip
    [row] = body["data"]["partnerAnalytics"]["rows"]
    # then values and labels are the reference entries
    assert [(d["value"], d["label"]) for d in row["dimensions"]] == [
        ("3", "CPC"), ("4", "Social"), ("2", "lead"), ("4", "Lead"),
    ]
