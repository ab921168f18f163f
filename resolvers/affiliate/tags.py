"""Partnerize Tags: validate names, feature names and feature settings, then write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput, Conflict, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import tags
from resolvers.affiliate.common import partner_for

MAX_SETTINGS = 20


def _actor(info: Info) -> str:
    return str(info.context.principal.subject_id or "operator")


def validate_name(value: str) -> str:
    """The seed's tag name: 1..255 printable characters."""
    return data.validate_text(value, "name", 255, required=True)


async def _own_tag(info: Info, tag_id: str, field: str = "id") -> Document:
    doc = await info.context.loaders.get(tags.TagByIdLoader).load(parse_id(tag_id, "ptg", field))
    if doc is None:
        raise NotFound("Partnerize Tag not found.", field=field)
    return doc


async def tag(info: Info, tag_id: str) -> Document:
    return await _own_tag(info, tag_id)


async def create_tag(info: Info, partner_id: str | None, name: str) -> Document:
    pid = partner_for(info.context.scope, partner_id)
    return await tags.insert_tag(info.context.db, pid, validate_name(name), _actor(info))


async def update_tag(info: Info, tag_id: str, fields: Mapping[str, Any]) -> Document:
    current = await _own_tag(info, tag_id)
    changes: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            raise BadUserInput("cannot be null", field=key)
        changes[key] = validate_name(value) if key == "name" else bool(value)
    if not changes:
        raise BadUserInput("send name and/or active", field="name")
    return await _write(info, current, changes)


def validate_settings(
    feature: tags.TagFeature, settings: list[tuple[str, str]]
) -> list[dict[str, str]]:
    """Settings of a feature: keys it declares, each once, values up to 1,000 characters."""
    if len(settings) > MAX_SETTINGS:
        raise BadUserInput(f"at most {MAX_SETTINGS} settings", field="config")
    seen: set[str] = set()
    out = []
    for key, value in settings:
        if key not in feature.config_keys:
            allowed = ", ".join(feature.config_keys) or "none"
            raise BadUserInput(f"unknown setting {key!r} (allowed: {allowed})", field="config")
        if key in seen:
            raise BadUserInput(f"setting {key!r} given twice", field="config")
        seen.add(key)
        out.append({"key": key, "value": data.validate_text(value, "config", 1000)})
    return out


async def enable_feature(
    info: Info, tag_id: str, name: str, settings: list[tuple[str, str]]
) -> Document:
    """Enable a catalogue feature on a tag (or replace its settings when already enabled)."""
    current = await _own_tag(info, tag_id, "tagId")
    feature = tags.FEATURES_BY_NAME.get(name)
    if feature is None:
        raise BadUserInput(
            "not an available feature (see partnerTagFeatures)", field="name"
        )
    config = validate_settings(feature, settings)
    rest = [f for f in current.get("features", []) if f["name"] != name]
    return await _write(info, current, {"features": [*rest, {"name": name, "config": config}]})


async def disable_feature(info: Info, tag_id: str, name: str) -> Document:
    current = await _own_tag(info, tag_id, "tagId")
    enabled = current.get("features", [])
    if not any(f["name"] == name for f in enabled):
        raise Conflict("This feature is not enabled on the tag.", field="name")
    rest = [f for f in enabled if f["name"] != name]
    return await _write(info, current, {"features": rest})


async def _write(info: Info, current: Document, changes: dict[str, Any]) -> Document:
    done = await tags.update_tag(
        info.context.db, info.context.scope, current["_id"], changes, _actor(info)
    )
    if done is None:  # deleted between the read and the write
        raise NotFound("Partnerize Tag not found.", field="id")
    return done
