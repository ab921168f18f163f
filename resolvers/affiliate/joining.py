"""Joining campaigns: terms versions (operator publishes, partners acknowledge), requests
to join several campaigns with the terms they accept, and invitations."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from pymongo.errors import DuplicateKeyError

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, GatewayError, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import joining
from loaders.base import Page, epoch_ms, utcnow
from resolvers.affiliate.campaigns import campaign as load_campaign
from resolvers.affiliate.common import partner_for

MAX_BATCH = 50


@dataclass
class Outcome:
    """One campaign of a batch: the document made, or why not."""

    campaign_id: str
    doc: Document | None = None
    error: GatewayError | None = None


async def create_terms(
    info: Info, campaign_id: str, locale: str, title: str, content: str
) -> Document:
    loc = data.validate_locale(locale, field="locale")
    head = data.validate_text(title, "title", 160, required=True)
    body = content.strip()
    if not body or len(body) > 50_000 or "\x00" in body:
        raise BadUserInput("1..50,000 characters", field="content")
    campaign = await load_campaign(info, campaign_id)
    doc = await joining.insert_terms(info.context.db, campaign["_id"], loc, head, body)
    info.context.loaders.get(joining.TermsByCampaignLoader).clear(campaign["_id"])
    return doc


async def terms(
    info: Info, campaign_id: str | None, locale: str | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    info.context.scope.tenant()  # staff bound to a partner, or an operator
    cid = parse_id(campaign_id, "cmp", "campaignId") if campaign_id else None
    loc = data.validate_locale(locale, field="locale") if locale else None
    return await joining.list_terms(info.context.db, cid, loc, first, after)


async def acknowledge(info: Info, partner_id: str | None, terms_id: str) -> Document:
    pid = partner_for(info.context.scope, partner_id)
    tid = parse_id(terms_id, "trm", "termsId")
    doc = await info.context.db.affiliate_terms.find_one({"_id": tid})
    if doc is None:
        raise NotFound("Terms not found.", field="termsId")
    try:
        return await joining.insert_ack(info.context.db, pid, doc, _actor(info))
    except DuplicateKeyError:
        raise Conflict("These terms are already acknowledged.", field="termsId") from None


def _actor(info: Info) -> str:
    return str(info.context.principal.subject_id or "operator")


async def acknowledgements(
    info: Info, partner_id: str | None, campaign_id: str | None, first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    pid = partner_for(info.context.scope, partner_id)
    cid = parse_id(campaign_id, "cmp", "campaignId") if campaign_id else None
    return await joining.list_acks(info.context.db, info.context.scope, pid, cid, first, after)


def _batch(campaign_ids: Sequence[str], field: str) -> list[str]:
    if not 1 <= len(campaign_ids) <= MAX_BATCH:
        raise BadUserInput(f"1 to {MAX_BATCH} campaigns", field=field)
    ids = [parse_id(c, "cmp", field) for c in campaign_ids]
    if len(set(ids)) != len(ids):
        raise BadUserInput("a campaign is named twice", field=field)
    return ids


async def request_participations(
    info: Info, partner_id: str | None, requests: Sequence[tuple[str, str | None]]
) -> list[Outcome]:
    """Ask to join several campaigns; each needs the id of its terms in force when it has
    custom terms. Bad input rejects the whole call; per-campaign outcomes otherwise."""
    pid = partner_for(info.context.scope, partner_id)
    ids = _batch([c for c, _ in requests], "requests")
    wanted = {
        cid: parse_id(t, "trm", "termsId") if t else None
        for cid, (_, t) in zip(ids, requests, strict=True)
    }
    if await info.context.db.partners.count_documents({"_id": pid}) == 0:
        raise NotFound("Partner not found.", field="partnerId")
    campaigns = await info.context.loaders.get(data.CampaignByIdLoader).load_many(ids)
    versions = await info.context.loaders.get(joining.TermsByCampaignLoader).load_many(ids)
    outcomes: list[Outcome] = []
    for cid, campaign, history in zip(ids, campaigns, versions, strict=True):
        outcomes.append(await _request_one(info, pid, cid, campaign, history, wanted[cid]))
    return outcomes


async def _request_one(
    info: Info, pid: str, cid: str, campaign: Document | None, history: list[Document],
    terms_id: str | None,
) -> Outcome:  # fmt: skip
    db = info.context.db
    if campaign is None:
        return Outcome(cid, error=NotFound("Campaign not found.", field="campaignId"))
    if campaign["status"] != "active":
        return Outcome(cid, error=Conflict("The campaign is not accepting partners.",
                                           field="campaignId"))  # fmt: skip
    if history or campaign.get("custom_terms"):
        if not history:
            return Outcome(
                cid,
                error=BadUserInput(
                    "the campaign's terms are not published as a version yet", field="termsId"
                ),
            )
        if terms_id not in joining.in_force(history):
            return Outcome(cid, error=BadUserInput(
                "accept the campaign's terms in force (see Campaign.currentTerms)",
                field="termsId"))  # fmt: skip
    elif terms_id is not None:
        return Outcome(cid, error=BadUserInput("this campaign has no terms to accept",
                                               field="termsId"))  # fmt: skip
    try:
        doc = await data.insert_participation(db, pid, campaign, terms_id is not None)
    except DuplicateKeyError:
        return Outcome(cid, error=Conflict("Participation already requested.",
                                           field="campaignId"))  # fmt: skip
    if terms_id is not None:
        accepted = next(t for t in history if t["_id"] == terms_id)
        with contextlib.suppress(DuplicateKeyError):  # acknowledged before: it stands
            await joining.insert_ack(db, pid, accepted, _actor(info))
    return Outcome(cid, doc=doc)


# --- invitations ---------------------------------------------------------------------


async def invite(info: Info, campaign_id: str, partner_id: str) -> Document:
    pid = parse_id(partner_id, "par", "partnerId")
    campaign = await load_campaign(info, campaign_id)
    if campaign["status"] == "ended":
        raise Conflict("The campaign has ended.", field="campaignId")
    db = info.context.db
    if await db.partners.count_documents({"_id": pid}) == 0:
        raise NotFound("Partner not found.", field="partnerId")
    if await data.participation_status(db, pid, campaign["_id"]) is not None:
        raise Conflict("The partner already takes part.", field="partnerId")
    try:
        return await joining.insert_invitation(db, pid, campaign)
    except DuplicateKeyError:
        raise Conflict("The partner was invited already.", field="partnerId") from None


async def decide_invitations(
    info: Info, partner_id: str | None, campaign_ids: Sequence[str], accept: bool
) -> list[Outcome]:
    """Accept (join, approved) or decline open invitations, per campaign."""
    pid = partner_for(info.context.scope, partner_id)
    ids = _batch(campaign_ids, "campaignIds")
    db = info.context.db
    open_ = await joining.open_invitations(db, pid, ids)
    outcomes: list[Outcome] = []
    for cid in ids:
        invitation = open_.get(cid)
        if invitation is None:
            outcomes.append(Outcome(cid, error=NotFound("No open invitation to this campaign.",
                                                        field="campaignIds")))  # fmt: skip
            continue
        status = "accepted" if accept else "declined"
        decided = await joining.decide_invitation(db, invitation, status)
        if decided is None:
            outcomes.append(Outcome(cid, error=Conflict("The invitation was decided meanwhile.",
                                                        field="campaignIds")))  # fmt: skip
            continue
        if accept:
            await _join_invited(info, pid, cid)
        outcomes.append(Outcome(cid, doc=decided))
    return outcomes


async def _join_invited(info: Info, pid: str, cid: str) -> None:
    # The brand asked the partner in: accepting approves at once.
    db = info.context.db
    campaign = await info.context.loaders.get(data.CampaignByIdLoader).load(cid)
    if campaign is None:
        return
    with contextlib.suppress(DuplicateKeyError):  # it had asked: the invitation approves it
        await data.insert_participation(db, pid, campaign, False)
    await db.affiliate_participations.update_one(
        {"partner_id": pid, "campaign_id": cid},
        # epoch ms, not a datetime: `$set` datetimes break on the embedded store (README)
        {"$set": {"status": "approved", "decided_ms": epoch_ms(utcnow()), "invited": True}},
    )


async def invitations(
    info: Info, partner_id: str | None, statuses: Sequence[str], first: int | None,
    after: str | None,
) -> Page:  # fmt: skip
    pid = partner_for(info.context.scope, partner_id)
    return await joining.list_invitations(info.context.db, info.context.scope, pid, statuses,
                                          first, after)  # fmt: skip
