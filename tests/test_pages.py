"""The pages (gateway.http.pages) over real HTTP: what they serve, their CSP, the GraphiQL
page per environment, and the dashboard's refresh cookie (gateway.auth.cookie).

The browser itself drives them in tests/test_pages_browser.py.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.auth.cookie import REFRESH_COOKIE
from gateway.http.pages import STATIC_DIR
from tests.conftest import TEST_JWT_KEYS, World, error_codes
from tests.hardening_fixtures import MakeClient, make_client

__all__ = ["make_client"]

ROOT = Path(__file__).resolve().parent.parent
LOGIN = """
mutation Login($email: String!, $password: String!) {
  partnerLogin(email: $email, password: $password) { accessToken refreshToken expiresIn }
}"""
REFRESH = """
mutation Refresh($token: String!) {
  refreshSession(refreshToken: $token) { accessToken refreshToken expiresIn }
}"""
LOGOUT = "mutation { logout }"
VIEWER = "{ viewer { kind subjectId } }"
COOKIE_MODE = {"X-Refresh-Cookie": "1"}
PAGES = ("/", "/stats/act_demo-alpha-1", "/graphql")


async def send(
    client: TestClient[Any, Any],
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    cookie: str | None = None,
) -> tuple[dict[str, Any], Morsel[str] | None]:
    """POST one operation with exactly the given cookie; returns the body and the Set-Cookie."""
    client.session.cookie_jar.clear()  # nothing is sent that the test did not name
    sent = dict(headers or {})
    if cookie is not None:
        sent["Cookie"] = f"{REFRESH_COOKIE}={cookie}"
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
    )
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        jar.load(header)
    return body, jar.get(REFRESH_COOKIE)


async def cookie_login(client: TestClient[Any, Any], world: World) -> tuple[str, Morsel[str]]:
    creds = {"email": world.a_owner.extra["email"], "password": world.a_owner.extra["password"]}
    body, morsel = await send(client, LOGIN, creds, COOKIE_MODE)
    assert morsel is not None, body
    return body["data"]["partnerLogin"]["accessToken"], morsel


# --- the refresh cookie ------------------------------------------------------------------


async def test_a_failed_cookie_login_sets_no_cookie(
    client: TestClient[Any, Any], world: World
) -> None:
    body, morsel = await send(
        client, LOGIN, {"email": world.a_owner.extra["email"], "password": "wrong"}, COOKIE_MODE
    )
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert morsel is None


async def test_cookie_login_puts_the_refresh_token_only_in_an_httponly_strict_cookie(
    client: TestClient[Any, Any], world: World
) -> None:
    # given staff signing in from the dashboard
    # when it asks for cookie mode
    creds = {"email": world.a_owner.extra["email"], "password": world.a_owner.extra["password"]}
    body, morsel = await send(client, LOGIN, creds, COOKIE_MODE)
    # then the body has no refresh token and the cookie is out of scripts' and other sites' reach
    payload = body["data"]["partnerLogin"]
    assert payload["refreshToken"] == ""
    assert payload["accessToken"] and payload["expiresIn"] > 0
    assert morsel is not None and len(morsel.value) > 20
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == "/graphql"
    assert not morsel["secure"]  # development: plain http on loopback
    assert int(morsel["max-age"]) > 3600


async def test_login_without_cookie_mode_is_unchanged(
    client: TestClient[Any, Any], world: World
) -> None:
    creds = {"email": world.a_owner.extra["email"], "password": world.a_owner.extra["password"]}
    body, morsel = await send(client, LOGIN, creds)
    assert body["data"]["partnerLogin"]["refreshToken"]
    assert morsel is None


async def test_cookie_refresh_rejections(client: TestClient[Any, Any], world: World) -> None:
    _, morsel = await cookie_login(client, world)
    # the cookie alone, without the opt-in header, is not read
    body, _ = await send(client, REFRESH, {"token": ""}, cookie=morsel.value)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    # cookie mode without a cookie: refused, and the (absent) cookie is cleared
    body, cleared = await send(client, REFRESH, {"token": ""}, COOKIE_MODE)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert cleared is not None and cleared.value == ""
    # a garbage cookie: refused
    body, _ = await send(client, REFRESH, {"token": ""}, COOKIE_MODE, cookie="rt_garbage")
    assert error_codes(body) == ["UNAUTHENTICATED"]
    # a form-style POST carrying the cookie (what another site could send) never runs
    client.session.cookie_jar.clear()
    response = await client.post(
        "/graphql",
        data=json.dumps({"query": 'mutation { refreshSession(refreshToken: "") { accessToken } }'}),
        headers={"Content-Type": "text/plain", "Cookie": f"{REFRESH_COOKIE}={morsel.value}"},
    )
    assert response.status == 400
    # none of that spent the cookie: it still refreshes once
    body, _ = await send(client, REFRESH, {"token": ""}, COOKIE_MODE, cookie=morsel.value)
    assert body["data"]["refreshSession"]["accessToken"]


async def test_cookie_refresh_rotates_and_a_replayed_cookie_ends_the_session(
    client: TestClient[Any, Any], world: World
) -> None:
    # given a dashboard session
    _, first = await cookie_login(client, world)
    # when it refreshes through the cookie
    body, second = await send(client, REFRESH, {"token": ""}, COOKIE_MODE, cookie=first.value)
    # then a new access token comes back, the cookie is rotated and the body has no token
    payload = body["data"]["refreshSession"]
    assert payload["refreshToken"] == ""
    assert second is not None and second.value not in ("", first.value)
    assert second["httponly"] is True and second["samesite"] == "Strict"
    access = payload["accessToken"]
    viewer, _ = await send(client, VIEWER, headers={"Authorization": f"Bearer {access}"})
    assert viewer["data"]["viewer"]["subjectId"] == world.a_owner.subject_id
    # and replaying the first cookie ends the whole session family
    body, cleared = await send(client, REFRESH, {"token": ""}, COOKIE_MODE, cookie=first.value)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert cleared is not None and cleared.value == ""
    body, _ = await send(client, REFRESH, {"token": ""}, COOKIE_MODE, cookie=second.value)
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_an_explicit_refresh_token_still_works_in_cookie_mode(
    client: TestClient[Any, Any], world: World
) -> None:
    body, morsel = await send(
        client, REFRESH, {"token": world.a_owner.extra["refresh"]}, COOKIE_MODE
    )
    assert body["data"]["refreshSession"]["refreshToken"] == ""
    assert morsel is not None and morsel.value


async def test_cookie_logout_clears_the_cookie_and_ends_the_session(
    client: TestClient[Any, Any], world: World
) -> None:
    access, morsel = await cookie_login(client, world)
    body, cleared = await send(
        client, LOGOUT, headers={**COOKIE_MODE, "Authorization": f"Bearer {access}"}
    )
    assert body == {"data": {"logout": True}}
    assert cleared is not None and cleared.value == "" and cleared["path"] == "/graphql"
    body, _ = await send(client, REFRESH, {"token": ""}, COOKIE_MODE, cookie=morsel.value)
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_the_cookie_is_secure_in_production(make_client: MakeClient, world: World) -> None:
    prod = await make_client(env="production", jwt_keys=TEST_JWT_KEYS)
    _, morsel = await cookie_login(prod, world)
    assert morsel["secure"] is True


# --- pages -------------------------------------------------------------------------------


async def test_pages_are_html_with_a_same_origin_csp_and_no_inline_script(
    client: TestClient[Any, Any],
) -> None:
    for path in PAGES:
        response = await client.get(path, headers={"Accept": "text/html"})
        assert response.status == 200, path
        assert response.content_type == "text/html"
        csp = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == "'self'", path  # no inline, no other origin
        assert directives["connect-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert "http" not in csp
        assert response.headers["Cache-Control"] == "no-store"
        page = await response.text()
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
        assert scripts, path
        for attrs, inline in scripts:
            assert inline.strip() == "" and 'src="/static/' in attrs, (path, attrs)
        assert not re.search(r"\son[a-z]+=", page), path  # no inline event handlers
        assert "style=" not in page


async def test_every_asset_a_page_or_script_names_is_served_from_this_origin(
    client: TestClient[Any, Any],
) -> None:
    referenced: set[str] = set()
    for path in PAGES:
        page = await (await client.get(path, headers={"Accept": "text/html"})).text()
        assert "//" not in re.sub(r"<!doctype html>|https?://www\.w3\.org/[^\"']*", "", page)
        referenced |= set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page))
    for script in STATIC_DIR.glob("*.js"):
        for name in re.findall(r'from "\./([^"]+)"', script.read_text()):
            referenced.add(f"/static/{name}")
    assert "/static/vendor/graphiql.min.js" in referenced
    for asset in sorted(referenced):
        response = await client.get(asset)
        assert response.status == 200, asset
        if asset.endswith(".js"):
            assert "javascript" in response.content_type, asset


async def test_static_files_are_revalidated(client: TestClient[Any, Any]) -> None:
    first = await client.get("/static/app.js")
    assert first.headers["Cache-Control"] == "no-cache"
    again = await client.get(
        "/static/app.js", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert again.status == 304


async def test_static_files_stay_inside_the_static_folder(client: TestClient[Any, Any]) -> None:
    for path in ("/static/../pages.py", "/static/%2e%2e/pages.py", "/static/vendor/../../view.py"):
        response = await client.get(path)
        assert response.status in (403, 404), path


async def test_the_static_files_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["gateway.http"]
    package = STATIC_DIR.parent
    files = [p.relative_to(package).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert files
    missing = [f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]
    assert missing == []


async def test_graphql_for_programs_is_not_the_ide(client: TestClient[Any, Any]) -> None:
    # An operation over GET, or a client that does not ask for HTML, gets GraphQL.
    preflight = {"Apollo-Require-Preflight": "1"}
    response = await client.get("/graphql", params={"query": "{ __typename }"}, headers=preflight)
    assert await response.json() == {"data": {"__typename": "Query"}}
    response = await client.get(
        "/graphql",
        params={"query": "{ __typename }"},
        headers={**preflight, "Accept": "text/html"},
    )
    assert response.content_type == "application/json"


@pytest.mark.parametrize("env", ["development", "demo"])
async def test_graphiql_is_vendored_in_development_and_demo(
    make_client: MakeClient, env: str
) -> None:
    client = await make_client(env=env)
    response = await client.get("/graphql", headers={"Accept": "text/html,*/*"})
    assert response.status == 200
    page = await response.text()
    assert "/static/vendor/graphiql.min.js" in page and "/static/graphiql-boot.js" in page
    assert "Content-Security-Policy" in response.headers


async def test_production_answers_a_browser_with_a_disabled_page(make_client: MakeClient) -> None:
    prod = await make_client(env="production", jwt_keys=TEST_JWT_KEYS)
    response = await prod.get("/graphql", headers={"Accept": "text/html"})
    assert response.status == 404
    assert response.content_type == "text/html"
    assert "GraphiQL is disabled" in await response.text()
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    # The dashboard itself is served in production too.
    assert (await prod.get("/")).status == 200
