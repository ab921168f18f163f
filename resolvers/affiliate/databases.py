"""The partner's databases: validation of the seed's fields, one or more per call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.context import Info
from gateway.core.errors import BadUserInput, NotFound
from gateway.core.ids import parse_id
from gateway.storage.mongo import Document
from loaders import affiliate as data
from loaders.affiliate import databases
from resolvers.affiliate.common import partner_for

MAX_BATCH = 50
MAX_SIZE = 10_000_000_000
FIELDS = ("name", "creation_method", "size", "female_percent", "male_percent", "min_age",
          "max_age", "active")  # fmt: skip


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)


def validate_database(
    fields: Mapping[str, Any], current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The seed's database fields: name and creation method (required on create), size
    0..10^10, female / male shares 0..100 % adding up to at most 100, ages 0..120 with
    min <= max (null on update clears an age). `current` (on update) supplies the fields
    not sent, for the cross checks."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in FIELDS:
            continue
        if value is None and key in ("min_age", "max_age"):
            out[key] = None  # an explicit null clears a known age
            continue
        if value is None:
            raise BadUserInput("cannot be null", field=_camel(key))
        if key in ("name", "creation_method"):
            limit = 120 if key == "name" else 60
            out[key] = data.validate_text(value, _camel(key), limit, required=True)
        elif key == "size":
            if not 0 <= value <= MAX_SIZE:
                raise BadUserInput(f"0..{MAX_SIZE:,}", field="size")
            out[key] = int(value)
        elif key in ("female_percent", "male_percent"):
            if not 0 <= value <= 100:
                raise BadUserInput("a share 0..100", field=_camel(key))
            out[key] = float(value)
        elif key in ("min_age", "max_age"):
            if not 0 <= value <= 120:
                raise BadUserInput("an age 0..120", field=_camel(key))
            out[key] = int(value)
        else:
            out[key] = bool(value)
    merged = {**(current or {}), **out}
    if float(merged.get("female_percent", 0)) + float(merged.get("male_percent", 0)) > 100:
        raise BadUserInput("femalePercent + malePercent is at most 100", field="malePercent")
    low, high = merged.get("min_age"), merged.get("max_age")
    if low is not None and high is not None and low > high:
        raise BadUserInput("minAge cannot exceed maxAge", field="minAge")
    return out


async def create_databases(
    info: Info, partner_id: str | None, rows: Sequence[Mapping[str, Any]]
) -> list[Document]:
    pid = partner_for(info.context.scope, partner_id)
    if not 1 <= len(rows) <= MAX_BATCH:
        raise BadUserInput(f"between 1 and {MAX_BATCH} databases", field="databases")
    values = []
    for row in rows:
        for required in ("name", "creation_method", "size"):
            if row.get(required) is None:
                raise BadUserInput("required", field=_camel(required))
        values.append({"active": True, "female_percent": 0.0, "male_percent": 0.0,
                       "min_age": None, "max_age": None, **validate_database(row)})  # fmt: skip
    return await databases.insert_databases(info.context.db, pid, values)


async def update_databases(info: Info, rows: Sequence[Mapping[str, Any]]) -> list[Document]:
    """Validate every row against its stored database first (any bad row or unknown id
    rejects the call), then apply them."""
    if not 1 <= len(rows) <= MAX_BATCH:
        raise BadUserInput(f"between 1 and {MAX_BATCH} databases", field="databases")
    loader = info.context.loaders.get(databases.DatabaseByIdLoader)
    ids = [parse_id(row["id"], "pdb") for row in rows]
    if len(set(ids)) != len(ids):
        raise BadUserInput("a database is listed twice", field="databases")
    stored = await loader.load_many(ids)
    changes = []
    for db_id, row, current in zip(ids, rows, stored, strict=True):
        if current is None:
            raise NotFound("Database not found.", field="id")
        values = validate_database(row, current)
        if not values:
            raise BadUserInput("nothing to update", field="databases")
        changes.append((db_id, values, current))
    out = []
    for db_id, values, current in changes:
        await databases.update_database(info.context.db, info.context.scope, db_id, values)
        out.append({**current, **values})
    return out
