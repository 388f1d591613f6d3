import { useEffect, useState } from "preact/hooks";
import { api, onLive } from "./api.js";
import { html, since } from "./html.js";

// The inbox: the org's conversations on every channel, kept live by /ws/operators. Waiting ones first (the
// longest waiting first), then by latest activity: the order of GET /api/inbox.

const STATES = ["all", "waiting", "human", "bot"];
const STATE_LABEL = { bot: "Assistant", waiting: "Waiting", human: "With a person" };

const byUrgency = (a, b) =>
  (a.waitingSince ? 0 : 1) - (b.waitingSince ? 0 : 1) ||
  (a.waitingSince && b.waitingSince ? a.waitingSince.localeCompare(b.waitingSince) : 0) ||
  b.lastActivityAt.localeCompare(a.lastActivityAt);

function applyFrame(rows, frame) {
  const i = rows.findIndex((r) => r.id === frame.conversationId);
  if (i < 0) return null;
  const row = { ...rows[i] };
  if (frame.type === "message") {
    const { role, content, createdAt } = frame.message;
    row.lastMessage = { role, content, status: "", createdAt };
    row.lastActivityAt = createdAt;
  } else {
    row.state = frame.state;
    row.assignee = frame.assignee ?? null;
    row.waitingSince = frame.state === "bot" ? null : (row.waitingSince ?? frame.at);
  }
  return rows.map((r, j) => (j === i ? row : r)).sort(byUrgency);
}

/** A short chime, for a conversation that starts waiting (when the operator turned sound on). */
function chime() {
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  tone.frequency.value = 880;
  tone.connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.15);
}

export function Inbox({ onWaiting, selected }) {
  const [rows, setRows] = useState([]);
  const [error, setError] = useState(null);
  const [filter, setFilter] = useState("all");
  const [query, setQuery] = useState("");
  const [sound, setSound] = useState(false);
  const [now, setNow] = useState(Date.now());

  const load = () =>
    api("/api/inbox?state=all&limit=100").then(
      (b) => {
        setRows(b.conversations.sort(byUrgency));
        setError(null);
      },
      (e) => setError(e.message),
    );
  useEffect(() => {
    load();
    const tick = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(tick);
  }, []);
  useEffect(
    () =>
      onLive((frame) => {
        // (Re)connected: what happened while the socket was away is read again.
        if (frame.type === "status" && frame.status === "connected") return load();
        if (frame.type !== "message" && frame.type !== "state") return;
        if (frame.type === "state" && frame.state === "waiting" && sound) chime();
        setRows((current) => {
          const next = applyFrame(current, frame);
          if (!next) load(); // a conversation the list does not have yet
          return next ?? current;
        });
      }),
    [sound],
  );
  const waiting = rows.filter((r) => r.state === "waiting").length;
  useEffect(() => onWaiting(waiting), [waiting]);

  const q = query.trim().toLowerCase();
  const shown = rows.filter(
    (r) =>
      (filter === "all" || r.state === filter) &&
      (!q || [r.externalId, r.channel, r.assignee, r.lastMessage?.content].some((t) => t?.toLowerCase().includes(q))),
  );
  return html`<section class="inbox" aria-labelledby="inbox-title">
    <h1 id="inbox-title">Inbox <span class="sr-status" aria-live="polite">${waiting ? `${waiting} waiting` : ""}</span></h1>
    <div class="filters">
      <label for="state-filter">State</label>
      <select id="state-filter" value=${filter} onChange=${(e) => setFilter(e.target.value)}>
        ${STATES.map((s) => html`<option value=${s}>${s === "all" ? "All" : STATE_LABEL[s]}</option>`)}
      </select>
      <label for="search">Search</label>
      <input id="search" type="search" value=${query} onInput=${(e) => setQuery(e.target.value)} placeholder="Number, name, text" />
      <label class="check"><input type="checkbox" checked=${sound} onChange=${(e) => setSound(e.target.checked)} /> Sound</label>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <ul class="conversations">
      ${shown.map(
        (r) => html`<li key=${r.id}>
          <a href=${`#/conversations/${r.id}`} aria-current=${selected === r.id ? "true" : undefined} class=${`row ${r.state}`}>
            <span class="top">
              <span class=${`badge channel ${r.channel}`}>${r.channel}</span>
              <span class=${`badge state ${r.state}`}>${STATE_LABEL[r.state]}</span>
              <strong class="who">${r.externalId}</strong>
              ${r.state === "waiting" && r.waitingSince && html`<span class="wait">waiting ${since(r.waitingSince, now)}</span>`}
            </span>
            <span class="last">${r.lastMessage ? `${r.lastMessage.role === "user" ? "" : "↩ "}${r.lastMessage.content}` : "No messages"}</span>
          </a>
        </li>`,
      )}
    </ul>
    ${!shown.length && !error && html`<p class="hint">No conversations${filter !== "all" || q ? " match" : " yet"}.</p>`}
  </section>`;
}
