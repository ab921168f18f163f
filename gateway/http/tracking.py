"""`GET /t/{linkId}`: the public end of a tracking link (`TrackingLink.url`).

Records the click (see `loaders.affiliate.tracking.follow_link` for what counts as one)
and answers 302 to the link's stored destination. The destination comes only from the
link: nothing in the request's query or headers can steer the redirect, so the endpoint
is no open redirect. Unknown ids are 404. The visitor id lives in an HttpOnly cookie
scoped to `/t/` for the campaign's cookie period; the client address follows the
trusted-proxy rule of the rest of the gateway (`GATEWAY_TRUSTED_PROXY_HOPS`).
"""

from __future__ import annotations

import ipaddress
import re

from aiohttp import web

from gateway.auth.lockout import client_ip
from gateway.http.keys import SERVICES
from loaders.affiliate import tracking

COOKIE = "oooc_vid"
_LINK_ID = re.compile(r"^lnk_[A-Za-z0-9_-]{1,64}$")
_CREATIVE_ID = re.compile(r"^crv_[A-Za-z0-9_-]{1,64}$")


def _ip(request: web.Request) -> str:
    raw = client_ip(request, request.app[SERVICES].settings)
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return ""


async def follow(request: web.Request) -> web.StreamResponse:
    """Record a click on the link and redirect (302) to its destination."""
    link_id = request.match_info["link_id"]
    if not _LINK_ID.match(link_id):
        raise web.HTTPNotFound(text="Unknown tracking link.")
    services = request.app[SERVICES]
    visit = tracking.Visit(
        ip=_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        referer=request.headers.get("Referer", ""),
        cookie_id=tracking.visitor_cookie(request.cookies.get(COOKIE)),
        recordable=request.method == "GET",
        # which creative the visitor clicked (a creative's tracking code adds it); checked
        # against the link's campaign when recorded, never used for the redirect
        creative_id=creative if _CREATIVE_ID.match(creative := request.query.get("creative", ""))
        else "",
    )
    window_ms = services.settings.tracking_duplicate_window_seconds * 1000
    followed = await tracking.follow_link(services.db, link_id, visit, window_ms)
    if followed is None:
        raise web.HTTPNotFound(text="Unknown tracking link.")
    response = web.Response(status=302, headers={
        "Location": followed.location,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    })  # fmt: skip
    response.set_cookie(
        COOKIE, followed.cookie_id, max_age=followed.cookie_days * 86_400, path="/t/",
        httponly=True, samesite="Lax", secure=request.secure,
    )  # fmt: skip
    return response


ROUTES = [web.get("/t/{link_id}", follow)]
