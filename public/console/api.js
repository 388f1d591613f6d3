// The console's way to the hub: JSON requests with the session cookie (same origin), and the live events of
// /ws/operators, shared by every view. No API key lives in the browser.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `Request failed (${status})`);
    this.status = status;
  }
}

export async function api(path, { method, body } = {}) {
  const res = await fetch(path, {
    method: method ?? (body === undefined ? "GET" : "POST"),
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

const listeners = new Set();
let socket = null;
let retry = null;

/** Calls `fn` with every frame of /ws/operators until the returned function is called. */
export function onLive(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Opens the live socket (again, after a drop, until stopLive). */
export function startLive() {
  if (socket) return;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/operators`;
  socket = new WebSocket(url, ["hub.operators"]);
  socket.onmessage = (e) => {
    const frame = JSON.parse(e.data);
    for (const fn of listeners) fn(frame);
  };
  socket.onclose = () => {
    socket = null;
    for (const fn of listeners) fn({ type: "status", status: "disconnected" });
    retry = setTimeout(startLive, 2000);
  };
}

export function stopLive() {
  clearTimeout(retry);
  if (!socket) return;
  socket.onclose = null;
  socket.close();
  socket = null;
}

/** Tells the user's widget and the other operators that this operator is writing. */
export function sendTyping(conversationId) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "typing", conversationId }));
}
