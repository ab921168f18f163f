"""The staff refresh token as a browser cookie, for the dashboard (`gateway.http.pages`).

A request that sends `X-Refresh-Cookie: 1` asks for cookie mode: `partnerLogin` and
`refreshSession` then put the refresh token in an HttpOnly, SameSite=Strict cookie scoped to
/graphql (Secure in production) and answer `refreshToken: ""`, so page scripts never see it;
`refreshSession(refreshToken: "")` reads it from the cookie, and `logout` clears it. The
header is an `X-…` header, so a cross-site page cannot send it without a CORS preflight
(the gateway's CSRF rule), and SameSite=Strict keeps the cookie off cross-site requests.
"""

from __future__ import annotations

from aiohttp import web

from gateway.settings import Settings

REFRESH_COOKIE = "gw_refresh"
COOKIE_MODE_HEADER = "X-Refresh-Cookie"
COOKIE_PATH = "/graphql"


def cookie_mode(request: web.Request | None) -> bool:
    """True when the caller asked for the refresh token as a cookie."""
    return request is not None and request.headers.get(COOKIE_MODE_HEADER) == "1"


def cookie_token(request: web.Request | None) -> str:
    """The refresh token the cookie carries ("" without one)."""
    return request.cookies.get(REFRESH_COOKIE, "") if request is not None else ""


def set_refresh_cookie(response: web.StreamResponse | None, token: str, settings: Settings) -> None:
    if isinstance(response, web.Response):
        response.set_cookie(
            REFRESH_COOKIE,
            token,
            max_age=settings.refresh_token_ttl_seconds,
            path=COOKIE_PATH,
            httponly=True,
            samesite="Strict",
            secure=settings.is_production,
        )


def clear_refresh_cookie(response: web.StreamResponse | None, settings: Settings) -> None:
    if isinstance(response, web.Response):
        response.del_cookie(
            REFRESH_COOKIE,
            path=COOKIE_PATH,
            httponly=True,
            samesite="Strict",
            secure=settings.is_production,
        )
