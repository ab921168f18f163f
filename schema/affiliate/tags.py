"""Partnerize Tags (seed 001): list (partner-scoped), one by id with its enabled features,
create, rename / (de)activate, the feature catalogue, and enabling / disabling a feature."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.context import Info
from gateway.storage.mongo import Document
from loaders.affiliate import tags as data
from loaders.base import from_epoch_ms
from resolvers.affiliate import tags as resolve
from resolvers.affiliate.common import partner_for
from schema.affiliate.common import PARTNER_ID_HELP, READ, WRITE
from schema.connection import Connection


@strawberry.type(description="One setting of a feature on a tag.")
class PartnerTagSetting:
    key: str = strawberry.field(description="Setting name (one the feature declares).")
    value: str = strawberry.field(description="Setting value.")


@strawberry.input(description="One setting of a feature on a tag.")
class PartnerTagSettingInput:
    key: str = strawberry.field(description="A key the feature lists in `configKeys`.")
    value: str = strawberry.field(description="Up to 1,000 printable characters.")


@strawberry.type(description="A feature a Partnerize Tag can serve (the catalogue).")
class PartnerTagFeature:
    name: str = strawberry.field(description="Feature name, e.g. `tracking-link-generation`.")
    description: str = strawberry.field(description="What it does.")
    config_keys: list[str] = strawberry.field(
        description="The settings it accepts (the seed's `config_schema`)."
    )

    @classmethod
    def of(cls, feature: data.TagFeature) -> PartnerTagFeature:
        return cls(name=feature.name, description=feature.description,
                   config_keys=list(feature.config_keys))  # fmt: skip


@strawberry.type(description="A feature enabled on a tag, with its settings.")
class PartnerTagEnabledFeature:
    name: str = strawberry.field(description="Feature name.")
    description: str = strawberry.field(description="What it does.")
    config: list[PartnerTagSetting] = strawberry.field(description="Its settings (may be none).")


@strawberry.type(description="A Partnerize Tag: a script tag the partner embeds once.")
class PartnerTag:
    id: strawberry.ID = strawberry.field(description="Tag id (`ptg_…`).")
    partner_id: strawberry.ID = strawberry.field(description="The partner (seed `scope.partner`).")
    name: str = strawberry.field(description="Name, 1..255 characters.")
    active: bool = strawberry.field(description="Serving (seed `active`).")
    created_at: datetime = strawberry.field(description="When it was generated.")
    created_by: str = strawberry.field(description="Who generated it (user id or `operator`).")
    last_modified_at: datetime = strawberry.field(description="Last change.")
    last_modified_by: str = strawberry.field(description="Who changed it last.")
    features: list[PartnerTagEnabledFeature] = strawberry.field(
        description="The features enabled on it, in the order they were enabled."
    )

    @classmethod
    def from_doc(cls, doc: Document) -> PartnerTag:
        features = [
            PartnerTagEnabledFeature(
                name=f["name"],
                description=getattr(data.FEATURES_BY_NAME.get(f["name"]), "description", ""),
                config=[PartnerTagSetting(key=c["key"], value=c["value"]) for c in f["config"]],
            )
            for f in doc.get("features", [])
        ]
        return cls(
            id=strawberry.ID(doc["_id"]), partner_id=strawberry.ID(doc["partner_id"]),
            name=doc["name"], active=bool(doc["active"]), created_at=doc["created_at"],
            created_by=doc["created_by"],
            last_modified_at=from_epoch_ms(doc.get("updated_ms")) or doc["created_at"],
            last_modified_by=str(doc.get("updated_by") or doc["created_by"]), features=features,
        )  # fmt: skip


@strawberry.type
class Query:
    @strawberry.field(description="The partner's Partnerize Tags, by id.", extensions=READ)
    async def partner_tags(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        active: bool | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PartnerTag]:
        pid = partner_for(info.context.scope, partner_id)
        ctx = info.context
        page = await data.list_tags(ctx.db, ctx.scope, pid, active, first, after)
        return Connection.of(page, PartnerTag.from_doc)

    @strawberry.field(description="One of the partner's Partnerize Tags.", extensions=READ)
    async def partner_tag(self, info: Info, id: strawberry.ID) -> PartnerTag:
        return PartnerTag.from_doc(await resolve.tag(info, id))

    @strawberry.field(description="The features a tag can serve.", extensions=READ)
    def partner_tag_features(self) -> list[PartnerTagFeature]:
        return [PartnerTagFeature.of(f) for f in data.FEATURES]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Generate a Partnerize Tag (active, no features). " + PARTNER_ID_HELP,
        extensions=WRITE,
    )
    async def create_partner_tag(
        self, info: Info, name: str, partner_id: strawberry.ID | None = None
    ) -> PartnerTag:
        return PartnerTag.from_doc(await resolve.create_tag(info, partner_id, name))

    @strawberry.mutation(
        description="Rename and/or (de)activate a tag; omitted fields stay.", extensions=WRITE
    )
    async def update_partner_tag(
        self,
        info: Info,
        id: strawberry.ID,
        name: str | None = strawberry.UNSET,
        active: bool | None = strawberry.UNSET,
    ) -> PartnerTag:
        pairs = (("name", name), ("active", active))
        fields = {k: v for k, v in pairs if v is not strawberry.UNSET}
        return PartnerTag.from_doc(await resolve.update_tag(info, id, fields))

    @strawberry.mutation(
        description="Enable a catalogue feature on a tag; enabling it again replaces its "
        "settings.",
        extensions=WRITE,
    )
    async def enable_partner_tag_feature(
        self,
        info: Info,
        tag_id: strawberry.ID,
        name: str,
        config: list[PartnerTagSettingInput] | None = None,
    ) -> PartnerTag:
        settings = [(c.key, c.value) for c in config or []]
        return PartnerTag.from_doc(await resolve.enable_feature(info, tag_id, name, settings))

    @strawberry.mutation(description="Disable a feature enabled on a tag.", extensions=WRITE)
    async def disable_partner_tag_feature(
        self, info: Info, tag_id: strawberry.ID, name: str
    ) -> PartnerTag:
        return PartnerTag.from_doc(await resolve.disable_feature(info, tag_id, name))
