"""Input checks for domain code that stores or queries user-supplied mappings.

GraphQL's typed inputs already keep operators out of MongoDB filters (there is no
JSON scalar, and ids go through `gateway.core.ids.parse_id`). Where a domain accepts a
free-form mapping (content strings, metadata, custom attributes), its keys must be
checked before they reach MongoDB: a key with `$` is an operator, one with `.` a
dotted path into another field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.core.errors import BadUserInput

MAX_KEY_LENGTH = 200


def check_user_keys(mapping: Mapping[str, Any], field: str) -> None:
    """Reject (BAD_USER_INPUT on `field`) any key, at any depth, MongoDB would interpret.

    Keys must be non-empty strings of at most 200 characters without `$`, `.` or NUL.
    """
    stack: list[Any] = [mapping]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                if (
                    not isinstance(key, str)
                    or not key
                    or len(key) > MAX_KEY_LENGTH
                    or "$" in key
                    or "." in key
                    or "\x00" in key
                ):
                    raise BadUserInput(
                        "keys must be 1..200 characters without '$', '.' or NUL", field=field
                    )
                stack.append(item)
        elif isinstance(value, list | tuple):
            stack.extend(value)
