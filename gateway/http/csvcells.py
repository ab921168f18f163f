"""CSV cells that no spreadsheet evaluates (OWASP CSV injection), shared by every export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.core.clock import iso_utc

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> str:
    """One cell as text; a leading formula character is neutralised with a `'`."""
    if value is None:
        text = ""
    elif isinstance(value, datetime):
        text = iso_utc(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
