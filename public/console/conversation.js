import { useEffect, useRef, useState } from "preact/hooks";
import { api, onLive, sendTyping } from "./api.js";
import { html, time } from "./html.js";

// One conversation: its transcript (who wrote each message, its delivery status, the passages a reply drew
// on), and taking it over, replying, handing it back. Read again whenever the live socket says it changed,
// so delivery statuses and other operators' messages show as they come.

const AUTHOR = { user: "User", assistant: "Assistant", system: "System" };
const authorOf = (m) => (m.author.kind === "operator" ? m.author.name : AUTHOR[m.author.kind]);

export function Conversation({ id, me }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [typing, setTyping] = useState(null);
  const [draft, setDraft] = useState("");
  const end = useRef(null);

  const load = () =>
    api(`/api/console/conversations/${encodeURIComponent(id)}`).then(
      (d) => {
        setData(d);
        setError(null);
      },
      (e) => setError(e.message),
    );
  useEffect(() => {
    setData(null);
    load();
  }, [id]);
  useEffect(() => end.current?.scrollIntoView({ block: "end" }), [data?.messages.length]);
  useEffect(
    () =>
      onLive((frame) => {
        // (Re)connected: what changed while the socket was away is read again.
        if (frame.type === "status" && frame.status === "connected") return load();
        if (frame.conversationId !== id && frame.conversationId !== data?.conversation.id) return;
        if (frame.type === "typing") {
          if (frame.author.kind === "operator" && frame.author.name === me.email) return;
          setTyping(frame.author.kind === "operator" ? frame.author.name : "The assistant");
          setTimeout(() => setTyping(null), 4000);
        } else if (frame.type === "message" || frame.type === "state") {
          setTyping(null);
          load();
        }
      }),
    [id, data?.conversation.id],
  );

  const act = (path, body = {}) => api(`/api/inbox/${encodeURIComponent(id)}/${path}`, { body }).then(load, (e) => setError(e.message));
  const reply = async (e) => {
    e.preventDefault();
    if (!draft.trim()) return;
    await act("messages", { content: draft });
    setDraft("");
  };

  if (!data)
    return html`<section class="conversation">${error ? html`<p class="error" role="alert">${error}</p>` : html`<p>Loading…</p>`}</section>`;
  const c = data.conversation;
  const mine = c.state === "human" && c.assignee === me.email;
  return html`<section class="conversation" aria-labelledby="conversation-title">
    <a class="back" href="#/inbox">← Inbox</a>
    <h2 id="conversation-title"><span class=${`badge channel ${c.channel}`}>${c.channel}</span> ${c.externalId}</h2>
    <p class="state">
      <span class=${`badge state ${c.state}`}>${c.state}</span>
      ${c.state === "human" ? ` with ${c.assignee}` : c.state === "waiting" ? ` for a person${c.reason ? `: ${c.reason}` : ""}` : " answered by the assistant"}
    </p>
    <div class="actions">
      ${!mine && html`<button type="button" onClick=${() => act("takeover")}>Take over</button>`}
      ${c.state !== "bot" && html`<button type="button" class="quiet" onClick=${() => act("release")}>Hand back to the assistant</button>`}
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <ol class="transcript" aria-label="Messages">
      ${data.messages.map(
        (m) => html`<li key=${m.id} class=${`msg ${m.author.kind}`}>
          <p class="meta"><strong>${authorOf(m)}</strong> · <time datetime=${m.createdAt}>${time(m.createdAt)}</time> · <span class=${`status ${m.status}`}>${m.status}</span></p>
          <p class="text">${m.content}</p>
          ${m.error && html`<p class="error">${m.error}</p>`}
          ${
            m.sources.length > 0 &&
            html`<details><summary>${m.sources.length} source${m.sources.length > 1 ? "s" : ""}</summary><ul>
              ${m.sources.map((s) => html`<li>${/^https?:\/\//.test(s.url ?? "") ? html`<a href=${s.url} rel="noopener noreferrer" target="_blank">${s.title}</a>` : s.title}${s.heading ? ` · ${s.heading}` : ""}</li>`)}
            </ul></details>`
          }
        </li>`,
      )}
    </ol>
    <p class="typing" aria-live="polite">${typing ? `${typing} is writing…` : ""}</p>
    <form class="reply" onSubmit=${reply} ref=${end}>
      <label for="reply">Reply${mine ? "" : " (takes the conversation over)"}</label>
      <textarea id="reply" rows="3" value=${draft} maxlength="4096"
        onInput=${(e) => {
          setDraft(e.target.value);
          sendTyping(c.id);
        }}
        onKeyDown=${(e) => e.key === "Enter" && (e.ctrlKey || e.metaKey) && reply(e)}></textarea>
      <button type="submit" disabled=${!draft.trim()}>Send</button>
    </form>
  </section>`;
}
