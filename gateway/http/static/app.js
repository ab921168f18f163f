// The partners' dashboard: sign-in, then one view per hash route. No framework, no build.
import * as api from "./api.js";
import { barChart, lineChart } from "./chart.js";
import { card, clear, date, dateTime, field, fmt, h, money, pct, select, table } from "./dom.js";
import { LiveSocket } from "./ws.js";
import { activationView } from "./activation.js";

const $ = (selector) => document.querySelector(selector);
const state = { viewer: null, socket: null, feed: [], feedStops: [], leave: null };

const can = (scope) => Boolean(state.viewer?.scopes.includes(scope));

// --- session ----------------------------------------------------------------------------

const VIEWER = `query Viewer { viewer { kind partnerId scopes subjectId partner { name defaultCurrency } } }`;

async function startSession() {
  const data = await api.gql(VIEWER);
  state.viewer = data.viewer;
  $("#who").textContent = `${data.viewer.partner?.name ?? ""}`;
  $("#login").hidden = true;
  $("#shell").hidden = false;
  $("#signout").hidden = false;
  buildNav();
  startLive();
  await route();
}

function endSession(message) {
  for (const stop of state.feedStops) stop();
  state.feedStops = [];
  state.socket?.stop();
  state.socket = null;
  state.viewer = null;
  state.feed = [];
  state.leave?.();
  state.leave = null;
  $("#shell").hidden = true;
  $("#signout").hidden = true;
  $("#socket-state").hidden = true;
  $("#who").textContent = "";
  $("#login").hidden = false;
  $("#login-error").textContent = message ?? "";
  $("#email").focus();
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  button.disabled = true;
  $("#login-error").textContent = "";
  try {
    await api.login(form.email.value.trim(), form.password.value);
    form.password.value = "";
    await startSession();
  } catch (error) {
    $("#login-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  // Close the socket first: logout revokes its credential, and it must not try to renew.
  state.socket?.stop();
  try {
    await api.logout();
  } finally {
    location.hash = "";
    endSession("Signed out.");
  }
}

// --- navigation ---------------------------------------------------------------------------

const VIEWS = [
  { id: "overview", label: "Overview", scope: null, render: overview },
  { id: "activations", label: "Activations", scope: "activations:read", render: activations },
  { id: "live", label: "Live feed", scope: null, render: liveFeed },
  { id: "members", label: "Members", scope: "members:read", render: members },
  { id: "vouchers", label: "Vouchers", scope: "vouchers:read", render: vouchers },
  { id: "products", label: "Products", scope: "products:read", render: products },
  { id: "fans", label: "Fans", scope: "crm:read", render: fans },
  { id: "tickets", label: "Tickets", scope: "crm:read", render: tickets },
  { id: "affiliate", label: "Affiliate", scope: "affiliate:read", render: affiliate },
  { id: "billing", label: "Billing", scope: "billing:read", render: billing },
];
const DETAIL = { activation: activationDetail, member: memberDetail };

function buildNav() {
  const list = $("#nav-list");
  clear(
    list,
    VIEWS.filter((v) => !v.scope || can(v.scope)).map((v) =>
      h("li", {}, h("a", { href: `#${v.id}`, "data-view": v.id }, v.label)),
    ),
  );
}

async function route() {
  if (!state.viewer) return;
  state.leave?.();
  state.leave = null;
  const [name, ...rest] = (location.hash.slice(1) || "overview").split("/");
  const view = VIEWS.find((v) => v.id === name && (!v.scope || can(v.scope)));
  const detail = DETAIL[name];
  // Each route renders into its own box: a slower, older route finishes into a detached one.
  const main = h("div", { className: "route" });
  $("#view").replaceChildren(main);
  for (const link of document.querySelectorAll("#nav-list a")) {
    const current = link.dataset.view === name || (name === "activation" && link.dataset.view === "activations") || (name === "member" && link.dataset.view === "members");
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  clear(main, h("p", { className: "muted" }, "Loading…"));
  try {
    if (view) await view.render(main);
    else if (detail) await detail(main, decodeURIComponent(rest.join("/")));
    else clear(main, h("h1", {}, "Not found"), h("p", {}, "This page does not exist."));
  } catch (error) {
    showError(main, error);
  }
}

function showError(main, error) {
  clear(main, h("div", { className: "error", role: "alert" }, error.message));
}

function heading(title, ...actions) {
  return h("div", { className: "view-head" }, h("h1", { tabindex: "-1" }, title), h("div", { className: "actions" }, actions));
}

function exportButton(label, path, filename) {
  return h(
    "button",
    {
      type: "button",
      className: "secondary",
      onclick: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        try {
          await api.download(typeof path === "function" ? path() : path, filename);
        } catch (error) {
          alertInline(button, error.message);
        } finally {
          button.disabled = false;
        }
      },
    },
    label,
  );
}

function alertInline(near, message) {
  const note = h("span", { className: "error-inline", role: "alert" }, message);
  near.after(note);
  setTimeout(() => note.remove(), 5000);
}

const isoDay = (d) => d.toISOString().slice(0, 10);
const daysAgo = (n) => new Date(Date.now() - n * 86400000);

// --- overview ---------------------------------------------------------------------------

async function overview(main) {
  const parts = [];
  if (can("analytics:read")) {
    parts.push(`dashboard { totalMembers activeMembers totalWatchTimeMinutes totalClassesWatched trends { membersChange watchTimeChange } }
      analytics(period: MONTH) { watchTimeByDay { date minutes views } popularCategories { category minutes } }`);
  }
  if (can("vouchers:read")) parts.push("voucherStats { total active redeemed expired revoked redemptionRate }");
  if (can("crm:read")) {
    parts.push(`ticketStats(minPurchaseDate: "${isoDay(daysAgo(365))}", maxPurchaseDate: "${isoDay(new Date())}") { salesCount seatsCount newFansCount returningFansCount revenue { amount currency } }`);
  }
  const now = new Date();
  if (can("billing:read")) {
    parts.push(`billing(month: ${now.getUTCMonth() + 1}, year: ${now.getUTCFullYear()}) { activeMemberCount }`);
  }
  const data = parts.length ? await api.gql(`query Overview { ${parts.join("\n")} }`) : {};
  const sections = [heading("Overview")];
  if (data.dashboard) {
    const d = data.dashboard;
    sections.push(
      h("section", { "aria-labelledby": "ov-members" },
        h("h2", { id: "ov-members" }, "Members and watching"),
        h("div", { className: "cards" },
          card("Members", fmt(d.totalMembers), "totalMembers", `${d.trends.membersChange} vs last month`),
          card("Active members", fmt(d.activeMembers), "activeMembers"),
          card("Watch time (min)", fmt(d.totalWatchTimeMinutes), "totalWatchTimeMinutes", `${d.trends.watchTimeChange} vs last month`),
          card("Classes watched", fmt(d.totalClassesWatched), "totalClassesWatched"),
        ),
        data.analytics.watchTimeByDay.length
          ? lineChart("Watch time per day (last month)", data.analytics.watchTimeByDay.map((r) => r.date.slice(5)), [
              { name: "Minutes", values: data.analytics.watchTimeByDay.map((r) => r.minutes) },
              { name: "Views", values: data.analytics.watchTimeByDay.map((r) => r.views) },
            ])
          : null,
      ),
    );
  }
  if (data.voucherStats) {
    const v = data.voucherStats;
    sections.push(
      h("section", { "aria-labelledby": "ov-vouchers" },
        h("h2", { id: "ov-vouchers" }, "Vouchers"),
        h("div", { className: "cards" },
          card("Total", fmt(v.total), "vouchers.total"),
          card("Active", fmt(v.active), "vouchers.active"),
          card("Redeemed", fmt(v.redeemed), "vouchers.redeemed"),
          card("Expired", fmt(v.expired), "vouchers.expired"),
          card("Revoked", fmt(v.revoked), "vouchers.revoked"),
          card("Redemption rate", pct(v.redemptionRate), "vouchers.redemptionRate"),
        ),
        barChart("Vouchers by status", [
          { label: "active", value: v.active }, { label: "redeemed", value: v.redeemed },
          { label: "expired", value: v.expired }, { label: "revoked", value: v.revoked },
        ], { height: 160 }),
      ),
    );
  }
  if (data.ticketStats) {
    const t = data.ticketStats;
    sections.push(
      h("section", { "aria-labelledby": "ov-tickets" },
        h("h2", { id: "ov-tickets" }, "Tickets (last 12 months)"),
        h("div", { className: "cards" },
          card("Sales", fmt(t.salesCount), "tickets.salesCount"),
          card("Seats", fmt(t.seatsCount), "tickets.seatsCount"),
          card("New fans", fmt(t.newFansCount), "tickets.newFansCount"),
          card("Returning fans", fmt(t.returningFansCount), "tickets.returningFansCount"),
          card("Revenue", t.revenue.map(money).join(", ") || "–", "tickets.revenue"),
        ),
      ),
    );
  }
  if (data.billing) {
    sections.push(
      h("section", { "aria-labelledby": "ov-billing", "data-section": "billing" },
        h("h2", { id: "ov-billing" }, "Billing (this month)"),
        h("div", { className: "cards" }, card("Billable active members", fmt(data.billing.activeMemberCount), "billing.activeMemberCount")),
      ),
    );
  }
  clear(main, sections);
}

// --- activations ------------------------------------------------------------------------

async function activations(main) {
  const data = await api.gql(`query Activations { activations(first: 50) { totalCount edges { node {
    id eventName eventKey tier status startAt endAt stats { metrics { clickCount uniqueSessionCount outboundSessionRate } } } } } }`);
  const rows = data.activations.edges.map((e) => e.node);
  clear(main,
    heading("Activations"),
    table("Activations", [
      { label: "Event", value: (a) => h("a", { href: `#activation/${encodeURIComponent(a.id)}` }, a.eventName) },
      { label: "Key", value: (a) => a.eventKey },
      { label: "Tier", value: (a) => a.tier },
      { label: "Status", value: (a) => h("span", { className: `badge ${a.status.toLowerCase()}` }, a.status) },
      { label: "Window", value: (a) => `${date(a.startAt)} → ${date(a.endAt)}` },
      { label: "Views", className: "num", value: (a) => (a.stats ? fmt(a.stats.metrics.clickCount) : "–") },
      { label: "Sessions", className: "num", value: (a) => (a.stats ? fmt(a.stats.metrics.uniqueSessionCount) : "–") },
    ], rows),
  );
}

async function activationDetail(main, id) {
  const data = await api.gql(`query Activation($id: ID!) { activation(id: $id) { id eventName eventKey tier status startAt endAt } }`, { id });
  const a = data.activation;
  if (a.status === "DRAFT") {
    clear(main, heading(a.eventName), h("p", {}, "This activation is a draft: it has no stats yet."));
    return;
  }
  state.leave = activationView(main, {
    activation: a,
    socket: state.socket,
    query: api.gql,
    back: h("a", { href: "#activations" }, "← All activations"),
  });
}

// --- live feed --------------------------------------------------------------------------

// Each feed item is stamped with its arrival time (the payloads carry no dates).
const FEEDS = [
  { kind: "memberJoined", scope: "members:read", query: "subscription { memberJoined { id name email voucherCode } }",
    text: (m) => `${m.name} joined with voucher ${m.voucherCode}` },
  { kind: "voucherRedeemed", scope: "vouchers:read", query: "subscription { voucherRedeemed { id code redeemedAt redeemedBy { name } } }",
    text: (v) => `Voucher ${v.code} redeemed${v.redeemedBy ? ` by ${v.redeemedBy.name}` : ""}` },
  { kind: "ticketSold", scope: "crm:read", query: "subscription { ticketSold { id eventName numSeats email paidAmount { amount currency } } }",
    text: (t) => `${t.numSeats} seat(s) for ${t.eventName} sold to ${t.email} (${money(t.paidAmount)})` },
  { kind: "fanActivity", scope: "crm:read", query: "subscription { fanActivity { id campaignTitle fan { displayName email } } }",
    text: (f) => `${f.fan?.displayName || f.fan?.email || "A fan"}: ${f.campaignTitle}` },
];
const FEED_LABELS = { memberJoined: "Member joined", voucherRedeemed: "Voucher redeemed", ticketSold: "Ticket sold", fanActivity: "Fan activity" };

function startLive() {
  const badge = $("#socket-state");
  badge.hidden = false;
  state.socket = new LiveSocket(async () => ({ authorization: `Bearer ${api.token()}` }), {
    onState: (s) => {
      badge.dataset.state = s;
      badge.textContent = { connecting: "connecting…", connected: "live", reconnecting: "reconnecting…", expired: "re-authenticating…", closed: "offline", idle: "offline" }[s] ?? s;
      const status = $("#feed-state");
      if (status) status.textContent = badge.textContent;
    },
    renew: () => api.refresh(),
    onFatal: () => endSession("Your session ended. Please sign in again."),
  });
  for (const feed of FEEDS.filter((f) => can(f.scope))) {
    state.feedStops.push(
      state.socket.subscribe(feed.query, {}, (data) => {
        const item = { kind: feed.kind, at: new Date(), text: feed.text(data[feed.kind]) };
        state.feed.unshift(item);
        state.feed.length = Math.min(state.feed.length, 200);
        const list = $("#feed-list");
        if (list) {
          list.querySelector(".empty")?.remove();
          list.prepend(feedItem(item));
        }
      }),
    );
  }
}

function feedItem(item) {
  return h("li", { className: `feed-item ${item.kind}`, "data-kind": item.kind },
    h("span", { className: "feed-kind" }, FEED_LABELS[item.kind]),
    h("span", { className: "feed-text" }, item.text),
    h("time", { datetime: item.at.toISOString() }, item.at.toLocaleTimeString("en-GB")));
}

async function liveFeed(main) {
  clear(main,
    heading("Live feed"),
    h("p", {}, "Socket: ", h("strong", { id: "feed-state", "aria-live": "polite" }, $("#socket-state").textContent)),
    h("p", { className: "muted" }, "Members joining, vouchers redeemed, tickets sold and fan activity appear here as they happen."),
    h("ol", { id: "feed-list", className: "feed", "aria-live": "polite" },
      state.feed.length ? state.feed.map(feedItem) : h("li", { className: "empty muted" }, "Nothing yet: waiting for events…")),
  );
}

// --- paged, filterable tables -----------------------------------------------------------

/**
 * A list page: filters (form controls), a table, and cursor paging (next / previous).
 * fetchPage(filters, after) -> {rows, pageInfo, totalCount}
 */
function pagedList(main, { title, actions = [], filters, columns, fetchPage, extra, sub = false }) {
  const cursors = [null];
  let page = 0;
  const form = h("form", { className: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); cursors.length = 1; page = 0; load(); } },
    filters.map(([label, control]) => field(label, control)),
    h("button", { type: "submit" }, "Apply"));
  for (const control of form.querySelectorAll("select")) control.addEventListener("change", () => form.requestSubmit());
  const results = h("div", { className: "results", "aria-live": "polite" });
  const prev = h("button", { type: "button", className: "secondary", onclick: () => { page -= 1; load(); } }, "← Previous");
  const next = h("button", { type: "button", className: "secondary", onclick: () => { page += 1; load(); } }, "Next →");
  const info = h("span", { className: "muted" });
  const head = sub ? h("h2", {}, title) : heading(title, ...actions);
  clear(main, head, extra ?? null, form, results, h("div", { className: "pager" }, prev, info, next));
  async function load() {
    prev.disabled = next.disabled = true;
    try {
      const values = Object.fromEntries(new FormData(form).entries());
      const { rows, pageInfo, totalCount } = await fetchPage(values, cursors[page]);
      cursors[page + 1] = pageInfo.endCursor;
      clear(results, table(title, columns, rows));
      info.textContent = `Page ${page + 1}${totalCount !== undefined ? ` · ${fmt(totalCount)} in all` : ""}`;
      prev.disabled = page === 0;
      next.disabled = !pageInfo.hasNextPage;
    } catch (error) {
      clear(results, h("div", { className: "error", role: "alert" }, error.message));
    }
  }
  load();
  return { reload: load };
}

const PAGE = 20;
const text = (name, placeholder) => h("input", { type: "search", name, placeholder, autocomplete: "off" });
const orNull = (v) => (v === "" || v === undefined ? null : v);

async function members(main) {
  pagedList(main, {
    title: "Members",
    actions: [exportButton("Export CSV", "/export/members.csv", "members.csv")],
    filters: [
      ["Search", text("search", "name or email")],
      ["Status", select("status", [["", "Any"], ["ACTIVE", "Active"], ["INACTIVE", "Inactive"]], "")],
      ["Sort", select("sort", [["NEWEST", "Newest"], ["OLDEST", "Oldest"], ["NAME", "Name"], ["WATCH_TIME", "Watch time"], ["LAST_ACTIVE", "Last active"]], "NEWEST")],
    ],
    columns: [
      { label: "Name", value: (m) => h("a", { href: `#member/${encodeURIComponent(m.id)}` }, m.name) },
      { label: "Email", value: (m) => m.email },
      { label: "Status", value: (m) => m.status },
      { label: "Joined", value: (m) => date(m.joinedAt) },
      { label: "Watch (min)", className: "num", value: (m) => fmt(m.totalWatchMinutes) },
      { label: "Classes", className: "num", value: (m) => fmt(m.classesWatched) },
    ],
    fetchPage: async (f, after) => {
      const data = await api.gql(`query Members($search: String, $status: MemberStatus, $sort: MemberSort!, $after: String) {
        members(search: $search, status: $status, sort: $sort, first: ${PAGE}, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { id name email status joinedAt totalWatchMinutes classesWatched } } } }`,
        { search: orNull(f.search), status: orNull(f.status), sort: f.sort, after });
      return { rows: data.members.edges.map((e) => e.node), pageInfo: data.members.pageInfo, totalCount: data.members.totalCount };
    },
  });
}

async function memberDetail(main, id) {
  const data = await api.gql(`query Member($id: ID!) { member(id: $id) { id name email status joinedAt voucherCode lastWatchedAt totalWatchMinutes classesWatched
    history(first: 50) { edges { node { id classTitle category minutes watchedAt } } } } }`, { id });
  const m = data.member;
  const history = m.history.edges.map((e) => e.node);
  clear(main,
    h("p", {}, h("a", { href: "#members" }, "← All members")),
    heading(m.name),
    h("dl", { className: "facts" },
      h("dt", {}, "Email"), h("dd", {}, m.email),
      h("dt", {}, "Status"), h("dd", {}, m.status),
      h("dt", {}, "Joined"), h("dd", {}, dateTime(m.joinedAt)),
      h("dt", {}, "Voucher"), h("dd", {}, m.voucherCode),
      h("dt", {}, "Last watched"), h("dd", {}, dateTime(m.lastWatchedAt))),
    h("div", { className: "cards" },
      card("Watch time (min)", fmt(m.totalWatchMinutes), "member.totalWatchMinutes"),
      card("Classes watched", fmt(m.classesWatched), "member.classesWatched")),
    h("h2", {}, "Watch history"),
    table("Watch history", [
      { label: "When", value: (w) => dateTime(w.watchedAt) },
      { label: "Class", value: (w) => w.classTitle },
      { label: "Category", value: (w) => w.category },
      { label: "Minutes", className: "num", value: (w) => fmt(w.minutes) },
    ], history, { empty: "No classes watched yet." }),
  );
}

async function vouchers(main) {
  const writable = can("vouchers:write");
  let list;
  const generated = h("div", { className: "generated", "aria-live": "polite" });
  const generator = writable
    ? h("form", { className: "filters generate", onsubmit: async (e) => {
        e.preventDefault();
        const f = e.currentTarget;
        try {
          const data = await api.gql(`mutation Generate($input: GenerateVouchersInput!) { generateVouchers(input: $input) { vouchers { id code } } }`,
            { input: { quantity: Number(f.quantity.value), prefix: orNull(f.prefix.value.trim()) } });
          clear(generated, h("p", {}, `Generated ${data.generateVouchers.vouchers.length}: `,
            h("code", { "data-generated": "" }, data.generateVouchers.vouchers.map((v) => v.code).join(" "))));
          list.reload();
        } catch (error) {
          clear(generated, h("div", { className: "error", role: "alert" }, error.message));
        }
      } },
      h("h2", { className: "visually-hidden" }, "Generate vouchers"),
      field("Quantity", h("input", { type: "number", name: "quantity", min: 1, max: 500, value: 5, required: true })),
      field("Prefix", h("input", { type: "text", name: "prefix", maxlength: 12, placeholder: "optional" })),
      h("button", { type: "submit" }, "Generate vouchers"))
    : null;
  let statusControl;
  list = pagedList(main, {
    title: "Vouchers",
    actions: [exportButton("Export CSV", () => `/export/vouchers.csv${statusControl.value ? `?status=${statusControl.value}` : ""}`, "vouchers.csv")],
    extra: h("div", {}, generator, generated),
    filters: [
      ["Code contains", text("search", "code")],
      ["Status", (statusControl = select("status", [["", "Any"], ["ACTIVE", "Active"], ["REDEEMED", "Redeemed"], ["EXPIRED", "Expired"], ["REVOKED", "Revoked"]], ""))],
    ],
    columns: [
      { label: "Code", value: (v) => h("code", {}, v.code) },
      { label: "Status", value: (v) => h("span", { className: `badge ${v.status.toLowerCase()}` }, v.status) },
      { label: "Created", value: (v) => date(v.createdAt) },
      { label: "Expires", value: (v) => date(v.expiresAt) },
      { label: "Redeemed by", value: (v) => v.redeemedBy?.name ?? "–" },
      { label: "Action", value: (v) => (writable && v.status === "ACTIVE"
        ? h("button", { type: "button", className: "secondary small", "aria-label": `Revoke ${v.code}`, onclick: async (e) => {
            const button = e.currentTarget;
            button.disabled = true;
            try {
              await api.gql(`mutation Revoke($id: ID!) { revokeVoucher(id: $id) { id status } }`, { id: v.id });
              list.reload();
            } catch (error) {
              alertInline(button, error.message);
              button.disabled = false;
            }
          } }, "Revoke")
        : "") },
    ],
    fetchPage: async (f, after) => {
      const data = await api.gql(`query Vouchers($status: VoucherStatus, $search: String, $after: String) {
        vouchers(status: $status, search: $search, first: ${PAGE}, after: $after) {
          pageInfo { hasNextPage endCursor } edges { node { id code status createdAt expiresAt redeemedBy { name } } } } }`,
        { status: orNull(f.status), search: orNull(f.search), after });
      return { rows: data.vouchers.edges.map((e) => e.node), pageInfo: data.vouchers.pageInfo };
    },
  });
}

async function products(main) {
  pagedList(main, {
    title: "Products",
    filters: [
      ["Search", text("search", "name")],
      ["Status", select("status", [["", "Any"], ["ACTIVE", "Active"], ["DRAFT", "Draft"], ["ARCHIVED", "Archived"]], "")],
    ],
    columns: [
      { label: "Name", value: (p) => p.name },
      { label: "Type", value: (p) => p.productType },
      { label: "Status", value: (p) => p.status },
      { label: "Price", className: "num", value: (p) => `${p.price} ${p.currency}` },
      { label: "Featured", value: (p) => (p.featured ? "yes" : "") },
    ],
    fetchPage: async (f, after) => {
      const data = await api.gql(`query Products($status: ProductStatus, $search: String, $after: String) {
        products(status: $status, search: $search, first: ${PAGE}, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { id name productType status price currency featured } } } }`,
        { status: orNull(f.status), search: orNull(f.search), after });
      return { rows: data.products.edges.map((e) => e.node), pageInfo: data.products.pageInfo, totalCount: data.products.totalCount };
    },
  });
}

async function fans(main) {
  pagedList(main, {
    title: "Fans",
    filters: [
      ["Search", text("text", "name, email, phone")],
      ["Subscribed", select("isSubscribed", [["", "Any"], ["true", "Subscribed"], ["false", "Not subscribed"]], "")],
      ["Country", h("input", { type: "text", name: "countryCode", maxlength: 2, placeholder: "e.g. NL", autocomplete: "off" })],
    ],
    columns: [
      { label: "Name", value: (f) => f.displayName || [f.firstName, f.lastName].filter(Boolean).join(" ") || "–" },
      { label: "Email", value: (f) => f.email ?? "–" },
      { label: "City", value: (f) => [f.city, f.countryCode].filter(Boolean).join(", ") || "–" },
      { label: "Subscribed", value: (f) => (f.isSubscribed ? "yes" : "no") },
      { label: "Tags", value: (f) => f.tags.join(", ") },
      { label: "Since", value: (f) => date(f.createdAt) },
    ],
    fetchPage: async (f, after) => {
      const filter = {
        text: orNull(f.text),
        isSubscribed: f.isSubscribed === "" ? null : f.isSubscribed === "true",
        countryCode: orNull(f.countryCode.trim().toUpperCase()),
      };
      const data = await api.gql(`query Fans($filter: FanFilter, $after: String) {
        fans(filter: $filter, first: ${PAGE}, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { id displayName firstName lastName email city countryCode isSubscribed tags createdAt } } } }`,
        { filter, after });
      return { rows: data.fans.edges.map((e) => e.node), pageInfo: data.fans.pageInfo, totalCount: data.fans.totalCount };
    },
  });
}

async function tickets(main) {
  pagedList(main, {
    title: "Tickets",
    filters: [
      ["Buyer email", h("input", { type: "email", name: "email", placeholder: "exact email", autocomplete: "off" })],
      ["Bought from", h("input", { type: "date", name: "from" })],
      ["Bought to", h("input", { type: "date", name: "to" })],
    ],
    columns: [
      { label: "Event", value: (t) => t.eventName },
      { label: "Event date", value: (t) => t.eventDate },
      { label: "Buyer", value: (t) => `${t.firstName} ${t.lastName}` },
      { label: "Email", value: (t) => t.email },
      { label: "Seats", className: "num", value: (t) => fmt(t.numSeats) },
      { label: "Paid", className: "num", value: (t) => money(t.paidAmount) },
      { label: "Bought", value: (t) => dateTime(t.purchasedAt) },
    ],
    fetchPage: async (f, after) => {
      const filter = { email: orNull(f.email.trim()), minPurchaseDate: orNull(f.from), maxPurchaseDate: orNull(f.to) };
      const data = await api.gql(`query Tickets($filter: TicketFilter, $after: String) {
        tickets(filter: $filter, first: ${PAGE}, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { id eventName eventDate firstName lastName email numSeats paidAmount { amount currency } purchasedAt } } } }`,
        { filter, after });
      return { rows: data.tickets.edges.map((e) => e.node), pageInfo: data.tickets.pageInfo, totalCount: data.tickets.totalCount };
    },
  });
}

// --- affiliate --------------------------------------------------------------------------

async function affiliate(main) {
  const chartBox = h("div", { className: "chart-box", "aria-live": "polite" });
  const controls = h("form", { className: "filters", onsubmit: (e) => { e.preventDefault(); drawChart(); } },
    field("Interval", select("interval", [["P1D", "Day"], ["P1W", "Week"], ["P1M", "Month"]], "P1D")),
    field("Range", select("range", [["last 30 days", "Last 30 days"], ["last 90 days", "Last 90 days"], ["last 365 days", "Last 365 days"]], "last 30 days")));
  for (const control of controls.querySelectorAll("select")) control.addEventListener("change", () => drawChart());
  const conversionsBox = h("div");
  clear(main, heading("Affiliate", exportButton("Export conversions CSV", "/export/conversions.csv", "conversions.csv")), controls, chartBox, conversionsBox);

  async function drawChart() {
    try {
      const data = await api.gql(`query Analytics($interval: String!, $textDate: String!, $currency: String) {
        partnerAnalytics(shape: TIMESERIES, metrics: ["total_clicks", "total_conversions", "total_partner_commission"], interval: $interval, textDate: $textDate, currency: $currency) {
          currency rows { localDateTime metrics { name value } } } }`,
        { interval: controls.interval.value, textDate: controls.range.value, currency: state.viewer.partner?.defaultCurrency ?? null });
      const rows = data.partnerAnalytics.rows;
      const metric = (row, name) => row.metrics.find((m) => m.name === name)?.value ?? 0;
      const labels = rows.map((r) => (r.localDateTime ?? "").slice(0, 10));
      clear(chartBox,
        lineChart("Clicks and conversions", labels, [
          { name: "Clicks", values: rows.map((r) => metric(r, "total_clicks")) },
          { name: "Conversions", values: rows.map((r) => metric(r, "total_conversions")) },
        ]),
        h("p", { className: "muted" }, `Commission in range: ${fmt(+rows.reduce((s, r) => s + metric(r, "total_partner_commission"), 0).toFixed(2))} ${data.partnerAnalytics.currency ?? ""}`));
    } catch (error) {
      clear(chartBox, h("div", { className: "error", role: "alert" }, error.message));
    }
  }
  drawChart();
  pagedList(conversionsBox, {
    title: "Conversions",
    sub: true,
    filters: [["Status", select("status", [["", "Any"], ["APPROVED", "Approved"], ["PENDING", "Pending"], ["REJECTED", "Rejected"]], "")]],
    columns: [
      { label: "When", value: (c) => dateTime(c.occurredAt) },
      { label: "Campaign", value: (c) => c.campaign?.title ?? "–" },
      { label: "Status", value: (c) => c.status },
      { label: "Value", className: "num", value: (c) => money({ amount: c.value, currency: c.currency }) },
      { label: "Commission", className: "num", value: (c) => money({ amount: c.partnerCommission, currency: c.currency }) },
      { label: "Country", value: (c) => c.country },
      { label: "Device", value: (c) => c.device },
    ],
    fetchPage: async (f, after) => {
      const data = await api.gql(`query Conversions($statuses: [ConversionStatus!], $after: String) {
        conversions(statuses: $statuses, first: ${PAGE}, after: $after) {
          pageInfo { hasNextPage endCursor } edges { node { id occurredAt status value partnerCommission currency country device campaign { title } } } } }`,
        { statuses: f.status ? [f.status] : null, after });
      return { rows: data.conversions.edges.map((e) => e.node), pageInfo: data.conversions.pageInfo };
    },
  });
}

// --- billing ----------------------------------------------------------------------------

async function billing(main) {
  const now = new Date();
  const month = now.getUTCMonth() + 1;
  const year = now.getUTCFullYear();
  const data = await api.gql(`query Billing($month: Int!, $year: Int!) { billing(month: $month, year: $year) {
    activeMemberCount members { member { id name email } watchMinutes classesWatched } } }`, { month, year });
  clear(main,
    heading(`Billing ${year}-${String(month).padStart(2, "0")}`, exportButton("Export CSV", `/export/billing.csv?month=${month}&year=${year}`, `billing-${year}-${month}.csv`)),
    h("div", { className: "cards" }, card("Billable active members", fmt(data.billing.activeMemberCount), "billing.activeMemberCount")),
    table("Billable members", [
      { label: "Member", value: (b) => b.member.name },
      { label: "Email", value: (b) => b.member.email },
      { label: "Watch (min)", className: "num", value: (b) => fmt(b.watchMinutes) },
      { label: "Classes", className: "num", value: (b) => fmt(b.classesWatched) },
    ], data.billing.members));
}

// --- start ------------------------------------------------------------------------------

function init() {
  $("#login-form").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", () => {
    route().then(() => $("#view h1")?.focus());
  });
  api.onSession((active) => {
    if (!active && state.viewer) endSession("Your session ended. Please sign in again.");
  });
  // A reload keeps the session: the HttpOnly refresh cookie buys a new access token.
  api.refresh().then(startSession, () => endSession());
}

init();
