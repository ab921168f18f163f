"""The dashboard and the event host's page in a real headless Chromium, against a real
`gateway serve` (demo mode, demo data, embedded store) started once for the module.

Every page a test opens is watched: a request or WebSocket to another origin, a console
error or an uncaught exception fails the test (`watched`). One browser serves the module;
each test gets a fresh context (its own cookies).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, DemoGateway, demo_gateway, http

pytestmark = pytest.mark.slow

LIVE_ACTIVATION = "act_demo-alpha-1"
OVERVIEW = """
query Overview($from: Date!, $to: Date!) {
  dashboard { totalMembers activeMembers totalWatchTimeMinutes totalClassesWatched }
  voucherStats { total active redeemed expired revoked redemptionRate }
  ticketStats(minPurchaseDate: $from, maxPurchaseDate: $to) {
    salesCount seatsCount newFansCount returningFansCount
  }
}"""
STATS = """
query S($id: ID!, $token: String) {
  activationStats(activationId: $id, token: $token) { metrics { clickCount uniqueSessionCount } }
}"""
TRACK = """
mutation T($id: ID!, $session: String!) {
  trackActivationEvent(activationId: $id, kind: VIEW, sessionId: $session)
}"""
ACTIVE_VOUCHER = "{ vouchers(status: ACTIVE, first: 1) { edges { node { code } } } }"
REGISTER = """
mutation R($input: RegisterMemberInput!) { registerMember(input: $input) { member { id } } }"""
VIEWER = "{ viewer { kind } }"
MEMBER = """
query M($id: ID!) {
  member(id: $id) { totalWatchMinutes history(first: 50) { edges { cursor } } }
}"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoGateway]:
    with demo_gateway(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install chromium"
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@dataclass
class Watch:
    """What a page did that it must not: other origins, console errors, uncaught errors."""

    origin: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def request(self, url: str, headers: dict[str, str]) -> None:
        self.requests.append((url, headers))
        if not (url.startswith(self.origin + "/") or url.startswith(("blob:", "data:"))):
            self.foreign.append(url)


def watched(browser: Browser, gateway: DemoGateway, **context: object) -> tuple[Page, Watch]:
    page = browser.new_context(accept_downloads=True, **context).new_page()  # type: ignore[arg-type]
    watch = Watch(gateway.url)
    ws_origin = gateway.url.replace("http://", "ws://", 1)
    page.on("request", lambda r: watch.request(r.url, r.headers))
    page.on(
        "websocket",
        lambda ws: None if ws.url.startswith(ws_origin) else watch.foreign.append(ws.url),
    )
    page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    return page, watch


@pytest.fixture
def page_and_watch(browser: Browser, gateway: DemoGateway) -> Iterator[tuple[Page, Watch]]:
    page, watch = watched(browser, gateway)
    yield page, watch
    page.context.close()
    assert watch.foreign == []
    assert watch.errors == []


def sign_in(page: Page, gateway: DemoGateway, role: str) -> None:
    """Sign in with the keyboard only: type, Tab, type, Enter."""
    staff = gateway.staff(role)
    page.goto(gateway.url + "/")
    expect(page.locator("#email")).to_be_visible()
    page.locator("#email").focus()
    page.keyboard.type(staff["email"])
    page.keyboard.press("Tab")
    page.keyboard.type(staff["password"])
    page.keyboard.press("Enter")
    expect(page.locator("#signout")).to_be_visible()


def figure(page: Page, key: str) -> str:
    locator = page.locator(f'[data-figure="{key}"]')
    expect(locator).not_to_have_text("…")
    return locator.inner_text()


def number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def wait_live(page: Page) -> None:
    expect(page.locator("[data-live]")).to_have_attribute("data-live", "on", timeout=10_000)


# --- the dashboard -----------------------------------------------------------------------


def test_sign_in_shows_an_overview_equal_to_the_graphql_answers(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, watch = page_and_watch
    # given the owner signed in (keyboard only)
    sign_in(page, gateway, "owner")
    # when the overview has loaded
    expect(page.locator('[data-figure="totalMembers"]')).to_be_visible()
    # then every figure is what GraphQL answers the same staff
    today = datetime.now(UTC).date()
    data = gateway.graphql(
        OVERVIEW,
        {"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()},
        Authorization=f"Bearer {gateway.login('owner')}",
    )
    for name, value in data["dashboard"].items():
        assert number(figure(page, name)) == value, name
    for name, value in data["voucherStats"].items():
        assert number(figure(page, f"vouchers.{name}")) == value, name
    for name, value in data["ticketStats"].items():
        assert number(figure(page, f"tickets.{name}")) == value, name
    assert data["dashboard"]["totalMembers"] > 0  # demo data, so the comparison means something
    # and the owner sees billing
    expect(page.locator('nav a[data-view="billing"]')).to_be_visible()
    expect(page.locator('[data-section="billing"]')).to_be_visible()
    # and the refresh token never reached the page: no response body the page read carries it
    assert all("refreshToken" not in url for url, _ in watch.requests)


def test_an_analyst_sees_no_billing(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, _ = page_and_watch
    sign_in(page, gateway, "analyst")
    expect(page.locator('[data-figure="totalMembers"]')).to_be_visible()
    expect(page.locator('nav a[data-view="activations"]')).to_be_visible()
    assert page.locator('nav a[data-view="billing"]').count() == 0
    assert page.locator('[data-section="billing"]').count() == 0
    page.goto(gateway.url + "/#billing")
    expect(page.locator("#view h1")).to_have_text("Not found")
    # an analyst cannot write vouchers either: no generate form, no revoke buttons
    page.goto(gateway.url + "/#vouchers")
    expect(page.locator("#view table")).to_be_visible()
    assert page.get_by_role("button", name="Generate vouchers").count() == 0
    assert page.get_by_role("button", name=re.compile("^Revoke")).count() == 0


def test_a_tracked_event_shows_on_the_activation_page_within_two_seconds(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, _ = page_and_watch
    sign_in(page, gateway, "owner")
    page.goto(f"{gateway.url}/#activation/{LIVE_ACTIVATION}")
    wait_live(page)
    before = number(figure(page, "metric.clickCount"))
    # when the app reports a view over HTTP
    app_key = gateway.report["partners"][0]["appKeys"][0]
    sent = time.monotonic()
    gateway.graphql(
        TRACK, {"id": LIVE_ACTIVATION, "session": f"s-{uuid.uuid4().hex}"}, **{"X-API-Key": app_key}
    )
    # then the page shows it within 2 s, without a reload
    expect(page.locator('[data-figure="metric.clickCount"]')).to_have_text(
        f"{int(before) + 1:,}", timeout=2_000
    )
    assert time.monotonic() - sent < 2.5
    # and the chart and the CSV download work
    expect(page.locator("figure svg polyline")).to_have_count(3)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    csv = Path(download.value.path()).read_text()
    assert csv.startswith("activationId,eventKey,eventName,tier,startAt,endAt,clickCount,")
    assert f"{LIVE_ACTIVATION}," in csv


def test_a_member_registered_through_the_app_appears_in_the_live_feed(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, _ = page_and_watch
    sign_in(page, gateway, "owner")
    page.goto(gateway.url + "/#live")
    expect(page.locator("#socket-state")).to_have_attribute("data-state", "connected")
    owner = f"Bearer {gateway.login('owner')}"
    code = gateway.graphql(ACTIVE_VOUCHER, Authorization=owner)["vouchers"]["edges"][0]["node"]
    name = f"Browser Test {uuid.uuid4().hex[:6]}"
    app_key = gateway.report["partners"][0]["appKeys"][0]
    member = {
        "voucherCode": code["code"],
        "name": name,
        "email": f"{uuid.uuid4().hex[:8]}@example.com",
        "password": "a-long-password-1",
    }
    gateway.graphql(REGISTER, {"input": member}, **{"X-API-Key": app_key})
    expect(page.locator('.feed-item[data-kind="memberJoined"]', has_text=name)).to_be_visible()
    expect(
        page.locator('.feed-item[data-kind="voucherRedeemed"]', has_text=code["code"])
    ).to_be_visible()


def test_sign_out_ends_the_session(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, watch = page_and_watch
    sign_in(page, gateway, "owner")
    expect(page.locator('[data-figure="totalMembers"]')).to_be_visible()
    bearer = next(h["authorization"] for _, h in watch.requests if "authorization" in h)
    # the session survives a reload (the HttpOnly cookie buys a new access token)
    page.reload()
    expect(page.locator("#signout")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("Signed out.")
    # the access token is dead at once, and a reload finds no session to resume
    status, body = http(f"{gateway.url}/graphql", {"query": VIEWER}, {"Authorization": bearer})
    assert status == 401, body
    page.reload()
    expect(page.locator("#login")).to_be_visible()
    assert page.locator("#signout").is_hidden()
    # page scripts cannot read the refresh cookie
    assert page.evaluate("document.cookie") == ""


def test_a_session_revoked_elsewhere_closes_the_socket_and_signs_out(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, watch = page_and_watch
    sign_in(page, gateway, "owner")
    expect(page.locator("#socket-state")).to_have_attribute("data-state", "connected")
    bearer = next(h["authorization"] for _, h in watch.requests if "authorization" in h)
    # when the session is logged out by another client
    gateway.graphql("mutation { logout }", Authorization=bearer)
    # then the socket is closed (4403), the silent re-authentication fails, and the page says so
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#login-error")).to_contain_text("session ended")


def test_lists_page_with_cursors_and_export_csv(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, _ = page_and_watch
    sign_in(page, gateway, "owner")
    page.goto(gateway.url + "/#members")
    rows = page.locator("#view tbody tr")
    expect(rows).to_have_count(20)
    first_page = rows.first.inner_text()
    page.get_by_role("button", name="Next →").click()
    expect(page.locator(".pager")).to_contain_text("Page 2")
    assert rows.first.inner_text() != first_page
    # sorted by watch time, the first member's detail shows its watch history
    page.get_by_label("Sort").select_option("WATCH_TIME")
    expect(page.locator(".pager")).to_contain_text("Page 1")
    rows.first.locator("a").click()
    expect(page.get_by_role("heading", name="Watch history")).to_be_visible()
    member_id = page.url.rsplit("/", 1)[1]
    member = gateway.graphql(
        MEMBER, {"id": member_id}, Authorization=f"Bearer {gateway.login('owner')}"
    )["member"]
    assert member["totalWatchMinutes"] > 0
    assert number(figure(page, "member.totalWatchMinutes")) == member["totalWatchMinutes"]
    history = page.locator("#view table").last.locator("tbody tr")
    expect(history).to_have_count(len(member["history"]["edges"]))
    with page.expect_download() as download:
        page.goto(gateway.url + "/#members")
        page.get_by_role("button", name="Export CSV").click()
    assert Path(download.value.path()).read_text().count("\n") > 20


def test_vouchers_are_generated_and_revoked_from_the_page(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, _ = page_and_watch
    sign_in(page, gateway, "owner")
    page.goto(gateway.url + "/#vouchers")
    page.get_by_label("Quantity").fill("2")
    prefix = f"WEB{uuid.uuid4().hex[:4].upper()}"
    page.get_by_label("Prefix").fill(prefix)
    page.get_by_role("button", name="Generate vouchers").click()
    codes = page.locator("[data-generated]")
    expect(codes).to_contain_text(prefix)
    code = codes.inner_text().split()[0]
    page.get_by_label("Code contains").fill(code)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#view tbody tr")).to_have_count(1)
    page.get_by_role("button", name=f"Revoke {code}").click()
    expect(page.locator("#view tbody tr .badge")).to_have_text("REVOKED")


def test_affiliate_chart_follows_the_interval(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, _ = page_and_watch
    sign_in(page, gateway, "owner")
    page.goto(gateway.url + "/#affiliate")
    points = page.locator("figure svg circle.s0")
    expect(points).to_have_count(30)  # "last 30 days" by day
    page.get_by_label("Interval").select_option("P1W")
    expect(points).not_to_have_count(30)
    assert 4 <= points.count() <= 6
    expect(page.locator("#view tbody tr").first).to_be_visible()  # conversions table


def test_phone_width_has_no_sideways_scroll(browser: Browser, gateway: DemoGateway) -> None:
    page, watch = watched(browser, gateway, viewport={"width": 390, "height": 844})
    try:
        sign_in(page, gateway, "owner")
        expect(page.locator('[data-figure="totalMembers"]')).to_be_visible()
        ready = {
            "overview": '[data-figure="totalMembers"]',
            f"activation/{LIVE_ACTIVATION}": '[data-live="on"]',
            "members": "#view tbody tr a",
            "tickets": "#view tbody tr",
            "live": "#feed-list",
        }
        for route, selector in ready.items():
            page.goto(f"{gateway.url}/#{route}")
            expect(page.locator(selector).first).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (route, width)  # wide tables scroll inside their own box
        assert watch.errors == [] and watch.foreign == []
    finally:
        page.context.close()


# --- the event host's page ---------------------------------------------------------------


def test_the_event_host_page_works_with_the_token_alone(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, watch = page_and_watch
    token = gateway.report["partners"][0]["activations"][0]["token"]
    page.goto(f"{gateway.url}/stats/{LIVE_ACTIVATION}?token={token}")
    wait_live(page)
    expected = gateway.graphql(STATS, {"id": LIVE_ACTIVATION, "token": token})
    metrics = expected["activationStats"]["metrics"]
    assert number(figure(page, "metric.clickCount")) == metrics["clickCount"]
    assert number(figure(page, "metric.uniqueSessionCount")) == metrics["uniqueSessionCount"]
    assert "token" not in page.url  # taken out of the address bar
    assert all("authorization" not in headers for _, headers in watch.requests)


def test_the_event_host_page_refuses_a_wrong_token(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, _ = page_and_watch
    other = gateway.report["partners"][1]["activations"][0]["token"]
    page.goto(f"{gateway.url}/stats/{LIVE_ACTIVATION}?token={other}")
    expect(page.locator("[data-refused]")).to_have_text(
        "This link's token does not open these stats."
    )
    assert page.locator("[data-figure]").count() == 0
    page.goto(f"{gateway.url}/stats/{LIVE_ACTIVATION}")
    expect(page.locator("[data-refused]")).to_contain_text("no token")


# --- GraphiQL ----------------------------------------------------------------------------


def test_graphiql_runs_from_vendored_files(
    page_and_watch: tuple[Page, Watch], gateway: DemoGateway
) -> None:
    page, watch = page_and_watch
    page.goto(gateway.url + "/graphql")
    expect(page.locator(".graphiql-container")).to_be_visible(timeout=15_000)
    assert any(url.endswith("/static/vendor/graphiql.min.js") for url, _ in watch.requests)


# --- an expiring access token ------------------------------------------------------------


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[DemoGateway]:
    """A second demo gateway whose access tokens live the minimum, 60 s."""
    with demo_gateway(tmp_path / "short", GATEWAY_ACCESS_TOKEN_TTL_SECONDS="60") as running:
        yield running


def test_an_expired_socket_reauthenticates_silently_and_stays_live(
    browser: Browser, short_lived: DemoGateway
) -> None:
    page, watch = watched(browser, short_lived)
    try:
        sign_in(page, short_lived, "owner")
        page.goto(f"{short_lived.url}/#activation/{LIVE_ACTIVATION}")
        wait_live(page)
        page.evaluate(
            """() => {
              const badge = document.querySelector("#socket-state");
              window.socketStates = [];
              new MutationObserver(() => window.socketStates.push(badge.dataset.state))
                .observe(badge, { attributes: true, attributeFilter: ["data-state"] });
            }"""
        )
        # when the socket's token reaches its expiry (the server closes with 4403)
        page.wait_for_function(
            """() => window.socketStates.includes("expired")
                && document.querySelector("#socket-state").dataset.state === "connected" """,
            timeout=100_000,
        )
        # then the page is still signed in and the stats still move
        assert page.locator("#signout").is_visible()
        before = number(figure(page, "metric.clickCount"))
        app_key = short_lived.report["partners"][0]["appKeys"][0]
        session = f"s-{uuid.uuid4().hex}"
        short_lived.graphql(
            TRACK, {"id": LIVE_ACTIVATION, "session": session}, **{"X-API-Key": app_key}
        )
        expect(page.locator('[data-figure="metric.clickCount"]')).to_have_text(
            f"{int(before) + 1:,}", timeout=2_000
        )
        assert "closed" not in page.evaluate("window.socketStates")
        assert watch.errors == [] and watch.foreign == []
    finally:
        page.context.close()
