"""Affiliate reference data (currencies, countries, locales, devices, statuses) and input checks."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.core.errors import BadUserInput
from gateway.core.validation import check_printable

# --- reference data ------------------------------------------------------------------

# ISO 4217 active codes (2024 list).
_CURRENCIES_TEXT = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW
    ZWL
"""
CURRENCIES = frozenset(_CURRENCIES_TEXT.split())
# Minor-unit exponents that differ from 2 (ISO 4217); money is stored in minor units.
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
}

# ISO 3166-1 alpha-2 codes as listed by the affiliate network's API (plus XK).
_COUNTRIES_TEXT = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
"""
COUNTRIES = frozenset(_COUNTRIES_TEXT.split())

_LOCALES_TEXT = """
    bg cs da de de_at en en_au en_ca en_us es es_mx el et fi fl fr fr_ca hu id it jp ko
    ko_kr lt lv ms_my mt my nl no pl po pt pt_br ro ru sg sk sl sv sv_se th tl tr vi zh_cn
    zh_hk
"""
LOCALES = frozenset(_LOCALES_TEXT.split())

DEVICES = ("desktop", "mobile", "tablet", "other")
CONVERSION_STATUSES = ("approved", "pending", "rejected")
VOUCHER_STATUSES = ("expired", "ignored", "invalid", "unknown", "valid")
PARTICIPATION_STATUSES = ("pending", "approved", "rejected")
_LINK_PARAM_KEYS_TEXT = """
    pubref adref clickref creativeref utm_source utm_medium utm_campaign utm_content
    utm_term
"""
LINK_PARAM_KEYS = frozenset(_LINK_PARAM_KEYS_TEXT.split())
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_currency(code: str, field: str = "currency") -> str:
    code = code.strip().upper()
    if code not in CURRENCIES:
        raise BadUserInput(f"unknown currency {code!r} (ISO 4217)", field=field)
    return code


def currency_exponent(code: str) -> int:
    return _EXPONENTS.get(code, 2)


def validate_country(code: str, field: str = "country") -> str:
    code = code.strip().upper()
    if code not in COUNTRIES:
        raise BadUserInput(f"unknown country {code!r} (ISO 3166-1 alpha-2)", field=field)
    return code


def validate_locale(locale: str, field: str = "contactLocale") -> str:
    if locale not in LOCALES:
        raise BadUserInput(f"unknown locale {locale!r}", field=field)
    return locale


def validate_timezone(name: str, field: str = "timezone") -> ZoneInfo:
    # ZoneInfo also opens paths; only plain IANA names are accepted.
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        raise BadUserInput(f"unknown timezone {name!r}", field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadUserInput(f"unknown timezone {name!r}", field=field) from None


def validate_url(url: str, field: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if (
        len(url) > 2048
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or _CONTROL.search(url)
        or " " in url
    ):
        raise BadUserInput("must be an http(s) URL with a host", field=field)
    return url


def validate_text(value: str, field: str, max_length: int, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise BadUserInput("must not be empty", field=field)
    if len(value) > max_length:
        raise BadUserInput(f"must be at most {max_length} printable characters", field=field)
    return check_printable(value, field)


def validate_ip(value: str, field: str = "ip") -> str:
    """An IPv4 / IPv6 address in its canonical text form ('' stays '')."""
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise BadUserInput("not an IPv4 or IPv6 address", field=field) from None


@dataclass(frozen=True)
class RefEntry:
    """One row of a reference list: id, title, description."""

    id: str
    title: str
    description: str


# Reference lists behind the analytics `_id` dimensions. Titles of the ids the seed shows
# (partnership model 2 "CPA", traffic source 3 "Affiliate", user context 2 "Web",
# conversion type 1 "standard", conversion metric 2 "Standard" / 3 "App Download", and
# "Other" as id 1); the rest completes each list the way the network names them.
REFERENCE_LISTS: dict[str, tuple[RefEntry, ...]] = {
    "partnership_model": (
        RefEntry("1", "Other", "Other partnership model"),
        RefEntry("2", "CPA", "Cost per aquisition"),
        RefEntry("3", "CPC", "Cost per click"),
        RefEntry("4", "Tenancy", "Fixed fee placement"),
    ),
    "traffic_source": (
        RefEntry("1", "Other", "Other traffic source"),
        RefEntry("2", "Display", "Display advertising"),
        RefEntry("3", "Affiliate", "Affiliate traffic"),
        RefEntry("4", "Social", "Social media"),
        RefEntry("5", "Email", "Email marketing"),
    ),
    "user_context": (
        RefEntry("1", "Other", "Other user context"),
        RefEntry("2", "Web", "Desktop or mobile web browser"),
        RefEntry("3", "App", "Mobile application"),
    ),
    "conversion_type": (
        RefEntry("1", "standard", "Standard Transaction"),
        RefEntry("2", "lead", "Lead"),
        RefEntry("3", "install", "App install"),
    ),
    "conversion_metric": (
        RefEntry("1", "Other", "Other conversion metric"),
        RefEntry("2", "Standard", "Standard conversion"),
        RefEntry("3", "App Download", ""),
        RefEntry("4", "Lead", "Lead or sign-up"),
    ),
    "device": tuple(RefEntry(d, d, f"{d} device") for d in DEVICES),
}
_TITLES = {
    name: {entry.id: entry.title for entry in entries}
    for name, entries in REFERENCE_LISTS.items()
    if name != "device"
}


def reference_title(dimension: str, value: str) -> str | None:
    """The title of a reference id for an analytics dimension (None: not a reference)."""
    return _TITLES.get(dimension, {}).get(value)
