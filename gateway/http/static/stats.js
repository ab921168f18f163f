// The event host's page: one activation's live stats with its token only.
import { GraphQLError } from "./api.js";
import { activationView } from "./activation.js";
import { clear, h } from "./dom.js";
import { LiveSocket } from "./ws.js";

const main = document.querySelector("#view");
const activationId = decodeURIComponent(location.pathname.split("/").pop());
const params = new URLSearchParams(location.search);
const token = params.get("token");
// Keep the token out of the address bar (history, screenshots); it stays in memory.
history.replaceState(null, "", location.pathname);

async function query(text, variables) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ query: text, variables }),
  });
  const body = await response.json();
  if (body.errors?.length) throw new GraphQLError(body.errors);
  return body.data;
}

function refuse(message) {
  clear(main, h("h1", {}, "Activation stats"), h("div", { className: "error", role: "alert", "data-refused": "" }, message));
}

async function start() {
  if (!token) {
    refuse("This link has no token. Use the full link you were given.");
    return;
  }
  let stats;
  try {
    const data = await query(
      `query Host($id: ID!, $token: String!) { activationStats(activationId: $id, token: $token) { activationId eventName range { startAt endAt } } }`,
      { id: activationId, token },
    );
    stats = data.activationStats;
  } catch (error) {
    const code = error.code;
    refuse(code === "FORBIDDEN" ? "This link's token does not open these stats." :
      code === "NOT_FOUND" ? "There is no such activation." :
      code === "CONFLICT" ? "This activation has not started: no stats yet." : error.message);
    return;
  }
  const stateBadge = document.querySelector("#socket-state");
  stateBadge.hidden = false;
  const socket = new LiveSocket(async () => ({ token }), {
    onState: (s) => {
      stateBadge.dataset.state = s;
      stateBadge.textContent = s === "connected" ? "live" : s;
    },
  });
  activationView(main, {
    activation: { id: activationId, eventName: stats.eventName, startAt: stats.range.startAt, endAt: stats.range.endAt },
    socket,
    query,
    token,
  });
}

start();
