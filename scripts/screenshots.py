"""Regenerate the dashboard screenshots in docs/screenshots/ (shown in the README).

    .venv/bin/python scripts/screenshots.py

Starts a demo gateway on a temporary data dir (demo data, embedded store), signs in as the
demo owner in headless Chromium (Debian's `chromium`, driven by Playwright) and saves one
PNG per page, plus the sign-in page, the event host's page, GraphiQL and a phone-width view.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS, DemoGateway, demo_gateway  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
ACTIVATION = "act_demo-alpha-1"
PAGES = [
    ("overview", "#overview", '[data-figure="totalMembers"]'),
    ("activations", "#activations", "#view tbody tr"),
    ("activation", f"#activation/{ACTIVATION}", '[data-live="on"]'),
    ("live-feed", "#live", ".feed-item"),
    ("members", "#members", "#view tbody tr a"),
    ("vouchers", "#vouchers", "#view tbody tr code"),
    ("products", "#products", "#view tbody tr"),
    ("fans", "#fans", "#view tbody tr"),
    ("tickets", "#tickets", "#view tbody tr"),
    ("affiliate", "#affiliate", "figure svg"),
    ("billing", "#billing", '[data-figure="billing.activeMemberCount"]'),
]
TRACK = """mutation T($id: ID!, $s: String!, $k: ActivationEventKind!) {
  trackActivationEvent(activationId: $id, kind: $k, sessionId: $s) }"""
REGISTER = """mutation R($input: RegisterMemberInput!) {
  registerMember(input: $input) { member { id } } }"""
ACTIVE_VOUCHER = "{ vouchers(status: ACTIVE, first: 1) { edges { node { code } } } }"


def sign_in(page: Page, gateway: DemoGateway) -> None:
    staff = gateway.staff("owner")
    page.goto(gateway.url + "/")
    page.fill("#email", staff["email"])
    page.fill("#password", staff["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator('[data-figure="totalMembers"]')).to_be_visible()


def shoot(page: Page, name: str) -> None:
    page.wait_for_timeout(400)  # let charts and live numbers settle
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
    print(f"docs/screenshots/{name}.png")


def live_events(gateway: DemoGateway) -> None:
    """A few events so the live feed and the activation page have something moving."""
    key = gateway.report["partners"][0]["appKeys"][0]
    for kind in ("VIEW", "OUTBOUND_CLICK", "CALENDAR_SYNC"):
        session = f"shot-{uuid.uuid4().hex}"
        gateway.graphql(TRACK, {"id": ACTIVATION, "s": session, "k": kind}, **{"X-API-Key": key})
    owner = f"Bearer {gateway.login('owner')}"
    for name in ("Robin Example", "Sam Example"):
        edges = gateway.graphql(ACTIVE_VOUCHER, Authorization=owner)["vouchers"]["edges"]
        member = {
            "voucherCode": edges[0]["node"]["code"],
            "name": name,
            "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": "a-long-password-1",
        }
        gateway.graphql(REGISTER, {"input": member}, **{"X-API-Key": key})


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        demo_gateway(Path(tmp) / "data") as gateway,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=DESKTOP)
        page.goto(gateway.url + "/")
        expect(page.locator("#email")).to_be_visible()
        shoot(page, "sign-in")
        sign_in(page, gateway)
        page.goto(gateway.url + "/#live")
        expect(page.locator("#socket-state")).to_have_attribute("data-state", "connected")
        live_events(gateway)
        for name, route, ready in PAGES:
            page.goto(f"{gateway.url}/{route}")
            expect(page.locator(ready).first).to_be_visible()
            shoot(page, name)
        page.goto(gateway.url + "/#members")
        first = page.locator("#view tbody tr a").first
        newest = first.inner_text()
        page.get_by_label("Sort").select_option("WATCH_TIME")  # a member with a history
        expect(first).not_to_have_text(newest)
        first.click()
        expect(page.get_by_role("heading", name="Watch history")).to_be_visible()
        shoot(page, "member")
        phone = browser.new_page(viewport=PHONE)
        sign_in(phone, gateway)
        shoot(phone, "phone-overview")
        token = gateway.report["partners"][0]["activations"][0]["token"]
        host = browser.new_page(viewport=DESKTOP)
        host.goto(f"{gateway.url}/stats/{ACTIVATION}?token={token}")
        expect(host.locator('[data-live="on"]')).to_be_visible()
        shoot(host, "event-host")
        host.goto(gateway.url + "/graphql")
        expect(host.locator(".graphiql-container")).to_be_visible()
        shoot(host, "graphiql")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
