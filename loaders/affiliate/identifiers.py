"""Checks of the publisher profile's contact and tax identifiers (seed: phone and area,
messaging handle, VAT number, ABN, GST and UK VAT registration, US tax state, company
logo, HTML description). Each returns the stored form or raises BadUserInput naming the
field."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from gateway.core.errors import BadUserInput
from loaders.affiliate.reference import COUNTRIES, validate_text, validate_url
from loaders.content import sanitize

IM_PROVIDERS = ("skype", "whatsapp", "telegram", "signal", "wechat", "line", "other")
LEGAL_ENTITIES = ("individual", "sole_trader", "company", "partnership", "non_profit")
_US_STATES_TEXT = """
    AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV
    NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI
"""
US_STATES = frozenset(_US_STATES_TEXT.split())
_ABN_WEIGHTS = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
# VAT prefixes that are not ISO 3166 codes: Greece (EL), Northern Ireland (XI).
_VAT_PREFIXES = COUNTRIES | {"EL", "XI"}
_SEPARATORS = re.compile(r"[\s().-]")


def validate_phone(value: str, field: str = "phone") -> str:
    """A subscriber number: digits only once separators are removed, 4..15 (E.164)."""
    digits = _SEPARATORS.sub("", value)
    if not re.fullmatch(r"[0-9]{4,15}", digits):
        raise BadUserInput("4 to 15 digits (spaces, dots, dashes, brackets allowed)", field=field)
    return digits


def validate_phone_area(value: str, field: str = "phoneArea") -> str:
    code = value.strip().removeprefix("+")
    if not re.fullmatch(r"[1-9][0-9]{0,3}", code):
        raise BadUserInput("a country calling code, e.g. +44", field=field)
    return f"+{code}"


def validate_abn(value: str, field: str = "abn") -> str:
    """An Australian Business Number: 11 digits passing the ATO's weighted checksum."""
    digits = _SEPARATORS.sub("", value)
    if not re.fullmatch(r"[0-9]{11}", digits):
        raise BadUserInput("an ABN has 11 digits", field=field)
    numbers = [int(d) for d in digits]
    numbers[0] -= 1
    if sum(w * n for w, n in zip(_ABN_WEIGHTS, numbers, strict=True)) % 89:
        raise BadUserInput("not a valid ABN (checksum)", field=field)
    return digits


def validate_vat(value: str, field: str = "vatNumber") -> str:
    """A VAT number with its country prefix (GB123456789, DE123456789, EL…, XI…)."""
    code = _SEPARATORS.sub("", value).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9A-Z]{2,13}", code) or code[:2] not in _VAT_PREFIXES:
        raise BadUserInput("a country prefix and 2 to 13 letters or digits", field=field)
    return code


def validate_us_state(value: str, field: str = "usTaxState") -> str:
    code = value.strip().upper()
    if code not in US_STATES:
        raise BadUserInput(f"unknown US state {value!r}", field=field)
    return code


def validate_logo(value: str, field: str = "logoUrl") -> str:
    """An http(s) image URL ending in .png, .jpg or .jpeg (the seed: PNG and JPEG only)."""
    url = validate_url(value, field)
    if not urlsplit(url).path.lower().endswith((".png", ".jpg", ".jpeg")):
        raise BadUserInput("a PNG or JPEG image (.png, .jpg, .jpeg)", field=field)
    return url


def validate_description(value: str, field: str = "description") -> str:
    """Allow-listed HTML (the content sanitiser), at most 5,000 characters after cleaning."""
    clean = sanitize(value.strip())
    if len(clean) > 5000:
        raise BadUserInput("at most 5,000 characters", field=field)
    return clean


def validate_im_username(value: str, field: str = "imUsername") -> str:
    return validate_text(value, field, 64, required=True)
