// A small graphql-transport-ws client: one socket, many subscriptions, reconnects with
// backoff, and re-authenticates silently when the server closes with "Token expired".

const PROTOCOL = "graphql-transport-ws";

export class LiveSocket {
  /**
   * @param {() => Promise<object>} connectionParams payload of connection_init (fresh each time)
   * @param {{onState?: (state: string) => void, renew?: () => Promise<void>, onFatal?: () => void}} options
   */
  constructor(connectionParams, { onState, renew, onFatal } = {}) {
    this.connectionParams = connectionParams;
    this.onState = onState ?? (() => {});
    this.renew = renew;
    this.onFatal = onFatal ?? (() => {});
    this.subscriptions = new Map();
    this.nextId = 1;
    this.ws = null;
    this.state = "idle";
    this.attempt = 0;
    this.denials = 0;
    this.stopped = false;
    this.timer = null;
  }

  setState(state) {
    this.state = state;
    this.onState(state);
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/graphql`;
  }

  start() {
    this.stopped = false;
    if (!this.ws) this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.subscriptions.clear();
    if (this.ws) this.ws.close(1000, "bye");
    this.ws = null;
    this.setState("closed");
  }

  open() {
    if (this.state !== "reconnecting" && this.state !== "expired") this.setState("connecting");
    const ws = new WebSocket(this.url(), PROTOCOL);
    this.ws = ws;
    ws.addEventListener("open", async () => {
      const payload = await this.connectionParams();
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify({ type: "connection_init", payload }));
      }
    });
    ws.addEventListener("message", (event) => this.receive(ws, JSON.parse(event.data)));
    ws.addEventListener("close", (event) => this.closed(ws, event));
  }

  receive(ws, message) {
    const sub = this.subscriptions.get(message.id);
    switch (message.type) {
      case "connection_ack":
        this.attempt = 0;
        this.denials = 0;
        this.setState("connected");
        for (const [id, s] of this.subscriptions) this.sendSubscribe(ws, id, s);
        break;
      case "ping":
        ws.send(JSON.stringify({ type: "pong" }));
        break;
      case "next":
        if (sub) {
          if (message.payload.errors?.length) sub.onError?.(message.payload.errors);
          if (message.payload.data) sub.onNext(message.payload.data);
        }
        break;
      case "error":
        if (sub) {
          this.subscriptions.delete(message.id);
          sub.onError?.(message.payload);
        }
        break;
      case "complete":
        if (sub) {
          this.subscriptions.delete(message.id);
          sub.onComplete?.();
        }
        break;
      default:
        break;
    }
  }

  async closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    if (this.stopped) return;
    if (event.code === 4403) {
      // Expired (or revoked): get a fresh access token, then reconnect with it.
      this.setState("expired");
      try {
        // A second refusal in a row is not an expiry: the credential is gone.
        if (!this.renew || ++this.denials > 1) throw new Error(event.reason || "Forbidden");
        await this.renew();
      } catch {
        this.setState("closed");
        this.onFatal();
        return;
      }
      if (!this.stopped) this.open();
      return;
    }
    this.setState("reconnecting");
    const delay = Math.min(5000, 250 * 2 ** this.attempt++);
    this.timer = setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay);
  }

  sendSubscribe(ws, id, s) {
    ws.send(
      JSON.stringify({ id, type: "subscribe", payload: { query: s.query, variables: s.variables } }),
    );
  }

  /** Subscribe; returns a function that ends the subscription. */
  subscribe(query, variables, onNext, onError, onComplete) {
    const id = String(this.nextId++);
    const s = { query, variables, onNext, onError, onComplete };
    this.subscriptions.set(id, s);
    if (this.ws && this.state === "connected") this.sendSubscribe(this.ws, id, s);
    this.start();
    return () => {
      if (this.subscriptions.delete(id) && this.ws?.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify({ id, type: "complete" }));
      }
    };
  }
}
