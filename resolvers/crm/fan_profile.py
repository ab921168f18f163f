"""The fan's profile fields of the seed's CRM search results: rating, location (latitude,
longitude, metro area), IP address, connected networks and idols; checked for create and
update (an update changes only the fields sent; null clears)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from gateway.core.errors import BadUserInput
from gateway.storage.mongo import Document
from resolvers.crm.common import _sent, tags, text

MAX_RATING = 5
NETWORK_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")  # as activities accept them
MAX_NETWORKS = 20


def rating(value: int | None) -> int:
    if value is None:
        return 0
    if not 0 <= value <= MAX_RATING:
        raise BadUserInput(f"must be 0 (not rated) to {MAX_RATING}", field="rating")
    return value


def networks(values: list[str] | None, field: str = "networks") -> list[str]:
    out: list[str] = []
    for value in values or []:
        name = value.strip().lower()
        if not NETWORK_RE.match(name):
            raise BadUserInput("network names are 1..32 of a-z, 0-9, _ . and -", field=field)
        if name not in out:
            out.append(name)
    if len(out) > MAX_NETWORKS:
        raise BadUserInput(f"at most {MAX_NETWORKS} networks", field=field)
    return out


def ip_address(value: str | None) -> str:
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise BadUserInput("not an IPv4 or IPv6 address", field="ipAddress") from None


def _coordinates(latitude: float | None, longitude: float | None) -> Document:
    if (latitude is None) != (longitude is None):
        raise BadUserInput("latitude and longitude go together",
                           field="longitude" if longitude is None else "latitude")  # fmt: skip
    if latitude is None or longitude is None:
        return {}
    if not -90 <= latitude <= 90:
        raise BadUserInput("must be -90 to 90", field="latitude")
    if not -180 <= longitude <= 180:
        raise BadUserInput("must be -180 to 180", field="longitude")
    return {"latitude": float(latitude), "longitude": float(longitude)}


def profile_for_create(input: Any) -> Document:
    """The profile fields of a new fan (absent coordinates stay absent)."""
    return {
        "rating": rating(input.rating),
        "metro_area": text(input.metro_area, "metroArea", 64),
        "ip_address": ip_address(input.ip_address),
        "networks": networks(input.networks),
        "idol_names": tags(input.idol_names, "idolNames"),
        **_coordinates(input.latitude, input.longitude),
    }


def profile_for_update(input: Any) -> tuple[Document, list[str]]:
    """`$set` and `$unset` of the profile fields sent (latitude and longitude together)."""
    sets: Document = {}
    unsets: list[str] = []
    if _sent(input.rating):
        sets["rating"] = rating(input.rating)
    if _sent(input.metro_area):
        sets["metro_area"] = text(input.metro_area, "metroArea", 64)
    if _sent(input.ip_address):
        sets["ip_address"] = ip_address(input.ip_address)
    if _sent(input.networks):
        sets["networks"] = networks(input.networks)
    if _sent(input.idol_names):
        sets["idol_names"] = tags(input.idol_names, "idolNames")
    lat, lon = _sent(input.latitude), _sent(input.longitude)
    if lat or lon:
        if not (lat and lon):
            raise BadUserInput("latitude and longitude go together",
                               field="longitude" if lat else "latitude")  # fmt: skip
        coordinates = _coordinates(input.latitude, input.longitude)
        sets.update(coordinates)
        if not coordinates:
            unsets += ["latitude", "longitude"]
    return sets, unsets
