"""Input checks for domain code that stores user-supplied text or mappings.

Every name and free-text value a mutation stores goes through `check_printable`: C0
control characters (and DEL) are refused with BAD_USER_INPUT naming the field; free text
that may span lines keeps tab, line feed and carriage return.

GraphQL's typed inputs already keep operators out of MongoDB filters (there is no
JSON scalar, and ids go through `gateway.core.ids.parse_id`). Where a domain accepts a
free-form mapping (content strings, metadata, custom attributes), its keys must be
checked before they reach MongoDB: a key with `$` is an operator, one with `.` a
dotted path into another field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.core.errors import BadUserInput

MAX_KEY_LENGTH = 200
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_CONTROLS_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_printable(value: str, field: str, *, multiline: bool = False) -> str:
    """`value` unchanged, or BAD_USER_INPUT on `field` if it holds a control character.

    Names and one-line values allow none; `multiline` text (descriptions, terms, content
    strings) allows tab, LF and CR.
    """
    found = (_CONTROLS_BUT_LAYOUT if multiline else _CONTROLS).search(value)
    if found is not None:
        allowed = " other than tab and line breaks" if multiline else ""
        raise BadUserInput(
            f"must not contain control characters{allowed} "
            f"(found U+{ord(found.group()):04X} at position {found.start()})",
            field=field,
        )
    return value


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
