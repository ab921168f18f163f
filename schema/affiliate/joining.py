"""Joining campaigns: versioned campaign terms and their acknowledgements, requests to join
several campaigns with the terms accepted, and invitations (list, accept, decline).

Batch mutations follow the seed's `success_count` / `failure_count`: malformed input
rejects the whole call (BAD_USER_INPUT); each campaign then succeeds or fails on its own,
with the failure's public code, message and field."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import joining
from loaders.base import from_epoch_ms
from resolvers.affiliate import joining as resolve
from schema.affiliate.common import READ, WRITE
from schema.affiliate.types import Brand, Campaign, Participation, _campaign
from schema.connection import Connection
from schema.permissions import OPERATOR, allow


@strawberry.type(description="One version of a campaign's terms and conditions.")
class CampaignTerms:
    id: strawberry.ID = strawberry.field(description="Terms id (`trm_…`): what a request accepts.")
    version: int = strawberry.field(description="Version within its campaign and locale (1..).")
    locale: str = strawberry.field(description="Locale of the text.")
    title: str = strawberry.field(description="Title.")
    content: str = strawberry.field(description="The terms (HTML as the brand wrote it).")
    created_at: datetime = strawberry.field(description="When this version was published.")
    campaign_id: strawberry.Private[str]
    viewer: strawberry.Private[str | None]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, self.viewer or "")

    @strawberry.field(
        description="When the partner acknowledged this version (null: not yet; operators "
        "naming no partner: null)."
    )
    async def acknowledged_at(self, info: Info) -> datetime | None:
        if self.viewer is None:
            return None
        doc = await info.context.loaders.get(joining.AckByPartnerTermsLoader).load(
            (self.viewer, str(self.id))
        )
        return from_epoch_ms(doc["created_ms"]) if doc else None

    @classmethod
    def from_doc(cls, doc: Document, viewer: str | None) -> CampaignTerms:
        return cls(
            id=strawberry.ID(doc["_id"]), version=int(doc["version"]), locale=doc["locale"],
            title=doc["title"], content=doc["content"], created_at=doc["created_at"],
            campaign_id=doc["campaign_id"], viewer=viewer,
        )  # fmt: skip


@strawberry.type(description="A partner's acknowledgement of one terms version.")
class TermsAcknowledgement:
    id: strawberry.ID = strawberry.field(description="Acknowledgement id (`tak_…`).")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    terms_id: strawberry.ID = strawberry.field(description="The terms version.")
    created_at: datetime = strawberry.field(description="When.")
    created_by: str = strawberry.field(description="Staff id who acknowledged (or operator).")

    @strawberry.field(description="The terms version.")
    async def terms(self, info: Info) -> CampaignTerms | None:
        doc = await info.context.loaders.get(joining.TermsByIdLoader).load(str(self.terms_id))
        return CampaignTerms.from_doc(doc, str(self.partner_id)) if doc else None

    @classmethod
    def from_doc(cls, doc: Document) -> TermsAcknowledgement:
        return cls(
            id=strawberry.ID(doc["_id"]), partner_id=strawberry.ID(doc["partner_id"]),
            terms_id=strawberry.ID(doc["terms_id"]), created_at=doc["created_at"],
            created_by=doc["created_by"],
        )  # fmt: skip


@strawberry.enum(description="Where an invitation is.")
class InvitationStatus(Enum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"


@strawberry.type(description="A brand's invitation for the partner to join a campaign.")
class CampaignInvitation:
    id: strawberry.ID = strawberry.field(description="Invitation id (`inv_…`).")
    status: InvitationStatus = strawberry.field(description="OPEN, ACCEPTED or DECLINED.")
    created_at: datetime = strawberry.field(description="When the partner was invited.")
    decided_at: datetime | None = strawberry.field(description="When it was decided.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    campaign_id: strawberry.Private[str]
    brand_id: strawberry.Private[str]

    @strawberry.field(description="The campaign.")
    async def campaign(self, info: Info) -> Campaign | None:
        return await _campaign(info, self.campaign_id, str(self.partner_id))

    @strawberry.field(description="The brand inviting.")
    async def brand(self, info: Info) -> Brand | None:
        doc = await info.context.loaders.get(data.BrandByIdLoader).load(self.brand_id)
        return Brand.from_doc(doc) if doc else None

    @classmethod
    def from_doc(cls, doc: Document) -> CampaignInvitation:
        return cls(
            id=strawberry.ID(doc["_id"]), status=InvitationStatus(doc["status"]),
            created_at=doc["created_at"],
            decided_at=from_epoch_ms(doc["decided_ms"]) if doc.get("decided_ms") else None,
            partner_id=strawberry.ID(doc["partner_id"]), campaign_id=doc["campaign_id"],
            brand_id=doc["brand_id"],
        )  # fmt: skip


@strawberry.type(description="Why one campaign of a batch failed.")
class CampaignFailure:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    code: str = strawberry.field(description="NOT_FOUND, CONFLICT or BAD_USER_INPUT.")
    message: str = strawberry.field(description="What went wrong.")
    field: str | None = strawberry.field(description="The input field at fault.")


def _failures(outcomes: list[resolve.Outcome]) -> list[CampaignFailure]:
    return [
        CampaignFailure(campaign_id=strawberry.ID(o.campaign_id), code=o.error.code,
                        message=o.error.message, field=o.error.extensions.get("field"))
        for o in outcomes if o.error is not None
    ]  # fmt: skip


@strawberry.type(description="Outcome of asking to join several campaigns.")
class ParticipationRequestResult:
    success_count: int = strawberry.field(description="Campaigns asked for.")
    failure_count: int = strawberry.field(description="Campaigns that failed.")
    participations: list[Participation] = strawberry.field(description="The requests made.")
    failures: list[CampaignFailure] = strawberry.field(description="What failed, and why.")


@strawberry.type(description="Outcome of accepting or declining invitations.")
class InvitationDecisionResult:
    success_count: int = strawberry.field(description="Invitations decided.")
    failure_count: int = strawberry.field(description="Campaigns that failed.")
    invitations: list[CampaignInvitation] = strawberry.field(description="Those decided.")
    failures: list[CampaignFailure] = strawberry.field(description="What failed, and why.")


@strawberry.input(description="One campaign to join, and the terms version accepted.")
class CampaignRequestInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    terms_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Its terms in force (`Campaign.currentTerms.id`), if it has terms.",
    )


async def current_terms(info: Info, campaign: Document, viewer: str | None,
                        locale: str | None) -> CampaignTerms | None:  # fmt: skip
    versions = await info.context.loaders.get(joining.TermsByCampaignLoader).load(campaign["_id"])
    doc = joining.current_terms(versions, locale)
    return CampaignTerms.from_doc(doc, viewer) if doc else None


@strawberry.type
class Query:
    @strawberry.field(description="Campaign terms versions, newest first.", extensions=READ)
    async def campaign_terms(
        self, info: Info, campaign_id: strawberry.ID | None = None, locale: str | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[CampaignTerms]:  # fmt: skip
        page = await resolve.terms(info, campaign_id, locale, first, after)
        viewer = info.context.principal.partner_id
        return Connection.of(page, lambda d: CampaignTerms.from_doc(d, viewer))

    @strawberry.field(description="The partner's terms acknowledgements.", extensions=READ)
    async def terms_acknowledgements(
        self, info: Info, partner_id: strawberry.ID | None = None,
        campaign_id: strawberry.ID | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[TermsAcknowledgement]:  # fmt: skip
        page = await resolve.acknowledgements(info, partner_id, campaign_id, first, after)
        return Connection.of(page, TermsAcknowledgement.from_doc)

    @strawberry.field(description="Invitations to the partner, newest first.", extensions=READ)
    async def campaign_invitations(
        self, info: Info, partner_id: strawberry.ID | None = None,
        statuses: list[InvitationStatus] | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[CampaignInvitation]:  # fmt: skip
        page = await resolve.invitations(info, partner_id, [s.value for s in statuses or []],
                                         first, after)  # fmt: skip
        return Connection.of(page, CampaignInvitation.from_doc)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Publish a new version of a campaign's terms (operator).",
                         extensions=allow(OPERATOR))  # fmt: skip
    async def create_campaign_terms(
        self, info: Info, campaign_id: strawberry.ID, title: str, content: str,
        locale: str = "en",
    ) -> CampaignTerms:  # fmt: skip
        doc = await resolve.create_terms(info, campaign_id, locale, title, content)
        return CampaignTerms.from_doc(doc, None)

    @strawberry.mutation(description="Acknowledge a terms version; twice is CONFLICT.",
                         extensions=WRITE)  # fmt: skip
    async def acknowledge_campaign_terms(
        self, info: Info, terms_id: strawberry.ID, partner_id: strawberry.ID | None = None
    ) -> TermsAcknowledgement:
        return TermsAcknowledgement.from_doc(await resolve.acknowledge(info, partner_id, terms_id))

    @strawberry.mutation(
        description="Ask to join several campaigns (1..50); a campaign with terms needs the "
        "id of its terms in force, which is then acknowledged.",
        extensions=WRITE,
    )
    async def request_campaign_participations(
        self, info: Info, requests: list[CampaignRequestInput],
        partner_id: strawberry.ID | None = None,
    ) -> ParticipationRequestResult:  # fmt: skip
        outcomes = await resolve.request_participations(
            info, partner_id, [(r.campaign_id, r.terms_id) for r in requests]
        )
        made = [Participation.from_doc(o.doc) for o in outcomes if o.doc is not None]
        failures = _failures(outcomes)
        return ParticipationRequestResult(success_count=len(made), failure_count=len(failures),
                                          participations=made, failures=failures)  # fmt: skip

    @strawberry.mutation(description="Invite a partner to a campaign (operator).",
                         extensions=allow(OPERATOR))  # fmt: skip
    async def invite_to_campaign(
        self, info: Info, campaign_id: strawberry.ID, partner_id: strawberry.ID
    ) -> CampaignInvitation:
        return CampaignInvitation.from_doc(await resolve.invite(info, campaign_id, partner_id))

    @strawberry.mutation(
        description="Accept open invitations (1..50 campaigns): each joins, APPROVED.",
        extensions=WRITE,
    )
    async def accept_campaign_invitations(
        self, info: Info, campaign_ids: list[strawberry.ID],
        partner_id: strawberry.ID | None = None,
    ) -> InvitationDecisionResult:  # fmt: skip
        return _decided(await resolve.decide_invitations(info, partner_id, campaign_ids, True))

    @strawberry.mutation(description="Decline open invitations (1..50 campaigns).",
                         extensions=WRITE)  # fmt: skip
    async def decline_campaign_invitations(
        self, info: Info, campaign_ids: list[strawberry.ID],
        partner_id: strawberry.ID | None = None,
    ) -> InvitationDecisionResult:  # fmt: skip
        return _decided(await resolve.decide_invitations(info, partner_id, campaign_ids, False))


def _decided(outcomes: list[resolve.Outcome]) -> InvitationDecisionResult:
    done = [CampaignInvitation.from_doc(o.doc) for o in outcomes if o.doc is not None]
    failures = _failures(outcomes)
    return InvitationDecisionResult(success_count=len(done), failure_count=len(failures),
                                    invitations=done, failures=failures)  # fmt: skip
