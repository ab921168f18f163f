"""Prefixed, URL-safe string ids (`par_…`, `vch_…`).

String ids everywhere (never ObjectId references): the embedded store cannot match
an ObjectId outside `_id`, and prefixes make a mixed-up id fail validation early.
"""

from __future__ import annotations

import re
import secrets

from gateway.core.errors import BadUserInput

_ID_BODY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


def parse_id(value: object, prefix: str, field: str = "id") -> str:
    """Validate a client-supplied id of the given kind; anything else is BAD_USER_INPUT."""
    if not isinstance(value, str):
        raise BadUserInput("must be an ID string", field=field)
    head, sep, body = value.partition("_")
    if not sep or head != prefix or not _ID_BODY.match(body):
        raise BadUserInput(f"not a valid {prefix}_ id", field=field)
    return value
