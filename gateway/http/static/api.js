// GraphQL over HTTP for the dashboard. The access token lives only in this module's memory;
// the refresh token is an HttpOnly cookie the gateway sets and reads (X-Refresh-Cookie).

const ENDPOINT = "/graphql";
const COOKIE_HEADER = { "X-Refresh-Cookie": "1" };

let accessToken = null;
let refreshTimer = null;
let refreshing = null;
const listeners = new Set();

export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
    this.code = errors[0]?.extensions?.code ?? "ERROR";
  }
}

/** Called with true when a session starts (or is renewed), false when it ends. */
export function onSession(listener) {
  listeners.add(listener);
}

export function token() {
  return accessToken;
}

function setSession(payload) {
  accessToken = payload ? payload.accessToken : null;
  clearTimeout(refreshTimer);
  if (payload) {
    // Renew a minute before expiry; a failure ends the session.
    const ms = Math.max(5, payload.expiresIn - 60) * 1000;
    refreshTimer = setTimeout(() => refresh().catch(() => {}), ms);
  }
  for (const listener of listeners) listener(Boolean(payload));
}

async function post(query, variables, headers = {}) {
  const response = await fetch(ENDPOINT, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphQLError([{ message: `HTTP ${response.status}`, extensions: { code: "HTTP" } }]);
  }
  if (body.errors?.length) throw new GraphQLError(body.errors);
  return body.data;
}

/** Run an operation; an expired access token is renewed once, silently. */
export async function gql(query, variables = {}) {
  try {
    return await post(query, variables);
  } catch (error) {
    if (error instanceof GraphQLError && error.code === "UNAUTHENTICATED" && accessToken) {
      await refresh();
      return post(query, variables);
    }
    throw error;
  }
}

const LOGIN = `mutation Login($email: String!, $password: String!) {
  partnerLogin(email: $email, password: $password) { accessToken expiresIn }
}`;
const REFRESH = `mutation Refresh { refreshSession(refreshToken: "") { accessToken expiresIn } }`;
const LOGOUT = `mutation Logout { logout }`;

export async function login(email, password) {
  const data = await post(LOGIN, { email, password }, COOKIE_HEADER);
  setSession(data.partnerLogin);
}

/** Trade the refresh cookie for a new access token (one call in flight: tokens are single-use). */
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      accessToken = null; // the refresh itself carries no bearer
      try {
        const data = await post(REFRESH, {}, COOKIE_HEADER);
        setSession(data.refreshSession);
      } catch (error) {
        setSession(null);
        throw error;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

export async function logout() {
  try {
    if (accessToken) await post(LOGOUT, {}, COOKIE_HEADER);
  } finally {
    setSession(null);
  }
}

/** Fetch a CSV export with the bearer and hand it to the browser as a download. */
export async function download(path, filename) {
  const get = () =>
    fetch(path, { headers: accessToken ? { Authorization: `Bearer ${accessToken}` } : {} });
  let response = await get();
  if (response.status === 401 && accessToken) {
    await refresh();
    response = await get();
  }
  if (!response.ok) throw new Error(`Export failed (HTTP ${response.status})`);
  saveBlob(await response.blob(), filename);
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
